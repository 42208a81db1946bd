/* attestor: subcommands dispatched from a table, one <name>_main each. */
#define LOG_MODULE "attestor"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "array.h"
#include "config.h"
#include "crypto.h"
#include "driver.h"
#include "harden.h"
#include "filerule.h"
#include "keyfile.h"
#include "log.h"
#include "strsafe.h"
#include "rpc.h"
#include "secrets.h"
#include "hex.h"
#include "result.h"
#include "service.h"
#include "tpm.h"
#include "tpmpub.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: attestor [serve] --config FILE [--once [--wait SECONDS]]\n"
		"                 pull mode: serve the verifier until SIGINT/SIGTERM;\n"
		"                 push mode: attest to the verifier now and on its interval until\n"
		"                 SIGINT/SIGTERM, or --once: one attestation (waiting up to --wait\n"
		"                 seconds, default 30, for the verifier; 0: one try), exit 0 pass /\n"
		"                 1 fail / 2 configuration (also a refused verifier certificate) /\n"
		"                 3 verified but unjudged (the verifier has no reference)\n"
		"       attestor unseal NAME [-o FILE] --config FILE\n"
		"                 the delivered AES-256 key NAME: hex on stdout, or raw into FILE (0600)\n"
		"       attestor sign NAME [-o FILE] --config FILE < DATA\n"
		"                 RSASSA-SHA256 signature over DATA with the delivered RSA key NAME\n"
		"                 (raw bytes, as openssl dgst -sha256 -verify expects), on stdout or into FILE\n"
		"       attestor secrets --config FILE        list the delivered secrets\n"
		"       attestor token --config FILE [--nonce HEX]\n"
		"                 the last verdict, signed by the verifier (an EAR JWT for relying\n"
		"                 parties; check it with the verifier's JWKS); exit 1 when none is kept;\n"
		"                 --nonce (push): attest now with a relying party's nonce (8-64 bytes),\n"
		"                 which the token carries as eat_nonce; exit 0 pass / 1 fail\n"
		"       attestor help | --help | --version\n"
		"(installed as tpm-attestor)\n"
		"(timings of the exchange: scripts/bench.sh)\n");
}

/* --config FILE; returns 0 or prints why not. */
static int parse_args(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind != argc || !*config)
		goto bad;
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* The configuration, checked before it is read, and the state directory
 * every command uses (common/filerule.h): whoever could change either
 * decides whom this attestor answers, or holds its AK and sealed secrets. */
static int load_config(const char *path, struct attestor_config *cfg)
{
	int r = filerule_anchor("configuration", path);

	/* One that is not there: the loader says so. */
	if ((r != 0 && r != AERR_NOT_FOUND) || attestor_config_load(path, cfg) != 0 ||
	    filerule_dir("state_dir", cfg->state_dir) != 0) {
		fprintf(stderr, "attestor: %s\n", err_detail());
		return -1;
	}
	if (!getenv("ATTEST_LOG_LEVEL"))
		log_set_level((enum log_level)cfg->log_level);
	return 0;
}

/* The push driver's options from cfg. */
static void push_opts(const struct attestor_config *cfg, struct driver_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->verifier = cfg->verifier;
	o->tls.ca_file = cfg->tls.ca;
	o->tls.cert_file = cfg->tls.cert;
	o->tls.key_file = cfg->tls.key;
	o->tls.server_name = cfg->tls.server_name[0] ? cfg->tls.server_name : NULL;
	o->tls.insecure = cfg->tls.insecure;
	o->tpm.tcti = cfg->tcti;
	o->tpm.ek_alg = cfg->ek_alg;
	o->tpm.ak_alg = cfg->ak_alg;
	o->state_dir = cfg->state_dir;
	o->logs.event_log = cfg->event_log;
	o->logs.ima_log = cfg->ima_log;
	o->reattest_default_s = cfg->reattest_interval;
	o->retry_initial_ms = cfg->retry_initial_ms;
	o->retry_max_ms = cfg->retry_max_ms;
	o->timeout_ms = cfg->timeout_ms;
}

