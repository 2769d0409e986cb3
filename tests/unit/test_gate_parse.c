// SPDX-License-Identifier: GPL-2.0-only
/*
 * The gate's parser, packet by packet, at both entry points: truncation at
 * every length, VLAN stacks, IPv6 extension chains, IPv4 options and
 * fragments, and traffic that is not TCP or not IP. Each point checks the
 * verdict and that exactly the expected counter moved (see gatecheck.h).
 * The plain frame of each verdict-table row (UDP or ICMP, a non-first TCP
 * fragment, ...) is judged in test_gate.c; here only the shapes around it.
 */
#include "gatecheck.h"

/* The shortest frame BPF_PROG_TEST_RUN accepts: see lab_run_n(). */
static size_t injectable_from(int ep, const uint8_t *f)
{
	uint16_t et = f[12] << 8 | f[13];

	if (ep == LAB_TC && et == FR_ETH_IP)
		return 14 + 20;
	if (ep == LAB_TC && et == FR_ETH_IPV6)
		return 14 + 40;
	return 14;
}

/* A valid SYN cut at every length: never admitted, always malformed. */
static void truncation(const struct variant *v)
{
	struct fspec s = tcp(v, 40000, GATE_PORT, FR_SYN);
	uint8_t f[FRAME_MAX];
	size_t full, from;
	int bad = 0, refused = 0;
	char first[sizeof(why)] = "";

	s.tcp_opt_len = 40;
	full = frame_build(&s, f);
	from = injectable_from(v->ep, f);
	fresh_default();
	for (size_t len = from; len < full; len++)
		if (!check_frame(v->ep, f, len, CNT_DROP_MALFORMED) && !bad++)
			snprintf(first, sizeof(first), "%s", why);
	snprintf(why, sizeof(why), "%d lengths failed; first: %.900s", bad, first);
	point(!bad, "%s: a SYN with 40 bytes of options cut at any length %zu..%zu is dropped (drop-malformed)",
	      v->name, from, full - 1);

	for (size_t len = 0; len < from; len++) {
		int verdict;

		if (lab_run(&lab, v->ep, f, len, &verdict) != -EINVAL && !refused++)
			snprintf(why, sizeof(why), "len %zu was not refused", len);
	}
	/* tc's shorter cuts run through the same parser in the XDP points. */
	point(!refused, "%s: BPF_PROG_TEST_RUN itself refuses the cuts to 0..%zu bytes (its minimum), so they are not run here",
	      v->name, from - 1);

	fresh_default();
	point(check_frame(v->ep, f, full, CNT_PASS_SYN),
	      "%s: the same SYN uncut opens a flow (pass-syn)", v->name);
}

/*
 * A first fragment carries the TCP header and is judged like any packet:
 * the SYN in s is admitted, then a stray ACK in the same shape is dropped.
 */
static void first_fragment(int ep, struct fspec *s, const char *name, const char *how)
{
	point(check(ep, s, CNT_PASS_SYN),
	      "%s: a SYN in a first fragment (%s) is evaluated and admitted (pass-syn)", name, how);
	s->flags = FR_ACK;
	s->sport = 40001;
	point(check(ep, s, CNT_DROP_UNKNOWN),
	      "%s: a stray ACK in a first fragment is dropped (drop-unknown)", name);
}

/* A fresh gate that passes what it cannot classify (GATE_F_FRAG_PASS). */
static void fresh_frag_pass(void)
{
	struct gate_cfg c = lab_cfg_default();

	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
}

/*
 * A non-first fragment has no TCP header to judge: the TCP one in s passes
 * only with GATE_F_FRAG_PASS, and one of UDP passes as any UDP does.
 */
