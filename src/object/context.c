// SPDX-License-Identifier: MIT
/*
 * The context: devices, page limits, the page accounting the limits are
 * checked against, statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "base/base.h"
#include "internal.h"

#define DEFAULT_DMA32_LIMIT (2ULL << 30)

int uttm_context_create(const struct uttm_context_params *params,
			struct uttm_context **out)
{
	uint64_t limit = params ? params->page_limit : 0;
	uint64_t dma32 = params ? params->dma32_page_limit : 0;
	struct uttm_context *ctx;
	struct sysinfo si;

	if (!out)
		return -EINVAL;
	if (!limit) {
		if (sysinfo(&si))
			return -errno;
		limit = (uint64_t)si.totalram * si.mem_unit / 2;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->transit_lock, NULL);
	pthread_cond_init(&ctx->transit_done, NULL);
	list_init(&ctx->devices);
	ctx->page_limit = limit >> UTTM_PAGE_SHIFT;
	ctx->dma32_page_limit = (dma32 ? dma32 : DEFAULT_DMA32_LIMIT) >>
				UTTM_PAGE_SHIFT;
	*out = ctx;
	return 0;
}

void uttm_context_destroy(struct uttm_context *ctx)
{
	if (!ctx)
		return;
	UTTM_WARN_ON(!list_empty(&ctx->devices));
	pthread_cond_destroy(&ctx->transit_done);
	pthread_mutex_destroy(&ctx->transit_lock);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

void uttm_context_account(struct uttm_device *dev, long pages)
{
	atomic_fetch_add(&dev->ctx->pages_allocated, pages);
	if (dev->dma32)
		atomic_fetch_add(&dev->ctx->dma32_pages_allocated, pages);
}

void uttm_context_stats(struct uttm_context *ctx,
			struct uttm_context_stats *stats)
{
	struct uttm_device *dev;

	memset(stats, 0, sizeof(*stats));
	stats->pages_allocated = (uint64_t)atomic_load(&ctx->pages_allocated);
	stats->dma32_pages_allocated =
		(uint64_t)atomic_load(&ctx->dma32_pages_allocated);
	stats->page_limit = ctx->page_limit;
	stats->dma32_page_limit = ctx->dma32_page_limit;
	stats->pages_purged = atomic_load(&ctx->pages_purged);
	stats->pages_backed_up = atomic_load(&ctx->pages_backed_up);
	stats->pages_restored = atomic_load(&ctx->pages_restored);
	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		struct uttm_device_stats ds;

		uttm_device_stats(dev, &ds);
		stats->objects += ds.objects;
		stats->pool_pages += uttm_pool_shrink_count(&dev->pool);
	}
	pthread_mutex_unlock(&ctx->lock);
}

int uttm_context_dump(struct uttm_context *ctx, FILE *out)
{
	struct uttm_context_stats stats;
	struct uttm_device *dev;
	int ret = 0;

	if (!ctx || !out)
		return -EINVAL;
	uttm_context_stats(ctx, &stats);
	fprintf(out,
		"pages allocated : %llu of %llu (DMA32 %llu of %llu)\n"
		"pooled pages    : %llu\n"
		"objects         : %llu\n"
		"purged          : %llu pages\n"
		"backed up       : %llu pages\n"
		"restored        : %llu pages\n",
		(unsigned long long)stats.pages_allocated,
		(unsigned long long)stats.page_limit,
		(unsigned long long)stats.dma32_pages_allocated,
		(unsigned long long)stats.dma32_page_limit,
		(unsigned long long)stats.pool_pages,
		(unsigned long long)stats.objects,
		(unsigned long long)stats.pages_purged,
		(unsigned long long)stats.pages_backed_up,
		(unsigned long long)stats.pages_restored);
	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		struct uttm_device_stats ds;

		uttm_device_stats(dev, &ds);
		fprintf(out,
			"\ndevice %u%s: %llu objects, %llu shrinkable pages "
			"(%llu purgeable), %llu pinned, %llu delayed, "
			"store handles %lu\n",
			dev->id, dev->dma32 ? " (DMA32)" : "",
			(unsigned long long)ds.objects,
			(unsigned long long)ds.shrinkable_pages,
			(unsigned long long)ds.purgeable_pages,
			(unsigned long long)ds.pinned,
			(unsigned long long)ds.delayed,
			dev->backup ? uttm_backup_handles(dev->backup) : 0UL);
		if (!ret)
			ret = uttm_pool_dump(&dev->pool, out);
	}
	pthread_mutex_unlock(&ctx->lock);
	return ret ? ret : (ferror(out) ? -EIO : 0);
}
