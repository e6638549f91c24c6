// SPDX-License-Identifier: MIT
/*
 * `uttm bench pool`: what a pool hit is worth.  Times, in the same run,
 * populating a vector from fresh arena blocks, populating it again from
 * the pool, taking single pages from the pool, and the reference a
 * program without a pool pays: mmap() and a first touch of every page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <uttm/tt.h>

#include "uttm.h"

struct pool_round {
	double fresh;		/* pages/s, vector from fresh blocks */
	double hit;		/* pages/s, vector from the pool */
	double hit_order0;	/* pages/s, single pages from the pool */
	double first_touch;	/* pages/s, mmap + touch */
	double locked_fresh;	/* pages/s, locked vector from fresh blocks */
	double locked_hit;	/* pages/s, locked vector from the pool */
	double hit_share;	/* share of pool-hit pages really from the pool */
};

static const struct uttm_operation_ctx ctx;

/* Populates @tt from whatever the pool holds; returns pages/s. */
static int time_populate(struct uttm_tt *tt, double *rate)
{
	double t = now_seconds();
	int ret = uttm_tt_populate(tt, &ctx);

	*rate = (double)tt->num_pages / (now_seconds() - t);
	return ret;
}

static int vector_rounds(struct uttm_pool *pool, uint64_t bytes,
			 enum uttm_caching caching, double *fresh, double *hit,
			 double *hit_share)
{
	unsigned long before;
	struct uttm_tt tt;
	int ret;

	ret = uttm_tt_init(&tt, pool, bytes, caching, 0);
	if (ret)
		return ret;
	uttm_pool_trim(pool, 0);
	ret = time_populate(&tt, fresh);
	if (ret)
		goto out;
	uttm_tt_unpopulate(&tt);
	before = uttm_pool_shrink_count(pool);
	ret = time_populate(&tt, hit);
	if (hit_share)
		*hit_share = (double)(before - uttm_pool_shrink_count(pool)) /
			     (double)tt.num_pages;
out:
	uttm_tt_fini(&tt);
	return ret;
}

/* Single-page allocations served from a pool holding order-0 blocks. */
static int order0_round(struct uttm_pool *pool, unsigned long npages,
			double *rate)
{
	struct uttm_page **pages = calloc(npages, sizeof(*pages));
	unsigned long i;
	double t;
	int ret = 0;

	if (!pages)
		return -ENOMEM;
	uttm_pool_trim(pool, 0);
	for (i = 0; i < npages && !ret; i++)
		ret = uttm_pool_alloc(pool, &pages[i], NULL, 1, UTTM_PLAIN);
	uttm_pool_free(pool, pages, NULL, i - (ret != 0), UTTM_PLAIN);
	if (ret)
		goto out;
	t = now_seconds();
	for (i = 0; i < npages && !ret; i++)
		ret = uttm_pool_alloc(pool, &pages[i], NULL, 1, UTTM_PLAIN);
	*rate = (double)npages / (now_seconds() - t);
	uttm_pool_free(pool, pages, NULL, i - (ret != 0), UTTM_PLAIN);
out:
	free(pages);
	return ret;
}

/* The reference: fresh anonymous memory, touched once per page. */
static int first_touch_round(unsigned long npages, double *rate)
{
	size_t bytes = npages * UTTM_PAGE_SIZE;
	double t = now_seconds();
	volatile char *p;

	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	for (unsigned long i = 0; i < npages; i++)
		p[i * UTTM_PAGE_SIZE] = 1;
	*rate = (double)npages / (now_seconds() - t);
	munmap((void *)p, bytes);
	return 0;
}

static int pool_round(struct uttm_pool *pool, uint64_t bytes,
		      struct pool_round *r)
{
	unsigned long npages = bytes / UTTM_PAGE_SIZE;
	int ret;

	ret = vector_rounds(pool, bytes, UTTM_PLAIN, &r->fresh, &r->hit,
			    &r->hit_share);
	if (!ret)
		ret = order0_round(pool, npages, &r->hit_order0);
	if (!ret)
		ret = first_touch_round(npages, &r->first_touch);
	if (!ret)
		ret = vector_rounds(pool, bytes, UTTM_LOCKED, &r->locked_fresh,
				    &r->locked_hit, NULL);
	return ret;
}

