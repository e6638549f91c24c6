// SPDX-License-Identifier: MIT
/*
 * Reclaim: the whole policy by which objects give their pages up, in one
 * place.  A validate that would take the context over a page limit or
 * its budget makes room (the watermark loop) by swapping out other
 * objects, devices in turn, each device's LRUs walked least recently used
 * first, and over the budget by the cheapest means first; objects that
 * are counted but on no LRU (in transit) are waited for, objects locked
 * by others a bounded number of times; objects destroyed while busy wait
 * on a delayed list until they are idle, and are freed by the walks.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "base/base.h"
#include "pool/internal.h"
#include "tt/internal.h"
#include "internal.h"

/* Pauses of 100 us a watermark waits for locked objects: 10 ms in all. */
#define CONTENDED_TRIES 100

/*
 * DOC: Recycling
 *
 * A validate that has to make room under its limit or budget (the
 * watermark path) makes it for itself: the pages its victims give up
 * would be hole-punched now and faulted back in, cleared, a moment later
 * by the same populate.  So while a thread reclaims for its own
 * populate, the pages that backup or purge free in the populate's
 * device go into the populate's bin (struct uttm_pool_recycle) as they
 * are, and the populate takes them before pooled or fresh ones: no hole
 * punch, no fault, no clear for a restore, which overwrites every byte;
 * a plain populate clears what it takes.  The bin is the thread's, as
 * the kernel's current->reclaim_state is, so a driver's bo_shrink that
 * calls uttm_bo_shrink() recycles without knowing.
 *
 * A page in a bin stays counted as the vector page it was, so the
 * budget and the page limits hold at every moment: the victim's
 * uncharge and the bin's charge are one addition, and the populate
 * charges only what the bin does not hold.  What the populate does not
 * take goes back to the system when it ends.  Reclaim for anybody else
 * (the pressure monitor, the shrinker's scan, uttm_context_reclaim())
 * has no bin, and gives the pages back to the system as always.
 */

/*
 * The room a populate makes for itself: the bin its victims' pages go
 * to, and whether it is in transit for holding them.  Pages in a bin are
 * room other threads lack and their walks cannot find, as the pages of
 * an object being populated are; so they wait for it as for any object
 * in transit, and a populate whose walk finds nothing more gives its bin
 * back before it waits itself.  Nobody waits holding a bin: no cycle.
 */
struct room {
	struct uttm_pool_recycle bin;
	bool in_transit;
};

static _Thread_local struct room *current_room;

/* The bin of the thread's populate, if @dev's pages can go there. */
static struct uttm_pool_recycle *bin_for(struct uttm_device *dev)
{
	return current_room && current_room->bin.pool == &dev->pool ?
	       &current_room->bin : NULL;
}

/* Pages the thread's populate holds in its bin now. */
static unsigned long bin_pages(void)
{
	return current_room ? current_room->bin.nr_pages : 0;
}

static unsigned long transits_done(struct uttm_context *ctx)
{
	unsigned long seq;

	pthread_mutex_lock(&ctx->transit_lock);
	seq = ctx->transits_done;
	pthread_mutex_unlock(&ctx->transit_lock);
	return seq;
}

/*
 * Pages of objects in transit (being populated, or being freed) are
 * counted but on no LRU, so a walk cannot find them; a moment later they
 * are on an LRU or gone.  Returns true when a transit ended since @seq was
 * read, waiting for one if some are under way, and false when none is.
 * Objects in transit never wait here, so waiting cannot loop.
 */
static bool wait_for_transit(struct uttm_context *ctx, unsigned long seq)
{
	bool landed;

	pthread_mutex_lock(&ctx->transit_lock);
	while (ctx->transits_done == seq && ctx->in_transit)
		pthread_cond_wait(&ctx->transit_done, &ctx->transit_lock);
	landed = ctx->transits_done != seq;
	pthread_mutex_unlock(&ctx->transit_lock);
	return landed;
}

/*
 * An object whose pages are counted leaves the LRUs for a moment (being
 * populated, being freed); watermarks wait for it.  It has landed when
 * it ends on an LRU or gone; one that went back where it was (a busy
 * delayed object) has not, and wakes the waiters without a new chance.
 */
