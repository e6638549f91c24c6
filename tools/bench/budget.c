// SPDX-License-Identifier: MIT
/*
 * `uttm bench budget`: does the budget hold end to end?  `uttm run` runs
 * in a memory cgroup whose limit is exactly its budget, no allowance, for
 * each store that frees memory here (file; shmem and insert over a swap
 * file the benchmark makes; compressed memory over a file store, with
 * compressible content) and each profile of objects (4 MiB objects, five
 * times the budget; 100,000 objects of 4 KiB; sizes from 4 KiB to 8 MiB).
 * A run holds when it ends without an OOM kill, the cgroup's peak and the
 * run's own kernel-measured peak are within the budget, and every byte
 * checks out.  Each says too how many charges found the cgroup full, so
 * that the kernel reclaimed there: with shmem and insert that is the swap
 * cache, the clean copies of pages already written to swap, which the
 * kernel keeps until it needs the memory and drops first.
 *
 * Then the pressure scenario: another process in the same cgroup takes
 * half its limit, steadily (100 MiB/s, then 25 MiB/s for the last
 * quarter), once uttm has filled its budget with objects half of which
 * are purgeable.  uttm must give the memory up in time, with AUTO and
 * with each pressure source AUTO may pick: a run survives when neither
 * process is killed and every byte uttm kept checks out.
 *
 * Root is needed for the cgroups and the swap file; without either the
 * benchmark says which and exits with its own status, leaving nothing
 * behind, as it does when interrupted.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uttm/shrinker.h>

#include "bench/confined.h"
#include "stores.h"
#include "support/cgroup.h"
#include "support/swapfile.h"
#include "uttm.h"

#define EXIT_SANITIZER 6
/* The budget of the profile of 4 KiB objects: the 64 MiB. */
#define SMALL_BUDGET (64ULL << 20)
#define SMALL_OBJECTS 100000UL
#define OVERSUBSCRIPTION 5
/* Mean size of objects from 4 KiB to 8 MiB, log-uniform: (b - a) / ln(b / a). */
#define MIXED_MEAN ((8.0 * 1048576 - 4096) / log(2048.0))
/* The other process takes this share of the limit, the last quarter slower. */
#define HOG_SHARE 2
#define HOG_FAST (100ULL << 20)
#define HOG_SLOW (25ULL << 20)
#define HOG_STEP_MS 10
#define OUTPUT_SIZE 8192

enum profile { PROFILE_DEFAULTS, PROFILE_SMALL, PROFILE_MIXED, NR_PROFILES };

static const char *const profile_names[NR_PROFILES] = {
	"defaults", "small", "mixed",
};

/* The first row of each profile in the table. */
static const char *const profile_rows[NR_PROFILES] = {
	"4 MiB objects: cgroup peak",
	"4 KiB objects (up to 100,000): cgroup peak",
	"4 KiB to 8 MiB objects: cgroup peak",
};

static const char *const stores[] = { "file", "shmem", "insert",
				      "compressed-file" };
#define NR_STORES (sizeof(stores) / sizeof(stores[0]))

static const enum uttm_pressure_source sources[] = {
	UTTM_PRESSURE_AUTO, UTTM_PRESSURE_PSI_CGROUP, UTTM_PRESSURE_CGROUP_V1,
	UTTM_PRESSURE_PSI_SYSTEM, UTTM_PRESSURE_POLL,
};
#define NR_SOURCES (sizeof(sources) / sizeof(sources[0]))

/* What one `uttm run` in a cgroup did. */
struct outcome {
	bool ran;		/* it started and reported */
	bool held;		/* the budget held and every byte checked out */
	uint64_t budget;
	uint64_t cgroup_peak;
	uint64_t peak;		/* its own, kernel-measured */
	uint64_t oom_kills;
	uint64_t limit_hits;	/* charges that found the cgroup full */
	uint64_t purged;
	uint64_t backed_up;
	uint64_t errors;	/* failed validations */
	uint64_t mismatches;	/* bytes that differed */
};

