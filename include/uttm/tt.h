/* SPDX-License-Identifier: MIT */
/*
 * uttm/tt.h - the tt layer: the page vector of one buffer object
 *
 * A struct uttm_tt holds the pages of one object in a vector, one entry
 * per page, filled from a pool when the vector is populated and given back
 * when it is unpopulated.  Its caching state is the state every page is
 * in while populated.
 *
 * Kernel names: struct ttm_tt, ttm_tt_init(), ttm_tt_fini(),
 * ttm_tt_populate(), ttm_tt_unpopulate(), TTM_TT_FLAG_*.
 */
#ifndef UTTM_TT_H
#define UTTM_TT_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The content may be dropped under pressure; the owner is told. */
#define UTTM_TT_FLAG_DONTNEED (1u << 0)
/** Pages must be zero-filled when populated (uttm always provides that). */
#define UTTM_TT_FLAG_ZERO_ALLOC (1u << 1)
/** Content lives, at least partly, in the backup store. */
#define UTTM_TT_FLAG_SWAPPED (1u << 2)
/** Flags a caller may pass to uttm_tt_init(). */
#define UTTM_TT_FLAGS_USER (UTTM_TT_FLAG_DONTNEED | UTTM_TT_FLAG_ZERO_ALLOC)
/** Set by uttm while the vector holds all its pages. Private. */
#define UTTM_TT_FLAG_PRIV_POPULATED (1u << 30)

/**
 * struct uttm_tt - page vector of one object
 * @pool: the pool the pages come from and go back to.
 * @pages: one entry per page: its descriptor, or NULL when unpopulated.
 * @dma_address: device address of each page, when @pool maps them.
 * @num_pages: number of entries.
 * @page_flags: UTTM_TT_FLAG_* bits.
 * @caching: state of the pages while populated.
 * @vmap_addr: contiguous mapping of all pages, or NULL.
 *
 * Embed it in the object it serves.  Read @page_flags through the helpers
 * below; the other fields are private.
 */
struct uttm_tt {
	struct uttm_pool *pool;
	struct uttm_page **pages;
	uint64_t *dma_address;
	unsigned long num_pages;
	uint32_t page_flags;
	enum uttm_caching caching;
	void *vmap_addr;
};

/**
 * uttm_tt_init() - initialise an empty page vector
 * @tt: the vector.
 * @pool: where its pages will come from; it must outlive @tt.
 * @size: size in bytes, rounded up to whole pages.
 * @caching: state of the pages while populated.
 * @page_flags: UTTM_TT_FLAG_DONTNEED and UTTM_TT_FLAG_ZERO_ALLOC.
 *
 * Context: May sleep (allocates the vector). No locks.
 * Return: 0; -EINVAL for NULL arguments, a zero size, a size beyond the
 * pool's arena, unknown flags, or a caching state the pool cannot
 * provide; -ENOMEM.
 */
int uttm_tt_init(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t size,
		 enum uttm_caching caching, uint32_t page_flags);

/**
 * uttm_tt_fini() - release everything a page vector holds
 * @tt: the vector, or NULL.  A second call does nothing.
 *
 * Unmaps the vector and gives its pages back to the pool.
 *
 * Context: May sleep. The caller serialises access to @tt.
 */
void uttm_tt_fini(struct uttm_tt *tt);

/**
 * uttm_tt_populate() - allocate the pages of a vector
 * @tt: the vector.
 * @ctx: operation context.
 *
 * Does nothing for a populated vector.
 *
 * Context: May sleep. The caller serialises access to @tt. Takes pool and
 * arena locks.
 * Return: 0; -EINVAL for NULL arguments; the errors of uttm_pool_alloc(),
 * after which the vector is still unpopulated.
 */
int uttm_tt_populate(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx);

/**
 * uttm_tt_unpopulate() - give the pages of a vector back to the pool
 * @tt: the vector.  Nothing happens if it is not populated.
 *
 * Context: May sleep. The caller serialises access to @tt.
 */
void uttm_tt_unpopulate(struct uttm_tt *tt);

/**
 * uttm_tt_is_populated() - whether a vector holds all its pages
 * @tt: the vector.
 *
 * Return: true when populated.
 */
static inline bool uttm_tt_is_populated(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_PRIV_POPULATED;
}

/**
 * uttm_tt_is_swapped() - whether a vector's content is in its store
 * @tt: the vector.
 *
 * Return: true when the content lives, at least partly, in the store.
 */
static inline bool uttm_tt_is_swapped(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_SWAPPED;
}

/**
 * uttm_tt_purgeable() - whether a vector's content may be dropped
 * @tt: the vector.
 *
 * Return: true when marked UTTM_TT_FLAG_DONTNEED.
 */
static inline bool uttm_tt_purgeable(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_DONTNEED;
}

/**
 * uttm_tt_set_purgeable() - mark or unmark a vector's content as droppable
 * @tt: the vector.
 * @purgeable: whether the owner can live without the content.
 *
 * Context: The caller serialises access to @tt.
 */
void uttm_tt_set_purgeable(struct uttm_tt *tt, bool purgeable);

/**
 * uttm_tt_page_address() - CPU address of one page of a vector
 * @tt: a populated vector.
 * @index: the page's index.
 *
 * Context: Any thread; the page stays valid while @tt stays populated.
 * Return: the address, or NULL when @tt is not populated or @index is out
 * of range.
 */
void *uttm_tt_page_address(const struct uttm_tt *tt, unsigned long index);

/**
 * uttm_tt_vmap() - map all pages of a vector contiguously
 * @tt: a populated vector.
 * @addr: receives the address of page 0; page i follows at i * 4 KiB.
 *
 * Maps the arena's file ranges back to back at a new address, so the
 * mapping shares the pages rather than copying them.  A second call
 * returns the same mapping.  Unpopulating the vector removes it.
 *
 * Context: May sleep. The caller serialises access to @tt.
 * Return: 0; -EINVAL when @tt is not populated; -ENOMEM.
 */
int uttm_tt_vmap(struct uttm_tt *tt, void **addr);

/**
 * uttm_tt_vunmap() - remove the contiguous mapping of a vector
 * @tt: the vector.  Nothing happens if it has none.
 *
 * Context: May sleep. The caller serialises access to @tt.
 */
void uttm_tt_vunmap(struct uttm_tt *tt);

#ifdef __cplusplus
}
#endif

#endif /* UTTM_TT_H */
