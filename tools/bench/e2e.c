// SPDX-License-Identifier: MIT
/*
 * `uttm bench e2e`: uttm against what a program would do without it.
 * The same workload runs twice per round, interleaved: (a) on uttm
 * objects, as `uttm run` does, and (b) on plain anonymous memory, the
 * kernel swapping as it likes to a swap file the benchmark makes for the
 * run.  Each side runs in a child process confined to a memory cgroup
 * limited to the budget.  A second variant makes a quarter of the objects
 * purgeable: uttm drops them, plain memory has no way to and swaps them.
 *
 * Root is needed for the swap file and the cgroups; without either the
 * benchmark says which and exits with its own status, leaving nothing
 * behind, as it does when interrupted.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uttm/page.h>

#include "bench/confined.h"
#include "run/workload.h"
#include "support/cgroup.h"
#include "support/procfs.h"
#include "uttm.h"

#define E2E_OVERSUBSCRIPTION 4

enum side { SIDE_UTTM, SIDE_KERNEL, NR_SIDES };

static const char *const side_names[NR_SIDES] = { "uttm", "kernel swap" };

/* What a child reports through its pipe, and what the parent adds. */
struct side_result {
	struct workload_result w;
	uint64_t store_bytes;	/* uttm: written to the store by the shrinker */
	uint64_t swap_bytes;	/* written to swap while it ran */
	uint64_t peak_bytes;	/* peak of its cgroup */
	uint64_t oom_kills;	/* OOM kills its cgroup saw */
	int error;
};

struct e2e {
	const struct bench_options *opts;
	struct workload_options wl;
	struct confined env;
	const char *store;
};

/* Plain memory: objects side by side in one anonymous mapping. */
struct plain {
	char *mem;
	uint64_t object_size;
	pthread_mutex_t *locks;
};

static int plain_begin(struct workload *wl, unsigned long id, bool *restored)
{
	struct plain *p = workload_priv(wl);

	pthread_mutex_lock(&p->locks[id]);
	return 0;
}

static void *plain_page(struct workload *wl, unsigned long id,
			unsigned long index)
{
	struct plain *p = workload_priv(wl);

	return p->mem + id * p->object_size + index * UTTM_PAGE_SIZE;
}

static void plain_end(struct workload *wl, unsigned long id)
{
	struct plain *p = workload_priv(wl);

	pthread_mutex_unlock(&p->locks[id]);
}

static const struct workload_backend plain_backend = {
	.begin = plain_begin,
	.page = plain_page,
	.end = plain_end,
};

static int run_plain(const struct workload_options *o, struct side_result *r)
{
	uint64_t total = o->objects * o->object_size;
	struct plain p = { .object_size = o->object_size };
	int ret = -ENOMEM;

	p.mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	p.locks = calloc(o->objects, sizeof(*p.locks));
	if (p.mem != MAP_FAILED && p.locks) {
		for (unsigned long i = 0; i < o->objects; i++)
			pthread_mutex_init(&p.locks[i], NULL);
		ret = workload_run(o, &plain_backend, &p, &r->w);
	}
	free(p.locks);
	if (p.mem != MAP_FAILED)
		munmap(p.mem, total);
	return ret;
}

