// SPDX-License-Identifier: GPL-2.0-only
/*
 * The agent's use of the gate's maps; see gateio.h. The handle is published
 * once and never closed while workers run, so reads need no lock. The
 * gate's settings (prefix lengths, budgets, flags) are read at open and
 * at every sweep, so `aopgate set` reaches the agent within a second.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <bpf/bpf.h>

#include "gatemap.h"
#include "log.h"
#include "gateio.h"
#include "pinroot.h"
#include "privs.h"

static struct gatemap *gateio_gm;
static struct gate_cfg gateio_cfg;
static pthread_mutex_t cfg_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * A renewal reads an entry and writes it back open; a close in between
 * would be undone and the entry renewed for ever. So a close and the
 * renewal of one entry never interleave.
 */
static pthread_mutex_t flow_lock = PTHREAD_MUTEX_INITIALIZER;
static __u64 lease_ns = GATEIO_DEF_LEASE_NS;

static void cfg_refresh(struct gatemap *gm)
{
	struct gate_cfg c;

	if (gatemap_read_cfg(gm, &c))
		return;
	pthread_mutex_lock(&cfg_lock);
	gateio_cfg = c;
	pthread_mutex_unlock(&cfg_lock);
}

static struct gate_cfg cfg(void)
{
	struct gate_cfg c;

	pthread_mutex_lock(&cfg_lock);
	c = gateio_cfg;
	pthread_mutex_unlock(&cfg_lock);
	return c;
}

int gateio_lock(const char *pin_root)
{
	static int lock_fd = -1;
	char err[512] = "", q[600];
	int e;

	if (lock_fd >= 0)
		return 0;
	lock_fd = pinroot_lock(pin_root, err, sizeof(err));
	if (lock_fd >= 0)
		return 0;
	e = errno;
	log_error("event=maps result=fail pin_root=%s error=%s%s", pin_root,
		  log_quote(err, q, sizeof(q)),
		  e == ENOENT ? " note=\"attach the gate first (aopgate attach), or set "
				    "pin_root = off to run without it\"" : "");
	return -1;
}

_Static_assert(REASON_MAX <= AOPGATE_MAX_REASONS, "the handshakes map has a slot per reason");

/* The handshakes map, mapped once the maps are open; NULL if it could not be. */
static __u64 *hs_counts;

static void hs_map(struct gatemap *gm)
{
	size_t len = AOPGATE_MAX_REASONS * sizeof(__u64);
	void *p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, gatemap_fd(gm, GM_HANDSHAKES), 0);
	if (p == MAP_FAILED) {
		log_warn("event=maps note=\"handshakes are not counted for aopgate top\" "
			 "error=\"cannot map handshakes: %s\"", strerror(errno));
		return;
	}
	hs_counts = p;
}

void gateio_handshake(enum reason r)
{
	if (hs_counts && (unsigned)r < AOPGATE_MAX_REASONS)
		__atomic_fetch_add(&hs_counts[r], 1, __ATOMIC_RELAXED);
}

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
	cfg_refresh(gm);
	hs_map(gm);
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

void gateio_admit(const struct flow_key *key, __u32 site_id, const unsigned char sha256[32],
		  __u32 flags)
{
	__u8 cert_id[8] = { 0 };
	int rc;

	if (!gm())
		return;
	if (sha256)
		memcpy(cert_id, sha256, sizeof(cert_id));
	rc = gatemap_verify(gm(), key, site_id, cert_id, flags,
			    __atomic_load_n(&lease_ns, __ATOMIC_RELAXED));
	if (rc < 0)
		log_error("event=pin result=fail error=\"%s\"", strerror(-rc));
}

/*
 * The entries of closed connections, in the order they closed, for the
 * sweep to delete once their time is up: the pending entry of a handshake,
 * the verified entry of a connection past its linger. The sweep deletes
 * them one by one, without walking the maps: a walk of verified visits
 * every bucket of both families, two million of them by default, empty or
 * not. Bounded: past the bound a verified entry waits for the walk every
 * GATEIO_WALK_EVERY sweeps, and a pending one is left to the gate, which
 * stops passing it all the same.
 */
