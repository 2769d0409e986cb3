/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ABI between the gate program and userspace: map keys and values,
 * counter ids, port roles, configuration flags and pin names. The BPF
 * object and userspace both compile against this one header and the
 * kernel's uapi <linux/types.h>, so a layout exists exactly once.
 */
#ifndef AOPGATE_H
#define AOPGATE_H

#include <linux/types.h>

#define AOPGATE_PIN_ROOT "/sys/fs/bpf/aopgate"

/* Pin names of the maps under the pin root; equal to the map names. */
#define AOPGATE_MAP_VERIFIED  "verified"
#define AOPGATE_MAP_PENDING   "pending"
#define AOPGATE_MAP_PENALTY   "penalty"
#define AOPGATE_MAP_ALLOW_SRC "allow_src"
#define AOPGATE_MAP_SYN_RL    "syn_rl"
#define AOPGATE_MAP_PORTS     "ports"
#define AOPGATE_MAP_GATE_CFG  "gate_cfg"
#define AOPGATE_MAP_STATS     "stats"
#define AOPGATE_MAP_STANDING  "standing"
#define AOPGATE_MAP_DENY      "deny"
#define AOPGATE_MAP_EVENTS    "events"
#define AOPGATE_MAP_SITES     "sites"
#define AOPGATE_MAP_REASONS   "reasons"
#define AOPGATE_MAP_HANDSHAKES "handshakes"
/* verified and pending for IPv4 flows, keyed by struct flow_key4. */
#define AOPGATE_MAP_VERIFIED4 "verified4"
#define AOPGATE_MAP_PENDING4  "pending4"

/* Default map sizes; `aopgate attach` can change them. */
#define AOPGATE_DEF_MAX_VERIFIED  (1u << 20)
#define AOPGATE_DEF_MAX_PENDING   (1u << 18)
#define AOPGATE_DEF_MAX_PENALTY   (1u << 18)
#define AOPGATE_DEF_MAX_SYN_RL    (1u << 18)
#define AOPGATE_DEF_MAX_ALLOW     (1u << 16)
#define AOPGATE_DEF_MAX_STANDING  (1u << 16)
#define AOPGATE_DEF_MAX_DENY      (1u << 16)
/* The drop events' ring: about 6,500 events, a minute at the default rate. */
#define AOPGATE_EVENTS_BYTES      (256u * 1024)
/* Names the agent publishes: site ids are 1-based, reason ids small. */
#define AOPGATE_MAX_SITES         1024
#define AOPGATE_MAX_REASONS       64
#define AOPGATE_NAME_LEN          64

/*
 * Default runtime knobs, written to gate_cfg at first attach. The pending
 * budget fits a 64 KB client certificate chain sent at MTU 576 (about 120
 * full segments) and a ClientHello sent a byte a segment, with room for
 * the ACKs of the server's flight.
 */
#define AOPGATE_DEF_PENDING_PACKETS 1024
#define AOPGATE_DEF_PENDING_BYTES   (256u * 1024)
#define AOPGATE_DEF_PENDING_AGE_NS  (15ull * 1000000000ull)
#define AOPGATE_DEF_SYN_RATE        100 /* SYNs per second per source prefix */
#define AOPGATE_DEF_SYN_BURST       200
/* Sources in good standing (a recent verified handshake): a CDN edge. */
#define AOPGATE_DEF_SYN_RATE_TRUSTED  10000
#define AOPGATE_DEF_SYN_BURST_TRUSTED 10000
/* Penalties and standing cover the source's /32 (IPv4) or /64 (IPv6). */
#define AOPGATE_DEF_PENALTY_PREFIX4 32
#define AOPGATE_DEF_PENALTY_PREFIX6 64
/* Drop events per second, all CPUs together (0: none). */
#define AOPGATE_DEF_EVENTS_RATE     100

/*
 * A TCP flow as the origin sees it arrive: source is the client. Addresses
 * are 16 bytes, IPv4 as v4-mapped IPv6 (::ffff:a.b.c.d), ports in network
 * byte order. Padding is explicit and must be zero.
 */
struct flow_key {
	__u8 saddr[16];
	__u8 daddr[16];
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

/*
 * The same flow when it is IPv4 and TCP, the key of verified4 and
 * pending4: 12 bytes where flow_key has 40, so the gate's hash of the key
 * and its compare in the bucket cost a third. verified and pending hold
 * the IPv6 flows.
 */
struct flow_key4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
};

/* Flags of a verified flow, for the listings; the gate ignores them. */
enum verified_flags {
	/* Admitted by verify = optional without a verified certificate. */
	VERIFIED_F_UNVERIFIED = 1u << 0,
	/*
	 * The agent's connection is open: expires_ns is its lease, which
	 * the agent renews while it runs (flow_lease), so the flows of an
	 * agent that died stop passing by themselves. Cleared on close,
	 * when expires_ns becomes the linger.
	 */
	VERIFIED_F_OPEN = 1u << 1,
};

