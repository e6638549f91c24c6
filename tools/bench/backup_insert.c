// SPDX-License-Identifier: MIT
/*
 * The insert part of `uttm bench backup`: zero-copy insertion against the
 * copy path on the same data.  The data is a set of vectors of one
 * order-9 block each (a whole 2 MiB block, the size of a huge page).
 * They are backed up through the insert store, restored, and backed up
 * again through the shmem store, the copy path, in the same round.  Both
 * backups run without writeback, so no kernel swap I/O is counted; each
 * is timed in process CPU time (user and system) and in wall time.
 */
#include <errno.h>
#include <stdlib.h>

#include "bench/backup.h"

#define BLOCK_BYTES (UTTM_PAGE_SIZE << 9)

struct insert_round {
	double insert_cpu;	/* s, backup through the insert store */
	double insert_wall;	/* s */
	double copy_cpu;	/* s, the same pages through the shmem store */
	double copy_wall;	/* s */
	double restore;		/* GB/s, restore from the insert store */
};

/* The benchmark's size in whole order-9 blocks, at least one. */
static unsigned long nr_blocks(const struct backup_bench *bench)
{
	return bench->bytes < BLOCK_BYTES ? 1 : bench->bytes / BLOCK_BYTES;
}

/* Backs every vector up, timing the whole in CPU and wall seconds. */
static int timed_backup(struct uttm_tt *tts, unsigned long count, double *cpu,
			double *wall)
{
	const struct uttm_backup_flags flags = { .writeback = false };
	double c = cpu_seconds(), t = now_seconds();

	for (unsigned long i = 0; i < count; i++) {
		long n = uttm_tt_backup(&tts[i], &flags);

		if (n != (long)tts[i].num_pages)
			return n < 0 ? (int)n : -ENOSPC;
	}
	*wall = now_seconds() - t;
	*cpu = cpu_seconds() - c;
	return 0;
}

/* Restores every vector, timing it in GB/s, and checks the content. */
static int timed_restore(struct uttm_tt *tts, unsigned long count,
			 double *rate)
{
	double t = now_seconds();
	int ret;

	for (unsigned long i = 0; i < count; i++) {
		ret = uttm_tt_populate(&tts[i], &bench_ctx);
		if (ret)
			return ret;
	}
	*rate = gbps(count * BLOCK_BYTES, now_seconds() - t);
	for (unsigned long i = 0; i < count; i++) {
		ret = bench_check_tt(&tts[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Insert, restore, then the same pages through the copy path. */
static int measure(struct uttm_tt *tts, unsigned long count,
		   struct uttm_backup *copy, struct insert_round *r)
{
	int ret = timed_backup(tts, count, &r->insert_cpu, &r->insert_wall);

	if (!ret)
		ret = timed_restore(tts, count, &r->restore);
	for (unsigned long i = 0; i < count && !ret; i++)
		ret = uttm_tt_set_backup(&tts[i], copy);
	if (!ret)
		ret = timed_backup(tts, count, &r->copy_cpu, &r->copy_wall);
	return ret;
}

static int insert_round(struct backup_bench *bench, struct insert_round *r)
{
	unsigned long count = nr_blocks(bench), made = 0;
	struct uttm_backup_insert_params ip = {
		.arena = bench->arena, .capacity = count * BLOCK_BYTES,
	};
	struct uttm_backup_shmem_params sp = { .capacity = ip.capacity };
	struct uttm_backup *insert, *copy;
	struct uttm_tt *tts;
	int ret;

	tts = calloc(count, sizeof(*tts));
	if (!tts)
		return -ENOMEM;
	ret = uttm_backup_insert_create(&ip, &insert);
	if (ret)
		goto out_free;
	ret = uttm_backup_shmem_create(&sp, &copy);
	if (ret)
		goto out_put_insert;
	/* Fresh blocks, as the shmem part's restore gets fresh pages. */
	uttm_pool_trim(&bench->pool, 0);
	while (made < count && !ret) {
		ret = bench_filled_tt(bench, &tts[made], insert, BLOCK_BYTES);
		made += !ret;
	}
	if (!ret)
		ret = measure(tts, count, copy, r);

	while (made)
		uttm_tt_fini(&tts[--made]);
	uttm_pool_trim(&bench->pool, 0);
	uttm_backup_put(copy);
out_put_insert:
	uttm_backup_put(insert);
out_free:
	free(tts);
	return ret;
}

static void insert_report(const struct insert_round *rounds, unsigned int n,
			  unsigned long blocks, struct figures *set)
{
	double insert_cpu = MEDIAN_OF(rounds, n, insert_cpu);
	double insert_wall = MEDIAN_OF(rounds, n, insert_wall);
	double copy_cpu = MEDIAN_OF(rounds, n, copy_cpu);
	double copy_wall = MEDIAN_OF(rounds, n, copy_wall);

	figures_section(set, "insert store (zero-copy) vs shmem store (copy), "
			     "same order-9 blocks, no writeback");
	figures_add_int(set, "insert_blocks", "order-9 blocks backed up", "",
			blocks);
	figures_add(set, "insert_backup_cpu_ms", "insert: backup CPU time",
		    "ms", insert_cpu * 1e3);
	figures_add(set, "copy_backup_cpu_ms", "copy: backup CPU time", "ms",
		    copy_cpu * 1e3);
	figures_add(set, "insert_backup_wall_ms", "insert: backup wall time",
		    "ms", insert_wall * 1e3);
	figures_add(set, "copy_backup_wall_ms", "copy: backup wall time", "ms",
		    copy_wall * 1e3);
	figures_add(set, "insert_restore_gbps",
		    "insert: restore into fresh pages", "GB/s",
		    MEDIAN_OF(rounds, n, restore));
	figures_add(set, "insert_cpu_vs_copy_cpu", "insert CPU / copy CPU",
		    "x", insert_cpu / copy_cpu);
	figures_add(set, "insert_wall_vs_copy_wall", "insert wall / copy wall",
		    "x", insert_wall / copy_wall);
}

int bench_backup_insert(struct backup_bench *bench, struct figures *set)
{
	struct insert_round *rounds = calloc(bench->rounds, sizeof(*rounds));
	unsigned int i;
	int ret = rounds ? 0 : -ENOMEM;

	for (i = 0; i < bench->rounds && !ret; i++)
		ret = insert_round(bench, &rounds[i]);
	if (!ret)
		insert_report(rounds, bench->rounds, nr_blocks(bench), set);
	free(rounds);
	return ret;
}
