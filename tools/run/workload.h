/* SPDX-License-Identifier: MIT */
/*
 * The workload of `uttm run`, apart from where its objects live: objects
 * filled with verifiable content, then touched by worker threads in a
 * skewed pattern, every byte read checked, and a last pass over all.  A
 * backend provides the objects: uttm buffer objects in `uttm run`, plain
 * memory under kernel swap on the other side of `uttm bench e2e`; both
 * run the very same loop.
 */
#ifndef UTTM_WORKLOAD_H
#define UTTM_WORKLOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "support/pattern.h"

/**
 * struct workload_options - the workload
 * @budget: memory the objects must live in.
 * @objects: number of objects.
 * @object_size: bytes of each, a whole number of pages; the smallest
 * when @max_object_size is set.
 * @max_object_size: 0 for objects all of @object_size; else each object
 * is from @object_size to this, log-uniformly, whole pages, by its index
 * and the seed.
 * @threads: worker threads.
 * @duration: seconds of the touch phase.
 * @purgeable: share of objects whose content may be dropped.
 * @skew: share of touches that go to the hottest fifth of the objects.
 * @seed: seed of the content and of the access pattern.
 * @content: what the objects' pages hold (support/pattern.h).
 * @same_filled: share of pages of one repeated byte, 0 to 1.
 * @lookahead: objects each worker knows ahead of its touches and has
 * the backend prefetch, up to WORKLOAD_MAX_LOOKAHEAD; 0 for none.
 * @progress: show progress on stderr.
 * @interrupt: when it becomes true (a signal handler sets it), the run
 * stops where it is; may be NULL.
 */
struct workload_options {
	uint64_t budget;
	unsigned long objects;
	uint64_t object_size;
	uint64_t max_object_size;
	unsigned int threads;
	double duration;
	double purgeable;
	double skew;
	uint64_t seed;
	enum pattern_content content;
	double same_filled;
	unsigned int lookahead;
	bool progress;
	const atomic_bool *interrupt;
};

/* The most objects a worker knows ahead. */
#define WORKLOAD_MAX_LOOKAHEAD 64

/* The phases of a run, in order. */
enum workload_phase {
	WORKLOAD_FILL,
	WORKLOAD_TOUCH,
	WORKLOAD_CHECK,
	NR_WORKLOAD_PHASES
};

/* "fill", "touch phase", "last pass". */
const char *workload_phase_name(enum workload_phase phase);

struct workload;

/**
 * struct workload_backend - where the objects live
 * @begin: make object @id usable and keep other workers off it until
 * @end; set *@restored when it had to come back from somewhere.  Returns
 * 0, 1 when its content was dropped, or a negative errno.
 * @page: address of page @index of object @id, between @begin and @end.
 * @end: let other workers at object @id again.
 * @write: object @id's pages are about to be written, between @begin and
 * @end; NULL when the backend need not know.
 * @prefetch: start bringing object @id back without waiting, for a
 * touch that follows soon; NULL when the backend cannot.
 * @resident: memory the objects' side holds now, for the progress line,
 * or NULL for the process's VmRSS.
 */
struct workload_backend {
	int (*begin)(struct workload *wl, unsigned long id, bool *restored);
	void *(*page)(struct workload *wl, unsigned long id,
		      unsigned long index);
	void (*end)(struct workload *wl, unsigned long id);
	void (*write)(struct workload *wl, unsigned long id);
	void (*prefetch)(struct workload *wl, unsigned long id);
	uint64_t (*resident)(struct workload *wl);
};

/**
 * struct workload_tally - what the workers did in one phase
 * @touches: object touches.
 * @restores: touches that had to restore their object.
 * @bytes_checked: bytes the checker compared.
 * @bytes_filled: bytes written with fresh content.
 * @check_seconds: thread time spent checking.
 * @fill_seconds: thread time spent filling.
 */
struct workload_tally {
	unsigned long touches;
	unsigned long restores;
	uint64_t bytes_checked;
	uint64_t bytes_filled;
	double check_seconds;
	double fill_seconds;
};

/**
 * struct workload_result - what a run did
 * @touches: object touches, fill and last pass included.
 * @total_seconds: length of the whole run.
 * @touches_per_s: touches of the touch phase per second.
 * @verified_per_s: bytes checked per second over the whole run.
 * @bytes_verified: bytes checked.
 * @mismatches: bytes that differed from what was written.
 * @content_lost: touches that found a purgeable object's content dropped.
 * @errors: touches whose object could not be made usable.
 * @first_error: why the first of them (of the first worker that had
 * one) could not, a negative errno; 0 when none failed.
 * @restores: touches that had to restore their object.
 * @touch_p50_us: median touch latency, microseconds.
 * @touch_p99_us: 99th percentile of touch latency.
 * @restore_p50_us: median latency of a restoring begin.
 * @restore_p99_us: 99th percentile of it.
 * @check_per_s: the checker's own speed, bytes per second of a thread
 * checking, over the whole run: the memory speed of the content, which
 * is what every touch costs once its object is back.
 * @fill_per_s: the same for writing content.
 * @touch_phase: the touch phase alone, for what it needed per touch.
 * @phase: the phase the run was in last: where it was interrupted, when
 * it was.
 * @unchecked: objects the last sweep (fill or last pass) did not reach.
 */
