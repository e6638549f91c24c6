/* SPDX-License-Identifier: MIT */
/*
 * A zram swap device, for the benchmarks that compare with compressed
 * swap in memory: a device added for the purpose (or an unused one), set
 * to a compressor and a size, made a swap area and switched on at a
 * priority; then put back as it was.  Needs root and the zram module.
 */
#ifndef UTTM_ZRAM_H
#define UTTM_ZRAM_H

#include <stdbool.h>
#include <stdint.h>

/**
 * struct zram - a device zram_create() set up
 * @id: N of /dev/zramN.
 * @added: whether it was hot-added for the purpose, and goes again.
 * @algorithm: its compressor before, set again on removal.
 * @dev: "/dev/zramN".
 */
struct zram {
	int id;
	bool added;
	char algorithm[64];
	char dev[32];
};

/*
 * Sets up a zram device of @bytes compressing with @algorithm ("lz4")
 * and swaps to it at @priority (0 to 32767; higher is used first).  On
 * failure nothing is left changed.  Returns 0, -ENOENT without zram, or
 * the error of the step that failed (-EINVAL for an unknown algorithm).
 */
int zram_create(struct zram *z, const char *algorithm, uint64_t bytes,
		int priority);

/*
 * Memory the device uses now for what it holds (mm_stat's
 * mem_used_total), in bytes: memory outside every memory cgroup.
 */
uint64_t zram_pool_bytes(const struct zram *z);

/* Swaps off and resets the device, and removes it if it was added. */
int zram_remove(struct zram *z);

#endif /* UTTM_ZRAM_H */
