// SPDX-License-Identifier: MIT
/*
 * The pool layer: keeps freed blocks in their caching state so that the
 * next allocation of the same kind skips the arena, the page faults and
 * the state change.
 *
 * Page arrays handed to this file list every page: a block's head is
 * followed by its 2^order - 1 other pages.  State changes and device
 * mappings are applied to runs of blocks that are contiguous in memory,
 * so a vector made of adjacent blocks costs one mlock() in all.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/base.h"
#include "internal.h"

#define NR_POOL_TYPES (UTTM_NUM_CACHING * UTTM_NR_ORDERS)
/* Blocks released to the arena at once. */
#define RELEASE_BATCH 64

static const char *const caching_names[UTTM_NUM_CACHING] = {
	[UTTM_PLAIN] = "plain",
	[UTTM_LOCKED] = "locked",
	[UTTM_DEVICE] = "device",
};

const char *uttm_caching_name(enum uttm_caching caching)
{
	return (unsigned int)caching < UTTM_NUM_CACHING ?
	       caching_names[caching] : "?";
}

static inline bool entry_is_page(const struct uttm_page *entry)
{
	return entry && !((uintptr_t)entry & 1);
}

bool uttm_pool_caching_supported(const struct uttm_pool *pool,
				 enum uttm_caching caching)
{
	if ((unsigned int)caching >= UTTM_NUM_CACHING)
		return false;
	return caching != UTTM_DEVICE ||
	       (pool->ops && pool->ops->device_enter && pool->ops->device_leave);
}

static int caching_enter(struct uttm_pool *pool, enum uttm_caching caching,
			 void *addr, unsigned long npages)
{
	switch (caching) {
	case UTTM_LOCKED:
		/*
		 * The raw system call: sanitizer runtimes intercept mlock()
		 * and turn it into a no-op, which would make the locked
		 * state a lie in exactly the builds that check it.
		 */
		return syscall(SYS_mlock, addr, npages << UTTM_PAGE_SHIFT) ?
		       -errno : 0;
	case UTTM_DEVICE:
		return pool->ops->device_enter(pool->priv, addr, npages);
	default:
		return 0;
	}
}

/*
 * Whether the pool's pages are a parent's, inherited through fork(): the
 * child holds neither their memory nor their locks or device state, so
 * it leaves them as they are and never pools them.
 */
static bool pool_inherited(const struct uttm_pool *pool)
{
	return uttm_arena_inherited(pool->arena);
}

static void caching_leave(struct uttm_pool *pool, enum uttm_caching caching,
			  void *addr, unsigned long npages)
{
	if (pool_inherited(pool))
		return;
	switch (caching) {
	case UTTM_LOCKED:
		UTTM_WARN_ON(syscall(SYS_munlock, addr,
				     npages << UTTM_PAGE_SHIFT));
		break;
	case UTTM_DEVICE:
		pool->ops->device_leave(pool->priv, addr, npages);
		break;
	default:
		break;
	}
}

/*
 * Iterates over the maximal runs of address-contiguous blocks of a page
 * array, skipping entries that are not pages.
 */
struct run_iter {
	struct uttm_page **pages;
	unsigned long num_pages;
	unsigned long next;
};

static bool next_run(const struct uttm_pool *pool, struct run_iter *it,
		     char **addr, unsigned long *npages)
{
	char *end = NULL;

	*npages = 0;
	while (it->next < it->num_pages) {
		struct uttm_page *page = it->pages[it->next];
		unsigned long nr;
		char *a;

		if (!entry_is_page(page)) {
			if (*npages)
				break;
			it->next++;
			continue;
		}
		a = uttm_pool_page_address(pool, page);
		if (*npages && a != end)
			break;
		nr = 1UL << uttm_page_order(page);
		if (!*npages)
			*addr = a;
		*npages += nr;
		end = a + (nr << UTTM_PAGE_SHIFT);
		it->next += nr;
	}
	return *npages != 0;
}

static void leave_runs(struct uttm_pool *pool, struct uttm_page **pages,
		       unsigned long num_pages, enum uttm_caching caching)
{
	struct run_iter it = { pages, num_pages, 0 };
	unsigned long npages;
	char *addr;

	if (caching == UTTM_PLAIN)
		return;
	while (next_run(pool, &it, &addr, &npages))
		caching_leave(pool, caching, addr, npages);
}

