// SPDX-License-Identifier: MIT
/*
 * `uttm bench backup`: what backing up and restoring costs, next to what
 * the kernel charges for the same bytes.  The driver sets up an arena and
 * a pool and runs each part (one per store or path) in turn; every part
 * measures its store and its references side by side in the same run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "bench/backup.h"
#include "support/procfs.h"

const struct uttm_operation_ctx bench_ctx;

static const struct {
	const char *name;
	int (*run)(struct backup_bench *bench, struct figures *set);
} parts[] = {
	{ "shmem", bench_backup_shmem },
	{ "insert", bench_backup_insert },
	{ "compressed", bench_backup_compressed },
	{ "file", bench_backup_file },
#ifdef UTTM_HAVE_HIREDIS
	{ "redis", bench_backup_redis },
#endif
};

double gbps(uint64_t bytes, double seconds)
{
	return (double)bytes / seconds / 1e9;
}

int bench_populated_tt(struct backup_bench *bench, struct uttm_tt *tt,
		       struct uttm_backup *backup, uint64_t bytes)
{
	int ret = uttm_tt_init(tt, &bench->pool, bytes, UTTM_PLAIN, 0);

	if (ret)
		return ret;
	ret = uttm_tt_set_backup(tt, backup);
	if (!ret)
		ret = uttm_tt_populate(tt, &bench_ctx);
	if (ret)
		uttm_tt_fini(tt);
	return ret;
}

int bench_filled_tt(struct backup_bench *bench, struct uttm_tt *tt,
		    struct uttm_backup *backup, uint64_t bytes)
{
	int ret = bench_populated_tt(bench, tt, backup, bytes);

	for (unsigned long i = 0; !ret && i < tt->num_pages; i++)
		memset(uttm_tt_page_address(tt, i), bench_page_byte(i),
		       UTTM_PAGE_SIZE);
	return ret;
}

int bench_check_tt(const struct uttm_tt *tt)
{
	for (unsigned long i = 0; i < tt->num_pages; i += 97) {
		const unsigned char *p = uttm_tt_page_address(tt, i);

		if (p[0] != bench_page_byte(i) ||
		    p[UTTM_PAGE_SIZE - 1] != p[0])
			return -EIO;
	}
	return 0;
}

int bench_timed_backup(struct uttm_tt *tt, bool writeback, double *rate)
{
	const struct uttm_backup_flags flags = { .writeback = writeback };
	double t = now_seconds();
	long n = uttm_tt_backup(tt, &flags);

	if (n != (long)tt->num_pages)
		return n < 0 ? (int)n : -ENOSPC;
	*rate = gbps(tt->num_pages * UTTM_PAGE_SIZE, now_seconds() - t);
	return 0;
}

int bench_timed_restore(struct uttm_tt *tt, double *rate)
{
	double t = now_seconds();
	int ret = uttm_tt_populate(tt, &bench_ctx);

	*rate = gbps(tt->num_pages * UTTM_PAGE_SIZE, now_seconds() - t);
	return ret;
}

/* Backs @tt up and restores it, timing both. */
int bench_cycle(struct uttm_tt *tt, bool writeback, double *backup,
		double *restore)
{
	int ret = bench_timed_backup(tt, writeback, backup);

	if (!ret)
		ret = bench_timed_restore(tt, restore);
	return ret ? ret : bench_check_tt(tt);
}

/* Fills the pool with as many pages as the vector has. */
int bench_fill_pool(struct backup_bench *bench)
{
	struct uttm_tt tt;
	int ret = bench_populated_tt(bench, &tt, NULL, bench->bytes);

	if (!ret)
		uttm_tt_fini(&tt);
	return ret;
}

void *bench_touched_map(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Memory a virtual machine has never touched costs a fault in the host
 * too; touch some first so that no side of the comparison pays for it.
 */
static void warm_up(uint64_t bytes)
{
	void *p = bench_touched_map(bytes);

	if (p)
		munmap(p, bytes);
}

int bench_backup(const struct bench_options *opts)
{
	struct uttm_arena_params ap = { .max_bytes = 2 * opts->bytes };
	struct uttm_pool_params pp = {
		.max_pages = (unsigned long)(opts->bytes / UTTM_PAGE_SIZE),
	};
	struct backup_bench bench = {
		.bytes = opts->bytes, .rounds = opts->rounds,
		.only_store = opts->store,
		.redis_url = opts->redis_url,
		.redis_password = opts->redis_password ?
				  opts->redis_password :
				  getenv("UTTM_REDIS_PASSWORD"),
	};
	bool found = !opts->store;
	struct figures set;
	int ret;

	bench.swap = swap_free_bytes() >= opts->bytes;
	figures_init(&set, "uttm bench backup: backup and restore (medians)");
	figures_add_int(&set, "rounds", "rounds", "", opts->rounds);
	figures_add_int(&set, "bytes", "bytes per round", "B", opts->bytes);
	figures_add_int(&set, "swap", "swap available (writeback timed)", "",
			bench.swap);
	ret = uttm_arena_create(&ap, &bench.arena);
	if (!ret) {
		warm_up(3 * opts->bytes);
		pp.arena = bench.arena;
		ret = uttm_pool_init(&bench.pool, &pp);
		for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && !ret;
		     i++) {
			if (opts->store && strcmp(opts->store, parts[i].name))
				continue;
			found = true;
			ret = parts[i].run(&bench, &set);
			if (ret)
				fprintf(stderr, "uttm bench backup: %s: %s\n",
					parts[i].name, strerror(-ret));
		}
		uttm_pool_fini(&bench.pool);
		uttm_arena_destroy(bench.arena);
		if (!found) {
			fprintf(stderr, "uttm bench backup: no part for store "
				"'%s' in this build\n", opts->store);
			ret = -ENOENT;
		}
	} else {
		fprintf(stderr, "uttm bench backup: %s\n", strerror(-ret));
	}
	if (!ret)
		figures_print(&set, stdout, opts->json);
	figures_fini(&set);
	return ret ? 1 : 0;
}
