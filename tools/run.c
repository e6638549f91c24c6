// SPDX-License-Identifier: MIT
/*
 * `uttm run`: the whole system at work.  Objects totalling several times a
 * memory budget are filled with verifiable content and touched in a
 * skewed pattern by worker threads; a share is purgeable.  The page limit
 * and the pressure monitor keep resident memory under the budget, objects
 * are restored when touched, and every byte read is checked.  The report
 * says what moved, how fast, how long restores took, how much memory was
 * used at the peak and whether anything was lost.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uttm/shrinker.h>

#include "pattern.h"
#include "stores.h"
#include "uttm.h"

/* Share of the budget the pool may keep. */
#define POOL_SHARE 32
/* Share of the touches that also rewrite the object. */
#define WRITE_PERMILLE 100

struct run_options {
	uint64_t budget;
	unsigned long objects;
	uint64_t object_size;
	const char *store;
	const char *store_path;
	unsigned int threads;
	double duration;
	double purgeable;
	double skew;
	uint64_t seed;
	bool json;
};

struct run_object {
	struct uttm_bo *bo;
	uint32_t version;	/* under the bo lock */
	bool purgeable;
};

struct worker {
	struct run *run;
	pthread_t thread;
	uint64_t rng;
	unsigned long touches;
	unsigned long errors;
	unsigned long content_lost;
	uint64_t bytes_verified;
	uint64_t mismatches;
	double *latency;	/* seconds per restore */
	size_t nr_latency;
	size_t cap_latency;
};

struct run {
	struct run_options opt;
	struct uttm_context *ctx;
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_monitor *monitor;
	struct run_object *objects;
	struct worker *workers;
	atomic_bool stop;
	atomic_ulong touches;
	bool writeback;
};

static const struct uttm_operation_ctx op = { .interruptible = false };

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static uint64_t status_bytes(const char *field)
{
	char line[128];
	size_t len = strlen(field);
	unsigned long long kib = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, field, len) && line[len] == ':')
			kib = strtoull(line + len + 1, NULL, 10);
	fclose(f);
	return kib * 1024;
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

static void object_fill(struct run *run, unsigned long id)
{
	struct run_object *o = &run->objects[id];
	struct uttm_tt *tt = uttm_bo_tt(o->bo);

	for (unsigned long i = 0; i < tt->num_pages; i++)
		pattern_fill(uttm_tt_page_address(tt, i), run->opt.seed, id,
			     o->version, i);
}

static void object_check(struct worker *w, unsigned long id)
{
	struct run_object *o = &w->run->objects[id];
	struct uttm_tt *tt = uttm_bo_tt(o->bo);
	uint64_t bad = 0;

	for (unsigned long i = 0; i < tt->num_pages; i++)
		bad += pattern_check(uttm_tt_page_address(tt, i),
				     w->run->opt.seed, id, o->version, i);
	w->bytes_verified += tt->num_pages * UTTM_PAGE_SIZE;
	w->mismatches += bad;
	if (bad) {
		/* Said once: what is read next is checked afresh. */
		o->version++;
		object_fill(w->run, id);
	}
}

static void record_latency(struct worker *w, double seconds)
{
	if (w->nr_latency == w->cap_latency) {
		size_t cap = w->cap_latency ? 2 * w->cap_latency : 1024;
		double *l = realloc(w->latency, cap * sizeof(*l));

		if (!l)
			return;
		w->latency = l;
		w->cap_latency = cap;
	}
	w->latency[w->nr_latency++] = seconds;
}

/*
 * Validates an object (restoring it if need be), then checks it, and maybe
 * rewrites it.  An object purged meanwhile is regenerated, as a cache
 * would fetch it again.
 */
static void touch(struct worker *w, unsigned long id, bool check, bool write)
{
	struct run_object *o = &w->run->objects[id];
	bool restoring;
	double t;
	int ret;

	uttm_bo_lock(o->bo);
	restoring = uttm_tt_is_backed_up(uttm_bo_tt(o->bo));
	t = now_seconds();
	ret = uttm_bo_validate(o->bo, &op);
	if (ret < 0) {
		w->errors++;
		goto out;
	}
	if (restoring)
		record_latency(w, now_seconds() - t);
	if (ret == UTTM_BO_CONTENT_LOST) {
		w->content_lost++;
		write = true;
	} else if (check) {
		object_check(w, id);
	}
	if (write) {
		o->version++;
		object_fill(w->run, id);
	}
out:
	uttm_bo_unlock(o->bo);
	w->touches++;
	atomic_fetch_add(&w->run->touches, 1);
}

