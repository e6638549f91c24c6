/* SPDX-License-Identifier: MIT */
/*
 * Figures the kernel publishes in /proc, and its control files in /proc
 * and /sys, for the tool and the tests.
 */
#ifndef UTTM_PROCFS_H
#define UTTM_PROCFS_H

#include <stddef.h>
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

/* The process's proportional set size (smaps_rollup), in bytes. */
uint64_t pss_bytes(void);

/*
 * Memory held for files the process has open but not mapped (a store's
 * memfd, a file store's file): their pages in the page cache, as
 * cachestat(2) counts them (mincore() on older kernels).  Mapped files
 * count in the PSS already.
 */
uint64_t unmapped_files_resident_bytes(void);
/*
 * Writes @text to the control file @path in one write(2), as echo does;
 * 0 or the negative errno the kernel gave.
 */
int sys_write_text(const char *path, const char *text);

/*
 * Reads the first line of @path into @buf, without its newline; 0 or a
 * negative errno.
 */
int sys_read_line(const char *path, char *buf, size_t size);

#endif /* UTTM_PROCFS_H */
