// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sending half of tests/bench/xdpflood.c: run by BPF_PROG_TEST_RUN in
 * live-frames mode on the stranger's veth, it gives each copy of the frame
 * the next source port (fixing the TCP checksum, RFC 1624) and transmits
 * it. veth hands such a frame to its peer as an XDP frame, not an skb, as
 * a NIC's driver hands the origin a packet: the gate then drops it before
 * any skb exists, while netfilter and TCP get one built for them. With
 * rand_src set, each copy also gets a random source in 10.64.0.0/10: a
 * spoofed flood, a new source for every SYN.
 */
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Offsets in the untagged IPv4 frame xdpflood.c builds (IHL 5). */
#define IP_OFF		14
#define TCP_OFF		(IP_OFF + 20)
#define PORT_FIRST	1024
#define PORT_SPAN	64000
#define TMPL_MAX	128

__u32 next_port;
const volatile __u32 rand_src;
/* The frame, written by xdpflood.c before the load. */
const volatile __u32 tmpl_len;
const volatile __u8 tmpl[TMPL_MAX];

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

/* HC' = ~(~HC + ~m + m'), RFC 1624, for a 32-bit field m. */
static __always_inline __u16 csum_replace4(__u16 check, __u32 old, __u32 new)
{
	__u32 c = (__u16)~check;

	c += (__u16)~old + (__u16)~(old >> 16);
	c += (__u16)new + (__u16)(new >> 16);
	return ~csum_fold(c);
}

SEC("xdp")
int xdpflood(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + TCP_OFF;
	__u32 *saddr = data + IP_OFF + 12;
	__u16 *ipcheck = data + IP_OFF + 10;
	__u16 old, new;

	/*
	 * Live frames recycle their pages, and the receiver may have written
	 * into one (the gate's cookie SYN-ACK turns the frame around in
	 * place): each copy starts from the template again.
	 */
	for (__u32 i = 0; i < TMPL_MAX && i < tmpl_len; i++) {
		__u8 *b = data + i;

		if ((void *)(b + 1) > data_end)
			return XDP_ABORTED;
		*b = tmpl[i];
	}
	if ((void *)(th + 1) > data_end)
		return XDP_ABORTED;
	if (rand_src) {
		__u32 a = *saddr;
		__u32 b = bpf_htonl(0x0a400000 | (bpf_get_prandom_u32() & 0x3fffff));

		*saddr = b;
		*ipcheck = csum_replace4(*ipcheck, a, b);
		th->check = csum_replace4(th->check, a, b);
	}
	old = th->source;
	new = bpf_htons(PORT_FIRST + __sync_fetch_and_add(&next_port, 1) % PORT_SPAN);
	th->source = new;
	/* HC' = ~(~HC + ~m + m') */
	th->check = ~csum_fold((__u16)~th->check + (__u32)(__u16)~old + (__u32)new);
	return XDP_TX;
}