/* Times are CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns). */
struct verified_flow {
	__u64 verified_ns;
	/*
	 * The flow passes until then. 0 never expires: aopgated always
	 * writes a lease, but the gate keeps passing such entries so that
	 * re-attaching a newer gate under a running older agent cuts no flow.
	 */
	__u64 expires_ns;
	__u32 site_id;
	__u32 flags;		/* enum verified_flags */
	__u8 cert_id[8];	/* first 8 bytes of the certificate's SHA-256 */
	__u64 packets;		/* counted by the gate */
	__u64 bytes;
};

struct pending_flow {
	__u64 first_seen_ns;
	__u32 packets;
	__u32 bytes;		/* frame bytes, saturating */
};

/*
 * Key of penalty and standing: the source's prefix (penalty_prefix4 or
 * penalty_prefix6 of gate_cfg), host bits zero; of syn_rl: its /32 or
 * /64. 16 bytes, v4-mapped for IPv4.
 */
struct src_key {
	__u8 addr[16];
};

/* until_ns of a penalty that never ends (an operator's `deny add`). */
#define AOPGATE_FOREVER (~0ull)

/*
 * A source's record of failed handshakes. It is penalized (its SYNs are
 * dropped while now < until_ns) once it failed penalty_after times within
 * penalty_window with no success; strikes count the penalties, each
 * doubling the last. Written by the agent only.
 */
struct penalty {
	__u64 until_ns;		/* 0: failures counted, not (yet) penalized */
	__u32 strikes;
	__u32 fails;		/* failures since window_ns */
	__u64 window_ns;	/* when the current run of failures began */
	/* The last failure, for `aopgate deny list`: why, where and when. */
	__u64 last_ns;
	__u32 last_reason;	/* the agent's reason id; its name in reasons */
	__u32 last_site;	/* site id (0: none chosen yet); its name in sites */
};

/* A source prefix that completed a verified handshake recently. */
struct standing {
	__u64 since_ns;		/* first verified handshake of this run */
	__u64 until_ns;		/* in good standing while now < until_ns */
};

/* Who wrote a deny: each writer removes only its own. */
enum deny_origin {
	DENY_OPERATOR = 0,	/* `aopgate deny add` */
	DENY_CROWDSEC = 1,	/* aopgate-bouncer, from a CrowdSec decision */
};

/*
 * A deny of a source CIDR, keyed like allow_src: an operator's (`aopgate
 * deny add`) or a CrowdSec ban the bouncer copied in.
 */
struct deny {
	__u64 added_ns;
	__u64 until_ns;		/* AOPGATE_FOREVER: until deleted */
	__u32 origin;		/* enum deny_origin */
	__u32 pad;
};

/* LPM key of allow_src: prefixlen counts over the 128-bit mapped address. */
struct allow_key {
	__u32 prefixlen;
	__u8 addr[16];
};

/*
 * SYN rate limit per source prefix (/32 for IPv4, /64 for IPv6), a token
 * bucket kept in its GCRA form: one "theoretical arrival time" per prefix.
 */
struct syn_bucket {
	__u64 tat_ns;
};

enum port_role {
	PORT_NONE = 0,
	PORT_GATE = 1,		/* the agent listens here */
	PORT_BACKEND = 2,	/* the origin app: never from the NIC */
};

/* Value of ports, indexed by port number in host byte order. */
struct port_cfg {
	__u32 role;
};

enum gate_mode {
	GATE_ENFORCE = 0,
	GATE_MONITOR = 1,
};

enum gate_flags {
	GATE_F_ALLOWLIST = 1u << 0,	/* drop GATE traffic from sources outside allow_src */
	GATE_F_FRAG_PASS = 1u << 1,	/* pass unclassifiable TCP (fragments, ext chains) */
	GATE_F_DENY = 1u << 2,		/* deny has entries: look sources up there */
};

struct gate_cfg {
	__u32 mode;			/* enum gate_mode */
	__u32 flags;			/* enum gate_flags */
	__u32 pending_max_packets;
	__u32 pending_max_bytes;
	__u64 pending_max_age_ns;
	__u64 syn_rate;			/* per second; 0 admits no SYN */
	__u64 syn_burst;
	__u64 syn_rate_trusted;		/* the same, for sources in good standing */
	__u64 syn_burst_trusted;
	__u32 penalty_prefix4;		/* 1..32: the prefix a penalty covers */
	__u32 penalty_prefix6;		/* 1..128 */
	__u32 events_rate;		/* drop events per second; 0: none */
	/* SYN cookies (bpf/syncookie.h); the key and readiness are attach's. */
	__u32 syncookies;		/* enum gate_syncookies */
	__u32 syncookie_ready;		/* attach: the kernel takes the gate's cookie ACKs */
	__u32 syncookie_sysctl;		/* attach set tcp_syncookies: its old value + 1 */
	__u64 syncookie_rate;		/* auto: GATE SYNs per second that turn cookies on */
	__u64 syncookie_key[2];		/* SipHash key, random, written by attach */
};

