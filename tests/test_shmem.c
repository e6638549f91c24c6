// SPDX-License-Identifier: MIT
/*
 * What is particular to the shmem store: its room is the swap the process
 * can use, and writeback really moves pages to swap; a write or read of
 * its memfd that fails leaves the vector and its handles intact; a memfd
 * it cannot create and bad input get a clear error.
 */
#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "store_faults.h"
#include "support/swapfile.h"

/* Room of the stores with a capacity: more than any test backs up. */
#define CAPACITY (16 * MiB)

/* A store of @capacity bytes; 0 bounds it by swap alone. */
static struct uttm_backup *store_new(uint64_t capacity)
{
	struct uttm_backup_shmem_params params = { .capacity = capacity };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_shmem_create(&params, &backup), 0);
	return backup;
}

static void without_swap_backup_is_refused(void **state)
{
	if (swap_free_bytes())
		skip_because("this machine has swap; the refusal needs none");
	assert_refused_without_swap(*state, store_new(0));
}

static void writeback_moves_pages_to_swap(void **state)
{
	char path[SWAP_PATH_SIZE];

	swap_on_or_skip(path, 256 * MiB);
	assert_writeback_reaches_swap(*state, store_new(0), UTTM_PLAIN);
	assert_int_equal(swapfile_remove(path), 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void resident_memory_follows_the_pages(void **state)
{
	/* Another test's swap file may be on: then the pages do go. */
	assert_resident_follows_the_pages(*state, store_new(CAPACITY),
					  swap_free_bytes() != 0);
}

static void writeback_frees_what_the_store_held(void **state)
{
	char path[SWAP_PATH_SIZE];

	swap_on_or_skip(path, 256 * MiB);
	assert_resident_follows_the_pages(*state, store_new(0), true);
	assert_int_equal(swapfile_remove(path), 0);
}

/* Pages the store holds: the room it has lost. */
static unsigned long shmem_slots_used(struct uttm_backup *backup)
{
	return (CAPACITY - uttm_backup_bytes_avail(backup)) >> UTTM_PAGE_SHIFT;
}

/* The memfd takes the file size limit as any file does. */
static void write_error_midway_keeps_the_vector(void **state)
{
	struct uttm_backup *backup = store_new(CAPACITY);

	assert_write_error_midway_keeps_the_vector(*state, backup,
						   shmem_slots_used);
	assert_int_equal(shmem_slots_used(backup), 0);
	uttm_backup_put(backup);
}

static void read_error_keeps_handles_and_restore_resumes(void **state)
{
	struct uttm_backup *backup = store_new(CAPACITY);

	assert_read_error_keeps_handles_and_restore_resumes(
		*state, backup, "/memfd:uttm-backup");
	assert_int_equal(shmem_slots_used(backup), 0);
	uttm_backup_put(backup);
}

static int memfd_refused(void *unused)
{
	struct uttm_backup_shmem_params params = { .capacity = CAPACITY };
	struct uttm_backup *backup;

	refuse_syscall(__NR_memfd_create, 0, 0, EMFILE);
	CHILD_CHECK(uttm_backup_shmem_create(&params, &backup) == -EMFILE);
	return 0;
}

/* Out of descriptors, say: the error of memfd_create() itself. */
static void memfd_failure_is_its_error(void **state)
{
	run_in_child(memfd_refused, NULL, NULL);
}

static void bad_input_gets_a_clear_error(void **state)
{
	struct uttm_backup_shmem_params params = { .capacity = CAPACITY };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_shmem_create(NULL, &backup), -EINVAL);
	assert_int_equal(uttm_backup_shmem_create(&params, NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fixture_test(without_swap_backup_is_refused),
		fixture_test(writeback_moves_pages_to_swap),
		fixture_test(resident_memory_follows_the_pages),
		fixture_test(writeback_frees_what_the_store_held),
		fixture_test(write_error_midway_keeps_the_vector),
		fixture_test(read_error_keeps_handles_and_restore_resumes),
		cmocka_unit_test(memfd_failure_is_its_error),
		cmocka_unit_test(bad_input_gets_a_clear_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
