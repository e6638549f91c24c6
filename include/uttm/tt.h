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
 * vector restores it.  This header also defines the interface every store
 * implements; the stores themselves are in uttm/backup.h.
 *
 * Kernel names: struct ttm_tt, ttm_tt_init(), ttm_tt_fini(),
 * ttm_tt_populate(), ttm_tt_unpopulate(), ttm_tt_backup(), TTM_TT_FLAG_*,
 * struct ttm_backup and its handle helpers.
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
/** Set by uttm while the vector is (possibly partly) backed up. Private. */
#define UTTM_TT_FLAG_PRIV_BACKED_UP (1u << 31)

struct uttm_backup;
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
 * -EINTR on a signal or a cancel request.
 *
 * Does nothing for a populated vector.  A backed-up vector is restored:
 * new pages come from the pool, largest blocks first, and each is filled
 * from the store, or from the old page for pages never backed up, which
 * is then freed; a handle is dropped as soon as its content is safe.  A
 * restore that fails or is interrupted keeps its progress, and the next
 * call resumes exactly there; see "Partial backup and restore" in
 * tt_backup.c.
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


/*
 * Backup stores
 *
 * A store keeps copies of pages and names each by a handle.  Handles follow
 * the convention of swap entries: a handle is the store's index of the
 * page plus one, so 0 is never a valid handle.  In a page vector a handle
 * is stored in place of the page pointer, shifted left with the low bit
 * set; page descriptors are even, so the two never clash.
 *
 * Stores allocate their own indices, so one store may serve one vector or
 * many.  All operations work on arrays of pages, so that a store can
 * batch its I/O; a call may succeed for a prefix of the array only.
 *
 * A store takes pages by copy (@backup_pages), by insertion (@insert), or
 * both.  Insertion is zero-copy: the store takes over a whole block of
 * its arena where it lies, and the block's pages get consecutive handles,
 * h for the first and h + j for page j, as the kernel's
 * shmem_insert_folio() gives a folio's pages consecutive indices.
 */

/**
 * struct uttm_backup_ops - what a store implements
 * @backup_pages: copy @count pages, at @src[0..count), into the store and
 * write their handles to @handles.  With @writeback, start writing them
 * out of memory now (to swap, to disk) instead of leaving it to the
 * kernel.  Returns the number of pages backed up from the start of the
 * array, or a negative errno when none was (-ENOSPC when full).
 * Optional for a store that implements @insert.
 * @insert: take ownership of @block, an allocated block of the store's
 * arena of any order, plain and mapped for no device, without copying it
 * and without allocating memory.  @writeback as for @backup_pages.
 * Returns the handle of the block's first page; page j has handle + j.
 * Or a negative errno, and then the block is untouched and still the
 * caller's (-ENOSPC when full).  Optional.
 * @copy_pages: copy the pages of @handles[0..count) to @dst.  Returns the
 * number copied from the start, or a negative errno when none was; -EINTR
 * when @ctx is interruptible and a signal interrupted a wait.
 * @drop: forget @count handles and free what they hold.
 * @bytes_avail: bytes the store can still take.
 * @fini: free the store; called when the last reference goes.
 *
 * Called without uttm locks held; the store serialises itself.
 */
struct uttm_backup_ops {
	long (*backup_pages)(struct uttm_backup *backup, void *const *src,
			     unsigned long count, bool writeback,
			     unsigned long *handles);
	long (*insert)(struct uttm_backup *backup, struct uttm_page *block,
		       bool writeback);
	long (*copy_pages)(struct uttm_backup *backup, void *const *dst,
			   const unsigned long *handles, unsigned long count,
			   const struct uttm_operation_ctx *ctx);
	void (*drop)(struct uttm_backup *backup, const unsigned long *handles,
		     unsigned long count);
	uint64_t (*bytes_avail)(struct uttm_backup *backup);
	void (*fini)(struct uttm_backup *backup);
};

/**
 * struct uttm_backup - the part every store shares
 * @ops: the store's operations.
 * @fault: injector consulted for each page backed up or restored, or NULL.
 * @arena: the arena whose blocks @ops->insert takes; NULL for a store
 * that only copies.  Set by the store after uttm_backup_init().
 * @handles: live handles.
 * @refcount: references; the store is freed when the last goes.
 *
 * Stores embed it; users only see a pointer.
 */
struct uttm_backup {
	const struct uttm_backup_ops *ops;
	struct uttm_fault *fault;
	struct uttm_arena *arena;
	atomic_long handles;
	atomic_int refcount;
};

/**
 * uttm_backup_init() - initialise the shared part of a new store
 * @backup: the store's struct uttm_backup.
 * @ops: its operations; @insert is optional, and so is @backup_pages for
 * a store that has @insert.
 * @fault: fault injector, or NULL.
 *
 * The store starts with one reference, owned by its creator, and bound to
 * no arena.  For store implementations.
 *
 * Context: Any thread, before the store is shared. Does not sleep.
 */
void uttm_backup_init(struct uttm_backup *backup,
		      const struct uttm_backup_ops *ops,
		      struct uttm_fault *fault);

/**
 * uttm_backup_get() - take a reference to a store
 * @backup: the store.
 *
 * Context: Any thread, lock-free.
 * Return: @backup.
 */
struct uttm_backup *uttm_backup_get(struct uttm_backup *backup);

/**
 * uttm_backup_put() - drop a reference to a store
 * @backup: the store, or NULL.
 *
 * The last reference frees the store; every handle must have been dropped
 * by then.
 *
 * Context: May sleep when it frees the store.
 */
void uttm_backup_put(struct uttm_backup *backup);