static void report(const struct pool_round *rounds, unsigned int n,
		   uint64_t bytes, bool json)
{
	double fresh = MEDIAN_OF(rounds, n, fresh);
	double hit = MEDIAN_OF(rounds, n, hit);
	double hit0 = MEDIAN_OF(rounds, n, hit_order0);
	double touch = MEDIAN_OF(rounds, n, first_touch);
	double lfresh = MEDIAN_OF(rounds, n, locked_fresh);
	double lhit = MEDIAN_OF(rounds, n, locked_hit);
	struct figures set;

	figures_init(&set, "uttm bench pool: page allocation (medians)");
	figures_add_int(&set, "rounds", "rounds", "", n);
	figures_add_int(&set, "bytes", "bytes per round", "B", bytes);
	figures_section(&set, "allocation rate");
	figures_add(&set, "pool_hit_pages_per_s",
		    "pool hit, whole vector (large blocks)", "pages/s", hit);
	figures_add(&set, "pool_hit_order0_pages_per_s",
		    "pool hit, single pages", "pages/s", hit0);
	figures_add(&set, "fresh_block_pages_per_s",
		    "fresh arena blocks, whole vector", "pages/s", fresh);
	figures_add(&set, "first_touch_pages_per_s",
		    "reference: mmap + first touch", "pages/s", touch);
	figures_add(&set, "locked_pool_hit_pages_per_s",
		    "locked: pool hit, whole vector", "pages/s", lhit);
	figures_add(&set, "locked_fresh_pages_per_s",
		    "locked: fresh blocks + mlock", "pages/s", lfresh);
	figures_add(&set, "pool_hit_share",
		    "share of pool-hit pages taken from the pool", "",
		    MEDIAN_OF(rounds, n, hit_share));
	figures_section(&set, "ratios");
	figures_add(&set, "pool_hit_speedup_vs_first_touch",
		    "single-page pool hit / mmap + first touch", "x",
		    hit0 / touch);
	figures_add(&set, "vector_pool_hit_speedup_vs_first_touch",
		    "vector pool hit / mmap + first touch", "x", hit / touch);
	figures_add(&set, "fresh_vs_first_touch",
		    "fresh arena blocks / mmap + first touch", "x",
		    fresh / touch);
	figures_add(&set, "locked_pool_hit_speedup_vs_fresh",
		    "locked pool hit / locked fresh", "x", lhit / lfresh);
	figures_section(&set, "memory");
	figures_add_int(&set, "metadata_bytes_per_page",
			"page descriptor (memmap) per 4 KiB page", "B",
			sizeof(struct uttm_page));
	figures_add_int(&set, "vector_bytes_per_page",
			"page vector entry per page of an object", "B",
			sizeof(struct uttm_page *));
	figures_print(&set, stdout, json);
	figures_fini(&set);
}

int bench_pool(const struct bench_options *opts)
{
	struct uttm_arena_params ap = { .max_bytes = 4 * opts->bytes };
	struct pool_round *rounds;
	struct uttm_arena *arena;
	struct uttm_pool pool;
	struct uttm_pool_params pp;
	unsigned int i;
	int ret;

	rounds = calloc(opts->rounds, sizeof(*rounds));
	if (!rounds)
		return 1;
	ret = uttm_arena_create(&ap, &arena);
	if (ret)
		goto out;
	pp = (struct uttm_pool_params){
		.arena = arena,
		.max_pages = 2 * opts->bytes / UTTM_PAGE_SIZE,
	};
	ret = uttm_pool_init(&pool, &pp);
	for (i = 0; i < opts->rounds && !ret; i++)
		ret = pool_round(&pool, opts->bytes, &rounds[i]);
	uttm_pool_fini(&pool);
	uttm_arena_destroy(arena);
	if (!ret)
		report(rounds, opts->rounds, opts->bytes, opts->json);
out:
	if (ret)
		fprintf(stderr, "uttm bench pool: %s%s\n", strerror(-ret),
			ret == -ENOMEM || ret == -EPERM ?
			" (locked pages need RLIMIT_MEMLOCK: see ulimit -l)" :
			"");
	free(rounds);
	return ret ? 1 : 0;
}
