/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one packet parser, for the XDP and the tc entry points alike:
 * Ethernet with up to two VLAN tags, IPv4 or IPv6 (its extension chain
 * walked), then the ports and TCP flags. What it cannot classify it says
 * so (enum parse_result); the verdict decides what that costs.
 *
 * Included by gate.bpf.c only.
 */
#ifndef AOPGATE_PARSE_H
#define AOPGATE_PARSE_H

#define IP_MF		0x2000
#define IP_OFFSET	0x1FFF

#define NEXTHDR_HOP	0
#define NEXTHDR_ROUTING	43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH	51
#define NEXTHDR_DEST	60

/* The IPv6 fragment header (RFC 8200 4.5); uapi has no struct for it. */
struct frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* Longest IPv6 extension chain walked; longer chains are unclassifiable. */
#define MAX_EXT_HDRS	8

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

enum parse_result {
	P_L4,		/* key filled: proto and ports known */
	P_NO_PORTS,	/* IP, but a protocol without ports (ICMP, ESP, ...) */
	P_NOT_IP,
	P_MALFORMED,	/* truncated or inconsistent headers */
	P_FRAG_TCP,	/* non-first fragment of TCP */
	P_FRAG_OTHER,	/* non-first fragment of anything else */
	P_UNCLASSIFIED,	/* more VLAN tags or IPv6 extension headers than we walk */
};

struct pkt {
	struct flow_key key;
	struct flow_key4 key4;	/* IPv4 TCP to a GATE port: the key of *4 maps */
	__u8 tcp_flags;
	__u8 ipv4;		/* the key's addresses are v4-mapped */
	__u8 l3off;		/* bytes of Ethernet header and VLAN tags */
	__u8 simple;		/* IPv4 without options, IPv6 without extensions */
	__u8 cookie_ok;		/* a good cookie ACK ... */
	__u8 cookie_opts;	/* ... and the options its cookie carries */
	__u8 frag_first;	/* IPv6: a first fragment (offset 0, M set) */
	struct tcphdr *th;	/* TCP only */
	void *data_end;
	__u64 now;		/* a SYN answered with a cookie: the clock it read */
};

static __always_inline int proto_has_ports(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP ||
	       proto == IPPROTO_UDPLITE || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_DCCP;
}

/* Reads ports (and TCP flags) at l4; the key's addresses are already set. */
static __always_inline int parse_l4(void *l4, void *data_end, __u8 proto,
				    struct pkt *p)
{
	if (!proto_has_ports(proto))
		return P_NO_PORTS;
	p->key.proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		if ((void *)(th + 1) > data_end)
			return P_MALFORMED;
		if (th->doff < 5 || l4 + th->doff * 4 > data_end)
			return P_MALFORMED;
		p->tcp_flags = ((__u8 *)th)[13];
		p->th = th;
		p->key.sport = th->source;
		p->key.dport = th->dest;
		return P_L4;
	}
	/* UDP, UDP-Lite, SCTP and DCCP all start with the two ports. */
	if (l4 + 4 > data_end)
		return P_MALFORMED;
	p->key.sport = ((__be16 *)l4)[0];
	p->key.dport = ((__be16 *)l4)[1];
	return P_L4;
}

static __always_inline int parse_ipv4(void *l3, void *data_end, struct pkt *p)
{
	struct iphdr *iph = l3;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return P_MALFORMED;
	if (iph->version != 4 || iph->ihl < 5 || l3 + iph->ihl * 4 > data_end)
		return P_MALFORMED;
	/* tot_len 0 is BIG TCP's GSO packet; otherwise it must hold the header. */
	if (iph->tot_len && bpf_ntohs(iph->tot_len) < iph->ihl * 4)
		return P_MALFORMED;

	p->ipv4 = 1;
	p->simple = iph->ihl == 5;
	p->key.saddr[10] = 0xff;
	p->key.saddr[11] = 0xff;
	__builtin_memcpy(&p->key.saddr[12], &iph->saddr, 4);
	p->key.daddr[10] = 0xff;
	p->key.daddr[11] = 0xff;
	__builtin_memcpy(&p->key.daddr[12], &iph->daddr, 4);

	frag = bpf_ntohs(iph->frag_off);
	if (frag & IP_OFFSET)
		return iph->protocol == IPPROTO_TCP ? P_FRAG_TCP : P_FRAG_OTHER;
	return parse_l4(l3 + iph->ihl * 4, data_end, iph->protocol, p);
}

static __always_inline int parse_ipv6(void *l3, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = l3;
	void *cur = ip6 + 1;
	__u8 nexthdr;

	if (cur > data_end)
		return P_MALFORMED;
	if (ip6->version != 6)
		return P_MALFORMED;
	__builtin_memcpy(p->key.saddr, &ip6->saddr, 16);
	__builtin_memcpy(p->key.daddr, &ip6->daddr, 16);
	nexthdr = ip6->nexthdr;

	for (int i = 0; i < MAX_EXT_HDRS; i++) {
		__u8 *ext = cur;

		switch (nexthdr) {
		case NEXTHDR_HOP:
		case NEXTHDR_ROUTING:
		case NEXTHDR_DEST:
			if (cur + 8 > data_end)
				return P_MALFORMED;
			nexthdr = ext[0];
			cur += (ext[1] + 1) * 8;
			break;
		case NEXTHDR_AUTH:
			if (cur + 8 > data_end)
				return P_MALFORMED;
			nexthdr = ext[0];
			cur += (ext[1] + 2) * 4;
			break;
		case NEXTHDR_FRAGMENT: {
			struct frag_hdr *fh = cur;

			if ((void *)(fh + 1) > data_end)
				return P_MALFORMED;
			nexthdr = fh->nexthdr;
			if (bpf_ntohs(fh->frag_off) & ~0x7)
				return nexthdr == IPPROTO_TCP ? P_FRAG_TCP
							       : P_FRAG_OTHER;
			p->frag_first |= bpf_ntohs(fh->frag_off) & 1;
			cur += sizeof(*fh);
			break;
		}
		default:
			p->simple = i == 0;
			return parse_l4(cur, data_end, nexthdr, p);
		}
	}
	switch (nexthdr) {
	case NEXTHDR_HOP:
	case NEXTHDR_ROUTING:
	case NEXTHDR_DEST:
	case NEXTHDR_AUTH:
	case NEXTHDR_FRAGMENT:
		return P_UNCLASSIFIED;
	}
	return parse_l4(cur, data_end, nexthdr, p);
}

/* Parses Ethernet with up to two VLAN tags, then IPv4 or IPv6. */
static __always_inline int parse(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__be16 proto;

	if (cur > data_end)
		return P_MALFORMED;
	proto = eth->h_proto;
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) &&
		    proto != bpf_htons(ETH_P_8021AD))
			break;
		if (cur + 4 > data_end)
			return P_MALFORMED;
		proto = ((__be16 *)cur)[1];
		cur += 4;
	}
	/*
	 * A third tag: the host may stack VLAN devices that deep and deliver
	 * the inner IP to TCP, so passing it as "not IP" would fail open.
	 */
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return P_UNCLASSIFIED;
	p->l3off = cur - data;
	p->data_end = data_end;
	if (proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(cur, data_end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(cur, data_end, p);
	return P_NOT_IP;
}

#endif /* AOPGATE_PARSE_H */
