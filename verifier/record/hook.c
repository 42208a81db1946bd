#define LOG_MODULE "hook"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "record/hook.h"
#include "record/hook_event.h"
#include "clock.h"
#include "log.h"
#include "metrics.h"

/* Output of one run is logged up to this many lines, then read and discarded
 * so a chatty command neither floods the log nor blocks on a full pipe. */
#define HOOK_LOG_LINES 100
#define HOOK_LINE_MAX 512
/* Without a pidfd, how often the worker looks for the child's exit. */
#define HOOK_TICK_MS 20

struct hook_item {
	char *json;       /* one line, "\n"-terminated */
	size_t len;
	char node[65];    /* for log lines only */
};

struct hook {
	char *command;
	uint32_t timeout_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;  /* worker: an item arrived or stopping */
	pthread_cond_t idle;  /* hook_drain: queue empty and nothing running */
	struct hook_item q[HOOK_QUEUE_MAX];
	size_t head, n;
	int running, stopping;
	struct hook_counts counts;
};

/* Outcome of one command run. */
struct hook_run {
	int failed, timed_out, unread;
};

/* Output lines of one run, assembled from pipe reads. */
struct hook_lines {
	pid_t pid;
	char buf[HOOK_LINE_MAX];
	size_t len;
	unsigned logged;
	int truncated_note;
};

/* Copy a caller string for a log line: at most 64 bytes, printable ASCII only. */
static void hook_log_copy(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src && src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* ---- running one command */

static void hook_line_emit(struct hook_lines *l)
{
	if (l->logged < HOOK_LOG_LINES) {
		for (size_t i = 0; i < l->len; i++)
			if ((unsigned char)l->buf[i] < 0x20 || l->buf[i] == 0x7f)
				l->buf[i] = '?';
		l->buf[l->len] = '\0';
		LOG_INFO("hook[%d]: %s", (int)l->pid, l->buf);
	} else if (!l->truncated_note) {
		LOG_INFO("hook[%d]: more than %d lines, the rest is not logged", (int)l->pid, HOOK_LOG_LINES);
		l->truncated_note = 1;
	}
	l->logged++;
	l->len = 0;
}

static void hook_line_feed(struct hook_lines *l, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			hook_line_emit(l);
			continue;
		}
		l->buf[l->len++] = p[i];
		if (l->len == sizeof(l->buf) - 1)
			hook_line_emit(l);
	}
}

/* Read what the pipe holds now. Returns 1 at EOF or error (close it), else 0. */
static int hook_read_out(int fd, struct hook_lines *l)
{
	char buf[4096];

	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n > 0) {
			hook_line_feed(l, buf, (size_t)n);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return !(n < 0 && errno == EAGAIN);
	}
}

/* A pipe whose ends are both >= 3 and close-on-exec: an end at 0-2 (the
 * verifier started with stdio closed) would be overwritten by the child's
 * dup2 of the other pipe before it is duplicated itself. */
static int hook_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	for (int i = 0; i < 2; i++) {
		if (fds[i] < 3) {
			int d = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);

			close(fds[i]);
			fds[i] = d;
		}
	}
	if (fds[0] < 0 || fds[1] < 0) {
		if (fds[0] >= 0)
			close(fds[0]);
		if (fds[1] >= 0)
			close(fds[1]);
		return -1;
	}
	return 0;
}

/* /bin/sh -c command with stdin from in_r, stdout and stderr into out_w, no
 * other descriptor, default signal handling, in a new process group.
 * posix_spawn rather than fork: the verifier runs gRPC threads, and nothing
 * but these actions may run between fork and exec. */
static int hook_spawn(const char *command, int in_r, int out_w, pid_t *pid)
{
	char *argv[] = { "sh", "-c", (char *)command, NULL };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	int e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		return e;
	if ((e = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return e;
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((e = posix_spawn_file_actions_adddup2(&fa, in_r, 0)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, out_w, 1)) == 0 &&
	    (e = posix_spawn_file_actions_adddup2(&fa, out_w, 2)) == 0 &&
	    /* Sockets and the database are O_CLOEXEC only where each library
	     * chose so: close everything above stdio regardless. */
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) == 0 &&
	    (e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
						  POSIX_SPAWN_SETSIGDEF)) == 0 &&
	    (e = posix_spawnattr_setpgroup(&at, 0)) == 0 &&
	    (e = posix_spawnattr_setsigmask(&at, &none)) == 0 &&
	    (e = posix_spawnattr_setsigdefault(&at, &all)) == 0)
		e = posix_spawn(pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	return e;
}

/* Write what the child takes now. Returns 1 when done with stdin (all
 * written, or the child closed it), else 0. */
static int hook_write_in(int fd, const struct hook_item *it, size_t *off, struct hook_run *res)
{
	while (*off < it->len) {
		ssize_t n = write(fd, it->json + *off, it->len - *off);

		if (n > 0) {
			*off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n < 0 && errno == EPIPE) {
			/* SIGPIPE is blocked in this thread: take the pending
			 * one so it is never delivered later. */
			sigset_t pipe_set;
			struct timespec zero = { 0, 0 };

			sigemptyset(&pipe_set);
			sigaddset(&pipe_set, SIGPIPE);
			while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
				;
			res->unread = 1;
		} else {
			LOG_WARN("hook for node %s: writing the event: %s", it->node, strerror(errno));
		}
		return 1;
	}
	return 1;
}

