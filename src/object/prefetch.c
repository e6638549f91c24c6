// SPDX-License-Identifier: MIT
/*
 * Prefetch: objects brought back ahead of need.  A caller that knows
 * which objects it will touch next (an inference server its next step's
 * KV cache) queues them, and the context's prefetch workers validate
 * them while the caller works on others, so that its own validate finds
 * them resident or waits only for what remains.
 */
#include <errno.h>

#include "base/base.h"
#include "internal.h"

/*
 * DOC: Prefetch
 *
 * Up to UTTM_PREFETCH_WORKERS threads per context take queued objects in
 * order, each its own, so that several objects' store reads, and the
 * backups that make room for them, are in flight together: one object
 * at a time left a lookahead of a few objects waiting in the queue
 * longer than the caller took to reach them.  A worker is started when
 * an object is queued and every running one is busy, so a caller that
 * prefetches one object at a time has one thread.
 *
 * Each object is trylocked, as the shrinker would: one its owner holds
 * is being validated by that owner already and is passed by.  It is
 * then populated as a validate would (charged first, others shrunk to
 * make room under the limits and the budget), but without reporting a
 * purge: content lost is the owner's news, told at the owner's next
 * validate.  Charges are serialised, so workers together never take the
 * context past a limit or its budget any more than one would.  The
 * populate is interruptible through its worker's cancel flag, so a
 * cancelled prefetch stops before its next read and leaves the restore
 * state behind; the owner's validate resumes exactly there.  A
 * prefetched object goes to the tail of its LRU like a validated one,
 * and is shrunk like any other if nobody comes for it.
 *
 * The queue holds a reference to each object.  An object whose only
 * reference is the queue's is dropped unprefetched; a device being
 * destroyed takes its objects off the queue and waits for those in
 * flight, so no prefetch outlives its device.
 */

static bool queued(const struct uttm_bo *bo)
{
	return !list_empty(&bo->prefetch_link);
}

/* Takes a queued @bo off the queue; called with the lock held. */
static void dequeue(struct uttm_prefetcher *pf, struct uttm_bo *bo)
{
	list_del_init(&bo->prefetch_link);
	pf->queued--;
}

/* Whether a worker brings @bo back now; called with the lock held. */
static bool in_flight(const struct uttm_prefetcher *pf,
		      const struct uttm_bo *bo)
{
	for (unsigned int i = 0; i < pf->started; i++)
		if (pf->workers[i].in_flight == bo)
			return true;
	return false;
}

/* Populates @bo for a prefetch, if it is there to be had. */
static void prefetch_one(struct uttm_prefetch_worker *w, struct uttm_bo *bo)
{
	const struct uttm_operation_ctx op = {
		.interruptible = true,
		.no_wait_gpu = true,
		.cancel = &w->cancel,
	};

	if (atomic_load(&bo->refcount) == 1 || !uttm_bo_trylock(bo))
		return;
	if (bo->has_tt && !uttm_tt_is_populated(&bo->tt) && !bo->pin_count &&
	    !uttm_reclaim_populate(bo, &op))
		atomic_fetch_add(&w->pf->done, 1);
	uttm_bo_unlock(bo);
}

