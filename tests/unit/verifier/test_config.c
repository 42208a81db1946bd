/* Verifier configuration: defaults, every key, path resolution, and refusal of
 * unknown or bad entries with the file and line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "fixtures.h"
#include "log.h"
#include "pcrsel.h"

static char dir[64];
static char path[128];

static void write_conf(const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	fixture_tmpdir(dir, sizeof(dir), "test_config");
	snprintf(path, sizeof(path), "%s/v.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fixture_rmtree(dir);
	return 0;
}

static void load_fails(const char *text, const char *needle)
{
	struct verifier_config *c = (void *)1;

	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), AERR_CONFIG);
	assert_null(c);
	if (!strstr(err_detail(), needle))
		fail_msg("detail '%s' does not contain '%s'", err_detail(), needle);
}

static const char *TLS = "[tls]\nca = ca.pem\ncert = v.pem\nkey = v.key\n";

static void test_defaults(void **state)
{
	struct verifier_config *c = NULL;
	TPML_PCR_SELECTION def;

	(void)state;
	write_conf(TLS);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->mode, CONFIG_MODE_PULL);
	assert_string_equal(c->ek_roots, CONFIG_DEFAULT_EK_ROOTS);
	assert_int_equal(c->ek_alg, TPM2_ALG_RSA);
	assert_int_equal(c->require_ek_cert, 1);
	assert_null(c->platform_ca);
	assert_int_equal(c->require_platform_cert, 0);
	assert_int_equal(pcrsel_parse("sha256:0-7+sha1:0-7", &def), 0);
	assert_true(pcrsel_equal(&c->pcrs, &def));
	assert_int_equal(c->ak_alg, TPM2_ALG_ECC);
	assert_int_equal(c->nonce_ttl, 60);
	assert_int_equal(c->timeout_ms, 10000);
	assert_int_equal(c->log_level, LOG_LEVEL_INFO);
	assert_int_equal(c->tls.insecure, 0);
	assert_string_equal(c->tls.server_name, "");
	assert_int_equal(c->policy.n, 0);
	/* Relative TLS paths are resolved against the config file's directory. */
	{
		char want[192];
		snprintf(want, sizeof(want), "%s/ca.pem", dir);
		assert_string_equal(c->tls.ca, want);
		snprintf(want, sizeof(want), "%s/v.key", dir);
		assert_string_equal(c->tls.key, want);
	}
	verifier_config_free(c);
}

static void test_all_keys(void **state)
{
	struct verifier_config *c = NULL;
	TPML_PCR_SELECTION want;
	char p[192];

	(void)state;
	write_conf("; comment\n"
		   "[verifier]\n"
		   "mode = pull\n"
		   "ek_roots = roots\n"
		   "ek_alg = ecc\n"
		   "require_ek_cert = true\n"
		   "platform_ca = /etc/pca\n"
		   "require_platform_cert = true\n"
		   "pcrs = sha256:0,1,2,7\n"
		   "ak_alg = any\n"
		   "nonce_ttl = 5\n"
		   "timeout_ms = 250\n"
		   "log_level = debug\n"
		   "[tls]\n"
		   "insecure = true\n"
		   "server_name = attestor.example\n"
		   "[policy]\n"
		   "sha256.7 = 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
		   "sha256.1 = 0000000000000000000000000000000000000000000000000000000000000000 ; zeros\n");
	assert_int_equal(verifier_config_load(path, &c), 0);
	snprintf(p, sizeof(p), "%s/roots", dir);
	assert_string_equal(c->ek_roots, p);
	assert_int_equal(c->ek_alg, TPM2_ALG_ECC);
	assert_int_equal(c->require_ek_cert, 1);
	assert_string_equal(c->platform_ca, "/etc/pca");
	assert_int_equal(c->require_platform_cert, 1);
	assert_int_equal(pcrsel_parse("sha256:0,1,2,7", &want), 0);
	assert_true(pcrsel_equal(&c->pcrs, &want));
	assert_int_equal(c->ak_alg, TPM2_ALG_NULL);
	assert_int_equal(c->nonce_ttl, 5);
	assert_int_equal(c->timeout_ms, 250);
	assert_int_equal(c->log_level, LOG_LEVEL_DEBUG);
	assert_int_equal(c->tls.insecure, 1);
	assert_string_equal(c->tls.ca, "");
	assert_string_equal(c->tls.server_name, "attestor.example");
	assert_int_equal(c->policy.n, 2);
	assert_int_equal(c->policy.e[0].index, 7);
	assert_int_equal(c->policy.e[0].value[1], 0x23);
	assert_int_equal(c->policy.e[1].index, 1);
	verifier_config_free(c);
}

