// SPDX-License-Identifier: MIT
/*
 * The context: devices, page limits and the accounting that enforces
 * them, and the round-robin choice of the device to shrink.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <time.h>

#include "device_internal.h"
#include "internal.h"

#define DEFAULT_DMA32_LIMIT (2ULL << 30)
/* Pauses of 100 us a watermark waits for locked objects: 10 ms in all. */
#define CONTENDED_TRIES 100

int uttm_parse_size(const char *text, uint64_t *bytes)
{
	static const char units[] = "KMGT";
	unsigned long long n;
	const char *unit;
	char *end;

	if (!text || !bytes || *text < '0' || *text > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(text, &end, 10);
	if (errno)
		return -EINVAL;
	if (*end) {
		unit = strchr(units, *end);
		if (!unit || (end[1] && strcmp(end + 1, "B") &&
			      strcmp(end + 1, "iB")))
			return -EINVAL;
		for (long shift = 0; shift <= unit - units; shift++) {
			if (n > (~0ULL >> 10))
				return -EINVAL;
			n <<= 10;
		}
	}
	*bytes = n;
	return 0;
}

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

void __uttm_account(struct uttm_device *dev, long pages)
{
	atomic_fetch_add(&dev->ctx->pages_allocated, pages);
	if (dev->dma32)
		atomic_fetch_add(&dev->ctx->dma32_pages_allocated, pages);
}

/*
 * Whether @pages more pages for @dev would take the context over a limit,
 * and whether it is the DMA32 one.  Only pages already held count: pages
 * other threads are about to populate are theirs to make room for, so the
 * limit can be overshot by what populates run at once, as in the kernel.
 */
static bool would_exceed(const struct uttm_device *dev, long pages,
			 bool *dma32)
{
	const struct uttm_context *ctx = dev->ctx;

	*dma32 = dev->dma32 &&
		 atomic_load(&ctx->dma32_pages_allocated) + pages >
		 (long)ctx->dma32_page_limit;
	return *dma32 || atomic_load(&ctx->pages_allocated) + pages >
			 (long)ctx->page_limit;
}

/*
 * Shrinks one object, choosing devices round-robin; over the DMA32 limit
 * only DMA32 devices can help, so only they are asked.
 */
static long swapout(struct uttm_context *ctx,
		    const struct uttm_operation_ctx *op,
		    const struct uttm_shrink_control *sc, bool dma32_only,
		    unsigned long *contended)
{
	struct uttm_device *dev;
	long ret = 0;

	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		if (dma32_only && !dev->dma32)
			continue;
		ret = __uttm_device_swapout(dev, op, sc, contended);
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
	unsigned long contended = 0;

	if (UTTM_WARN_ON(!ctx || !op || !sc))
		return -EINVAL;
	return swapout(ctx, op, sc, false, &contended);
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

static unsigned long transits_done(struct uttm_context *ctx)
{
	unsigned long seq;

	pthread_mutex_lock(&ctx->transit_lock);
	seq = ctx->transits_done;
	pthread_mutex_unlock(&ctx->transit_lock);
	return seq;
}

void __uttm_transit_begin(struct uttm_context *ctx)
{
	pthread_mutex_lock(&ctx->transit_lock);
	ctx->in_transit++;
	pthread_mutex_unlock(&ctx->transit_lock);
}

void __uttm_transit_end(struct uttm_context *ctx)
{
	pthread_mutex_lock(&ctx->transit_lock);
	ctx->in_transit--;
	ctx->transits_done++;
	pthread_cond_broadcast(&ctx->transit_done);
	pthread_mutex_unlock(&ctx->transit_lock);
}

/* Whether to try again after a walk that only found locked objects. */
static bool wait_for_unlock(unsigned long contended, unsigned int *tries)
{
	const struct timespec pause = { .tv_nsec = 100 * 1000 };

	if (!contended || ++*tries > CONTENDED_TRIES)
		return false;
	nanosleep(&pause, NULL);
	return true;
}

int __uttm_make_room(struct uttm_device *dev, long pages,
		     const struct uttm_operation_ctx *op)
{
	const struct uttm_shrink_control sc = {
		.reason = UTTM_SHRINK_WATERMARK,
	};
	unsigned int tries = 0;
	bool dma32;
	long ret;

	while (would_exceed(dev, pages, &dma32)) {
		unsigned long contended = 0, seq = transits_done(dev->ctx);

		ret = swapout(dev->ctx, op, &sc, dma32, &contended);
		if (ret < 0)
			return (int)ret;
		/*
		 * Nothing to shrink: fine if another thread just freed
		 * enough, worth another try once an object in transit lands
		 * or, a bounded number of times, once objects locked by
		 * others may be free: the caller may hold them itself.
		 */
		if (!ret && would_exceed(dev, pages, &dma32) &&
		    !wait_for_transit(dev->ctx, seq) &&
		    !wait_for_unlock(contended, &tries))
			return -ENOMEM;
	}
	__uttm_transit_begin(dev->ctx);
	return 0;
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
	unsigned int i = 0;
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
			i++, dev->dma32 ? " (DMA32)" : "",
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
