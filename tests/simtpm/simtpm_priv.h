/* A simulated node as node.c, activate.c and quote.c share it. */
#ifndef ATTEST_SIMTPM_PRIV_H
#define ATTEST_SIMTPM_PRIV_H

#include "simtpm.h"

struct simtpm {
	TPM2_ALG_ID ek_alg;
	EVP_PKEY *ek, *ak;
	TPMT_PUBLIC ekpub;      /* kept: ECDH needs the x-coordinate as the EK holds it */
	TPMT_PUBLIC akpub;
	TPM2B_NAME ak_name;
	uint8_t *ek_wire, *ak_wire, *cert;
	size_t ek_wire_len, ak_wire_len, cert_len;
	const struct pcr_values *pcrs;
	TPMS_CLOCK_INFO clock;
	uint64_t clock_tick_ms;
};

/* The firmware version every simulated node reports in its quotes. */
#define SIMTPM_FIRMWARE 0x2024000100000000ull
#endif
