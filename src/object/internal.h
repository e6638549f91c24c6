/* SPDX-License-Identifier: MIT */
/*
 * The object layer's private structures and calls, shared by context.c,
 * device.c, bo.c and reclaim.c.
 */
#ifndef UTTM_OBJECT_INTERNAL_H
#define UTTM_OBJECT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "uttm/device.h"
#include "base/base.h"

/* A store the context's objects back up into, and how many do. */
struct uttm_store_use {
	struct uttm_backup *store;
	unsigned long users;
};

/*
 * The prefetch queue and its thread; see "Prefetch" in prefetch.c.  Its
 * @lock protects everything but @cancel and @done.
 */
struct uttm_prefetcher {
	pthread_mutex_t lock;
	pthread_cond_t work;		/* something queued, or @stop */
	pthread_cond_t landed;		/* @in_flight went */
	struct list_head queue;		/* of bo->prefetch_link, referenced */
	/*
	 * Referenced, but its last reference may be going unlocked: compare
	 * it, never look inside; its device is @in_flight_dev.
	 */
	struct uttm_bo *in_flight;
	struct uttm_device *in_flight_dev;
	struct uttm_cancel cancel;	/* stops @in_flight */
	atomic_ulong done;		/* objects it populated */
	bool started;
	bool stop;
	unsigned long generation;	/* of the process that started it */
	pthread_t thread;
};

/*
 * The background reclaim thread; see "Background reclaim" in
 * background.c.  Its @lock protects everything but the atomics.
 */
struct uttm_background {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	uint64_t low;			/* bytes of headroom */
	uint64_t high;
	_Atomic uint64_t armed_low;	/* @low while the thread runs, or 0 */
	atomic_ulong runs;		/* times it woke to reclaim */
	bool started;
	bool stop;
	bool woken;
	unsigned long generation;	/* of the process that started it */
	pthread_t thread;
};

struct uttm_context {
	pthread_mutex_t lock;		/* protects @devices */
	struct list_head devices;	/* in round-robin order */
	unsigned int next_device_id;	/* under @lock */
	uint64_t page_limit;		/* pages */
	uint64_t dma32_page_limit;	/* pages */
	/* Vector pages, and pages charged to populates under way. */
	atomic_long pages_allocated;
	atomic_long dma32_pages_allocated;
	/* Bookkeeping of objects and vectors, heap bytes. */
	atomic_long metadata_bytes;
	_Atomic uint64_t budget;	/* bytes, 0 for none */
	_Atomic uint64_t pressure_limit;	/* bytes, 0 for none */
	_Atomic uint64_t peak_resident;	/* the highest charged sum */
	/*
	 * Serialises charges, so that no two take the same room; protects
	 * the two lists of what the budget counts below.
	 */
	pthread_mutex_t charge_lock;
	struct list_head charged_devices;
	struct uttm_store_use *stores;
	unsigned int nr_stores;
	unsigned int max_stores;
	atomic_ulong pages_purged;
	atomic_ulong pages_backed_up;
	atomic_ulong pages_backed_up_clean;
	atomic_ulong pages_restored;
	atomic_ulong pages_reclaimed[UTTM_NR_SHRINK_REASONS];
	atomic_ulong restore_latency[UTTM_RESTORE_BUCKETS];
	_Atomic uint64_t restore_ns;
	atomic_ulong pages_recycled;
	atomic_ulong pages_released;
	atomic_ulong next_stamp;	/* of the next acquire ticket */
	pthread_mutex_t transit_lock;	/* protects the two below */
	pthread_cond_t transit_done;
	unsigned long in_transit;	/* objects off the LRUs for a moment */
	unsigned long transits_done;
	struct uttm_prefetcher prefetch;
	struct uttm_background background;
};

/*
 * An entry of an LRU: an object's, or a walker's cursor, which marks
 * where a walk goes on after it dropped the LRU lock.
 */
struct uttm_lru_item {
	struct list_head link;
	bool cursor;
};

/*
 * LRU priorities, shrunk in this order, as TTM's bo priorities are:
 * purgeable objects first, whose content nobody needs.
 */
enum uttm_lru_priority {
	UTTM_LRU_PURGEABLE,
	UTTM_LRU_OTHERS,
	UTTM_NR_LRU_PRIORITIES,
};

struct uttm_resource_manager {
	bool defined;
	bool use_tt;
	uint64_t size;			/* bytes, 0 for no limit */
	uint64_t usage;			/* bytes; under the LRU lock */
	/* Least recently used first, one list per priority. */
	struct list_head lru[UTTM_NR_LRU_PRIORITIES];
};

struct uttm_device {
	struct uttm_context *ctx;
	struct list_head node;		/* in ctx->devices */
	unsigned int id;		/* its name in dumps and metrics */
	struct list_head charge_node;	/* in ctx->charged_devices */
	struct uttm_pool pool;
	bool dma32;
	enum uttm_caching caching;
	struct uttm_backup *backup;
	const struct uttm_device_funcs *funcs;	/* never NULL */
	void *priv;
	pthread_mutex_t lru_lock;	/* protects everything below */
	struct uttm_resource_manager man[UTTM_NUM_MEM_TYPES];
	struct list_head delayed;	/* destroyed while busy */
	uint64_t objects;
	uint64_t pinned;
	uint64_t delayed_count;
	uint64_t shrinkable_pages;
	uint64_t purgeable_pages;
};

/*
 * The bo lock: a wound-wait mutex; see "Wound-wait" in reservation.c.
 * Its own lock, @wait_lock, protects the fields below.
 */
