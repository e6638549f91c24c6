// SPDX-License-Identifier: MIT
/*
 * The metrics file of `uttm run`; see metrics.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uttm/device.h>

#include "run/metrics.h"

struct metrics_writer {
	struct uttm_context *ctx;
	const char *path;
	struct timespec interval;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stop;
	int error;
};

int metrics_write(struct uttm_context *ctx, const char *path)
{
	char tmp[4096];
	FILE *out;
	int ret;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	out = fopen(tmp, "w");
	if (!out)
		return -errno;
	ret = uttm_context_metrics(ctx, out);
	if (fclose(out) && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path))
		ret = -errno;
	if (ret)
		remove(tmp);
	return ret;
}

static void *writer_main(void *arg)
{
	struct metrics_writer *w = arg;
	struct timespec next;

	pthread_mutex_lock(&w->lock);
	while (!w->stop) {
		clock_gettime(CLOCK_REALTIME, &next);
		next.tv_sec += w->interval.tv_sec;
		next.tv_nsec += w->interval.tv_nsec;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_sec++;
			next.tv_nsec -= 1000000000L;
		}
		while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock,
							  &next) != ETIMEDOUT)
			;
		if (!w->stop) {
			pthread_mutex_unlock(&w->lock);
			w->error = metrics_write(w->ctx, w->path);
			pthread_mutex_lock(&w->lock);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int metrics_writer_start(struct uttm_context *ctx, const char *path,
			 double interval, struct metrics_writer **out)
{
	struct metrics_writer *w = calloc(1, sizeof(*w));
	int ret;

	if (!w)
		return -ENOMEM;
	w->ctx = ctx;
	w->path = path;
	w->interval.tv_sec = (time_t)interval;
	w->interval.tv_nsec = (long)((interval - (double)(time_t)interval) *
				     1e9);
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	ret = -pthread_create(&w->thread, NULL, writer_main, w);
	if (ret) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return ret;
	}
	*out = w;
	return 0;
}

int metrics_writer_stop(struct metrics_writer *w)
{
	int ret;

	if (!w)
		return 0;
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	ret = w->error;
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
	return ret;
}
