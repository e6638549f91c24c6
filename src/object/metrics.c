// SPDX-License-Identifier: MIT
/*
 * A context's counters in the OpenMetrics text format, which Prometheus
 * and its kin scrape: what uttm_context_dump() shows a person, for a
 * service's metrics endpoint.  Devices are labelled by their id, which
 * stays the same for a device's life.
 */
#include <errno.h>

#include "base/base.h"
#include "internal.h"

/* The TYPE and HELP lines that open a family. */
static void family(FILE *out, const char *name, const char *type,
		   const char *help)
{
	fprintf(out, "# TYPE %s %s\n# HELP %s %s\n", name, type, name, help);
}

/* The budget and what it counts; what the context holds is pages, the
 * stores' memory and bookkeeping together. */
static void memory_metrics(const struct uttm_context_stats *s, FILE *out)
{
	family(out, "uttm_memory_budget_bytes", "gauge",
	       "Most bytes of memory the context may hold, 0 for no budget.");
	fprintf(out, "uttm_memory_budget_bytes %llu\n",
		(unsigned long long)s->budget);
	family(out, "uttm_memory_pressure_limit_bytes", "gauge",
	       "A lower limit held while memory is short, 0 for none.");
	fprintf(out, "uttm_memory_pressure_limit_bytes %llu\n",
		(unsigned long long)s->pressure_limit);
	family(out, "uttm_memory_bytes", "gauge",
	       "Memory the budget counts: pages, the stores' own, bookkeeping.");
	fprintf(out, "uttm_memory_bytes{kind=\"pages\"} %llu\n"
		"uttm_memory_bytes{kind=\"store\"} %llu\n"
		"uttm_memory_bytes{kind=\"metadata\"} %llu\n",
		(unsigned long long)(s->resident_bytes - s->store_bytes -
				     s->metadata_bytes),
		(unsigned long long)s->store_bytes,
		(unsigned long long)s->metadata_bytes);
	family(out, "uttm_memory_peak_bytes", "gauge",
	       "The most memory the budget has counted.");
	fprintf(out, "uttm_memory_peak_bytes %llu\n",
		(unsigned long long)s->peak_resident_bytes);
}

static const char *const reason_names[UTTM_NR_SHRINK_REASONS] = {
	[UTTM_SHRINK_WATERMARK] = "watermark",
	[UTTM_SHRINK_PURGE] = "purge",
	[UTTM_SHRINK_SWAP] = "swap",
};

/* What the walks freed, by why they were asked; how long restores took. */
static void reclaim_metrics(const struct uttm_context_stats *s, FILE *out)
{
	uint64_t below = 0;

	family(out, "uttm_pages_reclaimed", "counter",
	       "Pages the shrinker walks freed, by the reason they were asked.");
	for (unsigned int i = 0; i < UTTM_NR_SHRINK_REASONS; i++)
		fprintf(out, "uttm_pages_reclaimed_total{reason=\"%s\"} %llu\n",
			reason_names[i],
			(unsigned long long)s->pages_reclaimed[i]);
	family(out, "uttm_restore_seconds", "histogram",
	       "Time of validates that restored a backed-up vector.");
	for (unsigned int i = 0; i < UTTM_RESTORE_BUCKETS - 1; i++) {
		below += s->restore_latency[i];
		fprintf(out, "uttm_restore_seconds_bucket{le=\"%g\"} %llu\n",
			(double)(UTTM_RESTORE_BUCKET0_NS << i) / 1e9,
			(unsigned long long)below);
	}
	fprintf(out, "uttm_restore_seconds_bucket{le=\"+Inf\"} %llu\n"
		"uttm_restore_seconds_count %llu\n"
		"uttm_restore_seconds_sum %.9f\n",
		(unsigned long long)s->restores,
		(unsigned long long)s->restores, (double)s->restore_ns / 1e9);
}

