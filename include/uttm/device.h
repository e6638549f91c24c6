/* SPDX-License-Identifier: MIT */
/*
 * uttm/device.h - the object layer: context, devices, LRUs, buffer objects
 *
 * A context is what the kernel keeps in ttm_global and a few globals: the
 * list of devices, the page limits (all pages and DMA32 pages held by page
 * vectors) and statistics.  Here it is an object like any other; a program
 * may have several, and nothing is shared between them.
 *
 * A context may also have a budget: the bytes of real memory everything it
 * causes may take, which is what a user means by memory.  The page limits
 * count the pages of vectors; the budget counts those, the devices' pooled
 * pages and page descriptors, what the objects' stores keep in memory, and
 * the heap bytes of the objects' bookkeeping.  Growth is charged before it
 * happens, so the budget holds at every moment; what would go over it is
 * reclaimed first, cheapest first: pooled pages, purgeable objects, objects
 * backed up (written out at once by stores that would keep them in memory),
 * then the stores' own memory written out.
 *
 * A device owns a pool, a resource manager per placement (system, tt and
 * driver-defined ones), an LRU per manager, and the driver's callbacks.
 * A buffer object (bo) lives in one placement; in a placement backed by
 * system pages it has a page vector, populated when the bo is validated.
 * Populated, unpinned bos sit on their manager's LRU, least recently
 * validated first, where the shrinker finds them.
 *
 * Shrinking: the shrinker walks the LRUs of the devices in turn and asks
 * each suitable bo to give its pages up: purged when its owner marked it
 * purgeable (DONTNEED), backed up into a store otherwise.  The walk never
 * blocks on a bo lock: it only trylocks, and it skips busy bos unless the
 * operation context allows waiting.
 *
 * Locking: a bo lock is held around validate, CPU access, pin and the
 * purgeable flag.  It is a wound-wait mutex: objects locked together
 * (the buffers of one submission) take one ticket, struct
 * uttm_acquire_ctx, and may be locked in any order; a ticket that could
 * deadlock with an older one gets -EDEADLK and backs off (uttm_exec does
 * it for you), as with the kernel's ww_mutex and drm_exec.  Each device
 * has an LRU lock; the context has a device-list lock.  Order: bo locks,
 * then the context's device-list lock, then an LRU lock; the reverse
 * direction only ever trylocks a bo.
 *
 * Kernel names: ttm_global, ttm_device, ttm_resource_manager, ttm_bo_*,
 * ttm_bo_shrink(), ttm_bo_shrink_suitable(), ttm_device_swapout(),
 * ttm_global_swapout(), enum ttm_shrink_reason, TTM_PL_SYSTEM, TTM_PL_TT;
 * ttm_bo_reserve(), ww_acquire_ctx, struct drm_exec.
 */
#ifndef UTTM_DEVICE_H
#define UTTM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uttm/tt.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

struct uttm_context;
struct uttm_device;
struct uttm_bo;

/**
 * enum uttm_shrink_reason - why memory is being taken back
 * @UTTM_SHRINK_WATERMARK: a page limit or the budget was reached by a
 * populate.  Stores that would keep the pages in memory (those with a
 * writeback operation) are asked to write them out at once.
 * @UTTM_SHRINK_PURGE: only purgeable objects are wanted.
 * @UTTM_SHRINK_SWAP: any object will do.
 */
enum uttm_shrink_reason {
	UTTM_SHRINK_WATERMARK,
	UTTM_SHRINK_PURGE,
	UTTM_SHRINK_SWAP,
	UTTM_NR_SHRINK_REASONS
};

/*
 * Restore latencies are counted in buckets whose upper bounds double from
 * UTTM_RESTORE_BUCKET0_NS: bucket i holds restores of at most
 * UTTM_RESTORE_BUCKET0_NS << i nanoseconds (100 us to 1.6 s), the last
 * one all slower restores too.
 */
#define UTTM_RESTORE_BUCKETS 15
#define UTTM_RESTORE_BUCKET0_NS 100000ULL

/**
 * struct uttm_shrink_control - what one shrink request asks
 * @reason: why.
 * @writeback: stores may write pages out of memory now.
 */
struct uttm_shrink_control {
	enum uttm_shrink_reason reason;
	bool writeback;
};

