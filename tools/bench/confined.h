/* SPDX-License-Identifier: MIT */
/*
 * What the benchmarks that confine processes to memory cgroups share
 * (bench e2e, bench budget): the checks that they may (root, a memory
 * controller), a swap file for their runs, children in fresh cgroups, and
 * a signal that stops them with everything removed.
 */
#ifndef UTTM_BENCH_CONFINED_H
#define UTTM_BENCH_CONFINED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "support/cgroup.h"
#include "support/zswap.h"

/* Exit statuses of a benchmark that cannot confine anything here. */
#define EXIT_NOT_ROOT 3
#define EXIT_NO_CGROUP 4
#define EXIT_NO_SWAP 5

/**
 * struct confined - a confining benchmark's state
 * @tool: its name, for messages ("uttm bench e2e").
 * @lock_fd: the lock that keeps a second confining benchmark out, or -1.
 * @zswap: zswap's settings before the benchmark switched it off.
 * @zswap_off: whether @zswap holds them.
 * @swap_path: the swap file it switched on.
 * @companion: a process running beside the current child, or 0.
 */
struct confined {
	const char *tool;
	int lock_fd;
	struct zswap zswap;
	bool zswap_off;
	char swap_path[256];
	pid_t companion;
};

/*
 * Checks that cgroups can be made (named after @tag and the process),
 * waits for any other confining benchmark to end (each changes the
 * machine's swap, and one would restore what the other set), switches
 * zswap off, so that swap means the swap file unless a side asks for
 * zswap, and switches a swap file of @swap_bytes on (none for 0); catches
 * SIGINT, SIGTERM and SIGHUP, which confined_interrupted() then reports.
 * Returns 0, or the exit status to end with (EXIT_NOT_ROOT, ...), having
 * said why and left nothing behind.
 */
int confined_prepare(struct confined *env, const char *tool, const char *tag,
		     uint64_t swap_bytes);

/*
 * Switches the swap file off and removes it, puts zswap back as it was,
 * and lets the next confining benchmark in; says so if it cannot.
 */
void confined_finish(struct confined *env);

/* The signal that asked the benchmark to stop, or 0. */
int confined_interrupted(void);

/* Removes a cgroup, saying so when it cannot. */
void confined_remove(const struct cgroup *cg);

/* A process's memory cgroup: the kernel's view of @cg is the caller's. */
typedef int (*companion_fn)(void *cg);

/*
 * Runs /proc/self/exe with @argv in a new cgroup @name limited to @limit
 * bytes, its standard output read into @out (@size bytes with the NUL),
 * and, when @companion is given, a second child running it in the same
 * cgroup; waits for the first child, whose status goes to @status.  The
 * cgroup stays for the caller to read (@cg), then to confined_remove();
 * the companion to confined_stop_companion().  A signal kills the
 * children.  Returns 0, or a negative errno (no cgroup was left).
 */
int confined_run(struct confined *env, const char *name, uint64_t limit,
		 char **argv, char *out, size_t size, companion_fn companion,
		 struct cgroup *cg, int *status);

/* Stops the companion with SIGTERM; returns its wait status, 0 for none. */
int confined_stop_companion(struct confined *env);

#endif /* UTTM_BENCH_CONFINED_H */
