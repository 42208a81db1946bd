/* harden_process: no core dumps, no same-user inspection of the daemons, and
 * files of their own only. */
#include <errno.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "harden.h"

int harden_process(void)
{
	const struct rlimit none = { .rlim_cur = 0, .rlim_max = 0 };

	/* The limit first: should prctl fail, a crash still writes no core. */
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		return err_set(AERR_INTERNAL, "setrlimit(RLIMIT_CORE, 0): %s", strerror(errno));
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		return err_set(AERR_INTERNAL, "prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	umask(077);
	return 0;
}
