/* bench_fleet.h: nodes spread over policies and groups, checked, and a
 * timed dry run. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench_fleet.h"
#include "clock.h"
#include "crypto.h"
#include "hex.h"
#include "store/store.h"

extern char **environ;

/* {"pcrs": {...}}: the values of sel. */
static int fleet_policy_text(const TPML_PCR_SELECTION *sel, const struct pcr_values *values, char *buf, size_t cap)
{
	char hex[2 * CRYPTO_MAX_DIGEST + 1];
	size_t len = (size_t)snprintf(buf, cap, "{\"pcrs\": {");
	int first = 1;

	for (uint32_t b = 0; b < sel->count; b++) {
		TPMI_ALG_HASH alg = sel->pcrSelections[b].hash;
		const struct pcr_bank *bank = pcr_values_bank(values, alg);
		uint32_t mask = pcrsel_mask(sel, alg);

		if (!bank)
			return err_set(AERR_CONFIG, "no %s values", crypto_alg_name(alg));
		for (unsigned i = 0; i < PCRSEL_NUM_PCRS; i++) {
			if (!(mask & (1u << i)))
				continue;
			hex_encode(bank->value[i], crypto_digest_size(alg), hex);
			len += (size_t)snprintf(buf + len, cap - len, "%s\"%s.%u\": \"%s\"", first ? "" : ", ",
						crypto_alg_name(alg), i, hex);
			first = 0;
			if (len >= cap)
				return err_set(AERR_TOO_LARGE, "policy text");
		}
	}
	len += (size_t)snprintf(buf + len, cap - len, "}}\n");
	return len < cap ? 0 : err_set(AERR_TOO_LARGE, "policy text");
}

struct fleet_nodes {
	char (*ek)[65];
	size_t n, cap;
};

static int fleet_collect(const struct store_node *n, void *arg)
{
	struct fleet_nodes *l = arg;

	if (l->n == l->cap) {
		void *grown = realloc(l->ek, (l->cap = l->cap ? 2 * l->cap : 1024) * sizeof(*l->ek));

		if (!grown)
			return err_set(AERR_ALLOC, "nodes");
		l->ek = grown;
	}
	memcpy(l->ek[l->n++], n->ek_hash, 65);
	return 0;
}

/* The policy node i (in enrollment order) is judged by. */
static void fleet_expected(const struct bench_fleet *f, size_t i, char name[24])
{
	size_t p = i % f->policies;

	/* A policy index below groups is a group's: the node's group's. */
	snprintf(name, 24, "p%03zu", p < f->groups ? i % f->groups : p);
}

int bench_fleet_spread(const char *state_dir, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		       struct bench_fleet *f)
{
	struct fleet_nodes l = { 0 };
	struct store *st = NULL;
	char text[8192], name[24], group[24];
	double t0 = clock_mono_s();
	uint32_t version;
	int r;

	if (!f->policies)
		return 0;
	if (f->groups > f->policies || !f->groups)
		return err_set(AERR_INVALID_ARG, "groups (%zu) must be 1..policies (%zu)", f->groups, f->policies);
	if ((r = fleet_policy_text(sel, values, text, sizeof(text))) != 0 || (r = store_open(state_dir, &st)) != 0 ||
	    (r = store_node_list(st, fleet_collect, &l)) != 0)
		goto out;
	for (size_t p = 0; p < f->policies && r == 0; p++) {
		snprintf(name, sizeof(name), "p%03zu", p);
		r = store_policy_put(st, name, text, strlen(text), 1, &version);
	}
	for (size_t g = 0; g < f->groups && r == 0; g++) {
		snprintf(name, sizeof(name), "p%03zu", g);
		snprintf(group, sizeof(group), "g%02zu", g);
		r = store_policy_assign(st, NULL, group, name);
	}
	for (size_t i = 0; i < l.n && r == 0; i++) {
		const char *gp = group;
		struct store_assign as = { .set_groups = 1, .ngroups = 1, .groups = &gp };

		snprintf(group, sizeof(group), "g%02zu", i % f->groups);
		if ((r = store_node_assign(st, l.ek[i], &as)) == 0 && i % f->policies >= f->groups) {
			fleet_expected(f, i, name);
			r = store_policy_assign(st, l.ek[i], NULL, name);
		}
	}
	f->nodes = l.n;
	f->spread_s = clock_mono_s() - t0;
	f->spread_end_ms = clock_wall_ms();
out:
	store_close(st);
	free(l.ek);
	return r;
}

int bench_fleet_check(const char *state_dir, struct bench_fleet *f)
{
	struct fleet_nodes l = { 0 };
	struct store *st = NULL;
	struct store_prior pr;
	struct store_evidence e;
	char name[24];
	size_t step;
	int r;

	if (!f->policies)
		return 0;
	if ((r = store_open(state_dir, &st)) != 0 || (r = store_node_list(st, fleet_collect, &l)) != 0)
		goto out;
	step = l.n > 100 ? l.n / 100 : 1;
	for (size_t i = 0; i < l.n && r == 0; i += step) {
		if ((r = store_node_lookup(st, l.ek[i], &pr)) != 0 || (r = store_evidence_latest(st, pr.id, &e)) != 0)
			break;
		if (e.time_ms <= f->spread_end_ms)
			continue; /* not attested again since: judged by what judged it before */
		fleet_expected(f, i, name);
		f->sampled++;
		f->sampled_ok += e.pass && !strcmp(e.policy_name, name);
	}
out:
	store_close(st);
	free(l.ek);
	return r;
}

int bench_fleet_dry_run(const char *verifier, const char *conf, const char *dir, const TPML_PCR_SELECTION *sel,
			const struct pcr_values *values, struct bench_fleet *f)
{
	char cand[1000], out[1000], text[8192], line[256];
	posix_spawn_file_actions_t fa;
	double t0;
	pid_t pid;
	FILE *fp;
	int status = 0, r;

	if (!f->policies)
		return 0;
	snprintf(cand, sizeof(cand), "%s/candidate.json", dir);
	snprintf(out, sizeof(out), "%s/dry-run.out", dir);
	if ((r = fleet_policy_text(sel, values, text, sizeof(text))) != 0)
		return r;
	if (!(fp = fopen(cand, "w")) || fputs(text, fp) < 0 || fclose(fp) != 0)
		return err_set(AERR_IO, "%s: %s", cand, strerror(errno));
	char *argv[] = { (char *)verifier, "policy", "test", "--config", (char *)conf, cand, NULL };

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t0 = clock_mono_s();
	r = posix_spawn(&pid, verifier, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (r != 0)
		return err_set(AERR_IO, "spawn %s: %s", verifier, strerror(r));
	if (waitpid(pid, &status, 0) != pid)
		return err_set(AERR_IO, "waitpid: %s", strerror(errno));
	f->dry_s = clock_mono_s() - t0;
	f->dry_run = 1;
	f->dry_rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	/* Its last line: "N nodes: P would pass, ..." */
	if (!(fp = fopen(out, "r")))
		return err_set(AERR_IO, "%s: %s", out, strerror(errno));
	while (fgets(line, sizeof(line), fp))
		(void)sscanf(line, "%zu nodes: %zu would pass", &f->dry_nodes, &f->dry_pass);
	fclose(fp);
	return 0;
}
