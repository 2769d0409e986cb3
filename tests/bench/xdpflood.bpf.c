// SPDX-License-Identifier: GPL-2.0-only
/*
 * The sending half of tests/bench/xdpflood.c: run by BPF_PROG_TEST_RUN in
 * live-frames mode on the stranger's veth, it gives each copy of the frame
 * the next source port (fixing the TCP checksum, RFC 1624) and transmits
 * it. veth hands such a frame to its peer as an XDP frame, not an skb, as
 * a NIC's driver hands the origin a packet: the gate then drops it before
 * any skb exists, while netfilter and TCP get one built for them.
 */
#include <linux/bpf.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "GPL";

/* Offsets in the untagged IPv4 frame xdpflood.c builds (IHL 5). */
#define TCP_OFF		(14 + 20)
#define PORT_FIRST	1024
#define PORT_SPAN	64000

__u32 next_port;

static __always_inline __u16 csum_fold(__u32 c)
{
	c = (c & 0xffff) + (c >> 16);
	c = (c & 0xffff) + (c >> 16);
	return (__u16)c;
}

SEC("xdp")
int xdpflood(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct tcphdr *th = data + TCP_OFF;
	__u16 old, new;

	if ((void *)(th + 1) > data_end)
		return XDP_ABORTED;
	old = th->source;
	new = bpf_htons(PORT_FIRST + __sync_fetch_and_add(&next_port, 1) % PORT_SPAN);
	th->source = new;
	/* HC' = ~(~HC + ~m + m') */
	th->check = ~csum_fold((__u16)~th->check + (__u32)(__u16)~old + (__u32)new);
	return XDP_TX;
}