static void later_fragments_pass(const struct variant *v, struct fspec *s)
{
	fresh_frag_pass();
	point(check(v->ep, s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a non-first fragment of TCP passes (pass-other)", v->name);
	fresh_default();
	*s = later_fragment(v, FR_PROTO_UDP);
	point(check(v->ep, s, CNT_PASS_OTHER),
	      "%s: a non-first fragment of UDP passes (pass-other)", v->name);
}

/* IPv6 extension headers in front of TCP. */
static void ipv6_chains(int ep)
{
	struct variant v;
	struct fspec s;
	uint8_t f[FRAME_MAX];
	static const struct {
		uint8_t type, len;
		const char *name;
	} one[] = {
		{ FR_EXT_HOP, 0, "a hop-by-hop options header" },
		{ FR_EXT_ROUTING, 2, "a routing header" },
		{ FR_EXT_DEST, 1, "a destination options header" },
		{ FR_EXT_AUTH, 4, "an authentication header" },
	};

	variant_init(&v, ep, 1, 0);
	for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
		fresh_default();
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		ext(&s, one[i].type, one[i].len);
		point(check(ep, &s, CNT_PASS_SYN),
		      "%s: a SYN behind %s is evaluated and admitted (pass-syn)", v.name, one[i].name);
		s.flags = FR_ACK;
		s.sport = 40001;
		point(check(ep, &s, CNT_DROP_UNKNOWN),
		      "%s: a stray ACK behind %s is dropped (drop-unknown)", v.name, one[i].name);
	}

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 0);
	ext(&s, FR_EXT_ROUTING, 2);
	ext(&s, FR_EXT_AUTH, 4);
	ext(&s, FR_EXT_DEST, 3);
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN behind hop-by-hop, dest, routing, AH and dest headers is admitted (pass-syn)", v.name);

	/*
	 * IPv6 reassembly takes the first fragment's protocol, whatever the
	 * later ones name: a first fragment of TCP to a GATE port is dropped,
	 * since later fragments naming UDP would pass and complete it.
	 */
	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.n_ext = 1;
	s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG, .frag_off = 0, .more = 1 };
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: a SYN to a GATE port in a first fragment (offset 0, M=1) is dropped (drop-fragment)", v.name);
	s.ext[1] = s.ext[0];
	s.ext[0].more = 0;
	s.n_ext = 2;
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: the same behind an atomic fragment header (offset 0, M=0) is dropped (drop-fragment)", v.name);
	s.ext[0].more = 1;
	s.ext[1].more = 0;
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: the same with an atomic fragment header behind the first fragment's is dropped (drop-fragment)",
	      v.name);
	fresh_default();
	s.n_ext = 1;
	s.ext[0].more = 0;
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN in an atomic fragment (offset 0, M=0) is evaluated and admitted (pass-syn)", v.name);

	fresh_frag_pass();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.n_ext = 1;
	s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG, .frag_off = 0, .more = 1 };
	first_fragment(ep, &s, v.name, "offset 0, M=1, with GATE_F_FRAG_PASS");

	s = later_fragment(&v, FR_PROTO_TCP);
	later_fragments_pass(&v, &s);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	for (int i = 0; i < 8; i++)
		ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_PASS_SYN),
	      "%s: a SYN behind 8 extension headers, the most the gate walks, is admitted (pass-syn)", v.name);
	s.sport = 40001;
	ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: a SYN behind 9 extension headers is unclassifiable and dropped (drop-malformed)", v.name);
	fresh_frag_pass();
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a 9-header chain passes unclassified (pass-other)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 2);	/* 24 bytes */
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 8 + 4, CNT_DROP_MALFORMED),
	      "%s: a chain cut inside the first 8 bytes of a header is dropped (drop-malformed)", v.name);
	point(check_frame(ep, f, 14 + 40 + 8 + 20, CNT_DROP_MALFORMED),
	      "%s: a chain cut inside a header's declared length is dropped (drop-malformed)", v.name);
	s.n_ext = 0;
	ext(&s, FR_EXT_AUTH, 4);
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 6, CNT_DROP_MALFORMED),
	      "%s: an authentication header cut short is dropped (drop-malformed)", v.name);
	s.n_ext = 1;
	s.ext[0] = (struct fr_ext){ .type = FR_EXT_FRAG };
	frame_build(&s, f);
	point(check_frame(ep, f, 14 + 40 + 7, CNT_DROP_MALFORMED),
	      "%s: a fragment header cut short is dropped (drop-malformed)", v.name);

	fresh_default();
	s = udp(&v, 40000, GATE_PORT);
	ext(&s, FR_EXT_HOP, 0);
	ext(&s, FR_EXT_DEST, 0);
	point(check(ep, &s, CNT_DROP_NON_TCP),
	      "%s: UDP to a GATE port behind extension headers is dropped (drop-non-tcp)", v.name);
}