static void test_rejects(void **state)
{
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text), "[verifier]\nmode = pull\n\nek_algo = rsa\n%s", TLS);
	load_fails(text, ":4: unknown key 'ek_algo' in [verifier]");
	snprintf(text, sizeof(text), "%s[tls]\ncrt = x\n", TLS);
	load_fails(text, ":6: unknown key 'crt' in [tls]");
	snprintf(text, sizeof(text), "%s\n[verfier]\nmode = pull\n", TLS);
	load_fails(text, ":7: unknown section [verfier]");
	snprintf(text, sizeof(text), "[verifier]\nrequire_ek_cert = maybe\n%s", TLS);
	load_fails(text, ":2: require_ek_cert must be true or false");
	snprintf(text, sizeof(text), "[verifier]\nmode = sideways\n%s", TLS);
	load_fails(text, ":2: mode must be pull or push");
	snprintf(text, sizeof(text), "[verifier]\nek_alg = dsa\n%s", TLS);
	load_fails(text, ":2: ek_alg must be rsa or ecc");
	snprintf(text, sizeof(text), "[verifier]\nak_alg = any2\n%s", TLS);
	load_fails(text, ":2: ak_alg");
	snprintf(text, sizeof(text), "[verifier]\nnonce_ttl = 0\n%s", TLS);
	load_fails(text, ":2: nonce_ttl");
	snprintf(text, sizeof(text), "[verifier]\nnonce_ttl = 10s\n%s", TLS);
	load_fails(text, ":2: nonce_ttl");
	snprintf(text, sizeof(text), "[verifier]\ntimeout_ms = -5\n%s", TLS);
	load_fails(text, ":2: timeout_ms");
	snprintf(text, sizeof(text), "[verifier]\npcrs = sha256:0-99\n%s", TLS);
	load_fails(text, ":2: pcrs");
	snprintf(text, sizeof(text), "[verifier]\nlog_level = loud\n%s", TLS);
	load_fails(text, ":2: log_level");
	snprintf(text, sizeof(text), "%s[policy]\nsha256.0 = 00\n", TLS);
	load_fails(text, ":6: policy sha256.0");
	snprintf(text, sizeof(text), "[verifier]\nthis line has no equals sign\n%s", TLS);
	load_fails(text, ":2: syntax error");
	/* Whole-file rules. */
	load_fails("[verifier]\nmode = pull\n", "[tls] ca, cert and key are required");
	snprintf(text, sizeof(text), "[verifier]\nrequire_platform_cert = true\n%s", TLS);
	load_fails(text, "needs platform_ca");
	snprintf(text, sizeof(text),
		 "[verifier]\npcrs = sha256:0-3\n%s[policy]\nsha256.4 = "
		 "0000000000000000000000000000000000000000000000000000000000000000\n", TLS);
	load_fails(text, "PCR 4 bank sha256 is not in the quoted selection");
}

