/* SPDX-License-Identifier: MIT */
/*
 * Temporary swap files, for the tests and benchmarks that compare with
 * or depend on kernel swap.  Needs root (CAP_SYS_ADMIN).
 */
#ifndef UTTM_SWAPFILE_H
#define UTTM_SWAPFILE_H

#include <stdint.h>

/*
 * Creates a swap file of @bytes at @path and enables it.  On failure
 * nothing is left behind.  Returns 0 or a negative errno (-EPERM without
 * privilege, -EINVAL where the file system cannot hold swap).
 */
int swapfile_create(const char *path, uint64_t bytes);

/* Disables and removes a swap file made by swapfile_create(). */
int swapfile_remove(const char *path);

/*
 * Writes the header mkswap writes to the first page of @fd, a file or a
 * block device of @bytes, so that swapon(2) takes it.  0 or -EIO.
 */
int swap_header_write(int fd, uint64_t bytes);

/* Disables swap area @path, trying again when a signal interrupts it. */
int swap_area_off(const char *path);

#endif /* UTTM_SWAPFILE_H */
