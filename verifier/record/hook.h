/* The state-change hook (issue #6): on every change of a node's state the
 * verifier runs an operator's command with one JSON event on stdin, so access
 * elsewhere can be revoked when a node fails (and granted back when it passes).
 *
 * Wiring:
 *   struct hook *h;
 *   if ((r = hook_start(cfg->hook, cfg->hook_timeout_ms, &h)) != 0) fail;   // once, at startup
 *   hook_post(h, &ev);        // from any thread, on each state change; never blocks on the command
 *   hook_stop(h);             // at shutdown, after the threads that post have stopped
 * A NULL or empty command gives h == NULL; every function accepts NULL and does
 * nothing, so callers need no "is a hook configured" checks.
 *
 * Running: one worker thread runs the events one at a time, in the order they
 * were posted (a node's "failed" always arrives before its next "passing").
 * Each event is one run of `/bin/sh -c COMMAND` (so the command may carry
 * arguments and shell syntax, like a systemd ExecStart= or cron line), with:
 *   stdin   the event as one line of JSON followed by "\n", then EOF; a command
 *           that does not read it is fine (the verifier ignores EPIPE);
 *   stdout, stderr  logged line by line at info level as "hook[PID]: ...";
 *   fds     only 0, 1, 2: every other descriptor (sockets, the database) is
 *           closed in the child;
 *   signals default dispositions, nothing blocked, in its own process group;
 *   env, cwd  the verifier's.
 * After timeout_ms the whole process group gets SIGKILL. A non-zero exit, a
 * death by signal or a timeout is logged as a warning and counted as failed;
 * the next event runs regardless. Children are always reaped.
 *
 * Queue: at most HOOK_QUEUE_MAX events wait. When full, the NEW event is
 * dropped (logged as an error with the node, and counted): dropping the oldest
 * would silently reorder history (a node's "failed" lost while its later
 * "passing" is kept); with the newest dropped, the operator sees from the log
 * which node's event to reconcile by hand. A queue this full means the command
 * is far slower than state changes: raise the timeout budget or fix the
 * command.
 *
 * Event fields (one JSON object, keys in this order):
 *   "event": "state_change", "node": EK hash hex, "hostname": claimed name
 *   (untrusted: escaped, invalid UTF-8 replaced), "from", "to": state names,
 *   "reason": why ("" on pass), "mode": "pull" | "push",
 *   "time": RFC 3339 UTC with milliseconds ("2024-05-01T12:00:00.123Z"),
 *   "time_ms": Unix milliseconds, "attestation_id": integer or null.
 * String fields longer than HOOK_FIELD_MAX bytes are cut (on a UTF-8 boundary). */
#ifndef VERIFIER_RECORD_HOOK_H
#define VERIFIER_RECORD_HOOK_H

#include <stdint.h>

#include "err.h"

#define HOOK_QUEUE_MAX 1024
#define HOOK_FIELD_MAX 16384

struct hook;

/* One state change, as the caller knows it. NULL strings are sent as "". Only
 * read during hook_post (copied into the queued JSON). */
struct hook_event {
	const char *node;         /* hex SHA-256 of the EK public */
	const char *hostname;     /* as claimed by the attestor: untrusted */
	const char *from;         /* previous state, e.g. store_state_name() */
	const char *to;           /* new state */
	const char *reason;       /* why the node failed; "" or NULL on pass */
	const char *mode;         /* "pull" | "push" */
	int64_t time_ms;          /* Unix ms of the change; <= 0: now */
	int64_t attestation_id;   /* the attestation that caused it; <= 0: null */
};

/* What the worker did so far (a snapshot). */
struct hook_counts {
	uint64_t posted;    /* accepted into the queue */
	uint64_t dropped;   /* refused: queue full (or out of memory) */
	uint64_t ran;       /* commands finished, whatever their outcome */
	uint64_t failed;    /* of ran: non-zero exit, signal, timeout, or could not start */
	uint64_t timed_out; /* of failed: killed at timeout_ms */
	uint64_t unread;    /* of ran: closed stdin or ended before the whole event was written */
};

/* Start the worker for command, each run limited to timeout_ms (> 0).
 * *out is NULL on entry; command NULL or "" gives *out = NULL and 0.
 * AERR_INVALID_ARG for timeout_ms 0, AERR_ALLOC / AERR_INTERNAL when the
 * worker cannot be set up. Free with hook_stop. */
int hook_start(const char *command, uint32_t timeout_ms, struct hook **out) ATTEST_WUR;

/* Format ev as JSON and queue it; returns at once. Safe from any thread,
 * never after (or during) hook_stop. Drops are logged and counted, never
 * reported to the caller: a state change must not fail because of its hook. */
void hook_post(struct hook *h, const struct hook_event *ev);

/* Run everything still queued (each bounded by the timeout), then stop the
 * worker and free h. May take up to (queued events) x timeout_ms. */
void hook_stop(struct hook *h);

/* Snapshot of the counters; all zero for NULL. */
void hook_counts(struct hook *h, struct hook_counts *out);

/* Wait until the queue is empty and no command runs (tests, orderly
 * shutdowns). Returns at once for NULL. */
void hook_drain(struct hook *h);

#endif
