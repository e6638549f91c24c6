// SPDX-License-Identifier: MIT
/*
 * What is particular to the shmem store: its room is the swap the process
 * can use, and writeback really moves pages to swap.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "swapfile.h"

static uint64_t swap_free(void)
{
	struct sysinfo si;

	assert_int_equal(sysinfo(&si), 0);
	return (uint64_t)si.freeswap * si.mem_unit;
}

static struct uttm_backup *swap_bound_store(void)
{
	struct uttm_backup_shmem_params params = { .capacity = 0 };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_shmem_create(&params, &backup), 0);
	return backup;
}

static void without_swap_backup_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = swap_bound_store();
	const struct uttm_backup_flags flags = { .purge = false };
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_tt tt;

	if (swap_free()) {
		uttm_backup_put(backup);
		skip_because("this machine has swap; the refusal needs none");
	}
	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, MiB, UTTM_PLAIN, 0), 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(uttm_tt_backup(&tt, &flags), -EBUSY);
	assert_true(uttm_tt_is_populated(&tt));
	/* Purging needs no room. */
	assert_int_equal(uttm_tt_backup(&tt, &purge), 256);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

static void writeback_moves_pages_to_swap(void **state)
{
	struct fixture *fx = *state;
	const struct uttm_backup_flags flags = { .writeback = true };
	char path[] = "/tmp/uttm-test-swap-XXXXXX";
	struct uttm_backup *backup;
	uint64_t before, after;
	struct uttm_tt tt;
	int ret, fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	ret = swapfile_create(path, 256 * MiB);
	if (ret) {
		fprintf(stderr, "cannot enable a swap file at %s: %s\n", path,
			strerror(-ret));
		skip_because("a swap file needs root and a file system that holds swap");
	}
	backup = swap_bound_store();
	assert_true(uttm_backup_bytes_avail(backup) >= 200 * MiB);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 32 * MiB, UTTM_PLAIN, 0),
			 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	fill_tt(&tt, 77);
	before = swap_free();
	assert_int_equal(uttm_tt_backup(&tt, &flags), tt.num_pages);
	after = swap_free();
	fprintf(stderr, "swap used by writeback: %llu MiB\n",
		(unsigned long long)((before - after) / MiB));
	assert_true(before - after >= 24 * MiB);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 77);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_backup_put(backup);
	assert_int_equal(swapfile_remove(path), 0);
	assert_int_equal(access(path, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fixture_test(without_swap_backup_is_refused),
		fixture_test(writeback_moves_pages_to_swap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
