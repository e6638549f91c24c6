// SPDX-License-Identifier: MIT
/*
 * Buffer objects: creation and references, validation, CPU mapping,
 * pinning, the purgeable flag; their lock is reservation.c's, how they
 * are shrunk and destroyed while busy is reclaim.c's business.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "tt/internal.h"
#include "internal.h"

/* The most a page vector can index, and so the most any object may be. */
#define BO_MAX_SIZE ((uint64_t)UINT32_MAX << UTTM_PAGE_SHIFT)

static struct uttm_resource_manager *bo_manager(const struct uttm_bo *bo)
{
	return &bo->dev->man[bo->mem_type];
}

/* The vector flags of an object of @bo_flags. */
static uint32_t tt_flags(uint64_t bo_flags)
{
	return bo_flags & UTTM_BO_TRACK_DIRTY ? UTTM_TT_FLAG_TRACK_DIRTY : 0;
}

static int default_tt_create(struct uttm_bo *bo, struct uttm_tt *tt,
			     uint64_t bo_flags)
{
	struct uttm_device *dev = bo->dev;
	int ret = uttm_tt_init(tt, &dev->pool, bo->size, dev->caching,
			       tt_flags(bo_flags));

	if (!ret && dev->backup)
		ret = uttm_tt_set_backup(tt, dev->backup);
	return ret;
}

/*
 * Charges @bo's size to its placement and counts it, or gives both back.
 * An unlimited placement still cannot count past 64 bits.
 */
static int placement_charge(struct uttm_bo *bo, bool charge)
{
	struct uttm_resource_manager *man = bo_manager(bo);
	uint64_t limit = man->size ? man->size : UINT64_MAX;
	int ret = 0;

	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!charge) {
		man->usage -= bo->size;
		bo->dev->objects--;
	} else if (bo->size > limit - man->usage) {
		ret = -ENOSPC;
	} else {
		man->usage += bo->size;
		bo->dev->objects++;
	}
	pthread_mutex_unlock(&bo->dev->lru_lock);
	return ret;
}

/* Heap bytes of @bo's bookkeeping, its vector's included. */
static long bo_metadata(struct uttm_bo *bo)
{
	struct uttm_tt_footprint now = { .metadata_bytes = 0 };

	if (bo->has_tt)
		uttm_tt_footprint(&bo->tt, &now, NULL);
	return (long)(uttm_heap_bytes(bo) + now.metadata_bytes);
}

/*
 * What the bookkeeping of an object of @params will take, charged before
 * it is allocated: the object, and the entries (device addresses, kept
 * copies) of a default vector.
 */
static long bo_metadata_of(const struct uttm_device *dev,
			   const struct uttm_bo_params *params)
{
	size_t pages = DIV_ROUND_UP(params->size, UTTM_PAGE_SIZE);
	size_t bytes = uttm_heap_bytes_of(sizeof(struct uttm_bo));

	if (!dev->man[params->mem_type].use_tt)
		return (long)bytes;
	bytes += uttm_heap_bytes_of(uttm_tt_entries_size(pages,
						 tt_flags(params->flags)));
	if (dev->pool.use_dma_map)
		bytes += uttm_heap_bytes_of(pages * sizeof(uint64_t));
	return (long)bytes;
}

int uttm_bo_create(struct uttm_device *dev, const struct uttm_bo_params *params,
		   struct uttm_bo **out)
{
	const struct uttm_operation_ctx no_wait = { .no_wait_gpu = true };
	const struct uttm_device_funcs *funcs;
	struct uttm_bo *bo;
	long charged;
	int ret;

