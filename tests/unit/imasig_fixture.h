/* IMA signature test material for test_imasig and test_imapolicy: throwaway
 * keys and signed files made by tests/tools/imasig_make.sh at test time, and
 * binary IMA entries built around them the way the kernel lays them out. */
#ifndef TESTS_IMASIG_FIXTURE_H
#define TESTS_IMASIG_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "crypto.h"
#include "fixtures.h"
#include "ima.h"

/* Make the material in a new directory (dir gets its name); returns the
 * script's exit status (77: openssl missing, skip). IMASIG_SIGNER=openssl in
 * env_prefix forces openssl for every signature. */
static int imasig_fx_make(char dir[64], const char *env_prefix)
{
	char cmd[512];
	int rc;

	fixture_tmpdir(dir, 64, "test_imasig");
	snprintf(cmd, sizeof(cmd), "%s bash %s/tests/tools/imasig_make.sh %s >/dev/null", env_prefix, SOURCE_DIR, dir);
	rc = system(cmd);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void imasig_fx_remove(const char *dir)
{
	fixture_rmtree(dir);
}

/* dir/name read whole (caller frees), or NULL. */
static uint8_t *imasig_fx_read(const char *dir, const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return fixture_read(path, len);
}

/* H_alg of dir/file-NAME into digest. */
static int imasig_fx_digest(const char *dir, const char *name, TPM2_ALG_ID alg, uint8_t *digest)
{
	char file[64];
	size_t len;
	uint8_t *buf;
	int r;

	snprintf(file, sizeof(file), "file-%s", name);
	if (!(buf = imasig_fx_read(dir, file, &len)))
		return -1;
	r = crypto_digest(alg, buf, len, digest);
	free(buf);
	return r;
}

static size_t imasig_fx_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return 4;
}

/* Append one PCR 10 entry to out (4096 bytes free needed): template tmpl
 * ("ima-ng": no sig field; "ima-sig", "ima-sigv2"), digest field prefix
 * ("sha256:", "verity:sha256:"), digest, path, sig (sig_len 0: an empty sig
 * field). The template hash is right. Returns the bytes appended. */
static size_t imasig_fx_entry(uint8_t *out, const char *tmpl, const char *prefix, const uint8_t *digest,
			      size_t digest_len, const char *path, const uint8_t *sig, size_t sig_len)
{
	uint8_t data[4096], *p = data;
	size_t n = 0, plen = strlen(prefix), len;

	p += imasig_fx_u32(p, (uint32_t)(plen + 1 + digest_len));
	memcpy(p, prefix, plen + 1);
	p += plen + 1;
	memcpy(p, digest, digest_len);
	p += digest_len;
	p += imasig_fx_u32(p, (uint32_t)strlen(path) + 1);
	memcpy(p, path, strlen(path) + 1);
	p += strlen(path) + 1;
	if (strcmp(tmpl, "ima-ng") != 0) {
		p += imasig_fx_u32(p, (uint32_t)sig_len);
		if (sig_len)
			memcpy(p, sig, sig_len);
		p += sig_len;
	}
	len = (size_t)(p - data);
	n += imasig_fx_u32(out + n, IMA_PCR);
	if (crypto_digest(TPM2_ALG_SHA1, data, len, out + n) != 0)
		return 0;
	n += IMA_SHA1_SIZE;
	n += imasig_fx_u32(out + n, (uint32_t)strlen(tmpl));
	memcpy(out + n, tmpl, strlen(tmpl));
	n += strlen(tmpl);
	n += imasig_fx_u32(out + n, (uint32_t)len);
	memcpy(out + n, data, len);
	return n + len;
}

#endif
