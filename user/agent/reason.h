/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Why a connection ended: one enum for the handshake outcome and for the
 * close of a relayed connection. The single close path logs the name and
 * the metrics count by it, so a log line and a counter always agree.
 */
#ifndef AOPGATE_REASON_H
#define AOPGATE_REASON_H

#include <stdbool.h>

enum reason {
	REASON_OK = 0,
	/* Handshake failures; all but the last three count against the source. */
	REASON_NO_CERT,
	REASON_UNKNOWN_CA,
	REASON_EXPIRED,
	REASON_NOT_YET_VALID,
	REASON_REVOKED,
	REASON_BAD_PURPOSE,
	REASON_POLICY_MISMATCH,
	REASON_PIN_MISMATCH,
	REASON_UNKNOWN_SNI,
	REASON_HANDSHAKE_TIMEOUT,
	REASON_PROTOCOL_ERROR,
	REASON_CRL_MISSING,	/* no usable CRL for a CA in the chain: ours to fix */
	REASON_NO_HELLO,	/* closed before a byte of ClientHello: a health check */
	REASON_CLIENT_REFUSED,	/* the client sent an alert: it refused our certificate */
	REASON_N_FAILURES,	/* marks the end of the failures */
	/* Closes of a verified connection: no strike. */
	REASON_UPSTREAM_ERROR = REASON_N_FAILURES,
	REASON_DONE,		/* both sides closed */
	REASON_CLIENT_RESET,
	REASON_IDLE_TIMEOUT,
	REASON_POLICY_CHANGED,	/* a reload no longer admits the certificate */
	REASON_SHUTDOWN,	/* drain deadline passed */
	REASON_OVERLOAD,	/* max_connections */
	REASON_HANDSHAKE_LIMIT,	/* max_handshakes_per_source, at accept */
	REASON_INTERNAL,
	REASON_MAX,
};

/* reason_name(r): the log/metrics name, e.g. "unknown_ca"; "?" if invalid. */
const char *reason_name(enum reason r);

/* reason_is_failure(r): whether r ends a handshake that did not succeed. */
bool reason_is_failure(enum reason r);

/* reason_is_clients_fault(r): a failure that counts towards a penalty. */
bool reason_is_clients_fault(enum reason r);

#endif
