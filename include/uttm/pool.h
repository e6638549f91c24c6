/* SPDX-License-Identifier: MIT */
/*
 * uttm/pool.h - the pool layer: pooled pages per caching state and order
 *
 * Entering some page states is expensive: locking pages in memory costs an
 * mlock() call and the kernel's bookkeeping, registering them with a device
 * costs whatever the driver pays.  Faulting in fresh memory costs a page
 * fault and a clear per page.  A pool keeps freed blocks, already cleared
 * and still in their state, on one list per (caching state, order), the
 * pool types, so that the next allocation of the same kind is a list pop.
 *
 * Allocation fills a page array block by block: the exact-order pool type
 * first, then a fresh block from the arena, then lower orders when a block
 * of this order cannot be had.  Fresh blocks arrive in the plain state and
 * are moved to the wanted state in batches: the entries before the
 * "caching divide" are in the wanted state, those after it still plain.
 *
 * A pool has a size limit; freed blocks that do not fit go back to the
 * operating system.  uttm_pool_shrink_count() and uttm_pool_shrink_scan()
 * let a shrinker take pooled memory back, as the kernel's pool shrinker
 * does.
 *
 * Kernel names: struct ttm_pool, ttm_pool_alloc(), ttm_pool_free(),
 * ttm_pool_debugfs(); ttm_cached, ttm_write_combined and ttm_uncached
 * become UTTM_PLAIN, UTTM_LOCKED and UTTM_DEVICE.
 */
#ifndef UTTM_POOL_H
#define UTTM_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uttm/page.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/**
 * enum uttm_caching - the state pages are kept in while in use
 * @UTTM_PLAIN: ordinary memory.
 * @UTTM_LOCKED: locked in memory with mlock(): the kernel cannot reclaim
 * them, which is the situation TTM's pages are in.  Limited by
 * RLIMIT_MEMLOCK for processes without CAP_IPC_LOCK.
 * @UTTM_DEVICE: registered with a device through the pool's driver hooks.
 * @UTTM_NUM_CACHING: number of states.
 *
 * Pages always pass through UTTM_PLAIN between two other states.
 */
enum uttm_caching {
	UTTM_PLAIN,
	UTTM_LOCKED,
	UTTM_DEVICE,
	UTTM_NUM_CACHING,
};

/**
 * struct uttm_cancel - a request to stop interruptible operations
 * @requested: private; use the helpers below, which are atomic,
 * lock-free and async-signal-safe, in C and in C++.
 *
 * The flag belongs to the caller, who sets it (from any thread or a
 * signal handler) and clears it; uttm only reads it.  An operation it
 * stopped returns -EINTR and leaves it set, so resuming that operation
 * stops again at once until the caller clears it.
 */
struct uttm_cancel {
	int requested;
};

/**
 * uttm_cancel_request() - ask the operations watching a flag to stop
 * @cancel: the flag.
 *
 * Context: Any thread or signal handler. Does not sleep.
 */
static inline void uttm_cancel_request(struct uttm_cancel *cancel)
{
	__atomic_store_n(&cancel->requested, 1, __ATOMIC_RELEASE);
}

/**
 * uttm_cancel_clear() - withdraw a request to stop
 * @cancel: the flag.
 *
 * Context: Any thread or signal handler. Does not sleep.
 */
static inline void uttm_cancel_clear(struct uttm_cancel *cancel)
{
	__atomic_store_n(&cancel->requested, 0, __ATOMIC_RELEASE);
}

/**
 * uttm_cancel_requested() - whether a request to stop is pending
 * @cancel: the flag.
 *
 * Context: Any thread or signal handler. Does not sleep.
 * Return: true once uttm_cancel_request() was called, until
 * uttm_cancel_clear().
 */
static inline bool uttm_cancel_requested(const struct uttm_cancel *cancel)
{
	return __atomic_load_n(&cancel->requested, __ATOMIC_ACQUIRE);
}

/**
 * struct uttm_operation_ctx - how an operation may behave
 * @interruptible: the operation stops with -EINTR where "Interruptible
 * operations" below says, and a stopped restore resumes at the next call.
 * @no_wait_gpu: do not wait for busy objects; skip them.
 * @cancel: optional flag that asks interruptible operations to stop.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 *
 * As struct ttm_operation_ctx.
 *
 * Interruptible operations: user space has no signal_pending(), so an
 * operation stops at these points and only these:
 *
 * - a restore, before each run of pages it reads from its store, and
 *   every wait below, when @cancel is set;
 * - the file store's io_uring wait, when a signal arrives;
 * - uttm_bo_reserve() and validate's waits for objects others hold,
 *   when a signal arrives whose handler was installed without
 *   SA_RESTART (a short pause for an object locked without a ticket
 *   ends on any handled signal);
 * - the driver's wait_idle for a busy object, which gets the context.
 *
 * Copies from memory (the shmem, insert and compressed stores) and
 * synchronous file reads are not waits: a signal runs its handler and
 * the copy goes on, as the kernel's disk reads do.  A handler that wants
 * such a restore stopped calls uttm_cancel_request(), which is
 * async-signal-safe.  Waiting for an object in transit (populated or
 * freed by another thread right now) is not interruptible; it lasts one
 * populate.
 */
