// SPDX-License-Identifier: GPL-2.0-only
/*
 * CrowdSec decisions into deny; see decision.h. The bouncer keeps the
 * decisions it applied (id, CIDR, end): CrowdSec may hold several bans of
 * one CIDR (two scenarios, a manual one), and the deny entry must stay
 * until the last of them is deleted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <bpf/bpf.h>
#include <jansson.h>
#include "addr.h"
#include "decision.h"
#include "gatemap.h"
#include "log.h"

struct applied {
	json_int_t id;
	struct allow_key key;
	uint64_t until_ns;
};

struct decisions {
	bool override_standing;
	struct applied *v;
	size_t n, cap;
	struct decision_counts c;
};

struct decisions *decisions_new(bool override_standing)
{
	struct decisions *ds = calloc(1, sizeof(*ds));

	if (ds)
		ds->override_standing = override_standing;
	return ds;
}

void decisions_free(struct decisions *ds)
{
	if (!ds)
		return;
	free(ds->v);
	free(ds);
}

const struct decision_counts *decisions_counts(const struct decisions *ds)
{
	return &ds->c;
}

int decisions_go_duration(const char *s, uint64_t *ns)
{
	static const struct { const char *unit; double ns; } units[] = {
		/* longest first, so "ms" is not read as "m" */
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 }, { "ms", 1e6 },
		{ "h", 3600e9 }, { "m", 60e9 }, { "s", 1e9 },
	};
	bool neg = false;
	double total = 0;
	char *end;

	if (*s == '-' || *s == '+')
		neg = *s++ == '-';
	if (!*s)
		return -1;
	if (!strcmp(s, "0")) {
		*ns = 0;
		return 0;
	}
	while (*s) {
		double v;
		size_t i;

		if (*s < '0' || *s > '9')
			if (*s != '.')
				return -1;
		v = strtod(s, &end);
		if (end == s)
			return -1;
		s = end;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strncmp(s, units[i].unit, strlen(units[i].unit)))
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return -1;
		total += v * units[i].ns;
		s += strlen(units[i].unit);
	}
	*ns = neg ? 0 : (uint64_t)total;
	return 0;
}

/* The CIDR of a decision: scope Ip (one address) or Range. -1 otherwise. */
static int decision_key(const char *scope, const char *value, struct allow_key *key)
{
	if (!strcasecmp(scope, "ip")) {
		key->prefixlen = 128;
		return addr_parse(value, key->addr);
	}
	if (!strcasecmp(scope, "range"))
		return addr_cidr_parse(value, key);
	return -1;
}

struct standing_walk {
	const struct allow_key *key;
	const struct gate_cfg *cfg;
	uint64_t now;
	bool found;
};

/* Whether a live standing prefix and the decision's CIDR overlap. */
static int standing_overlaps(const void *k, const void *v, void *ctx)
{
	const struct src_key *src = k;
	const struct standing *st = v;
	struct standing_walk *w = ctx;
	struct allow_key sk = { .prefixlen = addr_is_v4(src->addr) ? 96 + w->cfg->penalty_prefix4
								   : w->cfg->penalty_prefix6 };

	if (st->until_ns <= w->now)
		return 0;
	memcpy(sk.addr, src->addr, 16);
	/* Two prefixes overlap when the shorter holds the longer's base. */
	w->found = w->key->prefixlen <= sk.prefixlen ? addr_cidr_contains(w->key, sk.addr)
						     : addr_cidr_contains(&sk, w->key->addr);
	return w->found;
}

/*
 * Whether the CIDR covers a source in good standing: one lookup for an
 * address, a walk of standing for a range. An unreadable map counts as
 * standing, so a doubt never bans the puller.
 */
static bool covers_standing(struct gatemap *gm, const struct allow_key *key)
{
	struct gate_cfg cfg;
	struct src_key src;
	struct standing_walk w = { .key = key, .cfg = &cfg, .now = gatemap_now_ns() };

	if (gatemap_read_cfg(gm, &cfg))
		return true;
	if (key->prefixlen == 128) {
		gatemap_src_prefix(&cfg, key->addr, &src);
		return gatemap_in_standing(gm, &src) != 0;
	}
	if (gatemap_each(gm, GM_STANDING, standing_overlaps, &w) < 0)
		return true;
	return w.found;
}

