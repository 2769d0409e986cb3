// SPDX-License-Identifier: GPL-2.0-only
/* The gate's runtime knobs; see settings.h. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "duration.h"
#include "settings.h"
#include "value.h"

enum kind {
	K_MODE,		/* __u32 enum gate_mode */
	K_U32,
	K_U64,
	K_DURATION,	/* __u64 ns */
	K_FLAG,		/* a bit of flags */
	K_COOKIES,	/* __u32 enum gate_syncookies */
};

static const char *const cookie_modes[] = {
	[GATE_SC_OFF] = "off", [GATE_SC_ON] = "on", [GATE_SC_AUTO] = "auto",
};

struct setting {
	const char *name;
	enum kind kind;
	size_t off;		/* of the field in struct gate_cfg */
	__u32 flag;		/* K_FLAG */
	uint64_t min, max;	/* K_U32, K_U64 */
	uint64_t def;
	const char *help;
};

#define F(f) offsetof(struct gate_cfg, f)

static const struct setting table[] = {
	{ "mode", K_MODE, F(mode), 0, 0, 0, GATE_ENFORCE,
	  "monitor passes every packet and counts what it would drop" },
	{ "syn_rate", K_U64, F(syn_rate), 0, 1, 1000000000, AOPGATE_DEF_SYN_RATE,
	  "SYNs per second admitted per source /32 or /64 (IPv6)" },
	{ "syn_burst", K_U64, F(syn_burst), 0, 1, 1000000000, AOPGATE_DEF_SYN_BURST,
	  "SYNs a quiet source prefix may send at once" },
	{ "syn_rate_trusted", K_U64, F(syn_rate_trusted), 0, 1, 1000000000,
	  AOPGATE_DEF_SYN_RATE_TRUSTED, "syn_rate for a source in good standing" },
	{ "syn_burst_trusted", K_U64, F(syn_burst_trusted), 0, 1, 1000000000,
	  AOPGATE_DEF_SYN_BURST_TRUSTED, "syn_burst for a source in good standing" },
	{ "penalty_prefix4", K_U32, F(penalty_prefix4), 0, 1, 32, AOPGATE_DEF_PENALTY_PREFIX4,
	  "IPv4 prefix length a penalty and standing cover" },
	{ "penalty_prefix6", K_U32, F(penalty_prefix6), 0, 1, 128, AOPGATE_DEF_PENALTY_PREFIX6,
	  "IPv6 prefix length a penalty and standing cover" },
	{ "pending_packets", K_U32, F(pending_max_packets), 0, 1, 1000000,
	  AOPGATE_DEF_PENDING_PACKETS, "packets a flow may send before it is verified" },
	{ "pending_bytes", K_U32, F(pending_max_bytes), 0, 1, UINT32_MAX - 1,
	  AOPGATE_DEF_PENDING_BYTES, "bytes a flow may send before it is verified" },
	{ "pending_age", K_DURATION, F(pending_max_age_ns), 0, 1, UINT64_MAX,
	  AOPGATE_DEF_PENDING_AGE_NS, "how long a flow may stay unverified" },
	{ "events_rate", K_U32, F(events_rate), 0, 0, 1000000, AOPGATE_DEF_EVENTS_RATE,
	  "drop events per second for 'aopgate drops' and 'top' (0: none)" },
	{ "allowlist", K_FLAG, F(flags), GATE_F_ALLOWLIST, 0, 0, 0,
	  "drop GATE traffic from sources outside allow_src" },
	{ "frag_pass", K_FLAG, F(flags), GATE_F_FRAG_PASS, 0, 0, 0,
	  "pass TCP fragments and over-long IPv6 extension chains" },
	{ "syncookies", K_COOKIES, F(syncookies), 0, 0, 0, AOPGATE_DEF_SYNCOOKIES,
	  "answer SYNs with SYN cookies (Linux 6.9+; status: syncookie_ready)" },
	{ "syncookie_rate", K_U64, F(syncookie_rate), 0, 1, 1000000000,
	  AOPGATE_DEF_SYNCOOKIE_RATE, "auto: GATE SYNs per second that turn cookies on" },
};

#define N_SETTINGS (sizeof(table) / sizeof(table[0]))

static void *field(struct gate_cfg *cfg, const struct setting *s)
{
	return (char *)cfg + s->off;
}

static uint64_t get(const struct gate_cfg *cfg, const struct setting *s)
{
	const void *p = (const char *)cfg + s->off;

	switch (s->kind) {
	case K_MODE:
	case K_U32:
	case K_COOKIES:
		return *(const __u32 *)p;
	case K_FLAG:
		return !!(*(const __u32 *)p & s->flag);
	default:
		return *(const __u64 *)p;
	}
}

