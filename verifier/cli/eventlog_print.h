/* `verifier eventlog`: a parsed TCG boot event log, its events and the PCR
 * values it replays to, as YAML in the layout of tpm2_eventlog (so the two can
 * be diffed) or as JSON. Event data is not interpreted beyond its size. */
#ifndef VERIFIER_CLI_EVENTLOG_PRINT_H
#define VERIFIER_CLI_EVENTLOG_PRINT_H

#include <stdio.h>

#include "eventlog.h"

/* Name of an event type ("EV_POST_CODE"), or NULL when not a TCG one. */
const char *eventlog_type_name(uint32_t type);

void eventlog_print_yaml(FILE *f, const struct eventlog *log);
void eventlog_print_json(FILE *f, const struct eventlog *log);

#endif
