// SPDX-License-Identifier: MIT
/*
 * `uttm bench e2e`: uttm against what a program would do without it,
 * every peer a user would pick, on the same workload and the same
 * content.  Each round runs every side once, in this order, so that the
 * drift of a shared disk and shared CPUs spreads over all of them:
 *
 *   uttm               uttm run's objects on --store (default file)
 *   uttm, lookahead    the same, each worker prefetching its next 4
 *   kernel swap        plain anonymous memory, swapped to a swap file
 *   uttm, shmem        uttm on its shmem store, over that swap file
 *   MAP_SHARED file    the objects in a file on disk, left to the page cache
 *   uttm, compressed   uttm, compressed over a file   \   with compressible
 *   zram               plain memory swapped to zram   |-- content only
 *   zswap              plain memory, zswap in front   /   (--content text)
 *   uttm and kernel swap again with a quarter of the objects purgeable:
 *   uttm drops them, plain memory has no way to and swaps them.
 *
 * Each side runs in a child process confined to a fresh memory cgroup
 * limited to the budget.  On cgroup v1 neither zram's nor zswap's pool is
 * charged to a cgroup, so the parent samples them while the side runs and
 * reports the side's memory with them.
 *
 * Right before and right after uttm's side, each round measures what the
 * disk allows: raw O_DIRECT writes and reads of object-sized chunks in
 * the directory uttm's file store uses.  run_vs_device_limit holds uttm's touches per
 * second against what those rates and the checker's own speed allow at
 * uttm's own miss ratio; restore_p50_vs_raw_read holds its median
 * restore against one raw read of an object.
 *
 * Root is needed for the swap file, zram, zswap and the cgroups; without
 * root or cgroups, or when no swap file can be enabled, the benchmark says
 * which and exits with its own status, leaving nothing behind, as it does
 * when interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uttm/page.h>

#include "bench/confined.h"
#include "bench/direct.h"
#include "bench/e2e.h"
#include "support/cgroup.h"
#include "support/procfs.h"
#include "uttm.h"


#define E2E_OVERSUBSCRIPTION 4
/* Object-sized raw reads and writes per round, for rates and a median. */
#define DEVICE_CHUNKS 32
/* How often a running side's memory is sampled, in milliseconds. */
#define SAMPLE_MS 10

enum side_id {
	SIDE_UTTM,
	SIDE_UTTM_LOOKAHEAD,
	SIDE_KERNEL_SWAP,
	SIDE_UTTM_SHMEM,
	SIDE_MMAP_FILE,
	SIDE_UTTM_COMPRESSED,
	SIDE_ZRAM,
	SIDE_ZSWAP,
	SIDE_UTTM_PURGEABLE,
	SIDE_KERNEL_SWAP_PURGEABLE,
	NR_SIDES
};

/* Where a side keeps its objects. */
enum backing {
	ON_UTTM,
	ON_ANONYMOUS,
	ON_FILE_MAP,
};

/**
 * struct side - one side of the comparison
 * @key: prefix of its JSON fields.
 * @label: what the table calls it.
 * @backing: where its objects live.
 * @store: a uttm side's store; NULL for --store.
 * @swap: what the kernel swaps to while it runs.
 * @purgeable: share of purgeable objects.
 * @compressible: run only with compressible content.
 * @lookahead: objects each worker prefetches ahead.
 */
struct side {
	const char *key;
	const char *label;
	enum backing backing;
	const char *store;
	enum e2e_swap_kind swap;
	double purgeable;
	bool compressible;
	unsigned int lookahead;
};

/* The lookahead of an inference server's next steps, as issue 14 asks. */
#define E2E_LOOKAHEAD 4

