/* verifier jwks | verify-token (cli/commands.h): the keys relying parties
 * check attestation results with, and a result checked offline the way a
 * relying party would (signature by a published key, expiry, status). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "cli/commands.h"
#include "config.h"
#include "file.h"
#include "jsonout.h"
#include "results/ear.h"
#include "results/issuer.h"
#include "strsafe.h"

/* The keys of --config's [results] (the private key read, not made). */
static int results_keys_of_config(const char *config, struct result_issuer **is)
{
	struct verifier_config *cfg = NULL;
	int rc = CLI_EXIT_USAGE;

	*is = NULL;
	if (cli_check_config_file(config) != 0)
		return CLI_EXIT_USAGE;
	if (verifier_config_load(config, &cfg) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		return CLI_EXIT_USAGE;
	}
	if (!cfg->results.sign)
		fprintf(stderr, "verifier: %s signs no attestation results ([results] sign = false, or no key and "
			"no state_dir)\n", config);
	else if (result_issuer_open(cfg, 0, is) != 0)
		fprintf(stderr, "verifier: %s%s\n", err_detail(),
			strstr(err_detail(), "does not exist") ? " (verifier serve makes it at its first start)" : "");
	else
		rc = CLI_EXIT_PASS;
	verifier_config_free(cfg);
	return rc;
}

int jwks_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct result_issuer *is = NULL;
	const char *config = NULL;
	char *json = NULL;
	int opt, rc;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'h': printf("usage: verifier %s\n", CLI_JWKS_USAGE); return CLI_EXIT_PASS;
		default: goto usage;
		}
	}
	if (!config || optind != argc)
		goto usage;
	if ((rc = results_keys_of_config(config, &is)) != CLI_EXIT_PASS)
		return rc;
	if (result_jwks(result_issuer_keys(is), &json) != 0) {
		fprintf(stderr, "verifier: %s\n", err_detail());
		rc = CLI_EXIT_FAIL;
	} else {
		printf("%s\n", json);
	}
	free(json);
	result_issuer_free(is);
	return rc;
usage:
	fprintf(stderr, "usage: verifier %s\n", CLI_JWKS_USAGE);
	return CLI_EXIT_USAGE;
}

/* A claim of the payload as text for the terminal ("" when absent). */
static const char *claim_text(struct json_object *o, const char *key, char *buf, size_t cap)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return "";
	strsafe(buf, cap, json_object_get_string(v), STRSAFE_LINE);
	return buf;
}

/* What the checked token says: its node, status, vector, expiry. 0 when it
 * affirms the node and has not expired, else 1 (with the reason printed). */
