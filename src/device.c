// SPDX-License-Identifier: MIT
/*
 * Devices: their placements and LRUs, the walk that finds an object to
 * shrink, and the delayed destruction of objects still in use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h"
#include "internal.h"

static const struct uttm_device_funcs no_funcs;

static void manager_init(struct uttm_resource_manager *man, uint64_t size,
			 bool use_tt)
{
	man->defined = true;
	man->use_tt = use_tt;
	man->size = size;
	man->usage = 0;
	list_init(&man->lru);
}

int uttm_device_create(struct uttm_context *ctx,
		       const struct uttm_device_params *params,
		       struct uttm_device **out)
{
	struct uttm_arena_stats as;
	struct uttm_device *dev;
	int ret;

	if (!ctx || !params || !out || !params->pool.arena)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ret = uttm_pool_init(&dev->pool, &params->pool);
	if (ret)
		goto error_free;
	if (!uttm_pool_caching_supported(&dev->pool, params->caching)) {
		ret = -EINVAL;
		goto error_pool;
	}
	uttm_arena_stats(params->pool.arena, &as);
	dev->ctx = ctx;
	dev->dma32 = as.dma32;
	dev->caching = params->caching;
	dev->backup = params->backup ? uttm_backup_get(params->backup) : NULL;
	dev->funcs = params->funcs ? params->funcs : &no_funcs;
	dev->priv = params->priv;
	pthread_mutex_init(&dev->lru_lock, NULL);
	list_init(&dev->delayed);
	manager_init(&dev->man[UTTM_PL_SYSTEM], 0, true);
	manager_init(&dev->man[UTTM_PL_TT], 0, true);

	pthread_mutex_lock(&ctx->lock);
	list_add_tail(&dev->node, &ctx->devices);
	pthread_mutex_unlock(&ctx->lock);
	*out = dev;
	return 0;

error_pool:
	uttm_pool_fini(&dev->pool);
error_free:
	free(dev);
	return ret;
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

void uttm_device_destroy(struct uttm_device *dev)
{
	const struct uttm_operation_ctx patient = { .interruptible = false };
	struct uttm_bo *bo;
	bool leaked;

	if (!dev)
		return;
	pthread_mutex_lock(&dev->ctx->lock);
	list_del_init(&dev->node);
	pthread_mutex_unlock(&dev->ctx->lock);

	while ((bo = delayed_pop(dev))) {
		if (dev->funcs->wait_idle)
			dev->funcs->wait_idle(bo, &patient);
		__uttm_bo_free(bo);
	}
	pthread_mutex_lock(&dev->lru_lock);
	leaked = dev->objects;
	pthread_mutex_unlock(&dev->lru_lock);
	/* Objects still referenced use the pool: better leak than crash. */
	if (UTTM_WARN_ON(leaked))
		return;
	uttm_pool_fini(&dev->pool);
	uttm_backup_put(dev->backup);
	pthread_mutex_destroy(&dev->lru_lock);
	free(dev);
}

int uttm_device_add_manager(struct uttm_device *dev, unsigned int mem_type,
			    uint64_t size, bool use_tt)
{
	int ret = 0;

	if (UTTM_WARN_ON(!dev) || mem_type < UTTM_PL_PRIV ||
	    mem_type >= UTTM_NUM_MEM_TYPES)
		return -EINVAL;
	pthread_mutex_lock(&dev->lru_lock);
	if (dev->man[mem_type].defined)
		ret = -EINVAL;
	else
		manager_init(&dev->man[mem_type], size, use_tt);
	pthread_mutex_unlock(&dev->lru_lock);
	return ret;
}

static bool lru_linked(const struct uttm_bo *bo)
{
	return !list_empty(&bo->lru.link);
}

void __uttm_lru_add_tail(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	if (lru_linked(bo)) {
		list_move_tail(&bo->lru.link, &dev->man[bo->mem_type].lru);
		return;
	}
	list_add_tail(&bo->lru.link, &dev->man[bo->mem_type].lru);
	dev->shrinkable_pages += bo->tt.num_pages;
	bo->counted_purgeable = uttm_tt_purgeable(&bo->tt);
	if (bo->counted_purgeable)
		dev->purgeable_pages += bo->tt.num_pages;
}

void __uttm_lru_del(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	if (!lru_linked(bo))
		return;
	list_del_init(&bo->lru.link);
	dev->shrinkable_pages -= bo->tt.num_pages;
	if (bo->counted_purgeable)
		dev->purgeable_pages -= bo->tt.num_pages;
	bo->counted_purgeable = false;
}

void __uttm_lru_update(struct uttm_bo *bo, bool bump)
{
	bool belongs = bo->has_tt && uttm_tt_is_populated(&bo->tt) &&
		       !bo->pin_count;

	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!belongs) {
		__uttm_lru_del(bo);
	} else if (bump || !lru_linked(bo) ||
		   bo->counted_purgeable != uttm_tt_purgeable(&bo->tt)) {
		/* A changed purgeable flag is recounted; the place may move. */
		__uttm_lru_del(bo);
		__uttm_lru_add_tail(bo);
	}
	pthread_mutex_unlock(&bo->dev->lru_lock);
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

