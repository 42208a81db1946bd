/* cli_check_files (cli/commands.h): before serve or attest opens a port or
 * the store, the private keys it will use pass common/keyfile.h's rule and
 * the files it trusts pass common/filerule.h's. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"
#include "config.h"
#include "filerule.h"
#include "keyfile.h"

/* The hook runs as /bin/sh -c COMMAND: every word of it that names an
 * existing file by an absolute path (the program, a script it runs, a
 * file it reads), quotes and shell punctuation around it taken off, is
 * trusted like the configuration. What it names that does not exist yet
 * (a file it writes), through PATH or in any other way is not judged:
 * keep the command a program and its arguments. */
static int check_hook(const char *hook)
{
	static const char punct[] = "\"'();|&<>`";
	char word[4096];
	struct stat st;

	for (const char *p = hook; *p;) {
		const char *path;
		size_t n;

		p += strspn(p, " \t");
		n = strcspn(p, " \t");
		if (n >= sizeof(word))
			return err_set(AERR_CONFIG, "hook: a word of %zu characters", n);
		memcpy(word, p, n);
		word[n] = '\0';
		p += n;
		while (n && strchr(punct, word[n - 1]))
			word[--n] = '\0';
		path = word + strspn(word, punct);
		if (path[0] != '/' && strchr(path, '='))
			path = strchr(path, '=') + 1; /* VAR=/path, as env takes it */
		if (path[0] == '/' && lstat(path, &st) == 0 && filerule_anchor("hook", path) != 0)
			return AERR_CONFIG;
	}
	return 0;
}

int cli_check_config_file(const char *config)
{
	int r = filerule_anchor("configuration", config);

	/* One that is not there: the loader says so, as it always has. */
	if (r == 0 || r == AERR_NOT_FOUND)
		return 0;
	fprintf(stderr, "verifier: %s\n", err_detail());
	return -1;
}

int cli_check_files(const struct verifier_config *cfg)
{
	size_t i;

	if (!cfg->tls.insecure && keyfile_check("TLS key", cfg->tls.key) != 0)
		goto refused;
	/* The dashboard's token opens every node's record: a key like the others. */
	if (cfg->web.listen && keyfile_check("[web] token_file", cfg->web.token_file) != 0)
		goto refused;
	for (i = 0; i < cfg->nsecrets; i++)
		if (keyfile_check("secret key", cfg->secrets[i].key) != 0 ||
		    (cfg->secrets[i].cert && filerule_anchor("secret certificate", cfg->secrets[i].cert) != 0))
			goto refused;
	if ((cfg->tls.ca[0] && filerule_anchor("TLS CA", cfg->tls.ca) != 0) ||
	    (cfg->admin.ca[0] && filerule_anchor("[admin] ca", cfg->admin.ca) != 0) ||
	    (cfg->tls.cert[0] && filerule_anchor("TLS certificate", cfg->tls.cert) != 0) ||
	    (cfg->require_ek_cert && filerule_anchor("ek_roots", cfg->ek_roots) != 0) ||
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
