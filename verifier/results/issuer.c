/* results/issuer.h. */
#define LOG_MODULE "results"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "results/issuer.h"

struct result_issuer {
	struct result_keys *keys;
	uint32_t ttl;
};

int result_issuer_open(const struct verifier_config *cfg, int create, struct result_issuer **out)
{
	const struct results_conf *rc = &cfg->results;
	struct result_issuer *is;
	int r;

	*out = NULL;
	if (!rc->sign)
		return 0;
	if (!(is = calloc(1, sizeof(*is))))
		return err_set(AERR_ALLOC, "results: out of memory");
	is->ttl = rc->ttl;
	if ((r = result_keys_load(rc->key, create, (const char *const *)rc->retired, rc->nretired, &is->keys)) != 0) {
		free(is);
		return r;
	}
	LOG_INFO("attestation results signed by %s (ES256, kid %s), valid %u s; %zu retired keys published", rc->key,
		 result_keys_kid(is->keys), is->ttl, rc->nretired);
	*out = is;
	return 0;
}

void result_issuer_free(struct result_issuer *is)
{
	if (!is)
		return;
	result_keys_free(is->keys);
	free(is);
}

const struct result_keys *result_issuer_keys(const struct result_issuer *is)
{
	return is ? is->keys : NULL;
}

int result_issue(const struct result_issuer *is, struct ear_input *in, char **jwt, int *status)
{
	char *claims = NULL;
	int r;

	*jwt = NULL;
	in->iat = (int64_t)time(NULL);
	in->ttl = is->ttl;
	in->developer = "tpm-attest";
	in->build = "tpm-verifier " ATTEST_VERSION;
	if ((r = ear_claims(in, &claims, status)) == 0)
		r = result_sign(is->keys, claims, strlen(claims), jwt);
	free(claims);
	if (r == 0) {
		char labels[64];

		snprintf(labels, sizeof(labels), "status=\"%s\"", ear_status_name(*status));
		metrics_inc("attest_results_signed_total", labels, 1);
	}
	return r;
}
