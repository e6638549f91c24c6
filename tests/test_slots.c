// SPDX-License-Identifier: MIT
/*
 * The slot bitmap under the shmem, file and compressed stores: runs are
 * handed out in order and across word boundaries, a full bitmap wraps to
 * freed slots before it grows, free runs are taken whole, and a slot
 * freed twice or never there is refused without touching the count.
 */
#include <errno.h>

#include "helpers.h"
#include "store/internal.h"

/* 200 slots: three full words of 64 and part of a fourth. */
#define NR_SLOTS 200UL

static void expect_alloc(struct slots *slots, unsigned long want,
			 long first, unsigned long got)
{
	unsigned long n = 0;

	assert_int_equal(uttm_slots_alloc(slots, want, &n), first);
	if (first >= 0)
		assert_int_equal(n, got);
}

static void runs_cross_words_and_wrap_before_growing(void **state)
{
	struct slots slots;
	unsigned long got;

	uttm_slots_init(&slots, NR_SLOTS);
	expect_alloc(&slots, 70, 0, 70);
	expect_alloc(&slots, 100, 70, 100);
	/* A hole across the first word boundary. */
	uttm_slots_free(&slots, 10, 70);
	assert_int_equal(uttm_slots_used(&slots), 100);
	/* On from where the last run ended, to the end ... */
	expect_alloc(&slots, NR_SLOTS, 170, 30);
	/* ... then back to the hole, which is taken whole and no more. */
	expect_alloc(&slots, NR_SLOTS, 10, 70);
	expect_alloc(&slots, 1, -ENOSPC, 0);
	assert_int_equal(uttm_slots_used(&slots), NR_SLOTS);
	assert_int_equal(uttm_slots_take_free(&slots, 0, &got), -ENOSPC);

	uttm_slots_free(&slots, 0, NR_SLOTS);
	assert_int_equal(uttm_slots_used(&slots), 0);
	/* A free run is taken however long, from where it is asked for. */
	assert_int_equal(uttm_slots_take_free(&slots, 63, &got), 63);
	assert_int_equal(got, NR_SLOTS - 63);
	assert_int_equal(uttm_slots_take_free(&slots, 0, &got), 0);
	assert_int_equal(got, 63);
	assert_int_equal(uttm_slots_used(&slots), NR_SLOTS);
	uttm_slots_fini(&slots);
}

static void misuse_leaves_the_count_exact(void **state)
{
	struct slots slots;

	uttm_slots_init(&slots, NR_SLOTS);
	expect_alloc(&slots, 128, 0, 128);
	uttm_slots_free(&slots, 60, 10);
	/* Freed twice, in part: only the slots still held count. */
	uttm_slots_free(&slots, 50, 30);
	assert_int_equal(uttm_slots_used(&slots), 128 - 30);
	/* Beyond the bitmap, or running past it: refused whole. */
	uttm_slots_free(&slots, 1UL << 40, 1);
	uttm_slots_free(&slots, 100, ~0UL);
	assert_int_equal(uttm_slots_used(&slots), 128 - 30);
	expect_alloc(&slots, 64, 128, 64);
	uttm_slots_free(&slots, 0, 50);
	uttm_slots_free(&slots, 80, 112);
	assert_int_equal(uttm_slots_used(&slots), 0);
	uttm_slots_fini(&slots);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runs_cross_words_and_wrap_before_growing),
		cmocka_unit_test(misuse_leaves_the_count_exact),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
