// SPDX-License-Identifier: MIT
/*
 * The tt layer: the page vector of one object, its population from a pool
 * and its CPU mappings.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uttm/tt.h"
#include "base/base.h"
#include "pool/internal.h"
#include "internal.h"

/* Entries are page descriptors (even) or, when backed up, tagged handles. */
#define TT_MAX_PAGES UINT32_MAX

static bool tt_size_valid(const struct uttm_pool *pool, uint64_t size)
{
	struct uttm_arena_stats stats;

	uttm_arena_stats(pool->arena, &stats);
	return size && size <= stats.max_bytes &&
	       DIV_ROUND_UP(size, UTTM_PAGE_SIZE) <= TT_MAX_PAGES;
}

/*
 * The entries of a vector of @pages, and with UTTM_TT_FLAG_TRACK_DIRTY
 * its kept copies after them: one allocation, so that a small vector
 * tracks writes for no more than the allocator's rounding.
 */
size_t uttm_tt_entries_size(unsigned long pages, uint32_t page_flags)
{
	size_t entries = pages * sizeof(struct uttm_page *);

	if (page_flags & UTTM_TT_FLAG_TRACK_DIRTY)
		entries += sizeof(struct uttm_tt_copies) +
			   pages * sizeof(unsigned long);
	return entries;
}

int uttm_tt_init(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t size,
		 enum uttm_caching caching, uint32_t page_flags)
{
	if (!tt || !pool || !pool->arena || !tt_size_valid(pool, size) ||
	    (page_flags & ~UTTM_TT_FLAGS_USER) ||
	    !uttm_pool_caching_supported(pool, caching))
		return -EINVAL;

	memset(tt, 0, sizeof(*tt));
	tt->num_pages = DIV_ROUND_UP(size, UTTM_PAGE_SIZE);
	tt->pages = calloc(1, uttm_tt_entries_size(tt->num_pages, page_flags));
	if (!tt->pages)
		return -ENOMEM;
	if (pool->use_dma_map) {
		tt->dma_address = calloc(tt->num_pages,
					 sizeof(*tt->dma_address));
		if (!tt->dma_address) {
			free(tt->pages);
			tt->pages = NULL;
			return -ENOMEM;
		}
	}
	if (page_flags & UTTM_TT_FLAG_TRACK_DIRTY)
		tt->copies = (struct uttm_tt_copies *)(tt->pages +
						       tt->num_pages);
	tt->pool = pool;
	tt->caching = caching;
	tt->page_flags = page_flags;
	return 0;
}

void uttm_tt_fini(struct uttm_tt *tt)
{
	if (!tt || !tt->pages)
		return;
	uttm_tt_unpopulate(tt);
	if (uttm_tt_is_backed_up(tt))
		uttm_tt_release_backed_up(tt);
	UTTM_WARN_ON(tt->resident_pages || (tt->copies && tt->copies->count));
	uttm_backup_put(tt->backup);
	free(tt->dma_address);
	free(tt->pages);
	memset(tt, 0, sizeof(*tt));
}

int __uttm_tt_populate(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx,
		       struct uttm_pool_recycle *bin)
{
	int ret;

	if (UTTM_WARN_ON(!tt || !tt->pages || !ctx) || !UTTM_RESERVED_CLEAR(ctx))
		return -EINVAL;
	if (uttm_tt_is_populated(tt))
		return 0;
	if (uttm_tt_is_backed_up(tt)) {
		ret = uttm_tt_restore(tt, ctx, bin);
	} else {
		ret = __uttm_pool_alloc(tt->pool, tt->pages, tt->dma_address,
					tt->num_pages, tt->caching, bin);
		if (!ret)
			tt->resident_pages = tt->num_pages;
	}
	if (ret)
		return ret;
	tt->page_flags |= UTTM_TT_FLAG_PRIV_POPULATED;
	return 0;
}

int uttm_tt_populate(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx)
{
	return __uttm_tt_populate(tt, ctx, NULL);
}