/* A skewed choice: most touches go to the hottest fifth of the objects. */
static unsigned long pick(struct worker *w)
{
	unsigned long n = w->run->opt.objects, hot = n / 5 ? n / 5 : 1;
	double u = (double)(rng_next(&w->rng) % 1000000) / 1e6;

	return (u < w->run->opt.skew ? rng_next(&w->rng) % hot :
				       rng_next(&w->rng) % n);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct run *run = w->run;

	while (!atomic_load(&run->stop))
		touch(w, pick(w), true,
		      rng_next(&w->rng) % 1000 < WRITE_PERMILLE);
	return NULL;
}

/* Fills objects @first, @first + stride, ...: the first version of each. */
struct fill_job {
	struct worker *w;
	unsigned long first;
	unsigned long stride;
};

static void *fill_main(void *arg)
{
	struct fill_job *job = arg;

	for (unsigned long id = job->first; id < job->w->run->opt.objects;
	     id += job->stride)
		touch(job->w, id, false, true);
	return NULL;
}

/* Starts @fn on every worker, with its fill job when @jobs is given. */
static unsigned int start_workers(struct run *run, void *(*fn)(void *),
				  struct fill_job *jobs)
{
	unsigned int i;

	for (i = 0; i < run->opt.threads; i++) {
		struct worker *w = &run->workers[i];
		void *arg = w;

		if (jobs) {
			jobs[i] = (struct fill_job){ w, i, run->opt.threads };
			arg = &jobs[i];
		}
		if (pthread_create(&w->thread, NULL, fn, arg))
			break;
	}
	return i;
}

static void join_workers(struct run *run, unsigned int started)
{
	for (unsigned int i = 0; i < started; i++)
		pthread_join(run->workers[i].thread, NULL);
}

/* Shows progress until the duration is over: a bar on a terminal. */
static void progress(struct run *run, double start)
{
	bool tty = isatty(STDERR_FILENO) && !run->opt.json;
	double next_line = start, now;

	while ((now = now_seconds()) < start + run->opt.duration) {
		double done = (now - start) / run->opt.duration;
		uint64_t rss = status_bytes("VmRSS");
		struct uttm_context_stats cs;
		int bar = (int)(done * 30);

		uttm_context_stats(run->ctx, &cs);
		if (tty) {
			fprintf(stderr, "\r[%.*s%*s] %3.0f%%  touches %lu  "
				"restored %llu MiB  resident %llu/%llu MiB ",
				bar, "==============================",
				30 - bar, "", done * 100,
				atomic_load(&run->touches),
				(unsigned long long)(cs.pages_restored >> 8),
				(unsigned long long)(rss >> 20),
				(unsigned long long)(run->opt.budget >> 20));
		} else if (now >= next_line && !run->opt.json) {
			fprintf(stderr, "uttm run: %3.0f%% touches %lu restored "
				"%llu MiB resident %llu MiB\n", done * 100,
				atomic_load(&run->touches),
				(unsigned long long)(cs.pages_restored >> 8),
				(unsigned long long)(rss >> 20));
			next_line = now + 5;
		}
		usleep(200 * 1000);
	}
	if (tty)
		fputc('\n', stderr);
}

/*
 * The page limit that keeps the whole process under the budget: what it
 * already holds, the pool, what concurrent populates may overshoot by
 * (one object per thread), what the store keeps in memory, and a
 * sixteenth for the rest (page vectors, memmap, stacks).
 */
static int page_limit(const struct run_options *o, uint64_t store_memory,
		      uint64_t *limit)
{
	uint64_t reserve = status_bytes("VmRSS") + o->budget / POOL_SHARE +
			   o->threads * o->object_size + o->budget / 16 +
			   store_memory;

	if (reserve + 16 * o->object_size > o->budget)
		return -E2BIG;
	*limit = o->budget - reserve;
	return 0;
}

