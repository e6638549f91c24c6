/* SPDX-License-Identifier: MIT */
/*
 * zswap, the kernel's compressed cache in front of swap, switched on for
 * the benchmarks that compare with it and put back as it was.  Needs
 * root and a kernel built with zswap.
 */
#ifndef UTTM_ZSWAP_H
#define UTTM_ZSWAP_H

#include <stdint.h>

/**
 * struct zswap - zswap's settings before zswap_enable()
 * @enabled: "Y" or "N".
 * @compressor: its compressor.
 */
struct zswap {
	char enabled[8];
	char compressor[64];
};

/*
 * Switches zswap on with @compressor ("lz4"; NULL keeps the one it has),
 * saving the settings in @saved first.  On failure nothing is left
 * changed.  Returns 0, -ENOENT without zswap, -EINVAL for a compressor
 * the kernel does not have, or the kernel's error.
 */
int zswap_enable(struct zswap *saved, const char *compressor);

/*
 * Switches zswap off, saving its settings in @saved first.  Returns 0,
 * -ENOENT without zswap, or the kernel's error.
 */
int zswap_disable(struct zswap *saved);

/* Puts back the settings zswap_enable() or zswap_disable() saved. */
int zswap_restore(const struct zswap *saved);

/*
 * Memory zswap's pool uses now, in bytes (/proc/meminfo's Zswap, or
 * debugfs's pool_total_size on kernels without it): memory outside every
 * cgroup v1 memory cgroup.
 */
uint64_t zswap_pool_bytes(void);

#endif /* UTTM_ZSWAP_H */