static const struct side sides[NR_SIDES] = {
	[SIDE_UTTM] = { "uttm", "uttm (--store)", ON_UTTM },
	[SIDE_UTTM_LOOKAHEAD] = { "uttm_lookahead",
				  "uttm (--store), next 4 objects prefetched",
				  ON_UTTM, .lookahead = E2E_LOOKAHEAD },
	[SIDE_KERNEL_SWAP] = { "kernel_swap",
			       "plain memory, kernel swap to a swap file",
			       ON_ANONYMOUS },
	[SIDE_UTTM_SHMEM] = { "uttm_shmem",
			      "uttm, shmem store over the swap file", ON_UTTM,
			      "shmem" },
	[SIDE_MMAP_FILE] = { "mmap_file",
			     "a MAP_SHARED file left to the page cache",
			     ON_FILE_MAP },
	/* Over a file store, which holds what the pool's cap does not. */
	[SIDE_UTTM_COMPRESSED] = { "uttm_compressed",
				   "uttm, compressed store (LZ4) over a file",
				   ON_UTTM, "compressed-file",
				   .compressible = true },
	[SIDE_ZRAM] = { "zram", "plain memory, kernel swap to zram",
			ON_ANONYMOUS, .swap = E2E_SWAP_ZRAM,
			.compressible = true },
	[SIDE_ZSWAP] = { "zswap",
			 "plain memory, zswap before the swap file",
			 ON_ANONYMOUS, .swap = E2E_SWAP_ZSWAP,
			 .compressible = true },
	[SIDE_UTTM_PURGEABLE] = { "uttm_purgeable",
				  "uttm (--store), a quarter purgeable",
				  ON_UTTM, .purgeable = 0.25 },
	[SIDE_KERNEL_SWAP_PURGEABLE] = {
		"kernel_swap_purgeable",
		"plain memory, kernel swap, the same quarter",
		ON_ANONYMOUS, .purgeable = 0.25 },
};

/* What a side's child reports through its pipe. */
struct child_report {
	struct workload_result w;
	uint64_t store_bytes;	/* uttm: written to the store by the shrinker */
	int error;
};

/**
 * struct side_result - one side in one round
 * @child: what its child reported.
 * @swap_bytes: written to swap devices while it ran, by anyone: swap is
 * the system's.
 * @swap_peak_bytes: the peak of the swap its cgroup held, sampled.
 * @peak_bytes: the peak of its cgroup.
 * @outside_peak_bytes: the peak of zram's or zswap's pool, outside it.
 * @memory_peak_bytes: the peak of both together, sampled, and at least
 * @peak_bytes.
 * @oom_kills: OOM kills its cgroup saw.
 * @done: it ran to the end and every byte checked out.
 */
struct side_result {
	struct child_report child;
	uint64_t swap_bytes;
	uint64_t swap_peak_bytes;
	uint64_t peak_bytes;
	uint64_t outside_peak_bytes;
	uint64_t memory_peak_bytes;
	uint64_t oom_kills;
	bool done;
};

/**
 * struct device_round - what the disk did in one round, raw O_DIRECT
 * @write_gbps: writing object-sized chunks.
 * @read_gbps: reading them back.
 * @read_p50_us: the median of those reads: one object read.
 * @pairs_per_s: objects read while as many are written, a second.
 */
struct device_round {
	double write_gbps;
	double read_gbps;
	double read_p50_us;
	double pairs_per_s;
};

struct round {
	struct device_round device;
	struct side_result side[NR_SIDES];
};

struct e2e {
	const struct bench_options *opts;
	struct workload_options wl;
	struct confined env;
	const char *store;
	const char *dir;
	bool compressible;
	struct e2e_swap swap;
	struct round *rounds;
	bool failed;
};

/* Whether side @s runs: its content and what it swaps to are here. */
static bool side_runs(const struct e2e *e, enum side_id s)
{
	return (!sides[s].compressible || e->compressible) &&
	       e->swap.available[sides[s].swap];
}

static int run_side(const struct e2e *e, enum side_id s,
		    struct child_report *r)
{
	const struct side *side = &sides[s];
	struct workload_options wl = e->wl;
	struct run_config cfg = { .store = side->store ? side->store :
							 e->store };
	struct run_summary sum;
	int ret;

	wl.purgeable = side->purgeable;
	wl.lookahead = side->lookahead;
	if (side->backing != ON_UTTM)
		return e2e_run_mapped(&wl, side->backing == ON_FILE_MAP ?
					   e->dir : NULL, &r->w);
	ret = run_uttm(&wl, &cfg, &sum);
	r->w = sum.result;
	r->store_bytes = sum.pages_backed_up * UTTM_PAGE_SIZE;
	return ret;
}

