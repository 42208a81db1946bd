/* attestor: subcommands dispatched from a table, one <name>_main each. */
#define LOG_MODULE "attestor"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "service.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: attestor [serve] --config FILE    serve (pull mode) until SIGINT/SIGTERM\n"
		"       attestor help | --help\n"
		"(timings of the exchange: scripts/bench.sh)\n");
}

/* --config FILE; returns 0 or prints why not. */
static int parse_args(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || !*config)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

static int load_config(const char *path, struct attestor_config *cfg)
{
	if (attestor_config_load(path, cfg) != 0) {
		fprintf(stderr, "attestor: %s\n", err_detail());
		return -1;
	}
	if (!getenv("ATTEST_LOG_LEVEL"))
		log_set_level((enum log_level)cfg->log_level);
	return 0;
}

static int serve_main(int argc, char **argv)
{
	struct attestor_config cfg;
	const char *path;

	if (parse_args(argc, argv, &path) != 0 || load_config(path, &cfg) != 0)
		return 2;
	if (cfg.mode != CONFIG_MODE_PULL) {
		fprintf(stderr, "attestor: %s: mode = push is not implemented yet\n", path);
		return 2;
	}
	if (service_pull_run(&cfg) != 0) {
		LOG_ERR("%s", err_detail());
		return 1;
	}
	return 0;
}

static int help_main(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", serve_main },
	{ "help", help_main },
};

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc, argv);
	/* "attestor --config FILE" is "attestor serve --config FILE" */
	if (argv[1][0] == '-')
		return serve_main(argc, argv);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "attestor: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
