// SPDX-License-Identifier: GPL-2.0-only
/*
 * The byte relay over plain socketpairs: bytes arrive in order after the
 * queued header, a full buffer stops reading (backpressure), an EOF
 * becomes a half-close only after its buffer drained, a reset is
 * reported against the end that failed, and an end whose socket said "not
 * now" waits for its next epoll edge (relay_edge), as the worker calls it.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"
#include "relay.h"

/* client <-> c[1] (relay) ... u[1] (relay) <-> upstream */
static int c[2], u[2];
static struct relay r;

static void pair(int sv[2])
{
	int small = 4096;

	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
}

static void setup(void)
{
	pair(c);
	pair(u);
	relay_init(&r, c[1], NULL);
	r.u.fd = u[1];
}

static void teardown(void)
{
	close(c[0]);
	close(c[1]);
	close(u[0]);
	close(u[1]);
}

/* What the worker does on an epoll edge of fd. */
static enum relay_status edge(int fd)
{
	relay_edge(&r, fd);
	return relay_pump(&r);
}

static ssize_t drain(int fd, char *buf, size_t cap)
{
	ssize_t n, total = 0;

	while ((size_t)total < cap && (n = read(fd, buf + total, cap - total)) > 0)
		total += n;
	return total;
}

static void test_order(void)
{
	char buf[64];
	ssize_t n;

	setup();
	ok(relay_queue(&r, "HDR:", 4) == 0, "a header queues into an empty buffer");
	n = write(c[0], "hello", 5);
	ok(relay_pump(&r) == RELAY_AGAIN && r.cu.len == 9,
	   "before the upstream is ready, client bytes wait behind the header");
	r.u_ready = true;
	edge(u[1]);
	n = drain(u[0], buf, sizeof(buf));
	ok(n == 9 && !memcmp(buf, "HDR:hello", 9), "the upstream gets the header, then the bytes");
	ok(r.in == 9, "bytes delivered to the upstream are counted");
	n = write(u[0], "world", 5);
	edge(u[1]);
	n = drain(c[0], buf, sizeof(buf));
	ok(n == 5 && !memcmp(buf, "world", 5) && r.out == 5, "and back to the client");
	ok(relay_queue(&r, "late", 4) == 0, "queueing into a drained buffer is fine");
	teardown();
}

static void test_backpressure(void)
{
	static char big[256 * 1024], buf[512 * 1024];
	ssize_t sent = 0, n, got;

	setup();
	r.u_ready = true;
	memset(big, 'x', sizeof(big));
	/* The upstream never reads: the relay must stop reading the client. */
	for (int i = 0; i < 200; i++) {
		n = write(c[0], big, sizeof(big));
		if (n > 0)
			sent += n;
		edge(c[1]);
	}
	ok(r.cu.len == RELAY_BUF || r.cu.off + r.cu.len == RELAY_BUF,
	   "with a stuck upstream the buffer fills to its bound and no further");
	n = write(c[0], big, sizeof(big));
	ok(n < 0 && errno == EAGAIN, "the client then blocks: backpressure reaches it");
	got = 0;
	for (int i = 0; i < 10000 && got < sent; i++) {
		got += drain(u[0], buf, sizeof(buf));
		edge(u[1]);
	}
	ok(got == sent, "once the upstream reads, every byte arrives (%zd of %zd)", got, sent);
	teardown();
}

static void test_half_close(void)
{
	char buf[64];
	ssize_t n;

	setup();
	r.u_ready = true;
	n = write(c[0], "last words", 10);
	shutdown(c[0], SHUT_WR);
	ok(relay_pump(&r) == RELAY_AGAIN && r.c.rd_eof && r.u.wr_shut,
	   "a client EOF half-closes the upstream after the bytes before it");
	n = drain(u[0], buf, sizeof(buf));
	ok(n == 10 && read(u[0], buf, 1) == 0, "the upstream reads the bytes, then EOF");
	n = write(u[0], "reply after EOF", 15);
	edge(u[1]);
	n = drain(c[0], buf, sizeof(buf));
	ok(n == 15, "the other direction still flows after the half-close");
	shutdown(u[0], SHUT_WR);
	ok(edge(u[1]) == RELAY_DONE, "both EOFs passed on: done");
	teardown();
}

static void test_reset(void)
{
	setup();
	r.u_ready = true;
	close(u[0]);
	u[0] = -1;
	ok(write(c[0], "data", 4) == 4 && relay_pump(&r) == RELAY_ERR_UPSTREAM,
	   "writing to a vanished upstream is the upstream's error");
	teardown();
}

/*
 * A read that found nothing is not tried again before the end's next
 * edge, and a write that could not go is not either: each retry would be
 * a system call failing the same way, once per pump, on the busy relay.
 */
static void test_wait_for_edge(void)
{
	static char big[64 * 1024];
	char buf[64];
	uint64_t in;
	ssize_t n;

	setup();
	r.u_ready = true;
	relay_pump(&r);
	ok(r.c.rd_wait && r.u.rd_wait, "ends found empty wait for their edge");
	n = write(c[0], "ping", 4);
	relay_pump(&r);
	ok(r.cu.len == 0 && r.in == 0, "bytes that came without an edge yet are not read");
	edge(c[1]);
	n = drain(u[0], buf, sizeof(buf));
	ok(n == 4 && r.in == 4, "the client's edge lets them through");
	/* Fill the upstream's socket until a write cannot go. */
	memset(big, 'y', sizeof(big));
	for (int i = 0; i < 64 && !r.u.wr_wait; i++) {
		n = write(c[0], big, sizeof(big));
		edge(c[1]);
	}
	ok(r.u.wr_wait && r.cu.len > 0, "a write the upstream's socket refused waits for its edge");
	n = drain(u[0], big, sizeof(big));
	in = r.in;
	relay_pump(&r);
	ok(r.in == in, "room alone does not retry it (the edge will say so)");
	edge(u[1]);
	ok(r.in > in, "the upstream's edge retries it");
	teardown();
}

int main(void)
{
	test_order();
	test_backpressure();
	test_half_close();
	test_reset();
	test_wait_for_edge();
	return tap_done();
}
