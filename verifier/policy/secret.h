/* Secrets the verifier hands to hosts that pass: their definitions (loaded
 * once at start from the [secret NAME] sections of the configuration), which
 * host gets which, the TPM2_Import blob of each for the host's EK (software
 * only, common/duplicate.h), and the check of the host's proof of receipt.
 *
 *   aes256: a 32-byte key file, delivered as a sealed data object; proof =
 *           HMAC-SHA256(key, challenge), compared in constant time.
 *   rsa:    a PEM private key and its certificate, delivered as an RSA
 *           signing key; proof = TPMT_SIGNATURE (RSASSA-SHA256) over the
 *           challenge, verified with the certificate's key.
 * Both are usable only through PolicyPCR over the secret's selection and
 * expected values (default: the selection and values of the passing quote),
 * then PolicyCommandCode of their one command (Unseal, Sign).
 * Key material never appears in logs or error details. */
#ifndef VERIFIER_POLICY_SECRET_H
#define VERIFIER_POLICY_SECRET_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "err.h"
#include "pcrsel.h"
#include "policy/policy.h"

#define SECRET_NAME_MAX 64
#define SECRET_AES_LEN 32
#define SECRET_CHALLENGE_LEN 32
#define SECRET_MAX_PER_HOST 16
#define SECRET_MAX_HOSTS 64

/* Values of attest.v1.SecretKind. */
enum secret_kind { SECRET_AES256 = 1, SECRET_RSA = 2 };

/* One [secret NAME] section as written (config.c fills it; paths absolute). */
struct secret_conf {
	char name[SECRET_NAME_MAX + 1];
	enum secret_kind kind;            /* 0 = not given */
	char *key;                        /* file */
	char *cert;                       /* file (rsa) */
	size_t nhosts;                    /* 0 = every node */
	char *hosts[SECRET_MAX_HOSTS];    /* "ek:<hex SHA-256 of the EK public>", "name:NAME" or
					   * "group:GROUP" (assigned by an operator): never the
					   * attestor's own hostname claim */
	int has_pcrs;
	TPML_PCR_SELECTION pcrs;
	struct policy values;             /* empty = the passing quote's values */
};

/* A loaded definition. */
struct secret_def {
	const struct secret_conf *conf;
	uint8_t aes[SECRET_AES_LEN];
	EVP_PKEY *rsa_key;                /* rsa: private key, for the import blob */
	EVP_PKEY *cert_key;               /* rsa: the certificate's public key, for proofs */
};

struct secret_set {
	size_t n;
	struct secret_def *defs;
};

/* One secret wrapped for one host. */
struct secret_blob {
	const struct secret_def *def;
	TPM2_ALG_ID ek_alg;
	uint8_t pub[sizeof(TPM2B_PUBLIC)];            /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	uint8_t dup[sizeof(TPM2B_PRIVATE)];           /* TPM2B_PRIVATE wire bytes */
	size_t dup_len;
	uint8_t seed[sizeof(TPM2B_ENCRYPTED_SECRET)]; /* TPM2B_ENCRYPTED_SECRET wire bytes */
	size_t seed_len;
	TPML_PCR_SELECTION sel;                        /* what PolicyPCR must select */
	uint8_t challenge[SECRET_CHALLENGE_LEN];
};

/* Check a [secret NAME] name: 1..SECRET_NAME_MAX of [A-Za-z0-9._-], first a
 * letter or digit (the attestor stores it as a file name). */
int secret_name_check(const char *name) ATTEST_WUR;

/* Load every definition: the AES key must be exactly 32 bytes; the RSA key
 * must be a 2048-bit RSA private key whose public half is the certificate's.
 * AERR_CONFIG naming the secret and the file on any problem. */
int secret_set_load(const struct secret_conf *confs, size_t n, struct secret_set *out) ATTEST_WUR;
/* Wipes the keys; NULL-safe. */
void secret_set_free(struct secret_set *set);

#define SECRET_NODE_GROUPS 16

/* A node as secrets select it: what its TPM proves (the EK hash) and what
 * an operator assigned it (verifier enroll --name, --group). */
struct secret_node {
	const char *ek_hash;              /* hex SHA-256 of the EK public */
	const char *name;                 /* "" or NULL: none */
	size_t ngroups;
	const char *groups[SECRET_NODE_GROUPS];
};

/* A hosts entry as written: "*", "ek:" + 64 hex digits, "name:NAME" or
 * "group:NAME". AERR_CONFIG naming the entry otherwise (a bare name is the
 * attestor's hostname claim, which any host can make). */
int secret_host_check(const char *entry) ATTEST_WUR;

/* 1 when one entry of c's hosts selects node (no hosts: every node). */
int secret_conf_selects(const struct secret_conf *c, const struct secret_node *node);

/* The definitions for a node, in configuration order, at most
 * SECRET_MAX_PER_HOST. */
size_t secret_set_match(const struct secret_set *set, const struct secret_node *node, const struct secret_def **out);

/* The definitions named (a named policy's "secrets"), in the order
 * named; a name with no definition is skipped. */
size_t secret_set_by_names(const struct secret_set *set, const char *const *names, size_t n,
			   const struct secret_def **out);

/* Wrap def for the EK ek as new parent, usable under PolicyPCR over
 * (def's selection and values) or, where def names none, (quoted_sel, the
 * quoted values), followed by PolicyCommandCode(TPM2_CC_Unseal) for an AES
 * key, (TPM2_CC_Sign) for an RSA key: the policy grants that one command and
 * no other (not TPM2_Duplicate). A fresh challenge goes with it. */
int secret_blob_make(const struct secret_def *def, const TPMT_PUBLIC *ek, const TPML_PCR_SELECTION *quoted_sel,
		     const struct pcr_values *quoted, struct secret_blob *out) ATTEST_WUR;

/* The host's proof for blob: AERR_PROOF with a detail when it does not verify. */
int secret_proof_check(const struct secret_blob *blob, const uint8_t *proof, size_t len) ATTEST_WUR;

#endif
