/* cli_check_keys (cli/commands.h): before serve or attest opens a port or
 * the store, the private keys it will use pass common/keyfile.h's rule. */
#include <stdio.h>

#include "cli/commands.h"
#include "config.h"
#include "keyfile.h"

int cli_check_keys(const struct verifier_config *cfg)
{
	size_t i;

	if (!cfg->tls.insecure && keyfile_check("TLS key", cfg->tls.key) != 0)
		goto refused;
	for (i = 0; i < cfg->nsecrets; i++)
		if (keyfile_check("secret key", cfg->secrets[i].key) != 0)
			goto refused;
	return 0;
refused:
	fprintf(stderr, "verifier: %s\n", err_detail());
	return -1;
}
