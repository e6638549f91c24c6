// SPDX-License-Identifier: MIT
/*
 * The context: devices, page limits, the budget, the accounting they are
 * checked against, statistics.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "base/base.h"
#include "internal.h"

#define DEFAULT_DMA32_LIMIT (2ULL << 30)
/* Room for this many distinct stores before the registry grows. */
#define STORES_FIRST 4

/*
 * DOC: Budget
 *
 * The page limits are TTM's: pages held by page vectors.  The budget is
 * what a user means by "memory": every byte uttm causes the system to
 * hold for the context.  Its sum is
 *
 *	pages of vectors (and pages charged to populates under way)
 *	+ pooled pages of the context's devices
 *	+ the page descriptors of their arenas, as far as they have grown
 *	+ what the stores its objects back up into keep in memory
 *	  (struct uttm_backup_ops::resident_bytes)
 *	+ the heap bytes of the bookkeeping of its objects and vectors
 *
 * Growth is charged before it happens, all charges serialised under
 * @charge_lock, so that two populates can never both take the last room:
 * the budget holds at every moment, not only once populates settle.
 * Memory only moves between the terms otherwise (a backup moves pages
 * into a store, a freed vector's pages into a pool) and is counted twice
 * for the moment it moves, never not at all.  A store shared with
 * another context is counted in each.
 */

int uttm_memory_limit(struct uttm_memory_limit *limit)
{
	struct uttm_cgroup_levels levels;
	uint64_t headroom;
	struct sysinfo si;

	if (UTTM_WARN_ON(!limit))
		return -EINVAL;
	if (sysinfo(&si))
		return -errno;
	memset(limit, 0, sizeof(*limit));
	limit->ram_bytes = (uint64_t)si.totalram * si.mem_unit;
	limit->cgroup_bytes = UINT64_MAX;
	if (!uttm_sysmem_cgroup_levels(&levels))
		uttm_sysmem_cgroup_room(&levels, &limit->cgroup_bytes,
					&headroom);
	limit->bytes = MIN(limit->ram_bytes, limit->cgroup_bytes);
	return 0;
}

/* Whether the machine, and the cgroups the process is in, can hold @bytes. */
static int budget_fits(uint64_t bytes)
{
	struct uttm_memory_limit limit;
	int ret = uttm_memory_limit(&limit);

	if (ret)
		return ret;
	return bytes > limit.bytes ? -E2BIG : 0;
}

int uttm_context_create(const struct uttm_context_params *params,
			struct uttm_context **out)
{
	uint64_t limit = params ? params->page_limit : 0;
	uint64_t dma32 = params ? params->dma32_page_limit : 0;
	uint64_t budget = params ? params->budget : 0;
	struct uttm_context *ctx;
	struct sysinfo si;
	int ret;

	if (!out || (params && !UTTM_RESERVED_CLEAR(params)))
		return -EINVAL;
	if (budget) {
		ret = budget_fits(budget);
		if (ret)
			return ret;
	}
	if (!limit) {
		if (sysinfo(&si))
			return -errno;
		limit = (uint64_t)si.totalram * si.mem_unit / 2;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->charge_lock, NULL);
	pthread_mutex_init(&ctx->transit_lock, NULL);
	pthread_cond_init(&ctx->transit_done, NULL);
	list_init(&ctx->devices);
	list_init(&ctx->charged_devices);
	uttm_prefetch_init(&ctx->prefetch);
	uttm_background_init(&ctx->background);
	ctx->page_limit = limit >> UTTM_PAGE_SHIFT;
	ctx->dma32_page_limit = (dma32 ? dma32 : DEFAULT_DMA32_LIMIT) >>
				UTTM_PAGE_SHIFT;
	atomic_init(&ctx->budget, budget);
	*out = ctx;
	return 0;
}

void uttm_context_destroy(struct uttm_context *ctx)
{
	if (!ctx)
		return;
	UTTM_WARN_ON(!list_empty(&ctx->devices));
	UTTM_WARN_ON(ctx->nr_stores);
	uttm_background_fini(&ctx->background);
	uttm_prefetch_fini(&ctx->prefetch);
	free(ctx->stores);
	pthread_cond_destroy(&ctx->transit_done);
	pthread_mutex_destroy(&ctx->transit_lock);
	pthread_mutex_destroy(&ctx->charge_lock);
	pthread_mutex_destroy(&ctx->lock);
	free(ctx);
}

