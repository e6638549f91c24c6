/* SPDX-License-Identifier: MIT */
/*
 * Shared declarations of the uttm tool: subcommands, the figure sets every
 * benchmark and report prints (as a table or as one JSON object), timing
 * and argument helpers.
 */
#ifndef UTTM_TOOL_H
#define UTTM_TOOL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define UTTM_EXIT_USAGE 2

/**
 * struct figure - one measured or derived value of a report
 * @key: JSON field name.
 * @label: what the table shows.
 * @unit: unit shown in the table, or "" for a plain number.
 * @value: the value.
 * @integer: print without decimals.
 */
struct figure {
	const char *key;
	const char *label;
	const char *unit;
	double value;
	bool integer;
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
void figures_section(struct figures *set, const char *label);
void figures_print(const struct figures *set, FILE *out, bool json);

/* Seconds on the monotonic clock, and CPU seconds of the process. */
double now_seconds(void);
double cpu_seconds(void);

double median(double *values, unsigned int count);

/* Median of @field over the first @n elements of the array @rounds. */
#define MEDIAN_OF(rounds, n, field)                                     \
	({                                                              \
		double __v[n];                                          \
		for (unsigned int __i = 0; __i < (n); __i++)            \
			__v[__i] = (rounds)[__i].field;                 \
		median(__v, (n));                                       \
	})

#define MIN_UL(a, b) ((unsigned long)(a) < (unsigned long)(b) ? \
		      (unsigned long)(a) : (unsigned long)(b))

int parse_uint(const char *text, unsigned long max, unsigned long *value);

/* Options shared by every benchmark; some use only part of them. */
struct bench_options {
	bool json;
	unsigned int rounds;
	uint64_t bytes;
	double duration;
	const char *store;
};

int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int bench_pool(const struct bench_options *opts);
int bench_backup(const struct bench_options *opts);
int bench_shrink(const struct bench_options *opts);
int bench_e2e(const struct bench_options *opts);

#endif /* UTTM_TOOL_H */
