/* SPDX-License-Identifier: MIT */
/*
 * Failures of the file under a store that keeps pages in a file (the
 * shmem and file stores), and the tools to cause them: a write that
 * fails midway, a file that loses its tail, a system call refused.  Each
 * store's tests run the same scenarios against it.
 */
#ifndef UTTM_TEST_STORE_FAULTS_H
#define UTTM_TEST_STORE_FAULTS_H

#include <stddef.h>
#include <stdint.h>

#include <uttm/backup.h>

#include "helpers.h"

/*
 * Makes system call @nr fail with @error in this process from now on;
 * with a @mask, only the calls whose argument @arg has one of its bits
 * set (low 32 bits, little-endian).  For a child: it cannot be undone.
 */
void refuse_syscall(long nr, int arg, uint32_t mask, int error);

/*
 * The descriptor of the one open file whose /proc link starts with
 * @prefix, with the link in @link; -1 when there is none.
 */
int fd_by_link(const char *prefix, char *link, size_t size);

/*
 * Writes to the file of @backup fail past 10 pages (RLIMIT_FSIZE: a
 * short write, then -EFBIG): a vector of 64 pages of @fx is backed up
 * for those 10 and keeps the rest, the store holds 10 pages as
 * @slots_used tells (the slots of the others are free again), and the
 * vector restores whole.
 */
void assert_write_error_midway_keeps_the_vector(
	struct fixture *fx, struct uttm_backup *backup,
	unsigned long (*slots_used)(struct uttm_backup *backup));

/*
 * The file of @backup, named by a /proc link starting with @link_prefix,
 * loses its tail past 20 pages: the restore of a vector of 64 pages of
 * @fx fails at the first page it cannot read, keeping every handle it
 * did not use.  The tail comes back and the same restore resumes and
 * completes.
 */
void assert_read_error_keeps_handles_and_restore_resumes(
	struct fixture *fx, struct uttm_backup *backup,
	const char *link_prefix);

#endif /* UTTM_TEST_STORE_FAULTS_H */