void uttm_context_add_device(struct uttm_device *dev)
{
	struct uttm_context *ctx = dev->ctx;

	pthread_mutex_lock(&ctx->lock);
	dev->id = ctx->next_device_id++;
	list_add_tail(&dev->node, &ctx->devices);
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_lock(&ctx->charge_lock);
	list_add_tail(&dev->charge_node, &ctx->charged_devices);
	pthread_mutex_unlock(&ctx->charge_lock);
}

void uttm_context_del_device(struct uttm_device *dev)
{
	struct uttm_context *ctx = dev->ctx;

	pthread_mutex_lock(&ctx->lock);
	list_del_init(&dev->node);
	pthread_mutex_unlock(&ctx->lock);
	pthread_mutex_lock(&ctx->charge_lock);
	list_del_init(&dev->charge_node);
	pthread_mutex_unlock(&ctx->charge_lock);
}

/* The slot of @store in the registry, or NULL. */
static struct uttm_store_use *store_use(struct uttm_context *ctx,
					const struct uttm_backup *store)
{
	for (unsigned int i = 0; i < ctx->nr_stores; i++)
		if (ctx->stores[i].store == store)
			return &ctx->stores[i];
	return NULL;
}

/* Adds a user of @store to the registry; called with @charge_lock held. */
static int store_get(struct uttm_context *ctx, struct uttm_backup *store)
{
	struct uttm_store_use *use = store_use(ctx, store);

	if (use) {
		use->users++;
		return 0;
	}
	if (ctx->nr_stores == ctx->max_stores) {
		unsigned int max = ctx->max_stores ? 2 * ctx->max_stores :
						     STORES_FIRST;
		void *grown = realloc(ctx->stores, max * sizeof(*ctx->stores));

		if (!grown)
			return -ENOMEM;
		ctx->stores = grown;
		ctx->max_stores = max;
	}
	ctx->stores[ctx->nr_stores++] = (struct uttm_store_use){ store, 1 };
	return 0;
}

static void store_put(struct uttm_context *ctx, struct uttm_backup *store)
{
	struct uttm_store_use *use = store_use(ctx, store);

	if (UTTM_WARN_ON(!use) || --use->users)
		return;
	*use = ctx->stores[--ctx->nr_stores];
}

int uttm_context_use_store(struct uttm_context *ctx, struct uttm_backup **used,
			   struct uttm_backup *store)
{
	int ret = 0;

	if (*used == store)
		return 0;
	pthread_mutex_lock(&ctx->charge_lock);
	if (store)
		ret = store_get(ctx, store);
	if (!ret && *used)
		store_put(ctx, *used);
	if (!ret)
		*used = store;
	pthread_mutex_unlock(&ctx->charge_lock);
	return ret;
}

/*
 * The budget in force: the lower of the budget and, unless @past_pressure,
 * the pressure limit.
 */
static uint64_t effective_budget(const struct uttm_context *ctx,
				 bool past_pressure)
{
	uint64_t budget = atomic_load(&ctx->budget);
	uint64_t pressure = past_pressure ? 0 :
			    atomic_load(&ctx->pressure_limit);

	if (!budget || (pressure && pressure < budget))
		return pressure;
	return budget;
}

/*
 * The budget's sum, in parts; called with @charge_lock held.  Stores
 * report their memory without sleeping or taking uttm locks.
 */
static void resident(struct uttm_context *ctx, struct uttm_resident *r)
{
	struct uttm_device *dev;

	memset(r, 0, sizeof(*r));
	r->vector_bytes = (uint64_t)atomic_load(&ctx->pages_allocated) <<
			  UTTM_PAGE_SHIFT;
	r->metadata_bytes = (uint64_t)atomic_load(&ctx->metadata_bytes);
	list_for_each_entry(dev, &ctx->charged_devices, charge_node) {
		struct uttm_arena_stats as;

		uttm_arena_stats(dev->pool.arena, &as);
		r->pool_bytes += (uint64_t)uttm_pool_shrink_count(&dev->pool) <<
				 UTTM_PAGE_SHIFT;
		r->metadata_bytes += as.memmap_bytes;
	}
	for (unsigned int i = 0; i < ctx->nr_stores; i++)
		r->store_bytes += uttm_backup_resident_bytes(ctx->stores[i].store);
	r->total = r->vector_bytes + r->pool_bytes + r->store_bytes +
		   r->metadata_bytes;
}

