// SPDX-License-Identifier: MIT
/*
 * Buffer objects: lifetime, locking, validation under the page limits,
 * pinning, the purgeable flag, and the shrink helper.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "device_internal.h"
#include "internal.h"

static struct uttm_resource_manager *bo_manager(const struct uttm_bo *bo)
{
	return &bo->dev->man[bo->mem_type];
}

static int default_tt_create(struct uttm_bo *bo, struct uttm_tt *tt)
{
	struct uttm_device *dev = bo->dev;
	int ret = uttm_tt_init(tt, &dev->pool, bo->size, dev->caching, 0);

	if (!ret && dev->backup)
		ret = uttm_tt_set_backup(tt, dev->backup);
	return ret;
}

/* Charges @bo's size to its placement and counts it, or gives both back. */
static int placement_charge(struct uttm_bo *bo, bool charge)
{
	struct uttm_resource_manager *man = bo_manager(bo);
	int ret = 0;

	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!charge) {
		man->usage -= bo->size;
		bo->dev->objects--;
	} else if (man->size && man->usage + bo->size > man->size) {
		ret = -ENOSPC;
	} else {
		man->usage += bo->size;
		bo->dev->objects++;
	}
	pthread_mutex_unlock(&bo->dev->lru_lock);
	return ret;
}

int uttm_bo_create(struct uttm_device *dev, const struct uttm_bo_params *params,
		   struct uttm_bo **out)
{
	const struct uttm_device_funcs *funcs;
	struct uttm_bo *bo;
	int ret;

	if (!dev || !params || !out || !params->size ||
	    params->size > UINT64_MAX - UTTM_PAGE_SIZE ||
	    params->mem_type >= UTTM_NUM_MEM_TYPES ||
	    !dev->man[params->mem_type].defined)
		return -EINVAL;
	bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	bo->dev = dev;
	atomic_init(&bo->refcount, 1);
	pthread_mutex_init(&bo->lock, NULL);
	bo->size = (params->size + UTTM_PAGE_SIZE - 1) & ~(UTTM_PAGE_SIZE - 1);
	bo->mem_type = params->mem_type;
	bo->priv = params->priv;
	list_init(&bo->lru.link);

	ret = placement_charge(bo, true);
	if (ret)
		goto error_free;
	if (bo_manager(bo)->use_tt) {
		funcs = dev->funcs;
		ret = funcs->tt_create ? funcs->tt_create(bo, &bo->tt) :
					 default_tt_create(bo, &bo->tt);
		if (ret)
			goto error_uncharge;
		bo->has_tt = true;
		uttm_tt_set_purgeable(&bo->tt, params->purgeable);
	}
	*out = bo;
	return 0;

error_uncharge:
	uttm_tt_fini(&bo->tt);
	placement_charge(bo, false);
error_free:
	pthread_mutex_destroy(&bo->lock);
	free(bo);
	return ret;
}

void __uttm_bo_free(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	if (bo->has_tt) {
		long pages = (long)bo->tt.resident_pages;

		uttm_tt_fini(&bo->tt);
		__uttm_account(dev, -pages);
	}
	placement_charge(bo, false);
	if (dev->funcs->release)
		dev->funcs->release(bo);
	pthread_mutex_destroy(&bo->lock);
	free(bo);
}

/* The last reference went: free now, or once the device is done with it. */
static void bo_release(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;
	struct uttm_context *ctx = dev->ctx;

	__uttm_transit_begin(ctx);
	pthread_mutex_lock(&dev->lru_lock);
	__uttm_lru_del(bo);
	pthread_mutex_unlock(&dev->lru_lock);
	if (dev->funcs->busy && dev->funcs->busy(bo)) {
		pthread_mutex_lock(&dev->lru_lock);
		list_add_tail(&bo->lru.link, &dev->delayed);
		dev->delayed_count++;
		pthread_mutex_unlock(&dev->lru_lock);
	} else {
		__uttm_bo_free(bo);
	}
	__uttm_transit_end(ctx);
}

struct uttm_bo *uttm_bo_get(struct uttm_bo *bo)
{
	atomic_fetch_add(&bo->refcount, 1);
	return bo;
}

void uttm_bo_put(struct uttm_bo *bo)
{
	if (bo && atomic_fetch_sub(&bo->refcount, 1) == 1)
		bo_release(bo);
}

void uttm_bo_lock(struct uttm_bo *bo)
{
	pthread_mutex_lock(&bo->lock);
}

bool uttm_bo_trylock(struct uttm_bo *bo)
{
	return !pthread_mutex_trylock(&bo->lock);
}

void uttm_bo_unlock(struct uttm_bo *bo)
{
	pthread_mutex_unlock(&bo->lock);
}

/*
 * Populates (restores) the vector within the page limits and puts the
 * object on its LRU, where the shrinker can find its pages again.
 */