void uttm_tt_unpopulate(struct uttm_tt *tt)
{
	if (!tt || !uttm_tt_is_populated(tt))
		return;
	uttm_tt_drop_copies(tt, 0, tt->num_pages);
	uttm_tt_vunmap(tt);
	uttm_pool_free(tt->pool, tt->pages, tt->dma_address, tt->num_pages,
		       tt->caching);
	memset(tt->pages, 0, tt->num_pages * sizeof(*tt->pages));
	tt->resident_pages = 0;
	tt->page_flags &= ~UTTM_TT_FLAG_PRIV_POPULATED;
}

void uttm_tt_set_purgeable(struct uttm_tt *tt, bool purgeable)
{
	if (purgeable)
		tt->page_flags |= UTTM_TT_FLAG_DONTNEED;
	else
		tt->page_flags &= ~UTTM_TT_FLAG_DONTNEED;
}

void *uttm_tt_page_address(const struct uttm_tt *tt, unsigned long index)
{
	if (!tt || !uttm_tt_is_populated(tt) || index >= tt->num_pages)
		return NULL;
	return uttm_pool_page_address(tt->pool, tt->pages[index]);
}

/* Maps pages [first, first + count) of @tt, contiguous in the file, at @at. */
static int vmap_run(struct uttm_tt *tt, char *at, unsigned long first,
		    unsigned long count)
{
	struct uttm_arena *arena = tt->pool->arena;
	void *addr;

	addr = mmap(at, count << UTTM_PAGE_SHIFT, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, uttm_arena_fd(arena),
		    (off_t)uttm_page_offset(arena, tt->pages[first]));
	return addr == MAP_FAILED ? -ENOMEM : 0;
}

/* Whether the pages of @tt lie back to back in the arena. */
static bool tt_contiguous(const struct uttm_tt *tt)
{
	struct uttm_arena *arena = tt->pool->arena;
	uint64_t first = uttm_page_offset(arena, tt->pages[0]);

	for (unsigned long i = 1; i < tt->num_pages; i++)
		if (uttm_page_offset(arena, tt->pages[i]) !=
		    first + ((uint64_t)i << UTTM_PAGE_SHIFT))
			return false;
	return true;
}

/* Whether the vmap is the arena's own mapping of the pages, not a copy. */
static bool vmap_is_arena(const struct uttm_tt *tt)
{
	return tt->vmap_addr == uttm_tt_page_address(tt, 0);
}

int uttm_tt_vmap(struct uttm_tt *tt, void **addr)
{
	struct uttm_arena *arena;
	unsigned long first = 0, i;
	size_t bytes;
	char *base;
	int ret;

	if (UTTM_WARN_ON(!tt || !addr) || !uttm_tt_is_populated(tt) ||
	    UTTM_WARN_ON(uttm_arena_inherited(tt->pool->arena)))
		return -EINVAL;
	if (!tt->vmap_addr && tt_contiguous(tt))
		tt->vmap_addr = uttm_tt_page_address(tt, 0);
	if (tt->vmap_addr) {
		*addr = tt->vmap_addr;
		return 0;
	}
	arena = tt->pool->arena;
	bytes = tt->num_pages << UTTM_PAGE_SHIFT;
	base = mmap(NULL, bytes, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	for (i = 1; i <= tt->num_pages; i++) {
		if (i < tt->num_pages &&
		    uttm_page_offset(arena, tt->pages[i]) ==
		    uttm_page_offset(arena, tt->pages[i - 1]) + UTTM_PAGE_SIZE)
			continue;
		ret = vmap_run(tt, base + (first << UTTM_PAGE_SHIFT), first,
			       i - first);
		if (ret) {
			munmap(base, bytes);
			return ret;
		}
		first = i;
	}
	/* Kept out of children, as the arena is. */
	if (madvise(base, bytes, MADV_DONTFORK)) {
		munmap(base, bytes);
		return -ENOMEM;
	}
	tt->vmap_addr = base;
	*addr = base;
	return 0;
}

void uttm_tt_vunmap(struct uttm_tt *tt)
{
	if (!tt || !tt->vmap_addr)
		return;
	/*
	 * A child of fork() has no copy of the mapping, and the range may
	 * hold one of its own by now.
	 */
	if (!vmap_is_arena(tt) && !uttm_arena_inherited(tt->pool->arena))
		munmap(tt->vmap_addr, tt->num_pages << UTTM_PAGE_SHIFT);
	tt->vmap_addr = NULL;
}