static const char *cidr_str(const struct allow_key *key, char *buf, size_t len)
{
	char a[64];
	bool v4 = addr_is_v4(key->addr);

	addr_str(key->addr, a, sizeof(a));
	if (key->prefixlen == 128)
		snprintf(buf, len, "%s", a);
	else
		snprintf(buf, len, "%s/%u", a, v4 ? key->prefixlen - 96 : key->prefixlen);
	return buf;
}

/* The latest end among the applied decisions of key, 0 when none is left. */
static uint64_t applied_until(const struct decisions *ds, const struct allow_key *key)
{
	uint64_t until = 0;

	for (size_t i = 0; i < ds->n; i++)
		if (!memcmp(&ds->v[i].key, key, sizeof(*key)) && ds->v[i].until_ns > until)
			until = ds->v[i].until_ns;
	return until;
}

static void apply_new(struct decisions *ds, struct gatemap *gm, json_t *d)
{
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *scope = json_string_value(json_object_get(d, "scope"));
	const char *value = json_string_value(json_object_get(d, "value"));
	const char *dur = json_string_value(json_object_get(d, "duration"));
	const char *scenario = json_string_value(json_object_get(d, "scenario"));
	json_int_t id = json_integer_value(json_object_get(d, "id"));
	struct allow_key key;
	uint64_t ns, until;
	char cidr[80];
	int err;

	if (!type || !scope || !value || !dur) {
		ds->c.errors++;
		log_warn("event=crowdsec_decision result=fail error=\"a decision without "
			 "type, scope, value or duration\"");
		return;
	}
	if (strcasecmp(type, "ban") || decision_key(scope, value, &key)) {
		ds->c.skipped++;
		log_debug("event=crowdsec_decision result=skip type=%s scope=%s id=%lld",
			  type, scope, (long long)id);
		return;
	}
	if (decisions_go_duration(dur, &ns)) {
		ds->c.errors++;
		log_warn("event=crowdsec_decision result=fail src=%s error=\"bad duration\"", value);
		return;
	}
	cidr_str(&key, cidr, sizeof(cidr));
	if (!ds->override_standing && covers_standing(gm, &key)) {
		ds->c.spared++;
		log_warn("event=crowdsec_decision result=spared src=%s id=%lld scenario=%s "
			 "note=\"in good standing: reported, not banned\"", cidr, (long long)id,
			 scenario ? scenario : "-");
		return;
	}
	until = gatemap_now_ns() + ns;
	if (applied_until(ds, &key) > until)
		until = applied_until(ds, &key);
	err = gatemap_deny_put(gm, &key, until, DENY_CROWDSEC);
	if (err == -EEXIST) {
		ds->c.skipped++;
		log_info("event=crowdsec_decision result=skip src=%s id=%lld "
			 "note=\"an operator's deny holds this CIDR\"", cidr, (long long)id);
		return;
	}
	if (err) {
		ds->c.errors++;
		log_error("event=crowdsec_decision result=fail src=%s id=%lld error=\"%s\"", cidr,
			  (long long)id, strerror(-err));
		return;
	}
	if (ds->n == ds->cap) {
		size_t cap = ds->cap ? ds->cap * 2 : 64;
		struct applied *v = realloc(ds->v, cap * sizeof(*v));

		if (!v) {
			/* Still banned; its delete finds no record and removes it alone. */
			ds->c.errors++;
			return;
		}
		ds->v = v;
		ds->cap = cap;
	}
	ds->v[ds->n++] = (struct applied){ .id = id, .key = key, .until_ns = gatemap_now_ns() + ns };
	ds->c.applied++;
	log_info("event=crowdsec_decision result=ban src=%s id=%lld duration=%s scenario=%s",
		 cidr, (long long)id, dur, scenario ? scenario : "-");
}