/**
 * struct uttm_context_params - how to create a context
 * @page_limit: most bytes page vectors may hold; 0 for half of RAM.
 * @dma32_page_limit: most bytes DMA32 vectors may hold; 0 for 2 GiB.
 * @budget: most bytes of memory the context may cause to be held (see
 * above); 0 for no budget.  At most uttm_memory_limit().
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_context_params {
	uint64_t page_limit;
	uint64_t dma32_page_limit;
	uint64_t budget;
	uint64_t reserved[4];
};

/**
 * struct uttm_context_stats - counters of a context
 * @pages_allocated: pages held by page vectors of all devices.
 * @dma32_pages_allocated: of which in DMA32 arenas.
 * @page_limit: limit of @pages_allocated, in pages.
 * @dma32_page_limit: limit of @dma32_pages_allocated, in pages.
 * @pool_pages: pages held by the devices' pools.
 * @objects: live buffer objects, delayed-destroyed ones included.
 * @pages_purged: pages purged so far.
 * @pages_backed_up: pages backed up so far.
 * @pages_backed_up_clean: of which without a write: pages not written
 * since their restore, whose copies the store kept (UTTM_BO_TRACK_DIRTY).
 * @pages_restored: pages brought back from a store so far.
 * @budget: the budget in bytes, 0 for none.
 * @pressure_limit: the pressure limit in bytes, 0 for none.
 * @resident_bytes: what the budget counts now, in bytes: vector and pooled
 * pages, page descriptors, stores' memory, bookkeeping.
 * @store_bytes: of which the memory the stores keep.
 * @metadata_bytes: of which bookkeeping: objects, vectors, descriptors.
 * @peak_resident_bytes: the highest @resident_bytes a charge has reached
 * (counted while a budget or a pressure limit is set), or now if higher.
 * @pages_reclaimed: pages the shrinker walks freed (purged or backed up),
 * by the enum uttm_shrink_reason they were asked for.
 * @restores: validates that restored a backed-up vector, whole or in part.
 * @restore_ns: their time in all, in nanoseconds.
 * @restore_latency: their count per latency bucket (UTTM_RESTORE_BUCKETS).
 * @pages_recycled: pages that backup or purge freed for a validate
 * making room for itself, handed to its populate as they were.
 * @pages_released: pages that backup or purge gave back to the system.
 * @objects_prefetched: objects uttm_bo_prefetch() made resident.
 * @background_runs: times the background reclaim thread woke to reclaim.
 * @reserved: zero: room for counters to come.
 */
struct uttm_context_stats {
	uint64_t pages_allocated;
	uint64_t dma32_pages_allocated;
	uint64_t page_limit;
	uint64_t dma32_page_limit;
	uint64_t pool_pages;
	uint64_t objects;
	uint64_t pages_purged;
	uint64_t pages_backed_up;
	uint64_t pages_restored;
	uint64_t budget;
	uint64_t pressure_limit;
	uint64_t resident_bytes;
	uint64_t store_bytes;
	uint64_t metadata_bytes;
	uint64_t peak_resident_bytes;
	uint64_t pages_reclaimed[UTTM_NR_SHRINK_REASONS];
	uint64_t restores;
	uint64_t restore_ns;
	uint64_t restore_latency[UTTM_RESTORE_BUCKETS];
	uint64_t pages_recycled;
	uint64_t pages_released;
	uint64_t objects_prefetched;
	uint64_t background_runs;
	uint64_t pages_backed_up_clean;
	uint64_t reserved[3];
};

/**
 * struct uttm_memory_limit - memory this process may have at most
 * @ram_bytes: the machine's memory.
 * @cgroup_bytes: the tightest limit of the memory cgroups the process is
 * in (v2: memory.max or memory.high of its cgroup or a parent; v1:
 * memory.limit_in_bytes), UINT64_MAX when there is none.
 * @bytes: the lower of the two.
 * @reserved: zero: room for figures to come.
 */
struct uttm_memory_limit {
	uint64_t ram_bytes;
	uint64_t cgroup_bytes;
	uint64_t bytes;
	uint64_t reserved[4];
};

/**
 * uttm_memory_limit() - how much memory this process may have at most
 * @limit: receives the figures.
 *
 * What a budget is checked against.
 *
 * Context: May sleep (reads /proc and cgroup files). No locks.
 * Return: 0, -EINVAL for a NULL @limit, the error of sysinfo().
 */
int uttm_memory_limit(struct uttm_memory_limit *limit);

/**
 * uttm_context_create() - create a context
 * @params: page limits, or NULL for the defaults.
 * @out: receives the context.
 *
 * Context: May sleep. No locks.
 * Return: 0, -EINVAL for a NULL @out, -E2BIG for a budget above
 * uttm_memory_limit(), -ENOMEM.
 */
int uttm_context_create(const struct uttm_context_params *params,
			struct uttm_context **out);

/**
 * uttm_context_destroy() - free a context
 * @ctx: the context, or NULL; its devices must be destroyed first.
 *
 * Context: May sleep. No other thread may use @ctx.
 */
void uttm_context_destroy(struct uttm_context *ctx);

/**
 * uttm_context_set_budget() - change the budget
 * @ctx: the context.
 * @bytes: the new budget, 0 for none; at most uttm_memory_limit().
 *
 * A budget below what the context holds reclaims the difference at once,
 * as uttm_context_reclaim() does, as far as it can; charges go on failing
 * until the context is under.
 *
 * Context: May sleep. Takes the locks of uttm_context_reclaim().
 * Return: 0; -EINVAL for a NULL @ctx; -E2BIG when @bytes is above
 * uttm_memory_limit() (the budget is then unchanged).
 */
int uttm_context_set_budget(struct uttm_context *ctx, uint64_t bytes);

/**
 * uttm_context_set_pressure_limit() - hold the context under a limit for now
 * @ctx: the context.
 * @bytes: the limit, 0 to lift it.
 *
 * A second budget, for the time memory is short: charges reclaim to fit
 * under the lower of the two.  The memory-pressure monitor sets it ahead
 * of the kernel's own reclaim and lifts it when the pressure is gone, so
 * that objects reclaimed for the kernel are not populated again at once.
 * It throttles rather than fails, as memory.high does: a charge that
 * finds nothing left to reclaim under it waits 10 ms and then has to fit
 * the budget only.  Nothing is reclaimed here; uttm_context_reclaim()
 * does that.
 *
 * Context: Any thread, lock-free.
 */