static void transit_begin(struct uttm_context *ctx)
{
	pthread_mutex_lock(&ctx->transit_lock);
	ctx->in_transit++;
	pthread_mutex_unlock(&ctx->transit_lock);
}

static void transit_end(struct uttm_context *ctx, bool landed)
{
	pthread_mutex_lock(&ctx->transit_lock);
	ctx->in_transit--;
	ctx->transits_done += landed;
	pthread_cond_broadcast(&ctx->transit_done);
	pthread_mutex_unlock(&ctx->transit_lock);
}

static bool bo_busy(struct uttm_bo *bo)
{
	return bo->dev->funcs->busy && bo->dev->funcs->busy(bo);
}

/* Puts a dead object on its device's delayed list, newest last. */
static void delayed_push(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	pthread_mutex_lock(&dev->lru_lock);
	list_add_tail(&bo->lru.link, &dev->delayed);
	dev->delayed_count++;
	pthread_mutex_unlock(&dev->lru_lock);
}

/* Takes the oldest delayed object off its list, or returns NULL. */
static struct uttm_bo *delayed_pop(struct uttm_device *dev)
{
	struct uttm_bo *bo = NULL;

	pthread_mutex_lock(&dev->lru_lock);
	if (!list_empty(&dev->delayed)) {
		bo = list_entry(dev->delayed.next, struct uttm_bo, lru.link);
		list_del_init(&bo->lru.link);
		dev->delayed_count--;
	}
	pthread_mutex_unlock(&dev->lru_lock);
	return bo;
}

void uttm_reclaim_release(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;
	struct uttm_context *ctx = dev->ctx;

	transit_begin(ctx);
	pthread_mutex_lock(&dev->lru_lock);
	uttm_lru_del(bo);
	/* Pins go with the last reference, as in ttm_bo_release(). */
	if (bo->pin_count) {
		bo->pin_count = 0;
		dev->pinned--;
	}
	pthread_mutex_unlock(&dev->lru_lock);
	if (bo_busy(bo))
		delayed_push(bo);
	else
		uttm_bo_free(bo);
	transit_end(ctx, true);
}

/*
 * Whether a delayed object is idle now, waiting for it when @op allows:
 * 1 when idle, 0 when still busy, or the wait's error.
 */
static int delayed_idle(struct uttm_bo *bo, const struct uttm_operation_ctx *op)
{
	const struct uttm_device_funcs *funcs = bo->dev->funcs;
	int ret;

	if (!bo_busy(bo))
		return 1;
	if (op->no_wait_gpu || !funcs->wait_idle)
		return 0;
	ret = funcs->wait_idle(bo, op);
	if (ret == -EBUSY)
		return 0;
	return ret ? ret : 1;
}

/*
 * Frees one delayed object that is idle, or that became so while a walk
 * allowed to wait waited for it, as ttm_bo_swapout() cleans deleted
 * objects up; returns its pages, or the error of a wait.
 */
static long reap_delayed(struct uttm_device *dev,
			 const struct uttm_operation_ctx *op)
{
	uint64_t tries;

	pthread_mutex_lock(&dev->lru_lock);
	tries = dev->delayed_count;
	pthread_mutex_unlock(&dev->lru_lock);
	while (tries--) {
		struct uttm_bo *bo;
		long pages = 0;
		int idle;

		/* Off the list, its pages still counted: in transit. */
		transit_begin(dev->ctx);
		bo = delayed_pop(dev);
		if (!bo) {
			transit_end(dev->ctx, false);
			break;
		}
		idle = delayed_idle(bo, op);
		if (idle > 0) {
			pages = bo->has_tt ? (long)bo->tt.resident_pages : 0;
			uttm_bo_free(bo);
		} else {
			delayed_push(bo);
		}
		transit_end(dev->ctx, idle > 0);
		if (idle < 0)
			return idle;
		if (pages)
			return pages;
	}
	return 0;
}

