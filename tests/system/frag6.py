#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""IPv6 fragments, crafted and sent as Ethernet frames (AF_PACKET).

frag6.py IFACE DST_MAC SRC DST --l4 tcp|udp --dport PORT [options]

Builds one datagram (a bare TCP SYN or a UDP header, then --data bytes),
splits it in two fragments at --split bytes (a multiple of 8) and sends
them on IFACE to DST_MAC, from IFACE's own address. The TCP or UDP
checksum is computed over the whole datagram, as the receiver checks it
after reassembly. Each fragment header may name another protocol than
the datagram's own (--nh-first, --nh-rest): the receiver takes the
first fragment's, whatever the others say. --rest-tcp PORT writes a
bare SYN to PORT at the start of the second fragment, where a filter
that trusted the second fragment's header would look for one.

--count N sends N such datagrams (each with an identification of its
own, --gap seconds apart); nothing else is sent and nothing waited for.
"""
import argparse
import os
import socket
import struct
import time

ETH_P_IPV6 = 0x86DD
NH_FRAGMENT = 44
PROTO = {"tcp": socket.IPPROTO_TCP, "udp": socket.IPPROTO_UDP}


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tcp_syn(sport, dport, seq):
    """A bare SYN, 20 bytes, checksum left at zero."""
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, 0x02,
                       65535, 0, 0)


def datagram(a, src, dst):
    """The upper-layer datagram, its checksum over the IPv6 pseudo-header."""
    data = bytearray(b"frag6-" * (a.data // 6 + 1))[:a.data]
    if a.rest_tcp is not None:
        # The second fragment's first bytes (offset --split in the datagram).
        at = a.split - (20 if a.l4 == "tcp" else 8)
        if at < 0 or at + 20 > len(data):
            raise SystemExit("frag6: --rest-tcp needs --split and --data to leave room for it")
        data[at:at + 20] = tcp_syn(40000, a.rest_tcp, 1)
    if a.l4 == "tcp":
        hdr = bytearray(tcp_syn(a.sport, a.dport, 1000))
        ck_at = 16
    else:
        hdr = bytearray(struct.pack("!HHHH", a.sport, a.dport, 8 + len(data), 0))
        ck_at = 6
    dgram = hdr + data
    pseudo = src + dst + struct.pack("!I3xB", len(dgram), PROTO[a.l4])
    ck = csum(bytes(pseudo + dgram)) or 0xFFFF
    struct.pack_into("!H", dgram, ck_at, ck)
    return bytes(dgram)


def fragment(eth, src, dst, nh, ident, off, more, chunk):
    ip6 = struct.pack("!IHBB", 6 << 28, 8 + len(chunk), NH_FRAGMENT, 64) + src + dst
    fh = struct.pack("!BBHI", nh, 0, off | more, ident)
    return eth + ip6 + fh + chunk


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("iface")
    ap.add_argument("dst_mac")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--l4", choices=PROTO, required=True)
    ap.add_argument("--dport", type=int, required=True)
    ap.add_argument("--sport", type=int, default=40001)
    ap.add_argument("--data", type=int, default=40)
    ap.add_argument("--split", type=int, default=24)
    ap.add_argument("--nh-first", type=int)
    ap.add_argument("--nh-rest", type=int)
    ap.add_argument("--rest-tcp", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--gap", type=float, default=0.05)
    a = ap.parse_args()
    if a.split % 8 or a.split <= 0:
        raise SystemExit("frag6: --split must be a positive multiple of 8")
    if not 1 <= a.count <= 100:
        raise SystemExit("frag6: --count must be 1 to 100")
    nh_first = PROTO[a.l4] if a.nh_first is None else a.nh_first
    nh_rest = PROTO[a.l4] if a.nh_rest is None else a.nh_rest

    src = socket.inet_pton(socket.AF_INET6, a.src)
    dst = socket.inet_pton(socket.AF_INET6, a.dst)
    dgram = datagram(a, src, dst)
    if len(dgram) <= a.split:
        raise SystemExit("frag6: the datagram (%d bytes) does not reach --split" % len(dgram))

    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    own_mac = s.getsockname()[4]
    eth = bytes.fromhex(a.dst_mac.replace(":", "")) + own_mac + struct.pack("!H", ETH_P_IPV6)
    base = int.from_bytes(os.urandom(4), "big")
    for i in range(a.count):
        ident = (base + i) & 0xFFFFFFFF
        s.send(fragment(eth, src, dst, nh_first, ident, 0, 1, dgram[:a.split]))
        s.send(fragment(eth, src, dst, nh_rest, ident, a.split, 0, dgram[a.split:]))
        if i + 1 < a.count:
            time.sleep(a.gap)
    s.close()
    print("sent %d datagrams in %d fragments" % (a.count, 2 * a.count))


if __name__ == "__main__":
    main()