struct uttm_operation_ctx {
	bool interruptible;
	bool no_wait_gpu;
	const struct uttm_cancel *cancel;
	uint64_t reserved[2];
};

/**
 * uttm_operation_cancelled() - whether an operation was asked to stop
 * @op: the operation context.
 *
 * For the waits of an interruptible operation, drivers' wait_idle among
 * them.
 *
 * Context: Any thread. Does not sleep.
 * Return: true when @op is interruptible and its cancel flag is set.
 */
static inline bool uttm_operation_cancelled(const struct uttm_operation_ctx *op)
{
	return op->interruptible && op->cancel &&
	       uttm_cancel_requested(op->cancel);
}

/**
 * struct uttm_pool_ops - driver hooks of a pool, each optional
 * @device_enter: register @npages pages at @vaddr with the device
 * (UTTM_PLAIN to UTTM_DEVICE).  Returns 0 or a negative errno.
 * @device_leave: undo @device_enter for a run of pages.
 * @dma_map: map @npages pages at @vaddr for the device and store the
 * device address of the first in @dma_addr; the others follow it page by
 * page.  Returns 0 or a negative errno.
 * @dma_unmap: undo @dma_map for the run starting at @dma_addr.
 * @reserved: must be NULL: room for callbacks to come.
 *
 * Hooks are called on runs of whole blocks, without pool locks held, and
 * may sleep.  @priv is struct uttm_pool_params::priv.
 */
struct uttm_pool_ops {
	int (*device_enter)(void *priv, void *vaddr, unsigned long npages);
	void (*device_leave)(void *priv, void *vaddr, unsigned long npages);
	int (*dma_map)(void *priv, void *vaddr, unsigned long npages,
		       uint64_t *dma_addr);
	void (*dma_unmap)(void *priv, uint64_t dma_addr, unsigned long npages);
	void (*reserved[4])(void);
};

/**
 * struct uttm_pool_params - how to initialise a pool
 * @arena: where the pool's pages come from; it must outlive the pool.
 * @max_pages: most pages the pool keeps; 0 keeps none.
 * @ops: driver hooks, or NULL.
 * @priv: argument of the hooks.
 * @use_dma_map: map every block with @ops->dma_map when it is allocated.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_pool_params {
	struct uttm_arena *arena;
	unsigned long max_pages;
	const struct uttm_pool_ops *ops;
	void *priv;
	bool use_dma_map;
	uint64_t reserved[4];
};

/**
 * struct uttm_pool_type - pooled blocks of one caching state and order
 * @lock: protects @blocks.
 * @blocks: the blocks, cleared, most recently freed first.
 * @nr_pages: pages on @blocks.
 *
 * Private to the pool.
 */
struct uttm_pool_type {
	pthread_mutex_t lock;
	struct uttm_page_list blocks;
	unsigned long nr_pages;
};

/**
 * struct uttm_pool - a page pool
 * @arena: source of pages.
 * @ops: driver hooks, or NULL.
 * @priv: argument of the hooks.
 * @max_pages: size limit.
 * @use_dma_map: blocks are mapped for the device when allocated.
 * @nr_pages: pages in all pool types.
 * @shrink_cursor: pool type the next shrink starts from.
 * @types: the pool types.
 *
 * Embed it where it is used; all fields are private.
 */
struct uttm_pool {
	struct uttm_arena *arena;
	const struct uttm_pool_ops *ops;
	void *priv;
	unsigned long max_pages;
	bool use_dma_map;
	unsigned long nr_pages;
	unsigned int shrink_cursor;
	struct uttm_pool_type types[UTTM_NUM_CACHING][UTTM_NR_ORDERS];
};

/**
 * uttm_pool_init() - initialise a pool
 * @pool: the pool.
 * @params: its arena, limit and hooks.
 *
 * Context: May sleep. No locks.
 * Return: 0, or -EINVAL for NULL arguments or @use_dma_map without the
 * map and unmap hooks.
 */
int uttm_pool_init(struct uttm_pool *pool,
		   const struct uttm_pool_params *params);

/**
 * uttm_pool_fini() - give every pooled page back and tear a pool down
 * @pool: the pool, or NULL; a second call does nothing.
 *
 * Context: May sleep. No other thread may use @pool.
 */
void uttm_pool_fini(struct uttm_pool *pool);