static void apply_deleted(struct decisions *ds, struct gatemap *gm, json_t *d)
{
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *scope = json_string_value(json_object_get(d, "scope"));
	const char *value = json_string_value(json_object_get(d, "value"));
	json_int_t id = json_integer_value(json_object_get(d, "id"));
	struct allow_key key;
	uint64_t until;
	char cidr[80];
	int ret;

	if (!type || !scope || !value || strcasecmp(type, "ban") ||
	    decision_key(scope, value, &key))
		return;
	for (size_t i = 0; i < ds->n; i++)
		if (ds->v[i].id == id && !memcmp(&ds->v[i].key, &key, sizeof(key))) {
			ds->v[i] = ds->v[--ds->n];
			break;
		}
	cidr_str(&key, cidr, sizeof(cidr));
	until = applied_until(ds, &key);
	if (until > gatemap_now_ns()) {
		/* Another ban of the same CIDR goes on: it keeps the deny, to its own end. */
		gatemap_deny_put(gm, &key, until, DENY_CROWDSEC);
		return;
	}
	ret = gatemap_deny_del(gm, &key, DENY_CROWDSEC);
	if (ret < 0) {
		ds->c.errors++;
		log_error("event=crowdsec_decision result=fail src=%s id=%lld error=\"%s\"", cidr,
			  (long long)id, strerror(-ret));
	} else if (ret > 0) {
		ds->c.removed++;
		log_info("event=crowdsec_decision result=unban src=%s id=%lld", cidr, (long long)id);
	}
}

struct stale_walk {
	const struct decisions *ds;	/* NULL: stale means expired */
	uint64_t now;
	struct allow_key *keys;
	size_t n, cap;
};

/* Collects the CrowdSec denies that are over, or that ds no longer holds. */
static int collect_stale(const void *k, const void *v, void *ctx)
{
	const struct deny *d = v;
	struct stale_walk *w = ctx;

	if (d->origin != DENY_CROWDSEC)
		return 0;
	if (w->ds ? applied_until(w->ds, k) > 0 : d->until_ns > w->now)
		return 0;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct allow_key *keys = realloc(w->keys, cap * sizeof(*keys));

		if (!keys)
			return 1;
		w->keys = keys;
		w->cap = cap;
	}
	w->keys[w->n++] = *(const struct allow_key *)k;
	return 0;
}

static int remove_stale(struct gatemap *gm, const struct decisions *ds)
{
	struct stale_walk w = { .ds = ds, .now = gatemap_now_ns() };
	int n = 0;

	gatemap_each(gm, GM_DENY, collect_stale, &w);
	for (size_t i = 0; i < w.n; i++)
		n += gatemap_deny_del(gm, &w.keys[i], DENY_CROWDSEC) > 0;
	free(w.keys);
	return n;
}

int decisions_sweep(struct gatemap *gm)
{
	return remove_stale(gm, NULL);
}

int decisions_apply(struct decisions *ds, struct gatemap *gm, const char *body, bool startup)
{
	json_error_t jerr;
	json_t *root = json_loads(body, 0, &jerr), *list, *d;
	size_t i;
	int n;

	if (!root || !json_is_object(root)) {
		ds->c.errors++;
		log_error("event=crowdsec_sync result=fail error=\"not a decisions stream answer: "
			  "%s\"", root ? "not an object" : jerr.text);
		json_decref(root);
		return -1;
	}
	/* Deleted first: a decision replaced within one interval stays applied. */
	list = json_object_get(root, "deleted");
	json_array_foreach(list, i, d)
		apply_deleted(ds, gm, d);
	list = json_object_get(root, "new");
	json_array_foreach(list, i, d)
		apply_new(ds, gm, d);
	json_decref(root);
	if (startup && (n = remove_stale(gm, ds)) > 0) {
		ds->c.removed += n;
		log_info("event=crowdsec_sync removed=%d note=\"bans CrowdSec no longer holds\"", n);
	}
	return 0;
}
