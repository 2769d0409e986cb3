/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Expiry dates of the certificates a configuration names, for /metrics:
 * each site's server certificates and the earliest notAfter of its client
 * CA bundle, read when a configuration is loaded, not per scrape; and the
 * certificate each site's last verified puller presented.
 */
#ifndef AOPGATE_CERTINFO_H
#define AOPGATE_CERTINFO_H

#include <stdio.h>
#include <openssl/x509.h>
#include "config.h"

/* certinfo_update(cfg): replaces the dates with cfg's. Files that do not read are left out. */
void certinfo_update(const struct config *cfg);

/*
 * certinfo_puller(site, cert): cert verified a puller of site just now; its
 * notAfter is the site's puller certificate expiry from now on.
 */
void certinfo_puller(const char *site, const X509 *cert);

/* certinfo_render(f): the aopgate_*_not_after_seconds families as exposition text. */
void certinfo_render(FILE *f);

#endif