static int run_setup(struct run *run)
{
	const struct run_options *o = &run->opt;
	uint64_t total = o->objects * o->object_size;
	struct uttm_context_params cp = { .page_limit = 0 };
	struct uttm_arena_params ap = { .max_bytes = 2 * o->budget };
	struct uttm_device_params dp = {
		.pool.max_pages = (unsigned long)(o->budget / POOL_SHARE /
						  UTTM_PAGE_SIZE),
		.caching = UTTM_PLAIN,
		.funcs = &run_funcs,
		.priv = run,
	};
	unsigned int share = tool_store_memory_share(o->store);
	struct store_request req = {
		.capacity = share ? o->budget / share : total,
		.path = o->store_path,
	};
	int ret;

	ret = page_limit(o, share ? req.capacity : 0, &cp.page_limit);
	if (!ret)
		ret = uttm_context_create(&cp, &run->ctx);
	if (!ret)
		ret = uttm_arena_create(&ap, &run->arena);
	if (ret)
		return ret;
	req.arena = run->arena;
	ret = tool_store_create(o->store, &req, &dp.backup);
	if (ret)
		return ret;
	run->writeback = tool_store_needs_swap(o->store);
	dp.pool.arena = run->arena;
	ret = uttm_device_create(run->ctx, &dp, &run->dev);
	uttm_backup_put(dp.backup);
	if (!ret)
		ret = uttm_monitor_start(run->ctx, NULL, &run->monitor);
	for (unsigned long i = 0; !ret && i < o->objects; i++) {
		struct run_object *obj = &run->objects[i];
		/* Every 1/share-th object, evenly spread. */
		struct uttm_bo_params bp = {
			.size = o->object_size,
			.purgeable = (unsigned long)((double)(i + 1) * o->purgeable) >
				     (unsigned long)((double)i * o->purgeable),
		};

		obj->purgeable = bp.purgeable;
		ret = uttm_bo_create(run->dev, &bp, &obj->bo);
	}
	return ret;
}

static void run_teardown(struct run *run)
{
	uttm_monitor_stop(run->monitor);
	for (unsigned long i = 0; run->objects && i < run->opt.objects; i++)
		uttm_bo_put(run->objects[i].bo);
	uttm_device_destroy(run->dev);
	uttm_context_destroy(run->ctx);
	uttm_arena_destroy(run->arena);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Percentile @p (0 to 1) of all restore latencies, in microseconds. */
static double latency_us(double *all, size_t n, double p)
{
	return n ? all[(size_t)(p * (double)(n - 1))] * 1e6 : 0;
}

struct totals {
	unsigned long touches, errors, content_lost;
	uint64_t bytes_verified, mismatches;
	double *latency;
	size_t nr_latency;
};

static void sum_workers(struct run *run, struct totals *t)
{
	size_t n = 0;

	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < run->opt.threads; i++)
		n += run->workers[i].nr_latency;
	t->latency = calloc(n ? n : 1, sizeof(*t->latency));
	for (unsigned int i = 0; i < run->opt.threads; i++) {
		struct worker *w = &run->workers[i];

		t->touches += w->touches;
		t->errors += w->errors;
		t->content_lost += w->content_lost;
		t->bytes_verified += w->bytes_verified;
		t->mismatches += w->mismatches;
		if (t->latency)
			memcpy(t->latency + t->nr_latency, w->latency,
			       w->nr_latency * sizeof(double));
		t->nr_latency += w->nr_latency;
	}
	if (t->latency)
		qsort(t->latency, t->nr_latency, sizeof(double), cmp_double);
	else
		t->nr_latency = 0;
}