struct workload_result {
	unsigned long touches;
	double total_seconds;
	double touches_per_s;
	double verified_per_s;
	uint64_t bytes_verified;
	uint64_t mismatches;
	unsigned long content_lost;
	unsigned long errors;
	int first_error;
	unsigned long restores;
	double touch_p50_us;
	double touch_p99_us;
	double restore_p50_us;
	double restore_p99_us;
	double check_per_s;
	double fill_per_s;
	struct workload_tally touch_phase;
	enum workload_phase phase;
	unsigned long unchecked;
};

/* The size of object @id under @o, and of all of them. */
uint64_t workload_object_size(const struct workload_options *o,
			      unsigned long id);
uint64_t workload_total_bytes(const struct workload_options *o);

/* Heap bytes workload_run() takes for its own state under @o, at most. */
uint64_t workload_memory_bytes(const struct workload_options *o);

/* Whether object @id is purgeable under @o: every 1/share-th, spread. */
bool workload_purgeable(const struct workload_options *o, unsigned long id);

/*
 * Runs the workload on objects from @backend, whose data is @priv.
 * Returns 0 (look at @res for mismatches), -ENOMEM, -EAGAIN when threads
 * cannot be started, -EINTR when @o->interrupt stopped it (@res says
 * where).
 */
int workload_run(const struct workload_options *o,
		 const struct workload_backend *backend, void *priv,
		 struct workload_result *res);

/* The @priv given to workload_run(). */
void *workload_priv(struct workload *wl);

/**
 * struct run_summary - what a workload on uttm objects did
 * @result: the workload's own figures.
 * @pages_backed_up: pages the shrinker backed up.
 * @pages_backed_up_clean: of which without a write: not written since
 * their restore, the store's copies kept.
 * @pages_restored: pages restored.
 * @pages_purged: pages purged.
 * @pages_recycled: pages backup or purge freed for a validate making room
 * for itself, which took them as they were.
 * @pages_released: pages backup or purge gave back to the system.
 * @peak_resident_bytes: the peak of the memory the run held, measured by
 * the kernel (see @peak_measure).
 * @peak_measure: how: the peak of the run's own memory cgroup, or the
 * highest sample of the process's PSS plus its unmapped files' pages.
 * @budget_violations: measurements above the budget (for the cgroup's
 * peak, 0 or 1).
 * @context_budget_bytes: the budget the uttm context had: the run's less
 * what the process holds besides.
 * @accounted_peak_bytes: the highest sum the context's budget counted.
 * @monitor_events: memory-pressure events the monitor heard.
 * @monitor_source: where it listened (an enum uttm_pressure_source).
 */
struct run_summary {
	struct workload_result result;
	uint64_t pages_backed_up;
	uint64_t pages_backed_up_clean;
	uint64_t pages_restored;
	uint64_t pages_purged;
	uint64_t pages_recycled;
	uint64_t pages_released;
	uint64_t peak_resident_bytes;
	const char *peak_measure;
	unsigned long budget_violations;
	uint64_t context_budget_bytes;
	uint64_t accounted_peak_bytes;
	unsigned long monitor_events;
	int monitor_source;
};

struct uttm_fault;

/**
 * struct run_config - how `uttm run` sets uttm up around the workload
 * @store: name of the store (tools/stores.c).
 * @store_path: directory of a file store's file, or NULL for the default.
 * @redis_url: a Redis store's server, or NULL for 127.0.0.1:6379.
 * @redis_password: its password, or NULL (the URL's, or
 * $UTTM_REDIS_PASSWORD).  Never printed.
 * @source: the pressure monitor's source (an enum uttm_pressure_source).
 * @stats: where to dump the context's state at the end, or NULL.
 * @fault: fault injector for the arena and the store, or NULL.
 * @metrics_path: where to write the context's metrics at the end, or NULL.
 * @metrics_interval: seconds between writes while the run lasts; 0 for
 * the end only.
 * @background_low: the background reclaim's low mark in bytes (its high
 * mark twice that); 0 runs without the thread.
 * @rewrite_all: objects do not report their writes, so that every backup
 * writes every page (uttm keeps no copies, see UTTM_BO_TRACK_DIRTY).
 */
struct run_config {
	const char *store;
	const char *store_path;
	const char *redis_url;
	const char *redis_password;
	int source;
	FILE *stats;
	struct uttm_fault *fault;
	const char *metrics_path;
	double metrics_interval;
	uint64_t background_low;
	bool rewrite_all;
};

/*
 * Runs the workload on uttm objects (run.c): a context whose budget keeps
 * the process under @opt->budget, a device with the store @cfg names,
 * the pressure monitor.  Returns 0 or a negative errno; -E2BIG when the
 * budget cannot hold the workload.
 */
int run_uttm(const struct workload_options *opt, const struct run_config *cfg,
	     struct run_summary *sum);

#endif /* UTTM_WORKLOAD_H */