void uttm_reclaim_drain_delayed(struct uttm_device *dev)
{
	const struct uttm_operation_ctx patient = { .interruptible = false };
	struct uttm_bo *bo;

	while ((bo = delayed_pop(dev))) {
		if (dev->funcs->wait_idle)
			dev->funcs->wait_idle(bo, &patient);
		uttm_bo_free(bo);
	}
}

bool uttm_bo_shrink_suitable(struct uttm_bo *bo,
			     const struct uttm_operation_ctx *op)
{
	const struct uttm_device_funcs *funcs = bo->dev->funcs;

	return bo->has_tt && uttm_tt_is_populated(&bo->tt) && !bo->pin_count &&
	       (!op->no_wait_gpu || !funcs->busy || !funcs->busy(bo));
}

/*
 * Counts where the @left pages that left @bo's vector went: @recycled of
 * them to a populate's bin, the others back to the system, unless a
 * zero-copy store took them.
 */
static void count_freed(struct uttm_bo *bo,
			const struct uttm_backup_flags *flags,
			unsigned long left, unsigned long recycled)
{
	struct uttm_context *ctx = bo->dev->ctx;
	const struct uttm_backup *store = bo->tt.backup;

	atomic_fetch_add(&ctx->pages_recycled, recycled);
	if (flags->purge || !store || !store->ops->insert)
		atomic_fetch_add(&ctx->pages_released, left - recycled);
}

long uttm_bo_shrink(struct uttm_bo *bo, const struct uttm_backup_flags *flags)
{
	const struct uttm_device_funcs *funcs;
	struct uttm_pool_recycle *bin;
	unsigned long before, recycled, clean;
	struct uttm_context *ctx;
	long ret;

	if (UTTM_WARN_ON(!bo || !flags))
		return -EINVAL;
	if (!bo->has_tt || !uttm_tt_is_populated(&bo->tt) || bo->pin_count)
		return -EBUSY;
	/* The driver hears only of moves that start (a store with room). */
	ret = uttm_tt_backup_check(&bo->tt, flags);
	if (ret)
		return ret;
	funcs = bo->dev->funcs;
	ctx = bo->dev->ctx;
	if (funcs->move_notify)
		funcs->move_notify(bo);
	bin = bin_for(bo->dev);
	before = bo->tt.resident_pages;
	recycled = bin ? bin->recycled : 0;
	ret = __uttm_tt_backup(&bo->tt, flags, bin, &clean);
	recycled = bin ? bin->recycled - recycled : 0;
	uttm_context_account(bo->dev, (long)bo->tt.resident_pages -
				      (long)before + (long)recycled);
	count_freed(bo, flags, before - bo->tt.resident_pages, recycled);
	/* The store refused the first page: nothing moved after all. */
	if (ret < 0 && uttm_tt_is_populated(&bo->tt) && funcs->move_abandoned)
		funcs->move_abandoned(bo);
	if (ret <= 0)
		return ret;
	if (flags->purge) {
		bo->content_lost = true;
		atomic_fetch_add(&ctx->pages_purged, (unsigned long)ret);
		if (funcs->purge_notify)
			funcs->purge_notify(bo);
	} else {
		atomic_fetch_add(&ctx->pages_backed_up, (unsigned long)ret);
		atomic_fetch_add(&ctx->pages_backed_up_clean, clean);
	}
	uttm_lru_update(bo, false);
	return ret;
}

static bool bo_get_unless_zero(struct uttm_bo *bo)
{
	int refs = atomic_load(&bo->refcount);

	do {
		if (!refs)
			return false;
	} while (!atomic_compare_exchange_weak(&bo->refcount, &refs, refs + 1));
	return true;
}

/*
 * Whether a watermark must have @bo's store write its pages out at once:
 * making room means real memory, and a store that can write out (shmem,
 * insert) would otherwise keep the pages in memory.
 */
static bool watermark_writeback(const struct uttm_bo *bo,
				const struct uttm_shrink_control *sc)
{
	const struct uttm_backup *store = bo->tt.backup;

	return sc->reason == UTTM_SHRINK_WATERMARK && store &&
	       store->ops->writeback;
}

