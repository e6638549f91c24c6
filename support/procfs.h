/* SPDX-License-Identifier: MIT */
/*
 * Figures the kernel publishes in /proc, for the tool and the tests.
 */
#ifndef UTTM_PROCFS_H
#define UTTM_PROCFS_H

#include <stdint.h>

/*
 * The number after @key on the first line of @path starting with it; with
 * @key "", the number on the first line.  0 when there is none.
 */
uint64_t proc_number(const char *path, const char *key);

/* A field of /proc/self/status in bytes, e.g. "VmRSS", "VmHWM", "VmLck". */
uint64_t status_bytes(const char *field);

/* Free swap of the whole system, in bytes. */
uint64_t swap_free_bytes(void);

#endif /* UTTM_PROCFS_H */