void uttm_context_set_pressure_limit(struct uttm_context *ctx, uint64_t bytes);

/**
 * uttm_context_reclaim() - free memory the budget counts
 * @ctx: the context.
 * @bytes: how much.
 *
 * Cheapest first, until @bytes are freed or nothing else helps: pooled
 * pages; purgeable objects; objects backed up, written out at once when
 * their store would keep them in memory; the stores' own memory written
 * out (struct uttm_backup_ops::writeback).  Busy objects are skipped.
 * Frees whole objects, so it may free more than asked.
 *
 * Context: May sleep. Takes the device-list, LRU and pool locks and
 * trylocks objects; must not be called with an LRU lock held. Never
 * allocates memory itself.
 * Return: the bytes the budget's sum went down by.
 */
uint64_t uttm_context_reclaim(struct uttm_context *ctx, uint64_t bytes);

/**
 * uttm_context_set_background_reclaim() - keep headroom with a thread
 * @ctx: the context.
 * @low: bytes of headroom (room under the budget, and under the page
 * limit, whichever is less) below which the thread reclaims; 0 stops the
 * thread.
 * @high: bytes of headroom it reclaims up to, at least @low.
 *
 * As kswapd keeps free memory between its watermarks: a charge that
 * leaves less than @low wakes the thread (which also looks every 50 ms),
 * and it reclaims until @high is free, cheapest first over the budget
 * (as uttm_context_reclaim()), objects swapped out and written back
 * under the page limit, so that validates seldom wait for a victim's
 * writes.  What it frees goes back to the system.  Off by default;
 * calling it again moves the watermarks.
 *
 * Context: May sleep (starts or joins the thread). Takes the thread's
 * lock; not from the thread's own reclaim.
 * Return: 0; -EINVAL for a NULL @ctx or @high below @low; -EAGAIN when
 * the thread cannot be started.
 */
int uttm_context_set_background_reclaim(struct uttm_context *ctx, uint64_t low,
					uint64_t high);

/**
 * uttm_context_stats() - read a context's counters
 * @ctx: the context.
 * @stats: receives them.
 *
 * Context: Any thread. Takes the device-list lock and the charge lock.
 */
void uttm_context_stats(struct uttm_context *ctx,
			struct uttm_context_stats *stats);

/**
 * uttm_context_dump() - print a context's state
 * @ctx: the context.
 * @out: where.
 *
 * The counters, then each device's pool table and store handles.
 *
 * Context: Any thread. Takes the device-list lock.
 * Return: 0, -EINVAL for NULL arguments, -EIO when printing fails.
 */
int uttm_context_dump(struct uttm_context *ctx, FILE *out);

/**
 * uttm_context_metrics() - write a context's counters for a metrics system
 * @ctx: the context.
 * @out: where.
 *
 * Writes the counters in the OpenMetrics text format (which Prometheus
 * also reads), ending with "# EOF": pages held and the page limits, the
 * budget, the pressure limit, the memory the budget counts (label kind:
 * pages, store, metadata) and its peak, pages purged, backed up and
 * restored, pages the shrinker walks freed by reason (label reason:
 * watermark, purge, swap), a histogram of restore times
 * (uttm_restore_seconds), and per device (label device, an id
 * that stays for the device's life) objects, shrinkable, purgeable,
 * pinned and delayed ones, pooled pages per caching state and order, and
 * the store's live handles.  A service serves it on its metrics endpoint.
 *
 * Context: Any thread. Takes the device-list lock and LRU locks.
 * Return: 0, -EINVAL for NULL arguments, -EIO when writing fails.
 */
int uttm_context_metrics(struct uttm_context *ctx, FILE *out);

/**
 * uttm_global_swapout() - shrink one object of some device
 * @ctx: the context.
 * @op: operation context (no_wait_gpu: skip busy objects).
 * @sc: reason and writeback.
 *
 * Picks devices round-robin: a device that gave pages goes to the back of
 * the line.
 *
 * Context: May sleep. Takes the device-list lock, LRU locks, and trylocks
 * buffer objects. Must not be called with an LRU lock held.
 * Return: pages freed by one object (0 when no object could be shrunk),
 * or a negative errno that stopped the walk.
 */
long uttm_global_swapout(struct uttm_context *ctx,
			 const struct uttm_operation_ctx *op,
			 const struct uttm_shrink_control *sc);

/** Placement of objects whose pages are plain system memory. */
#define UTTM_PL_SYSTEM 0
/** Placement of objects whose pages are bound to the device. */
#define UTTM_PL_TT 1
/** First placement a driver may define. */
#define UTTM_PL_PRIV 2
/** Number of placements a device can have. */
#define UTTM_NUM_MEM_TYPES 8

