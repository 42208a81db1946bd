/* What the rpc tests share: a throwaway PKI from certs/mkpki.sh, a
 * method's index by name, a sleep. */
#ifndef TESTS_UNIT_RPC_RPC_TEST_H
#define TESTS_UNIT_RPC_RPC_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <protobuf-c/protobuf-c.h>

#include "fixtures.h"
#include "rpc.h"

static inline void rpc_test_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* The index of svc's method name; the test fails without one. */
static inline unsigned rpc_test_method(const ProtobufCServiceDescriptor *svc, const char *name)
{
	const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(svc, name);

	assert_non_null(m);
	return (unsigned)(m - svc->methods);
}

/* A new directory (named for the test) with mkpki.sh's PKI in its pki/;
 * pki gets that path, and gRPC is up. 0, or -1 when mkpki.sh failed. */
static inline int rpc_test_pki_setup(char *pki, size_t cap, const char *name)
{
	char cmd[1024];

	fixture_tmpdir(pki, cap, name);
	snprintf(cmd, sizeof(cmd), "bash '%s/certs/mkpki.sh' '%s/pki' >/dev/null", SOURCE_DIR, pki);
	if (system(cmd) != 0)
		return -1;
	strncat(pki, "/pki", cap - strlen(pki) - 1);
	rpc_global_init();
	return 0;
}

/* gRPC down, the directory of rpc_test_pki_setup removed. */
static inline void rpc_test_pki_teardown(char *pki)
{
	rpc_global_shutdown();
	pki[strlen(pki) - 4] = '\0'; /* pki ends in /pki: remove its parent */
	fixture_rmtree(pki);
}

#endif