/* Shrinks a locked object for @request, if it still qualifies. */
static long shrink_locked(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *op,
			  const struct uttm_shrink_control *request)
{
	const struct uttm_device_funcs *funcs = bo->dev->funcs;
	struct uttm_shrink_control sc = *request;
	struct uttm_backup_flags flags;
	long ret;

	if (!uttm_bo_shrink_suitable(bo, op) ||
	    (sc.reason == UTTM_SHRINK_PURGE && !uttm_tt_purgeable(&bo->tt)))
		return -EBUSY;
	if (bo_busy(bo)) {
		ret = funcs->wait_idle ? funcs->wait_idle(bo, op) : -EBUSY;
		if (ret)
			return ret;
	}
	sc.writeback |= watermark_writeback(bo, &sc);
	if (funcs->bo_shrink) {
		ret = funcs->bo_shrink(bo, op, &sc);
	} else {
		flags = (struct uttm_backup_flags){
			.purge = uttm_tt_purgeable(&bo->tt),
			.writeback = sc.writeback,
		};
		ret = uttm_bo_shrink(bo, &flags);
	}
	if (ret > 0)
		atomic_fetch_add(&bo->dev->ctx->pages_reclaimed[sc.reason],
				 (unsigned long)ret);
	return ret;
}

/*
 * Errors that only make the walk pass an object by: it is busy, its
 * store is full, or its backup was short of memory, which the next
 * object (purgeable, another store) may not be.
 */
static bool skip_error(long ret)
{
	return ret == -EBUSY || ret == -ENOSPC || ret == -ENOMEM;
}

/*
 * One swapout: what it may do, and the locked objects it passed by.  A
 * walk on behalf of a validate whose object is locked with a ticket
 * knows the objects that ticket holds (the caller's own, nothing to wait
 * for) and remembers the first object another ticket holds, which
 * wound-wait lets the validate wait for.
 */
struct walk {
	const struct uttm_operation_ctx *op;
	const struct uttm_shrink_control *sc;
	struct uttm_acquire_ctx *ticket;	/* or NULL */
	unsigned long contended;	/* objects others hold, passed by */
	struct uttm_bo *blocker;	/* another ticket's, referenced */
};

/* The walk found @bo locked: the caller's own, or somebody else's. */
static void walk_met_locked(struct walk *walk, struct uttm_bo *bo)
{
	struct uttm_acquire_ctx *holder;

	if (walk->ticket) {
		holder = uttm_resv_holder(bo);
		if (holder == walk->ticket)
			return;
		if (holder && !walk->blocker)
			walk->blocker = uttm_bo_get(bo);
	}
	walk->contended++;
}

/*
 * Walks one LRU, least recently used first.  The cursor sits after the
 * object being looked at, so when the lock is dropped to shrink it the
 * walk goes on from there, whatever happened to the list meanwhile.
 */
static long walk_lru(struct uttm_device *dev, struct list_head *lru,
		     struct walk *walk)
{
	const struct uttm_shrink_control *sc = walk->sc;
	struct uttm_lru_item cursor = { .cursor = true };
	long ret = 0;

	pthread_mutex_lock(&dev->lru_lock);
	list_add(&cursor.link, lru);
	while (cursor.link.next != lru) {
		struct uttm_lru_item *item = list_entry(cursor.link.next,
							struct uttm_lru_item,
							link);
		struct uttm_bo *bo;

		list_move(&cursor.link, &item->link);
		if (item->cursor)
			continue;
		bo = container_of(item, struct uttm_bo, lru);
		if (!bo_get_unless_zero(bo))
			continue;
		pthread_mutex_unlock(&dev->lru_lock);
		ret = -EBUSY;
		if (uttm_bo_trylock(bo)) {
			ret = shrink_locked(bo, walk->op, sc);
			uttm_bo_unlock(bo);
		} else {
			walk_met_locked(walk, bo);
		}
		uttm_bo_put(bo);
		pthread_mutex_lock(&dev->lru_lock);
		if (ret > 0 || (ret < 0 && !skip_error(ret)))
			break;
		ret = 0;
	}
	list_del_init(&cursor.link);
	pthread_mutex_unlock(&dev->lru_lock);
	return ret;
}