static void test_push_keys(void **state)
{
	struct verifier_config *c = NULL;
	char text[1024];

	(void)state;
	write_conf(TLS);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_null(c->listen);
	assert_int_equal(c->session_ttl, 60);
	assert_int_equal(c->reattest_interval, 300);
	assert_int_equal(c->max_sessions, 1024);
	verifier_config_free(c);

	snprintf(text, sizeof(text),
		 "[verifier]\nmode = push\nlisten = 0.0.0.0:7600\nsession_ttl = 5\nreattest_interval = 30\n"
		 "max_sessions = 2\nstate_dir = db\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->mode, CONFIG_MODE_PUSH);
	assert_string_equal(c->listen, "0.0.0.0:7600");
	assert_int_equal(c->session_ttl, 5);
	assert_int_equal(c->reattest_interval, 30);
	assert_int_equal(c->max_sessions, 2);
	snprintf(text, sizeof(text), "%s/db", dir);
	assert_string_equal(c->state_dir, text);
	verifier_config_free(c);

	/* Targets in their one spelling (a node is bound to it): lower-case. */
	snprintf(text, sizeof(text), "[verifier]\ntargets = A.example:7500, 10.0.0.6:7500,[::1]:7500\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->ntargets, 3);
	assert_string_equal(c->targets[0], "a.example:7500");
	assert_string_equal(c->targets[2], "[::1]:7500");
	verifier_config_free(c);
	snprintf(text, sizeof(text), "[verifier]\ntargets = a.example\n%s", TLS);
	load_fails(text, ":2: target 'a.example' is not HOST:PORT");
	snprintf(text, sizeof(text), "[verifier]\ntargets = a.example:07500\n%s", TLS);
	load_fails(text, ":2: target 'a.example:07500': the port is 1..65535 in decimal, without leading zeros");
	snprintf(text, sizeof(text), "[verifier]\ntargets = a.example:7500, A.EXAMPLE:7500\n%s", TLS);
	load_fails(text, ":2: target 'A.EXAMPLE:7500' is listed twice (as a.example:7500)");

	snprintf(text, sizeof(text), "[verifier]\nmode = push\n%s", TLS);
	load_fails(text, "mode = push needs listen = HOST:PORT");
	snprintf(text, sizeof(text), "[verifier]\nlisten = 7600\n%s", TLS);
	load_fails(text, ":2: listen must be HOST:PORT");
	snprintf(text, sizeof(text), "[verifier]\nsession_ttl = 0\n%s", TLS);
	load_fails(text, ":2: session_ttl");
	snprintf(text, sizeof(text), "[verifier]\nreattest_interval = 604801\n%s", TLS);
	load_fails(text, ":2: reattest_interval");
	snprintf(text, sizeof(text), "[verifier]\nmax_sessions = 0\n%s", TLS);
	load_fails(text, ":2: max_sessions");

	/* The continuous-attestation keys, their defaults and their limits. */
	snprintf(text, sizeof(text), "[verifier]\nreattest_interval = 10\nsession_ttl = 5\nstate_dir = db\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->reattest_window, 35); /* 3 x interval + session_ttl */
	assert_int_equal(c->threads, 2);
	assert_false(c->explicit_enrollment);
	assert_null(c->hook);
	assert_int_equal(c->hook_timeout_ms, 10000);
	verifier_config_free(c);
	snprintf(text, sizeof(text),
		 "[verifier]\nreattest_window = 0\nthreads = 8\nenrollment = explicit\nstate_dir = db\n"
		 "hook = /bin/logger -t attest\nhook_timeout = 3\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->reattest_window, 0);
	assert_int_equal(c->threads, 8);
	assert_true(c->explicit_enrollment);
	assert_string_equal(c->hook, "/bin/logger -t attest");
	assert_int_equal(c->hook_timeout_ms, 3000);
	verifier_config_free(c);
	snprintf(text, sizeof(text), "[verifier]\nreattest_interval = 10\nreattest_window = 10\n%s", TLS);
	load_fails(text, "reattest_window (10 s) must exceed reattest_interval (10 s)");
	snprintf(text, sizeof(text), "[verifier]\nenrollment = explicit\n%s", TLS);
	load_fails(text, "enrollment = explicit needs state_dir");
	snprintf(text, sizeof(text), "[verifier]\nenrollment = sometimes\n%s", TLS);
	load_fails(text, ":2: enrollment must be auto or explicit");
	snprintf(text, sizeof(text), "[verifier]\nthreads = 0\n%s", TLS);
	load_fails(text, ":2: threads must be 1..64");
	snprintf(text, sizeof(text), "[verifier]\nhook_timeout = 0\n%s", TLS);
	load_fails(text, ":2: hook_timeout");
	snprintf(text, sizeof(text), "[verifier]\nhook =\n%s", TLS);
	load_fails(text, ":2: hook is empty");
	/* A line inih would cut: refused with its number, not read as two. */
	{
		char longline[400];

		memset(longline, 'a', sizeof(longline) - 1);
		longline[sizeof(longline) - 1] = '\0';
		snprintf(text, sizeof(text), "[verifier]\n; %s\n%s", longline, TLS);
		load_fails(text, ":2: line longer than 198 characters");
	}
}

static void test_secret_sections(void **state)
{
	struct verifier_config *c = NULL;
	char text[1024], want[160];
	const char *v0 = "1111111111111111111111111111111111111111111111111111111111111111";

	(void)state;
	snprintf(text, sizeof(text),
		 "[verifier]\nstate_dir = st\n%s[policy]\nsha256.7 = %s\n"
		 "[secret disk]\nkind = aes256\nkey = disk.key\nhosts = name:web1, ek:%s\npcrs = sha256:7\n"
		 "[secret sig]\nkind = rsa\nkey = k.pem\ncert = k.crt\nsha256.0 = %s\nsha256.7 = %s\n",
		 TLS, v0, v0, v0, v0);
	write_conf(text);
	if (verifier_config_load(path, &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c->nsecrets, 2);
	assert_string_equal(c->secrets[0].name, "disk");
	assert_int_equal(c->secrets[0].kind, SECRET_AES256);
	snprintf(want, sizeof(want), "%s/disk.key", dir);
	assert_string_equal(c->secrets[0].key, want);
	assert_int_equal(c->secrets[0].nhosts, 2);
	assert_string_equal(c->secrets[0].hosts[0], "name:web1");
	assert_int_equal(c->secrets[0].has_pcrs, 1);
	/* Values alone imply their selection. */
	assert_int_equal(c->secrets[1].has_pcrs, 1);
	assert_int_equal(c->secrets[1].pcrs.count, 1);
	assert_int_equal(pcrsel_mask(&c->secrets[1].pcrs, TPM2_ALG_SHA256), (1u << 0) | (1u << 7));
	verifier_config_free(c);

	snprintf(text, sizeof(text), "%s[secret a]\nkind = des\n", TLS);
	load_fails(text, ":6: kind must be aes256 or rsa");
	/* Secrets by what the TPM proves or an operator assigned, never by the
	 * attestor's hostname claim. */
	snprintf(text, sizeof(text), "%s[policy]\nsha256.7 = %s\n[secret a]\nkind = aes256\nkey = x\npcrs = sha256:7\n"
		 "hosts = db1\n", TLS, v0);
	load_fails(text, "hosts: host 'db1' would match the attestor's own hostname claim");
	snprintf(text, sizeof(text), "%s[policy]\nsha256.7 = %s\n[secret a]\nkind = aes256\nkey = x\npcrs = sha256:7\n"
		 "hosts = group:db\n", TLS, v0);
	load_fails(text, "hosts = group:db needs state_dir");
	/* A secret goes only to passing nodes: without any reference none can. */
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\nsha256.7 = %s\n", TLS, v0);
	load_fails(text, "there is none ([policy] PCR values, boot_policy or ima_policy)");
	/* Without values of its own it would be sealed to whatever the host shows. */
	snprintf(text, sizeof(text), "%s[policy]\nsha256.0 = %s\n[secret a]\nkind = aes256\nkey = x\npcrs = sha256:0,7\n",
		 TLS, v0);
	load_fails(text, "does not fix PCR 7 bank sha256 of its selection");
	snprintf(text, sizeof(text), "%s[policy]\nsha256.0 = %s\n[secret a]\nkind = aes256\nkey = x\n", TLS, v0);
	load_fails(text, "does not fix PCR 1 bank sha256 of its selection");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\n", TLS);
	load_fails(text, "[secret a] needs key = FILE");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = rsa\nkey = k.pem\n", TLS);
	load_fails(text, "[secret a] kind rsa needs cert = FILE");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\n[tls]\ninsecure = false\n"
		 "[secret a]\nkey = y\n", TLS);
	load_fails(text, "[secret a] appears twice");
	snprintf(text, sizeof(text), "%s[secret ../x]\nkind = aes256\n", TLS);
	load_fails(text, "[secret ../x]");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\nfile = y\n", TLS);
	load_fails(text, "unknown key 'file' in [secret a]");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\nhosts = ek:abc\n", TLS);
	load_fails(text, "ek: takes the 64 hex digits");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\npcrs = sha256:0,1\nsha256.0 = %s\n",
		 TLS, v0);
	load_fails(text, "PCR 1 bank sha256 is selected but has no value");
	snprintf(text, sizeof(text), "%s[secret a]\nkind = aes256\nkey = x\npcrs = sha256:0\nsha256.3 = %s\n",
		 TLS, v0);
	load_fails(text, "[secret a]");
}

/* Rules that keep a configuration from trusting what was never proven. */
static void test_trust_rules(void **state)
{
	struct verifier_config *c = NULL;
	char text[1024];

	(void)state;
	/* A policy that reads a log makes the log required. */
	snprintf(text, sizeof(text), "[verifier]\nboot_policy = b.json\nima_policy = i.json\npcrs = sha256:0-10\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->require_event_log, 1);
	assert_int_equal(c->require_ima, 1);
	verifier_config_free(c);
	snprintf(text, sizeof(text), "[verifier]\nboot_policy = b.json\nrequire_event_log = false\n%s", TLS);
	load_fails(text, "boot_policy needs the boot event log: require_event_log cannot be false");
	snprintf(text, sizeof(text), "[verifier]\nima_policy = i.json\nrequire_ima = false\npcrs = sha256:10\n%s", TLS);
	load_fails(text, "ima_policy needs the IMA list: require_ima cannot be false");
	snprintf(text, sizeof(text), "[verifier]\nima_policy = i.json\npcrs = sha256:0-7\n%s", TLS);
	load_fails(text, "require_ima = true (ima_policy) needs PCR 10 in pcrs");
	/* A platform certificate binds only to a verified EK certificate. */
	snprintf(text, sizeof(text), "[verifier]\nrequire_ek_cert = false\nplatform_ca = /etc/pca\n%s", TLS);
	load_fails(text, "platform_ca needs require_ek_cert = true");
	snprintf(text, sizeof(text), "[verifier]\nrequire_ek_cert = false\nplatform_ca = /etc/pca\n"
		 "require_platform_cert = true\n%s", TLS);
	load_fails(text, "platform_ca needs require_ek_cert = true");
	/* One identity's share of the push sessions. */
	snprintf(text, sizeof(text), "[verifier]\nmax_sessions = 100\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->max_sessions_per_identity, 6);
	verifier_config_free(c);
	snprintf(text, sizeof(text), "[verifier]\nmax_sessions = 100\nmax_sessions_per_identity = 101\n%s", TLS);
	load_fails(text, "max_sessions_per_identity (101) exceeds max_sessions (100)");
	snprintf(text, sizeof(text), "[verifier]\nmax_sessions_per_identity = 0\n%s", TLS);
	load_fails(text, "max_sessions_per_identity must be 1..1000000");
	/* The one-call re-attestation may be turned off. */
	snprintf(text, sizeof(text), "[verifier]\npre_issued_requests = false\n%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->pre_issued_requests, 0);
	verifier_config_free(c);
	snprintf(text, sizeof(text), "%s", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->pre_issued_requests, 1);
	verifier_config_free(c);
	/* Firmware versions allowed. */
	snprintf(text, sizeof(text), "%s[policy]\nfirmware_version = 0x2000200 12345\n", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->policy.nfirmware, 2);
	assert_int_equal(c->policy.firmware[0], 0x2000200);
	assert_int_equal(c->policy.firmware[1], 12345);
	verifier_config_free(c);
	snprintf(text, sizeof(text), "%s[policy]\nfirmware_version = v1\n", TLS);
	load_fails(text, "firmware_version 'v1' is not a number");
	snprintf(text, sizeof(text), "%s[policy]\nfirmware_version = 1\nfirmware_version = 2\n", TLS);
	load_fails(text, "firmware_version given twice");
}

static void test_measurement_keys(void **state)
{
	struct verifier_config *c = NULL;
	char text[1024], want[192];

	(void)state;
	write_conf(TLS);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_int_equal(c->eventlog_pcrs, 0x43ffu);
	assert_int_equal(c->require_event_log, 0);
	assert_int_equal(c->require_ima, 0);
	assert_null(c->boot_policy);
	assert_null(c->ima_policy);
	verifier_config_free(c);

	snprintf(text, sizeof(text),
		 "[verifier]\npcrs = sha256:0-10\nrequire_event_log = true\nrequire_ima = yes\n"
		 "eventlog_pcrs = 0-7,14\nboot_policy = boot.json\nima_policy = /etc/ima.json\n%s", TLS);
	write_conf(text);
	if (verifier_config_load(path, &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c->require_event_log, 1);
	assert_int_equal(c->require_ima, 1);
	assert_int_equal(c->eventlog_pcrs, 0x40ffu);
	snprintf(want, sizeof(want), "%s/boot.json", dir);
	assert_string_equal(c->boot_policy, want);
	assert_string_equal(c->ima_policy, "/etc/ima.json");
	verifier_config_free(c);

	snprintf(text, sizeof(text), "[verifier]\nrequire_ima = true\n%s", TLS);
	load_fails(text, "require_ima = true needs PCR 10 in pcrs");
	snprintf(text, sizeof(text), "[verifier]\neventlog_pcrs = 0-24\n%s", TLS);
	load_fails(text, ":2: eventlog_pcrs must be");
	snprintf(text, sizeof(text), "[verifier]\nrequire_event_log = sometimes\n%s", TLS);
	load_fails(text, ":2: require_event_log must be true or false");
}

/* [admin]: the operators' service needs operators, a database and TLS of
 * its own address; the CLI's side (server, cert, key) is read as given. */
static void test_admin_section(void **state)
{
	struct verifier_config *c = NULL;
	char text[1024];

	(void)state;
	snprintf(text, sizeof(text),
		 "[verifier]\nmode = push\nlisten = 127.0.0.1:7500\nstate_dir = db\n%s[admin]\nlisten = 127.0.0.1:7600\n"
		 "operators = alice, ops.example.org bob\nserver = v.example.org:7600\ncert = op.pem\nkey = op.key\n"
		 "ca = ops-ca.pem\n", TLS);
	write_conf(text);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_string_equal(c->admin.listen, "127.0.0.1:7600");
	assert_non_null(strstr(c->admin.ca, "/ops-ca.pem"));
	assert_int_equal(c->admin.noperators, 3);
	assert_string_equal(c->admin.operators[0], "alice");
	assert_string_equal(c->admin.operators[1], "ops.example.org");
	assert_string_equal(c->admin.operators[2], "bob");
	assert_string_equal(c->admin.server, "v.example.org:7600");
	assert_non_null(strstr(c->admin.cert, "/op.pem"));
	assert_non_null(strstr(c->admin.key, "/op.key"));
	verifier_config_free(c);

	/* Without [admin] there is no service, and a CLI reads the store. */
	write_conf(TLS);
	assert_int_equal(verifier_config_load(path, &c), 0);
	assert_null(c->admin.listen);
	assert_null(c->admin.server);
	assert_int_equal(c->admin.noperators, 0);
	verifier_config_free(c);

	snprintf(text, sizeof(text), "[verifier]\nstate_dir = db\n%s[admin]\nlisten = 127.0.0.1:7600\n", TLS);
	load_fails(text, "[admin] listen needs operators");
	snprintf(text, sizeof(text), "%s[admin]\nlisten = 127.0.0.1:7600\noperators = alice\n", TLS);
	load_fails(text, "[admin] listen needs state_dir");
	snprintf(text, sizeof(text),
		 "[verifier]\nstate_dir = db\n[tls]\ninsecure = true\n[admin]\nlisten = 127.0.0.1:7600\noperators = a\n");
	load_fails(text, "[admin] listen needs mutual TLS");
	snprintf(text, sizeof(text),
		 "[verifier]\nmode = push\nlisten = 127.0.0.1:7600\nstate_dir = db\n%s[admin]\nlisten = 127.0.0.1:7600\n"
		 "operators = a\n", TLS);
	load_fails(text, "need an address each");
	snprintf(text, sizeof(text), "%s[admin]\noperators = alice\n", TLS);
	load_fails(text, "operators needs listen");
	snprintf(text, sizeof(text), "%s[admin]\nca = ops-ca.pem\n", TLS);
	load_fails(text, "[admin] ca needs listen");
	snprintf(text, sizeof(text), "[verifier]\nstate_dir = db\n%s[admin]\nlisten = 127.0.0.1:1\noperators = a, a\n", TLS);
	load_fails(text, "'a' given twice");
	snprintf(text, sizeof(text), "[verifier]\nstate_dir = db\n%s[admin]\nlisten = 127.0.0.1:1\noperators = a\"b\n", TLS);
	load_fails(text, "is no TLS identity");
	snprintf(text, sizeof(text), "%s[admin]\nserver = 127.0.0.1:1\ncert = op.pem\n", TLS);
	load_fails(text, "[admin] cert and key go together");
	snprintf(text, sizeof(text), "%s[admin]\nlisten = nohostport\n", TLS);
	load_fails(text, ":6: listen");
}

static void test_missing_file(void **state)
{
	struct verifier_config *c = NULL;

	(void)state;
	assert_int_equal(verifier_config_load("/nonexistent/verifier.conf", &c), AERR_CONFIG);
	assert_null(c);
	assert_non_null(strstr(err_detail(), "/nonexistent/verifier.conf: cannot open"));
}

/* The shipped example must load: every key in it is a real key. */
static void test_example(void **state)
{
	struct verifier_config *c = NULL;
	const char *ex = fixture_source("examples/verifier-pull.conf");

	(void)state;
	if (verifier_config_load(ex, &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c->ek_alg, TPM2_ALG_RSA);
	assert_int_equal(c->nonce_ttl, 60);
	verifier_config_free(c);
	ex = fixture_source("examples/verifier-push.conf");
	if (verifier_config_load(ex, &c) != 0)
		fail_msg("%s", err_detail());
	assert_int_equal(c->mode, CONFIG_MODE_PUSH);
	assert_non_null(c->listen);
	verifier_config_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_keys),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_push_keys),
		cmocka_unit_test(test_secret_sections),
		cmocka_unit_test(test_trust_rules),
		cmocka_unit_test(test_measurement_keys),
		cmocka_unit_test(test_admin_section),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_example),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
