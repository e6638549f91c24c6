// SPDX-License-Identifier: MIT
/*
 * The shrinker: count and scan over all devices of a context.
 */
#include "uttm/shrinker.h"
#include "base/base.h"
#include "object/internal.h"

/* The passes of a scan, cheapest first. */
static const struct shrink_pass {
	enum uttm_shrink_reason reason;
	bool no_wait;
	bool writeback;
} passes[] = {
	{ UTTM_SHRINK_PURGE, true, false },
	{ UTTM_SHRINK_SWAP, true, false },
	{ UTTM_SHRINK_SWAP, false, false },
	{ UTTM_SHRINK_SWAP, false, true },
};

unsigned long uttm_shrinker_count(struct uttm_context *ctx)
{
	unsigned long count = 0;
	struct uttm_device *dev;

	if (UTTM_WARN_ON(!ctx))
		return 0;
	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		struct uttm_device_stats ds;
		uint64_t others, room;

		uttm_device_stats(dev, &ds);
		others = ds.shrinkable_pages - ds.purgeable_pages;
		room = dev->backup ? uttm_backup_bytes_avail(dev->backup) >>
				     UTTM_PAGE_SHIFT : others;
		count += (unsigned long)(ds.purgeable_pages + MIN(others, room));
	}
	pthread_mutex_unlock(&ctx->lock);
	return count;
}

unsigned long uttm_shrinker_scan(struct uttm_context *ctx,
				 unsigned long nr_to_scan)
{
	unsigned long freed = 0;

	if (UTTM_WARN_ON(!ctx))
		return 0;
	for (size_t i = 0; i < ARRAY_SIZE(passes) && freed < nr_to_scan; i++) {
		const struct uttm_operation_ctx op = {
			.no_wait_gpu = passes[i].no_wait,
		};
		const struct uttm_shrink_control sc = {
			.reason = passes[i].reason,
			.writeback = passes[i].writeback,
		};
		long ret;

		do {
			ret = uttm_global_swapout(ctx, &op, &sc);
			if (ret > 0)
				freed += (unsigned long)ret;
		} while (ret > 0 && freed < nr_to_scan);
	}
	return freed;
}

unsigned long uttm_shrinker_trim_pools(struct uttm_context *ctx,
				       unsigned long nr_to_scan)
{
	if (UTTM_WARN_ON(!ctx))
		return 0;
	return uttm_reclaim_trim_pools(ctx, nr_to_scan);
}
