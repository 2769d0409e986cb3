// SPDX-License-Identifier: GPL-2.0-only
/* The reader process and the agent's side of its socket; see reader.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "config.h"
#include "log.h"
#include "privs.h"
#include "reader.h"

/* How long the agent waits for the reader at start and for each record of a reload. */
#define READER_TIMEOUT_MS 10000
#define READER_NAME_MAX 4096

static int sock = -1;		/* the agent's end */
static pid_t pid = -1;

/* Sends one record, with fd as SCM_RIGHTS when fd >= 0. Returns 0 or -1. */
static int send_rec(int s, uint32_t kind, int err, int rc, const char *name, int fd)
{
	struct reader_rec r = { .kind = kind, .err = err, .rc = rc };
	size_t len = name ? strnlen(name, READER_NAME_MAX) : 0;
	struct iovec iov[2] = { { &r, sizeof(r) }, { (void *)name, len } };
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } c;
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (fd >= 0) {
		struct cmsghdr *h;

		m.msg_control = c.buf;
		m.msg_controllen = sizeof(c.buf);
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	return sendmsg(s, &m, MSG_NOSIGNAL) < 0 ? -1 : 0;
}

/* The reader's answer to a load: every file the configuration reads, as it reads them now. */
static int answer_load(int s, const char *config)
{
	struct files_set *fs = calloc(1, sizeof(*fs));
	struct config *cfg;
	char err[8192];
	int rc = 0;

	if (!fs)
		return send_rec(s, READER_END, ENOMEM, 0, NULL, -1);
	files_record(fs);
	cfg = config_load(config, err, sizeof(err));
	/* A configuration that does not parse fails the agent's parse the same way. */
	if (cfg)
		config_each_path(cfg, files_record_path);
	files_record(NULL);
	config_free(cfg);
	for (size_t i = 0; rc == 0 && i < fs->n_files; i++) {
		const struct files_file *f = &fs->files[i];

		rc = send_rec(s, READER_FILE, f->err, 0, f->path, f->err ? -1 : f->fd);
	}
	for (size_t i = 0; rc == 0 && i < fs->n_globs; i++) {
		const struct files_glob *g = &fs->globs[i];

		rc = send_rec(s, READER_GLOB, 0, g->rc, g->pattern, -1);
		for (size_t j = 0; rc == 0 && j < g->n; j++)
			rc = send_rec(s, READER_MATCH, 0, 0, g->names[j], -1);
	}
	log_info("event=reader request=load files=%zu patterns=%zu", fs->n_files, fs->n_globs);
	files_set_free(fs);
	return rc ? rc : send_rec(s, READER_END, 0, 0, NULL, -1);
}

/* Only descriptor 3 (the socket) stays, besides stdin and stdout on /dev/null and stderr, the log. */
static int descriptors(int fd)
{
	int s = fcntl(fd, F_DUPFD, 3), nul = open("/dev/null", O_RDWR);

	if (s < 0 || nul < 0)
		return -1;
	dup2(nul, 0);
	dup2(nul, 1);
	if (nul > 2 && nul != s)
		close(nul);
	if (s != 3 && dup2(s, 3) < 0)
		return -1;
	return close_range(4, ~0U, 0);
}

static void __attribute__((noreturn)) reader_main(int fd, const char *config,
						   const char *user, pid_t parent)
{
	sigset_t none;
	char req[64];

	prctl(PR_SET_NAME, "aopgated-reader", 0, 0, 0);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* A reload is the agent's signal; the reader answers only its socket. */
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (descriptors(fd) < 0) {
		log_error("event=reader error=\"cannot set up descriptors: %s\"", strerror(errno));
		_exit(1);
	}
	if (privs_reader(user) < 0)
		_exit(1);
	/*
	 * Dies with the agent, even one killed with -9. Set after the change
	 * of user, which clears it; the agent may have died before.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || getppid() != parent)
		_exit(1);
	req[0] = READER_READY;
	if (send(3, req, 1, MSG_NOSIGNAL) != 1)
		_exit(1);
	for (;;) {
		ssize_t n = recv(3, req, sizeof(req), 0);
		char q[200];

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(0);	/* the agent is gone */
		if (n == 1 && req[0] == READER_LOAD) {
			if (answer_load(3, config) < 0)
				_exit(1);
			continue;
		}
		req[n == sizeof(req) ? n - 1 : n] = '\0';
		log_warn("event=reader result=refused request=%s note=\"only a reload's files, "
			 "as the configuration names them, are served\"",
			 log_quote(req, q, sizeof(q)));
		if (send_rec(3, READER_END, EPERM, 0, NULL, -1) < 0)
			_exit(1);
	}
}

