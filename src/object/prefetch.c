// SPDX-License-Identifier: MIT
/*
 * Prefetch: objects brought back ahead of need.  A caller that knows
 * which objects it will touch next (an inference server its next step's
 * KV cache) queues them, and the context's prefetch thread validates
 * them while the caller works on others, so that its own validate finds
 * them resident or waits only for what remains.
 */
#include <errno.h>

#include "base/base.h"
#include "internal.h"

/*
 * DOC: Prefetch
 *
 * One thread per context, started by the first prefetch, takes queued
 * objects in order.  Each is trylocked, as the shrinker would: one its
 * owner holds is being validated by that owner already and is passed by.
 * It is then populated as a validate would (charged first, others shrunk
 * to make room under the limits and the budget), but without reporting
 * a purge: content lost is the owner's news, told at the owner's next
 * validate.  The populate is interruptible through the thread's cancel
 * flag, so a cancelled prefetch stops before its next read and leaves
 * the restore state behind; the owner's validate resumes exactly there.
 * A prefetched object goes to the tail of its LRU like a validated one,
 * and is shrunk like any other if nobody comes for it.
 *
 * The queue holds a reference to each object.  An object whose only
 * reference is the queue's is dropped unprefetched; a device being
 * destroyed takes its objects off the queue and waits for the one in
 * flight, so no prefetch outlives its device.
 */

static bool queued(const struct uttm_bo *bo)
{
	return !list_empty(&bo->prefetch_link);
}

/* Populates @bo for a prefetch, if it is there to be had. */
static void prefetch_one(struct uttm_prefetcher *pf, struct uttm_bo *bo)
{
	const struct uttm_operation_ctx op = {
		.interruptible = true,
		.no_wait_gpu = true,
		.cancel = &pf->cancel,
	};

	if (atomic_load(&bo->refcount) == 1 || !uttm_bo_trylock(bo))
		return;
	if (bo->has_tt && !uttm_tt_is_populated(&bo->tt) && !bo->pin_count &&
	    !uttm_reclaim_populate(bo, &op))
		atomic_fetch_add(&pf->done, 1);
	uttm_bo_unlock(bo);
}

static void *prefetch_main(void *arg)
{
	struct uttm_prefetcher *pf = arg;

	pthread_mutex_lock(&pf->lock);
	while (!pf->stop) {
		struct uttm_bo *bo;

		if (list_empty(&pf->queue)) {
			pthread_cond_wait(&pf->work, &pf->lock);
			continue;
		}
		bo = list_entry(pf->queue.next, struct uttm_bo, prefetch_link);
		list_del_init(&bo->prefetch_link);
		pf->in_flight = bo;
		pf->in_flight_dev = bo->dev;
		uttm_cancel_clear(&pf->cancel);
		pthread_mutex_unlock(&pf->lock);
		prefetch_one(pf, bo);
		uttm_bo_put(bo);
		pthread_mutex_lock(&pf->lock);
		pf->in_flight = NULL;
		pf->in_flight_dev = NULL;
		pthread_cond_broadcast(&pf->landed);
	}
	pthread_mutex_unlock(&pf->lock);
	return NULL;
}

void uttm_prefetch_init(struct uttm_prefetcher *pf)
{
	pthread_mutex_init(&pf->lock, NULL);
	pthread_cond_init(&pf->work, NULL);
	pthread_cond_init(&pf->landed, NULL);
	list_init(&pf->queue);
}

void uttm_prefetch_fini(struct uttm_prefetcher *pf)
{
	pthread_mutex_lock(&pf->lock);
	UTTM_WARN_ON(!list_empty(&pf->queue));
	pf->stop = true;
	pthread_cond_signal(&pf->work);
	pthread_mutex_unlock(&pf->lock);
	/* A child of fork() has the flag but not the thread. */
	if (pf->started && pf->generation == uttm_fork_generation())
		pthread_join(pf->thread, NULL);
	pthread_cond_destroy(&pf->landed);
	pthread_cond_destroy(&pf->work);
	pthread_mutex_destroy(&pf->lock);
}

/* Starts the thread unless it runs; called with the lock held. */
static int prefetch_start(struct uttm_prefetcher *pf)
{
	int ret;

	if (pf->started)
		return pf->generation == uttm_fork_generation() ? 0 : -ECHILD;
	ret = -pthread_create(&pf->thread, NULL, prefetch_main, pf);
	if (ret)
		return ret;
	pf->started = true;
	pf->generation = uttm_fork_generation();
	return 0;
}

int uttm_bo_prefetch(struct uttm_bo *bo)
{
	struct uttm_prefetcher *pf;
	int ret;

	if (UTTM_WARN_ON(!bo))
		return -EINVAL;
	if (!bo->has_tt)
		return 0;
	pf = &bo->dev->ctx->prefetch;
	pthread_mutex_lock(&pf->lock);
	ret = prefetch_start(pf);
	if (!ret && !queued(bo) && pf->in_flight != bo) {
		list_add_tail(&bo->prefetch_link, &pf->queue);
		uttm_bo_get(bo);
		pthread_cond_signal(&pf->work);
	}
	pthread_mutex_unlock(&pf->lock);
	return ret;
}

/*
 * Stops the prefetch in flight if it is of @bo, or with a NULL @bo of
 * an object of @dev, and waits for it to land; called with the lock
 * held.  The object in flight may be freed by the prefetch thread's put
 * meanwhile, so only its pointer and its device as recorded are looked
 * at.
 */
static bool stop_in_flight(struct uttm_prefetcher *pf,
			   const struct uttm_bo *bo,
			   const struct uttm_device *dev)
{
	bool stopped = false;

	while (pf->in_flight &&
	       (bo ? pf->in_flight == bo : pf->in_flight_dev == dev)) {
		uttm_cancel_request(&pf->cancel);
		pthread_cond_wait(&pf->landed, &pf->lock);
		stopped = true;
	}
	return stopped;
}

int uttm_bo_prefetch_cancel(struct uttm_bo *bo)
{
	struct uttm_prefetcher *pf;
	bool was_queued, stopped;

	if (UTTM_WARN_ON(!bo))
		return -EINVAL;
	pf = &bo->dev->ctx->prefetch;
	pthread_mutex_lock(&pf->lock);
	was_queued = queued(bo);
	if (was_queued)
		list_del_init(&bo->prefetch_link);
	stopped = stop_in_flight(pf, bo, NULL);
	pthread_mutex_unlock(&pf->lock);
	if (was_queued)
		uttm_bo_put(bo);
	return was_queued || stopped ? 0 : -ENOENT;
}

void uttm_prefetch_drain(struct uttm_device *dev)
{
	struct uttm_prefetcher *pf = &dev->ctx->prefetch;
	struct list_head mine, *node, *next;

	list_init(&mine);
	pthread_mutex_lock(&pf->lock);
	for (node = pf->queue.next; node != &pf->queue; node = next) {
		next = node->next;
		if (list_entry(node, struct uttm_bo, prefetch_link)->dev == dev)
			list_move_tail(node, &mine);
	}
	stop_in_flight(pf, NULL, dev);
	pthread_mutex_unlock(&pf->lock);
	while (!list_empty(&mine)) {
		struct uttm_bo *bo = list_entry(mine.next, struct uttm_bo,
						prefetch_link);

		list_del_init(&bo->prefetch_link);
		uttm_bo_put(bo);
	}
}