static void context_metrics(struct uttm_context *ctx, FILE *out)
{
	struct uttm_context_stats s;

	uttm_context_stats(ctx, &s);
	family(out, "uttm_pages_allocated", "gauge",
	       "Pages held by page vectors, all and in DMA32 arenas.");
	fprintf(out, "uttm_pages_allocated{zone=\"all\"} %llu\n"
		"uttm_pages_allocated{zone=\"dma32\"} %llu\n",
		(unsigned long long)s.pages_allocated,
		(unsigned long long)s.dma32_pages_allocated);
	family(out, "uttm_page_limit", "gauge",
	       "Most pages page vectors may hold, all and in DMA32 arenas.");
	fprintf(out, "uttm_page_limit{zone=\"all\"} %llu\n"
		"uttm_page_limit{zone=\"dma32\"} %llu\n",
		(unsigned long long)s.page_limit,
		(unsigned long long)s.dma32_page_limit);
	memory_metrics(&s, out);
	family(out, "uttm_pages_purged", "counter",
	       "Pages whose content was dropped.");
	fprintf(out, "uttm_pages_purged_total %llu\n",
		(unsigned long long)s.pages_purged);
	family(out, "uttm_pages_backed_up", "counter",
	       "Pages moved into a store.");
	fprintf(out, "uttm_pages_backed_up_total %llu\n",
		(unsigned long long)s.pages_backed_up);
	family(out, "uttm_pages_backed_up_clean", "counter",
	       "Pages backed up without a write: not written since their "
	       "restore, their copies kept in the store.");
	fprintf(out, "uttm_pages_backed_up_clean_total %llu\n",
		(unsigned long long)s.pages_backed_up_clean);
	family(out, "uttm_pages_restored", "counter",
	       "Pages brought back from a store.");
	fprintf(out, "uttm_pages_restored_total %llu\n",
		(unsigned long long)s.pages_restored);
	reclaim_metrics(&s, out);
	family(out, "uttm_pages_shrunk", "counter",
	       "Pages backup or purge freed: handed to a populate making "
	       "room for itself, or given back to the system.");
	fprintf(out, "uttm_pages_shrunk_total{to=\"populate\"} %llu\n"
		"uttm_pages_shrunk_total{to=\"system\"} %llu\n",
		(unsigned long long)s.pages_recycled,
		(unsigned long long)s.pages_released);
}

/* One family with a sample per device; the caller holds the list lock. */
static void device_family(struct uttm_context *ctx, FILE *out,
			  const char *name, const char *help, size_t field)
{
	struct uttm_device *dev;

	family(out, name, "gauge", help);
	list_for_each_entry(dev, &ctx->devices, node) {
		struct uttm_device_stats ds;

		uttm_device_stats(dev, &ds);
		fprintf(out, "%s{device=\"%u\"} %llu\n", name, dev->id,
			(unsigned long long)*(uint64_t *)((char *)&ds + field));
	}
}

static void pool_metrics(struct uttm_context *ctx, FILE *out)
{
	struct uttm_device *dev;

	family(out, "uttm_pool_pages", "gauge",
	       "Pages kept in a device's pool, per caching state and order.");
	list_for_each_entry(dev, &ctx->devices, node)
		for (unsigned int c = 0; c < UTTM_NUM_CACHING; c++)
			for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
				fprintf(out, "uttm_pool_pages{device=\"%u\","
					"caching=\"%s\",order=\"%u\"} %lu\n",
					dev->id, uttm_caching_name(c), o,
					uttm_pool_type_pages(&dev->pool, c, o));
}

static void store_metrics(struct uttm_context *ctx, FILE *out)
{
	struct uttm_device *dev;

	family(out, "uttm_store_handles", "gauge",
	       "Live handles in a device's default store.");
	list_for_each_entry(dev, &ctx->devices, node)
		if (dev->backup)
			fprintf(out, "uttm_store_handles{device=\"%u\"} %lu\n",
				dev->id, uttm_backup_handles(dev->backup));
}

int uttm_context_metrics(struct uttm_context *ctx, FILE *out)
{
	if (UTTM_WARN_ON(!ctx || !out))
		return -EINVAL;
	context_metrics(ctx, out);
	pthread_mutex_lock(&ctx->lock);
	device_family(ctx, out, "uttm_objects",
		      "Live buffer objects, delayed-destroyed ones included.",
		      offsetof(struct uttm_device_stats, objects));
	device_family(ctx, out, "uttm_shrinkable_pages",
		      "Pages of objects on the LRUs.",
		      offsetof(struct uttm_device_stats, shrinkable_pages));
	device_family(ctx, out, "uttm_purgeable_pages",
		      "Pages of purgeable objects on the LRUs.",
		      offsetof(struct uttm_device_stats, purgeable_pages));
	device_family(ctx, out, "uttm_pinned_objects", "Pinned objects.",
		      offsetof(struct uttm_device_stats, pinned));
	device_family(ctx, out, "uttm_delayed_objects",
		      "Objects waiting to be idle before they are freed.",
		      offsetof(struct uttm_device_stats, delayed));
	pool_metrics(ctx, out);
	store_metrics(ctx, out);
	pthread_mutex_unlock(&ctx->lock);
	fputs("# EOF\n", out);
	return ferror(out) ? -EIO : 0;
}