static void *worker_main(void *arg)
{
	struct uttm_prefetch_worker *w = arg;
	struct uttm_prefetcher *pf = w->pf;

	pthread_mutex_lock(&pf->lock);
	while (!pf->stop) {
		struct uttm_bo *bo;

		if (list_empty(&pf->queue)) {
			pf->idle++;
			pthread_cond_wait(&pf->work, &pf->lock);
			pf->idle--;
			continue;
		}
		bo = list_entry(pf->queue.next, struct uttm_bo, prefetch_link);
		dequeue(pf, bo);
		w->in_flight = bo;
		w->in_flight_dev = bo->dev;
		uttm_cancel_clear(&w->cancel);
		pthread_mutex_unlock(&pf->lock);
		prefetch_one(w, bo);
		uttm_bo_put(bo);
		pthread_mutex_lock(&pf->lock);
		w->in_flight = NULL;
		w->in_flight_dev = NULL;
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
	for (unsigned int i = 0; i < UTTM_PREFETCH_WORKERS; i++)
		pf->workers[i].pf = pf;
}

void uttm_prefetch_fini(struct uttm_prefetcher *pf)
{
	pthread_mutex_lock(&pf->lock);
	UTTM_WARN_ON(!list_empty(&pf->queue));
	pf->stop = true;
	pthread_cond_broadcast(&pf->work);
	pthread_mutex_unlock(&pf->lock);
	/* A child of fork() has the count but not the threads. */
	if (pf->generation == uttm_fork_generation())
		for (unsigned int i = 0; i < pf->started; i++)
			pthread_join(pf->workers[i].thread, NULL);
	pthread_cond_destroy(&pf->landed);
	pthread_cond_destroy(&pf->work);
	pthread_mutex_destroy(&pf->lock);
}

/*
 * Makes sure a worker will take what is queued: an idle one is woken,
 * else one more is started while there are fewer than the most.  An
 * object queued while every worker is busy and no other can start waits
 * for the first to be free.  Called with the lock held; returns 0, or
 * the error of a start when no worker runs at all.
 */
static int worker_wake(struct uttm_prefetcher *pf)
{
	struct uttm_prefetch_worker *w;
	int ret;

	pthread_cond_signal(&pf->work);
	if (pf->queued <= pf->idle || pf->started == UTTM_PREFETCH_WORKERS)
		return 0;
	w = &pf->workers[pf->started];
	ret = -pthread_create(&w->thread, NULL, worker_main, w);
	if (ret)
		return pf->started ? 0 : ret;
	pf->started++;
	pf->generation = uttm_fork_generation();
	return 0;
}

int uttm_bo_prefetch(struct uttm_bo *bo)
{
	struct uttm_prefetcher *pf;
	int ret = 0;

	if (UTTM_WARN_ON(!bo))
		return -EINVAL;
	if (!bo->has_tt)
		return 0;
	pf = &bo->dev->ctx->prefetch;
	pthread_mutex_lock(&pf->lock);
	if (pf->started && pf->generation != uttm_fork_generation())
		ret = -ECHILD;
	else if (!queued(bo) && !in_flight(pf, bo)) {
		list_add_tail(&bo->prefetch_link, &pf->queue);
		pf->queued++;
		ret = worker_wake(pf);
		if (ret)
			dequeue(pf, bo);
		else
			uttm_bo_get(bo);
	}
	pthread_mutex_unlock(&pf->lock);
	return ret;
}

/*
 * The worker whose object in flight is @bo, or with a NULL @bo one of
 * @dev; called with the lock held.
 */
static struct uttm_prefetch_worker *
worker_of(struct uttm_prefetcher *pf, const struct uttm_bo *bo,
	  const struct uttm_device *dev)
{
	for (unsigned int i = 0; i < pf->started; i++) {
		struct uttm_prefetch_worker *w = &pf->workers[i];

		if (w->in_flight &&
		    (bo ? w->in_flight == bo : w->in_flight_dev == dev))
			return w;
	}
	return NULL;
}

/*
 * Stops the prefetches in flight of @bo, or with a NULL @bo those of
 * objects of @dev, and waits for them to land; called with the lock
 * held.  An object in flight may be freed by its worker's put
 * meanwhile, so only its pointer and its device as recorded are looked
 * at.
 */
static bool stop_in_flight(struct uttm_prefetcher *pf,
			   const struct uttm_bo *bo,
			   const struct uttm_device *dev)
{
	struct uttm_prefetch_worker *w;
	bool stopped = false;

	while ((w = worker_of(pf, bo, dev))) {
		uttm_cancel_request(&w->cancel);
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
		dequeue(pf, bo);
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
		if (list_entry(node, struct uttm_bo, prefetch_link)->dev == dev) {
			list_move_tail(node, &mine);
			pf->queued--;
		}
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
