/* SPDX-License-Identifier: MIT */
/*
 * Shared declarations of the uttm tool: subcommands, the figure sets every
 * benchmark and report prints (as a table or as one JSON object), timing
 * and argument helpers.
 */
#ifndef UTTM_TOOL_H
#define UTTM_TOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "support/pattern.h"

#define UTTM_EXIT_USAGE 2
/* uttm run: the pressure source asked for is not to be had here. */
#define UTTM_EXIT_NO_SOURCE 3

/**
 * struct figure - one measured or derived value of a report
 * @key: JSON field name.
 * @label: what the table shows.
 * @unit: unit shown in the table, or "" for a plain number.
 * @value: the value.
 * @integer: print without decimals.
 * @text: a value that is a word (a store's name, a version) rather than
 * a number, or NULL.
 */
struct figure {
	const char *key;
	const char *label;
	const char *unit;
	double value;
	bool integer;
	const char *text;
};

/**
 * struct figures - an ordered set of figures under a title
 * @title: heading of the table.
 * @items: the figures.
 * @count: number of figures.
 * @capacity: room in @items.
 */
struct figures {
	const char *title;
	struct figure *items;
	unsigned int count;
	unsigned int capacity;
};

void figures_init(struct figures *set, const char *title);
void figures_fini(struct figures *set);
void figures_add(struct figures *set, const char *key, const char *label,
		 const char *unit, double value);
void figures_add_int(struct figures *set, const char *key, const char *label,
		     const char *unit, uint64_t value);
void figures_add_text(struct figures *set, const char *key, const char *label,
		      const char *text);
void figures_section(struct figures *set, const char *label);
void figures_print(const struct figures *set, FILE *out, bool json);

/* Seconds on the monotonic clock, and CPU seconds of the process. */
double now_seconds(void);
double cpu_seconds(void);

/*
 * The @p-th quantile (0 to 1) of @count values, interpolated between
 * neighbours as most statistics packages do; 0 without values.  Sorts
 * @values in place.  median() is the 0.5-th.
 */
double percentile(double *values, size_t count, double p);
double median(double *values, size_t count);

/*
 * Median over @i = 0 .. @n - 1 of @expr, an expression of @i, e.g.
 * MEDIAN_EXPR(n, i, rounds[i][side].backup).
 */
#define MEDIAN_EXPR(n, i, expr)                                         \
	({                                                              \
		double __v[n];                                          \
		for (unsigned int i = 0; i < (n); i++)                  \
			__v[i] = (double)(expr);                        \
		median(__v, (n));                                       \
	})

/* Median of @field over the first @n elements of the array @rounds. */
#define MEDIAN_OF(rounds, n, field) MEDIAN_EXPR(n, __i, (rounds)[__i].field)

#define MIN_UL(a, b) ((unsigned long)(a) < (unsigned long)(b) ? \
		      (unsigned long)(a) : (unsigned long)(b))

/* Where temporary files go: $TMPDIR, or /tmp. */
const char *tool_tmpdir(void);

/*
 * Option values.  Each reads the whole of @arg, the value of option
 * --@name of command @cmd ("uttm run"), into *@value; a bad value is
 * named on stderr with the reason and gives -EINVAL, leaving *@value
 * alone.  opt_size() takes human units (support/size.h) from @min to
 * @max bytes; opt_count() a whole number in [@min, @max]; opt_share() a
 * number from 0 to 1; opt_seconds() a number of seconds above 0, or 0
 * too when @zero_ok.
 */
int opt_size(const char *cmd, const char *name, const char *arg,
	     uint64_t min, uint64_t max, uint64_t *value);
int opt_count(const char *cmd, const char *name, const char *arg,
	      unsigned long min, unsigned long max, unsigned long *value);
int opt_share(const char *cmd, const char *name, const char *arg,
	      double *value);
int opt_seconds(const char *cmd, const char *name, const char *arg,
		bool zero_ok, double *value);

/*
 * Whether @bytes, the value of --@name, is memory this process may have
 * (uttm_memory_limit()); if not, says so on stderr with what it may have
 * and returns -E2BIG.
 */
int opt_memory_fits(const char *cmd, const char *name, uint64_t bytes);

/* --content: a kind of content support/pattern.h makes, by name. */
int opt_content(const char *cmd, const char *arg,
		enum pattern_content *value);

/*
 * What getopt_long() returned @c ('?' or ':') for, said on stderr: an
 * unknown option or one without its value.  Returns -EINVAL.  Callers set
 * opterr to 0 and start the option string with ':'.
 */
int opt_error(const char *cmd, int c, char **argv);

/* Points at `@help_cmd --help`; returns the usage exit status. */
int opt_usage_error(const char *help_cmd);

/* Options shared by every benchmark; some use only part of them. */
struct bench_options {
	bool json;
	unsigned int rounds;
	uint64_t bytes;
	double duration;
	const char *store;
	const char *redis_url;
	const char *redis_password;
	enum pattern_content content;
	double same_filled;
};

/* Whether @arg asks for help: -h or --help. */
bool is_help_option(const char *arg);

/* bench shrink's data spreads over this many objects, a page each at least. */
#define SHRINK_OBJECTS 10000
/* The size of bench e2e's objects; its budget holds one at least. */
#define E2E_OBJECT_SIZE (4ULL << 20)

int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int bench_pool(const struct bench_options *opts);
int bench_backup(const struct bench_options *opts);
int bench_shrink(const struct bench_options *opts);
int bench_e2e(const struct bench_options *opts);
int bench_budget(const struct bench_options *opts);

#endif /* UTTM_TOOL_H */