	if (!dev || !params || !out || !params->size ||
	    !UTTM_RESERVED_CLEAR(params) || params->size > BO_MAX_SIZE ||
	    (params->flags & ~UTTM_BO_FLAGS) ||
	    params->mem_type >= UTTM_NUM_MEM_TYPES ||
	    !dev->man[params->mem_type].defined)
		return -EINVAL;
	charged = bo_metadata_of(dev, params);
	ret = uttm_reclaim_charge(dev, 0, charged, &no_wait, NULL);
	if (ret)
		return ret;
	bo = calloc(1, sizeof(*bo));
	if (!bo) {
		ret = -ENOMEM;
		goto error_uncharge_metadata;
	}
	bo->dev = dev;
	atomic_init(&bo->refcount, 1);
	list_init(&bo->prefetch_link);
	uttm_resv_init(&bo->resv);
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
					 default_tt_create(bo, &bo->tt,
							   params->flags);
		if (ret)
			goto error_uncharge;
		bo->has_tt = true;
		uttm_tt_set_purgeable(&bo->tt, params->purgeable);
		ret = uttm_context_use_store(dev->ctx, &bo->store,
					     bo->tt.backup);
		if (ret)
			goto error_uncharge;
	}
	/* The driver's vector may differ from the default one. */
	uttm_context_account_metadata(dev->ctx, bo_metadata(bo) - charged);
	*out = bo;
	return 0;

error_uncharge:
	uttm_tt_fini(&bo->tt);
	placement_charge(bo, false);
error_free:
	uttm_resv_fini(&bo->resv);
	free(bo);
error_uncharge_metadata:
	uttm_context_account_metadata(dev->ctx, -charged);
	return ret;
}

void uttm_bo_free(struct uttm_bo *bo)
{
	struct uttm_device *dev = bo->dev;

	uttm_context_account_metadata(dev->ctx, -bo_metadata(bo));
	if (bo->has_tt) {
		long pages = (long)bo->tt.resident_pages;

		uttm_tt_fini(&bo->tt);
		uttm_context_account(dev, -pages);
		uttm_context_use_store(dev->ctx, &bo->store, NULL);
	}
	placement_charge(bo, false);
	if (dev->funcs->release)
		dev->funcs->release(bo);
	uttm_resv_fini(&bo->resv);
	free(bo);
}

struct uttm_bo *uttm_bo_get(struct uttm_bo *bo)
{
	atomic_fetch_add(&bo->refcount, 1);
	return bo;
}

void uttm_bo_put(struct uttm_bo *bo)
{
	if (bo && atomic_fetch_sub(&bo->refcount, 1) == 1)
		uttm_reclaim_release(bo);
}

int uttm_bo_validate(struct uttm_bo *bo, const struct uttm_operation_ctx *op)
{
	int ret;

	if (UTTM_WARN_ON(!bo || !op) || !UTTM_RESERVED_CLEAR(op))
		return -EINVAL;
	if (!bo->has_tt) {
		bo->validated = true;
		return 0;
	}
	if (uttm_tt_is_populated(&bo->tt)) {
		uttm_lru_update(bo, true);
	} else {
		ret = uttm_reclaim_populate(bo, op);
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

/* Whether @bo has what a validate gives it: populated pages, or its place. */
static bool bo_validated(const struct uttm_bo *bo)
{
	return bo->has_tt ? uttm_tt_is_populated(&bo->tt) : bo->validated;
}

int uttm_bo_pin(struct uttm_bo *bo)
{
	if (UTTM_WARN_ON(!bo) || !bo_validated(bo))
		return -EINVAL;
	pthread_mutex_lock(&bo->dev->lru_lock);
	if (!bo->pin_count++)
		bo->dev->pinned++;
	uttm_lru_del(bo);
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
	uttm_lru_update(bo, true);
}

int uttm_bo_mark_dirty(struct uttm_bo *bo, uint64_t offset, uint64_t size)
{
	unsigned long first, end;

	if (UTTM_WARN_ON(!bo) || offset > bo->size || size > bo->size - offset)
		return -EINVAL;
	if (!bo->has_tt || !size)
		return 0;
	first = (unsigned long)(offset >> UTTM_PAGE_SHIFT);
	end = (unsigned long)DIV_ROUND_UP(offset + size, UTTM_PAGE_SIZE);
	return uttm_tt_mark_dirty(&bo->tt, first, end - first);
}

void uttm_bo_set_purgeable(struct uttm_bo *bo, bool purgeable)
{
	if (UTTM_WARN_ON(!bo) || !bo->has_tt)
		return;
	uttm_tt_set_purgeable(&bo->tt, purgeable);
	uttm_lru_update(bo, false);
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
