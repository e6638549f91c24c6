// SPDX-License-Identifier: MIT
/*
 * `uttm bench NAME`: runs one benchmark.  Each measures uttm and its
 * reference side by side in one run, repeats the measurement and reports
 * medians, because these machines are noisy.
 */
#include <float.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/device.h>

#include "stores.h"
#include "uttm.h"

static const struct {
	const char *name;
	const char *summary;
	int (*run)(const struct bench_options *opts);
	uint64_t default_bytes;
	unsigned int default_rounds;
} benches[] = {
	{ "pool", "pool-hit vs fresh-block vs mmap+first-touch allocation",
	  bench_pool, 64ULL << 20, 5 },
	{ "backup", "backup/restore through stores vs raw memfd I/O and memcpy",
	  bench_backup, 1ULL << 30, 5 },
	{ "shrink", "one shrinker scan over 10,000 objects: walk vs stores",
	  bench_shrink, 1ULL << 30, 5 },
	/* Each round runs both sides for the duration, twice. */
	{ "e2e", "uttm run against plain memory under kernel swap (root)",
	  bench_e2e, 256ULL << 20, 3 },
};

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
		"                memory budget\n"
		"  --duration S  e2e: seconds of touches per side and round\n"
		"                (default 10)\n"
		"  --store NAME  e2e: the store of the uttm side (default file)\n"
		"\ne2e exits 3 without root, 4 without memory cgroups, 5 when no\n"
		"swap file can be enabled.\n"
		"\nbenchmarks:\n");
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
		fprintf(out, "  %-8s %s\n", benches[i].name, benches[i].summary);
}

int cmd_bench(int argc, char **argv)
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
	struct bench_options opts = { .duration = 10 };
	unsigned long rounds;
	int c;

	if (argc < 2 || argv[1][0] == '-') {
		bench_usage(argc >= 2 && !strcmp(argv[1], "--help") ?
			    stdout : stderr);
		return argc >= 2 && !strcmp(argv[1], "--help") ?
		       0 : UTTM_EXIT_USAGE;
	}
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		if (strcmp(argv[1], benches[i].name))
			continue;
		opts.bytes = benches[i].default_bytes;
		opts.rounds = benches[i].default_rounds;
		optind = 2;
		while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
			switch (c) {
			case 'j':
				opts.json = true;
				break;
			case 'r':
				if (parse_uint(optarg, 1000, &rounds) || !rounds)
					goto usage;
				opts.rounds = (unsigned int)rounds;
				break;
			case 's':
				if (uttm_parse_size(optarg, &opts.bytes) ||
				    opts.bytes < UTTM_PAGE_SIZE)
					goto usage;
				break;
			case 'd':
				if (parse_double(optarg, 0, DBL_MAX,
						 &opts.duration) || !opts.duration)
					goto usage;
				break;
			case 't':
				if (!tool_store_valid(optarg)) {
					fprintf(stderr, "uttm bench: unknown store "
						"'%s'\n", optarg);
					goto usage;
				}
				opts.store = optarg;
				break;
			case 'h':
				bench_usage(stdout);
				return 0;
			default:
				goto usage;
			}
		}
		if (optind != argc)
			goto usage;
		return benches[i].run(&opts);
	}
	fprintf(stderr, "uttm bench: unknown benchmark '%s'\n", argv[1]);
usage:
	bench_usage(stderr);
	return UTTM_EXIT_USAGE;
}