/**
 * uttm_backup_backup_pages() - back pages up into a store
 * @backup: the store.
 * @src: addresses of the pages.
 * @count: number of pages.
 * @writeback: start writing them out of memory now.
 * @handles: receives a handle per page backed up.
 *
 * Consults the store's fault injector (UTTM_FAULT_BACKUP) once per page.
 *
 * Context: May sleep. Safe from the shrinker.
 * Return: the number of pages backed up, from the start of @src, or a
 * negative errno when none was; -EOPNOTSUPP for a store that only takes
 * pages by insertion.
 */
long uttm_backup_backup_pages(struct uttm_backup *backup, void *const *src,
			      unsigned long count, bool writeback,
			      unsigned long *handles);

/**
 * uttm_backup_insert_block() - hand a whole block to a store, zero-copy
 * @backup: a store that takes blocks by insertion.
 * @block: head of an allocated block of the store's arena, of any order;
 * plain (uttm_pool_make_plain()) and unmapped (uttm_pool_unmap()).
 * @writeback: start writing the block out of memory now.
 *
 * On success the block is the store's: the caller must neither touch nor
 * free it again, and gets its content back with uttm_backup_copy_pages()
 * and frees it with uttm_backup_drop(), page by page, through the
 * handles.  Consults the store's fault injector once per page of the
 * block (UTTM_FAULT_BACKUP) and, for a block of order > 0, once more
 * (UTTM_FAULT_INSERT); a fault fails the whole block.
 *
 * Context: May sleep. Safe from the shrinker.
 * Return: the handle of the block's first page; page j of the block has
 * that handle + j.  Or a negative errno, and the block is untouched and
 * still the caller's: -EOPNOTSUPP for a store that only copies, -EINVAL
 * for a NULL argument or a block of another arena, -ENOSPC when the
 * store is full, an injected error.
 */
long uttm_backup_insert_block(struct uttm_backup *backup,
			      struct uttm_page *block, bool writeback);

/**
 * uttm_backup_copy_pages() - copy backed-up pages back
 * @backup: the store.
 * @dst: where each page goes.
 * @handles: the pages' handles; they stay valid.
 * @count: number of pages.
 * @ctx: operation context.
 *
 * Stops with -EINTR before a page when @ctx is interruptible and its
 * cancel flag is set.  Consults the fault injector (UTTM_FAULT_RESTORE)
 * once per page.
 *
 * Context: May sleep.
 * Return: the number of pages copied, from the start, or a negative errno
 * when none was.
 */
long uttm_backup_copy_pages(struct uttm_backup *backup, void *const *dst,
			    const unsigned long *handles, unsigned long count,
			    const struct uttm_operation_ctx *ctx);

/**
 * uttm_backup_drop() - forget handles
 * @backup: the store.
 * @handles: the handles.
 * @count: how many.
 *
 * Context: May sleep. Safe from the shrinker.
 */
void uttm_backup_drop(struct uttm_backup *backup, const unsigned long *handles,
		      unsigned long count);

/**
 * uttm_backup_bytes_avail() - room left in a store
 * @backup: the store.
 *
 * Context: May sleep (may read system files). Safe from the shrinker.
 * Return: bytes the store can still take.
 */
uint64_t uttm_backup_bytes_avail(struct uttm_backup *backup);

/**
 * uttm_backup_handles() - live handles of a store
 * @backup: the store.
 *
 * Context: Any thread, lock-free.
 * Return: the number of handles not yet dropped.
 */
unsigned long uttm_backup_handles(const struct uttm_backup *backup);

/**
 * uttm_backup_handle_to_page_ptr() - tag a handle for a page vector entry
 * @handle: a handle, not 0.
 *
 * Context: Any thread; pure. Safe from the shrinker.
 * Return: an entry that is not a valid page pointer.
 */
static inline struct uttm_page *uttm_backup_handle_to_page_ptr(unsigned long handle)
{
	return (struct uttm_page *)((handle << 1) | 1);
}

/**
 * uttm_backup_page_ptr_is_handle() - whether a vector entry is a handle
 * @entry: the entry.
 *
 * Context: Any thread; pure. Safe from the shrinker.
 * Return: true for a tagged handle.
 */
static inline bool uttm_backup_page_ptr_is_handle(const struct uttm_page *entry)
{
	return (uintptr_t)entry & 1;
}

/**
 * uttm_backup_page_ptr_to_handle() - the handle of a tagged entry
 * @entry: an entry for which uttm_backup_page_ptr_is_handle() is true.
 *
 * Context: Any thread; pure. Safe from the shrinker.
 * Return: the handle.
 */
static inline unsigned long uttm_backup_page_ptr_to_handle(const struct uttm_page *entry)
{
	return (uintptr_t)entry >> 1;
}

/**
 * uttm_backup_index_to_handle() - handle of a store's index
 * @index: the store's index of a page, from 0.
 *
 * Context: Any thread; pure. Safe from the shrinker.
 * Return: @index + 1.
 */
static inline unsigned long uttm_backup_index_to_handle(unsigned long index)
{
	return index + 1;
}

/**
 * uttm_backup_handle_to_index() - store's index of a handle
 * @handle: a handle, not 0.
 *
 * Context: Any thread; pure. Safe from the shrinker.
 * Return: @handle - 1.
 */
static inline unsigned long uttm_backup_handle_to_index(unsigned long handle)
{
	return handle - 1;
}

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
 */
struct uttm_backup_flags {
	bool purge;
	bool writeback;
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
 * side by side, and is not backed up again until restored.  Any
 * contiguous mapping is removed.
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
 * "Zero-copy insertion" in tt_backup.c.
 */
long uttm_tt_backup(struct uttm_tt *tt, const struct uttm_backup_flags *flags);

#ifdef __cplusplus
}
#endif

#endif /* UTTM_TT_H */