struct budget_bench {
	const struct bench_options *opts;
	struct confined env;
	struct outcome matrix[NR_STORES][NR_PROFILES];
	bool store_tried[NR_STORES];
	unsigned int survived[NR_SOURCES];
	unsigned int tried[NR_SOURCES];
	unsigned long violations;
	char keys[NR_STORES * NR_PROFILES * 4 + NR_SOURCES * 2][64];
	unsigned int nr_keys;
	char sections[NR_STORES][64];
};

/* The number after "@key": in @json, or 0. */
static double json_number(const char *json, const char *key)
{
	char pattern[80];
	const char *at;

	snprintf(pattern, sizeof(pattern), "\"%s\": ", key);
	at = strstr(json, pattern);
	return at ? strtod(at + strlen(pattern), NULL) : 0;
}

static uint64_t profile_budget(const struct budget_bench *b, enum profile p)
{
	uint64_t budget = b->opts->bytes;

	return p == PROFILE_SMALL && budget > SMALL_BUDGET ? SMALL_BUDGET :
							     budget;
}

/* The `uttm run` arguments of @store and @p, at @budget, into @args. */
static void run_args(const struct budget_bench *b, const char *store,
		     enum profile p, uint64_t budget, char args[][32],
		     char **argv)
{
	unsigned long objects;
	unsigned int n = 0;

	switch (p) {
	case PROFILE_SMALL:
		objects = (unsigned long)(OVERSUBSCRIPTION * budget / 4096);
		objects = objects < SMALL_OBJECTS ? objects : SMALL_OBJECTS;
		snprintf(args[1], 32, "4K");
		break;
	case PROFILE_MIXED:
		objects = (unsigned long)(OVERSUBSCRIPTION * (double)budget /
					  MIXED_MEAN);
		snprintf(args[1], 32, "4K-8M");
		break;
	default:
		objects = (unsigned long)(OVERSUBSCRIPTION * budget /
					  (4ULL << 20));
		snprintf(args[1], 32, "4M");
	}
	snprintf(args[0], 32, "%lu", objects);
	snprintf(args[2], 32, "%lluK", (unsigned long long)(budget >> 10));
	snprintf(args[3], 32, "%g", b->opts->duration);
	argv[n++] = "uttm";
	argv[n++] = "run";
	argv[n++] = "--json";
	argv[n++] = "--objects";
	argv[n++] = args[0];
	argv[n++] = "--object-size";
	argv[n++] = args[1];
	argv[n++] = "--budget";
	argv[n++] = args[2];
	argv[n++] = "--duration";
	argv[n++] = args[3];
	argv[n++] = "--store";
	argv[n++] = (char *)store;
	if (!strcmp(store, "compressed-file")) {
		argv[n++] = "--content";
		argv[n++] = "text";
	}
	argv[n] = NULL;
}

/* Fills @o from what a run reported, and says whether it held. */
static void judge(struct outcome *o, const char *json, int status)
{
	bool clean = WIFEXITED(status) && !WEXITSTATUS(status);

	o->ran = json_number(json, "budget_bytes") > 0;
	o->peak = (uint64_t)json_number(json, "peak_resident_bytes");
	o->purged = (uint64_t)json_number(json, "pages_purged");
	o->backed_up = (uint64_t)json_number(json, "pages_backed_up");
	o->errors = (uint64_t)json_number(json, "errors");
	o->mismatches = (uint64_t)json_number(json, "mismatches");
	o->held = clean && o->ran && !o->oom_kills &&
		  o->cgroup_peak <= o->budget && o->peak <= o->budget &&
		  !o->mismatches && !o->errors &&
		  !json_number(json, "budget_violations");
}

