/* SPDX-License-Identifier: MIT */
/*
 * Memory cgroups for the benchmarks that confine a process to a budget:
 * cgroup v2 where its memory controller is available, v1 otherwise.
 * Creating one needs root.
 */
#ifndef UTTM_CGROUP_H
#define UTTM_CGROUP_H

#include <stdbool.h>
#include <stdint.h>

/**
 * struct cgroup - a memory cgroup made by cgroup_create()
 * @path: its directory.
 * @v2: whether it is a cgroup v2 one.
 */
struct cgroup {
	char path[256];
	bool v2;
};

/*
 * Creates cgroup @name limited to @limit bytes of memory, swap allowed.
 * Returns 0, -ENOENT without a memory controller, -EPERM or -EACCES
 * without privilege.
 */
int cgroup_create(struct cgroup *cg, const char *name, uint64_t limit);

/*
 * Makes tasks of @cg that reach its limit wait for memory to be reclaimed
 * instead of being killed: v1 turns its OOM killer off, v2 moves the limit
 * to memory.high, which throttles, and lifts memory.max.  Only where
 * something else will free memory: with nothing reclaimable in time, a v1
 * task waits for good.
 */
int cgroup_throttle(const struct cgroup *cg);

/* Moves the calling process into @cg. */
int cgroup_enter(const struct cgroup *cg);

/*
 * Peak memory use of @cg in bytes, OOM kills it saw, and the times a
 * charge found it at its limit, so that the kernel reclaimed there.
 */
uint64_t cgroup_peak(const struct cgroup *cg);
uint64_t cgroup_oom_kills(const struct cgroup *cg);
uint64_t cgroup_limit_hits(const struct cgroup *cg);

/*
 * The memory cgroup the calling process is in: cgroup v2 where it has
 * the memory controller, else v1.  -ENOENT in the root or without one.
 */
int cgroup_self(struct cgroup *cg);

/* Whether @cg holds the calling process and no other. */
bool cgroup_dedicated(const struct cgroup *cg);

/* The limit of @cg (a huge number for none). */
uint64_t cgroup_limit(const struct cgroup *cg);

/* The name of the file cgroup_peak() reads, for reports. */
const char *cgroup_peak_name(const struct cgroup *cg);

/* What @cg uses now, and the swap it holds now. */
uint64_t cgroup_usage(const struct cgroup *cg);
uint64_t cgroup_swap_usage(const struct cgroup *cg);

/* Removes @cg, which must have no process left. */
int cgroup_remove(const struct cgroup *cg);

#endif /* UTTM_CGROUP_H */
