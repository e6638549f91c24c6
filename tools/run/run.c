// SPDX-License-Identifier: MIT
/*
 * `uttm run`: the whole system at work.  Objects totalling several times a
 * memory budget are filled with verifiable content and touched in a
 * skewed pattern by worker threads; a share is purgeable.  The budget
 * and the pressure monitor keep the memory the run holds under the
 * budget, objects are restored when touched, and every byte read is
 * checked.  The report says what moved, how fast, how long restores
 * took, how much memory the kernel saw the run hold at the peak and
 * whether anything was lost.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <uttm/shrinker.h>

#include "run/metrics.h"
#include "run/workload.h"
#include "stores.h"
#include "support/cgroup.h"
#include "support/procfs.h"
#include "uttm.h"

#define RUN "uttm run"

/* Share of the budget the pool may keep. */
#define POOL_SHARE 32
/* The smallest budget: 16 pages for the pool's share. */
#define MIN_BUDGET (16 * UTTM_PAGE_SIZE * POOL_SHARE)
/*
 * Largest budget and object size: 8 TiB keeps every sum and product the
 * run makes of them (the arena of twice the budget, all objects' bytes)
 * within 64 bits.
 */
#define MAX_BYTES (8ULL << 40)
/* Share of the budget the pressure monitor keeps free in a cgroup. */
#define HEADROOM_SHARE 32
/* Share of the budget for the kernel's own memory: page tables, slabs. */
#define KERNEL_SHARE 64
/* What a worker thread's stack and its allocator arena touch, at most. */
#define THREAD_BYTES (512 * 1024)
/* How often the memory the run holds is measured. */
#define SAMPLE_MS 50

/*
 * The memory the run holds, as the kernel sees it: the usage of the
 * run's own memory cgroup when it has one to itself, otherwise the
 * process's PSS plus the pages its stores keep in unmapped files and
 * memfds.  A thread samples it for the progress line and, without a
 * cgroup, for the peak; with one the kernel keeps the peak itself.
 */
struct memory_watch {
	struct cgroup cg;
	bool own_cgroup;
	uint64_t budget;
	pthread_t thread;
	bool started;
	atomic_bool stop;
	_Atomic uint64_t last;
	_Atomic uint64_t peak;
	atomic_ulong over;
};


/* What `uttm run` takes besides the workload. */
struct run_options {
	struct run_config cfg;
	bool json;
};

/* A workload on uttm objects at work. */
struct run {
	const struct workload_options *opt;
	const struct run_config *cfg;
	struct uttm_context *ctx;
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_backup *store;
	struct uttm_monitor *monitor;
	struct uttm_bo **bos;
	/* Per object: a prefetch from its store is under way or done. */
	atomic_bool *prefetched;
	bool writeback;
	struct memory_watch watch;
};

static const struct uttm_operation_ctx op = { .interruptible = false };

static uint64_t memory_now(const struct memory_watch *w)
{
	return w->own_cgroup ? cgroup_usage(&w->cg) :
			       pss_bytes() + unmapped_files_resident_bytes();
}

