/* The hook's event as one line of JSON: peer strings as valid UTF-8 (what
 * is not is escaped, never passed on raw), times in RFC 3339 and
 * milliseconds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "clock.h"
#include "record/hook_event.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one
 * (overlongs, surrogates and code points past U+10FFFF are not). */
static size_t hook_utf8_seq(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return len;
}

/* A JSON string for untrusted bytes: at most HOOK_FIELD_MAX input bytes (cut
 * between characters), every invalid UTF-8 byte as U+FFFD, so the event stays
 * valid JSON text whatever the attestor claimed. json-c escapes the rest. */
static struct json_object *hook_json_str(const char *s)
{
	static const char repl[] = "\xef\xbf\xbd";
	const unsigned char *u = (const unsigned char *)(s ? s : "");
	size_t n = strnlen((const char *)u, HOOK_FIELD_MAX), o = 0;
	struct json_object *j = NULL;
	char *buf;

	if (u[n] != '\0') {
		/* Cut before a character the limit would split. */
		size_t k = n;

		while (k > 0 && n - k < 3 && (u[k] & 0xc0) == 0x80)
			k--;
		if ((u[k] & 0xc0) != 0x80)
			n = k;
	}
	if (!(buf = malloc(3 * n + 1)))
		return NULL;
	for (size_t i = 0; i < n;) {
		size_t k = hook_utf8_seq(u + i, n - i);

		if (k == 0) {
			memcpy(buf + o, repl, 3);
			o += 3;
			i++;
		} else {
			memcpy(buf + o, u + i, k);
			o += k;
			i += k;
		}
	}
	j = json_object_new_string_len(buf, (int)o);
	free(buf);
	return j;
}

/* RFC 3339 UTC with milliseconds. */
static void hook_rfc3339(int64_t ms, char *out, size_t cap)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (!gmtime_r(&sec, &tm) || strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(base, sizeof(base), "1970-01-01T00:00:00");
	snprintf(out, cap, "%s.%03dZ", base, (int)(ms % 1000));
}

static int hook_add(struct json_object *o, const char *key, struct json_object *v, int nullable)
{
	if (!v && !nullable)
		return AERR_ALLOC;
	if (json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return AERR_ALLOC;
	}
	return 0;
}

int hook_format(const struct hook_event *ev, char **out, size_t *len)
{
	int64_t ms = ev->time_ms > 0 ? ev->time_ms : clock_wall_ms();
	struct json_object *o = NULL;
	const char *text;
	char when[48];
	size_t n;
	int r = AERR_ALLOC;

	*out = NULL;
	hook_rfc3339(ms, when, sizeof(when));
	if (!(o = json_object_new_object()))
		goto out;
	if ((r = hook_add(o, "event", json_object_new_string("state_change"), 0)) != 0 ||
	    (r = hook_add(o, "node", hook_json_str(ev->node), 0)) != 0 ||
	    (r = hook_add(o, "hostname", hook_json_str(ev->hostname), 0)) != 0 ||
	    (r = hook_add(o, "from", hook_json_str(ev->from), 0)) != 0 ||
	    (r = hook_add(o, "to", hook_json_str(ev->to), 0)) != 0 ||
	    (r = hook_add(o, "reason", hook_json_str(ev->reason), 0)) != 0 ||
	    (r = hook_add(o, "mode", hook_json_str(ev->mode), 0)) != 0 ||
	    (r = hook_add(o, "time", json_object_new_string(when), 0)) != 0 ||
	    (r = hook_add(o, "time_ms", json_object_new_int64(ms), 0)) != 0 ||
	    (r = hook_add(o, "attestation_id",
			  ev->attestation_id > 0 ? json_object_new_int64(ev->attestation_id) : NULL, 1)) != 0)
		goto out;
	r = AERR_ALLOC;
	if (!(text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)))
		goto out;
	n = strlen(text);
	if (!(*out = malloc(n + 2)))
		goto out;
	memcpy(*out, text, n);
	(*out)[n] = '\n';
	(*out)[n + 1] = '\0';
	*len = n + 1;
	r = 0;
out:
	json_object_put(o);
	return r;
}