static bool bo_busy(struct uttm_bo *bo)
{
	return bo->dev->funcs->busy && bo->dev->funcs->busy(bo);
}

/* Shrinks a locked object for @sc, if it still qualifies. */
static long shrink_locked(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *op,
			  const struct uttm_shrink_control *sc)
{
	const struct uttm_device_funcs *funcs = bo->dev->funcs;
	struct uttm_backup_flags flags = { .writeback = sc->writeback };
	int ret;

	if (!uttm_bo_shrink_suitable(bo, op) ||
	    (sc->reason == UTTM_SHRINK_PURGE && !uttm_tt_purgeable(&bo->tt)))
		return -EBUSY;
	if (bo_busy(bo)) {
		ret = funcs->wait_idle ? funcs->wait_idle(bo, op) : -EBUSY;
		if (ret)
			return ret;
	}
	if (funcs->bo_shrink)
		return funcs->bo_shrink(bo, op, sc);
	flags.purge = uttm_tt_purgeable(&bo->tt);
	return uttm_bo_shrink(bo, &flags);
}

/* Errors that only make the walk pass an object by. */
static bool skip_error(long ret)
{
	return ret == -EBUSY || ret == -ENOSPC || ret == -ENOMEM;
}

/*
 * Walks one LRU, least recently used first.  The cursor sits after the
 * object being looked at, so when the lock is dropped to shrink it the
 * walk goes on from there, whatever happened to the list meanwhile.
 */
static long walk_lru(struct uttm_device *dev, struct uttm_resource_manager *man,
		     const struct uttm_operation_ctx *op,
		     const struct uttm_shrink_control *sc,
		     unsigned long *contended)
{
	struct uttm_lru_item cursor = { .cursor = true };
	long ret = 0;

	pthread_mutex_lock(&dev->lru_lock);
	list_add(&cursor.link, &man->lru);
	while (cursor.link.next != &man->lru) {
		struct uttm_lru_item *item = list_entry(cursor.link.next,
							struct uttm_lru_item,
							link);
		struct uttm_bo *bo;

		list_move(&cursor.link, &item->link);
		if (item->cursor)
			continue;
		bo = container_of(item, struct uttm_bo, lru);
		if ((sc->reason == UTTM_SHRINK_PURGE && !bo->counted_purgeable) ||
		    !bo_get_unless_zero(bo))
			continue;
		pthread_mutex_unlock(&dev->lru_lock);
		ret = -EBUSY;
		if (uttm_bo_trylock(bo)) {
			ret = shrink_locked(bo, op, sc);
			uttm_bo_unlock(bo);
		} else {
			(*contended)++;
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

/* Frees one delayed object that became idle; returns its pages. */
static long reap_delayed(struct uttm_device *dev)
{
	uint64_t tries;

	pthread_mutex_lock(&dev->lru_lock);
	tries = dev->delayed_count;
	pthread_mutex_unlock(&dev->lru_lock);
	while (tries--) {
		struct uttm_bo *bo = delayed_pop(dev);
		long pages;

		if (!bo)
			break;
		if (bo_busy(bo)) {
			pthread_mutex_lock(&dev->lru_lock);
			list_add_tail(&bo->lru.link, &dev->delayed);
			dev->delayed_count++;
			pthread_mutex_unlock(&dev->lru_lock);
			continue;
		}
		pages = bo->has_tt ? (long)bo->tt.resident_pages : 0;
		__uttm_bo_free(bo);
		if (pages)
			return pages;
	}
	return 0;
}

long __uttm_device_swapout(struct uttm_device *dev,
			   const struct uttm_operation_ctx *op,
			   const struct uttm_shrink_control *sc,
			   unsigned long *contended)
{
	long ret = reap_delayed(dev);

	for (unsigned int i = 0; i < UTTM_NUM_MEM_TYPES && !ret; i++) {
		struct uttm_resource_manager *man = &dev->man[i];

		if (man->defined && man->use_tt)
			ret = walk_lru(dev, man, op, sc, contended);
	}
	return ret;
}

long uttm_device_swapout(struct uttm_device *dev,
			 const struct uttm_operation_ctx *op,
			 const struct uttm_shrink_control *sc)
{
	unsigned long contended = 0;

	if (UTTM_WARN_ON(!dev || !op || !sc))
		return -EINVAL;
	return __uttm_device_swapout(dev, op, sc, &contended);
}

void uttm_device_stats(struct uttm_device *dev,
		       struct uttm_device_stats *stats)
{
	pthread_mutex_lock(&dev->lru_lock);
	stats->objects = dev->objects;
	stats->shrinkable_pages = dev->shrinkable_pages;
	stats->purgeable_pages = dev->purgeable_pages;
	stats->pinned = dev->pinned;
	stats->delayed = dev->delayed_count;
	pthread_mutex_unlock(&dev->lru_lock);
}

struct uttm_pool *uttm_device_pool(struct uttm_device *dev)
{
	return &dev->pool;
}

struct uttm_backup *uttm_device_backup(struct uttm_device *dev)
{
	return dev->backup;
}

void *uttm_device_priv(const struct uttm_device *dev)
{
	return dev->priv;
}
