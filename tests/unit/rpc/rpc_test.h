/* What the rpc tests share: a throwaway PKI from certs/mkpki.sh (g_pki,
 * made and removed by the cmocka group setup and teardown below), a
 * method's index by name, a sleep, the LeakSanitizer suppression. Each
 * test program includes it once. */
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

/* The PKI's directory (…/pki) while the group runs. */
static char g_pki[256];

/* cmocka group setup: a new directory with mkpki.sh's PKI in its pki/
 * (g_pki), and gRPC up. 0, or -1 when mkpki.sh failed. */
static inline int rpc_test_group_setup(void **state)
{
	char cmd[1024];

	(void)state;
	fixture_tmpdir(g_pki, sizeof(g_pki), "test_rpc");
	snprintf(cmd, sizeof(cmd), "bash '%s/certs/mkpki.sh' '%s/pki' >/dev/null", SOURCE_DIR, g_pki);
	if (system(cmd) != 0)
		return -1;
	strncat(g_pki, "/pki", sizeof(g_pki) - strlen(g_pki) - 1);
	rpc_global_init();
	return 0;
}

/* cmocka group teardown: gRPC down, the setup's directory removed. */
static inline int rpc_test_group_teardown(void **state)
{
	(void)state;
	rpc_global_shutdown();
	g_pki[strlen(g_pki) - 4] = '\0'; /* g_pki ends in /pki: remove its parent */
	fixture_rmtree(g_pki);
	return 0;
}

/* LeakSanitizer (ATTEST_SANITIZE builds) reads this. c-ares, gRPC's resolver for
 * "localhost:port", keeps one 10-byte allocation for the process lifetime; the
 * leak is the library's, not ours (it vanishes with GRPC_DNS_RESOLVER=native). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libcares.so\n";
}

#endif