/* Moves plain pages to @caching; on failure, nothing has moved. */
static int enter_runs(struct uttm_pool *pool, struct uttm_page **pages,
		      unsigned long num_pages, enum uttm_caching caching)
{
	struct run_iter it = { pages, num_pages, 0 };
	unsigned long npages;
	char *addr;
	int ret;

	if (caching == UTTM_PLAIN)
		return 0;
	while (next_run(pool, &it, &addr, &npages)) {
		ret = caching_enter(pool, caching, addr, npages);
		if (ret) {
			leave_runs(pool, pages, it.next - npages, caching);
			return ret;
		}
	}
	return 0;
}

void uttm_pool_make_plain(struct uttm_pool *pool, struct uttm_page **pages,
			  unsigned long num_pages, enum uttm_caching caching)
{
	leave_runs(pool, pages, num_pages, caching);
}

void uttm_pool_unmap(struct uttm_pool *pool, struct uttm_page **pages,
		     uint64_t *dma_addr, unsigned long num_pages)
{
	unsigned long i, nr;

	if (!dma_addr || !pool->use_dma_map || pool_inherited(pool))
		return;
	for (i = 0; i < num_pages; i += nr) {
		nr = 1;
		if (!entry_is_page(pages[i]))
			continue;
		nr = 1UL << uttm_page_order(pages[i]);
		pool->ops->dma_unmap(pool->priv, dma_addr[i], nr);
	}
}

static struct uttm_pool_type *pool_type(struct uttm_pool *pool,
					enum uttm_caching caching,
					unsigned int order)
{
	return &pool->types[caching][order];
}

static struct uttm_page *pool_type_take(struct uttm_pool *pool,
					enum uttm_caching caching,
					unsigned int order)
{
	struct uttm_pool_type *pt = pool_type(pool, caching, order);
	unsigned long nr = 1UL << order;
	struct uttm_page *page;

	if (!__atomic_load_n(&pt->nr_pages, __ATOMIC_RELAXED))
		return NULL;
	pthread_mutex_lock(&pt->lock);
	page = uttm_page_list_pop(pool->arena, &pt->blocks);
	if (page)
		__atomic_fetch_sub(&pt->nr_pages, nr, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pt->lock);
	if (page)
		__atomic_fetch_sub(&pool->nr_pages, nr, __ATOMIC_RELAXED);
	return page;
}

/*
 * Pools a block if the pool has room for it, clearing it first so that
 * every pooled page is handed out zeroed.
 */
static bool pool_give(struct uttm_pool *pool, enum uttm_caching caching,
		      struct uttm_page *page)
{
	unsigned int order = uttm_page_order(page);
	struct uttm_pool_type *pt = pool_type(pool, caching, order);
	unsigned long nr = 1UL << order;

	if (pool_inherited(pool))
		return false;
	if (__atomic_fetch_add(&pool->nr_pages, nr, __ATOMIC_RELAXED) + nr >
	    pool->max_pages) {
		__atomic_fetch_sub(&pool->nr_pages, nr, __ATOMIC_RELAXED);
		return false;
	}
	memset(uttm_pool_page_address(pool, page), 0, nr << UTTM_PAGE_SHIFT);
	pthread_mutex_lock(&pt->lock);
	uttm_page_list_push(pool->arena, &pt->blocks, page);
	__atomic_fetch_add(&pt->nr_pages, nr, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&pt->lock);
	return true;
}

/*
 * Blocks on their way back to the arena, gathered to share hole punches,
 * or into a populate's bin when @bin is set.
 */
struct release_batch {
	struct uttm_page *blocks[RELEASE_BATCH];
	unsigned int count;
	unsigned long pages;
	struct uttm_pool_recycle *bin;
};

static void release_flush(struct uttm_pool *pool, struct release_batch *batch)
{
	uttm_free_pages(pool->arena, batch->blocks, batch->count);
	batch->count = 0;
}

/* Adds a plain block to @batch. */
static void release_add(struct uttm_pool *pool, struct release_batch *batch,
			struct uttm_page *page)
{
	batch->pages += 1UL << uttm_page_order(page);
	if (batch->bin) {
		uttm_pool_recycle_put(batch->bin, page);
		return;
	}
	batch->blocks[batch->count++] = page;
	if (batch->count == RELEASE_BATCH)
		release_flush(pool, batch);
}

