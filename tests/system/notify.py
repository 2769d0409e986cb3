#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# A stand-in for the service manager's notification socket: binds the
# datagram socket PATH and appends each message it receives to LOG, one
# message a line, its fields separated by spaces.
import os
import socket
import sys

path, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
# Anyone may send, as to systemd's own socket: the agent sends as its user.
os.chmod(path, 0o666)
with open(log, "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode("utf-8", "replace")
        out.write(msg.strip().replace("\n", " ") + "\n")
