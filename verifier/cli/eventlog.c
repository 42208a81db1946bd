/* verifier eventlog: parse a TCG boot event log and print it
 * (cli/commands.h, cli/eventlog_print.h). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/commands.h"
#include "cli/eventlog_print.h"
#include "err.h"
#include "eventlog.h"
#include "file.h"

int eventlog_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct eventlog *log = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int opt, json = 0, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': printf("usage: verifier %s\n", CLI_EVENTLOG_USAGE); return CLI_EXIT_PASS;
		default: goto usage;
		}
	}
	if (optind != argc - 1)
		goto usage;
	if (file_read_all(argv[optind], EVENTLOG_MAX_LOG_SIZE, &buf, &len) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	if ((r = eventlog_parse(buf, len, &log)) != 0) {
		fprintf(stderr, "FAIL %s: %s: %s\n", argv[optind], err_str(r), err_detail());
		free(buf);
		return CLI_EXIT_FAIL;
	}
	if (json)
		eventlog_print_json(stdout, log);
	else
		eventlog_print_yaml(stdout, log);
	eventlog_free(log);
	free(buf);
	return CLI_EXIT_PASS;
usage:
	fprintf(stderr, "usage: verifier eventlog [--json] FILE\n");
	return CLI_EXIT_USAGE;
}

