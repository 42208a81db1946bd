/* verifier serve: the push service or the pull serve loop, by the
 * configuration's mode (cli/commands.h). */
#include <getopt.h>
#include <stdio.h>

#define LOG_MODULE "verifier"
#include "admin/admin.h"
#include "cli/commands.h"
#include "config.h"
#include "log.h"
#include "pull/serve.h"
#include "push/service.h"
#include "rpc.h"
#include "web/web.h"

int serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct verifier_config *cfg = NULL;
	struct admin_server *admin = NULL;
	struct push_service *push = NULL;
	struct web_server *web = NULL;
	const char *config = NULL;
	int opt, rc = CLI_EXIT_USAGE;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'h': printf("usage: verifier %s\n", CLI_SERVE_USAGE); return CLI_EXIT_PASS;
		default: goto usage;
		}
	}
	if (!config || optind != argc)
		goto usage;
	if (cli_check_config_file(config) != 0)
		return CLI_EXIT_USAGE;
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	log_set_level((enum log_level)cfg->log_level);
	rpc_global_init();
	if (cli_check_files(cfg) != 0)
		goto out;
	if (cfg->mode == CONFIG_MODE_PULL && cfg->ntargets == 0) {
		fprintf(stderr, "verifier: %s: serve in pull mode needs targets = HOST:PORT, ...\n", config);
		goto out;
	}
	if (cfg->mode == CONFIG_MODE_PUSH && push_start(cfg, &push) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	if (cfg->admin.listen) {
		struct admin_hooks hooks = { cfg->mode == CONFIG_MODE_PULL ? pull_serve_wake : NULL, NULL };

		/* In push mode on the attestors' server's workers: an idle
		 * Admin service adds no poller thread to their queue. */
		if (admin_server_start(cfg, config, &hooks, push ? push_rpc(push) : NULL, &admin) != 0) {
			fprintf(stderr, "verifier: %s\n", err_detail());
			rc = CLI_EXIT_FAIL;
			goto out;
		}
	}
	if (cfg->web.listen && web_server_start(cfg, config, &web) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	if ((push ? push_run(push) : pull_serve_run(cfg)) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_FAIL;
		goto out;
	}
	rc = CLI_EXIT_PASS;
out:
	web_server_free(web);
	/* The guest before its host (rpc_server_attach). */
	admin_server_free(admin);
	push_free(push);
	rpc_global_shutdown();
	verifier_config_free(cfg);
	return rc;
usage:
	fprintf(stderr, "usage: verifier serve --config FILE\n");
	return CLI_EXIT_USAGE;
}

