#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-only
"""One mTLS pull the way the puller-safety tests need it: the TCP
connection opened first (and, with --wait-file, held open without a byte
until that file exists), the TLS records sent as they come or one byte a
segment for the ClientHello (--byte-segments), then GET / and the
status line on stdout; --stall-after-hello sends the ClientHello and
nothing more.
Exit 0 on HTTP 200, 1 otherwise, 2 on a timeout (--timeout seconds)."""
import argparse
import os
import socket
import ssl
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("--port", type=int, default=443)
    ap.add_argument("--sni", default="origin.test")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--wait-file")
    ap.add_argument("--byte-segments", action="store_true")
    ap.add_argument("--stall-after-hello", type=float, metavar="SECONDS")
    ap.add_argument("--timeout", type=float, default=10)
    a = ap.parse_args()

    deadline = time.monotonic() + a.timeout
    sock = socket.create_connection((a.host, a.port), timeout=a.timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if a.wait_file:
        while not os.path.exists(a.wait_file):
            if time.monotonic() > deadline:
                print("timeout waiting for", a.wait_file)
                return 2
            time.sleep(0.05)

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(a.ca)
    if a.cert:
        ctx.load_cert_chain(a.cert, a.key)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(inc, out, server_hostname=a.sni)

    first = [a.byte_segments]

    def flush():
        data = out.read()
        if not first[0]:
            sock.sendall(data)
            return
        first[0] = False  # the first flight is the ClientHello
        for i in range(len(data)):
            sock.sendall(data[i:i + 1])
            time.sleep(0.001)  # NODELAY and a pause: one segment a byte

    def pump(op):
        while True:
            try:
                r = op()
                flush()
                return r
            except ssl.SSLWantReadError:
                flush()
                if time.monotonic() > deadline:
                    raise TimeoutError("no answer")
                data = sock.recv(65536)
                if not data:
                    inc.write_eof()
                else:
                    inc.write(data)

    if a.stall_after_hello:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            flush()  # the ClientHello, then nothing more
        time.sleep(a.stall_after_hello)
        return 2

    try:
        pump(tls.do_handshake)
        pump(lambda: tls.write(b"GET / HTTP/1.1\r\nHost: " + a.sni.encode() +
                               b"\r\nConnection: close\r\n\r\n"))
        body = b""
        while b"\r\n" not in body:
            chunk = pump(lambda: tls.read(4096))
            if not chunk:
                break
            body += chunk
    except (ssl.SSLError, OSError, TimeoutError) as e:
        print("error:", e)
        return 2 if isinstance(e, (TimeoutError, socket.timeout)) else 1
    status = body.split(b"\r\n", 1)[0].decode(errors="replace")
    print(status)
    return 0 if " 200 " in status + " " else 1


if __name__ == "__main__":
    sys.exit(main())
