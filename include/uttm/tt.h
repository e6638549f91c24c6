/* SPDX-License-Identifier: MIT */
/*
 * uttm/tt.h - the tt layer: the page vector of one buffer object
 *
 * A struct uttm_tt holds the pages of one object in a vector, one entry
 * per page, filled from a pool when the vector is populated and given back
 * when it is unpopulated.  Its caching state is the state every page is
 * in while populated.
 *
 * Under memory pressure a vector is purged (its pages freed, its content
 * dropped) or backed up page by page into a backup store, each page
 * replaced in the vector by the store's handle.  Populating a backed-up
 * vector restores it.  The stores and the interface they implement are
 * in uttm/store.h and uttm/backup.h.
 *
 * Kernel names: struct ttm_tt, ttm_tt_init(), ttm_tt_fini(),
 * ttm_tt_populate(), ttm_tt_unpopulate(), ttm_tt_backup(), TTM_TT_FLAG_*.
 */
#ifndef UTTM_TT_H
#define UTTM_TT_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/** The content may be dropped under pressure; the owner is told. */
#define UTTM_TT_FLAG_DONTNEED (1u << 0)
/** Pages must be zero-filled when populated (uttm always provides that). */
#define UTTM_TT_FLAG_ZERO_ALLOC (1u << 1)
/** Content lives, at least partly, in the backup store. */
#define UTTM_TT_FLAG_SWAPPED (1u << 2)
/*
 * The owner reports every write with uttm_tt_mark_dirty(), so a restore
 * may keep the store's copy of each page and a backup of a page not
 * written since skips the store; see "Kept copies" in src/tt/copies.c.
 */
#define UTTM_TT_FLAG_TRACK_DIRTY (1u << 3)
/** Flags a caller may pass to uttm_tt_init(). */
#define UTTM_TT_FLAGS_USER (UTTM_TT_FLAG_DONTNEED | UTTM_TT_FLAG_ZERO_ALLOC | \
			    UTTM_TT_FLAG_TRACK_DIRTY)
/** Set by uttm while the vector holds all its pages. Private. */
#define UTTM_TT_FLAG_PRIV_POPULATED (1u << 30)
/** Set by uttm while the vector is (possibly partly) backed up. Private. */
#define UTTM_TT_FLAG_PRIV_BACKED_UP (1u << 31)

struct uttm_backup;
struct uttm_tt_copies;
struct uttm_tt_restore;

/**
 * struct uttm_tt - page vector of one object
 * @pool: the pool the pages come from and go back to.
 * @pages: one entry per page: its descriptor, or NULL when unpopulated.
 * @dma_address: device address of each page, when @pool maps them.
 * @num_pages: number of entries.
 * @page_flags: UTTM_TT_FLAG_* bits.
 * @caching: state of the pages while populated.
 * @vmap_addr: contiguous mapping of all pages, or NULL.
 * @backup: store that receives the pages when the vector is backed up.
 * @restore: progress of an unfinished restore, or NULL.
 * @resident_pages: pages the vector holds right now, whatever its state;
 * the exact figure page accounting adds up.
 * @copies: with UTTM_TT_FLAG_TRACK_DIRTY, the handles of the store's
 * copies of pages kept since their restore; NULL otherwise.
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
	struct uttm_backup *backup;
	struct uttm_tt_restore *restore;
	unsigned long resident_pages;
	struct uttm_tt_copies *copies;
};

/**
 * uttm_tt_init() - initialise an empty page vector
 * @tt: the vector.
 * @pool: where its pages will come from; it must outlive @tt.
 * @size: size in bytes, rounded up to whole pages.
 * @caching: state of the pages while populated.
 * @page_flags: UTTM_TT_FLAG_DONTNEED, UTTM_TT_FLAG_ZERO_ALLOC and
 * UTTM_TT_FLAG_TRACK_DIRTY.
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
 * Unmaps the vector and gives its pages back to the pool.  A vector that
 * is backed up, partly backed up or halfway through a restore drops every
 * handle it holds and frees every page; its reference to the store goes.
 *
 * Context: May sleep. The caller serialises access to @tt.
 */