static int push_main(const struct attestor_config *cfg, int once, uint32_t wait_s)
{
	struct driver_opts o;
	struct driver_result res;
	char why[4 * sizeof(res.reason)];
	int r;

	push_opts(cfg, &o);
	rpc_global_init();
	r = driver_run(&o, once, once ? wait_s * 1000u : 0, &res);
	rpc_global_shutdown();
	if (!once) {
		if (r != 0 && r != AERR_CONFIG) /* the driver logged a refusal */
			LOG_ERR("%s", err_detail());
		/* 2 keeps systemd from restarting into the same refusal
		 * (RestartPreventExitStatus=2). */
		return r == 0 ? 0 : r == AERR_CONFIG ? 2 : 1;
	}
	if (r == 0 && res.pass) {
		printf("PASS %s resetCount %u restartCount %u total %.2f ms\n", cfg->verifier, res.reset_count,
		       res.restart_count, res.ms);
		return 0;
	}
	/* The reason is the verifier's text: a terminal gets it escaped. */
	strsafe(why, sizeof(why), res.reason[0] ? res.reason : err_detail(), STRSAFE_LINE);
	if (r == 0 && res.unjudged) {
		printf("VERIFIED %s resetCount %u restartCount %u total %.2f ms (%s)\n", cfg->verifier, res.reset_count,
		       res.restart_count, res.ms, why);
		return 3;
	}
	if (r == 0)
		fprintf(stderr, "FAIL %s\n", why);
	else if (r == AERR_CONFIG) {
		fprintf(stderr, "FAIL configuration: %s\n", why);
		return 2;
	} else if (r == AERR_RPC)
		fprintf(stderr, "FAIL transport: %s\n", why);
	else
		fprintf(stderr, "FAIL attestor: %s\n", why);
	return 1;
}

static int serve_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "once", no_argument, NULL, 'o' },
		{ "wait", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct attestor_config cfg;
	const char *path = NULL;
	int c, once = 0;
	unsigned long wait_s = 30;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:ow:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'o': once = 1; break;
		case 'w':
			wait_s = strtoul(optarg, &end, 10);
			if (*end || !*optarg || wait_s > 86400) {
				fprintf(stderr, "attestor: --wait takes seconds (0..86400), not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc || !path) {
		usage(stderr);
		return 2;
	}
	if (load_config(path, &cfg) != 0)
		return 2;
	/* Before the TPM is opened: a refused key costs no TPM object. The CA
	 * decides whom this attestor answers (common/filerule.h). */
	if ((!cfg.tls.insecure && keyfile_check("TLS key", cfg.tls.key) != 0) ||
	    (cfg.tls.ca[0] && filerule_anchor("TLS CA", cfg.tls.ca) != 0) ||
	    (cfg.tls.cert[0] && filerule_anchor("TLS certificate", cfg.tls.cert) != 0)) {
		fprintf(stderr, "attestor: %s\n", err_detail());
		return 2;
	}
	if (cfg.mode == CONFIG_MODE_PUSH)
		return push_main(&cfg, once, (uint32_t)wait_s);
	if (once) {
		fprintf(stderr, "attestor: --once needs mode = push (%s has mode = pull)\n", path);
		return 2;
	}
	if (service_pull_run(&cfg) != 0) {
		LOG_ERR("%s", err_detail());
		return 1;
	}
	return 0;
}

/* NAME [-o FILE] --config FILE, in any order. */
static int parse_secret_args(int argc, char **argv, const char **config, const char **name,
			     const char **outfile)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*config = *name = *outfile = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:o:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			*config = optarg;
			break;
		case 'o':
			*outfile = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			goto bad;
		}
	}
	if (optind + 1 != argc || !*config)
		goto bad;
	*name = argv[optind];
	return 0;
bad:
	usage(stderr);
	return -1;
}

/* The stored record of name, of the kind wanted, and the TPM to use it with. */
static int secret_open(const struct attestor_config *cfg, const char *name, enum secrets_kind kind,
		       struct secrets_record *rec, struct tpm **t)
{
	struct tpm_opts opts = { .tcti = cfg->tcti, .ek_alg = cfg->ek_alg, .ak_alg = cfg->ak_alg };
	int r;