/* Releases one block in state @caching to the arena. */
static void release_block(struct uttm_pool *pool, struct release_batch *batch,
			  enum uttm_caching caching, struct uttm_page *page)
{
	caching_leave(pool, caching, uttm_pool_page_address(pool, page),
		      1UL << uttm_page_order(page));
	release_add(pool, batch, page);
}

int uttm_pool_init(struct uttm_pool *pool,
		   const struct uttm_pool_params *params)
{
	if (!pool || !params || !params->arena ||
	    !UTTM_RESERVED_CLEAR(params) ||
	    (params->ops && !UTTM_RESERVED_CLEAR(params->ops)))
		return -EINVAL;
	if (params->use_dma_map &&
	    (!params->ops || !params->ops->dma_map || !params->ops->dma_unmap))
		return -EINVAL;

	memset(pool, 0, sizeof(*pool));
	pool->arena = params->arena;
	pool->ops = params->ops;
	pool->priv = params->priv;
	pool->max_pages = params->max_pages;
	pool->use_dma_map = params->use_dma_map;
	for (unsigned int c = 0; c < UTTM_NUM_CACHING; c++) {
		for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++) {
			struct uttm_pool_type *pt = pool_type(pool, c, o);

			pthread_mutex_init(&pt->lock, NULL);
			uttm_page_list_init(&pt->blocks);
		}
	}
	return 0;
}

void uttm_pool_fini(struct uttm_pool *pool)
{
	if (!pool || !pool->arena)
		return;
	uttm_pool_trim(pool, 0);
	for (unsigned int c = 0; c < UTTM_NUM_CACHING; c++)
		for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
			pthread_mutex_destroy(&pool_type(pool, c, o)->lock);
	pool->arena = NULL;
}

void uttm_pool_alloc_state_init(struct uttm_pool_alloc_state *state,
				struct uttm_page **pages, uint64_t *dma_addr,
				unsigned long num_pages,
				enum uttm_caching caching)
{
	state->pages = pages;
	state->caching_divide = pages;
	state->dma_addr = dma_addr;
	state->remaining_pages = num_pages;
	state->order = num_pages ? MIN(UTTM_MAX_ORDER, uttm_fls(num_pages)) : 0;
	state->caching = caching;
}

/*
 * Finds a block of at most @state->order pages: recycled, pooled, fresh,
 * or, when memory is short, pooled memory handed back and tried again,
 * and finally a smaller order.  A recycled block of a smaller order is
 * taken before a fresh one of the order wanted, since its pages are
 * already counted and in memory; the order stays worth trying.
 */
static int find_block(struct uttm_pool *pool,
		      struct uttm_pool_alloc_state *state,
		      struct uttm_pool_recycle *bin, struct uttm_page **out,
		      bool *pooled)
{
	unsigned int order = uttm_pool_alloc_max_order(state);
	int ret;

	*pooled = false;
	*out = uttm_pool_recycle_take(bin, order);
	if (*out)
		return 0;
	for (;;) {
		*out = pool_type_take(pool, state->caching, order);
		*pooled = *out != NULL;
		if (*pooled)
			break;
		ret = uttm_alloc_pages(pool->arena, order, out);
		if (!ret)
			break;
		if (ret != -ENOMEM)
			return ret;
		if (uttm_pool_shrink_scan(pool, 1UL << order))
			continue;
		if (!order)
			return -ENOMEM;
		order--;
	}
	state->order = order;
	return 0;
}

/* Returns a block that could not be placed to the pool or the system. */
static void unwind_block(struct uttm_pool *pool, enum uttm_caching caching,
			 struct uttm_page *page)
{
	struct release_batch batch = { .count = 0 };

	if (pool_give(pool, caching, page))
		return;
	release_block(pool, &batch, caching, page);
	release_flush(pool, &batch);
}

static int map_block(struct uttm_pool *pool, struct uttm_page *page,
		     uint64_t *dma_addr)
{
	unsigned long nr = 1UL << uttm_page_order(page);
	uint64_t first;
	int ret;

	if (!pool->use_dma_map)
		return 0;
	ret = pool->ops->dma_map(pool->priv, uttm_pool_page_address(pool, page),
				 nr, &first);
	if (ret)
		return ret;
	for (unsigned long j = 0; j < nr; j++)
		dma_addr[j] = first + (j << UTTM_PAGE_SHIFT);
	return 0;
}