/**
 * struct uttm_pool_alloc_state - progress of filling a page array
 * @pages: next entry to fill.
 * @caching_divide: entries before it are in @caching, those from it to
 * @pages are still plain.
 * @dma_addr: next device address entry, or NULL.
 * @remaining_pages: entries still to fill.
 * @order: largest order still worth trying.
 * @caching: the state the pages are wanted in.
 *
 * The whole state of an allocation in progress, so that a caller can stop
 * between blocks (to restore content into the block just allocated) and
 * go on later.
 */
struct uttm_pool_alloc_state {
	struct uttm_page **pages;
	struct uttm_page **caching_divide;
	uint64_t *dma_addr;
	unsigned long remaining_pages;
	unsigned int order;
	enum uttm_caching caching;
};

/**
 * uttm_pool_alloc_state_init() - start filling a page array
 * @state: the state to initialise.
 * @pages: the array, @num_pages entries.
 * @dma_addr: device addresses, @num_pages entries, or NULL.
 * @num_pages: entries to fill, at least 1.
 * @caching: the state the pages are wanted in.
 *
 * Context: Any thread. Does not sleep.
 */
void uttm_pool_alloc_state_init(struct uttm_pool_alloc_state *state,
				struct uttm_page **pages, uint64_t *dma_addr,
				unsigned long num_pages,
				enum uttm_caching caching);

/**
 * uttm_pool_alloc_max_order() - largest order the next block can have
 * @state: progress of an allocation with entries left to fill.
 *
 * Callers that must save the entries a block will overwrite save this
 * many: 1 << uttm_pool_alloc_max_order(state).
 *
 * Context: The thread that owns @state. Does not sleep.
 * Return: the order.
 */
static inline unsigned int uttm_pool_alloc_max_order(const struct uttm_pool_alloc_state *state)
{
	unsigned int fls = (unsigned int)(8 * sizeof(long) - 1 -
					  __builtin_clzl(state->remaining_pages));

	return state->order < fls ? state->order : fls;
}

/**
 * uttm_pool_alloc_block() - allocate the next block of a page array
 * @pool: the pool.
 * @state: progress so far; advanced past the new block on success.
 *
 * Places a block of the largest order that fits the remaining entries and
 * can be had, pooled or fresh, in the next entries (one per page).  A
 * pooled block already in the wanted state first moves the fresh pages
 * before it to that state.
 *
 * Context: May sleep. Takes pool type and arena locks. Safe from the
 * shrinker.
 * Return: the order of the block placed; -ENOMEM when not even a page can
 * be had; the error of a driver hook or of mlock() (then nothing was
 * placed); another error of uttm_alloc_pages() (an injected one), as it
 * is; -EINVAL when nothing remains to fill.
 */
int uttm_pool_alloc_block(struct uttm_pool *pool,
			  struct uttm_pool_alloc_state *state);

/**
 * uttm_pool_alloc_finish() - move the last fresh pages to the wanted state
 * @pool: the pool.
 * @state: progress of a completed (or stopped) allocation.
 *
 * Context: May sleep. No pool locks.
 * Return: 0, or the error of mlock() or the device hook, in which case the
 * pages after the divide are still plain.
 */
int uttm_pool_alloc_finish(struct uttm_pool *pool,
			   struct uttm_pool_alloc_state *state);

/**
 * uttm_pool_alloc() - fill a page array from a pool
 * @pool: the pool.
 * @pages: the array, one descriptor per page on return.
 * @dma_addr: device addresses, or NULL.
 * @num_pages: entries to fill.
 * @caching: the state the pages are wanted in.
 *
 * Context: May sleep. Takes pool type and arena locks. Safe from the
 * shrinker.
 * Return: 0; -EINVAL for bad arguments (a device state without hooks);
 * -ENOMEM; a hook's or mlock()'s error (-ENOMEM or -EPERM when
 * RLIMIT_MEMLOCK is too low for UTTM_LOCKED); an injected allocation
 * error.  On error nothing is allocated.
 */
int uttm_pool_alloc(struct uttm_pool *pool, struct uttm_page **pages,
		    uint64_t *dma_addr, unsigned long num_pages,
		    enum uttm_caching caching);

/**
 * uttm_pool_free() - give a page array back to a pool
 * @pool: the pool the pages came from.
 * @pages: the array; every entry a page, blocks whole.
 * @dma_addr: device addresses, or NULL.
 * @num_pages: entries.
 * @caching: the state the pages are in.
 *
 * Blocks are unmapped, cleared and pooled by state and order; what does
 * not fit under the limit goes back to the operating system.  The entries
 * are left as they were.
 *
 * Context: May sleep. Takes pool type and arena locks. Safe from the
 * shrinker.
 */
void uttm_pool_free(struct uttm_pool *pool, struct uttm_page **pages,
		    uint64_t *dma_addr, unsigned long num_pages,
		    enum uttm_caching caching);

