// SPDX-License-Identifier: GPL-2.0-only
/*
 * A flood of a fixed count that reaches the origin the way a NIC's packets
 * do: BPF_PROG_TEST_RUN in live-frames mode runs xdpflood.bpf.c on one
 * frame COUNT times, and each XDP_TX puts a copy on the wire of IFACE (a
 * veth, whose peer receives it as an XDP frame). A new source port per
 * packet (rsyn: a new source address too, in 10.64.0.0/10); frames the
 * peer's ring has no room for are lost, as on a NIC.
 * Run it in the sender's network namespace.
 *
 * Usage: xdpflood -i IFACE -s SRC -d DST -S SRCMAC -D DSTMAC
 *                 [-p PORT] [-f syn|ack|rsyn] -n COUNT
 */
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "frame.h"
#include "synack.h"
#include "xdpflood.skel.h"

static int parse_mac(const char *s, uint8_t m[6])
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2],
		      &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static void usage(void)
{
	fprintf(stderr, "usage: xdpflood -i IFACE -s SRC -d DST -S SRCMAC -D DSTMAC "
			"[-p PORT] [-f syn|ack|rsyn] -n COUNT\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *ifname = NULL, *src = NULL, *dst = NULL, *flood = "syn";
	uint8_t smac[6], dmac[6], f[FRAME_MAX];
	int have_s = 0, have_d = 0, port = 443, opt, ifindex;
	unsigned long count = 0;
	struct xdpflood_bpf *skel;
	struct xdp_md ctx = { 0 };
	struct fspec s;
	size_t len;

	while ((opt = getopt(argc, argv, "i:s:d:S:D:p:f:n:")) != -1) {
		switch (opt) {
		case 'i': ifname = optarg; break;
		case 's': src = optarg; break;
		case 'd': dst = optarg; break;
		case 'S': have_s = !parse_mac(optarg, smac); break;
		case 'D': have_d = !parse_mac(optarg, dmac); break;
		case 'p': port = atoi(optarg); break;
		case 'f': flood = optarg; break;
		case 'n': count = strtoul(optarg, NULL, 0); break;
		default: usage();
		}
	}
	if (!ifname || !src || !dst || !have_s || !have_d || !count || count > UINT32_MAX ||
	    (strcmp(flood, "syn") && strcmp(flood, "ack") && strcmp(flood, "rsyn")))
		usage();
	ifindex = if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "xdpflood: no interface %s here\n", ifname);
		return 1;
	}

	fr_tcp(&s, 0, src, dst, 1024, port, strcmp(flood, "ack") ? FR_SYN : FR_ACK);
	len = frame_build(&s, f);
	memcpy(f, dmac, 6);
	memcpy(f + 6, smac, 6);
	{
		uint8_t *ip = f + 14, *tcp = ip + 20;
		/* Over a zero checksum field, the sum is the checksum itself. */
		uint16_t c = sa_tcp_csum(ip, 0, tcp, len - 34);

		tcp[16] = c >> 8;
		tcp[17] = c & 0xff;
	}

	if (len > sizeof(skel->rodata->tmpl)) {
		fprintf(stderr, "xdpflood: a %zu-byte frame is longer than the template\n", len);
		return 1;
	}
	skel = xdpflood_bpf__open();
	if (skel) {
		skel->rodata->rand_src = !strcmp(flood, "rsyn");
		skel->rodata->tmpl_len = len;
		memcpy((void *)skel->rodata->tmpl, f, len);
		if (xdpflood_bpf__load(skel)) {
			xdpflood_bpf__destroy(skel);
			skel = NULL;
		}
	}
	if (!skel) {
		fprintf(stderr, "xdpflood: cannot load the program: %s\n", strerror(errno));
		return 1;
	}
	/* The kernel wants the context to describe the frame it is given. */
	ctx.data_end = len;
	ctx.ingress_ifindex = ifindex;
	{
		LIBBPF_OPTS(bpf_test_run_opts, o,
			.data_in = f,
			.data_size_in = len,
			.ctx_in = &ctx,
			.ctx_size_in = sizeof(ctx),
			.repeat = count,
			.flags = BPF_F_TEST_XDP_LIVE_FRAMES,
		);

		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.xdpflood), &o)) {
			fprintf(stderr, "xdpflood: BPF_PROG_TEST_RUN (live frames) on %s: %s\n",
				ifname, strerror(errno));
			xdpflood_bpf__destroy(skel);
			return 1;
		}
	}
	printf("{\"runs\":%lu}\n", count);
	xdpflood_bpf__destroy(skel);
	return 0;
}
