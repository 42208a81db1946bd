/* Pull mode driver: the verifier calls the attestor's Attestor service
 * (GetEndorsement, GetAttestationKey, ActivateCredential, Quote), converts
 * protobuf to and from the session's structs and feeds one session. The only
 * verifier file (besides the push service) that sees protobuf. */
#ifndef VERIFIER_PULL_DRIVER_H
#define VERIFIER_PULL_DRIVER_H

#include "config.h"
#include "err.h"
#include "session/session.h"

/* The stages of an exchange, in order (the last only with secrets). */
enum pull_stage {
	PULL_ENDORSEMENT = 0,
	PULL_AK,
	PULL_ACTIVATION,
	PULL_QUOTE,
	PULL_SECRETS,          /* only when secrets are configured for the host */
	PULL_NSTAGES,
};

/* Wall time of one stage: the RPC round trip, and the verifier's own work
 * (parsing, certificate checks, MakeCredential, quote verification). */
struct pull_stage_time {
	double rpc_ms;
	double check_ms;
};

struct pull_result {
	int code;                          /* 0 = pass, else AERR_* of the failed check */
	enum pull_stage failed_stage;      /* meaningful when code != 0 */
	int transport;                     /* 1 when the failure was the RPC itself */
	int refused_tls;                   /* 1 when we refused the attestor's TLS (its
					    * certificate's name or CA): a setting to fix */
	char reason[768];                  /* "<err_str>: <detail>" */
	int stages_done;                   /* stages that completed */
	struct pull_stage_time t[PULL_NSTAGES];
	double total_ms;
	struct session_verdict verdict;    /* the session's verdict (quote stage) */
	size_t secrets;                    /* secrets delivered and proven */
};

struct pull_driver;

/* Load the trust stores named by cfg and open a channel to target ("host:port").
 * cfg is borrowed and must outlive the driver. AERR_CONFIG when a trust store
 * cannot be loaded. */
int pull_open(const struct verifier_config *cfg, const char *target, struct pull_driver **out) ATTEST_WUR;

/* Run one complete exchange with a fresh session. Returns 0 on a passing verdict,
 * else the failing code; *res says where and why, and how long each stage took. */
int pull_attest(struct pull_driver *d, struct pull_result *res) ATTEST_WUR;

/* Attest again with the AK the last passing pull_attest activated: a fresh
 * nonce and quote only (DESIGN: later attestations of an enrolled host), and
 * the IMA list continued from where that session's replay stopped.
 * AERR_STATE when there is no passing session to continue; a failure ends
 * it (the next call needs pull_attest). When the store says the target
 * answers for another node now (an operator moved or removed it), a full
 * exchange (pull_attest) instead. */
int pull_requote(struct pull_driver *d, struct pull_result *res) ATTEST_WUR;

/* Wait ms between rounds (or until *stop) while the channel to the attestor
 * keeps (re)connecting (rpc_channel_wait). */
void pull_wait(struct pull_driver *d, uint32_t ms, volatile const int *stop);

/* NULL-safe. */
void pull_close(struct pull_driver *d);

const char *pull_stage_name(enum pull_stage st);
#endif