static void matrix_run(struct budget_bench *b, unsigned int s, enum profile p)
{
	struct outcome *o = &b->matrix[s][p];
	char args[4][32], json[OUTPUT_SIZE], name[64];
	char *argv[16];
	struct cgroup cg;
	int status, ret;

	o->budget = profile_budget(b, p);
	run_args(b, stores[s], p, o->budget, args, argv);
	snprintf(name, sizeof(name), "uttm-budget-%d-%u-%d", getpid(), s, p);
	ret = confined_run(&b->env, name, o->budget, argv, json, sizeof(json),
			   NULL, &cg, &status);
	if (!ret) {
		o->cgroup_peak = cgroup_peak(&cg);
		o->oom_kills = cgroup_oom_kills(&cg);
		o->limit_hits = cgroup_limit_hits(&cg);
		judge(o, json, status);
		confined_remove(&cg);
	}
	b->violations += !o->held;
	if (!o->held)
		fprintf(stderr, "uttm bench budget: %s, %s: the budget did not "
			"hold (status %d, cgroup peak %llu, peak %llu of %llu, "
			"%llu OOM kills, %llu failed validations, %llu bytes "
			"differed)\n", stores[s], profile_names[p],
			status, (unsigned long long)o->cgroup_peak,
			(unsigned long long)o->peak,
			(unsigned long long)o->budget,
			(unsigned long long)o->oom_kills,
			(unsigned long long)o->errors,
			(unsigned long long)o->mismatches);
}

/*
 * The other process of the pressure scenario: once @cg is nearly full,
 * it takes its share of the limit, 100 MiB/s and then, for the last
 * quarter, 25 MiB/s, and holds it until it is told to stop.
 */