enum gate_syncookies {
	GATE_SC_OFF = 0,		/* SYNs go up to the kernel (pending at the SYN) */
	GATE_SC_ON = 1,			/* every SYN that passes the source checks */
	GATE_SC_AUTO = 2,		/* while GATE SYNs exceed syncookie_rate */
};

/*
 * The mode the first attach picks where the kernel side is ready: on, so
 * that a flood never has to win a race against a threshold first; the
 * connection keeps its options, so it is as good as any.
 */
#define AOPGATE_DEF_SYNCOOKIES GATE_SC_ON
/* Default auto threshold: all GATE ports together, every source. */
#define AOPGATE_DEF_SYNCOOKIE_RATE 2000

/*
 * Global SYN load for syncookies auto (one entry, not pinned: it is the
 * loaded program's): a one-second window's count, and until when cookies
 * stay on once the rate was exceeded.
 */
struct syn_load {
	__u64 window_ns;
	__u64 count;
	__u64 active_until_ns;
};

/*
 * Counters, one per verdict row: the one list the enum, the names the CLI
 * and the metrics print, and the would-drop twins all come from. Every
 * drop reason has a would-drop twin at the same offset from
 * CNT_WOULD_DROP_BASE, counted instead of the drop in monitor mode.
 */
#define AOPGATE_PASS_COUNTERS(X)					\
	X(PASS_OTHER, "pass-other")	/* no protected port involved */	\
	X(PASS_VERIFIED, "pass-verified")					\
	X(PASS_PENDING, "pass-pending")					\
	X(PASS_SYN, "pass-syn")						\
	X(SYNCOOKIE_SENT, "syncookie-sent") /* answered, not passed up */	\
	X(SYNCOOKIE_OK, "syncookie-ok")

#define AOPGATE_DROP_COUNTERS(X)					\
	X(DROP_BACKEND, "drop-backend")					\
	X(DROP_PENALTY, "drop-penalty")					\
	X(DROP_NOT_ALLOWED, "drop-not-allowed")				\
	X(DROP_BUDGET, "drop-budget")					\
	X(DROP_RATELIMIT, "drop-ratelimit")				\
	X(DROP_UNKNOWN, "drop-unknown")					\
	X(DROP_FRAGMENT, "drop-fragment")				\
	X(DROP_MALFORMED, "drop-malformed")				\
	X(DROP_NON_TCP, "drop-non-tcp")					\
	X(DROP_DENIED, "drop-denied")					\
	X(DROP_SYNCOOKIE, "syncookie-bad")

#define AOPGATE_CNT_ID(id, name) CNT_##id,
#define AOPGATE_CNT_WOULD_ID(id, name) CNT_WOULD_##id,

enum counter_id {
	AOPGATE_PASS_COUNTERS(AOPGATE_CNT_ID)
	AOPGATE_DROP_COUNTERS(AOPGATE_CNT_ID)
	AOPGATE_DROP_COUNTERS(AOPGATE_CNT_WOULD_ID)
	CNT_MAX,
	CNT_DROP_BASE = CNT_DROP_BACKEND,
	CNT_WOULD_DROP_BASE = CNT_WOULD_DROP_BACKEND,
};

#define CNT_N_DROPS (CNT_WOULD_DROP_BASE - CNT_DROP_BASE)

/* Value of stats (per CPU). */
struct counter {
	__u64 packets;
	__u64 bytes;
};

enum gate_event_flags {
	GATE_EV_F_MONITOR = 1u << 0,	/* monitor mode: the packet passed */
};

/*
 * A sampled drop (or would-drop) in the events ring: at most events_rate
 * a second, so who is dropped can be seen without a per-packet cost.
 * Fields the parser did not reach (a malformed header) are zero.
 */
struct gate_event {
	__u64 time_ns;		/* bpf_ktime_get_ns */
	__u8 saddr[16];		/* v4-mapped for IPv4 */
	__be16 sport;
	__be16 dport;
	__u16 counter;		/* enum counter_id: a drop-* or would-drop-* */
	__u8 flags;		/* enum gate_event_flags */
	__u8 proto;
};

/* A name the agent publishes in sites or reasons, NUL-terminated. */
struct gate_name {
	char name[AOPGATE_NAME_LEN];
};

#endif /* AOPGATE_H */