/* IPv4 header length, options and fragments. */
static void ipv4_headers(int ep)
{
	struct variant v;
	struct fspec s;
	struct flow_key k;
	int bad = 0;
	__u64 t0;

	variant_init(&v, ep, 0, 0);
	for (int opt = 4; opt <= 40; opt += 36) {
		fresh_default();
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		s.ip_opt_len = opt;
		k = fr_key(&s);
		t0 = lab_now();
		point(check(ep, &s, CNT_PASS_SYN) && pending_is(&k, t0, lab_now(), 1),
		      "%s: a SYN with %d bytes of IP options (ihl %d) opens the right flow (pass-syn)",
		      v.name, opt, 5 + opt / 4);
		s.flags = FR_ACK;
		s.sport = 40001;
		point(check(ep, &s, CNT_DROP_UNKNOWN),
		      "%s: a stray ACK with %d bytes of IP options is dropped (drop-unknown)", v.name, opt);
	}

	fresh_default();
	for (int ihl = 0; ihl < 5; ihl++) {
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		s.ihl_set = 1;
		s.ihl = ihl;
		if (!check(ep, &s, CNT_DROP_MALFORMED) && !bad++)
			diag("ihl %d: %s", ihl, why);
	}
	snprintf(why, sizeof(why), "see above");
	point(!bad, "%s: a SYN with ihl 0..4 is dropped (drop-malformed)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.version = 6;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: an IPv4 ethertype with IP version 6 is dropped (drop-malformed)", v.name);

	fresh_default();
	s = tcp(&v, 40000, GATE_PORT, FR_SYN);
	s.more_frags = 1;
	s.payload_len = 200;
	first_fragment(ep, &s, v.name, "MF, offset 0");

	fresh_default();
	s = later_fragment(&v, FR_PROTO_TCP);
	s.more_frags = 1;
	point(check(ep, &s, CNT_DROP_FRAGMENT),
	      "%s: a middle fragment of TCP (MF, offset > 0) is dropped (drop-fragment)", v.name);
	later_fragments_pass(&v, &s);
}

/* Traffic that is not TCP, beyond the UDP and ICMP rows of test_gate.c. */
static void non_tcp(const struct variant *v)
{
	struct fspec s;

	fresh_default();
	s = udp(v, GATE_PORT, 53);
	point(check(v->ep, &s, CNT_PASS_OTHER),
	      "%s: UDP from a GATE port number to an unprotected port passes (pass-other)", v->name);
	s = tcp(v, 40000, GATE_PORT, 0);
	s.proto = 132;	/* SCTP: ports where TCP has them */
	s.tcp_opt_len = 0;
	point(check(v->ep, &s, CNT_DROP_NON_TCP),
	      "%s: SCTP to a GATE port is dropped (drop-non-tcp)", v->name);
}

/* More VLAN tags than the gate walks: the host may still untag them all. */
static void vlan_stack(int ep, int ipv6)
{
	struct gate_cfg c = lab_cfg_default();
	struct variant v;
	struct fspec s;

	variant_init(&v, ep, ipv6, 0);
	fresh(&c);
	s = tcp(&v, 40000, GATE_PORT, FR_ACK);
	s.vlans = 3;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: a stray ACK behind three VLAN tags is unclassifiable and dropped (drop-malformed)", v.name);
	s.dport = BACKEND_PORT;
	point(check(ep, &s, CNT_DROP_MALFORMED),
	      "%s: data to the BACKEND port behind three VLAN tags is dropped (drop-malformed)", v.name);
	c.flags = GATE_F_FRAG_PASS;
	fresh(&c);
	point(check(ep, &s, CNT_PASS_OTHER),
	      "%s: with GATE_F_FRAG_PASS a frame behind three VLAN tags passes unclassified (pass-other)",
	      v.name);
}

static void non_ip(int ep)
{
	struct fspec s;

	memset(&s, 0, sizeof(s));
	s.arp = 1;
	fresh_default();
	point(check(ep, &s, CNT_PASS_OTHER), "%s: ARP passes (pass-other)", lab_entry_name[ep]);
	s.vlans = 1;
	point(check(ep, &s, CNT_PASS_OTHER), "%s: ARP in a VLAN passes (pass-other)", lab_entry_name[ep]);
}

