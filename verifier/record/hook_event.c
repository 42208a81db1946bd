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
#include "utf8.h"

/* A JSON string for untrusted bytes: at most HOOK_FIELD_MAX input bytes (cut
 * between characters), every invalid UTF-8 byte as U+FFFD, so the event stays
 * valid JSON text whatever the attestor claimed. json-c escapes the rest. */
static struct json_object *hook_json_str(const char *s)
{
	const char *u = s ? s : "";
	size_t n = strnlen(u, HOOK_FIELD_MAX), o;
	struct json_object *j = NULL;
	char *buf;

	if (u[n] != '\0')
		n = utf8_cut(u, n);
	if (!(buf = malloc(3 * n + 1)))
		return NULL;
	o = utf8_clean(buf, u, n);
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
