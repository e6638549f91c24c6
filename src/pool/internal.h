/* SPDX-License-Identifier: MIT */
/*
 * The pool layer's calls for the layers above it that are not the
 * library's API: recycling, by which reclaim on behalf of a populate
 * hands the victims' pages to that populate instead of the system.
 */
#ifndef UTTM_POOL_INTERNAL_H
#define UTTM_POOL_INTERNAL_H

#include "uttm/pool.h"

/**
 * struct uttm_pool_recycle - pages on their way from victims to a populate
 * @pool: the pool whose pages it holds.
 * @blocks: plain blocks per order, content left as it was.
 * @nr_pages: pages on @blocks.
 * @recycled: pages ever put here.
 * @overwrite: the populate overwrites every byte of what it takes (a
 * restore), so taken blocks are not cleared.
 *
 * Owned by one thread: the one reclaiming for its own populate.  A
 * block here is still counted where it was counted before (a victim's
 * vector pages stay charged) until the owner takes or releases it.
 */
struct uttm_pool_recycle {
	struct uttm_pool *pool;
	struct uttm_page_list blocks[UTTM_NR_ORDERS];
	unsigned long nr_pages;
	unsigned long recycled;
	bool overwrite;
};

/* recycle.c: an empty bin for @pool's pages. */
void uttm_pool_recycle_init(struct uttm_pool_recycle *bin,
			    struct uttm_pool *pool, bool overwrite);
/* recycle.c: puts a plain block into @bin. */
void uttm_pool_recycle_put(struct uttm_pool_recycle *bin,
			   struct uttm_page *block);
/*
 * recycle.c: the largest block of @bin of at most @max_order pages
 * (splitting a larger one when there is none), cleared unless
 * @bin->overwrite; NULL when @bin is empty.
 */
struct uttm_page *uttm_pool_recycle_take(struct uttm_pool_recycle *bin,
					 unsigned int max_order);
/*
 * recycle.c: releases pages of @bin to the system until it holds at most
 * @keep, splitting a block where needed; returns the pages released.
 */
unsigned long uttm_pool_recycle_trim(struct uttm_pool_recycle *bin,
				     unsigned long keep);
/* recycle.c: releases what is left in @bin to the system; returns pages. */
unsigned long uttm_pool_recycle_fini(struct uttm_pool_recycle *bin);

/*
 * pool.c: uttm_pool_release(), with the pages going into @bin instead
 * when @bin is not NULL.  Returns the pages given up.
 */
unsigned long __uttm_pool_release(struct uttm_pool *pool,
				  struct uttm_page **pages, uint64_t *dma_addr,
				  unsigned long num_pages,
				  enum uttm_caching caching,
				  struct uttm_pool_recycle *bin);
/*
 * pool.c: uttm_pool_alloc_block(), taking the blocks of @bin (or NULL)
 * before pooled or fresh ones.
 */
int __uttm_pool_alloc_block(struct uttm_pool *pool,
			    struct uttm_pool_alloc_state *state,
			    struct uttm_pool_recycle *bin);
/* pool.c: uttm_pool_alloc(), taking the blocks of @bin (or NULL) first. */
int __uttm_pool_alloc(struct uttm_pool *pool, struct uttm_page **pages,
		      uint64_t *dma_addr, unsigned long num_pages,
		      enum uttm_caching caching, struct uttm_pool_recycle *bin);

#endif /* UTTM_POOL_INTERNAL_H */