/* uttm_device_swapout(), for @walk. */
static long device_swapout(struct uttm_device *dev, struct walk *walk)
{
	/* A purge only wants purgeable objects: the first priority. */
	unsigned int priorities = walk->sc->reason == UTTM_SHRINK_PURGE ?
				  1 : UTTM_NR_LRU_PRIORITIES;
	long ret = reap_delayed(dev, walk->op);

	for (unsigned int p = 0; p < priorities && !ret; p++) {
		for (unsigned int i = 0; i < UTTM_NUM_MEM_TYPES && !ret; i++) {
			struct uttm_resource_manager *man = &dev->man[i];

			if (man->defined && man->use_tt)
				ret = walk_lru(dev, &man->lru[p], walk);
		}
	}
	return ret;
}

long uttm_device_swapout(struct uttm_device *dev,
			 const struct uttm_operation_ctx *op,
			 const struct uttm_shrink_control *sc)
{
	struct walk walk = { .op = op, .sc = sc };

	if (UTTM_WARN_ON(!dev || !op || !sc) || !UTTM_RESERVED_CLEAR(op))
		return -EINVAL;
	return device_swapout(dev, &walk);
}

/*
 * Shrinks one object, choosing devices round-robin; over the DMA32 limit
 * only DMA32 devices can help, so only they are asked.
 */
static long swapout(struct uttm_context *ctx, struct walk *walk,
		    bool dma32_only)
{
	struct uttm_device *dev;
	long ret = 0;

	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		if (dma32_only && !dev->dma32)
			continue;
		ret = device_swapout(dev, walk);
		if (ret > 0)
			list_move_tail(&dev->node, &ctx->devices);
		if (ret)
			break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret;
}

long uttm_global_swapout(struct uttm_context *ctx,
			 const struct uttm_operation_ctx *op,
			 const struct uttm_shrink_control *sc)
{
	struct walk walk = { .op = op, .sc = sc };

	if (UTTM_WARN_ON(!ctx || !op || !sc) || !UTTM_RESERVED_CLEAR(op))
		return -EINVAL;
	return swapout(ctx, &walk, false);
}

/*
 * After a walk that found nothing to shrink but objects others hold: 0
 * to walk again, once one of them may be free, or why not.  An object
 * another ticket holds is waited for, wound-wait, and shrunk at once;
 * for objects locked without a ticket (maybe by the caller, who cannot
 * be told apart then) there is a short pause, a bounded number of times.
 */
static int wait_for_unlock(struct walk *walk, unsigned int *tries)
{
	const struct timespec pause = { .tv_nsec = 100 * 1000 };
	struct uttm_bo *bo = walk->blocker;
	long ret;

	if (!walk->contended || ++*tries > CONTENDED_TRIES)
		return -ENOMEM;
	if (uttm_operation_cancelled(walk->op))
		return -EINTR;
	if (!bo)
		return nanosleep(&pause, NULL) && walk->op->interruptible ?
		       -EINTR : 0;
	ret = uttm_bo_reserve(bo, walk->ticket, walk->op);
	if (ret)
		return (int)ret;
	ret = shrink_locked(bo, walk->op, walk->sc);
	uttm_bo_unlock(bo);
	return ret < 0 && !skip_error(ret) ? (int)ret : 0;
}

/* Pooled pages of every device, released to the system: no data, no I/O. */
unsigned long uttm_reclaim_trim_pools(struct uttm_context *ctx,
				      unsigned long nr_to_scan)
{
	unsigned long freed = 0;
	struct uttm_device *dev;

	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		if (freed >= nr_to_scan)
			break;
		freed += uttm_pool_shrink_scan(&dev->pool, nr_to_scan - freed);
	}
	pthread_mutex_unlock(&ctx->lock);
	return freed;
}