void uttm_tt_fini(struct uttm_tt *tt);

/**
 * uttm_tt_populate() - allocate the pages of a vector, restoring its content
 * @tt: the vector.
 * @ctx: operation context; when interruptible, a restore stops with
 * -EINTR at the points "Interruptible operations" in uttm/pool.h names:
 * a cancel request before each run of pages read from the store, a
 * signal in a store's wait.
 *
 * Does nothing for a populated vector.  A backed-up vector is restored:
 * new pages come from the pool, largest blocks first, and each is filled
 * from the store, or from the old page for pages never backed up, which
 * is then freed; a handle is dropped as soon as its content is safe.  A
 * restore that fails or is interrupted keeps its progress, and the next
 * call resumes exactly there; see "Partial backup and restore" in
 * src/tt/backup.c.
 *
 * Context: May sleep. The caller serialises access to @tt. Takes pool and
 * arena locks; stores may take their own.
 * Return: 0; -EINVAL for NULL arguments; the errors of uttm_pool_alloc()
 * and of the store (-EINTR, -EIO, ...).  After an error a vector that was
 * not backed up is still unpopulated; one that was is still backed up and
 * resumable.
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
 * Context: The caller serialises access to @tt. Does not sleep.
 * Return: true when populated.
 */
static inline bool uttm_tt_is_populated(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_PRIV_POPULATED;
}

/**
 * uttm_tt_is_backed_up() - whether a vector is (possibly partly) backed up
 * @tt: the vector.
 *
 * A backed-up vector is not backed up again until it has been restored.
 *
 * Context: The caller serialises access to @tt. Does not sleep.
 * Return: true when backed up, partly backed up or halfway restored.
 */
static inline bool uttm_tt_is_backed_up(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_PRIV_BACKED_UP;
}

/**
 * uttm_tt_is_swapped() - whether a vector's content is in its store
 * @tt: the vector.
 *
 * Context: The caller serialises access to @tt. Does not sleep.
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
 * Context: The caller serialises access to @tt. Does not sleep.
 * Return: true when marked UTTM_TT_FLAG_DONTNEED.
 */
static inline bool uttm_tt_purgeable(const struct uttm_tt *tt)
{
	return tt->page_flags & UTTM_TT_FLAG_DONTNEED;
}

/**
 * struct uttm_tt_footprint - memory a page vector holds
 * @pages: pages.
 * @metadata_bytes: heap bytes of its bookkeeping: the entries, the device
 * addresses and the state of an unfinished restore.
 */
struct uttm_tt_footprint {
	unsigned long pages;
	uint64_t metadata_bytes;
};

/**
 * uttm_tt_footprint() - memory a vector holds, now and while it populates
 * @tt: the vector.
 * @now: receives what it holds now, or NULL.
 * @populate: receives, or NULL, the most it holds at any moment of the
 * next uttm_tt_populate(): every page, and for a restore also the old
 * pages of one span, held beside the new pages they are copied into
 * until they are freed, one batch of pages a store may bring into memory
 * to read them back (a swapped-out memfd page is swapped in first), and
 * the restore state.  For a populated vector, what it holds now.
 *
 * What a caller charges against a limit before populating, so that no
 * moment of a restore, nor the state a failed one leaves, goes past it.
 *
 * Context: The caller serialises access to @tt. Does not sleep.
 */
void uttm_tt_footprint(const struct uttm_tt *tt,
		       struct uttm_tt_footprint *now,
		       struct uttm_tt_footprint *populate);

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
 * uttm_tt_mark_dirty() - report a write to pages of a vector
 * @tt: the vector.
 * @first: index of the first page written.
 * @count: pages written from @first.
 *
 * For a vector made with UTTM_TT_FLAG_TRACK_DIRTY: the store's copies of
 * these pages no longer match them and are dropped, so the next backup
 * writes the pages again.  Call it before the write lands, or at least
 * before the next backup can run; a write it misses is lost at the next
 * backup, which keeps the old copy.  Without the flag, a no-op.
 *
 * Context: May sleep (the store drops handles). The caller serialises
 * access to @tt. The store may take its own locks.
 * Return: 0; -EINVAL for a NULL @tt or a range beyond the vector.
 */