/**
 * struct uttm_device_funcs - a driver's callbacks, each optional
 * @tt_create: initialise @tt for @bo (uttm_tt_init(), uttm_tt_set_backup());
 * by default a vector of the bo's size in the device's caching state with
 * the device's store.  Returns 0 or a negative errno.
 * @bo_shrink: give up @bo's pages for the request @sc: the driver decides
 * whether to purge, back up (usually with uttm_bo_shrink()) or refuse
 * (-EBUSY).  Called with @bo locked and idle.  By default purgeable
 * objects are purged and others backed up.  Returns pages freed or a
 * negative errno.
 * @move_notify: @bo's pages are about to move (backup, purge): unbind
 * them from the device.  Called with @bo locked, only once the move is
 * sure to start: never for a backup its store refuses outright (no
 * store, no room).
 * @purge_notify: @bo's content was just dropped.  Called with @bo locked.
 * @busy: whether the device still uses @bo (its fence is not signalled).
 * Called with @bo locked or being destroyed.
 * @wait_idle: wait until @bo is idle; when @op is interruptible, stop
 * with -EINTR on a signal or once uttm_operation_cancelled(@op).  Called
 * with @bo locked.
 * @release: @bo is being freed; free the driver's data.
 * @move_abandoned: the move @move_notify announced did not happen: the
 * store refused the very first page (a write error, room another thread
 * took) and @bo's pages are where they were, populated; bind them again
 * if the device needs them.  Called with @bo locked.
 * @reserved: must be NULL: room for callbacks to come.
 */
struct uttm_device_funcs {
	int (*tt_create)(struct uttm_bo *bo, struct uttm_tt *tt);
	long (*bo_shrink)(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *op,
			  const struct uttm_shrink_control *sc);
	void (*move_notify)(struct uttm_bo *bo);
	void (*purge_notify)(struct uttm_bo *bo);
	bool (*busy)(struct uttm_bo *bo);
	int (*wait_idle)(struct uttm_bo *bo,
			 const struct uttm_operation_ctx *op);
	void (*release)(struct uttm_bo *bo);
	void (*move_abandoned)(struct uttm_bo *bo);
	void (*reserved[4])(void);
};

/**
 * struct uttm_device_params - how to create a device
 * @pool: parameters of the device's pool (its arena decides DMA32).
 * @caching: caching state of the default page vectors.
 * @backup: default store of the page vectors, or NULL (objects can then
 * only be purged); the device takes its own reference.
 * @funcs: driver callbacks, or NULL.
 * @priv: driver data, see uttm_device_priv().
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_device_params {
	struct uttm_pool_params pool;
	enum uttm_caching caching;
	struct uttm_backup *backup;
	const struct uttm_device_funcs *funcs;
	void *priv;
	uint64_t reserved[4];
};

/**
 * struct uttm_device_stats - counters of a device
 * @objects: live objects, delayed-destroyed ones included.
 * @shrinkable_pages: pages of objects on the LRUs.
 * @purgeable_pages: of which purgeable.
 * @pinned: pinned objects.
 * @delayed: objects waiting for their fence before destruction.
 * @reserved: zero: room for counters to come.
 */
struct uttm_device_stats {
	uint64_t objects;
	uint64_t shrinkable_pages;
	uint64_t purgeable_pages;
	uint64_t pinned;
	uint64_t delayed;
	uint64_t reserved[8];
};

/**
 * uttm_device_create() - create a device in a context
 * @ctx: the context; it must outlive the device.
 * @params: pool, caching, store, callbacks.
 * @out: receives the device.
 *
 * The device starts with the UTTM_PL_SYSTEM and UTTM_PL_TT placements,
 * both backed by page vectors and unlimited in size.
 *
 * Context: May sleep. Takes the device-list lock.
 * Return: 0; -EINVAL for NULL arguments or a caching state the pool
 * cannot provide; the errors of uttm_pool_init(); -ENOMEM.
 */
int uttm_device_create(struct uttm_context *ctx,
		       const struct uttm_device_params *params,
		       struct uttm_device **out);

/**
 * uttm_device_destroy() - tear a device down
 * @dev: the device, or NULL.
 *
 * Waits for the delayed-destroyed objects to become idle and frees them.
 * Every other object must have been put; those still alive are reported
 * and leaked rather than freed under their owners.
 *
 * Context: May sleep. Takes the device-list lock.
 */
void uttm_device_destroy(struct uttm_device *dev);

/**
 * uttm_device_add_manager() - define a placement
 * @dev: the device.
 * @mem_type: UTTM_PL_PRIV to UTTM_NUM_MEM_TYPES - 1.
 * @size: bytes the placement can hold; 0 for no limit.
 * @use_tt: objects in it have page vectors (and can be shrunk); otherwise
 * they only count against @size.
 *
 * Context: May sleep. Call before creating objects in the placement.
 * Return: 0, -EINVAL for a bad or already defined @mem_type.
 */
int uttm_device_add_manager(struct uttm_device *dev, unsigned int mem_type,
			    uint64_t size, bool use_tt);

/**
 * uttm_device_swapout() - shrink one object of a device
 * @dev: the device.
 * @op: operation context.
 * @sc: reason and writeback.
 *
 * Frees a delayed-destroyed object that became idle, or, unless
 * @op->no_wait_gpu is set, waits for a busy one and frees it, as the
 * kernel's swapout cleans deleted objects up.  Or else walks the LRUs,
 * least recently used first, purgeable objects before any other (as on a
 * lower TTM LRU priority), and shrinks the first suitable object:
 * it trylocks objects (skipping contended ones), skips busy ones when
 * @op->no_wait_gpu is set (waits for them otherwise), skips non-purgeable
 * ones for UTTM_SHRINK_PURGE.  A shrunk object leaves its LRU until it is
 * validated again.  The walk survives its LRU lock being dropped while an
 * object is shrunk.
 *
 * Context: May sleep. Takes the LRU lock and trylocks objects. Must not be
 * called with an LRU lock held.
 * Return: pages freed (0 when nothing could be shrunk), or the negative
 * errno that stopped the walk (-EINTR from a wait, for a delayed object
 * too, which then stays delayed; a store's I/O error).  -EBUSY, -ENOSPC
 * and -ENOMEM only skip the object that returned them: as in the kernel,
 * one object's backup short of memory (a store that allocates) says
 * nothing of the next, which may be purgeable or go to another store.
 */
