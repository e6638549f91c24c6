// SPDX-License-Identifier: MIT
/*
 * Option values of the tool's commands, read so that a bad one is named
 * with the reason ("uttm run: --threads 0: must be at least 1") and the
 * command exits with status 2, as util-linux's tools do.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/device.h>

#include "support/pattern.h"
#include "support/size.h"
#include "uttm.h"

static int bad_value(const char *cmd, const char *name, const char *arg,
		     const char *why)
{
	fprintf(stderr, "%s: --%s %s: %s\n", cmd, name, arg, why);
	return -EINVAL;
}


int opt_size(const char *cmd, const char *name, const char *arg,
	     uint64_t min, uint64_t max, uint64_t *value)
{
	uint64_t bytes;
	char text[32];
	int ret = parse_size(arg, &bytes);

	if (ret == -ERANGE)
		return bad_value(cmd, name, arg, "too large");
	if (ret)
		return bad_value(cmd, name, arg,
				 "not a size (e.g. 4096, 64K, 256M, 1.5G)");
	if (bytes < min) {
		fprintf(stderr, "%s: --%s %s: must be at least %s\n", cmd,
			name, arg, format_size(text, sizeof(text), min));
		return -EINVAL;
	}
	if (bytes > max) {
		fprintf(stderr, "%s: --%s %s: must be at most %s\n", cmd,
			name, arg, format_size(text, sizeof(text), max));
		return -EINVAL;
	}
	*value = bytes;
	return 0;
}

int opt_memory_fits(const char *cmd, const char *name, uint64_t bytes)
{
	struct uttm_memory_limit limit;
	char text[32];

	if (uttm_memory_limit(&limit) || bytes <= limit.bytes)
		return 0;
	fprintf(stderr, "%s: --%s %s: more than this process may use: ", cmd,
		name, format_size(text, sizeof(text), bytes));
	fprintf(stderr, "%s of RAM", format_size(text, sizeof(text),
						 limit.ram_bytes));
	if (limit.cgroup_bytes != UINT64_MAX)
		fprintf(stderr, ", %s its memory cgroup's limit",
			format_size(text, sizeof(text), limit.cgroup_bytes));
	fputc('\n', stderr);
	return -E2BIG;
}

int opt_count(const char *cmd, const char *name, const char *arg,
	      unsigned long min, unsigned long max, unsigned long *value)
{
	unsigned long n;
	char *end;

	if (*arg < '0' || *arg > '9')
		return bad_value(cmd, name, arg, "not a whole number");
	errno = 0;
	n = strtoul(arg, &end, 10);
	if (*end)
		return bad_value(cmd, name, arg, "not a whole number");
	if (errno || n > max) {
		fprintf(stderr, "%s: --%s %s: must be at most %lu\n", cmd,
			name, arg, max);
		return -EINVAL;
	}
	if (n < min) {
		fprintf(stderr, "%s: --%s %s: must be at least %lu\n", cmd,
			name, arg, min);
		return -EINVAL;
	}
	*value = n;
	return 0;
}

int opt_share(const char *cmd, const char *name, const char *arg,
	      double *value)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg)
		return bad_value(cmd, name, arg, "not a number");
	/* Written so that NaN fails too. */
	if (!(v >= 0 && v <= 1))
		return bad_value(cmd, name, arg, "must be between 0 and 1");
	*value = v;
	return 0;
}

int opt_seconds(const char *cmd, const char *name, const char *arg,
		bool zero_ok, double *value)
{
	double v;
	char *end;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || *end || end == arg)
		return bad_value(cmd, name, arg, "not a number of seconds");
	if (!(v > 0) && !(zero_ok && v == 0))
		return bad_value(cmd, name, arg, zero_ok ?
				 "must not be negative" : "must be more than 0");
	*value = v;
	return 0;
}

int opt_content(const char *cmd, const char *arg,
		enum pattern_content *value)
{
	char why[64];

	if (!pattern_content_parse(arg, value))
		return 0;
	snprintf(why, sizeof(why), "unknown content; the kinds are %s",
		 pattern_content_names());
	return bad_value(cmd, "content", arg, why);
}

int opt_error(const char *cmd, int c, char **argv)
{
	const char *arg = argv[optind - 1];

	if (c == ':')
		fprintf(stderr, "%s: %s needs a value\n", cmd, arg);
	else if (optopt)
		fprintf(stderr, "%s: unknown option '-%c'\n", cmd, optopt);
	else
		fprintf(stderr, "%s: unknown option '%s'\n", cmd, arg);
	return -EINVAL;
}

int opt_usage_error(const char *help_cmd)
{
	fprintf(stderr, "Try '%s --help' for more information.\n", help_cmd);
	return UTTM_EXIT_USAGE;
}
