// SPDX-License-Identifier: MIT
/*
 * Devices: their placements (resource managers), LRU membership and
 * statistics; the walks over the LRUs are in reclaim.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "internal.h"

static const struct uttm_device_funcs no_funcs;

static void manager_init(struct uttm_resource_manager *man, uint64_t size,
			 bool use_tt)
{
	man->defined = true;
	man->use_tt = use_tt;
	man->size = size;
	man->usage = 0;
	for (unsigned int p = 0; p < UTTM_NR_LRU_PRIORITIES; p++)
		list_init(&man->lru[p]);
}

int uttm_device_create(struct uttm_context *ctx,
		       const struct uttm_device_params *params,
		       struct uttm_device **out)
{
	struct uttm_arena_stats as;
	struct uttm_device *dev;
	int ret;

	if (!ctx || !params || !out || !params->pool.arena ||
	    !UTTM_RESERVED_CLEAR(params) ||
	    (params->funcs && !UTTM_RESERVED_CLEAR(params->funcs)))
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
	uttm_context_add_device(dev);
	*out = dev;
	return 0;

error_pool:
	uttm_pool_fini(&dev->pool);
error_free:
	free(dev);
	return ret;
}

void uttm_device_destroy(struct uttm_device *dev)
{
	bool leaked;

	if (!dev)
		return;
	uttm_context_del_device(dev);

	uttm_prefetch_drain(dev);
	uttm_reclaim_drain_delayed(dev);
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

/* The LRU @bo belongs on, by its counted purgeable flag. */
static struct list_head *bo_lru(struct uttm_bo *bo)
{
	return &bo->dev->man[bo->mem_type].lru[bo->counted_purgeable ?
					       UTTM_LRU_PURGEABLE :
					       UTTM_LRU_OTHERS];
}

void uttm_lru_add_tail(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	if (lru_linked(bo)) {
		list_move_tail(&bo->lru.link, bo_lru(bo));
		return;
	}
	bo->counted_purgeable = uttm_tt_purgeable(&bo->tt);
	list_add_tail(&bo->lru.link, bo_lru(bo));
	dev->shrinkable_pages += bo->tt.num_pages;
	if (bo->counted_purgeable)
		dev->purgeable_pages += bo->tt.num_pages;
}

void uttm_lru_del(struct uttm_bo *bo)
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

void uttm_lru_update(struct uttm_bo *bo, bool bump)
{
	bool belongs = bo->has_tt && uttm_tt_is_populated(&bo->tt) &&
		       !bo->pin_count;

	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!belongs) {
		uttm_lru_del(bo);
	} else if (bump || !lru_linked(bo) ||
		   bo->counted_purgeable != uttm_tt_purgeable(&bo->tt)) {
		/* A changed purgeable flag is recounted; the place may move. */
		uttm_lru_del(bo);
		uttm_lru_add_tail(bo);
	}
	pthread_mutex_unlock(&bo->dev->lru_lock);
}

void uttm_device_stats(struct uttm_device *dev,
		       struct uttm_device_stats *stats)
{
	memset(stats, 0, sizeof(*stats));
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