struct closed_pending {
	struct flow_key key;
	__u64 stamp, until_ns;	/* stamp: the pending entry's; 0 for verified */
	bool verified;
};

#define GATEIO_MAX_CLOSED 65536

static pthread_mutex_t closed_lock = PTHREAD_MUTEX_INITIALIZER;
static struct closed_pending *closed;
static size_t n_closed, cap_closed;
/* Set when a verified entry did not fit: the next tick walks. */
static bool closed_lost;

static void closed_add(const struct closed_pending *e)
{
	struct closed_pending *tmp;

	pthread_mutex_lock(&closed_lock);
	if (n_closed == cap_closed && cap_closed < GATEIO_MAX_CLOSED) {
		tmp = realloc(closed, (cap_closed ? cap_closed * 2 : 64) * sizeof(*tmp));
		if (tmp) {
			closed = tmp;
			cap_closed = cap_closed ? cap_closed * 2 : 64;
		}
	}
	if (n_closed < cap_closed)
		closed[n_closed++] = *e;
	else if (e->verified)
		closed_lost = true;
	pthread_mutex_unlock(&closed_lock);
}

void gateio_linger(const struct flow_key *key, __u64 ns)
{
	int rc;

	if (!gm())
		return;
	pthread_mutex_lock(&flow_lock);
	rc = gatemap_linger(gm(), key, ns);
	pthread_mutex_unlock(&flow_lock);
	if (rc < 0 && rc != -ENOENT)
		log_error("event=linger result=fail error=\"%s\"", strerror(-rc));
	if (!rc) {
		struct closed_pending e = {
			.key = *key, .until_ns = gatemap_now_ns() + ns, .verified = true,
		};

		closed_add(&e);
	}
}

void gateio_pending_close(const struct flow_key *key, __u64 ns)
{
	struct closed_pending e = { .key = *key, .until_ns = gatemap_now_ns() + ns };
	int rc;

	if (!gm())
		return;
	rc = gatemap_pending_close(gm(), key, ns, cfg().pending_max_age_ns, &e.stamp);
	if (rc < 0) {
		if (rc != -ENOENT)
			log_error("event=pending result=fail error=\"%s\"", strerror(-rc));
		return;
	}
	closed_add(&e);
}

/*
 * Deletes the entries of closed connections whose time is up, outside the
 * lock the workers take. Returns how many verified entries went.
 */
static int closed_sweep(void)
{
	struct closed_pending *due;
	size_t n = 0, i;
	__u64 now = gatemap_now_ns();
	int rc = 0, gone = 0;

	pthread_mutex_lock(&closed_lock);
	while (n < n_closed && closed[n].until_ns <= now)
		n++;
	due = n ? malloc(n * sizeof(*due)) : NULL;
	if (due) {
		memcpy(due, closed, n * sizeof(*due));
		memmove(closed, closed + n, (n_closed - n) * sizeof(*closed));
		n_closed -= n;
	}
	pthread_mutex_unlock(&closed_lock);
	for (i = 0; due && i < n && rc >= 0; i++) {
		if (due[i].verified) {
			rc = gatemap_verified_forget(gm(), &due[i].key);
			gone += rc > 0;
		} else {
			rc = gatemap_pending_forget(gm(), &due[i].key, due[i].stamp);
		}
	}
	if (rc < 0)
		log_error("event=sweep result=fail error=\"%s\"", strerror(-rc));
	free(due);
	return gone;
}

/*
 * The settings as they are now: a failure must be judged by what the
 * operator just set (`aopgate set allowlist on`), so its paths read them
 * afresh, at most once a millisecond: the three questions a refused
 * handshake asks (standing, allowlist, penalty) share one read. The path
 * of every success uses the copy.
 */
#define CFG_FRESH_NS	1000000ull

static struct gate_cfg cfg_now(void)
{
	static __u64 read_ns;
	__u64 now = gatemap_now_ns();

	if (gm() && now - __atomic_load_n(&read_ns, __ATOMIC_RELAXED) >= CFG_FRESH_NS) {
		cfg_refresh(gm());
		__atomic_store_n(&read_ns, now, __ATOMIC_RELAXED);
	}
	return cfg();
}