static void hook_close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Feed the event, log the output, and reap the child (killing its group at
 * the deadline). Sets res; always reaps pid. */
static void hook_supervise(const struct hook *h, const struct hook_item *it, pid_t pid, int in_w, int out_r,
			   struct hook_run *res)
{
	struct hook_lines lines = { .pid = pid };
	int64_t deadline = (int64_t)clock_mono_ms() + h->timeout_ms;
	int pidfd = pidfd_open(pid, 0), status = 0, reaped = 0;
	size_t off = 0;
	pid_t w;

	fcntl(in_w, F_SETFL, fcntl(in_w, F_GETFL) | O_NONBLOCK);
	fcntl(out_r, F_SETFL, fcntl(out_r, F_GETFL) | O_NONBLOCK);
	if (hook_write_in(in_w, it, &off, res))
		hook_close(&in_w);
	for (;;) {
		struct pollfd p[3];
		int64_t left = deadline - (int64_t)clock_mono_ms();
		int np = 0, wait_ms;

		if ((w = waitpid(pid, &status, WNOHANG)) == pid || (w < 0 && errno == ECHILD)) {
			/* ECHILD: SIGCHLD is ignored and the kernel reaped it. */
			reaped = w == pid ? 1 : -1;
			break;
		}
		if (left <= 0)
			break;
		if (in_w >= 0)
			p[np++] = (struct pollfd){ .fd = in_w, .events = POLLOUT };
		if (out_r >= 0)
			p[np++] = (struct pollfd){ .fd = out_r, .events = POLLIN };
		if (pidfd >= 0)
			p[np++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		wait_ms = (int)(left < 1000 ? left : 1000);
		if (pidfd < 0 && wait_ms > HOOK_TICK_MS)
			wait_ms = HOOK_TICK_MS;
		if (poll(p, (nfds_t)np, wait_ms) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < np; i++) {
			if (!p[i].revents)
				continue;
			if (p[i].fd == in_w && hook_write_in(in_w, it, &off, res))
				hook_close(&in_w);
			else if (p[i].fd == out_r && hook_read_out(out_r, &lines))
				hook_close(&out_r);
		}
	}
	if (!reaped) {
		LOG_WARN("hook[%d] for node %s: still running after %" PRIu32 " ms, killed", (int)pid, it->node,
			 h->timeout_ms);
		/* The leader is at worst a zombie until reaped below, so the
		 * group id cannot have been reused. */
		kill(-pid, SIGKILL);
		while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
			;
		res->failed = res->timed_out = 1;
	}
	if (in_w >= 0 && off < it->len)
		res->unread = 1;
	/* What the command wrote before it ended; a background process that
	 * still holds the pipe is not waited for. */
	if (out_r >= 0)
		hook_read_out(out_r, &lines);
	if (lines.len)
		hook_line_emit(&lines);
	hook_close(&in_w);
	hook_close(&out_r);
	hook_close(&pidfd);
	if (res->timed_out || reaped < 0)
		return;
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		LOG_WARN("hook[%d] for node %s: exit status %d", (int)pid, it->node, WEXITSTATUS(status));
		res->failed = 1;
	} else if (WIFSIGNALED(status)) {
		LOG_WARN("hook[%d] for node %s: killed by signal %d", (int)pid, it->node, WTERMSIG(status));
		res->failed = 1;
	} else {
		LOG_DEBUG("hook[%d] for node %s: done", (int)pid, it->node);
	}
}

static void hook_run_one(const struct hook *h, const struct hook_item *it, struct hook_run *res)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };
	pid_t pid;
	int e;

	memset(res, 0, sizeof(*res));
	if (hook_pipe(in) != 0 || hook_pipe(out) != 0) {
		LOG_ERR("hook for node %s: pipe: %s", it->node, strerror(errno));
		res->failed = 1;
		goto out;
	}
	if ((e = hook_spawn(h->command, in[0], out[1], &pid)) != 0) {
		LOG_ERR("hook for node %s: cannot start /bin/sh: %s", it->node, strerror(e));
		res->failed = 1;
		goto out;
	}
	hook_close(&in[0]);
	hook_close(&out[1]);
	hook_supervise(h, it, pid, in[1], out[0], res);
	/* hook_supervise closed them. */
	in[1] = out[0] = -1;
out:
	hook_close(&in[0]);
	hook_close(&in[1]);
	hook_close(&out[0]);
	hook_close(&out[1]);
}

