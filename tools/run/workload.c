// SPDX-License-Identifier: MIT
/*
 * The workload engine; see workload.h.  Content is checked against the
 * pattern of each object's current version; a write bumps the version.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uttm/page.h>

#include "run/progress.h"
#include "run/workload.h"
#include "support/pattern.h"
#include "support/procfs.h"
#include "uttm.h"

/* Share of the touches that also rewrite the object, per mille. */
#define WRITE_PERMILLE 100
/*
 * Latencies kept per worker and kind: a uniform sample of all of them
 * (a reservoir), so the workload's memory is known before it starts.
 */
#define SAMPLES 16384

/* Latencies of one kind, in seconds: @n kept of @seen. */
struct samples {
	double v[SAMPLES];
	size_t n;
	uint64_t seen;
};

struct worker {
	struct workload *wl;
	pthread_t thread;
	uint64_t rng;
	unsigned long errors;
	int first_error;
	unsigned long content_lost;
	uint64_t mismatches;
	struct workload_tally tally[NR_WORKLOAD_PHASES];
	struct samples touch;
	struct samples restore;
};

/*
 * A sweep over every object, split between the workers: worker i takes
 * objects i, i + stride, ...  The fill writes each object's first
 * version; the last pass checks each once more.
 */
struct sweep_job {
	struct worker *w;
	unsigned long first;
	unsigned long stride;
	bool check;
};

struct workload {
	const struct workload_options *opt;
	const struct workload_backend *backend;
	void *priv;
	struct pattern pattern;
	enum workload_phase phase;	/* set while no worker runs */
	uint32_t *versions;	/* per object, under begin/end; 0: none yet */
	struct worker *workers;
	atomic_bool stop;
	atomic_ulong touches;
	atomic_ulong swept;	/* objects done by the sweep under way */
	atomic_uint running;	/* workers not yet returned */
};

/* The phases of a run, as progress and interruption name them. */
static const char *const phase_names[] = {
	[WORKLOAD_FILL] = "fill",
	[WORKLOAD_TOUCH] = "touch phase",
	[WORKLOAD_CHECK] = "last pass",
};

void *workload_priv(struct workload *wl)
{
	return wl->priv;
}

