// SPDX-License-Identifier: MIT
/*
 * Recycling: a populate that has to make room under its limit or budget
 * gets the pages its victims give up, as they are.  Releasing them would
 * cost a hole punch now and a fault and a clear of fresh memory a moment
 * later, for the same number of pages; a restore overwrites every byte
 * anyway.
 */
#include <string.h>

#include "base/base.h"
#include "internal.h"

/* Blocks released to the arena at once when a bin is emptied. */
#define FINI_BATCH 64

void uttm_pool_recycle_init(struct uttm_pool_recycle *bin,
			    struct uttm_pool *pool, bool overwrite)
{
	memset(bin, 0, sizeof(*bin));
	bin->pool = pool;
	bin->overwrite = overwrite;
	for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
		uttm_page_list_init(&bin->blocks[o]);
}

static void bin_push(struct uttm_pool_recycle *bin, struct uttm_page *block)
{
	unsigned int order = uttm_page_order(block);

	uttm_page_list_push(bin->pool->arena, &bin->blocks[order], block);
	bin->nr_pages += 1UL << order;
}

void uttm_pool_recycle_put(struct uttm_pool_recycle *bin,
			   struct uttm_page *block)
{
	bin_push(bin, block);
	bin->recycled += 1UL << uttm_page_order(block);
}

static struct uttm_page *bin_pop(struct uttm_pool_recycle *bin,
				 unsigned int order)
{
	struct uttm_page *block = uttm_page_list_pop(bin->pool->arena,
						     &bin->blocks[order]);

	if (block)
		bin->nr_pages -= 1UL << order;
	return block;
}

/* Splits the smallest block larger than @order into pages of order 0. */
static bool split_larger(struct uttm_pool_recycle *bin, unsigned int order)
{
	for (unsigned int o = order + 1; o < UTTM_NR_ORDERS; o++) {
		struct uttm_page *block = bin_pop(bin, o);

		if (!block)
			continue;
		uttm_split_page(block);
		for (unsigned long j = 0; j < 1UL << o; j++)
			bin_push(bin, block + j);
		return true;
	}
	return false;
}

struct uttm_page *uttm_pool_recycle_take(struct uttm_pool_recycle *bin,
					 unsigned int max_order)
{
	struct uttm_page *block = NULL;
	int order;

	if (!bin || !bin->nr_pages)
		return NULL;
	for (order = (int)max_order; order >= 0 && !block; order--)
		block = bin_pop(bin, (unsigned int)order);
	if (!block && split_larger(bin, max_order))
		block = bin_pop(bin, 0);
	if (block && !bin->overwrite)
		memset(uttm_pool_page_address(bin->pool, block), 0,
		       (1UL << uttm_page_order(block)) << UTTM_PAGE_SHIFT);
	return block;
}

/* The smallest block of @bin, which holds one. */
static struct uttm_page *smallest(struct uttm_pool_recycle *bin)
{
	struct uttm_page *block = NULL;

	for (unsigned int o = 0; o < UTTM_NR_ORDERS && !block; o++)
		block = bin_pop(bin, o);
	return block;
}

unsigned long uttm_pool_recycle_trim(struct uttm_pool_recycle *bin,
				     unsigned long keep)
{
	unsigned long released = 0;

	while (bin->nr_pages > keep) {
		struct uttm_page *block = smallest(bin);
		unsigned long nr = 1UL << uttm_page_order(block);

		/* Taken off already: it goes if the rest are enough. */
		if (bin->nr_pages >= keep) {
			uttm_free_pages(bin->pool->arena, &block, 1);
			released += nr;
			continue;
		}
		uttm_split_page(block);
		for (unsigned long j = 0; j < nr; j++)
			bin_push(bin, block + j);
	}
	return released;
}

unsigned long uttm_pool_recycle_fini(struct uttm_pool_recycle *bin)
{
	struct uttm_page *batch[FINI_BATCH];
	unsigned long released = bin->nr_pages;
	unsigned int n = 0;

	for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++) {
		struct uttm_page *block;

		while ((block = bin_pop(bin, o))) {
			batch[n++] = block;
			if (n == FINI_BATCH) {
				uttm_free_pages(bin->pool->arena, batch, n);
				n = 0;
			}
		}
	}
	uttm_free_pages(bin->pool->arena, batch, n);
	return released;
}