static void put(struct gate_cfg *cfg, const struct setting *s, uint64_t v)
{
	__u32 *u32 = field(cfg, s);

	switch (s->kind) {
	case K_MODE:
	case K_U32:
	case K_COOKIES:
		*u32 = v;
		break;
	case K_FLAG:
		*u32 = v ? *u32 | s->flag : *u32 & ~s->flag;
		break;
	default:
		*(__u64 *)field(cfg, s) = v;
	}
}

static const char *values(const struct setting *s, char *buf, size_t len)
{
	switch (s->kind) {
	case K_MODE:
		return "monitor|enforce";
	case K_FLAG:
		return "on|off";
	case K_COOKIES:
		return "off|on|auto";
	case K_DURATION:
		return "DURATION";
	default:
		snprintf(buf, len, "%llu..%llu", (unsigned long long)s->min,
			 (unsigned long long)s->max);
		return buf;
	}
}

static const char *format(const struct setting *s, uint64_t v, char *buf, size_t len)
{
	switch (s->kind) {
	case K_MODE:
		return v == GATE_MONITOR ? "monitor" : "enforce";
	case K_FLAG:
		return v ? "on" : "off";
	case K_COOKIES:
		return v <= GATE_SC_AUTO ? cookie_modes[v] : "?";
	case K_DURATION:
		return duration_str(v, buf, len);
	default:
		snprintf(buf, len, "%llu", (unsigned long long)v);
		return buf;
	}
}

static int parse(const struct setting *s, const char *val, uint64_t *v)
{
	bool on;

	switch (s->kind) {
	case K_MODE:
		if (strcmp(val, "monitor") && strcmp(val, "enforce"))
			return -1;
		*v = strcmp(val, "monitor") ? GATE_ENFORCE : GATE_MONITOR;
		return 0;
	case K_FLAG:
		if (value_bool(val, &on))
			return -1;
		*v = on;
		return 0;
	case K_COOKIES:
		for (uint64_t i = 0; i <= GATE_SC_AUTO; i++) {
			if (!strcmp(val, cookie_modes[i])) {
				*v = i;
				return 0;
			}
		}
		return -1;
	case K_DURATION:
		return duration_parse(val, v) || *v < s->min ? -1 : 0;
	default:
		return value_u64(val, s->min, s->max, v);
	}
}

int settings_set(struct gate_cfg *cfg, const char *name, const char *value,
		 char *err, size_t errlen)
{
	char vb[48];
	uint64_t v;

	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &table[i];

		if (strcmp(s->name, name))
			continue;
		if (parse(s, value, &v)) {
			snprintf(err, errlen, "%s is %s, not '%s'", s->name,
				 s->kind == K_DURATION ? "a duration like 500ms, 15s or 1m"
						       : values(s, vb, sizeof(vb)), value);
			return -1;
		}
		/* Without the kernel side, a cookie ACK would be reset. */
		if (s->kind == K_COOKIES && v != GATE_SC_OFF && !cfg->syncookie_ready) {
			snprintf(err, errlen, "syncookies need the kernel side, which is not ready "
				 "(Linux 6.9+; attach says why)");
			return -1;
		}
		put(cfg, s, v);
		return 0;
	}
	snprintf(err, errlen, "unknown setting '%s' (aopgate --help lists them)", name);
	return -1;
}

void settings_defaults(struct gate_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	for (size_t i = 0; i < N_SETTINGS; i++)
		put(cfg, &table[i], table[i].def);
}

void settings_show(FILE *f, const struct gate_cfg *cfg, bool json)
{
	char buf[48];

	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &table[i];
		uint64_t v = get(cfg, s);

		if (!json) {
			fprintf(f, "%-16s %s\n", s->name, format(s, v, buf, sizeof(buf)));
			continue;
		}
		fprintf(f, "%s\"%s%s\": ", i ? ", " : "", s->name,
			s->kind == K_DURATION ? "_ns" : "");
		if (s->kind == K_FLAG)
			fputs(v ? "true" : "false", f);
		else if (s->kind == K_MODE || s->kind == K_COOKIES)
			fprintf(f, "\"%s\"", format(s, v, buf, sizeof(buf)));
		else
			fprintf(f, "%llu", (unsigned long long)v);
	}
}

void settings_usage(FILE *f)
{
	char vb[48], db[48];

	for (size_t i = 0; i < N_SETTINGS; i++) {
		const struct setting *s = &table[i];

		fprintf(f, "    %-18s %s (default %s)\n%23s%s\n", s->name,
			values(s, vb, sizeof(vb)), format(s, s->def, db, sizeof(db)), "",
			s->help);
	}
}