/* Bytes the system wrote to swap since boot: pswpout counts its pages. */
static uint64_t swapped_out_bytes(void)
{
	return proc_number("/proc/vmstat", "pswpout ") *
	       (uint64_t)sysconf(_SC_PAGESIZE);
}

static void sample_memory(const struct e2e *e, const struct cgroup *cg,
			  struct side_result *r)
{
	uint64_t outside = e2e_swap_outside_bytes(&e->swap);
	uint64_t both = cgroup_usage(cg) + outside;
	uint64_t swap = cgroup_swap_usage(cg);

	if (swap > r->swap_peak_bytes)
		r->swap_peak_bytes = swap;
	if (outside > r->outside_peak_bytes)
		r->outside_peak_bytes = outside;
	if (both > r->memory_peak_bytes)
		r->memory_peak_bytes = both;
}

/*
 * Reads the child's report, sampling memory while waiting; a signal makes
 * the child go, also one that came before the wait began.
 */
static int read_report(const struct e2e *e, int fd, pid_t child,
		       const struct cgroup *cg, struct side_result *r)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *report = (char *)&r->child;
	size_t got = 0;

	while (got < sizeof(r->child) && !confined_interrupted()) {
		int ready = poll(&pfd, 1, SAMPLE_MS);
		ssize_t n;

		sample_memory(e, cg, r);
		if (ready <= 0) {
			if (ready < 0 && errno != EINTR)
				break;
			continue;
		}
		n = read(fd, report + got, sizeof(r->child) - got);
		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	if (got == sizeof(r->child))
		return 0;
	kill(child, SIGKILL);
	return confined_interrupted() ? -EINTR : -EPIPE;
}

/* Runs side @s in a child process inside a fresh cgroup. */
static int run_child(struct e2e *e, enum side_id s, const struct cgroup *cg,
		     struct side_result *r)
{
	uint64_t swapped = swapped_out_bytes();
	int fds[2], status, ret;
	pid_t child;