long uttm_device_swapout(struct uttm_device *dev,
			 const struct uttm_operation_ctx *op,
			 const struct uttm_shrink_control *sc);

/**
 * uttm_device_stats() - read a device's counters
 * @dev: the device.
 * @stats: receives them.
 *
 * Context: Any thread. Takes the LRU lock.
 */
void uttm_device_stats(struct uttm_device *dev,
		       struct uttm_device_stats *stats);

/**
 * uttm_device_pool() - the pool of a device
 * @dev: the device.
 *
 * Context: Any thread. Does not sleep.
 * Return: the pool.
 */
struct uttm_pool *uttm_device_pool(struct uttm_device *dev);

/**
 * uttm_device_backup() - the default store of a device
 * @dev: the device.
 *
 * Context: Any thread. Does not sleep.
 * Return: the store, or NULL.
 */
struct uttm_backup *uttm_device_backup(struct uttm_device *dev);

/**
 * uttm_device_priv() - the driver data of a device
 * @dev: the device.
 *
 * Context: Any thread. Does not sleep.
 * Return: struct uttm_device_params::priv.
 */
void *uttm_device_priv(const struct uttm_device *dev);

/**
 * struct uttm_bo_params - how to create a buffer object
 * @size: bytes; rounded up to whole pages.
 * @mem_type: placement, UTTM_PL_SYSTEM by default.
 * @purgeable: the content may be dropped under pressure from the start.
 * @priv: driver data, see uttm_bo_priv().
 * @flags: UTTM_BO_* bits.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_bo_params {
	uint64_t size;
	unsigned int mem_type;
	bool purgeable;
	void *priv;
	uint64_t flags;
	uint64_t reserved[3];
};

/*
 * The owner reports every CPU write with uttm_bo_mark_dirty(), so that a
 * page not written since its restore is backed up again without a write:
 * its vector is made with UTTM_TT_FLAG_TRACK_DIRTY (uttm/tt.h).
 */
#define UTTM_BO_TRACK_DIRTY (1ull << 0)
/** Every flag struct uttm_bo_params::flags may hold. */
#define UTTM_BO_FLAGS UTTM_BO_TRACK_DIRTY

/** uttm_bo_validate() found the content dropped since the last validate. */
#define UTTM_BO_CONTENT_LOST 1

/**
 * uttm_bo_create() - create a buffer object
 * @dev: its device.
 * @params: size, placement, purgeable flag, driver data.
 * @out: receives the object, holding one reference; not yet validated.
 *
 * The object's bookkeeping (this structure, its vector's entries) is
 * charged to the budget, objects reclaimed without waiting to make room.
 *
 * Context: May sleep. Takes the LRU lock.
 * Return: 0; -EINVAL for NULL arguments, a zero size, one over 16 TiB
 * (2^32 - 1 pages, the most a page vector holds) in any placement, an
 * undefined placement, or flags outside UTTM_BO_FLAGS; -ENOSPC when the
 * placement is full (a sized one, or an unlimited one whose usage would
 * pass 2^64 bytes); the errors of tt_create; -ENOMEM, also when the
 * budget has no room for the bookkeeping.
 */
int uttm_bo_create(struct uttm_device *dev, const struct uttm_bo_params *params,
		   struct uttm_bo **out);

/**
 * uttm_bo_get() - take a reference
 * @bo: the object.
 *
 * Context: Any thread, lock-free.
 * Return: @bo.
 */
struct uttm_bo *uttm_bo_get(struct uttm_bo *bo);

/**
 * uttm_bo_put() - drop a reference
 * @bo: the object, or NULL.
 *
 * The last reference destroys the object, or, while the device still
 * uses it (busy), hands it to delayed destruction: it is freed once idle,
 * by the shrinker or by uttm_device_destroy().  An object still pinned
 * loses its pins with its last reference.
 *
 * Context: May sleep. Takes the LRU lock. Must not be called with @bo
 * locked when it may be the last reference.
 */
void uttm_bo_put(struct uttm_bo *bo);

/**
 * uttm_bo_lock() - lock an object
 * @bo: the object.
 *
 * Locks it on its own, without a ticket, waiting as long as it takes;
 * uttm_bo_reserve() locks with a ticket or interruptibly.
 *
 * Context: May sleep. Takes the bo lock; see the lock order above.
 */
void uttm_bo_lock(struct uttm_bo *bo);

/**
 * uttm_bo_trylock() - lock an object if nobody holds it
 * @bo: the object.
 *
 * Never waits for a holder and never wounds a ticket: what the shrinker
 * uses to walk against the lock order.
 *
 * Context: Any thread; does not sleep beyond the moment it takes the
 * object's own wait lock.
 * Return: true when locked.
 */
