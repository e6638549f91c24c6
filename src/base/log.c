// SPDX-License-Identifier: MIT
/*
 * The library's messages and the hook that routes them (uttm/log.h).
 * The hook and its data change together under a lock, and a message
 * reads both under it, then delivers outside it: a hook may take its
 * time without holding up uttm_set_log().
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "uttm/log.h"
#include "base/base.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static uttm_log_fn log_fn = uttm_log_stderr;
static void *log_data;

void uttm_log_stderr(enum uttm_log_level level, const char *message,
		     void *data)
{
	fprintf(stderr, "uttm: %s\n", message);
}

void uttm_set_log(uttm_log_fn fn, void *data)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_data = data;
	pthread_mutex_unlock(&log_lock);
}

void uttm_log(enum uttm_log_level level, const char *fmt, ...)
{
	/* On the stack: the monitor logs where memory may be short. */
	char message[256];
	uttm_log_fn fn;
	void *data;
	va_list ap;

	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	data = log_data;
	pthread_mutex_unlock(&log_lock);
	if (!fn)
		return;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	fn(level, message, data);
}

void uttm_warn_report(const char *file, int line, const char *cond)
{
	uttm_log(UTTM_LOG_WARNING, "warning at %s:%d: %s", file, line, cond);
}