void uttm_context_resident(struct uttm_context *ctx, struct uttm_resident *r)
{
	pthread_mutex_lock(&ctx->charge_lock);
	resident(ctx, r);
	pthread_mutex_unlock(&ctx->charge_lock);
}

static void note_peak(struct uttm_context *ctx, uint64_t bytes)
{
	uint64_t peak = atomic_load(&ctx->peak_resident);

	while (bytes > peak &&
	       !atomic_compare_exchange_weak(&ctx->peak_resident, &peak,
					     bytes))
		;
}

/* Which limit @pages more pages for @dev would go past, if any. */
static enum uttm_limit page_limit_in_the_way(const struct uttm_device *dev,
					     long pages)
{
	const struct uttm_context *ctx = dev->ctx;

	if (dev->dma32 && atomic_load(&ctx->dma32_pages_allocated) + pages >
			  (long)ctx->dma32_page_limit)
		return UTTM_LIMIT_DMA32;
	if (atomic_load(&ctx->pages_allocated) + pages > (long)ctx->page_limit)
		return UTTM_LIMIT_PAGES;
	return UTTM_LIMIT_NONE;
}

/*
 * Headroom after a charge: under the page limit, and under @budget (if
 * set) which the sum is now @need of.
 */
static uint64_t room_left(const struct uttm_context *ctx, uint64_t budget,
			  uint64_t need)
{
	long pages = (long)ctx->page_limit - atomic_load(&ctx->pages_allocated);
	uint64_t room = pages > 0 ? (uint64_t)pages << UTTM_PAGE_SHIFT : 0;

	return budget ? MIN(room, budget - need) : room;
}

enum uttm_limit uttm_context_charge(struct uttm_device *dev, long pages,
				    long bytes, bool past_pressure,
				    uint64_t *excess)
{
	struct uttm_context *ctx = dev->ctx;
	enum uttm_limit over;
	uint64_t budget, need = 0, room = 0;
	struct uttm_resident r;

	pthread_mutex_lock(&ctx->charge_lock);
	over = page_limit_in_the_way(dev, pages);
	budget = effective_budget(ctx, past_pressure);
	if (!over && budget) {
		resident(ctx, &r);
		need = r.total + ((uint64_t)pages << UTTM_PAGE_SHIFT) +
		       (uint64_t)bytes;
		if (need > budget) {
			over = UTTM_LIMIT_BUDGET;
			*excess = need - budget;
		} else {
			note_peak(ctx, need);
		}
	}
	if (!over) {
		uttm_context_account(dev, pages);
		atomic_fetch_add(&ctx->metadata_bytes, bytes);
		room = room_left(ctx, budget, need);
	}
	pthread_mutex_unlock(&ctx->charge_lock);
	if (!over)
		uttm_background_charged(ctx, room);
	return over;
}

void uttm_context_account(struct uttm_device *dev, long pages)
{
	atomic_fetch_add(&dev->ctx->pages_allocated, pages);
	if (dev->dma32)
		atomic_fetch_add(&dev->ctx->dma32_pages_allocated, pages);
}

void uttm_context_account_metadata(struct uttm_context *ctx, long bytes)
{
	atomic_fetch_add(&ctx->metadata_bytes, bytes);
}

void uttm_context_note_restore(struct uttm_context *ctx, uint64_t ns)
{
	unsigned int bucket = 0;

	while (bucket < UTTM_RESTORE_BUCKETS - 1 &&
	       ns > UTTM_RESTORE_BUCKET0_NS << bucket)
		bucket++;
	atomic_fetch_add(&ctx->restore_latency[bucket], 1);
	atomic_fetch_add(&ctx->restore_ns, ns);
}

/* How far the sum is over the budget (the pressure limit aside), or 0. */
static uint64_t budget_excess(struct uttm_context *ctx)
{
	uint64_t budget = atomic_load(&ctx->budget);
	struct uttm_resident r;

	if (!budget)
		return 0;
	uttm_context_resident(ctx, &r);
	return r.total > budget ? r.total - budget : 0;
}

int uttm_context_set_budget(struct uttm_context *ctx, uint64_t bytes)
{
	int ret;

	if (UTTM_WARN_ON(!ctx))
		return -EINVAL;
	ret = bytes ? budget_fits(bytes) : 0;
	if (ret)
		return ret;
	atomic_store(&ctx->budget, bytes);
	uttm_context_reclaim(ctx, budget_excess(ctx));
	return 0;
}

void uttm_context_set_pressure_limit(struct uttm_context *ctx, uint64_t bytes)
{
	if (!UTTM_WARN_ON(!ctx))
		atomic_store(&ctx->pressure_limit, bytes);
}

