/* SPDX-License-Identifier: MIT */
/*
 * `uttm bench backup` is made of parts, one per store or path, each in its
 * own file.  They share the arena, pool and size set up by the driver in
 * bench_backup.c, the helpers below, and one figure set.
 */
#ifndef UTTM_BENCH_BACKUP_H
#define UTTM_BENCH_BACKUP_H

#include <uttm/backup.h>
#include <uttm/tt.h>

#include "uttm.h"

/**
 * struct backup_bench - what every part of the benchmark shares
 * @arena: arena of the vectors.
 * @pool: their pool; parts leave it as they found it.
 * @bytes: size of the vector each round.
 * @rounds: rounds each part runs; parts report medians.
 * @swap: enough free swap for writeback to be timed.
 * @only_store: the user asked for one store's part alone (--store).
 * @redis_url: the Redis server to measure (--redis), or NULL to start
 * servers of its own.
 * @redis_password: its password, or NULL.
 */
struct backup_bench {
	struct uttm_arena *arena;
	struct uttm_pool pool;
	uint64_t bytes;
	unsigned int rounds;
	bool swap;
	bool only_store;
	const char *redis_url;
	const char *redis_password;
};

extern const struct uttm_operation_ctx bench_ctx;

double gbps(uint64_t bytes, double seconds);

/* The byte page @index of a filled vector is full of. */
static inline unsigned char bench_page_byte(unsigned long index)
{
	return (unsigned char)(index * 7 + 1);
}

/*
 * A populated vector of @bytes backed by @backup (or none), from the
 * benchmark's pool; nothing is left on failure.
 */
int bench_populated_tt(struct backup_bench *bench, struct uttm_tt *tt,
		       struct uttm_backup *backup, uint64_t bytes);

/* The same, every page full of bench_page_byte() of its index. */
int bench_filled_tt(struct backup_bench *bench, struct uttm_tt *tt,
		    struct uttm_backup *backup, uint64_t bytes);

/* Whether @tt still holds what bench_filled_tt() wrote; -EIO if not. */
int bench_check_tt(const struct uttm_tt *tt);

/* Backs every page of @tt up, timing it in GB/s; -ENOSPC if some stayed. */
int bench_timed_backup(struct uttm_tt *tt, bool writeback, double *rate);

/* Restores @tt, timing it in GB/s. */
int bench_timed_restore(struct uttm_tt *tt, double *rate);

/* Backs @tt up and restores it, timing both in GB/s. */
int bench_cycle(struct uttm_tt *tt, bool writeback, double *backup,
		double *restore);

/* Fills the pool with as many pages as a vector has. */
int bench_fill_pool(struct backup_bench *bench);

/*
 * @bytes of anonymous memory, every page touched already, so that no side
 * of a comparison pays its first faults; NULL on failure.  munmap() it.
 */
void *bench_touched_map(uint64_t bytes);

/* The parts; each adds its section to @set. */
int bench_backup_shmem(struct backup_bench *bench, struct figures *set);
int bench_backup_insert(struct backup_bench *bench, struct figures *set);
int bench_backup_compressed(struct backup_bench *bench, struct figures *set);
int bench_backup_file(struct backup_bench *bench, struct figures *set);
int bench_backup_redis(struct backup_bench *bench, struct figures *set);

#endif /* UTTM_BENCH_BACKUP_H */