int gateio_fail(const __u8 src[16], const struct gatemap_penalty_rule *rule,
		enum reason r, __u32 site_id, struct penalty *out)
{
	struct src_key key;
	int rc;

	struct gate_cfg c = cfg_now();

	if (!gm())
		return -1;
	gatemap_src_prefix(&c, src, &key);
	rc = gatemap_fail(gm(), &key, rule, r, site_id, out);
	if (rc < 0) {
		log_error("event=penalty result=fail error=\"%s\"", strerror(-rc));
		return -1;
	}
	return rc;
}

/*
 * A source's standing is renewed at most once a second by each worker: a
 * CDN prefix opens many connections a second, and each renewal costs a
 * lookup, an update and a delete in the maps. Nothing is lost by the
 * wait: standing lasts far longer, and the agent never penalizes a source
 * in standing, so no penalty appears that the delete would have to clear.
 * Per thread, so without a lock.
 */
#define STANDING_MEMO		256
#define STANDING_MEMO_NS	1000000000ull

static __thread struct {
	struct src_key key;
	__u64 at_ns;
} standing_memo[STANDING_MEMO];

static bool standing_fresh(const struct src_key *key, __u64 now, __u64 standing_ns,
			   bool renewed)
{
	__u32 h = 2166136261u;

	for (size_t i = 0; i < sizeof(key->addr); i++)
		h = (h ^ key->addr[i]) * 16777619u;
	h %= STANDING_MEMO;
	if (renewed) {
		standing_memo[h].key = *key;
		standing_memo[h].at_ns = now;
		return true;
	}
	return standing_memo[h].at_ns && !memcmp(&standing_memo[h].key, key, sizeof(*key)) &&
	       now - standing_memo[h].at_ns < STANDING_MEMO_NS &&
	       now - standing_memo[h].at_ns < standing_ns / 4;
}

void gateio_succeed(const __u8 src[16], __u64 standing_ns)
{
	struct gate_cfg c = cfg();
	struct src_key key;
	__u64 now;
	int rc;

	if (!gm())
		return;
	gatemap_src_prefix(&c, src, &key);
	now = gatemap_now_ns();
	if (standing_fresh(&key, now, standing_ns, false))
		return;
	rc = gatemap_succeed(gm(), &key, standing_ns);
	if (rc < 0)
		log_error("event=standing result=fail error=\"%s\"", strerror(-rc));
	else
		standing_fresh(&key, now, standing_ns, true);
}

bool gateio_in_standing(const __u8 src[16])
{
	struct gate_cfg c = cfg_now();
	struct src_key key;

	if (!gm())
		return false;
	gatemap_src_prefix(&c, src, &key);
	return gatemap_in_standing(gm(), &key) > 0;
}

bool gateio_allowlisted(const __u8 src[16])
{
	struct allow_key ak = { .prefixlen = 128 };
	__u8 one;

	if (!gm() || !(cfg_now().flags & GATE_F_ALLOWLIST))
		return false;
	memcpy(ak.addr, src, sizeof(ak.addr));
	return bpf_map_lookup_elem(gatemap_fd(gm(), GM_ALLOW_SRC), &ak, &one) == 0;
}

bool gateio_budget_spent(const struct flow_key *key)
{
	struct gate_cfg c = cfg_now();
	struct pending_flow pf;
	struct flow_key4 k4;
	const void *mkey;

	if (!gm() ||
	    bpf_map_lookup_elem(gatemap_flow_fd(gm(), GM_PENDING, key, &k4, &mkey), mkey, &pf))
		return false;
	return pf.packets > c.pending_max_packets || pf.bytes > c.pending_max_bytes;
}

int gateio_sweep(bool all)
{
	int rc;

	if (!gm())
		return -1;
	cfg_refresh(gm());
	closed_sweep();
	rc = gatemap_sweep(gm(), all);
	if (rc < 0)
		log_error("event=sweep result=fail error=\"%s\"", strerror(-rc));
	return rc;
}

