// SPDX-License-Identifier: GPL-2.0-only
/*
 * PROXY protocol encoders, byte for byte against haproxy's
 * proxy-protocol.txt: the v1 examples of section 2.1 and the v2 layout of
 * section 2.2 (signature, ver_cmd, fam, len, addresses, TLVs).
 */
#include <arpa/inet.h>
#include <string.h>

#include "tap.h"
#include "proxyproto.h"

static struct sockaddr_storage a1, a2;

static const struct sockaddr *v4(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in *in = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	in->sin_family = AF_INET;
	in->sin_port = htons(port);
	inet_pton(AF_INET, ip, &in->sin_addr);
	return (struct sockaddr *)ss;
}

static const struct sockaddr *v6(struct sockaddr_storage *ss, const char *ip, int port)
{
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &in6->sin6_addr);
	return (struct sockaddr *)ss;
}

static int same(const uint8_t *got, int n, const uint8_t *want, int wn, const char *name)
{
	int eq = n == wn && memcmp(got, want, wn) == 0;

	ok(eq, "%s", name);
	if (!eq) {
		char g[1024] = "", w[1024] = "";

		for (int i = 0; i < n && i < 300; i++)
			sprintf(g + strlen(g), "%02x", got[i]);
		for (int i = 0; i < wn && i < 300; i++)
			sprintf(w + strlen(w), "%02x", want[i]);
		diag("got  %d: %s", n, g);
		diag("want %d: %s", wn, w);
	}
	return eq;
}

/* A v1 line is text of a known length: all of it, and nothing more. */
static int same_line(const char *got, int n, const char *want, const char *name)
{
	int wn = (int)strlen(want);
	int eq = n == wn && memcmp(got, want, wn) == 0;

	ok(eq, "%s", name);
	if (!eq)
		diag("got %d bytes: %.*s; want %d bytes: %s", n, n > 0 ? n : 0, got, wn, want);
	return eq;
}

static void test_v1(void)
{
	char buf[PROXYPROTO_V1_MAX + 1];
	int n;

	n = proxyproto_v1(buf, sizeof(buf), v4(&a1, "192.168.0.1", 56324),
			  v4(&a2, "192.168.0.11", 443));
	same_line(buf, n, "PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
		  "v1 TCP4: the example line of section 2.1");

	n = proxyproto_v1(buf, sizeof(buf), v4(&a1, "255.255.255.255", 65535),
			  v4(&a2, "255.255.255.255", 65535));
	same_line(buf, n, "PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n",
		  "v1 TCP4 worst case is 56 bytes, as section 2.1 computes");

	n = proxyproto_v1(buf, sizeof(buf),
			  v6(&a1, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535),
			  v6(&a2, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535));
	same_line(buf, n, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
		  "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n",
		  "v1 TCP6 worst case is 104 bytes, as section 2.1 computes");

	n = proxyproto_v1(buf, sizeof(buf), v6(&a1, "::ffff:198.51.100.7", 40000),
			  v6(&a2, "::ffff:10.0.0.1", 443));
	same_line(buf, n, "PROXY TCP4 198.51.100.7 10.0.0.1 40000 443\r\n",
		  "v1: a v4-mapped IPv6 pair is sent as TCP4");

	n = proxyproto_v1(buf, sizeof(buf), v6(&a1, "2001:db8::1", 1), v6(&a2, "2001:db8::2", 2));
	same_line(buf, n, "PROXY TCP6 2001:db8::1 2001:db8::2 1 2\r\n",
		  "v1 TCP6 uses the compressed text form");

	n = proxyproto_v1(buf, sizeof(buf), NULL, NULL);
	same_line(buf, n, "PROXY UNKNOWN\r\n", "v1 UNKNOWN for a non-IP connection");

	n = proxyproto_v1(buf, 20, v4(&a1, "192.168.0.1", 56324), v4(&a2, "192.168.0.11", 443));
	ok(n == -1, "v1 refuses to truncate");
}

#define SIG 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A

static void test_v2_addresses(void)
{
	uint8_t buf[512];
	struct proxyproto_info in = { 0 };
	int n;

	in.src = v4(&a1, "192.168.0.1", 56324);
	in.dst = v4(&a2, "192.168.0.11", 443);
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x11, 0x00, 0x0C,
			192, 168, 0, 1, 192, 168, 0, 11, 0xDC, 0x04, 0x01, 0xBB,
		};
		same(buf, n, want, sizeof(want),
		     "v2 TCP over IPv4: \\x21 PROXY, \\x11, len 12, addresses then ports");
	}

	in.src = v6(&a1, "2001:db8::1", 40000);
	in.dst = v6(&a2, "2001:db8::2", 443);
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x21, 0x00, 0x24,
			0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
			0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
			0x9C, 0x40, 0x01, 0xBB,
		};
		same(buf, n, want, sizeof(want), "v2 TCP over IPv6: \\x21, len 36");
	}

	in.src = v6(&a1, "::ffff:198.51.100.7", 40000);
	in.dst = v6(&a2, "::ffff:10.0.0.1", 443);
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x11, 0x00, 0x0C,
			198, 51, 100, 7, 10, 0, 0, 1, 0x9C, 0x40, 0x01, 0xBB,
		};
		same(buf, n, want, sizeof(want), "v2: a v4-mapped pair is sent as TCP over IPv4");
	}

	in.src = v4(&a1, "198.51.100.7", 1);
	in.dst = v6(&a2, "2001:db8::2", 2);
	n = proxyproto_v2(buf, sizeof(buf), &in);
	ok(n == 52 && buf[13] == 0x21 && buf[16 + 10] == 0xff && buf[16 + 11] == 0xff &&
	   buf[16 + 12] == 198 && buf[16 + 15] == 7,
	   "v2: mixed families go out as IPv6 with the IPv4 end mapped");

	in.src = in.dst = NULL;
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = { SIG, 0x21, 0x00, 0x00, 0x00 };

		same(buf, n, want, sizeof(want), "v2 AF_UNSPEC: fam \\x00 and no address block");
	}
}