static int run_side(struct e2e *e, enum side side, struct side_result *r)
{
	struct run_summary sum;
	int ret;

	if (side == SIDE_KERNEL)
		return run_plain(&e->wl, r);
	ret = run_uttm(&e->wl, &(struct run_config){ .store = e->store },
		       &sum);
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

/*
 * Reads the child's report; a signal makes the child go, also one that
 * came before the read began.
 */
static int read_report(int fd, pid_t child, struct side_result *r)
{
	size_t got = 0;

	while (got < sizeof(*r) && !confined_interrupted()) {
		ssize_t n = read(fd, (char *)r + got, sizeof(*r) - got);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
	}
	if (got == sizeof(*r))
		return 0;
	kill(child, SIGKILL);
	return confined_interrupted() ? -EINTR : -EPIPE;
}

/* Runs one side in a child process inside a fresh cgroup. */
static int measure(struct e2e *e, enum side side, unsigned int round,
		   struct side_result *r)
{
	struct cgroup cg;
	char name[64];
	uint64_t swapped;
	int fds[2], status, ret;
	pid_t child;

	snprintf(name, sizeof(name), "uttm-e2e-%d-%u-%u", getpid(), side,
		 round);
	ret = cgroup_create(&cg, name, e->wl.budget);
	if (ret)
		return ret;
	if (pipe(fds)) {
		ret = -errno;
		goto out_cgroup;
	}
	swapped = swapped_out_bytes();
	child = fork();
	if (!child) {
		struct side_result mine = { .error = cgroup_enter(&cg) };

		close(fds[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		if (!mine.error)
			mine.error = run_side(e, side, &mine);
		_exit(write(fds[1], &mine, sizeof(mine)) == sizeof(mine) ?
		      0 : 1);
	}
	ret = child < 0 ? -errno : 0;	/* before close() may change errno */
	close(fds[1]);
	if (!ret)
		ret = read_report(fds[0], child, r);
	close(fds[0]);
	while (child > 0 && waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	if (!ret)
		ret = r->error;
	r->swap_bytes = swapped_out_bytes() - swapped;
	r->peak_bytes = cgroup_peak(&cg);
	r->oom_kills = cgroup_oom_kills(&cg);
	if (r->oom_kills)
		ret = -ENOMEM;
out_cgroup:
	confined_remove(&cg);
	return ret;
}

/*
 * One variant of the workload, and its figures: medians per side and of
 * the ratios.
 */
struct variant {
	double purgeable;	/* share of purgeable objects */
	const char *label;
	const char *ratio;
	const char *touches[NR_SIDES];
	const char *verified[NR_SIDES];
	const char *p50[NR_SIDES];
	const char *p99[NR_SIDES];
	const char *peak[NR_SIDES];
	const char *written;
	const char *swap[NR_SIDES];
};

static const struct variant variants[] = {
	{
		0, "no purgeable objects", "run_vs_kernel_swap",
		{ "uttm_touches_per_s", "kernel_swap_touches_per_s" },
		{ "uttm_verified_gbps", "kernel_swap_verified_gbps" },
		{ "uttm_touch_p50_us", "kernel_swap_touch_p50_us" },
		{ "uttm_touch_p99_us", "kernel_swap_touch_p99_us" },
		{ "uttm_peak_bytes", "kernel_swap_peak_bytes" },
		"uttm_store_bytes_written",
		{ "uttm_swap_bytes_written", "kernel_swap_swap_bytes_written" },
	},
	{
		0.25, "a quarter purgeable", "run_vs_kernel_swap_purgeable",
		{ "uttm_touches_per_s_purgeable",
		  "kernel_swap_touches_per_s_purgeable" },
		{ "uttm_verified_gbps_purgeable",
		  "kernel_swap_verified_gbps_purgeable" },
		{ "uttm_touch_p50_us_purgeable",
		  "kernel_swap_touch_p50_us_purgeable" },
		{ "uttm_touch_p99_us_purgeable",
		  "kernel_swap_touch_p99_us_purgeable" },
		{ "uttm_peak_bytes_purgeable", "kernel_swap_peak_bytes_purgeable" },
		"uttm_store_bytes_written_purgeable",
		{ "uttm_swap_bytes_written_purgeable",
		  "kernel_swap_swap_bytes_written_purgeable" },
	},
};

#define NR_VARIANTS (sizeof(variants) / sizeof(variants[0]))

static void report_variant(struct figures *set, const struct variant *k,
			   struct side_result (*r)[NR_SIDES], unsigned int n)
{
	figures_section(set, k->label);
	for (unsigned int s = 0; s < NR_SIDES; s++) {
		figures_add(set, k->touches[s], side_names[s], "touches/s",
			    MEDIAN_EXPR(n, i, r[i][s].w.touches_per_s));
		figures_add(set, k->verified[s], "  bytes verified per second",
			    "GB/s",
			    MEDIAN_EXPR(n, i, r[i][s].w.verified_per_s) / 1e9);
		figures_add(set, k->p50[s], "  touch latency p50", "us",
			    MEDIAN_EXPR(n, i, r[i][s].w.touch_p50_us));
		figures_add(set, k->p99[s], "  touch latency p99", "us",
			    MEDIAN_EXPR(n, i, r[i][s].w.touch_p99_us));
		figures_add_int(set, k->peak[s], "  peak memory of its cgroup",
				"B", MEDIAN_EXPR(n, i, r[i][s].peak_bytes));
		/* Plain memory has no store. */
		if (s == SIDE_UTTM)
			figures_add_int(set, k->written,
					"  bytes written to a store", "B",
					MEDIAN_EXPR(n, i, r[i][s].store_bytes));
		figures_add_int(set, k->swap[s], "  bytes written to swap", "B",
				MEDIAN_EXPR(n, i, r[i][s].swap_bytes));
	}
	figures_add(set, k->ratio, "uttm / kernel swap, median of rounds", "x",
		    MEDIAN_EXPR(n, i, r[i][SIDE_UTTM].w.touches_per_s /
				      r[i][SIDE_KERNEL].w.touches_per_s));
}

/* One side, one round, its data checked; a failure is said. */
static int measure_checked(struct e2e *e, enum side side, unsigned int round,
			   struct side_result *r)
{
	int ret = measure(e, side, round, r);

	if (!ret && (r->w.mismatches || r->w.errors))
		ret = -EIO;
	if (ret)
		fprintf(stderr, "uttm bench e2e: %s side, round %u: %s\n",
			side_names[side], round + 1, r->oom_kills ?
			"killed by the OOM killer of its cgroup" :
			strerror(-ret));
	return ret;
}

/* The rounds of one variant; a signal stops them between any two steps. */
static int run_variant(struct e2e *e, struct side_result (*r)[NR_SIDES])
{
	unsigned int rounds = e->opts->rounds;
	int ret = 0;

	for (unsigned int i = 0; i < rounds && !ret && !confined_interrupted();
	     i++)
		for (int s = 0; s < NR_SIDES && !ret && !confined_interrupted();
		     s++)
			ret = measure_checked(e, s, i, &r[i][s]);
	return ret ? ret : confined_interrupted() ? -EINTR : 0;
}

static void report(const struct e2e *e, struct side_result (*r)[NR_SIDES])
{
	unsigned int n = e->opts->rounds;
	struct figures set;

	figures_init(&set, "uttm bench e2e: uttm against kernel swap, "
		     "same workload (medians)");
	figures_add_int(&set, "rounds", "rounds (sides interleaved)", "", n);
	figures_add_int(&set, "budget_bytes", "budget, each side's cgroup",
			"B", e->wl.budget);
	figures_add(&set, "oversubscription", "object bytes / budget", "x",
		    E2E_OVERSUBSCRIPTION);
	figures_add(&set, "duration_s", "touch phase per side", "s",
		    e->wl.duration);
	for (size_t v = 0; v < NR_VARIANTS; v++)
		report_variant(&set, &variants[v], r + v * n, n);
	if (!e->opts->json)
		printf("uttm store: %s\n", e->store);
	figures_print(&set, stdout, e->opts->json);
	figures_fini(&set);
}

int bench_e2e(const struct bench_options *opts)
{
	struct e2e e = {
		.opts = opts,
		.store = opts->store ? opts->store : "file",
		.wl = {
			.budget = opts->bytes,
			.object_size = E2E_OBJECT_SIZE,
			.objects = (unsigned long)(E2E_OVERSUBSCRIPTION *
						   opts->bytes / E2E_OBJECT_SIZE),
			.threads = 2,
			.duration = opts->duration,
			.skew = 0.8,
			.seed = 1,
		},
	};
	struct side_result (*r)[NR_SIDES] = calloc(NR_VARIANTS * opts->rounds,
						   sizeof(*r));
	int ret = 0, status;

	if (!r)
		return 1;
	status = confined_prepare(&e.env, "uttm bench e2e", "e2e",
				  (E2E_OVERSUBSCRIPTION + 1) * e.wl.budget);
	if (status) {
		free(r);
		return status;
	}
	for (size_t v = 0; v < NR_VARIANTS && !ret; v++) {
		e.wl.purgeable = variants[v].purgeable;
		ret = run_variant(&e, r + v * opts->rounds);
	}
	confined_finish(&e.env);
	if (!ret)
		report(&e, r);
	free(r);
	if (confined_interrupted())
		return 128 + confined_interrupted();
	return ret ? 1 : 0;
}
