// SPDX-License-Identifier: MIT
/*
 * Small helpers of the tool: clocks, medians and percentiles, the
 * temporary directory, help options.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uttm.h"

double now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double percentile(double *values, size_t count, double p)
{
	double pos;
	size_t lo;

	if (!count)
		return 0;
	qsort(values, count, sizeof(*values), cmp_double);
	pos = p * (double)(count - 1);
	lo = (size_t)pos;
	if (lo + 1 >= count)
		return values[count - 1];
	return values[lo] + (pos - (double)lo) * (values[lo + 1] - values[lo]);
}

double median(double *values, size_t count)
{
	return percentile(values, count, 0.5);
}

const char *tool_tmpdir(void)
{
	const char *dir = getenv("TMPDIR");

	return dir && *dir ? dir : "/tmp";
}

bool is_help_option(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}
