/* SPDX-License-Identifier: MIT */
/*
 * `uttm bench e2e` in three parts: e2e.c runs every side of the
 * comparison, round after round, each in a memory cgroup of the budget,
 * and reports; e2e_memory.c is where the peers keep their objects (plain
 * memory, or a shared file mapping); e2e_swap.c arranges what the kernel
 * swaps to for each side and puts the machine back as it was.
 */
#ifndef UTTM_BENCH_E2E_H
#define UTTM_BENCH_E2E_H

#include <stdbool.h>
#include <stdint.h>

#include "run/workload.h"
#include "support/zram.h"
#include "support/zswap.h"

/*
 * Runs the workload on objects side by side in one mapping: anonymous
 * memory when @dir is NULL, which the kernel swaps, else a new file in
 * @dir mapped MAP_SHARED, which the page cache holds and writes back.
 * The file is unlinked from the start.  Returns what workload_run() does.
 */
int e2e_run_mapped(const struct workload_options *o, const char *dir,
		   struct workload_result *res);

/* The compressor of zram and zswap, as of uttm's compressed store. */
#define E2E_COMPRESSOR "lz4"

/* What the kernel swaps to during a side: the swap file is always on. */
enum e2e_swap_kind {
	E2E_SWAP_FILE,
	E2E_SWAP_ZRAM,	/* zram (lz4) above it, at a higher priority */
	E2E_SWAP_ZSWAP,	/* zswap (lz4) in front of it */
	NR_E2E_SWAP_KINDS
};

/**
 * struct e2e_swap - the machine's swap as the benchmark arranges it
 * @path: the swap file.
 * @bytes: its size, and zram's.
 * @file_on: whether the swap file is made and on.
 * @available: which kinds this machine has.
 * @active: the kind a side is running with.
 * @zram: the zram device, while @active is E2E_SWAP_ZRAM.
 * @zswap: zswap's settings before, while @active is E2E_SWAP_ZSWAP.
 * @zswap_compressor: lz4, or zswap's own compressor where the kernel's
 * crypto API has no lz4 (zram has lz4 of its own).
 */
struct e2e_swap {
	char path[256];
	uint64_t bytes;
	bool file_on;
	bool available[NR_E2E_SWAP_KINDS];
	enum e2e_swap_kind active;
	struct zram zram;
	struct zswap zswap;
	char zswap_compressor[64];
};

/*
 * Makes and switches on a swap file of @bytes in @dir, and finds out
 * whether zram and zswap can be set up, saying on stderr what is
 * missing.  Returns 0 or the error of the swap file (nothing is left).
 */
int e2e_swap_prepare(struct e2e_swap *s, const char *dir, uint64_t bytes);

/* Sets up @kind for the next side; 0 or a negative errno. */
int e2e_swap_enter(struct e2e_swap *s, enum e2e_swap_kind kind);

/*
 * Memory that what the side swaps to holds outside every cgroup v1
 * memory cgroup: zram's or zswap's pool; 0 for the swap file.
 */
uint64_t e2e_swap_outside_bytes(const struct e2e_swap *s);

/* Undoes e2e_swap_enter(); nothing when the swap file alone is on. */
void e2e_swap_leave(struct e2e_swap *s);

/*
 * Puts the machine back as e2e_swap_prepare() found it, whatever was
 * reached: zram removed, zswap's settings back, the swap file off and
 * gone; says on stderr what could not be undone.
 */
void e2e_swap_restore(struct e2e_swap *s);


#endif /* UTTM_BENCH_E2E_H */