static void *watch_main(void *arg)
{
	const struct timespec pause = { .tv_nsec = SAMPLE_MS * 1000000L };
	struct memory_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		uint64_t now = memory_now(w);

		atomic_store(&w->last, now);
		if (now > atomic_load(&w->peak))
			atomic_store(&w->peak, now);
		if (now > w->budget)
			atomic_fetch_add(&w->over, 1);
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int watch_start(struct memory_watch *w, uint64_t budget)
{
	w->own_cgroup = !cgroup_self(&w->cg) && cgroup_dedicated(&w->cg);
	w->budget = budget;
	atomic_init(&w->last, memory_now(w));
	atomic_init(&w->peak, atomic_load(&w->last));
	w->started = !pthread_create(&w->thread, NULL, watch_main, w);
	return w->started ? 0 : -EAGAIN;
}

/* Stops the sampling and fills in what it found. */
static void watch_stop(struct memory_watch *w, struct run_summary *sum)
{
	if (!w->started)
		return;
	atomic_store(&w->stop, true);
	pthread_join(w->thread, NULL);
	w->started = false;
	if (w->own_cgroup) {
		sum->peak_resident_bytes = cgroup_peak(&w->cg);
		sum->peak_measure = w->cg.v2 ? "cgroup-v2-peak" :
				    "cgroup-v1-max-usage";
		sum->budget_violations = sum->peak_resident_bytes > w->budget;
	} else {
		uint64_t last = memory_now(w);

		sum->peak_resident_bytes = last > atomic_load(&w->peak) ?
					   last : atomic_load(&w->peak);
		sum->peak_measure = "pss+files";
		sum->budget_violations = atomic_load(&w->over) +
			(sum->peak_resident_bytes > w->budget &&
			 !atomic_load(&w->over));
	}
}


/* Stores that only free memory through swap write pages out at once. */
static long run_bo_shrink(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *shrink_op,
			  const struct uttm_shrink_control *sc)
{
	struct run *run = uttm_device_priv(uttm_bo_device(bo));
	const struct uttm_backup_flags flags = {
		.purge = uttm_tt_purgeable(uttm_bo_tt(bo)),
		.writeback = sc->writeback || run->writeback,
	};

	return uttm_bo_shrink(bo, &flags);
}

static const struct uttm_device_funcs run_funcs = {
	.bo_shrink = run_bo_shrink,
};

/* The workload's objects are buffer objects: validate restores them. */
static int bo_begin(struct workload *wl, unsigned long id, bool *restored)
{
	struct run *run = workload_priv(wl);
	struct uttm_bo *bo = run->bos[id];
	int ret;

	uttm_bo_lock(bo);
	/* One prefetched from its store counts, however far it came. */
	*restored = atomic_exchange(&run->prefetched[id], false) ||
		    uttm_tt_is_backed_up(uttm_bo_tt(bo));
	ret = uttm_bo_validate(bo, &op);
	if (ret < 0)
		uttm_bo_unlock(bo);
	return ret;
}

static void *bo_page(struct workload *wl, unsigned long id,
		     unsigned long index)
{
	struct run *run = workload_priv(wl);

	return uttm_tt_page_address(uttm_bo_tt(run->bos[id]), index);
}

static void bo_end(struct workload *wl, unsigned long id)
{
	struct run *run = workload_priv(wl);

	uttm_bo_unlock(run->bos[id]);
}

/*
 * A fill rewrites the whole object: none of the store's copies of its
 * pages holds the new content.  The range is the object's own, which
 * uttm_bo_mark_dirty() cannot refuse.
 */
static void bo_write(struct workload *wl, unsigned long id)
{
	struct run *run = workload_priv(wl);
	struct uttm_bo *bo = run->bos[id];

	uttm_bo_mark_dirty(bo, 0, uttm_bo_size(bo));
}

/*
 * Prefetches an object in its store.  One another worker holds is
 * resident and stays so until that worker is done with it.
 */
static void bo_prefetch(struct workload *wl, unsigned long id)
{
	struct run *run = workload_priv(wl);
	struct uttm_bo *bo = run->bos[id];

	if (!uttm_bo_trylock(bo))
		return;
	if (uttm_tt_is_backed_up(uttm_bo_tt(bo)) && !uttm_bo_prefetch(bo))
		atomic_store(&run->prefetched[id], true);
	uttm_bo_unlock(bo);
}

static uint64_t bo_resident(struct workload *wl)
{
	struct run *run = workload_priv(wl);

	return atomic_load(&run->watch.last);
}

static const struct workload_backend bo_backend = {
	.begin = bo_begin,
	.page = bo_page,
	.end = bo_end,
	.write = bo_write,
	.prefetch = bo_prefetch,
	.resident = bo_resident,
};

/*
 * The context's budget: the run's, less what the process holds besides
 * uttm's own memory once the objects exist (code, libraries, the tool's
 * arrays, the kernel's memory for it in its cgroup), what it will still
 * take (the workload's state, thread stacks, page tables), and the
 * headroom the pressure monitor keeps in a cgroup.  -E2BIG when that
 * leaves less than four objects.
 */
static int context_budget(struct run *run, uint64_t *budget)
{
	const struct workload_options *o = run->opt;
	struct uttm_context_stats cs;
	uint64_t other, reserve, now = memory_now(&run->watch);

	uttm_context_stats(run->ctx, &cs);
	other = now > cs.resident_bytes ? now - cs.resident_bytes : 0;
	reserve = other + workload_memory_bytes(o) +
		  (o->threads + 1) * THREAD_BYTES + o->budget / KERNEL_SHARE +
		  o->budget / HEADROOM_SHARE;
	if (reserve + cs.metadata_bytes >= o->budget ||
	    (o->budget - reserve - cs.metadata_bytes) / 4 <
	    (o->max_object_size ? o->max_object_size : o->object_size))
		return -E2BIG;
	*budget = o->budget - reserve;
	return 0;
}

static int monitor_start(struct run *run)
{
	const struct uttm_monitor_params mp = {
		.source = (enum uttm_pressure_source)run->cfg->source,
		.low_available_bytes = run->watch.own_cgroup ?
				       run->opt->budget / HEADROOM_SHARE : 0,
	};

	return uttm_monitor_start(run->ctx, &mp, &run->monitor);
}

/*
 * Headroom for the next restores, kept by the background reclaim when
 * asked for, reclaimed up to twice that.  Off by default: what it frees
 * goes back to the system and is faulted in again by the restore that
 * needed the room, where a validate making room itself recycles the
 * pages; on the development machine it cost a fifth of the touches.
 */
static int background_start(struct run *run)
{
	uint64_t low = run->cfg->background_low;

	return low ? uttm_context_set_background_reclaim(run->ctx, low,
							 2 * low) : 0;
}

static int run_setup(struct run *run)
{
	const struct workload_options *o = run->opt;
	unsigned int share = tool_store_memory_share(run->cfg->store);
	struct uttm_context_params cp = { .budget = o->budget };
	/*
	 * The insert store keeps the pages it holds in the arena, in memory
	 * or swapped out: room for every object besides the budget's.  The
	 * arena grows only as far as it is used.
	 */
	struct uttm_arena_params ap = {
		.max_bytes = workload_total_bytes(o) + 2 * o->budget,
		.fault = run->cfg->fault,
	};
	struct uttm_device_params dp = {
		.pool.max_pages = (unsigned long)(o->budget / POOL_SHARE /
						  UTTM_PAGE_SIZE),
		.caching = UTTM_PLAIN,
		.funcs = &run_funcs,
		.priv = run,
	};
	/*
	 * Room for every object, and for the copies that objects restored
	 * into the budget keep (uttm_store_keep_copies()).
	 */
	struct store_request req = {
		.capacity = workload_total_bytes(o) + o->budget,
		.memory = share ? o->budget / share : 0,
		.path = run->cfg->store_path,
		.fault = run->cfg->fault,
		.redis_url = run->cfg->redis_url,
		.redis_password = run->cfg->redis_password,
	};
	uint64_t budget;
	bool track_writes;
	int ret;

	ret = watch_start(&run->watch, o->budget);
	if (!ret)
		ret = uttm_context_create(&cp, &run->ctx);
	if (!ret)
		ret = uttm_arena_create(&ap, &run->arena);
	if (ret)
		return ret;
	req.arena = run->arena;
	ret = tool_store_create(run->cfg->store, &req, &run->store);
	if (ret)
		return ret;
	run->writeback = tool_store_needs_swap(run->cfg->store);
	dp.pool.arena = run->arena;
	dp.backup = run->store;
	ret = uttm_device_create(run->ctx, &dp, &run->dev);
	/* Where no copy is kept, tracking would only cost bookkeeping. */
	track_writes = !run->cfg->rewrite_all &&
		       uttm_backup_keeps_copies(run->store);
	for (unsigned long i = 0; !ret && i < o->objects; i++) {
		struct uttm_bo_params bp = {
			.size = workload_object_size(o, i),
			.purgeable = workload_purgeable(o, i),
			.flags = track_writes ? UTTM_BO_TRACK_DIRTY : 0,
		};

		ret = uttm_bo_create(run->dev, &bp, &run->bos[i]);
	}
	if (!ret)
		ret = context_budget(run, &budget);
	if (!ret)
		ret = uttm_context_set_budget(run->ctx, budget);
	if (!ret)
		ret = background_start(run);
	if (!ret)
		ret = monitor_start(run);
	return ret;
}

static void run_teardown(struct run *run)
{
	uttm_monitor_stop(run->monitor);
	for (unsigned long i = 0; run->bos && i < run->opt->objects; i++)
		uttm_bo_put(run->bos[i]);
	uttm_device_destroy(run->dev);
	uttm_backup_put(run->store);
	uttm_context_destroy(run->ctx);
	uttm_arena_destroy(run->arena);
}

static void report(const struct workload_options *o, const char *store,
		   const struct run_summary *sum, bool json)
{
	const struct workload_result *r = &sum->result;
	uint64_t total = workload_total_bytes(o);
	uint64_t peak = sum->peak_resident_bytes;
	struct figures set;

	figures_init(&set, "uttm run");
	figures_section(&set, "workload");
	figures_add_text(&set, "version", "uttm version", UTTM_VERSION);
	figures_add_text(&set, "store", "store", store);
	figures_add_text(&set, "pressure_source", "pressure source",
			 uttm_pressure_source_name(sum->monitor_source));
	figures_add_int(&set, "seed", "seed", "", o->seed);
	figures_add_text(&set, "content", "content",
			 pattern_content_name(o->content));
	figures_add(&set, "same_filled_share", "same-filled pages", "",
		    o->same_filled);
	figures_add_int(&set, "budget_bytes", "memory budget", "B", o->budget);
	figures_add_int(&set, "total_object_bytes", "object bytes", "B", total);
	figures_add(&set, "oversubscription", "object bytes / budget", "x",
		    (double)total / (double)o->budget);
	figures_add_int(&set, "objects", "objects", "", o->objects);
	figures_add_int(&set, "threads", "threads", "", o->threads);
	figures_add_int(&set, "lookahead",
			"objects prefetched ahead, per worker", "",
			o->lookahead);
	figures_add(&set, "duration_s", "run time (fill, touches, last pass)",
		    "s", r->total_seconds);
	figures_section(&set, "memory");
	figures_add_int(&set, "peak_resident_bytes",
			"peak memory held, as the kernel measures it", "B",
			peak);
	figures_add_text(&set, "peak_measure", "  measured by",
			 sum->peak_measure);
	figures_add(&set, "peak_vs_budget", "peak memory / budget", "x",
		    (double)peak / (double)o->budget);
	figures_add_int(&set, "budget_violations",
			"measurements above the budget", "",
			sum->budget_violations);
	figures_add_int(&set, "context_budget_bytes",
			"budget of the uttm context (the rest is the process)",
			"B", sum->context_budget_bytes);
	figures_add_int(&set, "accounted_peak_bytes",
			"peak the context counted against it", "B",
			sum->accounted_peak_bytes);
	figures_add_int(&set, "pages_backed_up", "pages backed up", "",
			sum->pages_backed_up);
	figures_add_int(&set, "pages_backed_up_clean",
			"  of which without a write (copies kept)", "",
			sum->pages_backed_up_clean);
	figures_add_int(&set, "pages_restored", "pages restored", "",
			sum->pages_restored);
	figures_add_int(&set, "pages_purged", "pages purged", "",
			sum->pages_purged);
	figures_add_int(&set, "pages_recycled",
			"pages recycled into the validate that made room", "",
			sum->pages_recycled);
	figures_add_int(&set, "pages_released",
			"pages shrinking released to the system", "",
			sum->pages_released);
	figures_add_int(&set, "monitor_events", "pressure events heard", "",
			sum->monitor_events);
	figures_section(&set, "throughput");
	figures_add_int(&set, "touches", "object touches", "", r->touches);
	figures_add(&set, "touches_per_s", "touches per second (touch phase)",
		    "/s", r->touches_per_s);
	figures_add(&set, "verified_gbps", "bytes verified per second", "GB/s",
		    r->verified_per_s / 1e9);
	figures_add(&set, "checker_gbps", "checker speed, per thread", "GB/s",
		    r->check_per_s / 1e9);
	figures_add(&set, "fill_gbps", "content fill speed, per thread",
		    "GB/s", r->fill_per_s / 1e9);
	figures_add(&set, "touch_latency_p50_us", "touch latency p50", "us",
		    r->touch_p50_us);
	figures_add(&set, "touch_latency_p99_us", "touch latency p99", "us",
		    r->touch_p99_us);
	figures_add_int(&set, "restores", "restores (and waits for prefetches)",
			"", r->restores);
	figures_add(&set, "restore_latency_p50_us", "restore latency p50", "us",
		    r->restore_p50_us);
	figures_add(&set, "restore_latency_p99_us", "restore latency p99", "us",
		    r->restore_p99_us);
	figures_section(&set, "data");
	figures_add_int(&set, "bytes_verified", "bytes verified", "B",
			r->bytes_verified);
	figures_add_int(&set, "content_lost_seen",
			"purged objects found empty and refilled", "",
			r->content_lost);
	figures_add_int(&set, "errors", "failed validations", "", r->errors);
	figures_add_int(&set, "mismatches", "bytes that differed", "",
			r->mismatches);
	figures_print(&set, stdout, json);
	figures_fini(&set);
}

int run_uttm(const struct workload_options *opt, const struct run_config *cfg,
	     struct run_summary *sum)
{
	struct run run = { .opt = opt, .cfg = cfg };
	struct metrics_writer *writer = NULL;
	int metrics_ret;
	struct uttm_context_stats cs;
	struct uttm_monitor_stats ms;
	int ret;

	memset(sum, 0, sizeof(*sum));
	run.bos = calloc(opt->objects, sizeof(*run.bos));
	run.prefetched = calloc(opt->objects, sizeof(*run.prefetched));
	ret = run.bos && run.prefetched ? run_setup(&run) : -ENOMEM;
	if (!ret && cfg->metrics_interval)
		ret = metrics_writer_start(run.ctx, cfg->metrics_path,
					   cfg->metrics_interval, &writer);
	if (!ret)
		ret = workload_run(opt, &bo_backend, &run, &sum->result);
	metrics_ret = metrics_writer_stop(writer);
	watch_stop(&run.watch, sum);
	if (!ret) {
		uttm_context_stats(run.ctx, &cs);
		uttm_monitor_stats(run.monitor, &ms);
		sum->pages_backed_up = cs.pages_backed_up;
		sum->pages_backed_up_clean = cs.pages_backed_up_clean;
		sum->pages_restored = cs.pages_restored;
		sum->pages_purged = cs.pages_purged;
		sum->pages_recycled = cs.pages_recycled;
		sum->pages_released = cs.pages_released;
		sum->context_budget_bytes = cs.budget;
		sum->accounted_peak_bytes = cs.peak_resident_bytes;
		sum->monitor_events = ms.events;
		sum->monitor_source = uttm_monitor_source(run.monitor);
		if (cfg->stats)
			uttm_context_dump(run.ctx, cfg->stats);
		if (cfg->metrics_path && !metrics_ret)
			metrics_ret = metrics_write(run.ctx, cfg->metrics_path);
		if (metrics_ret) {
			fprintf(stderr, RUN ": --metrics %s: %s\n",
				cfg->metrics_path, strerror(-metrics_ret));
			ret = metrics_ret;
		}
	}
	run_teardown(&run);
	free(run.prefetched);
	free(run.bos);
	return ret;
}

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: uttm run [options]\n"
		"\n"
		"  --budget BYTES       memory budget, up to 8T (default 256M)\n"
		"  --objects N          number of objects (default 320)\n"
		"  --object-size BYTES  size of each, up to 8T (default 4M), or\n"
		"                       MIN-MAX for sizes spread log-uniformly\n"
		"  --store NAME         %s\n"
		"                       (default: file on disk, else shmem\n"
		"                       with swap)\n"
		"  --store-path DIR     where a file store puts its file (a directory;\n"
		"                       default: the temporary one if it is on disk)\n"
		"  --monitor SOURCE     pressure source: auto|psi-cgroup|psi-system|\n"
		"                       cgroup-v1|poll (default auto)\n"
		"  --redis URL          the Redis store's server,\n"
		"                       redis://[USER@]HOST[:PORT] (default\n"
		"                       127.0.0.1:6379); for a cluster any node\n"
		"  --redis-password PW  its password (better: $UTTM_REDIS_PASSWORD)\n"
		"  --threads N          worker threads (default 2)\n"
		"  --duration SECONDS   touch phase (default 20)\n"
		"  --purgeable SHARE    share of purgeable objects, 0 to 1 (default 0.25)\n"
		"  --skew SHARE         share of touches to the hottest fifth (default 0.8)\n"
		"  --seed N             content and access seed (default 1)\n"
		"  --content KIND       what pages hold: random (default), or text,\n"
		"                       which LZ4 compresses 2-3x\n"
		"  --lookahead N        each worker prefetches its next N\n"
		"                       objects (default 0, at most 64)\n"
		"  --background-reclaim BYTES\n"
		"                       headroom a reclaim thread keeps free\n"
		"                       ahead of restores (default 0: none)\n"
		"  --rewrite-all        every backup writes every page: the\n"
		"                       objects do not report writes, so no\n"
		"                       copies are kept\n"
		"  --same-filled SHARE  share of pages of one repeated byte, half\n"
		"                       of them zero, 0 to 1 (default 0)\n"
		"  --json               one JSON object instead of the report\n"
		"  --stats              at the end, dump counters, pools and stores\n"
		"                       to stderr (as TTM's debugfs page_pool file)\n"
		"  --metrics FILE       at the end, write the counters to FILE in the\n"
		"                       OpenMetrics text format (Prometheus)\n"
		"  --metrics-interval S and every S seconds while the run lasts\n"
		"\nsizes: K, KiB and k are 1024, KB is 1000, likewise M, G, T; 1.5G\n"
		"UTTM_FAULT arms fault points of the arena and the store\n"
		"\nThe budget holds everything the run takes: uttm's pages, pools,\n"
		"stores' memory and bookkeeping, and the process around them; it may\n"
		"not be more than the machine's memory or the memory cgroup's limit.\n"
		"\nexit status: 0 when every byte checked out, 1 on a mismatch or a\n"
		"failure, 2 on a usage error, 3 when the pressure source asked for\n"
		"is not to be had here, 128 + the signal when interrupted\n",
		tool_store_names());
}

