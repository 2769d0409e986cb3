// SPDX-License-Identifier: GPL-2.0-only
/*
 * The PROXY v1/v2 encoders on arbitrary addresses and TLV values: the
 * result fits the buffer it was given or is refused (-1), and a v2 header's
 * length field always covers exactly what was written.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "proxyproto.h"

/* Takes n bytes from the input, or fewer at its end. */
static const unsigned char *take(const unsigned char **d, size_t *left, size_t n, size_t *got)
{
	const unsigned char *p = *d;

	*got = n < *left ? n : *left;
	*d += *got;
	*left -= *got;
	return p;
}

static void sockaddr_of(struct sockaddr_storage *ss, const unsigned char *b, size_t n)
{
	memset(ss, 0, sizeof(*ss));
	if (n < 1)
		return;
	if (b[0] & 1) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, b + 1, n - 1 < 16 ? n - 1 : 16);
		in6->sin6_port = htons(b[0] << 8 | (n > 17 ? b[17] : 0));
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = b[0] & 2 ? AF_INET : AF_UNIX;
		memcpy(&in->sin_addr, b + 1, n - 1 < 4 ? n - 1 : 4);
	}
}

/* A NUL-terminated copy of up to n input bytes (freed by the caller). */
static char *str_of(const unsigned char **d, size_t *left, size_t n)
{
	size_t got;
	const unsigned char *p = take(d, left, n, &got);
	char *s = malloc(got + 1);

	memcpy(s, p, got);
	s[got] = '\0';
	return s;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	struct sockaddr_storage src, dst;
	struct proxyproto_info in = { 0 };
	size_t got, cap;
	const unsigned char *p;
	unsigned char *buf;
	char *sni, *cn, *id, *ver;
	int n;

	if (size < 4)
		return 0;
	cap = (data[0] << 8 | data[1]) % 70000;
	data += 2;
	size -= 2;
	p = take(&data, &size, 18, &got);
	sockaddr_of(&src, p, got);
	p = take(&data, &size, 18, &got);
	sockaddr_of(&dst, p, got);
	sni = str_of(&data, &size, size > 0 ? data[0] * 4 : 0);
	cn = str_of(&data, &size, 64);
	id = str_of(&data, &size, 140);
	ver = str_of(&data, &size, 16);
	in.src = (struct sockaddr *)&src;
	in.dst = (struct sockaddr *)&dst;
	in.authority = sni;
	in.cn = cn;
	in.unique_id = id;
	in.version = ver;
	in.ssl = size & 1;
	in.alpn = data;
	in.alpn_len = size;
	buf = malloc(cap ? cap : 1);
	n = proxyproto_v2(buf, cap, &in);
	if (n > (int)cap || (n >= 0 && (n < 16 || (size_t)(16 + (buf[14] << 8 | buf[15])) != (size_t)n)))
		abort();
	n = proxyproto_v1((char *)buf, cap, in.src, in.dst);
	if (n > (int)cap || (n >= 0 && (n < 2 || memcmp(buf + n - 2, "\r\n", 2))))
		abort();
	free(buf);
	free(sni);
	free(cn);
	free(id);
	free(ver);
	return 0;
}
