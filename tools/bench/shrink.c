// SPDX-License-Identifier: MIT
/*
 * `uttm bench shrink`: what the shrinker's walk costs next to the work it
 * drives.  A scan frees a whole data set spread over 10,000 objects; the
 * driver's shrink callback times each object's own shrink (the store
 * taking the pages and their memory going back), and a wrapper around the
 * store times the store alone.  What remains of the scan is the walk
 * itself: finding, referencing and trylocking objects, the LRUs and the
 * bookkeeping.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "uttm.h"

/* A store that forwards to another and adds up the time spent in it. */
struct timed_store {
	struct uttm_backup base;
	struct uttm_backup *inner;
	double seconds;
};

/* The base is the first member. */
static struct timed_store *to_timed(struct uttm_backup *backup)
{
	return (struct timed_store *)backup;
}

static long timed_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	struct timed_store *ts = to_timed(backup);
	double t = now_seconds();
	long ret = uttm_backup_backup_pages(ts->inner, src, count, writeback,
					    handles);

	ts->seconds += now_seconds() - t;
	return ret;
}

static long timed_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	return uttm_backup_copy_pages(to_timed(backup)->inner, dst, handles,
				      count, ctx);
}

static void timed_drop(struct uttm_backup *backup, const unsigned long *handles,
		       unsigned long count)
{
	uttm_backup_drop(to_timed(backup)->inner, handles, count);
}

static uint64_t timed_bytes_avail(struct uttm_backup *backup)
{
	struct timed_store *ts = to_timed(backup);
	double t = now_seconds();
	uint64_t ret = uttm_backup_bytes_avail(ts->inner);

	ts->seconds += now_seconds() - t;
	return ret;
}

static void timed_fini(struct uttm_backup *backup)
{
	struct timed_store *ts = to_timed(backup);

	uttm_backup_put(ts->inner);
	free(ts);
}

static const struct uttm_backup_ops timed_ops = {
	.backup_pages = timed_backup_pages,
	.copy_pages = timed_copy_pages,
	.drop = timed_drop,
	.bytes_avail = timed_bytes_avail,
	.fini = timed_fini,
};

/* Time spent in the driver callback, i.e. shrinking objects themselves. */
static double object_seconds;

static long timed_bo_shrink(struct uttm_bo *bo,
			    const struct uttm_operation_ctx *op,
			    const struct uttm_shrink_control *sc)
{
	const struct uttm_backup_flags flags = { .writeback = sc->writeback };
	double t = now_seconds();
	long ret = uttm_bo_shrink(bo, &flags);

	object_seconds += now_seconds() - t;
	return ret;
}

static const struct uttm_device_funcs bench_funcs = {
	.bo_shrink = timed_bo_shrink,
};

struct shrink_round {
	double pages_per_s;
	double walk_share;
	double store_share;
	double object_share;
	double seconds;
	unsigned long freed;
};

struct shrink_bench {
	struct uttm_context *ctx;
	struct uttm_device *dev;
	struct timed_store *store;
	uint64_t bytes;
};

static int bench_setup(struct shrink_bench *b, struct uttm_arena *arena)
{
	struct uttm_backup_shmem_params sp = { .capacity = 2 * b->bytes };
	struct uttm_device_params dp = {
		.pool = { .arena = arena },
		.caching = UTTM_PLAIN,
		.funcs = &bench_funcs,
	};
	struct uttm_context_params cp = { .page_limit = 2 * b->bytes };
	int ret;

	b->store = calloc(1, sizeof(*b->store));
	if (!b->store)
		return -ENOMEM;
	ret = uttm_backup_shmem_create(&sp, &b->store->inner);
	if (ret) {
		free(b->store);
		return ret;
	}
	uttm_backup_init(&b->store->base, &timed_ops, NULL);
	dp.backup = &b->store->base;
	ret = uttm_context_create(&cp, &b->ctx);
	if (!ret)
		ret = uttm_device_create(b->ctx, &dp, &b->dev);
	uttm_backup_put(&b->store->base);
	return ret;
}

static void bench_teardown(struct shrink_bench *b)
{
	uttm_device_destroy(b->dev);
	uttm_context_destroy(b->ctx);
}