	*t = NULL;
	if ((r = secrets_load(cfg->state_dir, name, rec)) != 0)
		return r;
	if (rec->kind != kind)
		return err_set(AERR_INVALID_ARG, "secret '%s' is an %s secret, not %s", name,
			       secrets_kind_name(rec->kind), secrets_kind_name(kind));
	return tpm_open(&opts, t);
}

static void secret_error(const char *cmd, const char *name, int r)
{
	fprintf(stderr, "attestor: %s '%s': %s: %s\n", cmd, name, err_str(r), err_detail());
}

static int unseal_main(int argc, char **argv)
{
	struct attestor_config cfg;
	struct secrets_record rec;
	struct tpm *t = NULL;
	const char *path, *name, *outfile;
	uint8_t key[TPM_MAX_SEALED];
	size_t len = 0, i;
	int r, rc = 1;

	if (parse_secret_args(argc, argv, &path, &name, &outfile) != 0 || load_config(path, &cfg) != 0)
		return 2;
	if ((r = secret_open(&cfg, name, SECRETS_KIND_AES256, &rec, &t)) != 0 ||
	    (r = tpm_unseal(t, rec.ek_alg, rec.pub, rec.pub_len, rec.priv, rec.priv_len, &rec.sel,
			    key, sizeof(key), &len)) != 0) {
		secret_error("unseal", name, r);
		goto out;
	}
	if (len != 32) {
		fprintf(stderr, "attestor: unseal '%s': sealed data of %zu bytes, not an AES-256 key\n",
			name, len);
		goto out;
	}
	if (outfile) {
		if ((r = secrets_write_file(outfile, key, len)) != 0) {
			secret_error("unseal", name, r);
			goto out;
		}
	} else {
		for (i = 0; i < len; i++)
			printf("%02x", key[i]);
		printf("\n");
		if (fflush(stdout) != 0) {
			fprintf(stderr, "attestor: unseal '%s': stdout: %s\n", name, strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	OPENSSL_cleanse(key, sizeof(key));
	tpm_close(t);
	return rc;
}

/* SHA-256 of all of stdin. */
static int sign_digest_stdin(uint8_t *digest)
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t buf[65536];
	ssize_t n;
	int r;

	if (!(ctx = EVP_MD_CTX_new()) || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "SHA-256");
		goto out;
	}
	for (;;) {
		if ((n = read(STDIN_FILENO, buf, sizeof(buf))) < 0) {
			if (errno == EINTR)
				continue;
			r = err_set(AERR_IO, "reading stdin: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		if (EVP_DigestUpdate(ctx, buf, (size_t)n) != 1) {
			r = crypto_ossl_err(AERR_CRYPTO, "SHA-256");
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, digest, NULL) != 1) {
		r = crypto_ossl_err(AERR_CRYPTO, "SHA-256");
		goto out;
	}
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	return r;
}

static int sign_main(int argc, char **argv)
{
	struct attestor_config cfg;
	struct secrets_record rec;
	struct tpm_signature sig;
	struct tpm *t = NULL;
	const char *path, *name, *outfile;
	uint8_t digest[32];
	int r, rc = 1;

	if (parse_secret_args(argc, argv, &path, &name, &outfile) != 0 || load_config(path, &cfg) != 0)
		return 2;
	/* Hash first: a slow producer on stdin must not hold the TPM. */
	if ((r = sign_digest_stdin(digest)) != 0 ||
	    (r = secret_open(&cfg, name, SECRETS_KIND_RSA, &rec, &t)) != 0 ||
	    (r = tpm_sign(t, rec.ek_alg, rec.pub, rec.pub_len, rec.priv, rec.priv_len, &rec.sel,
			  digest, sizeof(digest), &sig)) != 0) {
		secret_error("sign", name, r);
		goto out;
	}
	if (outfile) {
		if ((r = secrets_write_file(outfile, sig.raw, sig.raw_len)) != 0) {
			secret_error("sign", name, r);
			goto out;
		}
	} else if (fwrite(sig.raw, 1, sig.raw_len, stdout) != sig.raw_len || fflush(stdout) != 0) {
		fprintf(stderr, "attestor: sign '%s': stdout: %s\n", name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	tpm_close(t);
	return rc;
}

static int secrets_main(int argc, char **argv)
{
	struct attestor_config cfg;
	struct secrets_record rec;
	const char *path;
	char **names = NULL;
	size_t n = 0, i;
	int r;

	if (parse_args(argc, argv, &path) != 0 || load_config(path, &cfg) != 0)
		return 2;
	if ((r = secrets_list(cfg.state_dir, &names, &n)) != 0) {
		fprintf(stderr, "attestor: secrets: %s: %s\n", err_str(r), err_detail());
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (secrets_load(cfg.state_dir, names[i], &rec) != 0)
			printf("%s\tunreadable: %s\n", names[i], err_detail());
		else
			printf("%s\t%s\t%s EK\n", names[i], secrets_kind_name(rec.kind),
			       tpmpub_type_name(rec.ek_alg));
	}
	secrets_list_free(names, n);
	return 0;
}

/* token --nonce HEX: one attestation whose result carries a relying
 * party's nonce (push mode), the token printed; 0 on a pass. */
static int token_fresh(const struct attestor_config *cfg, const char *hex)
{
	uint8_t nonce[64];
	struct driver_opts o;
	struct driver_result res;
	int n, r;

	if ((n = hex_decode(hex, strlen(hex), nonce, sizeof(nonce))) < 8) {
		fprintf(stderr, "attestor: token --nonce: '%.40s' is not 8 to 64 bytes of hex\n", hex);
		return 2;
	}
	if (cfg->mode != CONFIG_MODE_PUSH) {
		fprintf(stderr, "attestor: token --nonce: pull mode: the verifier attests on its own schedule; a "
			"relying party's nonce needs push mode\n");
		return 2;
	}
	push_opts(cfg, &o);
	o.rp_nonce = nonce;
	o.rp_nonce_len = (size_t)n;
	rpc_global_init();
	r = driver_run(&o, 1, 30000u, &res);
	rpc_global_shutdown();
	if (!res.ear[0]) {
		fprintf(stderr, "attestor: token --nonce: no attestation result: %s\n",
			res.reason[0] ? res.reason : err_detail());
		return r == AERR_CONFIG ? 2 : 1;
	}
	printf("%s\n", res.ear);
	return r == 0 && res.pass ? 0 : 1;
}

static int token_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "nonce", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct attestor_config cfg;
	const char *path = NULL, *nonce = NULL;
	char *ear = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': path = optarg; break;
		case 'n': nonce = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!path || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (load_config(path, &cfg) != 0)
		return 2;
	if (nonce)
		return token_fresh(&cfg, nonce);
	if (result_load(cfg.state_dir, (int64_t)time(NULL), &ear) != 0) {
		fprintf(stderr, "attestor: token: %s\n", err_detail());
		return 1;
	}
	printf("%s\n", ear);
	free(ear);
	return 0;
}

static int help_main(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} subcommands[] = {
	{ "serve", serve_main },
	{ "unseal", unseal_main },
	{ "sign", sign_main },
	{ "secrets", secrets_main },
	{ "token", token_main },
	{ "help", help_main },
};

int main(int argc, char **argv)
{
	size_t i;

	/* Every subcommand handles secrets or the TPM: none may dump core. */
	if (harden_process() != 0) {
		fprintf(stderr, "attestor: %s\n", err_detail());
		return 1;
	}
	crypto_process_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return help_main(argc, argv);
	if (!strcmp(argv[1], "--version")) {
		printf("tpm-attestor (tpm-attest) %s\n", ATTEST_VERSION);
		return 0;
	}
	/* "attestor --config FILE" is "attestor serve --config FILE" */
	if (argv[1][0] == '-')
		return serve_main(argc, argv);
	for (i = 0; i < ARRAY_LEN(subcommands); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "attestor: unknown subcommand '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
