// SPDX-License-Identifier: MIT
/*
 * zswap's module parameters; see zswap.h.  The compressor is set before
 * zswap is switched on, so that no pool of the old one is made for
 * nothing, and zswap is switched off before the old compressor returns.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "support/procfs.h"
#include "support/zswap.h"

#define PARAMS "/sys/module/zswap/parameters/"

/*
 * Until zswap is first switched on after boot, the kernel takes any
 * compressor name without a check; switching on then falls back to its
 * default if that one is missing, and only a later change of compressor
 * is refused.  What zswap runs with is read back, so that a compressor
 * the kernel lacks is found out on the first try, not the next.
 */
static bool uses_compressor(const char *compressor)
{
	char now[64];

	return !sys_read_line(PARAMS "compressor", now, sizeof(now)) &&
	       !strcmp(now, compressor);
}

static int save(struct zswap *saved)
{
	int ret = sys_read_line(PARAMS "enabled", saved->enabled,
				sizeof(saved->enabled));

	return ret ? ret : sys_read_line(PARAMS "compressor",
					 saved->compressor,
					 sizeof(saved->compressor));
}

int zswap_enable(struct zswap *saved, const char *compressor)
{
	int ret = save(saved);

	if (ret)
		return ret;
	if (compressor)
		ret = sys_write_text(PARAMS "compressor", compressor);
	/* The kernel says -ENOENT for a compressor it does not know. */
	if (ret)
		return ret == -ENOENT ? -EINVAL : ret;
	ret = sys_write_text(PARAMS "enabled", "Y");
	if (!ret && compressor && !uses_compressor(compressor))
		ret = -EINVAL;
	if (ret)
		zswap_restore(saved);
	return ret;
}

int zswap_disable(struct zswap *saved)
{
	int ret = save(saved);

	return ret ? ret : sys_write_text(PARAMS "enabled", "N");
}

int zswap_restore(const struct zswap *saved)
{
	int ret = sys_write_text(PARAMS "enabled", saved->enabled);
	int err = sys_write_text(PARAMS "compressor", saved->compressor);

	return ret ? ret : err;
}

uint64_t zswap_pool_bytes(void)
{
	uint64_t kib = proc_number("/proc/meminfo", "Zswap:");

	if (kib)
		return kib * 1024;
	return proc_number("/sys/kernel/debug/zswap/pool_total_size", "");
}