static int token_report(const char *payload, const char *kid, int json)
{
	struct json_object *root = json_tokener_parse(payload), *subs, *exp, *iat;
	char buf[1024], reason[1024], status[32] = "", node[80] = "";
	int64_t now = (int64_t)time(NULL), expires = 0;
	int rc = CLI_EXIT_FAIL, nsub = 0;

	if (!root || !json_object_object_get_ex(root, "submods", &subs) || !json_object_is_type(subs, json_type_object) ||
	    !json_object_object_get_ex(root, "exp", &exp) || !json_object_object_get_ex(root, "iat", &iat)) {
		fprintf(stderr, "verifier: the token's claims are no attestation result (submods, iat, exp)\n");
		goto out;
	}
	expires = json_object_get_int64(exp);
	if (json) {
		printf("{\"kid\": \"%s\", \"claims\": %s}\n", kid,
		       json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	} else {
		printf("signature   ok (ES256, key %s)\n", kid);
		printf("profile     %s\n", claim_text(root, "eat_profile", buf, sizeof(buf)));
	}
	json_object_object_foreach(subs, label, sm) {
		struct json_object *tv, *ext;

		nsub++;
		strsafe(node, sizeof(node), label, STRSAFE_LINE);
		claim_text(sm, "ear.status", status, sizeof(status));
		if (json)
			continue;
		printf("node        %s\n", node);
		printf("status      %s\n", status);
		if (json_object_object_get_ex(sm, "ear.trustworthiness-vector", &tv))
			printf("vector      %s\n", json_object_to_json_string_ext(tv, JSON_C_TO_STRING_PLAIN));
		printf("policy      %s\n", claim_text(sm, "ear.appraisal-policy-id", buf, sizeof(buf)));
		if (json_object_object_get_ex(sm, "ear.tpm-attest.node", &ext)) {
			if (*claim_text(ext, "name", buf, sizeof(buf)))
				printf("name        %s\n", buf);
			printf("verdict     %s\n", claim_text(ext, "verdict", buf, sizeof(buf)));
			if (*claim_text(ext, "failed_check", buf, sizeof(buf)))
				printf("failed      %s: %s\n", buf, claim_text(ext, "reason", reason, sizeof(reason)));
		}
	}
	if (!json)
		printf("issued      %lld, expires %lld (%s)\n", (long long)json_object_get_int64(iat), (long long)expires,
		       expires > now ? "valid" : "EXPIRED");
	if (nsub != 1)
		fprintf(stderr, "verifier: the token holds %d submodules, not one node's\n", nsub);
	else if (expires <= now)
		fprintf(stderr, "verifier: the token expired %lld s ago\n", (long long)(now - expires));
	else if (strcmp(status, "affirming") != 0)
		fprintf(stderr, "verifier: the result does not affirm node %.16s...: %s\n", node, status);
	else
		rc = CLI_EXIT_PASS;
out:
	json_object_put(root);
	return rc;
}

/* The token: the argument, or stdin for "-". */
static char *token_arg(const char *arg)
{
	char *t = NULL;
	size_t cap = 0;
	ssize_t n;

	if (strcmp(arg, "-") != 0)
		return strdup(arg);
	if ((n = getline(&t, &cap, stdin)) < 0) {
		free(t);
		return NULL;
	}
	while (n > 0 && (t[n - 1] == '\n' || t[n - 1] == '\r'))
		t[--n] = '\0';
	return t;
}

int verify_token_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "jwks", required_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL, *jwks = NULL;
	struct result_issuer *is = NULL;
	struct result_keys *fromjwks = NULL;
	const struct result_keys *keys;
	char kid[RESULT_KID_LEN + 1], *token = NULL, *payload = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int opt, json = 0, rc = CLI_EXIT_USAGE;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "c:k:jh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config = optarg; break;
		case 'k': jwks = optarg; break;
		case 'j': json = 1; break;
		case 'h': printf("usage: verifier %s\n", CLI_VERIFY_TOKEN_USAGE); return CLI_EXIT_PASS;
		default: goto usage;
		}
	}
	if (!config == !jwks || optind + 1 != argc)
		goto usage;
	if (jwks) {
		if (file_read_all(jwks, 1u << 20, &buf, &len) != 0 ||
		    (buf[len] = '\0', result_keys_from_jwks((const char *)buf, &fromjwks)) != 0) {
			fprintf(stderr, "verifier: --jwks %s: %s\n", jwks, err_detail());
			goto out;
		}
		keys = fromjwks;
	} else {
		if ((rc = results_keys_of_config(config, &is)) != CLI_EXIT_PASS)
			goto out;
		keys = result_issuer_keys(is);
	}
	rc = CLI_EXIT_FAIL;
	if (!(token = token_arg(argv[optind]))) {
		fprintf(stderr, "verifier: no token on stdin\n");
		goto out;
	}
	if (result_verify(keys, token, &payload, kid) != 0) {
		fprintf(stderr, "verifier: the token is refused: %s\n", err_detail());
		goto out;
	}
	rc = token_report(payload, kid, json);
out:
	free(payload);
	free(token);
	free(buf);
	result_keys_free(fromjwks);
	result_issuer_free(is);
	return rc;
usage:
	fprintf(stderr, "usage: verifier %s\n", CLI_VERIFY_TOKEN_USAGE);
	return CLI_EXIT_USAGE;
}
