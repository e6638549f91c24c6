// SPDX-License-Identifier: MIT
/*
 * Reports API misuse caught by UTTM_WARN_ON(): the library refuses the
 * call and says where, rather than crashing the caller.
 */
#include <stdio.h>

#include "base/base.h"

void uttm_warn_report(const char *file, int line, const char *cond)
{
	fprintf(stderr, "uttm: warning at %s:%d: %s\n", file, line, cond);
}