bool uttm_bo_trylock(struct uttm_bo *bo);

/**
 * uttm_bo_unlock() - unlock an object
 * @bo: a locked object.
 *
 * Unless @bo is pinned, its CPU mapping (uttm_bo_vmap()) goes with the
 * lock: nobody may use it any more, and its pages stay mapped once, in
 * the arena, instead of twice.
 *
 * Context: The thread that locked @bo. May sleep (unmaps).
 */
void uttm_bo_unlock(struct uttm_bo *bo);

/**
 * struct uttm_acquire_ctx - a ticket for locking several objects
 * @ctx: the context whose objects the ticket locks.
 * @stamp: its age; lower is older, and older tickets win.
 * @acquired: objects the ticket holds.
 * @wounded: an older ticket wants one of them.
 * @wake: what the ticket's thread sleeps on.
 * @backoff: a call returned -EDEADLK since the last back-off.
 *
 * As struct ww_acquire_ctx: one per thread and per set of objects it
 * locks together, on the stack or in an object; fields are private.
 * See "Wound-wait" in src/object/reservation.c.
 */
struct uttm_acquire_ctx {
	struct uttm_context *ctx;
	uint64_t stamp;
	unsigned int acquired;
	int wounded;
	uint32_t wake;
	bool backoff;
};

/**
 * uttm_acquire_init() - start a ticket
 * @ticket: the ticket.
 * @ctx: the context of the objects it will lock.
 *
 * The ticket is younger than every ticket started before it in @ctx.
 *
 * Context: Any thread. Does not sleep.
 */
void uttm_acquire_init(struct uttm_acquire_ctx *ticket,
		       struct uttm_context *ctx);

/**
 * uttm_acquire_fini() - end a ticket
 * @ticket: a ticket that holds no object any more.
 *
 * Context: The ticket's thread. Does not sleep.
 */
void uttm_acquire_fini(struct uttm_acquire_ctx *ticket);

/**
 * uttm_bo_reserve() - lock an object, with a ticket or alone
 * @bo: the object.
 * @ticket: the ticket of the set @bo belongs to, or NULL to lock @bo on
 * its own, as uttm_bo_lock() does.
 * @op: operation context: interruptible, the wait stops on a signal
 * (handler installed without SA_RESTART) or a cancel request.
 *
 * Waits while another thread holds @bo.  A ticket waiting for an object
 * a younger ticket holds wounds it; a wounded ticket gets -EDEADLK when
 * it would wait while holding objects.  It must then unlock every
 * object it holds and take @bo with uttm_bo_reserve_slowpath() before
 * locking the others again.  Unlock with uttm_bo_unlock().  While a
 * ticket holds objects, its thread locks further objects only through
 * it.
 *
 * Context: May sleep. Takes the bo lock; objects of one ticket in any
 * order.
 * Return: 0 when locked; -EALREADY when @ticket holds @bo already;
 * -EDEADLK to back off; -EINTR when interrupted; -EINVAL for NULL
 * arguments or an object of another context than @ticket's.
 */
int uttm_bo_reserve(struct uttm_bo *bo, struct uttm_acquire_ctx *ticket,
		    const struct uttm_operation_ctx *op);

/**
 * uttm_bo_reserve_slowpath() - lock the object a ticket backed off for
 * @bo: the object uttm_bo_reserve() returned -EDEADLK for.
 * @ticket: the ticket, holding nothing.
 * @op: operation context, as for uttm_bo_reserve().
 *
 * Sleeps until @bo is free, never backing off: a ticket that holds
 * nothing cannot stand in anybody's way.
 *
 * Context: May sleep. Takes the bo lock.
 * Return: 0 when locked; -EINTR when interrupted; -EINVAL for NULL
 * arguments, another context's object, or a ticket that holds objects.
 */
int uttm_bo_reserve_slowpath(struct uttm_bo *bo,
			     struct uttm_acquire_ctx *ticket,
			     const struct uttm_operation_ctx *op);

/**
 * struct uttm_exec - locking a set of objects until all are held
 * @ticket: the set's ticket.
 * @op: operation context of every lock.
 * @objects: the objects locked, each with a reference.
 * @num_objects: how many.
 * @max_objects: room in @objects.
 * @contended: the object to take first after a back-off, referenced.
 * @retry: the loop runs (again).
 *
 * As struct drm_exec; fields are private:
 *
 *	uttm_exec_init(&exec, ctx, &op);
 *	while (uttm_exec_until_all_locked(&exec)) {
 *		ret = uttm_exec_lock(&exec, a);
 *		if (ret == -EDEADLK)
 *			continue;
 *		if (!ret)
 *			ret = uttm_exec_lock(&exec, b);
 *		if (ret == -EDEADLK)
 *			continue;
 *		if (!ret)
 *			ret = uttm_bo_validate(a, &op);
 *		if (ret != -EDEADLK)
 *			break;
 *	}
 *	... use a and b if !ret ...
 *	uttm_exec_fini(&exec);
 *
 * or uttm_exec_lock_objects() for a list.
 */
struct uttm_exec {
	struct uttm_acquire_ctx ticket;
	const struct uttm_operation_ctx *op;
	struct uttm_bo **objects;
	unsigned int num_objects;
	unsigned int max_objects;
	struct uttm_bo *contended;
	bool retry;
};