/* Whether any device has a purgeable object on an LRU. */
static bool has_purgeable(struct uttm_context *ctx)
{
	struct uttm_device *dev;
	bool any = false;

	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		pthread_mutex_lock(&dev->lru_lock);
		any = dev->purgeable_pages;
		pthread_mutex_unlock(&dev->lru_lock);
		if (any)
			break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return any;
}

/* Stores asked to write out at once; more wait for the next step. */
#define WRITEBACK_STORES 16

/*
 * Has the stores the budget counts write their own memory out, up to
 * @bytes in all.  They are taken with a reference under the charge lock
 * and asked without it: writing out may take a while.
 */
static uint64_t stores_writeback(struct uttm_context *ctx, uint64_t bytes)
{
	struct uttm_backup *stores[WRITEBACK_STORES];
	unsigned int n = 0;
	uint64_t freed = 0;

	pthread_mutex_lock(&ctx->charge_lock);
	for (unsigned int i = 0; i < ctx->nr_stores && n < WRITEBACK_STORES;
	     i++)
		if (uttm_backup_resident_bytes(ctx->stores[i].store))
			stores[n++] = uttm_backup_get(ctx->stores[i].store);
	pthread_mutex_unlock(&ctx->charge_lock);
	for (unsigned int i = 0; i < n; i++) {
		if (freed < bytes)
			freed += uttm_backup_writeback(stores[i], bytes - freed);
		uttm_backup_put(stores[i]);
	}
	return freed;
}

/*
 * DOC: Budget reclaim
 *
 * Memory over the budget is taken back cheapest first: pooled pages,
 * which hold no data; purgeable objects, whose content nobody needs;
 * objects backed up, least recently used first, written out at once when
 * their store would otherwise keep them in memory; then what the stores
 * keep in memory themselves, written out (to swap, to disk, to a lower
 * store).  A step helps only if the budget's sum goes down within a few
 * objects: backing an object up into a store that keeps its pages in
 * memory (a memfd without swap, a compressed pool of incompressible
 * pages) moves memory without freeing it, and the next step is tried.
 */
enum budget_step {
	STEP_POOLS,
	STEP_PURGE,
	STEP_BACK_UP,
	STEP_STORES,
	NR_BUDGET_STEPS,
};

/*
 * Returns what the step shrank or freed (pages, objects' pages, bytes),
 * walking the LRUs with @walk's operation context and ticket.
 */
static long budget_step(struct uttm_context *ctx, enum budget_step step,
			uint64_t excess, struct walk *walk)
{
	static const struct uttm_shrink_control purge = {
		.reason = UTTM_SHRINK_PURGE,
	};
	static const struct uttm_shrink_control watermark = {
		.reason = UTTM_SHRINK_WATERMARK,
	};

	switch (step) {
	case STEP_POOLS:
		return (long)uttm_reclaim_trim_pools(ctx,
				DIV_ROUND_UP(excess, UTTM_PAGE_SIZE));
	case STEP_PURGE:
		if (!has_purgeable(ctx))
			return 0;
		walk->sc = &purge;
		return swapout(ctx, walk, false);
	case STEP_BACK_UP:
		walk->sc = &watermark;
		return swapout(ctx, walk, false);
	default:
		return (long)stores_writeback(ctx, excess);
	}
}

/*
 * Times a step that shrank something is taken again before the next is
 * tried: one small object backed up into a compressed pool may take a
 * new pool page for a page freed, and the budget's sum moves with other
 * threads' charges too, so a step is judged over a few objects.
 */
#define STEP_TRIES 16

/*
 * Takes the cheapest step that brings the budget's sum down, towards
 * @excess bytes.  Returns the bytes it went down by, 0 when no step could
 * bring it down, or the error that stopped a walk.
 */
/*
 * The budget's sum less what the thread's populate holds in its bin:
 * room made for it, whether given back to the system or into the bin.
 */
static uint64_t sum_unrecycled(struct uttm_context *ctx)
{
	struct uttm_resident r;

	uttm_context_resident(ctx, &r);
	return r.total - ((uint64_t)bin_pages() << UTTM_PAGE_SHIFT);
}