	if (pipe(fds))
		return -errno;
	child = fork();
	if (!child) {
		struct child_report mine = { .error = cgroup_enter(cg) };

		close(fds[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		if (!mine.error)
			mine.error = run_side(e, s, &mine);
		_exit(write(fds[1], &mine, sizeof(mine)) == sizeof(mine) ?
		      0 : 1);
	}
	ret = child < 0 ? -errno : 0;	/* before close() may change errno */
	close(fds[1]);
	if (!ret)
		ret = read_report(e, fds[0], child, cg, r);
	close(fds[0]);
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	r->swap_bytes = swapped_out_bytes() - swapped;
	return ret ? ret : r->child.error;
}

/* One side, one round: what it swaps to set up, a cgroup, a child. */
static int measure(struct e2e *e, enum side_id s, unsigned int round,
		   struct side_result *r)
{
	struct cgroup cg;
	char name[64];
	int ret = e2e_swap_enter(&e->swap, sides[s].swap);

	if (ret)
		return ret;
	snprintf(name, sizeof(name), "uttm-e2e-%d-%u-%u", getpid(), s, round);
	ret = cgroup_create(&cg, name, e->wl.budget);
	if (!ret) {
		ret = run_child(e, s, &cg, r);
		r->peak_bytes = cgroup_peak(&cg);
		r->oom_kills = cgroup_oom_kills(&cg);
		if (r->peak_bytes > r->memory_peak_bytes)
			r->memory_peak_bytes = r->peak_bytes;
		if (r->oom_kills && ret != -EINTR)
			ret = -ENOMEM;
		confined_remove(&cg);
	}
	e2e_swap_leave(&e->swap);
	return ret;
}

/*
 * Measures one side and says why it did not complete.  A side whose data
 * did not check out or a uttm side killed by the OOM killer lost data,
 * and a side that failed otherwise was not measured: either fails the
 * benchmark.  A peer the OOM killer stopped, or objects a store had no
 * room for, are results, reported as such.
 */
static void measure_checked(struct e2e *e, enum side_id s,
			    unsigned int round, struct side_result *r)
{
	const struct workload_result *w = &r->child.w;
	int ret = measure(e, s, round, r);

	if (!ret && (w->mismatches || w->errors))
		ret = -EIO;
	r->done = !ret;
	if (!ret || ret == -EINTR)
		return;
	if (w->mismatches ||
	    (r->oom_kills ? sides[s].backing == ON_UTTM : !w->errors))
		e->failed = true;
	fprintf(stderr, "uttm bench e2e: %s, round %u: ", sides[s].label,
		round + 1);
	if (r->oom_kills)
		fprintf(stderr, "killed by the OOM killer of its cgroup\n");
	else if (w->mismatches)
		fprintf(stderr, "%llu bytes did not check out\n",
			(unsigned long long)w->mismatches);
	else if (w->errors)
		fprintf(stderr, "%lu touches could not make their object "
			"resident\n", w->errors);
	else
		fprintf(stderr, "%s\n", strerror(-ret));
}

static void *transfer_main(void *io)
{
	return (void *)(intptr_t)direct_transfer(io);
}

/* @read and @write at once, each in its own thread, as pairs a second. */
static int transfer_both(struct direct_io *read, struct direct_io *write,
			 double *pairs_per_s)
{
	double start = now_seconds();
	void *write_ret;
	pthread_t thread;
	int ret;

	if (pthread_create(&thread, NULL, transfer_main, write))
		return -EAGAIN;
	ret = direct_transfer(read);
	pthread_join(thread, &write_ret);
	*pairs_per_s = (double)(read->bytes / read->chunk) /
		       (now_seconds() - start);
	return ret ? ret : (int)(intptr_t)write_ret;
}

/*
 * The disk's raw O_DIRECT rates in the directory of uttm's file, in
 * object-sized chunks: written, read back (each read timed), then read
 * and written at once by two threads, as a miss reads its object while
 * the one it displaces goes out.  The file's blocks are allocated first,
 * as the file store allocates its slots.
 */
static int measure_device(const struct e2e *e, struct device_round *d)
{
	uint64_t half = DEVICE_CHUNKS * E2E_OBJECT_SIZE;
	double reads[DEVICE_CHUNKS];
	char *buf = mmap(NULL, 2 * half, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	struct direct_io out = { .buf = buf, .bytes = half,
				 .chunk = E2E_OBJECT_SIZE, .write = true };
	struct direct_io in = out, more = out;
	int fd, ret;

	if (buf == MAP_FAILED)
		return -ENOMEM;
	memset(buf, 0x5a, 2 * half);
	fd = open(e->dir, O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC, 0600);
	ret = fd < 0 ? -errno : -posix_fallocate(fd, 0, (off_t)(2 * half));
	out.fd = in.fd = more.fd = fd;
	in.write = false;
	in.chunk_seconds = reads;
	more.offset = half;
	more.buf = buf + half;
	if (!ret)
		ret = direct_transfer(&out);
	if (!ret)
		ret = direct_transfer(&in);
	d->write_gbps = out.gbps;
	d->read_gbps = in.gbps;
	d->read_p50_us = median(reads, DEVICE_CHUNKS) * 1e6;
	in.chunk_seconds = NULL;
	if (!ret)
		ret = transfer_both(&in, &more, &d->pairs_per_s);
	if (fd >= 0)
		close(fd);
	munmap(buf, 2 * half);
	return ret;
}

/*
 * uttm's side, with the disk measured right before and right after it:
 * the round's figures of the disk are the means.
 */
static int measure_uttm_and_disk(struct e2e *e, unsigned int i)
{
	struct device_round *d = &e->rounds[i].device, after;
	int ret = measure_device(e, d);

	if (!ret)
		measure_checked(e, SIDE_UTTM, i, &e->rounds[i].side[SIDE_UTTM]);
	if (!ret && !confined_interrupted()) {
		ret = measure_device(e, &after);
		d->write_gbps = (d->write_gbps + after.write_gbps) / 2;
		d->read_gbps = (d->read_gbps + after.read_gbps) / 2;
		d->read_p50_us = (d->read_p50_us + after.read_p50_us) / 2;
		d->pairs_per_s = (d->pairs_per_s + after.pairs_per_s) / 2;
	}
	if (ret)
		fprintf(stderr, "uttm bench e2e: raw O_DIRECT I/O in %s: %s\n",
			e->dir, strerror(-ret));
	return ret;
}

/*
 * Every side once, the disk measured around uttm's, since a shared disk
 * drifts by tens of percent within seconds; a signal stops it at once.
 */
static int run_round(struct e2e *e, unsigned int i)
{
	struct round *round = &e->rounds[i];
	int ret = measure_uttm_and_disk(e, i);

	for (int s = SIDE_UTTM + 1; !ret && s < NR_SIDES; s++)
		if (!confined_interrupted() && side_runs(e, s))
			measure_checked(e, s, i, &round->side[s]);
	return ret ? ret : confined_interrupted() ? -EINTR : 0;
}

/*
 * The touches per second the disk and the checker allow at the uttm
 * side's own miss ratio.  Every miss reads its object.  An object
 * rewritten since it last went out must be written before its memory is
 * used again, a clean one need not (the page cache drops clean pages, the
 * swap cache keeps their slots), so the touch phase writes at least as
 * many objects as it rewrote, at most one per miss: those writes go
 * alongside reads, at the raw rate of such pairs, the other reads alone.
 * Every touch checks its object and some rewrite it, at the checker's and
 * the filler's own speed, all workers at once.  The slower of the disk
 * and the CPU bounds the run.
 */
static double device_limit(const struct e2e *e, const struct round *round)
{
	const struct workload_result *w = &round->side[SIDE_UTTM].child.w;
	const struct workload_tally *t = &w->touch_phase;
	const struct device_round *d = &round->device;
	double touches = (double)t->touches, misses = (double)t->restores;
	double rewrites = (double)t->bytes_filled / E2E_OBJECT_SIZE;
	double writes = rewrites < misses ? rewrites : misses;
	double reads_per_s = d->read_gbps * 1e9 / E2E_OBJECT_SIZE;
	double io = ((misses - writes) / reads_per_s +
		     writes / d->pairs_per_s) / touches;
	double cpu = ((double)t->bytes_checked / w->check_per_s +
		      (double)t->bytes_filled / w->fill_per_s) /
		     touches / e->wl.threads;

	return 1 / (io > cpu ? io : cpu);
}

/* The median of @values, NaN when there are none. */
static double median_or_nan(double *values, unsigned int n)
{
	return n ? median(values, n) : NAN;
}

/* A figure that may be missing (NaN): printed as null or "-". */
static void add_figure(struct figures *set, const char *key,
		       const char *label, const char *unit, bool integer,
		       double value)
{
	if (integer && isfinite(value))
		figures_add_int(set, key, label, unit, (uint64_t)value);
	else
		figures_add(set, key, label, unit, value);
}

/* Where a per-side figure is shown. */
enum shown_for {
	FOR_ALL,
	FOR_UTTM,	/* uttm's sides */
	FOR_OUTSIDE,	/* the sides whose pool is outside the cgroup */
};

static double touches_per_s(const struct side_result *r)
{
	return r->child.w.touches_per_s;
}

static double verified_gbps(const struct side_result *r)
{
	return r->child.w.verified_per_s / 1e9;
}

static double checker_gbps(const struct side_result *r)
{
	return r->child.w.check_per_s / 1e9;
}

static double touch_p50(const struct side_result *r)
{
	return r->child.w.touch_p50_us;
}

static double touch_p99(const struct side_result *r)
{
	return r->child.w.touch_p99_us;
}

static double restore_p50(const struct side_result *r)
{
	return r->child.w.restore_p50_us;
}

static double restore_p99(const struct side_result *r)
{
	return r->child.w.restore_p99_us;
}

static double peak(const struct side_result *r)
{
	return (double)r->peak_bytes;
}

static double outside_peak(const struct side_result *r)
{
	return (double)r->outside_peak_bytes;
}

static double memory_peak(const struct side_result *r)
{
	return (double)r->memory_peak_bytes;
}

static double store_written(const struct side_result *r)
{
	return (double)r->child.store_bytes;
}

static double swap_written(const struct side_result *r)
{
	return (double)r->swap_bytes;
}

static double swap_peak(const struct side_result *r)
{
	return (double)r->swap_peak_bytes;
}

static const struct side_figure {
	const char *suffix;
	const char *label;
	const char *unit;
	bool integer;
	enum shown_for shown_for;
	double (*get)(const struct side_result *r);
} side_figures[] = {
	{ "touches_per_s", "touches per second", "/s", false, FOR_ALL,
	  touches_per_s },
	{ "verified_gbps", "  bytes verified per second", "GB/s", false,
	  FOR_ALL, verified_gbps },
	{ "checker_gbps", "  checker speed, per thread", "GB/s", false,
	  FOR_UTTM, checker_gbps },
	{ "touch_p50_us", "  touch latency p50", "us", false, FOR_ALL,
	  touch_p50 },
	{ "touch_p99_us", "  touch latency p99", "us", false, FOR_ALL,
	  touch_p99 },
	{ "restore_p50_us", "  restore latency p50", "us", false, FOR_UTTM,
	  restore_p50 },
	{ "restore_p99_us", "  restore latency p99", "us", false, FOR_UTTM,
	  restore_p99 },
	{ "peak_bytes", "  peak memory of its cgroup", "B", true, FOR_ALL,
	  peak },
	{ "outside_peak_bytes", "  peak of its pool, outside the cgroup", "B",
	  true, FOR_OUTSIDE, outside_peak },
	{ "memory_peak_bytes", "  peak memory, pool included", "B", true,
	  FOR_ALL, memory_peak },
	{ "store_bytes_written", "  bytes written to its store", "B", true,
	  FOR_UTTM, store_written },
	{ "swap_peak_bytes", "  peak swap its cgroup held", "B", true, FOR_ALL,
	  swap_peak },
	{ "swap_bytes_written", "  bytes written to swap, system-wide", "B",
	  true, FOR_ALL, swap_written },
};

#define NR_SIDE_FIGURES (sizeof(side_figures) / sizeof(side_figures[0]))

static bool figure_shown(const struct side_figure *f, enum side_id s)
{
	switch (f->shown_for) {
	case FOR_UTTM:
		return sides[s].backing == ON_UTTM;
	case FOR_OUTSIDE:
		return sides[s].swap != E2E_SWAP_FILE;
	default:
		return true;
	}
}

/* The median of @get over the rounds side @s completed. */
static double side_median(const struct e2e *e, enum side_id s,
			  double (*get)(const struct side_result *r))
{
	double v[e->opts->rounds];
	unsigned int n = 0;

	for (unsigned int i = 0; i < e->opts->rounds; i++)
		if (e->rounds[i].side[s].done)
			v[n++] = get(&e->rounds[i].side[s]);
	return median_or_nan(v, n);
}

/*
 * Keys are "<side>_<figure>", and "<side>_rounds_completed" after them;
 * the set keeps pointers, so they live here.
 */
static char side_keys[NR_SIDES][NR_SIDE_FIGURES + 1][48];

static void report_side(struct figures *set, const struct e2e *e,
			enum side_id s)
{
	unsigned int done = 0;

	figures_section(set, sides[s].label);
	for (size_t f = 0; f < NR_SIDE_FIGURES; f++) {
		const struct side_figure *fig = &side_figures[f];

		if (!figure_shown(fig, s))
			continue;
		snprintf(side_keys[s][f], sizeof(side_keys[s][f]), "%s_%s",
			 sides[s].key, fig->suffix);
		add_figure(set, side_keys[s][f], fig->label, fig->unit,
			   fig->integer, side_median(e, s, fig->get));
	}
	for (unsigned int i = 0; i < e->opts->rounds; i++)
		done += e->rounds[i].side[s].done;
	snprintf(side_keys[s][NR_SIDE_FIGURES], sizeof(side_keys[s][0]),
		 "%s_rounds_completed", sides[s].key);
	figures_add_int(set, side_keys[s][NR_SIDE_FIGURES],
			"  rounds it completed", "", done);
}

/* uttm's side against a peer, touches per second. */
static const struct ratio {
	const char *key;
	const char *label;
	enum side_id uttm;
	enum side_id peer;
} ratios[] = {
	{ "run_vs_kernel_swap", "uttm / kernel swap", SIDE_UTTM,
	  SIDE_KERNEL_SWAP },
	{ "run_vs_kernel_swap_shmem", "uttm on shmem / kernel swap",
	  SIDE_UTTM_SHMEM, SIDE_KERNEL_SWAP },
	{ "run_vs_mmap_file", "uttm / MAP_SHARED file", SIDE_UTTM,
	  SIDE_MMAP_FILE },
	{ "run_vs_zram", "uttm compressed / zram", SIDE_UTTM_COMPRESSED,
	  SIDE_ZRAM },
	{ "run_vs_zswap", "uttm compressed / zswap", SIDE_UTTM_COMPRESSED,
	  SIDE_ZSWAP },
	{ "run_vs_kernel_swap_purgeable",
	  "uttm / kernel swap, a quarter purgeable", SIDE_UTTM_PURGEABLE,
	  SIDE_KERNEL_SWAP_PURGEABLE },
};

/* Median of the per-round ratios, over the rounds both sides completed. */
static double ratio_median(const struct e2e *e, const struct ratio *q)
{
	double v[e->opts->rounds];
	unsigned int n = 0;

	for (unsigned int i = 0; i < e->opts->rounds; i++) {
		const struct side_result *a = &e->rounds[i].side[q->uttm];
		const struct side_result *b = &e->rounds[i].side[q->peer];

		if (a->done && b->done)
			v[n++] = a->child.w.touches_per_s /
				 b->child.w.touches_per_s;
	}
	return median_or_nan(v, n);
}

/* The disk, and uttm's side against what it allows, per round. */
static void report_device(struct figures *set, const struct e2e *e)
{
	unsigned int rounds = e->opts->rounds, n = 0;
	double limit[rounds], vs_limit[rounds], vs_read[rounds];
	double prefetch_vs_read[rounds];
	unsigned int prefetched = 0;
	double write[rounds], read[rounds], read_p50[rounds], pairs[rounds];
	double misses[rounds];

	for (unsigned int i = 0; i < rounds; i++) {
		const struct round *round = &e->rounds[i];
		const struct workload_result *w = &round->side[SIDE_UTTM].child.w;

		if (!round->side[SIDE_UTTM].done)
			continue;
		write[n] = round->device.write_gbps;
		read[n] = round->device.read_gbps;
		read_p50[n] = round->device.read_p50_us;
		pairs[n] = round->device.pairs_per_s;
		misses[n] = (double)w->touch_phase.restores /
			    (double)w->touch_phase.touches;
		limit[n] = device_limit(e, round);
		vs_limit[n] = w->touches_per_s / limit[n];
		vs_read[n] = w->restore_p50_us / round->device.read_p50_us;
		n++;
		if (round->side[SIDE_UTTM_LOOKAHEAD].done)
			prefetch_vs_read[prefetched++] =
				round->side[SIDE_UTTM_LOOKAHEAD]
					.child.w.restore_p50_us /
				round->device.read_p50_us;
	}
	figures_section(set, "the disk around uttm's side: raw O_DIRECT, "
			     "4 MiB chunks");
	figures_add(set, "raw_odirect_write_gbps", "write", "GB/s",
		    median_or_nan(write, n));
	figures_add(set, "raw_odirect_read_gbps", "read", "GB/s",
		    median_or_nan(read, n));
	figures_add(set, "raw_odirect_read_4m_p50_us", "read of one object, "
		    "p50", "us", median_or_nan(read_p50, n));
	figures_add(set, "raw_odirect_read_write_pairs_per_s", "objects read "
		    "while as many are written", "/s", median_or_nan(pairs, n));
	figures_add(set, "uttm_miss_ratio", "uttm's touches that restored, "
		    "touch phase", "", median_or_nan(misses, n));
	figures_add(set, "device_limit_touches_per_s", "touches per second "
		    "they and the checker allow uttm", "/s",
		    median_or_nan(limit, n));
	figures_add(set, "run_vs_device_limit", "uttm / that limit", "x",
		    median_or_nan(vs_limit, n));
	figures_add(set, "restore_p50_vs_raw_read",
		    "uttm's restore p50 / one raw read", "x",
		    median_or_nan(vs_read, n));
	figures_add(set, "prefetch_restore_p50_vs_raw_read",
		    "  the same, next 4 objects prefetched", "x",
		    median_or_nan(prefetch_vs_read, prefetched));
}

static void report(const struct e2e *e)
{
	struct figures set;

	figures_init(&set, "uttm bench e2e: uttm against every peer, same "
		     "workload and content (medians)");
	figures_add_int(&set, "rounds", "rounds (sides interleaved)", "",
			e->opts->rounds);
	figures_add_int(&set, "budget_bytes", "budget, each side's cgroup",
			"B", e->wl.budget);
	figures_add(&set, "oversubscription", "object bytes / budget", "x",
		    E2E_OVERSUBSCRIPTION);
	figures_add(&set, "duration_s", "touch phase per side", "s",
		    e->wl.duration);
	figures_add_text(&set, "content", "content",
			 pattern_content_name(e->wl.content));
	figures_add(&set, "same_filled_share", "same-filled pages", "",
		    e->wl.same_filled);
	figures_add_text(&set, "uttm_store", "store of uttm's side (--store)",
			 e->store);
	if (side_runs(e, SIDE_ZRAM))
		figures_add_text(&set, "zram_compressor", "zram's compressor",
				 E2E_COMPRESSOR);
	if (side_runs(e, SIDE_ZSWAP))
		figures_add_text(&set, "zswap_compressor",
				 "zswap's compressor (the crypto API's)",
				 e->swap.zswap_compressor);
	for (int s = 0; s < NR_SIDES; s++)
		if (side_runs(e, s))
			report_side(&set, e, s);
	figures_section(&set, "uttm / peer, touches per second, median of "
			      "the rounds both completed");
	for (size_t q = 0; q < sizeof(ratios) / sizeof(ratios[0]); q++)
		if (side_runs(e, ratios[q].uttm) &&
		    side_runs(e, ratios[q].peer))
			figures_add(&set, ratios[q].key, ratios[q].label, "x",
				    ratio_median(e, &ratios[q]));
	report_device(&set, e);
	figures_print(&set, stdout, e->opts->json);
	figures_fini(&set);
}

static int prepare(struct e2e *e)
{
	int ret = confined_prepare(&e->env, "uttm bench e2e", "e2e", 0);

	if (ret)
		return ret;
	ret = e2e_swap_prepare(&e->swap, e->dir,
			       (E2E_OVERSUBSCRIPTION + 1) * e->wl.budget);
	if (ret) {
		fprintf(stderr, "uttm bench e2e: cannot enable a swap file at "
			"%s: %s\n", e->swap.path, strerror(-ret));
		confined_finish(&e->env);
		return EXIT_NO_SWAP;
	}
	return 0;
}

int bench_e2e(const struct bench_options *opts)
{
	struct e2e e = {
		.opts = opts,
		.store = opts->store ? opts->store : "file",
		.dir = tool_tmpdir(),
		.compressible = opts->content != PATTERN_RANDOM ||
				opts->same_filled > 0,
		.wl = {
			.budget = opts->bytes,
			.object_size = E2E_OBJECT_SIZE,
			.objects = (unsigned long)(E2E_OVERSUBSCRIPTION *
						   opts->bytes / E2E_OBJECT_SIZE),
			.threads = 2,
			.duration = opts->duration,
			.skew = 0.8,
			.seed = 1,
			.content = opts->content,
			.same_filled = opts->same_filled,
		},
	};
	int ret = 0, status;

	e.rounds = calloc(opts->rounds, sizeof(*e.rounds));
	if (!e.rounds)
		return 1;
	status = prepare(&e);
	for (unsigned int i = 0;
	     !status && !ret && !confined_interrupted() && i < opts->rounds; i++)
		ret = run_round(&e, i);
	if (!status) {
		e2e_swap_restore(&e.swap);
		confined_finish(&e.env);
		if (!ret)
			report(&e);
	}
	free(e.rounds);
	if (confined_interrupted())
		return 128 + confined_interrupted();
	if (status)
		return status;
	return ret || e.failed ? 1 : 0;
}
