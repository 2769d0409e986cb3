// SPDX-License-Identifier: GPL-2.0-only
/* Cache of passed chain verifications per trust store; see verdict.h. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>

#include "policy.h"
#include "verdict.h"

struct verdict_slot {
	unsigned char sha256[32];
	time_t until;			/* 0: empty */
};

struct verdict_cache {
	pthread_mutex_t lock;		/* workers are threads sharing a store */
	struct verdict_slot slot[VERDICT_SLOTS];
};

static int verdict_idx = -1;

static void cache_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
		       void *argp)
{
	struct verdict_cache *vc = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (!vc)
		return;
	pthread_mutex_destroy(&vc->lock);
	free(vc);
}

int verdict_init(void)
{
	if (verdict_idx < 0)
		verdict_idx = X509_STORE_get_ex_new_index(0, "aopgate verdicts", NULL, NULL,
							  cache_free);
	return verdict_idx < 0 ? -1 : 0;
}

int verdict_attach(X509_STORE *store)
{
	struct verdict_cache *vc = calloc(1, sizeof(*vc));

	if (!vc || pthread_mutex_init(&vc->lock, NULL) != 0) {
		free(vc);
		return -1;
	}
	if (X509_STORE_set_ex_data(store, verdict_idx, vc) != 1) {
		cache_free(NULL, vc, NULL, 0, 0, NULL);
		return -1;
	}
	return 0;
}

/* The leaf's slot and digest; NULL when store has no cache. */
static struct verdict_cache *lookup(X509_STORE *store, X509 *leaf, unsigned char d[32],
				    size_t *i)
{
	struct verdict_cache *vc = store && leaf ? X509_STORE_get_ex_data(store, verdict_idx)
						 : NULL;
	unsigned int dl = 32;

	if (!vc || !X509_digest(leaf, EVP_sha256(), d, &dl))
		return NULL;
	memcpy(i, d, sizeof(*i));	/* the digest is uniform: any bytes index */
	*i %= VERDICT_SLOTS;
	return vc;
}

int verdict_known(X509_STORE *store, X509 *leaf)
{
	unsigned char d[32];
	size_t i;
	struct verdict_cache *vc = lookup(store, leaf, d, &i);
	int hit;

	if (!vc)
		return 0;
	pthread_mutex_lock(&vc->lock);
	hit = vc->slot[i].until > time(NULL) && !memcmp(vc->slot[i].sha256, d, 32);
	pthread_mutex_unlock(&vc->lock);
	return hit;
}

void verdict_remember(X509_STORE_CTX *ctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	time_t now = time(NULL), until = now + VERDICT_TTL_S;
	unsigned char d[32];
	size_t i;
	struct verdict_cache *vc = lookup(X509_STORE_CTX_get0_store(ctx),
					  X509_STORE_CTX_get0_cert(ctx), d, &i);

	if (!vc || !chain)
		return;
	for (int j = 0; j < sk_X509_num(chain); j++) {
		int days, secs;

		if (!ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(sk_X509_value(chain, j))))
			return;
		if (days < 0 || secs < 0)
			return;
		if (now + days * 86400L + secs < until)
			until = now + days * 86400L + secs;
	}
	pthread_mutex_lock(&vc->lock);
	memcpy(vc->slot[i].sha256, d, 32);
	vc->slot[i].until = until;
	pthread_mutex_unlock(&vc->lock);
}

int verdict_verify(X509_STORE_CTX *ctx, void *arg)
{
	X509 *leaf = X509_STORE_CTX_get0_cert(ctx);
	X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
	int ok;

	(void)arg;
	if (verdict_known(X509_STORE_CTX_get0_store(ctx), leaf)) {
		X509_STORE_CTX_set_error_depth(ctx, 0);
		X509_STORE_CTX_set_current_cert(ctx, leaf);
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		if (!cb || cb(1, ctx))
			return 1;
		if (X509_STORE_CTX_get_error(ctx) == X509_V_OK)
			X509_STORE_CTX_set_error(ctx, X509_V_ERR_CERT_REJECTED);
		return 0;
	}
	/* A miss is the policy's walk, with its bound on the chain sent. */
	ok = policy_cert_verify(ctx, arg);
	if (ok == 1 && X509_STORE_CTX_get_error(ctx) == X509_V_OK)
		verdict_remember(ctx);
	return ok;
}