void uttm_context_stats(struct uttm_context *ctx,
			struct uttm_context_stats *stats)
{
	struct uttm_device *dev;
	struct uttm_resident r;

	memset(stats, 0, sizeof(*stats));
	uttm_context_resident(ctx, &r);
	stats->pages_allocated = (uint64_t)atomic_load(&ctx->pages_allocated);
	stats->dma32_pages_allocated =
		(uint64_t)atomic_load(&ctx->dma32_pages_allocated);
	stats->page_limit = ctx->page_limit;
	stats->dma32_page_limit = ctx->dma32_page_limit;
	stats->pool_pages = r.pool_bytes >> UTTM_PAGE_SHIFT;
	stats->pages_purged = atomic_load(&ctx->pages_purged);
	stats->pages_backed_up = atomic_load(&ctx->pages_backed_up);
	stats->pages_backed_up_clean = atomic_load(&ctx->pages_backed_up_clean);
	stats->pages_restored = atomic_load(&ctx->pages_restored);
	for (unsigned int i = 0; i < UTTM_NR_SHRINK_REASONS; i++)
		stats->pages_reclaimed[i] =
			atomic_load(&ctx->pages_reclaimed[i]);
	for (unsigned int i = 0; i < UTTM_RESTORE_BUCKETS; i++) {
		stats->restore_latency[i] =
			atomic_load(&ctx->restore_latency[i]);
		stats->restores += stats->restore_latency[i];
	}
	stats->restore_ns = atomic_load(&ctx->restore_ns);
	stats->pages_recycled = atomic_load(&ctx->pages_recycled);
	stats->pages_released = atomic_load(&ctx->pages_released);
	stats->objects_prefetched = atomic_load(&ctx->prefetch.done);
	stats->background_runs = atomic_load(&ctx->background.runs);
	stats->budget = atomic_load(&ctx->budget);
	stats->pressure_limit = atomic_load(&ctx->pressure_limit);
	stats->resident_bytes = r.total;
	stats->store_bytes = r.store_bytes;
	stats->metadata_bytes = r.metadata_bytes;
	stats->peak_resident_bytes = MAX(atomic_load(&ctx->peak_resident),
					 r.total);
	pthread_mutex_lock(&ctx->lock);
	list_for_each_entry(dev, &ctx->devices, node) {
		struct uttm_device_stats ds;

		uttm_device_stats(dev, &ds);
		stats->objects += ds.objects;
	}
	pthread_mutex_unlock(&ctx->lock);
}

/* Bytes in MiB, for the dump. */
static double mib(uint64_t bytes)
{
	return (double)bytes / (1 << 20);
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
		"resident        : %.1f MiB of a budget of %.1f MiB "
		"(stores %.1f, bookkeeping %.1f; peak %.1f)\n"
		"objects         : %llu\n"
		"purged          : %llu pages\n"
		"backed up       : %llu pages (%llu without a write)\n"
		"restored        : %llu pages in %llu restores, %.2f ms each\n"
		"reclaimed       : %llu pages for watermarks, %llu purging, "
		"%llu swapping out\n"
		"freed by shrink : %llu pages recycled, %llu released\n",
		(unsigned long long)stats.pages_allocated,
		(unsigned long long)stats.page_limit,
		(unsigned long long)stats.dma32_pages_allocated,
		(unsigned long long)stats.dma32_page_limit,
		(unsigned long long)stats.pool_pages,
		mib(stats.resident_bytes), mib(stats.budget),
		mib(stats.store_bytes), mib(stats.metadata_bytes),
		mib(stats.peak_resident_bytes),
		(unsigned long long)stats.objects,
		(unsigned long long)stats.pages_purged,
		(unsigned long long)stats.pages_backed_up,
		(unsigned long long)stats.pages_backed_up_clean,
		(unsigned long long)stats.pages_restored,
		(unsigned long long)stats.restores,
		stats.restores ? (double)stats.restore_ns / 1e6 /
				 (double)stats.restores : 0.0,
		(unsigned long long)stats.pages_reclaimed[UTTM_SHRINK_WATERMARK],
		(unsigned long long)stats.pages_reclaimed[UTTM_SHRINK_PURGE],
		(unsigned long long)stats.pages_reclaimed[UTTM_SHRINK_SWAP],
		(unsigned long long)stats.pages_recycled,
		(unsigned long long)stats.pages_released);
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
