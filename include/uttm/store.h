/* SPDX-License-Identifier: MIT */
/*
 * uttm/store.h - the store layer: the interface every backup store
 * implements, and the calls that go through it
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
 *
 * This header is all a store author needs; the stores uttm provides are
 * in uttm/backup.h, and page vectors (uttm/tt.h) are their users.
 *
 * Kernel names: struct ttm_backup, ttm_backup_backup_page(),
 * ttm_backup_copy_page(), ttm_backup_drop(), ttm_backup_bytes_avail(),
 * ttm_backup_handle_to_page_ptr() and the other handle helpers.
 */
#ifndef UTTM_STORE_H
#define UTTM_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/pool.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

struct uttm_backup;

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
 * @copy_pages: copy the pages of @handles[0..count) to @dst, every byte
 * of each: a destination page may hold anything before (a restore takes
 * the pages a victim gave up as they are), so a store that keeps a page
 * as nothing (zero, same-filled) writes it out in full.  Returns the
 * number copied from the start, or a negative errno when none was; -EINTR
 * when @ctx is interruptible and a signal interrupted a wait.
 * @drop: forget @count handles and free what they hold.
 * @bytes_avail: bytes the store can still take.
 * @resident_bytes: bytes of memory the store holds itself for the pages
 * it keeps: memfd pages not yet written out, inserted blocks still in
 * memory, a compressed pool, page cache.  What a context's budget counts
 * for the store, so it must be cheap, must not sleep and must never be
 * below the truth: an upper bound the store corrects when it measures.
 * Called with a context's charge lock held.  Optional: NULL means the
 * store holds no memory of its own.
 * @writeback: write up to @bytes of the memory the store holds out of
 * memory now (to swap, to disk, to a lower store), without allocating
 * memory.  Returns the bytes of memory freed.  Optional: NULL for a store
 * whose pages never stay in memory.  A store that has it is also asked
 * to write pages out at once when they are backed up to make room.
 * @fini: free the store; called when the last reference goes.
 * @keeps_copies: of the @count pages of @handles, which the store has
 * just copied out for a vector that tracks writes, the leading run that
 * it keeps as the vector's copies (see uttm_tt_mark_dirty()), *@keep
 * set, or that it does not, *@keep clear.  Returns the run's length, at
 * least 1; with @count 0, says in *@keep whether it may keep any, and
 * returns 0.  A copy holds what its page holds in the store, so a store
 * keeps only what costs no memory.  May take the store's own locks, must
 * not wait for I/O.  Optional: without it a store keeps copies when it
 * has no @resident_bytes, its pages being out of memory.
 * @reserved: must be NULL: room for callbacks to come.
 *
 * Called without uttm locks held, but for @resident_bytes; the store
 * serialises itself.  Never called in a child of fork() for a store its
 * parent made, @fini included: there the core refuses to back up or
 * restore (-EINVAL), reports no room, forgets dropped handles and leaves
 * the child's copy of the store to the child's exit, so that nothing a
 * store does on its way out (deleting what it wrote, on a server or in a
 * file) can reach the parent's data.
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
	uint64_t (*resident_bytes)(struct uttm_backup *backup);
	uint64_t (*writeback)(struct uttm_backup *backup, uint64_t bytes);
	void (*fini)(struct uttm_backup *backup);
	unsigned long (*keeps_copies)(struct uttm_backup *backup,
				      const unsigned long *handles,
				      unsigned long count, bool *keep);
	void (*reserved[3])(void);
};

/**
 * struct uttm_backup - the part every store shares
 * @ops: the store's operations.
 * @fault: injector consulted for each page backed up or restored, or NULL.
 * @arena: the arena whose blocks @ops->insert takes; NULL for a store
 * that only copies.  Set by the store after uttm_backup_init().
 * @handles: live handles; private to the store core.
 * @refcount: references, the store freed when the last goes; private to
 * the store core.
 * @generation: of the process that made the store; private to the store
 * core, which keeps a child of fork() out of its parent's stores.
 * @copies: handles page vectors keep as copies of pages they hold again
 * (UTTM_TT_FLAG_TRACK_DIRTY); private to the store core.
 *
 * Stores embed it; users only see a pointer.
 */
struct uttm_backup {
	const struct uttm_backup_ops *ops;
	struct uttm_fault *fault;
	struct uttm_arena *arena;
	long handles;
	int refcount;
	unsigned long generation;
	long copies;
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
 * Return: 0; -EINVAL when @ops has neither @backup_pages nor @insert, or
 * sets a reserved callback (the store was built for a later uttm).
 */
int uttm_backup_init(struct uttm_backup *backup,
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
 * uttm_backup_resident_bytes() - memory a store holds itself
 * @backup: the store.
 *
 * Context: Any thread; does not sleep, takes no uttm lock. Safe from the
 * shrinker.
 * Return: bytes, at least what the store really holds; 0 for a store
 * without the operation.
 */
uint64_t uttm_backup_resident_bytes(struct uttm_backup *backup);

/**
 * uttm_backup_keeps_copies() - whether a store keeps copies of restored pages
 * @backup: the store.
 *
 * A store that holds its pages out of memory (a file, a server) keeps the
 * copy of each page it restores into a vector made with
 * UTTM_TT_FLAG_TRACK_DIRTY, while it has the room; see
 * uttm_tt_mark_dirty().  One that holds them in memory does not: the
 * copy would hold what the backup is there to free.  The compressed
 * store keeps copies of the pages in its lower store where that does.
 * An owner need track writes only where this is true.
 *
 * Context: Any thread; does not sleep. Safe from the shrinker.
 * Return: true when it may keep copies (struct uttm_backup_ops).
 */
bool uttm_backup_keeps_copies(struct uttm_backup *backup);

/**
 * uttm_backup_writeback() - have a store write its own memory out
 * @backup: the store.
 * @bytes: how much memory to free.
 *
 * Context: May sleep (I/O). Safe from the shrinker: never allocates.
 * Return: bytes of memory freed; 0 for a store without the operation.
 */
uint64_t uttm_backup_writeback(struct uttm_backup *backup, uint64_t bytes);

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

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_STORE_H */
