// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's use of the gate's maps; see gateio.h. The handle is published
 * once and never closed while workers run, so reads need no lock.
 */
#include <errno.h>
#include <string.h>

#include "gatemap.h"
#include "log.h"
#include "gateio.h"

static struct gatemap *gateio_gm;

int gateio_open(const char *pin_root)
{
	char err[256] = "", q[300];
	struct gatemap *gm;

	if (gateio_ready())
		return 0;
	gm = gatemap_open(pin_root, err, sizeof(err));
	if (!gm) {
		log_error("event=maps result=fail pin_root=%s error=%s note=\"attach the "
			  "gate first (aopgate attach), or set pin_root = off to run without it\"",
			  pin_root, log_quote(err, q, sizeof(q)));
		return -1;
	}
	__atomic_store_n(&gateio_gm, gm, __ATOMIC_RELEASE);
	log_info("event=maps result=ok pin_root=%s", pin_root);
	return 0;
}

bool gateio_ready(void)
{
	return __atomic_load_n(&gateio_gm, __ATOMIC_ACQUIRE) != NULL;
}

static struct gatemap *gm(void)
{
	return __atomic_load_n(&gateio_gm, __ATOMIC_ACQUIRE);
}

void gateio_admit(const struct flow_key *key, __u32 site_id, const unsigned char sha256[32])
{
	__u8 cert_id[8] = { 0 };
	int rc;

	if (!gm())
		return;
	if (sha256)
		memcpy(cert_id, sha256, sizeof(cert_id));
	rc = gatemap_verify(gm(), key, site_id, cert_id);
	if (rc < 0)
		log_error("event=pin result=fail error=\"%s\"", strerror(-rc));
}

void gateio_linger(const struct flow_key *key, __u64 ns)
{
	int rc;

	if (!gm())
		return;
	rc = gatemap_linger(gm(), key, ns);
	if (rc < 0 && rc != -ENOENT)
		log_error("event=linger result=fail error=\"%s\"", strerror(-rc));
}

int gateio_strike(const __u8 src[16], __u64 base_ns, __u64 max_ns, struct penalty *out)
{
	int rc;

	if (!gm())
		return -1;
	rc = gatemap_penalize(gm(), src, base_ns, max_ns, out);
	if (rc < 0) {
		log_error("event=penalty result=fail error=\"%s\"", strerror(-rc));
		return -1;
	}
	return 0;
}

int gateio_sweep(bool all)
{
	int rc;

	if (!gm())
		return -1;
	rc = gatemap_sweep(gm(), all);
	if (rc < 0)
		log_error("event=sweep result=fail error=\"%s\"", strerror(-rc));
	return rc;
}

int gateio_stats(struct counter sum[CNT_MAX])
{
	return gm() && gatemap_read_stats(gm(), sum) == 0 ? 0 : -1;
}
