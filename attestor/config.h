/* attestor configuration: INI (common/conf.h's loader), see
 * examples/attestor-pull.conf. */
#ifndef ATTEST_ATTESTOR_CONFIG_H
#define ATTEST_ATTESTOR_CONFIG_H

#include <limits.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "conf.h"
#include "err.h"
#include "rpc.h"

enum config_mode { CONFIG_MODE_PULL = 0, CONFIG_MODE_PUSH = 1 };

/* [tls] verifier_identity: how many names, and the longest (the TLS identity
 * limit of common/rpc: a certificate's first subjectAltName). */
#define CONFIG_VERIFIER_IDS_MAX 8
#define CONFIG_IDENTITY_MAX RPC_IDENTITY_MAX

struct attestor_config {
	enum config_mode mode;
	char listen[256];          /* pull: address to serve on */
	char verifier[256];        /* push: the verifier's HOST:PORT */
	uint32_t reattest_interval; /* push: seconds between attestations when the verdict names none */
	uint32_t retry_initial_ms; /* push: first backoff step for an unreachable verifier */
	uint32_t retry_max_ms;     /* push: backoff cap */
	int timeout_ms;            /* push: deadline of each call */
	char tcti[512];
	TPMI_ALG_PUBLIC ak_alg;    /* TPM2_ALG_ECC | TPM2_ALG_RSA */
	TPMI_ALG_PUBLIC ek_alg;    /* parent EK: TPM2_ALG_RSA | TPM2_ALG_ECC */
	char state_dir[PATH_MAX];
	char event_log[PATH_MAX];  /* TCG boot event log sent with quotes; "" = none */
	char ima_log[PATH_MAX];    /* IMA binary measurement list sent with quotes; "" = none */
	int log_level;             /* enum log_level */
	struct conf_tls tls;       /* [tls], as the verifier's; server_name (push): the name
				    * expected in the verifier's certificate, "" = its host */
	/* [tls] verifier_identity (pull): the only TLS identities (first
	 * subjectAltName) whose calls are answered; required unless insecure,
	 * refused in push mode (there server_name pins the verifier). */
	char verifier_ids[CONFIG_VERIFIER_IDS_MAX][CONFIG_IDENTITY_MAX + 1];
	unsigned n_verifier_ids;
};

/* Defaults, then the file. Unknown section/key, bad value or a file that
 * cannot be read: AERR_CONFIG with "FILE:LINE: ..." as detail. Relative paths are
 * resolved against the config file's directory. Whole-file rules, AERR_CONFIG
 * naming the key: push needs verifier; TLS needs ca, cert and key; pull over
 * TLS needs verifier_identity, which push and insecure refuse. */
int attestor_config_load(const char *path, struct attestor_config *out) ATTEST_WUR;

#endif