bool workload_purgeable(const struct workload_options *o, unsigned long id)
{
	return (unsigned long)((double)(id + 1) * o->purgeable) >
	       (unsigned long)((double)id * o->purgeable);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Keeps @seconds with the chance that leaves every latency as likely. */
static void sample(struct samples *s, uint64_t *rng, double seconds)
{
	uint64_t slot = s->seen++;

	if (s->n < SAMPLES)
		s->v[s->n++] = seconds;
	else if ((slot = rng_next(rng) % s->seen) < SAMPLES)
		s->v[slot] = seconds;
}

uint64_t workload_memory_bytes(const struct workload_options *o)
{
	return o->objects * sizeof(uint32_t) +
	       o->threads * sizeof(struct worker) +
	       o->threads * sizeof(struct sweep_job);
}

uint64_t workload_object_size(const struct workload_options *o,
			      unsigned long id)
{
	uint64_t s = o->seed ^ (id * 0x9e3779b97f4a7c15ull), pages;
	double u, min, max;

	if (!o->max_object_size)
		return o->object_size;
	s = rng_next(&s) | 1;
	u = (double)(rng_next(&s) % 1000000) / 1e6;
	min = (double)o->object_size;
	max = (double)o->max_object_size;
	pages = (uint64_t)(min * pow(max / min, u)) / UTTM_PAGE_SIZE;
	return (pages ? pages : 1) * UTTM_PAGE_SIZE;
}

uint64_t workload_total_bytes(const struct workload_options *o)
{
	uint64_t total = 0;

	for (unsigned long id = 0; id < o->objects; id++)
		total += workload_object_size(o, id);
	return total;
}

static unsigned long object_pages(const struct workload *wl, unsigned long id)
{
	return (unsigned long)(workload_object_size(wl->opt, id) /
			       UTTM_PAGE_SIZE);
}

static struct workload_tally *tally(struct worker *w)
{
	return &w->tally[w->wl->phase];
}

/* Writes the next version of the object. */
static void object_fill(struct worker *w, unsigned long id)
{
	struct workload *wl = w->wl;
	uint32_t version = ++wl->versions[id];
	double t = now_seconds();

	if (wl->backend->write)
		wl->backend->write(wl, id);
	for (unsigned long i = 0; i < object_pages(wl, id); i++)
		pattern_fill(&wl->pattern, wl->backend->page(wl, id, i), id,
			     version, i);
	tally(w)->fill_seconds += now_seconds() - t;
	tally(w)->bytes_filled += workload_object_size(wl->opt, id);
}

/* Checks every byte; a mismatch is counted once, then written afresh. */
static void object_check(struct worker *w, unsigned long id)
{
	struct workload *wl = w->wl;
	double t = now_seconds();
	uint64_t bad = 0;

	for (unsigned long i = 0; i < object_pages(wl, id); i++)
		bad += pattern_check(&wl->pattern,
				     wl->backend->page(wl, id, i), id,
				     wl->versions[id], i);
	tally(w)->check_seconds += now_seconds() - t;
	tally(w)->bytes_checked += workload_object_size(wl->opt, id);
	w->mismatches += bad;
	if (bad)
		object_fill(w, id);
}

/*
 * Makes an object usable (restoring it if need be), checks it, and maybe
 * rewrites it.  An object whose content was dropped is filled again, as a
 * cache would fetch it again; so is one that never had content, because
 * its fill could not make it usable (version 0 was never written).
 */
static void touch(struct worker *w, unsigned long id, bool check, bool write)
{
	struct workload *wl = w->wl;
	bool restored = false;
	double t = now_seconds();
	int ret;

	ret = wl->backend->begin(wl, id, &restored);
	if (ret < 0) {
		if (!w->errors++)
			w->first_error = ret;
		return;
	}
	if (restored) {
		sample(&w->restore, &w->rng, now_seconds() - t);
		tally(w)->restores++;
	}
	if (ret > 0) {
		w->content_lost++;
		write = true;
	} else if (!wl->versions[id]) {
		/* Its fill failed: there is nothing to check yet. */
		write = true;
	} else if (check) {
		object_check(w, id);
	}
	if (write)
		object_fill(w, id);
	wl->backend->end(wl, id);
	sample(&w->touch, &w->rng, now_seconds() - t);
	tally(w)->touches++;
	atomic_fetch_add(&wl->touches, 1);
}

/* A skewed choice: most touches go to the hottest fifth of the objects. */
static unsigned long pick(struct worker *w)
{
	unsigned long n = w->wl->opt->objects, hot = n / 5 ? n / 5 : 1;
	double u = (double)(rng_next(&w->rng) % 1000000) / 1e6;

	return u < w->wl->opt->skew ? rng_next(&w->rng) % hot :
				      rng_next(&w->rng) % n;
}

static bool stopping(const struct workload *wl)
{
	return atomic_load(&wl->stop) ||
	       (wl->opt->interrupt && atomic_load(wl->opt->interrupt));
}

/*
 * The objects a worker will touch next, known @lookahead touches ahead
 * and prefetched as they are chosen, as an inference server knows the
 * caches of its next steps.
 */
struct lookahead {
	unsigned long ids[WORKLOAD_MAX_LOOKAHEAD];
	unsigned int size;
	unsigned int next;
};

/* Chooses the object @lookahead touches from now and prefetches it. */
static unsigned long choose_ahead(struct worker *w)
{
	const struct workload_backend *backend = w->wl->backend;
	unsigned long id = pick(w);

	if (backend->prefetch)
		backend->prefetch(w->wl, id);
	return id;
}

static void lookahead_init(struct worker *w, struct lookahead *la)
{
	la->size = w->wl->opt->lookahead;
	la->next = 0;
	for (unsigned int i = 0; i < la->size; i++)
		la->ids[i] = choose_ahead(w);
}

/* The object to touch now: the one chosen longest ago, or a new pick. */
static unsigned long next_object(struct worker *w, struct lookahead *la)
{
	unsigned long id;

	if (!la->size)
		return pick(w);
	id = la->ids[la->next];
	la->ids[la->next] = choose_ahead(w);
	la->next = (la->next + 1) % la->size;
	return id;
}

static void *touch_main(void *arg)
{
	struct worker *w = arg;
	struct lookahead la;

	lookahead_init(w, &la);
	while (!stopping(w->wl))
		touch(w, next_object(w, &la), true,
		      rng_next(&w->rng) % 1000 < WRITE_PERMILLE);
	atomic_fetch_sub(&w->wl->running, 1);
	return NULL;
}

static void *sweep_main(void *arg)
{
	struct sweep_job *job = arg;
	struct workload *wl = job->w->wl;

	for (unsigned long id = job->first;
	     id < wl->opt->objects && !stopping(wl); id += job->stride) {
		touch(job->w, id, job->check, !job->check);
		atomic_fetch_add(&wl->swept, 1);
	}
	atomic_fetch_sub(&wl->running, 1);
	return NULL;
}

/* Starts @fn on every worker, with its sweep job when @jobs is given. */
static unsigned int start_workers(struct workload *wl, void *(*fn)(void *),
				  struct sweep_job *jobs, bool check)
{
	unsigned int i;

	atomic_store(&wl->swept, 0);
	atomic_store(&wl->running, wl->opt->threads);
	for (i = 0; i < wl->opt->threads; i++) {
		struct worker *w = &wl->workers[i];
		void *arg = w;

		if (jobs) {
			jobs[i] = (struct sweep_job){ w, i, wl->opt->threads,
						      check };
			arg = &jobs[i];
		}
		if (pthread_create(&w->thread, NULL, fn, arg))
			break;
	}
	atomic_fetch_sub(&wl->running, wl->opt->threads - i);
	return i;
}

static void join_workers(struct workload *wl, unsigned int started)
{
	for (unsigned int i = 0; i < started; i++)
		pthread_join(wl->workers[i].thread, NULL);
}

/* How far phase @phase is, from 0 to 1, @start seconds after it began. */
static double phase_done(struct workload *wl, enum workload_phase phase,
			 double start)
{
	double done;

	if (phase == WORKLOAD_TOUCH)
		done = (now_seconds() - start) / wl->opt->duration;
	else
		done = (double)atomic_load(&wl->swept) /
		       (double)wl->opt->objects;
	return done < 1 ? done : 1;
}

/*
 * Waits for the workers of @phase to finish, or for its duration to pass,
 * showing how far it is: a line redrawn in place on a terminal, a line
 * every five seconds otherwise.  Returns when the phase ends.
 */
static void wait_phase(struct workload *wl, enum workload_phase phase)
{
	const struct workload_options *o = wl->opt;
	double start = now_seconds(), next_line = start;
	struct progress pr = {
		.phase = phase_names[phase],
		.budget = o->budget,
		.tty = isatty(STDERR_FILENO),
	};

	for (;;) {
		bool over = phase == WORKLOAD_TOUCH ?
			    now_seconds() >= start + o->duration ||
			    stopping(wl) :
			    !atomic_load(&wl->running);

		pr.done = over && !stopping(wl) ? 1 :
			  phase_done(wl, phase, start);
		pr.touches = atomic_load(&wl->touches);
		pr.resident = wl->backend->resident ?
			      wl->backend->resident(wl) :
			      status_bytes("VmRSS");
		if (o->progress && (pr.tty || over ||
				    now_seconds() >= next_line)) {
			progress_show(&pr, over);
			next_line = now_seconds() + 5;
		}
		if (over)
			return;
		usleep(100 * 1000);
	}
}

/*
 * Percentiles of the samples of all workers, in microseconds.  Each reservoir is a uniform sample of its
 * worker's latencies; the workers run the same mix, so the reservoirs
 * are merged as they are.
 */
static void percentiles(struct workload *wl, size_t offset, double *p50,
			double *p99)
{
	size_t total = 0, n = 0;
	double *all;

	for (unsigned int i = 0; i < wl->opt->threads; i++) {
		struct samples *s = (struct samples *)((char *)&wl->workers[i] +
						       offset);

		total += s->n;
	}
	*p50 = *p99 = 0;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (!all)
		return;
	for (unsigned int i = 0; i < wl->opt->threads; i++) {
		struct samples *s = (struct samples *)((char *)&wl->workers[i] +
						       offset);

		memcpy(all + n, s->v, s->n * sizeof(*all));
		n += s->n;
	}
	*p50 = percentile(all, n, 0.5) * 1e6;
	*p99 = percentile(all, n, 0.99) * 1e6;
	free(all);
}

static void add_tally(struct workload_tally *sum,
		      const struct workload_tally *t)
{
	sum->touches += t->touches;
	sum->restores += t->restores;
	sum->bytes_checked += t->bytes_checked;
	sum->bytes_filled += t->bytes_filled;
	sum->check_seconds += t->check_seconds;
	sum->fill_seconds += t->fill_seconds;
}

/* Bytes per second of @seconds, or 0 without any. */
static double rate(uint64_t bytes, double seconds)
{
	return seconds > 0 ? (double)bytes / seconds : 0;
}

static void sum_up(struct workload *wl, struct workload_result *res)
{
	struct workload_tally all = { 0 };

	for (unsigned int i = 0; i < wl->opt->threads; i++) {
		struct worker *w = &wl->workers[i];

		for (int phase = 0; phase < NR_WORKLOAD_PHASES; phase++)
			add_tally(&all, &w->tally[phase]);
		add_tally(&res->touch_phase, &w->tally[WORKLOAD_TOUCH]);
		if (!res->errors)
			res->first_error = w->first_error;
		res->errors += w->errors;
		res->content_lost += w->content_lost;
		res->mismatches += w->mismatches;
	}
	res->touches = all.touches;
	res->restores = all.restores;
	res->bytes_verified = all.bytes_checked;
	res->check_per_s = rate(all.bytes_checked, all.check_seconds);
	res->fill_per_s = rate(all.bytes_filled, all.fill_seconds);
	percentiles(wl, offsetof(struct worker, touch), &res->touch_p50_us,
		    &res->touch_p99_us);
	percentiles(wl, offsetof(struct worker, restore), &res->restore_p50_us,
		    &res->restore_p99_us);
	res->verified_per_s = rate(res->bytes_verified, res->total_seconds);
}

/* Runs one phase on every worker and waits for it, showing progress. */
static int run_phase(struct workload *wl, enum workload_phase phase,
		     struct sweep_job *jobs, struct workload_result *res)
{
	unsigned long before = atomic_load(&wl->touches);
	double t = now_seconds();
	unsigned int started;

	res->phase = phase;
	wl->phase = phase;
	if (phase == WORKLOAD_TOUCH)
		started = start_workers(wl, touch_main, NULL, false);
	else
		started = start_workers(wl, sweep_main, jobs,
					phase == WORKLOAD_CHECK);
	wait_phase(wl, phase);
	atomic_store(&wl->stop, true);
	join_workers(wl, started);
	atomic_store(&wl->stop, false);
	if (phase == WORKLOAD_TOUCH)
		res->touches_per_s = (double)(atomic_load(&wl->touches) -
					      before) / (now_seconds() - t);
	else
		res->unchecked = wl->opt->objects - atomic_load(&wl->swept);
	if (started < wl->opt->threads)
		return -EAGAIN;
	return stopping(wl) ? -EINTR : 0;
}

/* Fill, touch for the duration, check everything once more. */
static int run_phases(struct workload *wl, struct workload_result *res)
{
	struct sweep_job *jobs = calloc(wl->opt->threads, sizeof(*jobs));
	int ret = jobs ? 0 : -ENOMEM;

	for (int phase = WORKLOAD_FILL; !ret && phase <= WORKLOAD_CHECK;
	     phase++)
		ret = run_phase(wl, (enum workload_phase)phase, jobs, res);
	free(jobs);
	return ret;
}

const char *workload_phase_name(enum workload_phase phase)
{
	return phase_names[phase];
}

int workload_run(const struct workload_options *o,
		 const struct workload_backend *backend, void *priv,
		 struct workload_result *res)
{
	struct workload wl = { .opt = o, .backend = backend, .priv = priv };
	double start = now_seconds();
	int ret = -ENOMEM;

	memset(res, 0, sizeof(*res));
	pattern_init(&wl.pattern, o->seed, o->content, o->same_filled);
	wl.versions = calloc(o->objects, sizeof(*wl.versions));
	wl.workers = calloc(o->threads, sizeof(*wl.workers));
	if (wl.versions && wl.workers) {
		for (unsigned int i = 0; i < o->threads; i++) {
			wl.workers[i].wl = &wl;
			wl.workers[i].rng = o->seed * 0x9e3779b97f4a7c15ull +
					    i + 1;
		}
		ret = run_phases(&wl, res);
		res->total_seconds = now_seconds() - start;
		sum_up(&wl, res);
	}
	free(wl.workers);
	free(wl.versions);
	return ret;
}