/* 0 when @path is an existing directory, else why not. */
/*
 * --store-path must be a directory, and one on disk: a file in a file
 * system that keeps files in memory frees nothing when pages go there.
 */
static int check_store_path(const char *path)
{
	const char *fs;
	struct stat st;
	int err = stat(path, &st) ? errno :
		  S_ISDIR(st.st_mode) ? 0 : ENOTDIR;

	if (err) {
		fprintf(stderr, RUN ": --store-path %s: %s\n", path,
			strerror(err));
		return -EINVAL;
	}
	fs = tool_dir_filesystem(path);
	if (fs) {
		fprintf(stderr, RUN ": --store-path %s: on %s, which keeps "
			"files in memory: backing pages up there frees nothing; "
			"give a directory on disk\n", path, fs);
		return -EINVAL;
	}
	return 0;
}

/* The source of @name, or -1. */
static int pressure_source(const char *name)
{
	for (int s = UTTM_PRESSURE_AUTO; s <= UTTM_PRESSURE_POLL; s++)
		if (!strcmp(name, uttm_pressure_source_name(s)))
			return s;
	return -1;
}

/* An object size: whole 4 KiB pages, up to 8 TiB. */
static int object_size(const char *text, uint64_t *bytes)
{
	int ret = opt_size(RUN, "object-size", text, UTTM_PAGE_SIZE,
			   MAX_BYTES, bytes);

	if (!ret && *bytes % UTTM_PAGE_SIZE) {
		fprintf(stderr, RUN ": --object-size %s: must be a whole "
			"number of 4 KiB pages\n", text);
		ret = -EINVAL;
	}
	return ret;
}

