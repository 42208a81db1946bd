/* The fleet-policy part of bench_push_load (issue #15): the enrolled nodes
 * spread over named policies and groups in the verifier's database while
 * it runs, so the re-attestation phase looks every node's policy up and
 * judges it by one of many; then a check that the verdicts name the
 * policies they should, and a dry run (`verifier policy test`) over every
 * node's stored evidence, timed. */
#ifndef BENCH_FLEET_H
#define BENCH_FLEET_H

#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

#include "pcrsel.h"

struct bench_fleet {
	size_t policies, groups;          /* asked for (0: the config file's policy alone) */
	size_t nodes;                     /* spread */
	double spread_s;                  /* creating and assigning them */
	int64_t spread_end_ms;            /* Unix ms: verdicts after it are judged by the spread */
	size_t sampled, sampled_ok;       /* of about 100 nodes, the verdicts after the spread, and
					   * those naming the expected policy */
	int dry_run;                      /* ran */
	size_t dry_nodes, dry_pass;       /* what it judged, and how many would pass */
	double dry_s;                     /* its wall time */
	int dry_rc;                       /* its exit status */
};

/* Policies p000.. (each the nodes' values of sel), groups g00..: node i in
 * group g(i % groups); the first `groups` policies assigned to the groups,
 * the others to nodes (node i gets p(i % policies) when that is not a
 * group's), so every policy judges n / policies nodes. */
int bench_fleet_spread(const char *state_dir, const TPML_PCR_SELECTION *sel, const struct pcr_values *values,
		       struct bench_fleet *f);

/* About 100 nodes' latest verdicts since the spread: each names the
 * policy it should. */
int bench_fleet_check(const char *state_dir, struct bench_fleet *f);

/* `verifier policy test` of policy p000 over every node, timed. */
int bench_fleet_dry_run(const char *verifier, const char *conf, const char *dir, const TPML_PCR_SELECTION *sel,
			const struct pcr_values *values, struct bench_fleet *f);

#endif
