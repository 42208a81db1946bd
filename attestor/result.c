/* attestor/result.h. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64url.h"
#include "file.h"
#include "result.h"
#include "secrets.h"

int result_token_ok(const char *s)
{
	size_t n = s ? strnlen(s, RESULT_TOKEN_MAX + 1) : 0, dots = 0;

	if (n == 0 || n > RESULT_TOKEN_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			   c == '_'))
			return 0;
	}
	return dots == 2;
}

static int result_path(const char *state_dir, char *path, size_t cap)
{
	if ((size_t)snprintf(path, cap, "%s/%s", state_dir, RESULT_FILE) >= cap)
		return err_set(AERR_IO, "%s: path too long", state_dir);
	return 0;
}

int result_save(const char *state_dir, const char *ear)
{
	char path[4096];
	int r;

	if (!result_token_ok(ear))
		return err_set(AERR_INVALID_ARG, "the attestation result is not a token (base64url with two dots, "
			       "at most %d characters)", RESULT_TOKEN_MAX);
	if ((r = result_path(state_dir, path, sizeof(path))) != 0)
		return r;
	return secrets_write_file(path, (const uint8_t *)ear, strlen(ear));
}

/* The exp claim of a token's payload (the verifier writes it as
 * "exp":N); -1 when there is none. */
static int64_t result_exp(const char *token)
{
	const char *d1 = strchr(token, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL, *e;
	uint8_t payload[RESULT_TOKEN_MAX];
	long n;

	if (!d2 || (n = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), payload, sizeof(payload) - 1)) < 0)
		return -1;
	payload[n] = '\0';
	if (!(e = strstr((const char *)payload, "\"exp\":")))
		return -1;
	return strtoll(e + 6, NULL, 10);
}

void result_clear(const char *state_dir)
{
	char path[4096];

	if (result_path(state_dir, path, sizeof(path)) == 0)
		(void)unlink(path);
}

int result_load(const char *state_dir, int64_t now, char **ear)
{
	int64_t exp;
	char path[4096];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*ear = NULL;
	if ((r = result_path(state_dir, path, sizeof(path))) != 0)
		return r;
	if ((r = file_read_all(path, RESULT_TOKEN_MAX + 1, &buf, &len)) != 0)
		return r == AERR_NOT_FOUND ? err_set(AERR_NOT_FOUND, "no attestation result kept in %s yet", state_dir)
					   : r;
	buf[len] = '\0';
	if (!result_token_ok((const char *)buf)) {
		free(buf);
		return err_set(AERR_PARSE, "%s: not a token", path);
	}
	if ((exp = result_exp((const char *)buf)) <= now) {
		free(buf);
		return exp < 0 ? err_set(AERR_PARSE, "%s: a token without exp", path)
			       : err_set(AERR_STATE, "the kept attestation result expired %lld s ago",
					 (long long)(now - exp));
	}
	*ear = (char *)buf;
	return 0;
}
