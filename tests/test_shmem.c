// SPDX-License-Identifier: MIT
/*
 * What is particular to the shmem store: its room is the swap the process
 * can use, and writeback really moves pages to swap.
 */
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "swapfile.h"

static struct uttm_backup *swap_bound_store(void)
{
	struct uttm_backup_shmem_params params = { .capacity = 0 };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_shmem_create(&params, &backup), 0);
	return backup;
}

static void without_swap_backup_is_refused(void **state)
{
	if (swap_free_bytes())
		skip_because("this machine has swap; the refusal needs none");
	assert_refused_without_swap(*state, swap_bound_store());
}

static void writeback_moves_pages_to_swap(void **state)
{
	char path[SWAP_PATH_SIZE];

	swap_on_or_skip(path, 256 * MiB);
	assert_writeback_reaches_swap(*state, swap_bound_store(), UTTM_PLAIN);
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
