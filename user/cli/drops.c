// SPDX-License-Identifier: GPL-2.0-only
/* `aopgate drops`; see drops.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <bpf/libbpf.h>

#include "addr.h"
#include "cli.h"
#include "drops.h"
#include "gatemap.h"

const char *drops_time_str(__u64 mono_ns, char *buf, size_t len)
{
	struct timespec rt;
	__u64 now = gatemap_now_ns(), wall_ns;
	time_t sec;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &rt);
	wall_ns = (__u64)rt.tv_sec * 1000000000ull + rt.tv_nsec;
	wall_ns -= now > mono_ns ? now - mono_ns : 0;
	sec = wall_ns / 1000000000ull;
	gmtime_r(&sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03lluZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned long long)(wall_ns % 1000000000ull / 1000000));
	return buf;
}

static const char *proto_name(__u8 proto)
{
	switch (proto) {
	case IPPROTO_TCP:
		return "tcp";
	case IPPROTO_UDP:
		return "udp";
	case 0:
		return "-";
	default:
		return "other";
	}
}

static int print_event(void *ctx, void *data, size_t size)
{
	const struct gate_event *ev = data;
	bool json = *(bool *)ctx;
	char t[40], src[ADDR_PORT_STRLEN];

	if (size < sizeof(*ev))
		return 0;
	drops_time_str(ev->time_ns, t, sizeof(t));
	if (json) {
		printf("{\"time\": \"%s\", \"source\": \"%s\"", t,
		       addr_str(ev->saddr, src, sizeof(src)));
		printf(", \"sport\": %u, \"dport\": %u, \"proto\": \"%s\", \"verdict\": \"%s\", "
		       "\"monitor\": %s}\n", ntohs(ev->sport), ntohs(ev->dport),
		       proto_name(ev->proto), gatemap_counter_name(ev->counter),
		       ev->flags & GATE_EV_F_MONITOR ? "true" : "false");
	} else {
		addr_port_str(ev->saddr, ntohs(ev->sport), src, sizeof(src));
		printf("%s %-47s port %-5u %-5s %s\n", t, src, ntohs(ev->dport),
		       proto_name(ev->proto), gatemap_counter_name(ev->counter));
	}
	/* A pipe reader (jq, grep) sees each event as it comes. */
	fflush(stdout);
	return 0;
}

int drops_run(const char *pin_root, bool follow, bool json)
{
	struct ring_buffer *rb = NULL;
	struct gatemap *gm;
	struct gate_cfg cfg;
	char err[256];
	int ret = -1, rc;

	gm = gatemap_open(pin_root, err, sizeof(err));
	if (!gm) {
		cli_err("%s", err);
		return -1;
	}
	if (!gatemap_read_cfg(gm, &cfg) && !cfg.events_rate)
		fprintf(stderr, "aopgate: note: events_rate is 0, the gate sends no drop "
				"events; 'aopgate set events_rate 100' turns them on\n");
	rb = ring_buffer__new(gatemap_fd(gm, GM_EVENTS), print_event, &json, NULL);
	if (!rb) {
		cli_err("cannot read the events ring buffer: %s", strerror(errno));
		goto out;
	}
	if (!follow) {
		rc = ring_buffer__consume(rb);
		if (rc < 0) {
			cli_err("cannot read the events ring buffer: %s", strerror(-rc));
			goto out;
		}
		ret = 0;
		goto out;
	}
	cli_catch_stop();
	while (!cli_stopped()) {
		rc = ring_buffer__poll(rb, 500);
		if (rc < 0 && rc != -EINTR) {
			cli_err("cannot read the events ring buffer: %s", strerror(-rc));
			goto out;
		}
	}
	ret = 0;
out:
	ring_buffer__free(rb);
	gatemap_close(gm);
	return ret;
}
