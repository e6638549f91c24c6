// SPDX-License-Identifier: MIT
/*
 * uttm: the command-line face of libuttm.  Subcommands run the main
 * workload (whose --stats dumps the context at the end) and the
 * benchmarks.
 */
#include <stdio.h>
#include <string.h>

#include "uttm.h"

static const struct {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "run", "the main job: objects over a budget, shrunk and restored,\n"
		 "           every byte checked (uttm run --help)",
	  cmd_run },
	{ "bench", "measure uttm against its references (uttm bench --help)",
	  cmd_bench },
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: uttm [-h|--help] [-V|--version] COMMAND [ARGS]\n"
		"\n"
		"uttm manages large buffers in host memory the way the kernel's\n"
		"TTM does: pooled pages, page vectors, backup stores and a\n"
		"shrinker that keeps memory under a budget without losing data.\n"
		"\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-8s %s\n", commands[i].name,
			commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return UTTM_EXIT_USAGE;
	}
	if (is_help_option(argv[1])) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("uttm %s\n", UTTM_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "uttm: unknown command '%s'\n", argv[1]);
	return opt_usage_error("uttm");
}