int uttm_tt_mark_dirty(struct uttm_tt *tt, unsigned long first,
		       unsigned long count);

/**
 * uttm_tt_vmap() - map all pages of a vector contiguously
 * @tt: a populated vector.
 * @addr: receives the address of page 0; page i follows at i * 4 KiB.
 *
 * Pages that lie back to back in the arena already are: their address in
 * the arena's own mapping is returned, nothing mapped a second time.
 * Otherwise the arena's file ranges are mapped back to back at a new
 * address, sharing the pages rather than copying them; each page is then
 * mapped twice, which the kernel counts twice in the process's resident
 * set size.  A second call returns the same mapping.  Unpopulating the
 * vector, or uttm_tt_vunmap(), removes it.  Like the arena, the mapping
 * is kept out of child processes.
 *
 * Context: May sleep. The caller serialises access to @tt.
 * Return: 0; -EINVAL when @tt is not populated or its arena was
 * inherited through fork(); -ENOMEM.
 */
int uttm_tt_vmap(struct uttm_tt *tt, void **addr);

/**
 * uttm_tt_vunmap() - remove the contiguous mapping of a vector
 * @tt: the vector.  Nothing happens if it has none.
 *
 * In a child that inherited @tt's arena through fork() the mapping is
 * only forgotten: the child never had it, and its range may hold one of
 * the child's own.
 *
 * Context: May sleep. The caller serialises access to @tt.
 */
void uttm_tt_vunmap(struct uttm_tt *tt);

/**
 * uttm_tt_set_backup() - choose the store a vector backs up into
 * @tt: the vector.
 * @backup: the store, or NULL for none (the vector can then only be
 * purged).
 *
 * The vector takes its own reference to @backup and drops the one to the
 * previous store.
 *
 * Context: The caller serialises access to @tt.
 * Return: 0; -EINVAL for a NULL @tt or a store that inserts blocks of
 * another arena than @tt's pool; -EBUSY while @tt is backed up (its
 * handles belong to the current store).
 */
int uttm_tt_set_backup(struct uttm_tt *tt, struct uttm_backup *backup);

/**
 * struct uttm_backup_flags - how to shrink a vector
 * @purge: free the pages, bypassing the pool, and drop the content.
 * @writeback: have the store write pages out of memory now.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_flags {
	bool purge;
	bool writeback;
	uint64_t reserved[2];
};

/**
 * uttm_tt_backup() - purge a vector or back it up page by page
 * @tt: a populated vector.
 * @flags: purge or back up, and with writeback or not.
 *
 * Purging frees every page straight to the system, bypassing the pool;
 * the vector is then unpopulated and its content gone.
 *
 * Backing up moves each page to the store, replacing it by its handle,
 * and frees it straight to the system.  Each block leaves its caching
 * state and device mapping before its memory goes; larger blocks are
 * split when only part of them is backed up.  A store that takes blocks
 * by insertion gets each block whole, at its order, without a copy, and
 * keeps its memory; a block it refuses whole is split and offered page
 * by page.  Backup stops at the first page the store refuses: the vector
 * is then partly backed up, holding handles and plain, unmapped pages
 * side by side, and is not backed up again until restored.  The
 * contiguous mapping, if any, is removed once a page has moved, and
 * stays when none did.
 *
 * Context: May sleep. The caller serialises access to @tt. Takes arena
 * locks; the store may take its own. Safe from the shrinker.
 * Return: the number of pages freed or backed up (0 for an unpopulated
 * vector); -EBUSY when backing up is impossible (no store, or a store
 * without room for a page); -EINVAL for NULL arguments or a vector
 * already backed up; the store's error when not a page could be backed
 * up, in which case the vector is unchanged, except when an inserting
 * store refuses a page it reported room for (another thread took the
 * room): the vector is then partly backed up with no handle; see
 * "Zero-copy insertion" in src/tt/backup.c.
 */
long uttm_tt_backup(struct uttm_tt *tt, const struct uttm_backup_flags *flags);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_TT_H */
