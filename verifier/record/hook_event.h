/* The JSON line of a hook event (record/hook.h), for hook.c. */
#ifndef VERIFIER_RECORD_HOOK_EVENT_H
#define VERIFIER_RECORD_HOOK_EVENT_H

#include <stddef.h>

#include "record/hook.h"

/* The event as one "\n"-terminated line of JSON, malloc'd. 0 or AERR_ALLOC. */
int hook_format(const struct hook_event *ev, char **out, size_t *len);
#endif
