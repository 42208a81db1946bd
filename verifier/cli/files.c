/* cli_check_files (cli/commands.h): before serve or attest opens a port or
 * the store, the private keys it will use pass common/keyfile.h's rule and
 * the files it trusts pass common/filerule.h's. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "config.h"
#include "filerule.h"
#include "keyfile.h"

/* The hook runs as /bin/sh -c COMMAND: a program named by an absolute path
 * is trusted like the configuration (one found through PATH is the
 * system's). */
static int check_hook(const char *hook)
{
	char prog[4096];
	size_t n = strcspn(hook, " \t");

	if (hook[0] != '/' || n >= sizeof(prog))
		return 0;
	memcpy(prog, hook, n);
	prog[n] = '\0';
	return filerule_anchor("hook", prog);
}

int cli_check_files(const struct verifier_config *cfg, const char *config)
{
	size_t i;

	if (!cfg->tls.insecure && keyfile_check("TLS key", cfg->tls.key) != 0)
		goto refused;
	for (i = 0; i < cfg->nsecrets; i++)
		if (keyfile_check("secret key", cfg->secrets[i].key) != 0 ||
		    (cfg->secrets[i].cert && filerule_anchor("secret certificate", cfg->secrets[i].cert) != 0))
			goto refused;
	if (filerule_anchor("configuration", config) != 0 ||
	    (cfg->tls.ca[0] && filerule_anchor("TLS CA", cfg->tls.ca) != 0) ||
	    (cfg->tls.cert[0] && filerule_anchor("TLS certificate", cfg->tls.cert) != 0) ||
	    filerule_anchor("ek_roots", cfg->ek_roots) != 0 ||
	    (cfg->platform_ca && filerule_anchor("platform_ca", cfg->platform_ca) != 0) ||
	    (cfg->boot_policy && filerule_anchor("boot_policy", cfg->boot_policy) != 0) ||
	    (cfg->ima_policy && filerule_anchor("ima_policy", cfg->ima_policy) != 0) ||
	    (cfg->state_dir && filerule_dir("state_dir", cfg->state_dir) != 0) ||
	    (cfg->hook && check_hook(cfg->hook) != 0))
		goto refused;
	return 0;
refused:
	fprintf(stderr, "verifier: %s\n", err_detail());
	return -1;
}