struct uttm_resv {
	pthread_mutex_t wait_lock;
	bool locked;
	struct uttm_acquire_ctx *holder;	/* its ticket, or NULL */
	struct list_head waiters;	/* struct resv_waiter, in line */
};

struct uttm_bo {
	struct uttm_device *dev;
	atomic_int refcount;
	unsigned int mem_type;
	struct uttm_resv resv;
	uint64_t size;
	struct uttm_tt tt;
	/* The store the budget counts for it (@tt's, when it last looked). */
	struct uttm_backup *store;
	void *priv;
	bool has_tt;
	/* Under the LRU lock: */
	bool counted_purgeable;		/* in dev->purgeable_pages */
	struct uttm_lru_item lru;	/* linked while on an LRU or delayed */
	/* Under the prefetch lock: queued while linked. */
	struct list_head prefetch_link;
	/* Under the bo lock: */
	unsigned int pin_count;
	bool content_lost;
	bool validated;		/* once, in a placement without pages */
};

/* device.c: LRU membership; the caller holds the LRU lock. */
void uttm_lru_add_tail(struct uttm_bo *bo);
void uttm_lru_del(struct uttm_bo *bo);
/* device.c: takes the LRU lock and puts @bo where it belongs. */
void uttm_lru_update(struct uttm_bo *bo, bool bump);

/* prefetch.c: the queue and thread of a context, made and torn down. */
void uttm_prefetch_init(struct uttm_prefetcher *pf);
void uttm_prefetch_fini(struct uttm_prefetcher *pf);
/* prefetch.c: takes @dev's objects off the queue and waits for its own. */
void uttm_prefetch_drain(struct uttm_device *dev);

/* background.c: the background reclaim thread, set up and stopped. */
void uttm_background_init(struct uttm_background *bg);
void uttm_background_fini(struct uttm_background *bg);
/*
 * background.c: a charge left @room bytes of headroom; wakes the thread
 * when that is under its low mark.  Called without the charge lock.
 */
void uttm_background_charged(struct uttm_context *ctx, uint64_t room);

/* bo.c: frees a dead object's pages and memory. */
void uttm_bo_free(struct uttm_bo *bo);

/* reservation.c: the bo lock's life. */
void uttm_resv_init(struct uttm_resv *resv);
void uttm_resv_fini(struct uttm_resv *resv);
/* reservation.c: the ticket holding @bo, or NULL (unlocked, or no ticket). */
struct uttm_acquire_ctx *uttm_resv_holder(struct uttm_bo *bo);

/* What stands in the way of a charge. */
enum uttm_limit {
	UTTM_LIMIT_NONE,
	UTTM_LIMIT_PAGES,
	UTTM_LIMIT_DMA32,
	UTTM_LIMIT_BUDGET,
};

/* The budget's sum, in parts; see "Budget" in context.c. */
struct uttm_resident {
	uint64_t vector_bytes;
	uint64_t pool_bytes;
	uint64_t store_bytes;
	uint64_t metadata_bytes;
	uint64_t total;
};

/* context.c: devices join and leave the context and what it counts. */
void uttm_context_add_device(struct uttm_device *dev);
void uttm_context_del_device(struct uttm_device *dev);
/*
 * context.c: charges @pages vector pages and @bytes of bookkeeping for
 * @dev if every limit has room (the pressure limit aside when
 * @past_pressure); else charges nothing and says which limit is in the
 * way, with, for the budget, the bytes it lacks in @excess.
 */
enum uttm_limit uttm_context_charge(struct uttm_device *dev, long pages,
				    long bytes, bool past_pressure,
				    uint64_t *excess);
/* context.c: adjusts the accounting without a check (negative: uncharges). */
void uttm_context_account(struct uttm_device *dev, long pages);
void uttm_context_account_metadata(struct uttm_context *ctx, long bytes);
/* context.c: counts a restore that took @ns nanoseconds. */
void uttm_context_note_restore(struct uttm_context *ctx, uint64_t ns);
/* context.c: the budget's sum now. */
void uttm_context_resident(struct uttm_context *ctx, struct uttm_resident *r);
/*
 * context.c: makes *@used, the store an object is counted for, @store,
 * moving its count in the budget's registry of stores.  0 or -ENOMEM.
 */
int uttm_context_use_store(struct uttm_context *ctx, struct uttm_backup **used,
			   struct uttm_backup *store);

/*
 * reclaim.c: the last reference of @bo went; frees it now, or once the
 * device is done with it (delayed destruction).
 */
void uttm_reclaim_release(struct uttm_bo *bo);
/* reclaim.c: waits for each delayed-destroyed object of @dev and frees it. */
void uttm_reclaim_drain_delayed(struct uttm_device *dev);
/*
 * reclaim.c: charges @pages vector pages and @bytes of bookkeeping for
 * @dev, shrinking objects to make room under the page limits and the
 * budget, on behalf of an object locked with @ticket (or none).  0,
 * -ENOMEM when nothing else helps, or a walk's error.
 */
int uttm_reclaim_charge(struct uttm_device *dev, long pages, long bytes,
			const struct uttm_operation_ctx *op,
			struct uttm_acquire_ctx *ticket);
/* reclaim.c: releases up to @nr_to_scan pooled pages of every device. */
unsigned long uttm_reclaim_trim_pools(struct uttm_context *ctx,
				      unsigned long nr_to_scan);
/*
 * reclaim.c: populates (restores) @bo's vector within the page limits
 * and the budget, shrinking others to make room, and puts @bo on its LRU.
 */
int uttm_reclaim_populate(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *op);

#endif /* UTTM_OBJECT_INTERNAL_H */
