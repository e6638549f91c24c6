// SPDX-License-Identifier: MIT
/*
 * `uttm bench NAME`: runs one benchmark.  Each measures uttm and its
 * reference side by side in one run, repeats the measurement and reports
 * medians, because these machines are noisy.
 */
#include <errno.h>
#include <float.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/device.h>

#include "stores.h"
#include "support/size.h"
#include "uttm.h"

static const struct {
	const char *name;
	const char *summary;
	int (*run)(const struct bench_options *opts);
	uint64_t default_bytes;
	uint64_t min_bytes;
	unsigned int default_rounds;
} benches[] = {
	{ "pool", "pool-hit vs fresh-block vs mmap+first-touch allocation",
	  bench_pool, 64ULL << 20, UTTM_PAGE_SIZE, 5 },
	{ "backup", "backup/restore through stores vs raw memfd I/O and memcpy",
	  bench_backup, 1ULL << 30, UTTM_PAGE_SIZE, 5 },
	{ "shrink", "one shrinker scan over 10,000 objects: walk vs stores",
	  bench_shrink, 1ULL << 30, SHRINK_OBJECTS * UTTM_PAGE_SIZE, 5 },
	/* Each round runs both sides for the duration, twice. */
	{ "e2e", "uttm run against plain memory under kernel swap (root)",
	  bench_e2e, 256ULL << 20, E2E_OBJECT_SIZE, 3 },
};

#define NR_BENCHES (sizeof(benches) / sizeof(benches[0]))

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: uttm bench NAME [--json] [--rounds N] [--size BYTES]\n"
		"                       [--duration SECONDS] [--store NAME]\n"
		"\n"
		"  --json        print one JSON object instead of a table\n"
		"  --rounds N    repetitions; medians are reported (default 5,\n"
		"                e2e 3)\n"
		"  --size BYTES  data size per round (e.g. 64M); for e2e the\n"
		"                memory budget, at least 4M; for shrink a page\n"
		"                for each of its 10,000 objects at least\n"
		"  --duration S  e2e: seconds of touches per side and round\n"
		"                (default 10)\n"
		"  --store NAME  e2e: the store of the uttm side (default file):\n"
		"                %s\n"
		"\nexit status: 0, 1 on a failure, 2 on a usage error; e2e exits 3\n"
		"without root, 4 without memory cgroups, 5 when no swap file can\n"
		"be enabled.\n"
		"\nbenchmarks:\n", tool_store_names());
	for (size_t i = 0; i < NR_BENCHES; i++)
		fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].summary);
}

static int bench_index(const char *name)
{
	for (size_t i = 0; i < NR_BENCHES; i++)
		if (!strcmp(name, benches[i].name))
			return (int)i;
	return -1;
}

/* Parses the options after the name: 0, 1 for --help, or -EINVAL. */
static int parse_bench_options(int argc, char **argv,
			       struct bench_options *opts)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long rounds;
	int c;

	optind = 2;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			opts->json = true;
			break;
		case 'r':
			if (parse_uint(optarg, 1000, &rounds) || !rounds)
				return -EINVAL;
			opts->rounds = (unsigned int)rounds;
			break;
		case 's':
			if (parse_size(optarg, &opts->bytes))
				return -EINVAL;
			break;
		case 'd':
			if (parse_double(optarg, 0, DBL_MAX, &opts->duration) ||
			    !opts->duration)
				return -EINVAL;
			break;
		case 't':
			if (!tool_store_valid(optarg)) {
				fprintf(stderr, "uttm bench: unknown store "
					"'%s'\n", optarg);
				return -EINVAL;
			}
			opts->store = optarg;
			break;
		case 'h':
			return 1;
		default:
			return -EINVAL;
		}
	}
	return optind == argc ? 0 : -EINVAL;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_options opts = { .duration = 10 };
	int i, ret;

	if (argc >= 2 && is_help_option(argv[1])) {
		bench_usage(stdout);
		return 0;
	}
	i = argc >= 2 ? bench_index(argv[1]) : -1;
	if (i < 0) {
		if (argc >= 2 && argv[1][0] != '-')
			fprintf(stderr, "uttm bench: unknown benchmark '%s'\n",
				argv[1]);
		goto usage;
	}
	opts.bytes = benches[i].default_bytes;
	opts.rounds = benches[i].default_rounds;
	ret = parse_bench_options(argc, argv, &opts);
	if (ret > 0) {
		bench_usage(stdout);
		return 0;
	}
	if (ret)
		goto usage;
	if (opts.bytes < benches[i].min_bytes) {
		fprintf(stderr, "uttm bench %s: --size must be at least %llu "
			"bytes\n", benches[i].name,
			(unsigned long long)benches[i].min_bytes);
		goto usage;
	}
	return benches[i].run(&opts);
usage:
	bench_usage(stderr);
	return UTTM_EXIT_USAGE;
}
