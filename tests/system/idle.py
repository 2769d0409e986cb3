#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Idle clients: N TCP connections that never send a byte (slowloris).

idle.py HOST PORT N [--bind ADDR,...] [--ready FILE] [--hold SECONDS]

Opens N connections (round robin over the --bind sources), writes how
many it opened to --ready once all are tried, and holds them for --hold
seconds; then prints how many the server had closed by then. Every
connect and the hold are bounded.
"""
import argparse
import select
import socket
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("n", type=int)
    ap.add_argument("--bind", default="")
    ap.add_argument("--ready")
    ap.add_argument("--hold", type=float, default=10)
    a = ap.parse_args()
    fam = socket.AF_INET6 if ":" in a.host else socket.AF_INET
    binds = [b for b in a.bind.split(",") if b]
    socks = []
    for i in range(a.n):
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.settimeout(3)
        try:
            if binds:
                s.bind((binds[i % len(binds)], 0))
            s.connect((a.host, a.port))
            socks.append(s)
        except OSError:
            s.close()
    if a.ready:
        with open(a.ready + ".tmp", "w") as f:
            f.write("%d\n" % len(socks))
        import os
        os.rename(a.ready + ".tmp", a.ready)
    end = time.monotonic() + a.hold
    closed = set()
    while time.monotonic() < end and len(closed) < len(socks):
        r, _, _ = select.select([s for s in socks if s not in closed], [], [],
                                max(0.0, min(1.0, end - time.monotonic())))
        for s in r:
            try:
                if not s.recv(4096):
                    closed.add(s)
            except OSError:
                closed.add(s)
    print("opened=%d closed=%d" % (len(socks), len(closed)), flush=True)


if __name__ == "__main__":
    main()