int __uttm_pool_alloc_block(struct uttm_pool *pool,
			    struct uttm_pool_alloc_state *state,
			    struct uttm_pool_recycle *bin)
{
	enum uttm_caching block_caching;
	struct uttm_page *page;
	unsigned long nr;
	bool pooled;
	int ret;

	if (UTTM_WARN_ON(!state->remaining_pages))
		return -EINVAL;
	ret = find_block(pool, state, bin, &page, &pooled);
	if (ret)
		return ret;

	block_caching = pooled ? state->caching : UTTM_PLAIN;
	if (pooled) {
		/* The fresh pages before this block must catch up first. */
		ret = uttm_pool_alloc_finish(pool, state);
		if (ret)
			goto error_unwind;
	}
	ret = map_block(pool, page, state->dma_addr);
	if (ret)
		goto error_unwind;

	nr = 1UL << uttm_page_order(page);
	for (unsigned long j = 0; j < nr; j++)
		state->pages[j] = page + j;
	state->pages += nr;
	if (state->dma_addr)
		state->dma_addr += nr;
	state->remaining_pages -= nr;
	if (pooled || state->caching == UTTM_PLAIN)
		state->caching_divide = state->pages;
	return (int)uttm_page_order(page);

error_unwind:
	unwind_block(pool, block_caching, page);
	return ret;
}

int uttm_pool_alloc_block(struct uttm_pool *pool,
			  struct uttm_pool_alloc_state *state)
{
	return __uttm_pool_alloc_block(pool, state, NULL);
}

int uttm_pool_alloc_finish(struct uttm_pool *pool,
			   struct uttm_pool_alloc_state *state)
{
	int ret;

	ret = enter_runs(pool, state->caching_divide,
			 (unsigned long)(state->pages - state->caching_divide),
			 state->caching);
	if (!ret)
		state->caching_divide = state->pages;
	return ret;
}

int __uttm_pool_alloc(struct uttm_pool *pool, struct uttm_page **pages,
		      uint64_t *dma_addr, unsigned long num_pages,
		      enum uttm_caching caching, struct uttm_pool_recycle *bin)
{
	struct uttm_pool_alloc_state state;
	unsigned long in_state, fresh;
	int ret = 0;

	if (UTTM_WARN_ON(!pool || !pages || !num_pages) ||
	    !uttm_pool_caching_supported(pool, caching) ||
	    (pool->use_dma_map && !dma_addr))
		return -EINVAL;

	uttm_pool_alloc_state_init(&state, pages, dma_addr, num_pages, caching);
	while (state.remaining_pages && ret >= 0)
		ret = __uttm_pool_alloc_block(pool, &state, bin);
	if (ret >= 0)
		ret = uttm_pool_alloc_finish(pool, &state);
	if (ret >= 0)
		return 0;

	in_state = (unsigned long)(state.caching_divide - pages);
	fresh = (unsigned long)(state.pages - state.caching_divide);
	uttm_pool_free(pool, pages, dma_addr, in_state, caching);
	uttm_pool_free(pool, state.caching_divide,
		       dma_addr ? dma_addr + in_state : NULL, fresh,
		       UTTM_PLAIN);
	return ret;
}

int uttm_pool_alloc(struct uttm_pool *pool, struct uttm_page **pages,
		    uint64_t *dma_addr, unsigned long num_pages,
		    enum uttm_caching caching)
{
	return __uttm_pool_alloc(pool, pages, dma_addr, num_pages, caching,
				 NULL);
}

void uttm_pool_free(struct uttm_pool *pool, struct uttm_page **pages,
		    uint64_t *dma_addr, unsigned long num_pages,
		    enum uttm_caching caching)
{
	struct release_batch batch = { .count = 0 };
	unsigned long i, nr;

	if (UTTM_WARN_ON(!pool || (num_pages && !pages)))
		return;
	uttm_pool_unmap(pool, pages, dma_addr, num_pages);
	for (i = 0; i < num_pages; i += nr) {
		struct uttm_page *page = pages[i];

		nr = 1;
		if (UTTM_WARN_ON(!entry_is_page(page)))
			continue;
		nr = 1UL << uttm_page_order(page);
		if (!pool_give(pool, caching, page))
			release_block(pool, &batch, caching, page);
	}
	release_flush(pool, &batch);
}

