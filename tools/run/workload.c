// SPDX-License-Identifier: MIT
/*
 * The workload engine; see workload.h.  Content is checked against the
 * pattern of each object's current version; a write bumps the version.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uttm/page.h>

#include "run/workload.h"
#include "support/pattern.h"
#include "support/procfs.h"
#include "uttm.h"

/* Share of the touches that also rewrite the object, per mille. */
#define WRITE_PERMILLE 100

/* Latencies of one kind, in seconds. */
struct samples {
	double *v;
	size_t n;
	size_t cap;
};

struct worker {
	struct workload *wl;
	pthread_t thread;
	uint64_t rng;
	unsigned long touches;
	unsigned long errors;
	unsigned long content_lost;
	uint64_t bytes_verified;
	uint64_t mismatches;
	struct samples touch;
	struct samples restore;
};

/* Fills objects @first, @first + stride, ...: the first version of each. */
struct fill_job {
	struct worker *w;
	unsigned long first;
	unsigned long stride;
};

struct workload {
	const struct workload_options *opt;
	const struct workload_backend *backend;
	void *priv;
	uint32_t *versions;	/* per object, under the backend's begin/end */
	struct worker *workers;
	atomic_bool stop;
	atomic_ulong touches;
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

static void sample(struct samples *s, double seconds)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		double *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return;
		s->v = v;
		s->cap = cap;
	}
	s->v[s->n++] = seconds;
}

static unsigned long object_pages(const struct workload *wl)
{
	return (unsigned long)(wl->opt->object_size / UTTM_PAGE_SIZE);
}

static void object_fill(struct workload *wl, unsigned long id)
{
	for (unsigned long i = 0; i < object_pages(wl); i++)
		pattern_fill(wl->backend->page(wl, id, i), wl->opt->seed, id,
			     wl->versions[id], i);
}

/* Checks every byte; a mismatch is counted once, then written afresh. */
static void object_check(struct worker *w, unsigned long id)
{
	struct workload *wl = w->wl;
	uint64_t bad = 0;

	for (unsigned long i = 0; i < object_pages(wl); i++)
		bad += pattern_check(wl->backend->page(wl, id, i),
				     wl->opt->seed, id, wl->versions[id], i);
	w->bytes_verified += wl->opt->object_size;
	w->mismatches += bad;
	if (bad) {
		wl->versions[id]++;
		object_fill(wl, id);
	}
}

/*
 * Makes an object usable (restoring it if need be), checks it, and maybe
 * rewrites it.  An object whose content was dropped is filled again, as a
 * cache would fetch it again.
 */