/* --object-size BYTES, or MIN-MAX for sizes spread between the two. */
static int object_size_option(const char *arg, struct workload_options *o)
{
	const char *dash = strchr(arg, '-');
	char min[32];
	int ret;

	o->max_object_size = 0;
	if (!dash)
		return object_size(arg, &o->object_size);
	snprintf(min, sizeof(min), "%.*s", (int)(dash - arg), arg);
	ret = object_size(min, &o->object_size);
	if (!ret)
		ret = object_size(dash + 1, &o->max_object_size);
	if (!ret && o->max_object_size <= o->object_size) {
		fprintf(stderr, RUN ": --object-size %s: the largest must be "
			"above the smallest\n", arg);
		ret = -EINVAL;
	}
	return ret;
}

/* Reads one option of `uttm run`; 0, or -EINVAL with the reason said. */
static int run_option(int c, struct workload_options *o,
		      struct run_options *ro, char **argv)
{
	unsigned long n;
	int ret = 0;

	switch (c) {
	case 'b':
		return opt_size(RUN, "budget", optarg, MIN_BUDGET, MAX_BYTES,
				&o->budget);
	case 'n':
		return opt_count(RUN, "objects", optarg, 1, 1UL << 20,
				 &o->objects);
	case 'z':
		return object_size_option(optarg, o);
	case 's':
		if (!tool_store_valid(optarg)) {
			fprintf(stderr, RUN ": --store %s: unknown store; "
				"the stores are %s\n", optarg,
				tool_store_names());
			return -EINVAL;
		}
		ro->cfg.store = optarg;
		return 0;
	case 'p':
		ret = check_store_path(optarg);
		ro->cfg.store_path = optarg;
		return ret;
	case 'r':
		ro->cfg.redis_url = optarg;
		return 0;
	case 'P':
		ro->cfg.redis_password = optarg;
		return 0;
	case 't':
		ret = opt_count(RUN, "threads", optarg, 1, 256, &n);
		if (!ret)
			o->threads = (unsigned int)n;
		return ret;
	case 'd':
		return opt_seconds(RUN, "duration", optarg, true,
				   &o->duration);
	case 'g':
		return opt_share(RUN, "purgeable", optarg, &o->purgeable);
	case 'k':
		return opt_share(RUN, "skew", optarg, &o->skew);
	case 'e':
		ret = opt_count(RUN, "seed", optarg, 0, ~0UL, &n);
		if (!ret)
			o->seed = n;
		return ret;
	case 'c':
		return opt_content(RUN, optarg, &o->content);
	case 'f':
		return opt_share(RUN, "same-filled", optarg, &o->same_filled);
	case 'B':
		return opt_size(RUN, "background-reclaim", optarg, 0, MAX_BYTES,
				&ro->cfg.background_low);
	case 'L':
		ret = opt_count(RUN, "lookahead", optarg, 0,
				WORKLOAD_MAX_LOOKAHEAD, &n);
		if (!ret)
			o->lookahead = (unsigned int)n;
		return ret;
	case 'W':
		ro->cfg.rewrite_all = true;
		return 0;
	case 'j':
		ro->json = true;
		return 0;
	case 'S':
		ro->cfg.stats = stderr;
		return 0;
	case 'm':
		ro->cfg.metrics_path = optarg;
		return 0;
	case 'i':
		return opt_seconds(RUN, "metrics-interval", optarg, false,
				   &ro->cfg.metrics_interval);
	case 'M':
		ro->cfg.source = pressure_source(optarg);
		if (ro->cfg.source >= 0)
			return 0;
		fprintf(stderr, RUN ": --monitor %s: unknown pressure source\n",
			optarg);
		return -EINVAL;
	default:
		return opt_error(RUN, c, argv);
	}
}

