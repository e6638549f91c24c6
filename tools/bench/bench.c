// SPDX-License-Identifier: MIT
/*
 * `uttm bench NAME`: runs one benchmark.  Each measures uttm and its
 * reference side by side in one run, repeats the measurement and reports
 * medians, because these machines are noisy.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/device.h>

#include "stores.h"
#include "uttm.h"

/* Options only some benchmarks take; the others refuse them. */
#define USES_DURATION (1u << 0)
#define USES_STORE (1u << 1)
#define USES_REDIS (1u << 2)
#define USES_CONTENT (1u << 3)

static const struct bench {
	const char *name;
	const char *summary;
	int (*run)(const struct bench_options *opts);
	uint64_t default_bytes;
	uint64_t min_bytes;
	unsigned int default_rounds;
	unsigned int uses;
} benches[] = {
	{ "pool", "pool-hit vs fresh-block vs mmap+first-touch allocation",
	  bench_pool, 64ULL << 20, UTTM_PAGE_SIZE, 5, 0 },
	{ "backup", "backup/restore through stores vs raw memfd I/O and memcpy",
	  bench_backup, 1ULL << 30, UTTM_PAGE_SIZE, 5,
	  USES_STORE | USES_REDIS },
	{ "shrink", "one shrinker scan over 10,000 objects: walk vs stores",
	  bench_shrink, 1ULL << 30, SHRINK_OBJECTS * UTTM_PAGE_SIZE, 5, 0 },
	/* Each round runs every side for the duration. */
	{ "e2e", "uttm run against kernel swap, zram, zswap, the page cache "
	  "(root)", bench_e2e, 256ULL << 20, E2E_OBJECT_SIZE, 3,
	  USES_DURATION | USES_STORE | USES_CONTENT },
	/* Rounds are runs of the pressure scenario per source. */
	{ "budget", "uttm run in a cgroup of its budget, and under pressure (root)",
	  bench_budget, 256ULL << 20, 16ULL << 20, 20,
	  USES_DURATION | USES_STORE },
};

#define NR_BENCHES (sizeof(benches) / sizeof(benches[0]))

