/* The state-change hook with real /bin/sh commands: the event reaches stdin
 * intact and in order, failures and hangs are contained, a command that does
 * not read stdin cannot SIGPIPE the verifier, hostile strings stay valid JSON,
 * a full queue drops (and counts) new events, and no descriptor leaks. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "clock.h"
#include "fixtures.h"
#include "record/hook.h"

static char dir[64];
static char cmd[1024];
static int saved_stderr = -1;

static const char *tmp(const char *name)
{
	static char paths[4][160];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_hook");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

static char *slurp(const char *path)
{
	size_t len;
	uint8_t *b = fixture_read(path, &len);
	char *s;

	if (!b)
		return NULL;
	s = realloc(b, len + 1);
	assert_non_null(s);
	s[len] = '\0';
	return s;
}

/* Send the log (stderr) to a file until capture_end. */
static void capture_begin(void)
{
	int fd = open(tmp("log"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	assert_true(fd >= 0);
	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(saved_stderr >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	close(fd);
}

static char *capture_end(void)
{
	fflush(stderr);
	assert_int_equal(dup2(saved_stderr, 2), 2);
	close(saved_stderr);
	saved_stderr = -1;
	return slurp(tmp("log"));
}

static void contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle))
		fail_msg("'%s' not found in:\n%s", needle, hay ? hay : "(null)");
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static struct hook_event event(const char *to, const char *reason)
{
	return (struct hook_event){
		.node = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		.hostname = "node1.example",
		.from = strcmp(to, "failed") == 0 ? "passing" : "failed",
		.to = to,
		.reason = reason,
		.mode = "pull",
		.time_ms = 1714564800123,
		.attestation_id = 42,
	};
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no key '%s'", key);
	assert_true(json_object_is_type(v, json_type_string));
	return json_object_get_string(v);
}

static void test_no_command(void **state)
{
	struct hook_event ev = event("failed", "x");
	struct hook_counts c;
	struct hook *h = (void *)1;

	(void)state;
	assert_int_equal(hook_start(NULL, 1000, &h), 0);
	assert_null(h);
	h = (void *)1;
	assert_int_equal(hook_start("", 1000, &h), 0);
	assert_null(h);
	hook_post(NULL, &ev);
	hook_drain(NULL);
	memset(&c, 0xff, sizeof(c));
	hook_counts(NULL, &c);
	assert_int_equal(c.posted + c.ran + c.failed + c.dropped + c.timed_out + c.unread, 0);
	hook_stop(NULL);
}

static void test_zero_timeout_refused(void **state)
{
	struct hook *h = (void *)1;

	(void)state;
	assert_int_equal(hook_start("true", 0, &h), AERR_INVALID_ARG);
	assert_null(h);
}

static void test_event_intact(void **state)
{
	struct hook_event ev = event("failed", "quote: PCR 7 differs");
	struct json_object *o, *v;
	struct hook_counts c;
	struct hook *h = NULL;
	char *text;
	int64_t before;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cat > '%s'", tmp("ev1"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	assert_non_null(h);
	ev.mode = "push";
	hook_post(h, &ev);
	hook_drain(h);
	assert_non_null(text = slurp(tmp("ev1")));
	/* One line: the JSON and a newline. */
	assert_int_equal(count_lines(text), 1);
	assert_int_equal(text[strlen(text) - 1], '\n');
	assert_non_null(o = json_tokener_parse(text));
	assert_int_equal(json_object_object_length(o), 10);
	assert_string_equal(jstr(o, "event"), "state_change");
	assert_string_equal(jstr(o, "node"), ev.node);
	assert_string_equal(jstr(o, "hostname"), "node1.example");
	assert_string_equal(jstr(o, "from"), "passing");
	assert_string_equal(jstr(o, "to"), "failed");
	assert_string_equal(jstr(o, "reason"), "quote: PCR 7 differs");
	assert_string_equal(jstr(o, "mode"), "push");
	assert_string_equal(jstr(o, "time"), "2024-05-01T12:00:00.123Z");
	assert_true(json_object_object_get_ex(o, "time_ms", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 1714564800123);
	assert_true(json_object_object_get_ex(o, "attestation_id", &v));
	assert_true(json_object_is_type(v, json_type_int));
	assert_int_equal(json_object_get_int64(v), 42);
	json_object_put(o);
	free(text);

	/* A pass: no attestation id is null, time 0 is now, NULL strings "". */
	ev = event("passing", NULL);
	ev.attestation_id = 0;
	ev.time_ms = 0;
	ev.hostname = NULL;
	before = (int64_t)time(NULL) * 1000;
	hook_post(h, &ev);
	hook_drain(h);
	assert_non_null(text = slurp(tmp("ev1")));
	assert_non_null(o = json_tokener_parse(text));
	assert_string_equal(jstr(o, "reason"), "");
	assert_string_equal(jstr(o, "hostname"), "");
	assert_string_equal(jstr(o, "to"), "passing");
	assert_true(json_object_object_get_ex(o, "attestation_id", &v));
	assert_null(v);
	assert_true(json_object_object_get_ex(o, "time_ms", &v));
	assert_true(json_object_get_int64(v) >= before);
	assert_true(json_object_get_int64(v) <= (int64_t)time(NULL) * 1000 + 1000);
	json_object_put(o);
	free(text);

	hook_counts(h, &c);
	assert_int_equal(c.posted, 2);
	assert_int_equal(c.ran, 2);
	assert_int_equal(c.failed, 0);
	hook_stop(h);
}

static void test_order(void **state)
{
	struct hook *h = NULL;
	char reason[32], *text, *p;

	(void)state;
	snprintf(cmd, sizeof(cmd), "cat >> '%s'", tmp("order"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	for (int i = 0; i < 20; i++) {
		struct hook_event ev = event(i % 2 ? "passing" : "failed", reason);

		snprintf(reason, sizeof(reason), "n=%d", i);
		hook_post(h, &ev);
	}
	hook_drain(h);
	assert_non_null(text = slurp(tmp("order")));
	assert_int_equal(count_lines(text), 20);
	p = text;
	for (int i = 0; i < 20; i++) {
		char *nl = strchr(p, '\n');
		struct json_object *o;

		*nl = '\0';
		assert_non_null(o = json_tokener_parse(p));
		snprintf(reason, sizeof(reason), "n=%d", i);
		assert_string_equal(jstr(o, "reason"), reason);
		assert_string_equal(jstr(o, "to"), i % 2 ? "passing" : "failed");
		json_object_put(o);
		p = nl + 1;
	}
	free(text);
	hook_stop(h);
}

static void test_exit_status(void **state)
{
	struct hook_counts c;
	struct hook *h = NULL;
	struct hook_event boom = event("failed", "boom"), ok = event("passing", "");
	char *log, *text;

	(void)state;
	snprintf(cmd, sizeof(cmd),
		 "read -r t; printf '%%s\\n' \"$t\" >> '%s'; echo out-line; echo err-line >&2; "
		 "case \"$t\" in *boom*) exit 3;; esac",
		 tmp("st"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	capture_begin();
	hook_post(h, &boom);
	hook_post(h, &ok);
	hook_drain(h);
	log = capture_end();
	contains(log, "exit status 3");
	contains(log, "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
	/* The command's stdout and stderr are logged as lines. */
	contains(log, "]: out-line\n");
	contains(log, "]: err-line\n");
	hook_counts(h, &c);
	assert_int_equal(c.ran, 2);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.timed_out, 0);
	/* The event after the failure still ran. */
	assert_non_null(text = slurp(tmp("st")));
	assert_int_equal(count_lines(text), 2);
	contains(text, "\"reason\":\"\"");
	free(text);
	free(log);
	hook_stop(h);
}

static void test_timeout_kills_group(void **state)
{
	struct hook_counts c;
	struct hook *h = NULL;
	struct hook_event hang = event("failed", "HANG-ME"), next = event("passing", "");
	char *log, *text;
	double t0, dt;
	int st = 0;
	pid_t bg, w = 0;

	(void)state;
	/* Orphans of the killed shell come to this process, which can then
	 * see how they died. */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	snprintf(cmd, sizeof(cmd),
		 "read -r t; case \"$t\" in *HANG-ME*) sleep 1000 & echo $! > '%s'; wait;; "
		 "*) printf '%%s\\n' \"$t\" > '%s';; esac",
		 tmp("bgpid"), tmp("next"));
	assert_int_equal(hook_start(cmd, 300, &h), 0);
	capture_begin();
	t0 = clock_mono_s();
	hook_post(h, &hang);
	hook_post(h, &next);
	hook_drain(h);
	dt = clock_mono_s() - t0;
	log = capture_end();
	assert_true(dt >= 0.3);
	assert_true(dt < 5.0);
	contains(log, "still running after 300 ms, killed");
	hook_counts(h, &c);
	assert_int_equal(c.ran, 2);
	assert_int_equal(c.failed, 1);
	assert_int_equal(c.timed_out, 1);
	assert_non_null(text = slurp(tmp("next")));
	contains(text, "\"to\":\"passing\"");
	free(text);
	/* The background sleep was in the group: SIGKILLed too. */
	assert_non_null(text = slurp(tmp("bgpid")));
	bg = (pid_t)atoi(text);
	free(text);
	assert_true(bg > 1);
	for (int i = 0; i < 300 && (w = waitpid(bg, &st, WNOHANG)) == 0; i++)
		usleep(10000);
	if (w != bg) {
		kill(bg, SIGKILL);
		fail_msg("background process %d survived the timeout (waitpid %d)", (int)bg, (int)w);
	}
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGKILL);
	free(log);
	hook_stop(h);
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
}

static void test_unread_stdin_no_sigpipe(void **state)
{
	struct hook_counts c;
	struct hook *h = NULL;
	char *big = malloc(HOOK_FIELD_MAX + 1), *text;
	struct hook_event ev = event("failed", "");

	(void)state;
	assert_non_null(big);
	/* Each \x01 becomes "\u0001": ~96 KiB of JSON, more than a pipe holds,
	 * so the write is still going when the command exits. */
	memset(big, 1, HOOK_FIELD_MAX);
	big[HOOK_FIELD_MAX] = '\0';
	ev.reason = big;
	/* Default disposition: an escaped SIGPIPE would end this test. */
	assert_true(signal(SIGPIPE, SIG_DFL) != SIG_ERR);
	snprintf(cmd, sizeof(cmd), "echo ran >> '%s'; exit 0", tmp("ran"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	hook_post(h, &ev);
	hook_post(h, &ev);
	hook_drain(h);
	hook_counts(h, &c);
	assert_int_equal(c.ran, 2);
	assert_int_equal(c.failed, 0);
	assert_int_equal(c.unread, 2);
	hook_stop(h);
	free(big);
	assert_non_null(text = slurp(tmp("ran")));
	assert_int_equal(count_lines(text), 2);
	free(text);
}

static void test_hostile_strings(void **state)
{
	/* Quotes, a fake key, CR/LF, ESC, backslash, tab, DEL, then invalid
	 * UTF-8: a stray byte, an overlong '/', a surrogate, a cut sequence. */
	static const char host[] = "evil\"},\n\"to\":\"passing\r\x1b[31m\\\t\x7f/"
				   "\xff|\xc0\xaf|\xed\xa0\x80|\xc3\xa9|\xe2\x82";
	static const char want[] = "evil\"},\n\"to\":\"passing\r\x1b[31m\\\t\x7f/"
				   "\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
				   "\xc3\xa9|\xef\xbf\xbd\xef\xbf\xbd";
	struct hook_event ev = event("failed", "x");
	struct json_object *o;
	struct hook *h = NULL;
	char *text, *longhost;
	char py[512];

	(void)state;
	snprintf(cmd, sizeof(cmd), "cat > '%s'", tmp("hostile"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	ev.hostname = host;
	hook_post(h, &ev);
	hook_drain(h);
	assert_non_null(text = slurp(tmp("hostile")));
	assert_int_equal(count_lines(text), 1);
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20 && p[1] != '\0')
			fail_msg("raw control byte 0x%02x in the JSON", (unsigned char)*p);
	assert_non_null(o = json_tokener_parse(text));
	assert_string_equal(jstr(o, "hostname"), want);
	assert_string_equal(jstr(o, "to"), "failed");
	json_object_put(o);
	/* An independent strict parser (UTF-8 and JSON), where one exists. */
	if (access("/usr/bin/python3", X_OK) == 0) {
		snprintf(py, sizeof(py),
			 "/usr/bin/python3 -c 'import json,sys; "
			 "d=json.loads(sys.stdin.buffer.read().decode(\"utf-8\",\"strict\")); "
			 "sys.exit(0 if d[\"to\"]==\"failed\" and d[\"hostname\"].startswith(\"evil\\\"}\") else 1)' < '%s'",
			 tmp("hostile"));
		assert_int_equal(system(py), 0);
	}
	free(text);

	/* Over the limit: cut, and never inside a character. */
	assert_non_null(longhost = malloc(HOOK_FIELD_MAX + 8));
	memset(longhost, 'a', HOOK_FIELD_MAX - 1);
	memcpy(longhost + HOOK_FIELD_MAX - 1, "\xc3\xa9zz", 5);
	ev.hostname = longhost;
	hook_post(h, &ev);
	hook_drain(h);
	assert_non_null(text = slurp(tmp("hostile")));
	assert_non_null(o = json_tokener_parse(text));
	assert_int_equal(strlen(jstr(o, "hostname")), HOOK_FIELD_MAX - 1);
	assert_null(strstr(jstr(o, "hostname"), "\xef\xbf\xbd"));
	json_object_put(o);
	free(text);
	free(longhost);
	hook_stop(h);
}

static void test_queue_full_drops_new(void **state)
{
	struct hook_counts c;
	struct hook *h = NULL;
	struct hook_event gate = event("failed", "GATE-ME");
	char reason[32], *log, *text, *last;
	int i;

	(void)state;
	/* The first event holds the worker until the test says go. */
	snprintf(cmd, sizeof(cmd),
		 "read -r t; case \"$t\" in *GATE-ME*) : > '%s'; while [ ! -e '%s' ]; do sleep 0.01; done;; "
		 "*) printf '%%s\\n' \"$t\" >> '%s';; esac",
		 tmp("started"), tmp("go"), tmp("ran"));
	assert_int_equal(hook_start(cmd, 20000, &h), 0);
	hook_post(h, &gate);
	for (i = 0; i < 1000 && access(tmp("started"), F_OK) != 0; i++)
		usleep(10000);
	assert_int_equal(access(tmp("started"), F_OK), 0);
	capture_begin();
	for (i = 0; i < HOOK_QUEUE_MAX + 5; i++) {
		struct hook_event ev = event("passing", reason);

		snprintf(reason, sizeof(reason), "n=%d", i);
		hook_post(h, &ev);
	}
	log = capture_end();
	contains(log, "queue full (1024 waiting)");
	contains(log, "5 dropped so far");
	hook_counts(h, &c);
	assert_int_equal(c.posted, HOOK_QUEUE_MAX + 1);
	assert_int_equal(c.dropped, 5);
	assert_int_equal(close(open(tmp("go"), O_WRONLY | O_CREAT | O_CLOEXEC, 0600)), 0);
	hook_drain(h);
	hook_counts(h, &c);
	assert_int_equal(c.ran, HOOK_QUEUE_MAX + 1);
	assert_int_equal(c.failed, 0);
	/* The oldest were kept, in order; the newest were the ones dropped. */
	assert_non_null(text = slurp(tmp("ran")));
	assert_int_equal(count_lines(text), HOOK_QUEUE_MAX);
	contains(text, "\"reason\":\"n=0\"");
	text[strlen(text) - 1] = '\0';
	last = strrchr(text, '\n');
	assert_non_null(last);
	contains(last, "\"reason\":\"n=1023\"");
	free(text);
	free(log);
	hook_stop(h);
}

static void test_no_fd_leak(void **state)
{
	struct hook_event ev = event("failed", "x");
	struct hook *h = NULL;
	int fd, sock;
	char *text, *line, *save = NULL;
	int seen[4] = { 0 }, others = 0;

	(void)state;
	/* Descriptors opened the careless way, as a library might. */
	assert_true((fd = open("/dev/null", O_RDONLY)) >= 0);
	assert_int_equal(dup2(fd, 100), 100);
	close(fd);
	assert_true((sock = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	snprintf(cmd, sizeof(cmd), "ls /proc/self/fd > '%s'", tmp("fds"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	hook_post(h, &ev);
	hook_stop(h);
	close(100);
	close(sock);
	assert_non_null(text = slurp(tmp("fds")));
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int n = atoi(line);

		if (n >= 0 && n <= 3)
			seen[n]++;
		else
			others++;
	}
	/* 0-2 and the directory ls reads (3); nothing else. */
	if (others)
		fail_msg("descriptors leaked into the hook:\n%s", slurp(tmp("fds")));
	assert_int_equal(seen[0] + seen[1] + seen[2], 3);
	free(text);
}

static void test_stop_runs_queued(void **state)
{
	struct hook *h = NULL;
	char *text;

	(void)state;
	snprintf(cmd, sizeof(cmd), "sleep 0.05; cat >> '%s'", tmp("stop"));
	assert_int_equal(hook_start(cmd, 5000, &h), 0);
	for (int i = 0; i < 3; i++) {
		struct hook_event ev = event("failed", "x");

		hook_post(h, &ev);
	}
	hook_stop(h);
	assert_non_null(text = slurp(tmp("stop")));
	assert_int_equal(count_lines(text), 3);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_command),
		cmocka_unit_test(test_zero_timeout_refused),
		cmocka_unit_test_setup_teardown(test_event_intact, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_exit_status, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout_kills_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unread_stdin_no_sigpipe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_strings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_full_drops_new, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_fd_leak, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop_runs_queued, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
