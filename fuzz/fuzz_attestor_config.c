/* The attestor's INI configuration file. */
#include <string.h>

#include "config.h"
#include "fuzz.h"

int fuzz_attestor_config_init(void)
{
	fuzz_quiet();
	return 0;
}

int fuzz_attestor_config(const uint8_t *data, size_t size)
{
	static struct attestor_config cfg;
	const char *path = fuzz_memfile(0, data, size);

	if (!path)
		return 0;
	if (attestor_config_load(path, &cfg) == 0) {
		/* Every string the loader keeps is terminated inside its field. */
		FUZZ_CHECK(memchr(cfg.listen, '\0', sizeof(cfg.listen)));
		FUZZ_CHECK(memchr(cfg.verifier, '\0', sizeof(cfg.verifier)));
		FUZZ_CHECK(memchr(cfg.tcti, '\0', sizeof(cfg.tcti)));
		FUZZ_CHECK(memchr(cfg.state_dir, '\0', sizeof(cfg.state_dir)));
		FUZZ_CHECK(memchr(cfg.event_log, '\0', sizeof(cfg.event_log)));
		FUZZ_CHECK(memchr(cfg.ima_log, '\0', sizeof(cfg.ima_log)));
		FUZZ_CHECK(memchr(cfg.tls.server_name, '\0', sizeof(cfg.tls.server_name)));
		/* A pull attestor over TLS always knows whom it answers. */
		FUZZ_CHECK(cfg.n_verifier_ids <= CONFIG_VERIFIER_IDS_MAX);
		FUZZ_CHECK(cfg.mode != CONFIG_MODE_PULL || cfg.tls.insecure || cfg.n_verifier_ids > 0);
		for (unsigned i = 0; i < cfg.n_verifier_ids; i++)
			FUZZ_CHECK(cfg.verifier_ids[i][0] &&
				   memchr(cfg.verifier_ids[i], '\0', sizeof(cfg.verifier_ids[i])));
		FUZZ_CHECK(cfg.ak_alg == TPM2_ALG_ECC || cfg.ak_alg == TPM2_ALG_RSA);
		FUZZ_CHECK(cfg.ek_alg == TPM2_ALG_ECC || cfg.ek_alg == TPM2_ALG_RSA);
	}
	return 0;
}