/*
 * Sources Linux refuses a connection from (IPv4 0/8, multicast, 240/4 and
 * the broadcast; IPv6 unspecified, multicast, IPv4-mapped): the gate
 * neither admits nor answers them on a GATE port, with cookies off or on
 * (a cookie SYN-ACK to such an address, or a cookie ACK handed to the
 * kernel past its checks, would be the gate's doing). Loopback is the
 * kernel's to judge; other ports are not the gate's.
 */
static void refused_sources(int ep)
{
	static const struct {
		int ipv6;
		const char *addr;
	} bad[] = {
		{ 0, "0.1.2.3" }, { 0, "224.0.0.251" }, { 0, "239.1.1.1" }, { 0, "240.0.0.1" },
		{ 0, "255.255.255.255" }, { 1, "::" }, { 1, "ff02::1" }, { 1, "ff0e::10" },
		{ 1, "::ffff:198.51.100.7" },
	};
	struct gate_cfg c = lab_cfg_default();
	struct variant v;
	struct fspec s;
	int good = 1;

	c.syncookie_ready = 1;
	c.syncookie_key[0] = 0x0123456789abcdefull;
	for (size_t i = 0; good && i < sizeof(bad) / sizeof(bad[0]); i++) {
		variant_init(&v, ep, bad[i].ipv6, 0);
		for (int cookies = 0; good && cookies < 2; cookies++) {
			c.syncookies = cookies ? GATE_SC_ON : GATE_SC_OFF;
			fresh(&c);
			s = tcp(&v, 40000, GATE_PORT, FR_SYN);
			fr_addr(s.src, bad[i].addr);
			good = check(ep, &s, CNT_DROP_MALFORMED);
			s.flags = FR_ACK;
			good = good && check(ep, &s, CNT_DROP_MALFORMED);
			s = tcp(&v, 40000, OTHER_PORT, FR_SYN);
			fr_addr(s.src, bad[i].addr);
			good = good && check(ep, &s, CNT_PASS_OTHER);
			if (!good)
				snprintf(why + strlen(why), sizeof(why) - strlen(why),
					 " (source %s, cookies %s)", bad[i].addr, cookies ? "on" : "off");
		}
	}
	point(good, "%s: SYNs and ACKs to a GATE port from sources Linux refuses (0/8, multicast, "
	      "240/4, ::, ff00::/8, IPv4-mapped) are dropped, cookies off and on (drop-malformed); "
	      "to other ports they pass (pass-other)", lab_entry_name[ep]);
	good = 1;
	for (int ipv6 = 0; ipv6 < 2; ipv6++) {
		c.syncookies = GATE_SC_OFF;
		fresh(&c);
		variant_init(&v, ep, ipv6, 0);
		s = tcp(&v, 40000, GATE_PORT, FR_SYN);
		fr_addr(s.src, ipv6 ? "::1" : "127.0.0.1");
		good = good && check(ep, &s, CNT_PASS_SYN);
	}
	point(good, "%s: a SYN from a loopback source is admitted as any other (pass-syn): "
	      "a gate on lo sees them", lab_entry_name[ep]);
}

int main(void)
{
	struct variant v;

	if (lab_open(&lab, 4096, 4096))
		bail("loading the gate");
	if (lab_set_port(&lab, GATE_PORT, PORT_GATE) ||
	    lab_set_port(&lab, BACKEND_PORT, PORT_BACKEND))
		bail("writing ports");

	for (int ep = 0; ep < LAB_N_ENTRIES; ep++) {
		for (int ipv6 = 0; ipv6 < 2; ipv6++) {
			for (int vlans = 0; vlans < 3; vlans++) {
				variant_init(&v, ep, ipv6, vlans);
				truncation(&v);
			}
			variant_init(&v, ep, ipv6, 0);
			non_tcp(&v);
			vlan_stack(ep, ipv6);
		}
		ipv6_chains(ep);
		refused_sources(ep);
		ipv4_headers(ep);
		non_ip(ep);
	}
	lab_close(&lab);
	return tap_done();
}