/* Reads the options of `uttm run`: 0, 1 for --help, or -EINVAL. */
static int parse_run_options(int argc, char **argv, struct workload_options *o,
			     struct run_options *ro)
{
	static const struct option longopts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "objects", required_argument, NULL, 'n' },
		{ "object-size", required_argument, NULL, 'z' },
		{ "store", required_argument, NULL, 's' },
		{ "store-path", required_argument, NULL, 'p' },
		{ "redis", required_argument, NULL, 'r' },
		{ "redis-password", required_argument, NULL, 'P' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "purgeable", required_argument, NULL, 'g' },
		{ "skew", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 'e' },
		{ "content", required_argument, NULL, 'c' },
		{ "same-filled", required_argument, NULL, 'f' },
		{ "lookahead", required_argument, NULL, 'L' },
		{ "background-reclaim", required_argument, NULL, 'B' },
		{ "rewrite-all", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "stats", no_argument, NULL, 'S' },
		{ "metrics", required_argument, NULL, 'm' },
		{ "metrics-interval", required_argument, NULL, 'i' },
		{ "monitor", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;

	optind = 1;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, ":h", longopts,
					NULL)) != -1) {
		if (c == 'h')
			return 1;
		ret = run_option(c, o, ro, argv);
	}
	if (!ret && optind != argc) {
		fprintf(stderr, RUN ": unexpected argument '%s'\n",
			argv[optind]);
		ret = -EINVAL;
	}
	if (!ret && ro->cfg.metrics_interval && !ro->cfg.metrics_path) {
		fprintf(stderr, RUN ": --metrics-interval needs --metrics\n");
		ret = -EINVAL;
	}
	return ret;
}