static long reclaim_budget(struct uttm_context *ctx, uint64_t excess,
			   struct walk *walk)
{
	uint64_t before = sum_unrecycled(ctx), after;

	for (int step = 0; step < NR_BUDGET_STEPS; step++) {
		for (int tries = 0; tries < STEP_TRIES; tries++) {
			long ret = budget_step(ctx, (enum budget_step)step,
					       excess, walk);

			if (ret < 0)
				return ret;
			if (!ret)
				break;
			after = sum_unrecycled(ctx);
			if (after < before)
				return (long)(before - after);
		}
	}
	return 0;
}

uint64_t uttm_context_reclaim(struct uttm_context *ctx, uint64_t bytes)
{
	const struct uttm_operation_ctx op = { .no_wait_gpu = true };
	uint64_t freed = 0;
	long ret;

	if (UTTM_WARN_ON(!ctx))
		return 0;
	while (freed < bytes) {
		struct walk walk = { .op = &op };

		ret = reclaim_budget(ctx, bytes - freed, &walk);
		uttm_bo_put(walk.blocker);
		if (ret <= 0)
			break;
		freed += (uint64_t)ret;
	}
	return freed;
}

/* What a charge that finds nothing to reclaim under the pressure limit waits. */
#define PRESSURE_THROTTLE_MS 10

/*
 * Whether a charge that found nothing to reclaim may go past the pressure
 * limit, which throttles as memory.high does rather than fails: once,
 * after a pause, and only to fit the budget itself.
 */
static bool throttle_past_pressure(struct uttm_context *ctx, bool *past)
{
	const struct timespec pause = {
		.tv_nsec = PRESSURE_THROTTLE_MS * 1000 * 1000,
	};

	if (*past || !atomic_load(&ctx->pressure_limit))
		return false;
	nanosleep(&pause, NULL);
	*past = true;
	return true;
}

/* Gives what @room's bin holds beyond @keep pages back, uncharged. */
static void room_trim(struct uttm_device *dev, struct room *room,
		      unsigned long keep)
{
	uttm_context_account(dev, -(long)uttm_pool_recycle_trim(&room->bin,
								keep));
}

/*
 * Pages of @pages a charge must still take: those @room's bin does not
 * hold.  What the bin holds beyond @pages goes back first, so that it
 * does not stand in the charge's way.
 */
static long still_to_charge(struct uttm_device *dev, long pages,
			    struct room *room)
{
	if (!room)
		return pages;
	room_trim(dev, room, (unsigned long)pages);
	return pages - (long)room->bin.nr_pages;
}

/* A populate whose bin holds pages is in transit until it lands. */
static void room_taken(struct uttm_context *ctx, struct room *room)
{
	if (room && room->bin.nr_pages && !room->in_transit) {
		transit_begin(ctx);
		room->in_transit = true;
	}
}

/* Gives @room's pages back to the system, uncharged: room for others. */
static void room_give_back(struct uttm_device *dev, struct room *room)
{
	if (!room)
		return;
	room_trim(dev, room, 0);
	if (room->in_transit)
		transit_end(dev->ctx, true);
	room->in_transit = false;
}

/* Charges what @room (or none) does not hold of @pages. */
static enum uttm_limit charge_rest(struct uttm_device *dev, long pages,
				   long bytes, struct room *room,
				   bool past_pressure, uint64_t *excess)
{
	return uttm_context_charge(dev, still_to_charge(dev, pages, room),
				   bytes, past_pressure, excess);
}

/*
 * uttm_reclaim_charge(), for a populate making @room (or none): charges
 * what the bin does not hold of @pages, so that @pages are counted for
 * the caller, the bin's among them.
 */
static int charge_loop(struct uttm_device *dev, long pages, long bytes,
		       const struct uttm_operation_ctx *op,
		       struct uttm_acquire_ctx *ticket, struct room *room)
{
	const struct uttm_shrink_control sc = {
		.reason = UTTM_SHRINK_WATERMARK,
	};
	struct uttm_context *ctx = dev->ctx;
	bool past_pressure = false;
	unsigned int tries = 0;
	enum uttm_limit over;
	uint64_t excess = 0;
	long ret;