static void test_v2_tlvs(void)
{
	uint8_t buf[512], sha[32];
	struct proxyproto_info in = { 0 };
	int n;

	for (int i = 0; i < 32; i++)
		sha[i] = i;
	in.src = v4(&a1, "10.0.0.2", 40000);
	in.dst = v4(&a2, "10.0.0.1", 443);
	in.alpn = (const unsigned char *)"h2";
	in.alpn_len = 2;
	in.authority = "origin.example.com";
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x11, 0x00, 0x0C + 5 + 21,
			10, 0, 0, 2, 10, 0, 0, 1, 0x9C, 0x40, 0x01, 0xBB,
			0x01, 0x00, 0x02, 'h', '2',
			0x02, 0x00, 0x12, 'o', 'r', 'i', 'g', 'i', 'n', '.', 'e', 'x', 'a', 'm',
			'p', 'l', 'e', '.', 'c', 'o', 'm',
		};
		same(buf, n, want, sizeof(want),
		     "v2 PP2_TYPE_ALPN (0x01) and PP2_TYPE_AUTHORITY (0x02), len counts TLVs");
	}

	in.alpn = NULL;
	in.authority = NULL;
	in.ssl = true;
	in.client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN;
	in.verify = 0;
	in.version = "TLSv1.3";
	in.cn = "edge";
	in.sha256 = sha;
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x11, 0x00, 0x0C + 3 + 5 + 10 + 7 + 35,
			10, 0, 0, 2, 10, 0, 0, 1, 0x9C, 0x40, 0x01, 0xBB,
			/* PP2_TYPE_SSL: client, verify (uint32), then sub-TLVs */
			0x20, 0x00, 5 + 10 + 7,
			0x03, 0x00, 0x00, 0x00, 0x00,
			0x21, 0x00, 0x07, 'T', 'L', 'S', 'v', '1', '.', '3',
			0x22, 0x00, 0x04, 'e', 'd', 'g', 'e',
			/* custom range: the certificate's SHA-256 */
			0xE0, 0x00, 0x20,
			0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
			16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
		};
		same(buf, n, want, sizeof(want),
		     "v2 PP2_TYPE_SSL with client bits, verify 0, VERSION and CN sub-TLVs, "
		     "then the fingerprint TLV");
	}

	in.client = PP2_CLIENT_SSL;
	in.verify = 0x01020304;
	in.version = NULL;
	in.cn = NULL;
	in.sha256 = NULL;
	n = proxyproto_v2(buf, sizeof(buf), &in);
	{
		const uint8_t want[] = {
			SIG, 0x21, 0x11, 0x00, 0x0C + 8,
			10, 0, 0, 2, 10, 0, 0, 1, 0x9C, 0x40, 0x01, 0xBB,
			0x20, 0x00, 0x05, 0x01, 0x01, 0x02, 0x03, 0x04,
		};
		same(buf, n, want, sizeof(want),
		     "v2 SSL TLV without a certificate: verify non-zero, in network order");
	}

	in.cn = "edge";
	in.version = "TLSv1.3";
	ok(proxyproto_v2(buf, 40, &in) == -1, "v2 refuses to truncate");

	/*
	 * Room for all of it, so that only the 16-bit length fields can
	 * refuse: a TLV whose value alone is over 65535 bytes, and TLVs that
	 * each fit but together overflow the header's length.
	 */
	static uint8_t room[80000];
	static char big[70000];

	memset(big, 'a', sizeof(big) - 1);
	in.authority = big;
	ok(proxyproto_v2(room, sizeof(room), &in) == -1, "v2 refuses a TLV over 65535 bytes");

	big[65535] = 0;
	in.cn = NULL;
	in.version = "TLSv1.3";
	ok(proxyproto_v2(room, sizeof(room), &in) == -1,
	   "v2 refuses TLVs that fit one by one but add up to over 65535 bytes");
}

int main(void)
{
	test_v1();
	test_v2_addresses();
	test_v2_tlvs();
	return tap_done();
}