static void touch(struct worker *w, unsigned long id, bool check, bool write)
{
	struct workload *wl = w->wl;
	bool restored = false;
	double t = now_seconds();
	int ret;

	ret = wl->backend->begin(wl, id, &restored);
	if (ret < 0) {
		w->errors++;
		return;
	}
	if (restored)
		sample(&w->restore, now_seconds() - t);
	if (ret > 0) {
		w->content_lost++;
		write = true;
	} else if (check) {
		object_check(w, id);
	}
	if (write) {
		wl->versions[id]++;
		object_fill(wl, id);
	}
	wl->backend->end(wl, id);
	sample(&w->touch, now_seconds() - t);
	w->touches++;
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

static void *touch_main(void *arg)
{
	struct worker *w = arg;

	while (!atomic_load(&w->wl->stop))
		touch(w, pick(w), true,
		      rng_next(&w->rng) % 1000 < WRITE_PERMILLE);
	return NULL;
}

static void *fill_main(void *arg)
{
	struct fill_job *job = arg;

	for (unsigned long id = job->first; id < job->w->wl->opt->objects;
	     id += job->stride)
		touch(job->w, id, false, true);
	return NULL;
}

/* Starts @fn on every worker, with its fill job when @jobs is given. */
static unsigned int start_workers(struct workload *wl, void *(*fn)(void *),
				  struct fill_job *jobs)
{
	unsigned int i;

	for (i = 0; i < wl->opt->threads; i++) {
		struct worker *w = &wl->workers[i];
		void *arg = w;

		if (jobs) {
			jobs[i] = (struct fill_job){ w, i, wl->opt->threads };
			arg = &jobs[i];
		}
		if (pthread_create(&w->thread, NULL, fn, arg))
			break;
	}
	return i;
}

static void join_workers(struct workload *wl, unsigned int started)
{
	for (unsigned int i = 0; i < started; i++)
		pthread_join(wl->workers[i].thread, NULL);
}

/* Waits out the touch phase: a bar on a terminal, lines otherwise. */
static void wait_touch_phase(struct workload *wl)
{
	const struct workload_options *o = wl->opt;
	bool tty = isatty(STDERR_FILENO);
	double start = now_seconds(), next_line = start, now;

	while ((now = now_seconds()) < start + o->duration) {
		double done = (now - start) / o->duration;
		unsigned long long rss = status_bytes("VmRSS") >> 20;
		int bar = (int)(done * 30);

		if (o->progress && tty) {
			fprintf(stderr, "\r[%.*s%*s] %3.0f%%  touches %lu  "
				"resident %llu/%llu MiB ", bar,
				"==============================", 30 - bar, "",
				done * 100, atomic_load(&wl->touches), rss,
				(unsigned long long)(o->budget >> 20));
		} else if (o->progress && now >= next_line) {
			fprintf(stderr, "uttm: %3.0f%% touches %lu resident "
				"%llu MiB\n", done * 100,
				atomic_load(&wl->touches), rss);
			next_line = now + 5;
		}
		usleep(100 * 1000);
	}
	if (o->progress && tty)
		fputc('\n', stderr);
}

/* Percentiles of the samples of all workers, in microseconds. */
static void percentiles(struct workload *wl, size_t offset, double *p50,
			double *p99, unsigned long *count)
{
	struct samples all = { 0 };

	for (unsigned int i = 0; i < wl->opt->threads; i++) {
		struct samples *s = (struct samples *)((char *)&wl->workers[i] +
						       offset);

		for (size_t j = 0; j < s->n; j++)
			sample(&all, s->v[j]);
	}
	*p50 = percentile(all.v, all.n, 0.5) * 1e6;
	*p99 = percentile(all.v, all.n, 0.99) * 1e6;
	if (count)
		*count = all.n;
	free(all.v);
}

static void sum_up(struct workload *wl, struct workload_result *res)
{
	for (unsigned int i = 0; i < wl->opt->threads; i++) {
		struct worker *w = &wl->workers[i];

		res->touches += w->touches;
		res->errors += w->errors;
		res->content_lost += w->content_lost;
		res->bytes_verified += w->bytes_verified;
		res->mismatches += w->mismatches;
	}
	percentiles(wl, offsetof(struct worker, touch), &res->touch_p50_us,
		    &res->touch_p99_us, NULL);
	percentiles(wl, offsetof(struct worker, restore), &res->restore_p50_us,
		    &res->restore_p99_us, &res->restores);
	res->verified_per_s = (double)res->bytes_verified / res->total_seconds;
}

/* Fill, touch for the duration, check everything once more. */
static int run_phases(struct workload *wl, struct workload_result *res)
{
	struct fill_job *jobs = calloc(wl->opt->threads, sizeof(*jobs));
	unsigned int started;
	unsigned long before;
	double t;

	if (!jobs)
		return -ENOMEM;
	started = start_workers(wl, fill_main, jobs);
	join_workers(wl, started);
	free(jobs);
	if (started < wl->opt->threads)
		return -EAGAIN;

	before = atomic_load(&wl->touches);
	t = now_seconds();
	started = start_workers(wl, touch_main, NULL);
	wait_touch_phase(wl);
	atomic_store(&wl->stop, true);
	join_workers(wl, started);
	res->touches_per_s = (double)(atomic_load(&wl->touches) - before) /
			     (now_seconds() - t);
	if (started < wl->opt->threads)
		return -EAGAIN;

	for (unsigned long id = 0; id < wl->opt->objects; id++)
		touch(&wl->workers[0], id, true, false);
	return 0;
}

int workload_run(const struct workload_options *o,
		 const struct workload_backend *backend, void *priv,
		 struct workload_result *res)
{
	struct workload wl = { .opt = o, .backend = backend, .priv = priv };
	double start = now_seconds();
	int ret = -ENOMEM;

	memset(res, 0, sizeof(*res));
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
	for (unsigned int i = 0; wl.workers && i < o->threads; i++) {
		free(wl.workers[i].touch.v);
		free(wl.workers[i].restore.v);
	}
	free(wl.workers);
	free(wl.versions);
	return ret;
}