/**
 * uttm_pool_release() - give a page array straight back to the system
 * @pool: the pool the pages came from.
 * @pages: the array; every entry a page or NULL, blocks whole.
 * @dma_addr: device addresses, or NULL.
 * @num_pages: entries.
 * @caching: the state the pages are in.
 *
 * As uttm_pool_free() but bypassing the pool: pages are unmapped, returned
 * to the plain state and their memory released.  The entries are cleared.
 *
 * Context: May sleep. Takes the arena lock. Safe from the shrinker.
 * Return: the number of pages released.
 */
unsigned long uttm_pool_release(struct uttm_pool *pool,
				struct uttm_page **pages, uint64_t *dma_addr,
				unsigned long num_pages,
				enum uttm_caching caching);

/**
 * uttm_pool_unmap() - undo the device mapping of a page array
 * @pool: the pool the pages came from.
 * @pages: the array; entries that are not pages are skipped.
 * @dma_addr: device addresses; nothing is done when NULL.
 * @num_pages: entries.
 *
 * Context: May sleep. No pool locks.
 */
void uttm_pool_unmap(struct uttm_pool *pool, struct uttm_page **pages,
		     uint64_t *dma_addr, unsigned long num_pages);

/**
 * uttm_pool_make_plain() - return a page array to the plain state
 * @pool: the pool the pages came from.
 * @pages: the array; entries that are not pages are skipped.
 * @num_pages: entries.
 * @caching: the state the pages are in.
 *
 * Context: May sleep. No pool locks.
 */
void uttm_pool_make_plain(struct uttm_pool *pool, struct uttm_page **pages,
			  unsigned long num_pages, enum uttm_caching caching);

/**
 * uttm_pool_caching_supported() - whether a pool can provide a state
 * @pool: the pool.
 * @caching: the state.
 *
 * UTTM_DEVICE needs the device_enter and device_leave hooks.
 *
 * Context: Any thread. Does not sleep.
 * Return: true when pages of @pool can be put in @caching.
 */
bool uttm_pool_caching_supported(const struct uttm_pool *pool,
				 enum uttm_caching caching);

/**
 * uttm_pool_page_address() - CPU address of a page from this pool
 * @pool: the pool.
 * @page: the page.
 *
 * Context: Any thread, lock-free. Does not sleep.
 * Return: the address.
 */
static inline void *uttm_pool_page_address(const struct uttm_pool *pool,
					   const struct uttm_page *page)
{
	return uttm_page_address(pool->arena, page);
}

/**
 * uttm_pool_shrink_count() - pages a pool shrinker could free
 * @pool: the pool.
 *
 * Context: Any thread, lock-free.
 * Return: pages held in the pool.
 */
unsigned long uttm_pool_shrink_count(const struct uttm_pool *pool);

/**
 * uttm_pool_shrink_scan() - give pooled pages back to the system
 * @pool: the pool.
 * @nr_to_scan: pages wanted.
 *
 * Takes whole blocks from the pool types in turn until @nr_to_scan pages
 * are freed or the pool is empty.
 *
 * Context: May sleep. Takes pool type and arena locks.
 * Return: the number of pages freed, possibly more than @nr_to_scan.
 */
unsigned long uttm_pool_shrink_scan(struct uttm_pool *pool,
				    unsigned long nr_to_scan);

/**
 * uttm_pool_trim() - shrink a pool down to a number of pages
 * @pool: the pool.
 * @keep_pages: pages the pool may keep.
 *
 * Context: May sleep. Takes pool type and arena locks.
 * Return: the number of pages freed.
 */
unsigned long uttm_pool_trim(struct uttm_pool *pool, unsigned long keep_pages);

/**
 * uttm_pool_type_pages() - pages held by one pool type
 * @pool: the pool.
 * @caching: the state.
 * @order: the order.
 *
 * Context: Any thread, lock-free.
 * Return: the number of pages, or 0 for an invalid type.
 */
unsigned long uttm_pool_type_pages(const struct uttm_pool *pool,
				   enum uttm_caching caching,
				   unsigned int order);

/**
 * uttm_pool_dump() - print a pool's contents
 * @pool: the pool.
 * @out: where to print.
 *
 * One row per caching state, one column per order, as the kernel's
 * debugfs page_pool file, and the total against the limit.
 *
 * Context: Any thread, lock-free; the figures are a snapshot.
 * Return: 0, or -EINVAL for NULL arguments, -EIO when printing fails.
 */
int uttm_pool_dump(const struct uttm_pool *pool, FILE *out);

/**
 * uttm_caching_name() - name of a caching state
 * @caching: the state.
 *
 * Context: Any thread. Does not sleep.
 * Return: "plain", "locked", "device", or "?".
 */
const char *uttm_caching_name(enum uttm_caching caching);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_POOL_H */