static void report(struct run *run, const struct totals *t, double seconds,
		   uint64_t peak)
{
	const struct run_options *o = &run->opt;
	uint64_t total = o->objects * o->object_size;
	struct uttm_context_stats cs;
	struct uttm_monitor_stats ms;
	struct figures set;

	uttm_context_stats(run->ctx, &cs);
	uttm_monitor_stats(run->monitor, &ms);
	figures_init(&set, "uttm run");
	figures_section(&set, "workload");
	figures_add_int(&set, "budget_bytes", "memory budget", "B", o->budget);
	figures_add_int(&set, "total_object_bytes", "object bytes", "B", total);
	figures_add(&set, "oversubscription", "object bytes / budget", "x",
		    (double)total / (double)o->budget);
	figures_add_int(&set, "objects", "objects", "", o->objects);
	figures_add_int(&set, "threads", "threads", "", o->threads);
	figures_add(&set, "duration_s", "run time (fill, touches, final check)",
		    "s", seconds);
	figures_section(&set, "memory");
	figures_add_int(&set, "peak_resident_bytes",
			"peak resident memory (VmHWM)", "B", peak);
	figures_add(&set, "peak_vs_budget", "peak resident / budget", "x",
		    (double)peak / (double)o->budget);
	figures_add_int(&set, "pages_backed_up", "pages backed up", "",
			cs.pages_backed_up);
	figures_add_int(&set, "pages_restored", "pages restored", "",
			cs.pages_restored);
	figures_add_int(&set, "pages_purged", "pages purged", "",
			cs.pages_purged);
	figures_add_int(&set, "monitor_events", "pressure events heard", "",
			ms.events);
	figures_section(&set, "throughput");
	figures_add_int(&set, "touches", "object touches", "", t->touches);
	figures_add(&set, "touches_per_s", "touches per second", "/s",
		    (double)t->touches / seconds);
	figures_add(&set, "verified_gbps", "bytes verified per second", "GB/s",
		    (double)t->bytes_verified / seconds / 1e9);
	figures_add_int(&set, "restores", "restores timed", "", t->nr_latency);
	figures_add(&set, "restore_latency_p50_us", "restore latency p50", "us",
		    latency_us(t->latency, t->nr_latency, 0.50));
	figures_add(&set, "restore_latency_p99_us", "restore latency p99", "us",
		    latency_us(t->latency, t->nr_latency, 0.99));
	figures_section(&set, "data");
	figures_add_int(&set, "bytes_verified", "bytes verified", "B",
			t->bytes_verified);
	figures_add_int(&set, "content_lost_seen",
			"purged objects found empty and refilled", "",
			t->content_lost);
	figures_add_int(&set, "errors", "failed validations", "", t->errors);
	figures_add_int(&set, "mismatches", "bytes that differed", "",
			t->mismatches);
	if (!o->json)
		printf("store %s, pressure source %s\n", o->store,
		       uttm_pressure_source_name(uttm_monitor_source(run->monitor)));
	figures_print(&set, stdout, o->json);
	figures_fini(&set);
}

/* The last pass: every object read and checked once more. */
static void final_check(struct run *run)
{
	struct worker *w = &run->workers[0];

	for (unsigned long id = 0; id < run->opt.objects; id++)
		touch(w, id, true, false);
}

/* Fill, touch for the duration, check everything once more, report. */
static int run_job(struct run *run)
{
	struct fill_job *jobs = calloc(run->opt.threads, sizeof(*jobs));
	double start = now_seconds();
	unsigned int started;
	struct totals t;
	int ret = 0;

	if (!jobs)
		return -ENOMEM;
	started = start_workers(run, fill_main, jobs);
	join_workers(run, started);
	free(jobs);
	if (started == run->opt.threads) {
		started = start_workers(run, worker_main, NULL);
		progress(run, now_seconds());
		atomic_store(&run->stop, true);
		join_workers(run, started);
	}
	if (started < run->opt.threads)
		ret = -EAGAIN;
	if (!ret)
		final_check(run);
	sum_workers(run, &t);
	if (!ret)
		report(run, &t, now_seconds() - start, status_bytes("VmHWM"));
	free(t.latency);
	if (!ret && (t.mismatches || t.errors))
		ret = -EIO;
	return ret;
}

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: uttm run [options]\n"
		"\n"
		"  --budget BYTES       memory budget (default 256M)\n"
		"  --objects N          number of objects (default 320)\n"
		"  --object-size BYTES  size of each (default 4M)\n"
		"  --store NAME         %s|file (default: shmem with swap, else file)\n"
		"  --store-path DIR     where a file store puts its file\n"
		"  --threads N          worker threads (default 2)\n"
		"  --duration SECONDS   touch phase (default 20)\n"
		"  --purgeable SHARE    share of purgeable objects, 0 to 1 (default 0.25)\n"
		"  --skew SHARE         share of touches to the hottest fifth (default 0.8)\n"
		"  --seed N             content and access seed (default 1)\n"
		"  --json               one JSON object instead of the report\n"
		"\nexit status: 0 when every byte checked out, 1 on a mismatch or a\n"
		"failure, 2 on a usage error\n",
		tool_store_names());
}

