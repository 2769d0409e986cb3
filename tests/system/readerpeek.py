#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# What a compromised agent could get from its reader: takes a copy of the
# agent's end of the reader socket (pidfd_getfd, as root), sends REQUEST
# (L is the reload's request) and prints the answer, a record a line:
#   file ERRNO PATH [-> WHAT THE DESCRIPTOR OPENS]
#   glob RC PATTERN | match PATH | end ERRNO
import ctypes
import os
import socket
import struct
import sys

SYS_PIDFD_OPEN, SYS_PIDFD_GETFD = 434, 438
KINDS = {1: "file", 2: "glob", 3: "match", 4: "end"}
HDR = struct.Struct("=IiiI")

pid, request = int(sys.argv[1]), sys.argv[2].encode()
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
pidfd = libc.syscall(SYS_PIDFD_OPEN, pid, 0)
if pidfd < 0:
    sys.exit(f"pidfd_open {pid}: {os.strerror(ctypes.get_errno())}")

sock = None
for name in os.listdir(f"/proc/{pid}/fd"):
    try:
        if not os.readlink(f"/proc/{pid}/fd/{name}").startswith("socket:"):
            continue
    except OSError:
        continue
    fd = libc.syscall(SYS_PIDFD_GETFD, pidfd, int(name), 0)
    if fd < 0:
        continue
    s = socket.socket(fileno=fd)
    if s.family == socket.AF_UNIX and s.type == socket.SOCK_SEQPACKET:
        sock = s
        break
    s.close()
if sock is None:
    sys.exit(f"no reader socket among the descriptors of {pid}")

sock.settimeout(5)
sock.send(request)
while True:
    msg, fds, _, _ = socket.recv_fds(sock, HDR.size + 4097, 1)
    if not msg:
        sys.exit("the reader closed its socket")
    kind, err, rc, _ = HDR.unpack_from(msg)
    name = msg[HDR.size:].decode()
    k = KINDS.get(kind, str(kind))
    if k == "end":
        print(f"end {err}")
        break
    line = f"{k} {rc if k == 'glob' else err} {name}".rstrip()
    for fd in fds:
        line += f" -> {os.readlink(f'/proc/self/fd/{fd}')}"
        os.close(fd)
    print(line)
