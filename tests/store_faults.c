// SPDX-License-Identifier: MIT
/*
 * Failures of a store's file; see store_faults.h.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "store_faults.h"

#define PAGES 64

void refuse_syscall(long nr, int arg, uint32_t mask, int error)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 0, 3),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, args[arg])),
		mask ? (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K,
						    mask, 0, 1) :
		       (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO |
			 ((uint32_t)error & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = ARRAY_SIZE(filter),
				   .filter = filter };

	CHILD_CHECK(!prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0));
	CHILD_CHECK(!prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog));
}

int fd_by_link(const char *prefix, char *link, size_t size)
{
	DIR *d = opendir("/proc/self/fd");
	size_t len = strlen(prefix);
	struct dirent *e;
	int fd = -1;

	while (d && (e = readdir(d))) {
		ssize_t n = readlinkat(dirfd(d), e->d_name, link, size - 1);

		if (n >= (ssize_t)len && !strncmp(link, prefix, len)) {
			link[n] = '\0';
			fd = atoi(e->d_name);
			break;
		}
	}
	if (d)
		closedir(d);
	return fd;
}

void assert_write_error_midway_keeps_the_vector(
	struct fixture *fx, struct uttm_backup *backup,
	unsigned long (*slots_used)(struct uttm_backup *backup))
{
	void (*xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
	struct rlimit old, limit;
	struct uttm_tt tt;
	long ret;

	tt_new_backed(&tt, &fx->pool, PAGES * UTTM_PAGE_SIZE, UTTM_PLAIN, backup,
		      5);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	limit = old;
	limit.rlim_cur = 10 * UTTM_PAGE_SIZE;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &limit), 0);
	ret = uttm_tt_backup(&tt, &backup_flags);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, xfsz);

	assert_int_equal(ret, 10);
	assert_int_equal(count_handles(&tt), 10);
	assert_int_equal(tt.resident_pages, PAGES - 10);
	assert_int_equal(uttm_backup_handles(backup), 10);
	assert_int_equal(slots_used(backup), 10);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 5);
	uttm_tt_fini(&tt);
}

void assert_read_error_keeps_handles_and_restore_resumes(
	struct fixture *fx, struct uttm_backup *backup,
	const char *link_prefix)
{
	size_t bytes = PAGES * UTTM_PAGE_SIZE;
	char link[PATH_MAX];
	struct uttm_tt tt;
	void *saved;
	int fd;

	tt_new_backed(&tt, &fx->pool, PAGES * UTTM_PAGE_SIZE, UTTM_PLAIN, backup,
		      6);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), PAGES);
	fd = fd_by_link(link_prefix, link, sizeof(link));
	assert_true(fd >= 0);
	assert_int_equal(posix_memalign(&saved, UTTM_PAGE_SIZE, bytes), 0);
	assert_int_equal(pread(fd, saved, bytes, 0), (ssize_t)bytes);
	assert_int_equal(ftruncate(fd, 20 * UTTM_PAGE_SIZE), 0);

	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_non_null(tt.restore);
	assert_int_equal(uttm_backup_handles(backup), PAGES - 20);

	assert_int_equal(pwrite(fd, saved, bytes, 0), (ssize_t)bytes);
	free(saved);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_null(tt.restore);
	assert_tt_matches(&tt, 6);
	uttm_tt_fini(&tt);
}