static int hog_main(void *arg)
{
	const struct cgroup *cg = arg;
	uint64_t limit = cgroup_limit(cg), want = limit / HOG_SHARE, took = 0;
	const struct timespec step = { .tv_nsec = HOG_STEP_MS * 1000000L };
	char *mem = mmap(NULL, want, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (mem == MAP_FAILED)
		return 1;
	for (int i = 0; i < 6000 && cgroup_usage(cg) < limit / 4 * 3; i++)
		nanosleep(&step, NULL);
	while (took < want) {
		uint64_t rate = took < want / 4 * 3 ? HOG_FAST : HOG_SLOW;
		uint64_t n = rate / (1000 / HOG_STEP_MS);

		n = n < want - took ? n : want - took;
		memset(mem + took, 1, n);
		took += n;
		nanosleep(&step, NULL);
	}
	pause();
	return 0;
}

static void pressure_run(struct budget_bench *b, unsigned int i,
			 unsigned int round)
{
	const char *source = uttm_pressure_source_name(sources[i]);
	char args[4][32], json[OUTPUT_SIZE], name[64], purgeable[] = "0.5";
	struct outcome o = { .budget = b->opts->bytes };
	char *argv[20];
	struct cgroup cg;
	int status, hog_status = 0, ret;
	unsigned int n;

	run_args(b, "file", PROFILE_DEFAULTS, o.budget, args, argv);
	for (n = 0; argv[n]; n++)
		;
	argv[n++] = "--purgeable";
	argv[n++] = purgeable;
	argv[n++] = "--monitor";
	argv[n++] = (char *)source;
	argv[n] = NULL;
	snprintf(name, sizeof(name), "uttm-budget-%d-p%u-%u", getpid(), i,
		 round);
	ret = confined_run(&b->env, name, o.budget, argv, json, sizeof(json),
			   hog_main, &cg, &status);
	if (ret)
		return;
	hog_status = confined_stop_companion(&b->env);
	o.cgroup_peak = cgroup_peak(&cg);
	o.oom_kills = cgroup_oom_kills(&cg);
	judge(&o, json, status);
	confined_remove(&cg);
	if (WIFEXITED(status) && WEXITSTATUS(status) == UTTM_EXIT_NO_SOURCE)
		return;
	b->tried[i]++;
	/* Both alive: the other process was only told to stop. */
	o.held = o.held && WIFSIGNALED(hog_status) &&
		 WTERMSIG(hog_status) == SIGTERM;
	b->survived[i] += o.held;
	b->violations += !o.held;
	if (!o.held)
		fprintf(stderr, "uttm bench budget: pressure with %s, run %u: "
			"not survived (status %d, other process %d, %llu OOM "
			"kills)\n", source, round + 1, status, hog_status,
			(unsigned long long)o.oom_kills);
}

static const char *key(struct budget_bench *b, const char *a, const char *c,
		       const char *suffix)
{
	char *k = b->keys[b->nr_keys++];

	snprintf(k, sizeof(b->keys[0]), "%s_%s_%s", a, c, suffix);
	for (char *p = k; *p; p++)
		if (*p == '-')
			*p = '_';
	return k;
}

static void report(struct budget_bench *b)
{
	unsigned int runs = 0, survived = 0, tried = 0;
	struct figures set;

	figures_init(&set, "uttm bench budget: uttm run in a memory cgroup "
		     "whose limit is its budget");
	for (unsigned int s = 0; s < NR_STORES; s++) {
		if (!b->store_tried[s])
			continue;
		snprintf(b->sections[s], sizeof(b->sections[s]),
			 "store %s: peak / budget", stores[s]);
		figures_section(&set, b->sections[s]);
		for (unsigned int p = 0; p < NR_PROFILES; p++) {
			const struct outcome *o = &b->matrix[s][p];

			runs++;
			figures_add(&set, key(b, stores[s], profile_names[p],
					      "cgroup_peak_vs_budget"),
				    profile_rows[p], "x",
				    (double)o->cgroup_peak / (double)o->budget);
			figures_add(&set, key(b, stores[s], profile_names[p],
					      "peak_vs_budget"),
				    "  uttm run's own measure", "x",
				    (double)o->peak / (double)o->budget);
			figures_add_int(&set, key(b, stores[s],
						  profile_names[p],
						  "limit_hits"),
					"  charges that found the cgroup full",
					"", o->limit_hits);
			figures_add_int(&set, key(b, stores[s],
						  profile_names[p], "held"),
					"  held (no OOM kill, within budget, "
					"data intact)", "", o->held);
		}
	}
	figures_section(&set, "another process takes half the cgroup, "
			"half of uttm's objects purgeable");
	for (unsigned int i = 0; i < NR_SOURCES; i++) {
		const char *name = uttm_pressure_source_name(sources[i]);

		if (!b->tried[i])
			continue;
		tried += b->tried[i];
		survived += b->survived[i];
		figures_add_int(&set, key(b, "pressure", name, "runs"), name,
				"runs", b->tried[i]);
		figures_add_int(&set, key(b, "pressure", name, "survived"),
				"  survived", "runs", b->survived[i]);
	}
	figures_section(&set, "all");
	figures_add_int(&set, "budget_bytes", "budget", "B", b->opts->bytes);
	figures_add_int(&set, "matrix_runs", "runs of the matrix", "", runs);
	figures_add_int(&set, "pressure_runs", "runs under pressure", "",
			tried);
	figures_add_int(&set, "pressure_survived", "  survived", "", survived);
	figures_add_int(&set, "budget_violations",
			"runs where the budget did not hold", "",
			b->violations);
	figures_print(&set, stdout, b->opts->json);
	figures_fini(&set);
}

static void run_all(struct budget_bench *b)
{
	for (unsigned int s = 0; s < NR_STORES && !confined_interrupted(); s++) {
		if (b->opts->store && strcmp(b->opts->store, stores[s]))
			continue;
		b->store_tried[s] = true;
		for (unsigned int p = 0; p < NR_PROFILES &&
					 !confined_interrupted(); p++)
			matrix_run(b, s, (enum profile)p);
	}
	for (unsigned int i = 0; i < NR_SOURCES; i++)
		for (unsigned int r = 0; r < b->opts->rounds &&
					 !confined_interrupted(); r++)
			pressure_run(b, i, r);
}

int bench_budget(const struct bench_options *opts)
{
	struct budget_bench *b = calloc(1, sizeof(*b));
	int status;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	fprintf(stderr, "uttm bench budget: built with a sanitizer, whose own "
		"memory no budget can hold\n");
	free(b);
	return EXIT_SANITIZER;
#endif
	if (!b)
		return 1;
	b->opts = opts;
	/* Swap for shmem and insert, which free memory only through it. */
	status = confined_prepare(&b->env, "uttm bench budget", "budget",
				  !opts->store ||
				  tool_store_needs_swap(opts->store) ?
				  (OVERSUBSCRIPTION + 1) * opts->bytes : 0);
	if (!status) {
		run_all(b);
		confined_finish(&b->env);
		if (!confined_interrupted())
			report(b);
	}
	if (!status && confined_interrupted())
		status = 128 + confined_interrupted();
	else if (!status && b->violations)
		status = 1;
	free(b);
	return status;
}