	while ((over = charge_rest(dev, pages, bytes, room, past_pressure,
				   &excess))) {
		struct walk walk = { .op = op, .sc = &sc, .ticket = ticket };
		unsigned long seq = transits_done(ctx);

		ret = over == UTTM_LIMIT_BUDGET ?
		      reclaim_budget(ctx, excess, &walk) :
		      swapout(ctx, &walk, over == UTTM_LIMIT_DMA32);
		room_taken(ctx, room);
		/*
		 * Nothing helped: fine if another thread just freed enough,
		 * worth another try once an object in transit lands or once
		 * objects locked by others may be free, after giving back
		 * what the bin holds, which may be what another thread lacks.
		 */
		if (!ret && !charge_rest(dev, pages, bytes, room,
					 past_pressure, &excess)) {
			uttm_bo_put(walk.blocker);
			break;
		}
		if (!ret)
			room_give_back(dev, room);
		if (!ret && !wait_for_transit(ctx, seq))
			ret = wait_for_unlock(&walk, &tries);
		uttm_bo_put(walk.blocker);
		/* Nothing to wait for: the pressure limit may give way. */
		if (ret == -ENOMEM && throttle_past_pressure(ctx, &past_pressure))
			ret = 0;
		if (ret < 0)
			return (int)ret;
	}
	return 0;
}

int uttm_reclaim_charge(struct uttm_device *dev, long pages, long bytes,
			const struct uttm_operation_ctx *op,
			struct uttm_acquire_ctx *ticket)
{
	return charge_loop(dev, pages, bytes, op, ticket, NULL);
}

/* Charges for @bo's populate, whose victims' pages go to @room. */
static int charge_populate(struct uttm_bo *bo, long pages, long bytes,
			   const struct uttm_operation_ctx *op,
			   struct room *room)
{
	struct room *outer = current_room;
	int ret;

	current_room = room;
	ret = charge_loop(bo->dev, pages, bytes, op, uttm_resv_holder(bo),
			  room);
	current_room = outer;
	return ret;
}

int uttm_reclaim_populate(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *op)
{
	struct uttm_device *dev = bo->dev;
	struct uttm_tt_footprint now, most, after;
	struct uttm_tt *tt = &bo->tt;
	bool restoring = uttm_tt_is_backed_up(tt);
	struct room room = { .in_transit = false };
	uint64_t start_ns;
	int ret;

	ret = uttm_context_use_store(dev->ctx, &bo->store, tt->backup);
	if (ret)
		return ret;
	/* A restore overwrites every page it takes: none need clearing. */
	uttm_pool_recycle_init(&room.bin, &dev->pool, restoring);
	/* Every moment of the populate fits: the most it holds is charged. */
	uttm_tt_footprint(tt, &now, &most);
	ret = charge_populate(bo, (long)(most.pages - now.pages),
			      (long)(most.metadata_bytes - now.metadata_bytes),
			      op, &room);
	if (ret) {
		room_give_back(dev, &room);
		return ret;
	}
	if (!room.in_transit)
		transit_begin(dev->ctx);
	start_ns = restoring ? uttm_now_ns() : 0;
	ret = __uttm_tt_populate(tt, op, &room.bin);
	uttm_pool_recycle_fini(&room.bin);
	/*
	 * What it holds now stays charged, also after a failed restore; the
	 * bin's pages were among those charged, and its leftovers are gone.
	 */
	uttm_tt_footprint(tt, &after, NULL);
	uttm_context_account(dev, (long)after.pages - (long)most.pages);
	uttm_context_account_metadata(dev->ctx,
				      (long)after.metadata_bytes -
				      (long)most.metadata_bytes);
	if (restoring && after.pages > now.pages) {
		atomic_fetch_add(&dev->ctx->pages_restored,
				 after.pages - now.pages);
		uttm_context_note_restore(dev->ctx, uttm_now_ns() - start_ns);
	}
	if (!ret)
		uttm_lru_update(bo, true);
	transit_end(dev->ctx, true);
	return ret;
}