/**
 * uttm_exec_init() - start locking a set of objects
 * @exec: the set.
 * @ctx: the context of its objects.
 * @op: operation context of every lock; it must outlive @exec.
 *
 * Context: Any thread. Does not sleep.
 */
void uttm_exec_init(struct uttm_exec *exec, struct uttm_context *ctx,
		    const struct uttm_operation_ctx *op);

/**
 * uttm_exec_until_all_locked() - the condition of the locking loop
 * @exec: the set.
 *
 * True the first time, and again after a call in the loop returned
 * -EDEADLK (uttm_exec_lock(), or a uttm_bo_validate() of an object of
 * the set): then every object of the set has just been unlocked, and
 * the loop locks them again.  False once a pass went through without.
 *
 * Context: The thread of @exec. Takes the bo locks to unlock them.
 * Return: whether to run the loop's body.
 */
bool uttm_exec_until_all_locked(struct uttm_exec *exec);

/**
 * uttm_exec_lock() - lock one object into a set
 * @exec: the set.
 * @bo: the object; locking it twice is harmless.
 *
 * After a back-off, first sleeps for the object that caused it.  The set
 * holds a reference to each object it locked.
 *
 * Context: May sleep. Takes the bo lock.
 * Return: 0; -EDEADLK (go round the loop again); -EINTR; -ENOMEM;
 * -EINVAL for an object of another context.
 */
int uttm_exec_lock(struct uttm_exec *exec, struct uttm_bo *bo);

/**
 * uttm_exec_lock_objects() - lock a list of objects until all are held
 * @exec: the set, just initialised.
 * @bos: the objects, in any order, duplicates allowed.
 * @count: how many.
 *
 * The whole loop of uttm_exec_until_all_locked() for a list: backs off
 * and tries again as often as other tickets make it.
 *
 * Context: May sleep. Takes the bo locks.
 * Return: 0 with every object locked; -EINTR, -ENOMEM or -EINVAL, with
 * what was locked still in @exec for uttm_exec_fini().
 */
int uttm_exec_lock_objects(struct uttm_exec *exec, struct uttm_bo *const *bos,
			   unsigned int count);

/**
 * uttm_exec_fini() - unlock a set and end its ticket
 * @exec: the set.
 *
 * Context: May sleep (drops references). Takes the bo locks.
 */
void uttm_exec_fini(struct uttm_exec *exec);

/**
 * uttm_bo_validate() - make an object's pages resident
 * @bo: a locked object.
 * @op: operation context.
 *
 * Populates the page vector, restoring it when it was backed up, and puts
 * the object at the tail of its LRU.  The most the vector holds at any
 * moment of it (uttm_tt_footprint()) is charged first: when that would
 * take the context over a page limit or its budget, objects are shrunk
 * (reason UTTM_SHRINK_WATERMARK), and over the budget cheapest first (see
 * uttm_context_reclaim()), until it fits; -ENOMEM when nothing else
 * helps.  A restore that fails midway holds no more than was charged.
 * The pages stay valid while @bo stays locked or pinned.
 *
 * When @bo is locked with a ticket (uttm_bo_reserve(), uttm_exec), making
 * room knows the ticket: objects it holds are the caller's and left
 * alone, and an object another ticket holds is waited for, wound-wait,
 * then shrunk; -EDEADLK says this ticket must back off.  Objects locked
 * without a ticket are waited for a short, bounded time.
 *
 * Context: May sleep. @bo locked; takes the device-list and LRU locks,
 * and with a ticket the locks of objects other tickets hold.
 * Return: 0; UTTM_BO_CONTENT_LOST when the content was purged since the
 * last validate (the pages are now zeroed; reported once); -ENOMEM;
 * -EDEADLK (with a ticket: unlock everything it holds and start again;
 * uttm_exec_until_all_locked() does); -EINTR from an interruptible wait;
 * the errors of uttm_tt_populate() (-EINTR, -EIO...), after which a
 * restore resumes at the next call.
 */
int uttm_bo_validate(struct uttm_bo *bo, const struct uttm_operation_ctx *op);

/**
 * uttm_bo_prefetch() - start making an object resident, without waiting
 * @bo: the object, locked or not.
 *
 * Queues @bo for the context's prefetch thread, started by the first
 * call, which validates queued objects in order while the caller does
 * other work: restored, charged first and within the page limits and
 * the budget like any validate, others shrunk to make room.  A later
 * uttm_bo_validate() finds @bo resident, or waits (on the bo lock) only
 * for the rest of a restore under way.  An object its owner holds locked
 * when its turn comes is passed by, one nobody else references any more
 * is dropped, and a purge is still reported by the owner's validate.  A
 * prefetched object nobody validates is shrunk like any other.  Queuing
 * an object already queued or in flight does nothing.
 *
 * Context: May sleep (starts a thread once). Takes the prefetch lock.
 * Return: 0; -EINVAL for NULL; -EAGAIN when the thread cannot be started;
 * -ECHILD in the child of a fork() of a process that prefetched.
 */
int uttm_bo_prefetch(struct uttm_bo *bo);