static void *hook_worker(void *arg)
{
	struct hook *h = arg;

	pthread_mutex_lock(&h->lock);
	for (;;) {
		struct hook_item it;
		struct hook_run res;

		while (h->n == 0 && !h->stopping)
			pthread_cond_wait(&h->wake, &h->lock);
		if (h->n == 0)
			break;
		it = h->q[h->head];
		h->head = (h->head + 1) % HOOK_QUEUE_MAX;
		h->n--;
		metrics_gauge_set("attest_hook_queue", "", (double)h->n);
		h->running = 1;
		pthread_mutex_unlock(&h->lock);

		hook_run_one(h, &it, &res);
		free(it.json);

		pthread_mutex_lock(&h->lock);
		h->running = 0;
		h->counts.ran++;
		h->counts.failed += (uint64_t)res.failed;
		h->counts.timed_out += (uint64_t)res.timed_out;
		h->counts.unread += (uint64_t)res.unread;
		if (h->n == 0)
			pthread_cond_broadcast(&h->idle);
	}
	pthread_cond_broadcast(&h->idle);
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* ---- public */

int hook_start(const char *command, uint32_t timeout_ms, struct hook **out)
{
	struct hook *h = NULL;
	sigset_t all, old;
	int r = AERR_ALLOC, locks = 0, e;

	*out = NULL;
	if (!command || !*command)
		return 0;
	if (timeout_ms == 0)
		return err_set(AERR_INVALID_ARG, "hook: timeout must be more than 0 ms");
	if (!(h = calloc(1, sizeof(*h))) || !(h->command = strdup(command))) {
		r = err_set(AERR_ALLOC, "hook: out of memory");
		goto out;
	}
	h->timeout_ms = timeout_ms;
	if (pthread_mutex_init(&h->lock, NULL) != 0)
		goto fail_sync;
	locks++;
	if (pthread_cond_init(&h->wake, NULL) != 0)
		goto fail_sync;
	locks++;
	if (pthread_cond_init(&h->idle, NULL) != 0)
		goto fail_sync;
	locks++;
	/* The worker starts with every signal blocked: SIGPIPE from a command
	 * that does not read its stdin becomes EPIPE, and SIGINT/SIGTERM stay
	 * with the threads that handle them. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&h->thread, NULL, hook_worker, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		r = err_set(AERR_INTERNAL, "hook: cannot start the worker thread: %s", strerror(e));
		goto out;
	}
	/* Not the command itself: it may carry a token. */
	LOG_INFO("state-change hook configured, timeout %" PRIu32 " ms", timeout_ms);
	*out = h;
	h = NULL; /* transferred */
	r = 0;
	goto out;
fail_sync:
	r = err_set(AERR_INTERNAL, "hook: cannot set up locks");
out:
	if (h) {
		if (locks > 2)
			pthread_cond_destroy(&h->idle);
		if (locks > 1)
			pthread_cond_destroy(&h->wake);
		if (locks > 0)
			pthread_mutex_destroy(&h->lock);
		free(h->command);
		free(h);
	}
	return r;
}

void hook_post(struct hook *h, const struct hook_event *ev)
{
	struct hook_item it = { 0 };
	uint64_t dropped = 0;
	size_t waiting = 0;
	int queued = 0;

	if (!h || !ev)
		return;
	hook_log_copy(it.node, sizeof(it.node), ev->node);
	if (hook_format(ev, &it.json, &it.len) != 0) {
		pthread_mutex_lock(&h->lock);
		dropped = ++h->counts.dropped;
		pthread_mutex_unlock(&h->lock);
		LOG_ERR("hook: out of memory formatting the event for node %s: dropped (%" PRIu64 " dropped so far)",
			it.node, dropped);
		return;
	}
	pthread_mutex_lock(&h->lock);
	if (h->n < HOOK_QUEUE_MAX && !h->stopping) {
		h->q[(h->head + h->n) % HOOK_QUEUE_MAX] = it;
		h->n++;
		h->counts.posted++;
		metrics_gauge_set("attest_hook_queue", "", (double)h->n);
		queued = 1;
		pthread_cond_signal(&h->wake);
	} else {
		dropped = ++h->counts.dropped;
		waiting = h->n;
		metrics_inc("attest_hook_dropped_total", "", 1);
	}
	pthread_mutex_unlock(&h->lock);
	if (!queued) {
		char from[33], to[33];

		hook_log_copy(from, sizeof(from), ev->from);
		hook_log_copy(to, sizeof(to), ev->to);
		LOG_ERR("hook: queue full (%zu waiting): event for node %s (%s -> %s) dropped (%" PRIu64
			" dropped so far)",
			waiting, it.node, from, to, dropped);
		free(it.json);
	}
}

void hook_drain(struct hook *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	while (h->n > 0 || h->running)
		pthread_cond_wait(&h->idle, &h->lock);
	pthread_mutex_unlock(&h->lock);
}

void hook_counts(struct hook *h, struct hook_counts *out)
{
	memset(out, 0, sizeof(*out));
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	*out = h->counts;
	pthread_mutex_unlock(&h->lock);
}

void hook_stop(struct hook *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = 1;
	pthread_cond_signal(&h->wake);
	pthread_mutex_unlock(&h->lock);
	pthread_join(h->thread, NULL);
	/* The worker empties the queue before it returns. */
	pthread_cond_destroy(&h->idle);
	pthread_cond_destroy(&h->wake);
	pthread_mutex_destroy(&h->lock);
	free(h->command);
	free(h);
}