static void bench_usage(FILE *out)
{
	fprintf(out,
		"usage: uttm bench NAME [--json] [--rounds N] [--size BYTES]\n"
		"                       [--duration SECONDS] [--store NAME]\n"
		"                       [--redis URL] [--redis-password PW]\n"
		"                       [--content KIND] [--same-filled SHARE]\n"
		"\n"
		"  --json        print one JSON object instead of a table\n"
		"  --rounds N    repetitions; medians are reported (default 5,\n"
		"                e2e 3)\n"
		"  --size BYTES  data size per round (e.g. 64M); for e2e and budget\n"
		"                the memory budget, at least 4M and 16M; for shrink\n"
		"                a page for each of its 10,000 objects at least\n"
		"  --duration S  e2e, budget: seconds of touches per run (default\n"
		"                10)\n"
		"  --store NAME  e2e: the store of the uttm side (default file);\n"
		"                budget: the only store of its matrix; backup:\n"
		"                that store's part alone: %s\n"
		"  --redis URL   backup: measure this Redis server, HOST:PORT\n"
		"                (default: start a server and a 3-master\n"
		"                cluster on loopback); the password with\n"
		"                --redis-password or $UTTM_REDIS_PASSWORD\n"
		"  --content KIND\n"
		"                e2e: what every side's pages hold, random\n"
		"                (default) or text; compressible content adds\n"
		"                uttm's compressed store, zram and zswap\n"
		"  --same-filled SHARE\n"
		"                e2e: share of pages of one repeated byte\n"
		"\n  budget's --rounds are runs of its pressure scenario per source\n"
		"  (default 20)\n"
		"\nexit status: 0, 1 on a failure, 2 on a usage error; e2e and budget\n"
		"exit 3 without root, 4 without memory cgroups, 5 when no swap\n"
		"file can be enabled; budget 6 when built with a sanitizer.\n"
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

/* Refuses an option @b does not take; 0 when it takes it. */
static int check_used(const char *cmd, const struct bench *b, unsigned int use,
		      const char *name)
{
	if (b->uses & use)
		return 0;
	fprintf(stderr, "%s: --%s: not an option of this benchmark\n", cmd,
		name);
	return -EINVAL;
}

/* Reads one option of benchmark @b; 0, or -EINVAL with the reason said. */
static int bench_option(const char *cmd, const struct bench *b, int c,
			struct bench_options *opts, char **argv)
{
	unsigned long rounds;
	int ret;

	switch (c) {
	case 'j':
		opts->json = true;
		return 0;
	case 'r':
		ret = opt_count(cmd, "rounds", optarg, 1, 1000, &rounds);
		if (!ret)
			opts->rounds = (unsigned int)rounds;
		return ret;
	case 's':
		return opt_size(cmd, "size", optarg, b->min_bytes,
				UINT64_MAX, &opts->bytes);
	case 'd':
		ret = check_used(cmd, b, USES_DURATION, "duration");
		return ret ? ret : opt_seconds(cmd, "duration", optarg, false,
					       &opts->duration);
	case 't':
		ret = check_used(cmd, b, USES_STORE, "store");
		if (!ret && !tool_store_valid(optarg)) {
			fprintf(stderr, "%s: --store %s: unknown store; the "
				"stores are %s\n", cmd, optarg,
				tool_store_names());
			ret = -EINVAL;
		}
		opts->store = optarg;
		return ret;
	case 'R':
		ret = check_used(cmd, b, USES_REDIS, "redis");
		opts->redis_url = optarg;
		return ret;
	case 'P':
		ret = check_used(cmd, b, USES_REDIS, "redis-password");
		opts->redis_password = optarg;
		return ret;
	case 'c':
		ret = check_used(cmd, b, USES_CONTENT, "content");
		return ret ? ret : opt_content(cmd, optarg, &opts->content);
	case 'f':
		ret = check_used(cmd, b, USES_CONTENT, "same-filled");
		return ret ? ret : opt_share(cmd, "same-filled", optarg,
					     &opts->same_filled);
	default:
		return opt_error(cmd, c, argv);
	}
}

/* Parses the options after the name: 0, 1 for --help, or -EINVAL. */
static int parse_bench_options(int argc, char **argv, const struct bench *b,
			       struct bench_options *opts)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' },
		{ "duration", required_argument, NULL, 'd' },
		{ "store", required_argument, NULL, 't' },
		{ "redis", required_argument, NULL, 'R' },
		{ "redis-password", required_argument, NULL, 'P' },
		{ "content", required_argument, NULL, 'c' },
		{ "same-filled", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char cmd[64];
	int c, ret = 0;

	snprintf(cmd, sizeof(cmd), "uttm bench %s", b->name);
	optind = 2;
	opterr = 0;
	while (!ret && (c = getopt_long(argc, argv, ":h", longopts,
					NULL)) != -1) {
		if (c == 'h')
			return 1;
		ret = bench_option(cmd, b, c, opts, argv);
	}
	if (!ret && optind != argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", cmd,
			argv[optind]);
		ret = -EINVAL;
	}
	return ret;
}

int cmd_bench(int argc, char **argv)
{
	struct bench_options opts = { .duration = 10 };
	const struct bench *b;
	char cmd[64];
	int i, ret;

	if (argc >= 2 && is_help_option(argv[1])) {
		bench_usage(stdout);
		return 0;
	}
	i = argc >= 2 ? bench_index(argv[1]) : -1;
	if (i < 0) {
		if (argc < 2)
			fprintf(stderr, "uttm bench: which benchmark?\n");
		else
			fprintf(stderr, "uttm bench: unknown benchmark '%s'\n",
				argv[1]);
		return opt_usage_error("uttm bench");
	}
	b = &benches[i];
	opts.bytes = b->default_bytes;
	opts.rounds = b->default_rounds;
	ret = parse_bench_options(argc, argv, b, &opts);
	if (ret > 0) {
		bench_usage(stdout);
		return 0;
	}
	if (!ret) {
		snprintf(cmd, sizeof(cmd), "uttm bench %s", b->name);
		ret = opt_memory_fits(cmd, "size", opts.bytes);
	}
	if (ret)
		return opt_usage_error("uttm bench");
	return b->run(&opts);
}