int gateio_tick(void)
{
	static unsigned int ticks;
	bool lost;

	if (!gm())
		return -1;
	pthread_mutex_lock(&closed_lock);
	lost = closed_lost;
	closed_lost = false;
	pthread_mutex_unlock(&closed_lock);
	if (lost || ++ticks % GATEIO_WALK_EVERY == 0)
		return gateio_sweep(false);
	cfg_refresh(gm());
	return closed_sweep();
}

int gateio_renew(void)
{
	__u64 lease = __atomic_load_n(&lease_ns, __ATOMIC_RELAXED);
	struct flow_key *keys;
	size_t n;
	int rc, renewed = 0;

	if (!gm())
		return -1;
	rc = gatemap_open_flows(gm(), &keys, &n);
	for (size_t i = 0; i < n && rc >= 0; i++) {
		pthread_mutex_lock(&flow_lock);
		rc = gatemap_renew(gm(), &keys[i], lease);
		pthread_mutex_unlock(&flow_lock);
		renewed += rc > 0;
	}
	free(keys);
	if (rc < 0) {
		log_error("event=lease result=fail renewed=%d error=\"%s\"", renewed,
			  strerror(-rc));
		return -1;
	}
	return renewed;
}

/*
 * Renews leases on a thread of its own, so that neither a busy worker nor
 * the main thread (a reload reading files, a drain waiting for
 * connections) delays it. A pass that comes late is logged: the flows it
 * renews stayed open for the lease minus the delay.
 */
static void *lease_loop(void *arg)
{
	__u64 last = gatemap_now_ns();

	(void)arg;
	/* It writes maps through descriptors it already holds: no privilege. */
	privs_drop_thread();
	for (;;) {
		__u64 lease = __atomic_load_n(&lease_ns, __ATOMIC_RELAXED);
		__u64 every = lease / GATEIO_RENEWALS, now;
		struct timespec ts = { .tv_sec = every / 1000000000ull,
				       .tv_nsec = every % 1000000000ull };

		nanosleep(&ts, NULL);
		now = gatemap_now_ns();
		if (now - last > 2 * every)
			log_warn("event=lease note=\"renewal %.1fs late; open flows lapse %.0fs after "
				 "the last one\"", (now - last - every) / 1e9, lease / 1e9);
		last = now;
		gateio_renew();
	}
	return NULL;
}

int gateio_lease_start(void)
{
	pthread_t t;
	int rc;

	if (!gm())
		return 0;
	rc = pthread_create(&t, NULL, lease_loop, NULL);
	if (rc) {
		log_error("event=start error=\"cannot start the lease thread: %s\"", strerror(rc));
		return -1;
	}
	pthread_setname_np(t, "aopgated-lease");
	pthread_detach(t);
	return 0;
}

int gateio_stats(struct counter sum[CNT_MAX])
{
	return gm() && gatemap_read_stats(gm(), sum) == 0 ? 0 : -1;
}

void gateio_publish(const struct config *cfg)
{
	struct gate_name old;
	__u32 id;
	int rc = 0;

	__atomic_store_n(&lease_ns, cfg->agent.flow_lease_ns, __ATOMIC_RELAXED);
	if (!gm())
		return;
	for (id = 0; id < REASON_MAX && !rc; id++)
		rc = gatemap_name_put(gm(), GM_REASONS, id, reason_name(id));
	/* Ids are 1-based and dense; a reload with fewer sites clears the rest. */
	for (id = 1; id <= cfg->n_sites && id < AOPGATE_MAX_SITES && !rc; id++)
		rc = gatemap_name_put(gm(), GM_SITES, id, config_site_by_id(cfg, id)->name);
	for (; id < AOPGATE_MAX_SITES && !rc; id++) {
		if (bpf_map_lookup_elem(gatemap_fd(gm(), GM_SITES), &id, &old) || !old.name[0])
			break;
		rc = gatemap_name_put(gm(), GM_SITES, id, NULL);
	}
	if (rc < 0)
		log_error("event=maps result=fail error=\"cannot publish names: %s\"",
			  strerror(-rc));
}
