// SPDX-License-Identifier: GPL-2.0-only
/* Names of the connection outcomes; see reason.h. */
#include "reason.h"

static const char *const reason_names[REASON_MAX] = {
	[REASON_OK] = "ok",
	[REASON_NO_CERT] = "no_cert",
	[REASON_UNKNOWN_CA] = "unknown_ca",
	[REASON_EXPIRED] = "expired",
	[REASON_NOT_YET_VALID] = "not_yet_valid",
	[REASON_REVOKED] = "revoked",
	[REASON_BAD_PURPOSE] = "bad_purpose",
	[REASON_POLICY_MISMATCH] = "policy_mismatch",
	[REASON_PIN_MISMATCH] = "pin_mismatch",
	[REASON_UNKNOWN_SNI] = "unknown_sni",
	[REASON_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[REASON_PROTOCOL_ERROR] = "protocol_error",
	[REASON_CRL_MISSING] = "crl_missing",
	[REASON_NO_HELLO] = "no_hello",
	[REASON_CLIENT_REFUSED] = "client_refused",
	[REASON_UPSTREAM_ERROR] = "upstream_error",
	[REASON_DONE] = "done",
	[REASON_CLIENT_RESET] = "client_reset",
	[REASON_IDLE_TIMEOUT] = "idle_timeout",
	[REASON_POLICY_CHANGED] = "policy_changed",
	[REASON_SHUTDOWN] = "shutdown",
	[REASON_OVERLOAD] = "overload",
	[REASON_HANDSHAKE_LIMIT] = "handshake_limit",
	[REASON_INTERNAL] = "internal",
};

const char *reason_name(enum reason r)
{
	return (unsigned)r < REASON_MAX && reason_names[r] ? reason_names[r] : "?";
}

bool reason_is_failure(enum reason r)
{
	return r > REASON_OK && r < REASON_N_FAILURES;
}

bool reason_is_clients_fault(enum reason r)
{
	return reason_is_failure(r) && r != REASON_NO_HELLO && r != REASON_CLIENT_REFUSED &&
	       r != REASON_CRL_MISSING;
}
