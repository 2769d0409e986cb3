// SPDX-License-Identifier: GPL-2.0-only
/* The running configuration and its swap; see runtime.h. */
#include <pthread.h>
#include <stdlib.h>

#include "runtime.h"

static pthread_mutex_t runtime_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *runtime_cur;
static unsigned int runtime_gen;

struct runtime *runtime_load(const char *path, char *err, size_t errlen)
{
	struct runtime *rt = calloc(1, sizeof(*rt));

	if (!rt)
		return NULL;
	rt->refs = 1;
	rt->cfg = config_load(path, err, errlen);
	if (!rt->cfg)
		goto err;
	rt->tls = tls_build(rt->cfg, err, errlen);
	if (!rt->tls)
		goto err;
	return rt;
err:
	runtime_put(rt);
	return NULL;
}

void runtime_publish(struct runtime *rt)
{
	struct runtime *old;

	pthread_mutex_lock(&runtime_lock);
	old = runtime_cur;
	rt->gen = ++runtime_gen;
	runtime_cur = rt;
	pthread_mutex_unlock(&runtime_lock);
	runtime_put(old);
}

struct runtime *runtime_get(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&runtime_lock);
	rt = runtime_cur;
	if (rt)
		__atomic_add_fetch(&rt->refs, 1, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&runtime_lock);
	return rt;
}

void runtime_put(struct runtime *rt)
{
	if (!rt || __atomic_sub_fetch(&rt->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	tls_free(rt->tls);
	config_free(rt->cfg);
	free(rt);
}

unsigned int runtime_generation(void)
{
	return __atomic_load_n(&runtime_gen, __ATOMIC_ACQUIRE);
}
