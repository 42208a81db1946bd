/* The attestor's secret store: what DeliverSecrets received, kept so that
 * `attestor unseal`/`attestor sign` can use it later. One file per secret in
 * <state_dir>/secrets (directory 0700, files 0600), each written atomically
 * (temporary file in the same directory, fsync, rename, fsync of the
 * directory): a reader sees the old record or the new one, never a part.
 * A record holds the TPM2B_PUBLIC and the TPM2B_PRIVATE that TPM2_Import
 * returned (wrapped by the EK: useless without this TPM), never a plaintext
 * key. Records end in a SHA-256 checksum so that a damaged file is reported
 * as such rather than handed to the TPM. */
#ifndef ATTEST_SECRETS_H
#define ATTEST_SECRETS_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "err.h"

#define SECRETS_NAME_MAX 64
#define SECRETS_DIR "secrets"

/* Values of attest.v1.SecretKind. */
enum secrets_kind { SECRETS_KIND_AES256 = 1, SECRETS_KIND_RSA = 2 };

struct secrets_record {
	char name[SECRETS_NAME_MAX + 1];
	enum secrets_kind kind;
	TPMI_ALG_PUBLIC ek_alg;                /* the EK that is the parent */
	TPML_PCR_SELECTION sel;                /* what PolicyPCR selects */
	uint8_t pub[sizeof(TPM2B_PUBLIC)];     /* TPM2B_PUBLIC wire bytes */
	size_t pub_len;
	uint8_t priv[sizeof(TPM2B_PRIVATE)];   /* TPM2B_PRIVATE wire bytes from TPM2_Import */
	size_t priv_len;
};

/* A name is 1..SECRETS_NAME_MAX characters of [A-Za-z0-9._-], starting with
 * a letter or digit (so never ".", ".." or a hidden temporary file).
 * AERR_INVALID_ARG with a detail naming the problem. */
int secrets_name_check(const char *name) ATTEST_WUR;

/* Kind by name ("aes256", "rsa") and back; 0 / NULL when unknown. */
const char *secrets_kind_name(enum secrets_kind kind);

/* Write rec as <state_dir>/secrets/<name>, replacing a record of that name.
 * state_dir and the secrets directory are created (0700) when missing; a
 * secrets directory open to others is narrowed to 0700. AERR_INVALID_ARG
 * for a bad name, kind, ek_alg or empty blobs; AERR_IO with the path and
 * the reason. */
int secrets_store(const char *state_dir, const struct secrets_record *rec) ATTEST_WUR;

/* Read the record of name. AERR_NOT_FOUND when there is none; AERR_PARSE
 * with a detail (path and what is wrong) when the file is damaged;
 * AERR_INVALID_ARG for a bad name. */
int secrets_load(const char *state_dir, const char *name, struct secrets_record *out) ATTEST_WUR;

/* Names of the stored records, sorted; temporary files and anything that is
 * not a valid name are skipped. Callee-allocated; free with
 * secrets_list_free. No secrets directory = an empty list. */
int secrets_list(const char *state_dir, char ***names, size_t *count) ATTEST_WUR;
void secrets_list_free(char **names, size_t count);

/* Write len bytes to path atomically with mode 0600 (temporary file next to
 * it, fsync, rename, fsync of the directory). For key material handed to
 * the operator (`attestor unseal -o`). AERR_IO with path and reason. */
int secrets_write_file(const char *path, const uint8_t *data, size_t len) ATTEST_WUR;

#endif
