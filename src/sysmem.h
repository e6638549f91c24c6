/* SPDX-License-Identifier: MIT */
/*
 * Facts about the system's memory that stores and the pressure monitor
 * read: free swap, and the files of the process's memory cgroup.
 */
#ifndef UTTM_SYSMEM_H
#define UTTM_SYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Swap the process can still use: the system's free swap, bounded by the
 * headroom of its cgroup v2 swap limit when there is one.
 */
uint64_t __uttm_swap_free_bytes(void);

/*
 * Room left in a store that holds @used bytes: what remains of its
 * @capacity or, without one (0), the swap the process can still use,
 * since pages parked in memory the kernel cannot swap free nothing.
 */
uint64_t __uttm_store_room(uint64_t capacity, uint64_t used);

/*
 * Path of @file (e.g. "memory.swap.max") in the process's cgroup v2
 * directory, when it exists.  Returns 0 or -ENOENT.
 */
int __uttm_cgroup2_file(const char *file, char *path, size_t size);

/* Whether the process sits in the root of cgroup v2 (or has none). */
bool __uttm_in_cgroup2_root(void);

/*
 * The process's cgroup v1 directory for @controller (e.g. "memory"), when
 * that hierarchy is mounted at /sys/fs/cgroup/@controller.  Returns 0 or
 * -ENOENT.
 */
int __uttm_cgroup1_dir(const char *controller, char *path, size_t size);

/* Reads a small file into @buf, NUL-terminated, without allocating. */
int __uttm_read_text(const char *path, char *buf, size_t size);

/* Reads one unsigned number (or "max", as UINT64_MAX) from a file. */
int __uttm_read_u64(const char *path, uint64_t *value);

#endif /* UTTM_SYSMEM_H */