int reader_start(const char *config, const char *user)
{
	pid_t parent = getpid();
	struct pollfd p;
	int sv[2];
	char c = 0;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("event=reader error=\"socketpair: %s\"", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		log_error("event=reader error=\"fork: %s\"", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0)
		reader_main(sv[1], config, user, parent);
	close(sv[1]);
	sock = sv[0];
	p = (struct pollfd){ .fd = sock, .events = POLLIN };
	if (poll(&p, 1, READER_TIMEOUT_MS) != 1 || recv(sock, &c, 1, 0) != 1 ||
	    c != READER_READY) {
		/* The reader logged why, unless it hung. */
		log_error("event=start error=\"the reader process did not start\"");
		close(sock);
		sock = -1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
		return -1;
	}
	log_info("event=reader pid=%d user=%s note=\"opens reloads' files with "
		 "CAP_DAC_READ_SEARCH\"", (int)pid, user);
	return 0;
}

/* The reader is not asked again: closing its socket ends it, if it still runs. */
static void reader_lost(void)
{
	if (sock >= 0)
		close(sock);
	sock = -1;
	reader_check();
}

/* One record into fs. Returns 1 at the end, 0 for more, -1 with err set. */
static int recv_rec(struct files_set *fs, char *err, size_t errlen)
{
	char buf[sizeof(struct reader_rec) + READER_NAME_MAX + 1];
	union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } c;
	struct iovec iov = { buf, sizeof(buf) - 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf,
			    .msg_controllen = sizeof(c.buf) };
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct cmsghdr *h;
	struct reader_rec r;
	int fd = -1, rc;
	ssize_t n;

	rc = poll(&p, 1, READER_TIMEOUT_MS);
	if (rc == 0) {
		snprintf(err, errlen, "the reader process did not answer within %d s",
			 READER_TIMEOUT_MS / 1000);
		return -1;
	}
	n = rc < 0 ? -1 : recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0) {
		snprintf(err, errlen, "the reader process is gone (%s)",
			 n < 0 ? strerror(errno) : "it closed its socket");
		return -1;
	}
	h = CMSG_FIRSTHDR(&m);
	if (h && h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS &&
	    h->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(h), sizeof(int));
	if ((size_t)n < sizeof(r) || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		snprintf(err, errlen, "the reader process sent a malformed record");
		return -1;
	}
	memcpy(&r, buf, sizeof(r));
	buf[n] = '\0';
	switch (r.kind) {
	case READER_FILE:
		rc = files_set_file(fs, buf + sizeof(r), r.err, fd);
		fd = -1;
		break;
	case READER_GLOB:
		rc = files_set_glob(fs, buf + sizeof(r), r.rc);
		break;
	case READER_MATCH:
		rc = files_set_match(fs, buf + sizeof(r));
		break;
	case READER_END:
		if (r.err) {
			snprintf(err, errlen, "the reader process refused: %s", strerror(r.err));
			rc = -1;
			break;
		}
		return 1;
	default:
		snprintf(err, errlen, "the reader process sent a record of unknown kind %u",
			 r.kind);
		rc = -1;
	}
	if (fd >= 0)
		close(fd);
	if (rc < 0 && !*err)
		snprintf(err, errlen, "out of memory reading the reader's answer");
	return rc < 0 ? -1 : 0;
}

struct files_set *reader_fetch(char *err, size_t errlen)
{
	struct files_set *fs;
	char req = READER_LOAD;
	int rc = 0;

	*err = '\0';
	if (sock < 0) {
		snprintf(err, errlen, "the reader process is gone");
		return NULL;
	}
	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (send(sock, &req, 1, MSG_NOSIGNAL) != 1) {
		snprintf(err, errlen, "the reader process is gone (%s)", strerror(errno));
		rc = -1;
	}
	while (rc == 0)
		rc = recv_rec(fs, err, errlen);
	if (rc < 0) {
		/* Mid-answer, the next request would read this one's rest. */
		reader_lost();
		files_set_free(fs);
		return NULL;
	}
	return fs;
}

void reader_check(void)
{
	int st;

	if (pid < 0 || waitpid(pid, &st, WNOHANG) != pid)
		return;
	if (WIFSIGNALED(st))
		log_error("event=reader result=fail pid=%d signal=%d note=\"reloads fail until "
			  "aopgated is restarted\"", (int)pid, WTERMSIG(st));
	else
		log_error("event=reader result=fail pid=%d status=%d note=\"reloads fail until "
			  "aopgated is restarted\"", (int)pid, WEXITSTATUS(st));
	pid = -1;
	if (sock >= 0)
		close(sock);
	sock = -1;
}
