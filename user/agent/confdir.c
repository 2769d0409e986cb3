// SPDX-License-Identifier: GPL-2.0-only
/*
 * The directive table: every directive's name, section, parser, default
 * and help text, which the parser (config.c) and the documentation writer
 * (confdoc.c, `aopgated -D`) both read; and the names of the enum values.
 */
#include <stddef.h>

#include "aopgate.h"
#include "config.h"
#include "confdir.h"
#include "confval.h"

#define AG(f) SEC_AGENT, offsetof(struct config_agent, f)
#define ST(f) SEC_SITE, offsetof(struct config_site, f)
#define SITE_ITSELF SEC_SITE, 0
#define AGENT_ITSELF SEC_AGENT, 0

const struct config_directive config_dirs[] = {
	{ "listen", confval_listen, AGENT_ITSELF, "0.0.0.0:443, [::]:443", DIR_LIST,
	  "addresses the agent accepts TLS on (the gate ports)" },
	{ "workers", confval_workers, AG(workers), "auto", 0,
	  "event loops: auto (one per core) or a number" },
	{ "pin_root", confval_str, AG(pin_root), AOPGATE_PIN_ROOT, 0,
	  "where `aopgate attach` pinned the gate's maps; off runs without the gate (no pinning, no penalties)" },
	{ "metrics", confval_metrics, AG(metrics), "off", 0,
	  "IP:PORT serving Prometheus text on /metrics, or off" },
	{ "user", confval_user, AG(user), "nobody", 0,
	  "user to switch to after binding and opening the maps (as nginx does), with no "
	  "capability; a reader process, the same user with CAP_DAC_READ_SEARCH alone, "
	  "opens a reload's files; root keeps the agent root in one process, which only "
	  "an explicit user = root does" },
	{ "handshake_timeout", confval_duration, AG(handshake_timeout_ns), "10s", 0,
	  "a handshake not finished by then is closed (handshake_timeout)" },
	{ "idle_timeout", confval_duration, AG(idle_timeout_ns), "300s", 0,
	  "a relayed connection with no bytes either way for this long is closed" },
	{ "linger", confval_duration, AG(linger_ns), "5s", 0,
	  "how long a closed flow stays verified, so its TCP teardown passes" },
	{ "flow_lease", confval_duration, AG(flow_lease_ns), "30s", 0,
	  "an open connection's flow passes the gate this long after the agent last renewed it "
	  "(every fifth of it), so the flows of an agent that died stop passing by themselves; "
	  "from 3s to 1h" },
	{ "drain_timeout", confval_duration, AG(drain_timeout_ns), "25s", 0,
	  "after SIGTERM, connections still open this long are closed "
	  "(below systemd's TimeoutStopSec=30)" },
	{ "max_connections", confval_max_conn, AG(max_connections), "10000", 0,
	  "connections beyond this are closed at accept; an idle handshake holds about 60 kB, "
	  "so the default bounds them at about 0.6 GB: raise it with the memory to match" },
	{ "max_handshakes_per_source", confval_hs_max, AG(max_handshakes_per_source), "100", 0,
	  "unfinished handshakes one IPv4 address or IPv6 /64 may hold; more are closed at accept "
	  "(handshake_limit). Sources in good standing, penalty_exempt or (unless "
	  "penalize_allowed) inside the enforced allowlist are never capped; off: no cap" },
	{ "session_cache", confval_hs_max, AG(session_cache), "8192", 0,
	  "TLS sessions kept for resumption (a returning puller skips the certificate check); "
	  "each holds the client's certificate, about 6 kB, so the default takes up to about "
	  "50 MB; off: every handshake is a full one" },
	{ "penalty_after", confval_count, AG(penalty_after), "3", 0,
	  "failed handshakes within penalty_window (and no success) that penalize a source" },
	{ "penalty_window", confval_duration, AG(penalty_window_ns), "60s", 0,
	  "how long failures count towards penalty_after" },
	{ "penalty", confval_duration, AG(penalty_ns), "10s", 0,
	  "how long a penalized source's new connections are dropped at first; doubles per strike" },
	{ "penalty_max", confval_duration, AG(penalty_max_ns), "1h", 0,
	  "cap of the doubling penalty" },
	{ "penalty_exempt", confval_exempt, AGENT_ITSELF, NULL, DIR_LIST,
	  "CIDRs never penalized (e.g. your own monitors, a TLS scanner)" },
	{ "penalize_allowed", confval_bool, AG(penalize_allowed), "no", 0,
	  "yes: penalize sources inside the gate's enforced allowlist too (no: those are the CDN)" },
	{ "standing", confval_duration, AG(standing_ns), "10m", 0,
	  "a source with a verified handshake this recent is in good standing: its failures "
	  "are logged, never penalized, and the gate admits its SYNs at syn_rate_trusted" },
	{ "allow_insecure_keys", confval_bool, AG(allow_insecure_keys), "no", 0,
	  "yes: accept private keys that group or others may read (no: refuse them, as OpenSSH does)" },
	{ "strict_sni", confval_bool, AG(strict_sni), "no", 0,
	  "yes: refuse a ClientHello whose SNI is missing or matches no site, even with a default site" },
	{ "log_level", confval_log_level, AG(log_level), "info", 0,
	  "error, warn, info or debug" },
	{ "log_format", confval_log_format, AG(log_format), "logfmt", 0,
	  "logfmt (key=value) or json (one object per line, the same keys)" },

	{ "cert", confval_cert, SITE_ITSELF, NULL, DIR_LIST,
	  "server certificate chain (PEM); give twice for an ECDSA and an RSA pair" },
	{ "key", confval_key, SITE_ITSELF, NULL, DIR_LIST,
	  "private key of cert (PEM), in the same order" },
	{ "client_ca", confval_path, ST(client_ca), NULL, 0,
	  "CA bundle client certificates must chain to (required unless verify = off)" },
	{ "crl", confval_path, ST(crl), NULL, 0,
	  "CRLs (PEM) checked for every certificate of the chain" },
	{ "verify", confval_verify, ST(verify), "on", 0,
	  "on | optional | off, like nginx's ssl_verify_client" },
	{ "verify_depth", confval_depth, ST(verify_depth), "2", 0,
	  "maximum intermediate certificates in the client chain" },
	{ "allow_cn", confval_strs, ST(allow_cn), NULL, DIR_LIST,
	  "accepted subject CNs (exact)" },
	{ "allow_san_dns", confval_strs, ST(allow_san_dns), NULL, DIR_LIST,
	  "accepted DNS SANs; \"*.example.com\" matches one label" },
	{ "allow_san_uri", confval_strs, ST(allow_san_uri), NULL, DIR_LIST,
	  "accepted URI SANs (e.g. SPIFFE ids); a trailing /* matches a path prefix" },
	{ "pin_sha256", confval_pins, ST(pin_sha256), NULL, DIR_LIST,
	  "accepted SHA-256 digests of the client certificate (hex)" },
	{ "pin_spki_sha256", confval_pins, ST(pin_spki_sha256), NULL, DIR_LIST,
	  "accepted SHA-256 digests of the client public key (SPKI, hex)" },
	{ "alpn", confval_strs, ST(alpn), NULL, DIR_LIST,
	  "protocols offered by ALPN, in preference order (e.g. h2, http/1.1); none if unset" },
	{ "upstream", confval_upstream, ST(upstream), NULL, 0,
	  "where verified connections go: IP:PORT or tls://HOST:PORT (required)" },
	{ "upstream_h2", confval_upstream, ST(upstream_h2), NULL, 0,
	  "where connections that negotiated ALPN h2 go (h2c, or tls:// h2); "
	  "without it h2 is never offered and every client speaks http/1.1 to upstream" },
	{ "proxy_protocol", confval_pp, ST(proxy_protocol), "off", 0,
	  "off | v1 | v2: header sent to the upstream first; to a tls:// upstream in clear, "
	  "before the ClientHello (nginx ssl proxy_protocol, HAProxy accept-proxy ssl, "
	  "Apache RemoteIPProxyProtocol)" },
	{ "upstream_cert", confval_path, ST(upstream_cert), NULL, 0,
	  "client certificate the agent presents to a tls:// upstream" },
	{ "upstream_key", confval_path, ST(upstream_key), NULL, 0,
	  "key of upstream_cert" },
	{ "upstream_ca", confval_path, ST(upstream_ca), NULL, 0,
	  "CA bundle a tls:// upstream's certificate must chain to (required with tls://)" },
};

const size_t config_n_dirs = sizeof(config_dirs) / sizeof(config_dirs[0]);
#define N_DIRS (sizeof(config_dirs) / sizeof(config_dirs[0]))
_Static_assert(N_DIRS <= 64, "the seen masks hold 64 directives");

const char *config_verify_name(enum config_verify v)
{
	static const char *const n[] = { "on", "optional", "off" };

	return (unsigned)v < 3 ? n[v] : "?";
}

const char *config_pp_name(enum config_pp p)
{
	static const char *const n[] = { "off", "v1", "v2" };

	return (unsigned)p < 3 ? n[p] : "?";
}