/* Set by SIGINT and SIGTERM: the run stops where it is and cleans up. */
static atomic_bool interrupted;
static volatile sig_atomic_t interrupt_signal;

static void on_interrupt(int sig)
{
	interrupt_signal = sig;
	atomic_store(&interrupted, true);
}

static void catch_interrupts(void)
{
	struct sigaction sa = { .sa_handler = on_interrupt };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* Says where the run stopped; the exit status is 128 + the signal. */
static int report_interrupt(const struct workload_options *o,
			    const struct workload_result *r)
{
	fprintf(stderr, "uttm run: interrupted by %s during the %s after "
		"%.1f s", strsignal(interrupt_signal),
		workload_phase_name(r->phase), r->total_seconds);
	if (r->phase != WORKLOAD_TOUCH)
		fprintf(stderr, "; %lu of %lu objects not %s", r->unchecked,
			o->objects, r->phase == WORKLOAD_FILL ? "filled" :
							     "checked");
	fprintf(stderr, "; %lu bytes differed in what was checked\n",
		(unsigned long)r->mismatches);
	return 128 + interrupt_signal;
}

/* A store that frees memory only through swap is refused without it. */
static int check_store(const char *store)
{
	if (!tool_store_needs_swap(store) || swap_free_bytes())
		return 0;
	fprintf(stderr, "uttm run: store %s frees memory only by swapping, and "
		"this machine has no swap free; use --store file, or "
		"compressed-file, which keep pages on disk\n", store);
	return -ENOSPC;
}

/* A pressure source asked for must exist here: it is tried first. */
static int check_source(int source)
{
	struct uttm_monitor_params mp = { .source = source };
	struct uttm_monitor *monitor;
	struct uttm_context *ctx;
	int ret;

	if (source == UTTM_PRESSURE_AUTO)
		return 0;
	ret = uttm_context_create(NULL, &ctx);
	if (!ret) {
		ret = uttm_monitor_start(ctx, &mp, &monitor);
		uttm_monitor_stop(ret ? NULL : monitor);
		uttm_context_destroy(ctx);
	}
	if (ret)
		fprintf(stderr, "uttm run: pressure source %s is not to be had "
			"here: %s\n", uttm_pressure_source_name(source),
			strerror(-ret));
	return ret;
}

/* Says why the run could not start, and what to do about it. */
static void explain(int ret, const struct run_config *cfg)
{
	if (ret == -E2BIG) {
		fprintf(stderr, "uttm run: the budget cannot hold 4 objects "
			"next to the process itself; raise --budget\n");
	} else if (ret == -EMEDIUMTYPE && tool_store_in_files(cfg->store) &&
		   !cfg->store_path) {
		fprintf(stderr, "uttm run: no temporary directory is on disk "
			"(TMPDIR, /tmp, /var/tmp, ~/.cache); give --store-path "
			"one\n");
	} else {
		fprintf(stderr, "uttm run: %s (store %s)\n",
			tool_store_error(cfg->store, ret), cfg->store);
	}
}

int cmd_run(int argc, char **argv)
{
	struct workload_options opt = {
		.budget = 256ULL << 20, .objects = 320,
		.object_size = 4ULL << 20, .threads = 2,
		.duration = 20, .purgeable = 0.25, .skew = 0.8,
		.seed = 1,
	};
	struct run_options ro = {
		.cfg = { .source = UTTM_PRESSURE_AUTO },
	};
	struct run_summary sum;
	int ret = parse_run_options(argc, argv, &opt, &ro);

	if (ret > 0) {
		run_usage(stdout);
		return 0;
	}
	if (ret)
		return opt_usage_error(RUN);
	if (!ro.cfg.store)
		ro.cfg.store = tool_store_default();
	if (opt_memory_fits(RUN, "budget", opt.budget))
		return opt_usage_error(RUN);
	if (check_store(ro.cfg.store))
		return 1;
	if (check_source(ro.cfg.source))
		return UTTM_EXIT_NO_SOURCE;
	if (uttm_fault_from_env(&ro.cfg.fault)) {
		fprintf(stderr, RUN ": UTTM_FAULT=%s: not a fault rule (see "
			"uttm/fault.h: \"point:nth=N,times=N,err=ENAME\")\n",
			getenv("UTTM_FAULT"));
		return opt_usage_error(RUN);
	}
	opt.progress = !ro.json;
	opt.interrupt = &interrupted;
	catch_interrupts();
	ret = run_uttm(&opt, &ro.cfg, &sum);
	uttm_fault_destroy(ro.cfg.fault);
	if (ret == -EINTR && interrupt_signal)
		return report_interrupt(&opt, &sum.result);
	if (!ret)
		report(&opt, ro.cfg.store, &sum, ro.json);
	if (!ret && (sum.result.mismatches || sum.result.errors)) {
		fprintf(stderr, "uttm run: data did not check out: %llu bytes "
			"differed, %lu objects could not be made usable",
			(unsigned long long)sum.result.mismatches,
			sum.result.errors);
		if (sum.result.errors)
			fprintf(stderr, " (the first: %s)",
				strerror(-sum.result.first_error));
		fprintf(stderr, "\n");
		return 1;
	}
	if (ret)
		explain(ret, &ro.cfg);
	return ret ? 1 : 0;
}