/**
 * uttm_bo_prefetch_cancel() - withdraw a prefetch
 * @bo: the object; the caller must not hold its lock while its prefetch
 * may be in flight, unless by uttm_bo_trylock() (then it is not).
 *
 * Takes @bo off the queue, or stops its prefetch in flight before its
 * next read and waits for it: the restore then resumes where it stopped
 * at the next validate.
 *
 * Context: May sleep. Takes the prefetch lock.
 * Return: 0 when a prefetch was withdrawn or stopped, -ENOENT when none
 * was pending, -EINVAL for NULL.
 */
int uttm_bo_prefetch_cancel(struct uttm_bo *bo);

/**
 * uttm_bo_vmap() - CPU mapping of a validated object
 * @bo: a locked, validated object.
 * @addr: receives the address of its first byte.
 *
 * The mapping lasts while @bo stays locked, or pinned: unlocking an
 * unpinned object removes it (see uttm_tt_vmap()).
 *
 * Context: May sleep. @bo locked.
 * Return: 0; -EINVAL when @bo has no pages or is not validated; -ENOMEM.
 */
int uttm_bo_vmap(struct uttm_bo *bo, void **addr);

/**
 * uttm_bo_pin() - keep an object's pages where they are
 * @bo: a locked, validated object.
 *
 * A pinned object is off its LRU and is never shrunk.  Pins nest.
 *
 * Context: @bo locked; takes the LRU lock.
 * Return: 0, -EINVAL when @bo is not validated: its pages are not
 * populated, or, in a placement without pages, it was never validated.
 */
int uttm_bo_pin(struct uttm_bo *bo);

/**
 * uttm_bo_unpin() - undo one uttm_bo_pin()
 * @bo: a locked, pinned object.
 *
 * Context: @bo locked; takes the LRU lock.
 */
void uttm_bo_unpin(struct uttm_bo *bo);

/**
 * uttm_bo_mark_dirty() - report a CPU write to an object
 * @bo: a locked object.
 * @offset: first byte written.
 * @size: bytes written from @offset.
 *
 * For an object made with UTTM_BO_TRACK_DIRTY: the store's copies of the
 * pages the range touches are dropped, so the next backup writes them.
 * Call it before the write, or at least before the object can next be
 * shrunk: a write it misses is lost when the object is backed up and
 * restored.  A no-op for other objects and for an empty range.
 *
 * Context: @bo locked (the shrinker then leaves it alone). May sleep:
 * the store drops handles and may take its own locks.
 * Return: 0; -EINVAL for a NULL @bo or a range beyond the object.
 */
int uttm_bo_mark_dirty(struct uttm_bo *bo, uint64_t offset, uint64_t size);

/**
 * uttm_bo_set_purgeable() - say whether an object's content may be dropped
 * @bo: a locked object.
 * @purgeable: true (DONTNEED) or false (WILLNEED).
 *
 * A purgeable object is purged rather than backed up, first of all, and
 * its owner learns of it from purge_notify and from the next validate.
 *
 * Context: @bo locked; takes the LRU lock.
 */
void uttm_bo_set_purgeable(struct uttm_bo *bo, bool purgeable);

/**
 * uttm_bo_shrink_suitable() - whether an object can be shrunk now
 * @bo: a locked object.
 * @op: operation context.
 *
 * It must have populated pages, be unpinned, and be idle, or waiting for
 * it must be allowed.
 *
 * Context: @bo locked. Does not sleep.
 * Return: true when suitable.
 */
bool uttm_bo_shrink_suitable(struct uttm_bo *bo,
			     const struct uttm_operation_ctx *op);

/**
 * uttm_bo_shrink() - purge or back up one object
 * @bo: a locked, idle, suitable object.
 * @flags: purge or back up, with writeback or not.
 *
 * Tells the driver (move_notify) once the move is sure to start, purges
 * or backs up the page vector, keeps the context's page accounting
 * exact, takes the object off its LRU, and for a purge marks the content
 * lost and tells the owner.  When the store then refuses the first page
 * the driver is told the move was abandoned (move_abandoned).
 *
 * Context: May sleep. @bo locked; takes the LRU lock. Safe from the
 * shrinker: this is what it calls.
 * Return: pages freed; -EBUSY when @bo is not suitable or its store has no
 * room; the errors of uttm_tt_backup().
 */
long uttm_bo_shrink(struct uttm_bo *bo, const struct uttm_backup_flags *flags);

/**
 * uttm_bo_size() - size of an object
 * @bo: the object.
 *
 * Context: Any thread. Does not sleep.
 * Return: its size in bytes, a whole number of pages.
 */
uint64_t uttm_bo_size(const struct uttm_bo *bo);

/**
 * uttm_bo_tt() - page vector of an object
 * @bo: the object.
 *
 * For drivers' callbacks; access the pages only with @bo locked.
 *
 * Context: Any thread. Does not sleep.
 * Return: the vector, or NULL for a placement without pages.
 */
struct uttm_tt *uttm_bo_tt(struct uttm_bo *bo);

/**
 * uttm_bo_device() - device of an object
 * @bo: the object.
 *
 * Context: Any thread. Does not sleep.
 * Return: the device.
 */
struct uttm_device *uttm_bo_device(const struct uttm_bo *bo);

/**
 * uttm_bo_priv() - driver data of an object
 * @bo: the object.
 *
 * Context: Any thread. Does not sleep.
 * Return: struct uttm_bo_params::priv.
 */
void *uttm_bo_priv(const struct uttm_bo *bo);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_DEVICE_H */