static int bo_populate(struct uttm_bo *bo, const struct uttm_operation_ctx *op)
{
	struct uttm_tt *tt = &bo->tt;
	unsigned long before = tt->resident_pages;
	bool restoring = uttm_tt_is_backed_up(tt);
	long gained;
	int ret;

	ret = __uttm_make_room(bo->dev, (long)(tt->num_pages - before), op);
	if (ret)
		return ret;
	ret = uttm_tt_populate(tt, op);
	gained = (long)(tt->resident_pages - before);
	__uttm_account(bo->dev, gained);
	if (restoring && gained > 0)
		atomic_fetch_add(&bo->dev->ctx->pages_restored,
				 (unsigned long)gained);
	if (!ret)
		__uttm_lru_update(bo, true);
	__uttm_transit_end(bo->dev->ctx);
	return ret;
}

int uttm_bo_validate(struct uttm_bo *bo, const struct uttm_operation_ctx *op)
{
	int ret;

	if (UTTM_WARN_ON(!bo || !op))
		return -EINVAL;
	if (!bo->has_tt)
		return 0;
	if (uttm_tt_is_populated(&bo->tt)) {
		__uttm_lru_update(bo, true);
	} else {
		ret = bo_populate(bo, op);
		if (ret)
			return ret;
	}
	if (bo->content_lost) {
		bo->content_lost = false;
		return UTTM_BO_CONTENT_LOST;
	}
	return 0;
}

int uttm_bo_vmap(struct uttm_bo *bo, void **addr)
{
	if (UTTM_WARN_ON(!bo || !addr) || !bo->has_tt)
		return -EINVAL;
	return uttm_tt_vmap(&bo->tt, addr);
}

int uttm_bo_pin(struct uttm_bo *bo)
{
	if (UTTM_WARN_ON(!bo) ||
	    (bo->has_tt && !uttm_tt_is_populated(&bo->tt)))
		return -EINVAL;
	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!bo->pin_count++)
		bo->dev->pinned++;
	__uttm_lru_del(bo);
	pthread_mutex_unlock(&bo->dev->lru_lock);
	return 0;
}

void uttm_bo_unpin(struct uttm_bo *bo)
{
	if (UTTM_WARN_ON(!bo || !bo->pin_count))
		return;
	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!--bo->pin_count)
		bo->dev->pinned--;
	pthread_mutex_unlock(&bo->dev->lru_lock);
	__uttm_lru_update(bo, true);
}

void uttm_bo_set_purgeable(struct uttm_bo *bo, bool purgeable)
{
	if (UTTM_WARN_ON(!bo) || !bo->has_tt)
		return;
	uttm_tt_set_purgeable(&bo->tt, purgeable);
	__uttm_lru_update(bo, false);
}

bool uttm_bo_shrink_suitable(struct uttm_bo *bo,
			     const struct uttm_operation_ctx *op)
{
	const struct uttm_device_funcs *funcs = bo->dev->funcs;

	return bo->has_tt && uttm_tt_is_populated(&bo->tt) && !bo->pin_count &&
	       (!op->no_wait_gpu || !funcs->busy || !funcs->busy(bo));
}

long uttm_bo_shrink(struct uttm_bo *bo, const struct uttm_backup_flags *flags)
{
	const struct uttm_device_funcs *funcs;
	struct uttm_context *ctx;
	unsigned long before;
	long ret;

	if (UTTM_WARN_ON(!bo || !flags))
		return -EINVAL;
	if (!bo->has_tt || !uttm_tt_is_populated(&bo->tt) || bo->pin_count)
		return -EBUSY;
	funcs = bo->dev->funcs;
	ctx = bo->dev->ctx;
	if (funcs->move_notify)
		funcs->move_notify(bo);
	before = bo->tt.resident_pages;
	ret = uttm_tt_backup(&bo->tt, flags);
	__uttm_account(bo->dev, (long)bo->tt.resident_pages - (long)before);
	if (ret <= 0)
		return ret;
	if (flags->purge) {
		bo->content_lost = true;
		atomic_fetch_add(&ctx->pages_purged, (unsigned long)ret);
		if (funcs->purge_notify)
			funcs->purge_notify(bo);
	} else {
		atomic_fetch_add(&ctx->pages_backed_up, (unsigned long)ret);
	}
	__uttm_lru_update(bo, false);
	return ret;
}

uint64_t uttm_bo_size(const struct uttm_bo *bo)
{
	return bo->size;
}

struct uttm_tt *uttm_bo_tt(struct uttm_bo *bo)
{
	return bo->has_tt ? &bo->tt : NULL;
}

struct uttm_device *uttm_bo_device(const struct uttm_bo *bo)
{
	return bo->dev;
}

void *uttm_bo_priv(const struct uttm_bo *bo)
{
	return bo->priv;
}