unsigned long __uttm_pool_release(struct uttm_pool *pool,
				  struct uttm_page **pages, uint64_t *dma_addr,
				  unsigned long num_pages,
				  enum uttm_caching caching,
				  struct uttm_pool_recycle *bin)
{
	/* A parent's pages are forgotten, never handed on. */
	struct release_batch batch = {
		.bin = pool_inherited(pool) ? NULL : bin,
	};
	unsigned long i, nr;

	if (UTTM_WARN_ON(!pool || (num_pages && !pages)))
		return 0;
	uttm_pool_unmap(pool, pages, dma_addr, num_pages);
	leave_runs(pool, pages, num_pages, caching);
	for (i = 0; i < num_pages; i += nr) {
		struct uttm_page *page = pages[i];

		nr = 1;
		if (!entry_is_page(page))
			continue;
		nr = 1UL << uttm_page_order(page);
		release_add(pool, &batch, page);
		memset(&pages[i], 0, nr * sizeof(*pages));
	}
	release_flush(pool, &batch);
	return batch.pages;
}

unsigned long uttm_pool_release(struct uttm_pool *pool,
				struct uttm_page **pages, uint64_t *dma_addr,
				unsigned long num_pages,
				enum uttm_caching caching)
{
	return __uttm_pool_release(pool, pages, dma_addr, num_pages, caching,
				   NULL);
}

unsigned long uttm_pool_shrink_count(const struct uttm_pool *pool)
{
	return __atomic_load_n(&pool->nr_pages, __ATOMIC_RELAXED);
}

/* Takes one block from the next non-empty pool type, round-robin. */
static struct uttm_page *take_next(struct uttm_pool *pool,
				   enum uttm_caching *caching)
{
	for (unsigned int tries = 0; tries < NR_POOL_TYPES; tries++) {
		unsigned int idx = __atomic_fetch_add(&pool->shrink_cursor, 1,
						      __ATOMIC_RELAXED) %
				   NR_POOL_TYPES;
		struct uttm_page *page;

		*caching = idx / UTTM_NR_ORDERS;
		page = pool_type_take(pool, *caching, idx % UTTM_NR_ORDERS);
		if (page)
			return page;
	}
	return NULL;
}

unsigned long uttm_pool_shrink_scan(struct uttm_pool *pool,
				    unsigned long nr_to_scan)
{
	struct release_batch batch = { .count = 0, .pages = 0 };
	enum uttm_caching caching;
	struct uttm_page *page;

	while (batch.pages < nr_to_scan) {
		page = take_next(pool, &caching);
		if (!page)
			break;
		release_block(pool, &batch, caching, page);
	}
	release_flush(pool, &batch);
	return batch.pages;
}

unsigned long uttm_pool_trim(struct uttm_pool *pool, unsigned long keep_pages)
{
	unsigned long count = uttm_pool_shrink_count(pool);

	return count > keep_pages ? uttm_pool_shrink_scan(pool,
							  count - keep_pages) :
				    0;
}

unsigned long uttm_pool_type_pages(const struct uttm_pool *pool,
				   enum uttm_caching caching,
				   unsigned int order)
{
	if ((unsigned int)caching >= UTTM_NUM_CACHING ||
	    order > UTTM_MAX_ORDER)
		return 0;
	return __atomic_load_n(&pool->types[caching][order].nr_pages,
			       __ATOMIC_RELAXED);
}

int uttm_pool_dump(const struct uttm_pool *pool, FILE *out)
{
	if (!pool || !out)
		return -EINVAL;
	fprintf(out, "        ");
	for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
		fprintf(out, " ---%2u---", o);
	fputc('\n', out);
	for (unsigned int c = 0; c < UTTM_NUM_CACHING; c++) {
		fprintf(out, "%-7s:", uttm_caching_name(c));
		for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
			fprintf(out, " %8lu", uttm_pool_type_pages(pool, c, o));
		fputc('\n', out);
	}
	fprintf(out, "total  : %8lu of %8lu\n", uttm_pool_shrink_count(pool),
		pool->max_pages);
	return ferror(out) ? -EIO : 0;
}
