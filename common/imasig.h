/* IMA file signatures: the security.ima xattr that ima-sig, ima-sigv2 and
 * ima-modsig entries carry in their sig field, checked against trusted keys.
 *
 * Layout (kernel struct signature_v2_hdr, multi-byte fields big endian):
 *   u8 type | u8 version | u8 hash_algo | be32 keyid | be16 sig_size | sig
 * type 3 (EVM_IMA_XATTR_DIGSIG) or 6 (IMA_VERITY_DIGSIG, fs-verity);
 * hash_algo is the kernel's enum hash_algo (2 sha1, 4 sha256, 5 sha384,
 * 6 sha512, 7 sha224, 17 sm3), not a TPM id; keyid is the last 4 bytes of
 * the SHA-1 of the key's subjectPublicKey (what evmctl writes and what
 * openssl puts in a certificate's subjectKeyIdentifier); sig is PKCS#1 v1.5
 * (RSA) or a DER ECDSA-Sig-Value (ECDSA).
 * Version 2 signs the file digest itself. Version 3 signs
 * H(type | hash_algo | digest) (kernel struct ima_file_id, digest cut to its
 * size), so a signature cannot be replayed as one over another kind of
 * digest; fs-verity signatures are always version 3. Both use hash_algo. */
#ifndef ATTEST_IMASIG_H
#define ATTEST_IMASIG_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "ima.h"

#define IMASIG_TYPE_DIGSIG 3u
#define IMASIG_TYPE_VERITY 6u
#define IMASIG_HDR_SIZE 9u

struct imasig_hdr {
	uint8_t type;
	uint8_t version;
	uint8_t hash_algo;        /* kernel enum hash_algo */
	uint32_t keyid;
	const uint8_t *sig;       /* into the caller's buffer */
	uint16_t sig_len;
};

/* Parse the header of buf (the whole sig field). Errors: AERR_PARSE (shorter
 * than the header, type not 3 or 6, sig_size not the bytes that follow),
 * AERR_UNSUPPORTED (version other than 2 or 3). */
int imasig_parse(const uint8_t *buf, size_t len, struct imasig_hdr *out) ATTEST_WUR;

/* Kernel name of a hash_algo ("sha256"), NULL when we do not verify with it. */
const char *imasig_hash_name(uint8_t hash_algo);

struct imasig_keys;

int imasig_keys_new(struct imasig_keys **out) ATTEST_WUR;

/* Add the public keys of a file: PEM (any number of CERTIFICATE and PUBLIC
 * KEY blocks) or DER (one X.509 certificate or SubjectPublicKeyInfo). RSA and
 * EC keys only. A certificate's subjectKeyIdentifier, when it differs from
 * the computed id, is accepted as a second id (the kernel looks keys up by
 * it). Errors: AERR_NOT_FOUND / AERR_IO (file), AERR_CONFIG (no key in it,
 * a private key, another key type), AERR_ALLOC. */
int imasig_keys_add_file(struct imasig_keys *k, const char *path) ATTEST_WUR;

size_t imasig_keys_count(const struct imasig_keys *k);

/* The key id (as in the header) of key number i, or 0 past the end. */
uint32_t imasig_keys_id(const struct imasig_keys *k, size_t i);

/* NULL-safe. */
void imasig_keys_free(struct imasig_keys *k);

/* Check entry e's sig field against k. 0 when a trusted key with the
 * header's key id verifies it over e's file digest. Errors, each with a
 * detail that names the entry's path: AERR_NOT_FOUND (e has no signature, or
 * no key has its key id), AERR_PARSE / AERR_UNSUPPORTED (as imasig_parse;
 * also a hash algorithm we cannot verify), AERR_SIGNATURE (the signature's
 * hash algorithm is not the one of the measured digest, or no key with the id
 * verifies it), AERR_CRYPTO. */
int imasig_verify(const struct imasig_keys *k, const struct ima_entry *e) ATTEST_WUR;

#endif