static int parse_share(const char *text, double *share)
{
	char *end;

	*share = strtod(text, &end);
	return *end || end == text || *share < 0 || *share > 1 ? -EINVAL : 0;
}

static int parse_run_options(int argc, char **argv, struct run_options *o)
{
	static const struct option longopts[] = {
		{ "budget", required_argument, NULL, 'b' },
		{ "objects", required_argument, NULL, 'n' },
		{ "object-size", required_argument, NULL, 'z' },
		{ "store", required_argument, NULL, 's' },
		{ "store-path", required_argument, NULL, 'p' },
		{ "threads", required_argument, NULL, 't' },
		{ "duration", required_argument, NULL, 'd' },
		{ "purgeable", required_argument, NULL, 'g' },
		{ "skew", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long n;
	char *end;
	int c, ret = 0;

	optind = 1;
	while (!ret && (c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			ret = uttm_parse_size(optarg, &o->budget);
			break;
		case 'n':
			ret = parse_uint(optarg, 1UL << 20, &o->objects);
			break;
		case 'z':
			ret = uttm_parse_size(optarg, &o->object_size);
			break;
		case 's':
			o->store = optarg;
			break;
		case 'p':
			o->store_path = optarg;
			break;
		case 't':
			ret = parse_uint(optarg, 256, &n);
			o->threads = (unsigned int)n;
			break;
		case 'd':
			o->duration = strtod(optarg, &end);
			ret = *end || end == optarg || o->duration < 0 ?
			      -EINVAL : 0;
			break;
		case 'g':
			ret = parse_share(optarg, &o->purgeable);
			break;
		case 'k':
			ret = parse_share(optarg, &o->skew);
			break;
		case 'e':
			ret = parse_uint(optarg, ~0UL, &n);
			o->seed = n;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			return 1;
		default:
			ret = -EINVAL;
		}
	}
	if (!ret && (optind != argc || !o->objects || !o->threads ||
		     o->object_size < UTTM_PAGE_SIZE ||
		     o->budget < 16 * UTTM_PAGE_SIZE * POOL_SHARE))
		ret = -EINVAL;
	return ret;
}

int cmd_run(int argc, char **argv)
{
	struct run run = {
		.opt = {
			.budget = 256ULL << 20, .objects = 320,
			.object_size = 4ULL << 20, .threads = 2,
			.duration = 20, .purgeable = 0.25, .skew = 0.8,
			.seed = 1,
		},
	};
	int ret = parse_run_options(argc, argv, &run.opt);

	if (ret) {
		run_usage(ret > 0 ? stdout : stderr);
		return ret > 0 ? 0 : UTTM_EXIT_USAGE;
	}
	if (!run.opt.store)
		run.opt.store = tool_store_default();
	run.objects = calloc(run.opt.objects, sizeof(*run.objects));
	run.workers = calloc(run.opt.threads, sizeof(*run.workers));
	ret = run.objects && run.workers ? 0 : -ENOMEM;
	for (unsigned int i = 0; !ret && i < run.opt.threads; i++) {
		run.workers[i].run = &run;
		run.workers[i].rng = run.opt.seed * 0x9e3779b97f4a7c15ull + i + 1;
	}
	if (!ret)
		ret = run_setup(&run);
	if (!ret)
		ret = run_job(&run);
	run_teardown(&run);
	for (unsigned int i = 0; run.workers && i < run.opt.threads; i++)
		free(run.workers[i].latency);
	free(run.workers);
	free(run.objects);
	if (ret == -EIO)
		fprintf(stderr, "uttm run: data did not check out\n");
	else if (ret == -E2BIG)
		fprintf(stderr, "uttm run: the budget cannot hold 16 objects "
			"next to the process itself; raise --budget\n");
	else if (ret)
		fprintf(stderr, "uttm run: %s (store %s)\n", strerror(-ret),
			run.opt.store);
	return ret ? 1 : 0;
}