/* Creates the objects, pages spread evenly, and validates them. */
static int populate_objects(struct shrink_bench *b, struct uttm_bo **bos)
{
	const struct uttm_operation_ctx op = { .interruptible = false };
	unsigned long pages = b->bytes / UTTM_PAGE_SIZE;
	int ret = 0;

	for (unsigned int i = 0; i < SHRINK_OBJECTS && !ret; i++) {
		struct uttm_bo_params bp = {
			.size = (pages / SHRINK_OBJECTS +
				 (i < pages % SHRINK_OBJECTS)) * UTTM_PAGE_SIZE,
		};
		struct uttm_tt *tt;

		ret = uttm_bo_create(b->dev, &bp, &bos[i]);
		if (ret)
			break;
		uttm_bo_lock(bos[i]);
		ret = uttm_bo_validate(bos[i], &op);
		tt = uttm_bo_tt(bos[i]);
		for (unsigned long p = 0; !ret && p < tt->num_pages; p++)
			*(unsigned int *)uttm_tt_page_address(tt, p) = i;
		uttm_bo_unlock(bos[i]);
	}
	return ret;
}

static int shrink_round(struct shrink_bench *b, struct shrink_round *r)
{
	struct uttm_bo **bos = calloc(SHRINK_OBJECTS, sizeof(*bos));
	unsigned long pages = b->bytes / UTTM_PAGE_SIZE;
	double t;
	int ret;

	if (!bos)
		return -ENOMEM;
	ret = populate_objects(b, bos);
	if (!ret) {
		object_seconds = 0;
		b->store->seconds = 0;
		t = now_seconds();
		r->freed = uttm_shrinker_scan(b->ctx, pages);
		r->seconds = now_seconds() - t;
		r->pages_per_s = (double)r->freed / r->seconds;
		r->object_share = object_seconds / r->seconds;
		r->store_share = b->store->seconds / r->seconds;
		r->walk_share = 1 - r->object_share;
		if (r->freed < pages)
			ret = -EAGAIN;
	}
	for (unsigned int i = 0; i < SHRINK_OBJECTS; i++)
		uttm_bo_put(bos[i]);
	free(bos);
	return ret;
}

static void report(const struct shrink_round *rounds, unsigned int n,
		   uint64_t bytes, bool json)
{
	struct figures set;

	figures_init(&set,
		     "uttm bench shrink: one scan over 10,000 objects (medians)");
	figures_add_int(&set, "rounds", "rounds", "", n);
	figures_add_int(&set, "bytes", "bytes freed per scan", "B", bytes);
	figures_add_int(&set, "objects", "objects", "", SHRINK_OBJECTS);
	figures_add_int(&set, "pages_freed", "pages freed per scan", "",
			(uint64_t)MEDIAN_OF(rounds, n, freed));
	figures_add(&set, "scan_seconds", "scan time", "s",
		    MEDIAN_OF(rounds, n, seconds));
	figures_add(&set, "pages_per_s", "pages freed per second", "pages/s",
		    MEDIAN_OF(rounds, n, pages_per_s));
	figures_section(&set, "where the time goes");
	figures_add(&set, "walk_overhead_share",
		    "walk itself: locking, LRU, bookkeeping", "",
		    MEDIAN_OF(rounds, n, walk_share));
	figures_add(&set, "object_shrink_share",
		    "objects' own shrink (store + memory release)", "",
		    MEDIAN_OF(rounds, n, object_share));
	figures_add(&set, "store_share", "of which in the store", "",
		    MEDIAN_OF(rounds, n, store_share));
	figures_print(&set, stdout, json);
	figures_fini(&set);
}

int bench_shrink(const struct bench_options *opts)
{
	struct uttm_arena_params ap = { .max_bytes = 2 * opts->bytes };
	struct shrink_bench b = { .bytes = opts->bytes };
	struct shrink_round *rounds = calloc(opts->rounds, sizeof(*rounds));
	struct uttm_arena *arena = NULL;
	int ret = rounds ? 0 : -ENOMEM;

	if (!ret)
		ret = uttm_arena_create(&ap, &arena);
	if (!ret) {
		ret = bench_setup(&b, arena);
		for (unsigned int i = 0; i < opts->rounds && !ret; i++)
			ret = shrink_round(&b, &rounds[i]);
		bench_teardown(&b);
		uttm_arena_destroy(arena);
	}
	if (ret)
		fprintf(stderr, "uttm bench shrink: %s\n", strerror(-ret));
	else
		report(rounds, opts->rounds, opts->bytes, opts->json);
	free(rounds);
	return ret ? 1 : 0;
}
