// SPDX-License-Identifier: MIT
/*
 * Prefetch (src/object/prefetch.c): a queued object comes back without
 * its owner, within the page limit and the budget; a prefetch can be
 * withdrawn queued or stopped in flight, and the owner's validate then
 * resumes the restore; a prefetch that fails midway leaves the object
 * restorable; objects dropped or devices destroyed with prefetches
 * queued or in flight leave nothing behind.
 */
#include <errno.h>
#include <time.h>

#include "world.h"

#define WAIT_STEPS 5000

static void pause_a_millisecond(void)
{
	const struct timespec ms = { .tv_nsec = 1000 * 1000 };

	nanosleep(&ms, NULL);
}

static uint64_t prefetched(struct world *w)
{
	struct uttm_context_stats stats;

	uttm_context_stats(w->ctx, &stats);
	return stats.objects_prefetched;
}

/* Waits (at most 5 s) until the prefetch thread made @n objects resident. */
static void wait_prefetched(struct world *w, uint64_t n)
{
	for (int i = 0; i < WAIT_STEPS && prefetched(w) < n; i++)
		pause_a_millisecond();
	assert_int_equal(prefetched(w), n);
}

static bool populated_locked(struct uttm_bo *bo)
{
	bool populated;

	uttm_bo_lock(bo);
	populated = is_populated(bo);
	uttm_bo_unlock(bo);
	return populated;
}

/* @a, 4 MiB of the pattern of 1, backed up to make room for @b, of 2. */
static struct world *backed_up_world(uint64_t limit, struct uttm_bo **a,
				     struct uttm_bo **b, struct mock_bo *mb)
{
	struct world *w = world_new(limit, 0);

	*a = bo_new(w->dev, 4 * MiB, false, NULL);
	*b = bo_new(w->dev, 4 * MiB, false, mb);
	bo_fill(*a, 1);
	bo_fill(*b, 2);
	assert_false(populated_locked(*a));
	return w;
}

/*
 * A backed-up world whose prefetch of @a is in flight, held up for 100
 * ms in the busy check of @b, the victim making room for it.
 */
static struct world *prefetch_held_up(struct mock_bo *mb, struct uttm_bo **a,
				      struct uttm_bo **b)
{
	struct world *w;

	sem_init(&mb->in_busy, 0, 0);
	w = backed_up_world(6 * MiB, a, b, mb);
	mb->slow_busy_check = true;
	assert_int_equal(uttm_bo_prefetch(*a), 0);
	sem_wait(&mb->in_busy);
	return w;
}

/* Checks both objects of a backed-up world and frees it all. */
static void checked_free(struct world *w, struct uttm_bo *a, struct uttm_bo *b)
{
	assert_int_equal(bo_check(a, 1), 0);
	assert_int_equal(bo_check(b, 2), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

static void prefetch_brings_back_within_the_limit(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = backed_up_world(6 * MiB, &a, &b, NULL);

	assert_int_equal(uttm_bo_prefetch(a), 0);
	wait_prefetched(w, 1);
	assert_true(populated_locked(a));
	assert_false(populated_locked(b));
	assert_true(allocated(w) <= 6 * MiB / UTTM_PAGE_SIZE);
	checked_free(w, a, b);
}

static void prefetch_never_goes_over_the_budget(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_context_stats stats;
	struct uttm_bo *bos[6];

	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(uttm_context_set_budget(w->ctx, stats.resident_bytes +
						 10 * MiB), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(bos[i], i);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		assert_int_equal(uttm_bo_prefetch(bos[i]), 0);
	for (int i = 0; i < WAIT_STEPS && prefetched(w) < 2; i++)
		pause_a_millisecond();
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		uttm_bo_prefetch_cancel(bos[i]);
		assert_int_equal(bo_check(bos[i], i), 0);
	}
	uttm_context_stats(w->ctx, &stats);
	assert_true(stats.objects_prefetched >= 2);
	assert_true(stats.peak_resident_bytes <= stats.budget);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

/*
 * Stopped while it makes room (the victim's busy check takes 100 ms),
 * the prefetch leaves the restore to the owner, who finds every byte.
 */
static void cancel_stops_a_prefetch_in_flight(void **state)
{
	struct mock_bo mb = { .slow_busy_check = false };
	struct uttm_bo *a, *b;
	struct world *w = prefetch_held_up(&mb, &a, &b);

	assert_int_equal(uttm_bo_prefetch_cancel(a), 0);
	assert_false(populated_locked(a));
	assert_int_equal(prefetched(w), 0);
	assert_int_equal(uttm_bo_prefetch_cancel(a), -ENOENT);
	checked_free(w, a, b);
	sem_destroy(&mb.in_busy);
}

/* Queued behind one held up in flight, a prefetch is taken back. */
static void cancel_takes_a_queued_prefetch_back(void **state)
{
	struct mock_bo mb = { .slow_busy_check = false };
	struct uttm_bo *a, *b;
	struct world *w = prefetch_held_up(&mb, &a, &b);

	assert_int_equal(uttm_bo_prefetch(b), 0);
	assert_int_equal(uttm_bo_prefetch_cancel(b), 0);
	assert_int_equal(uttm_bo_prefetch_cancel(b), -ENOENT);
	wait_prefetched(w, 1);
	checked_free(w, a, b);
	sem_destroy(&mb.in_busy);
}

static void failed_prefetch_leaves_the_object_restorable(void **state)
{
	struct uttm_backup_shmem_params sp = { .capacity = 64 * MiB };
	struct uttm_context_params cp = { .page_limit = 6 * MiB };
	struct uttm_fault_rule rule = { .nth = 300, .error = -EIO };
	struct uttm_backup *store;
	struct uttm_fault *fault;
	struct uttm_bo *a, *b;
	struct world *w;

	assert_int_equal(uttm_fault_create(&fault), 0);
	sp.fault = fault;
	assert_int_equal(uttm_backup_shmem_create(&sp, &store), 0);
	w = world_with(&cp, store);
	a = bo_new(w->dev, 4 * MiB, false, NULL);
	b = bo_new(w->dev, 4 * MiB, false, NULL);
	bo_fill(a, 1);
	bo_fill(b, 2);
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_RESTORE, &rule), 0);
	assert_int_equal(uttm_bo_prefetch(a), 0);
	for (int i = 0; i < WAIT_STEPS &&
	     uttm_fault_calls(fault, UTTM_FAULT_RESTORE) < rule.nth; i++)
		pause_a_millisecond();
	assert_true(uttm_fault_calls(fault, UTTM_FAULT_RESTORE) >= rule.nth);
	/* The lock waits for the prefetch to give up. */
	uttm_bo_lock(a);
	assert_false(is_populated(a));
	assert_true(uttm_tt_is_backed_up(uttm_bo_tt(a)));
	uttm_bo_unlock(a);
	assert_int_equal(prefetched(w), 0);
	uttm_fault_disarm(fault, UTTM_FAULT_RESTORE);
	assert_int_equal(bo_check(a, 1), 0);
	assert_true(allocated(w) <= 6 * MiB / UTTM_PAGE_SIZE);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
	uttm_fault_destroy(fault);
}

static void dropped_objects_leave_nothing_queued(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = backed_up_world(6 * MiB, &a, &b, NULL);

	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_prefetch(b), 0);
	assert_int_equal(uttm_bo_prefetch(a), 0);
	uttm_bo_put(a);
	uttm_bo_unlock(b);
	uttm_bo_put(b);
	/* The queue's references go with the device. */
	world_free(w);
}

static void device_destroyed_with_a_prefetch_in_flight(void **state)
{
	struct mock_bo mb = { .slow_busy_check = false };
	struct uttm_bo *a, *b;
	struct world *w = prefetch_held_up(&mb, &a, &b);

	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
	sem_destroy(&mb.in_busy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(prefetch_brings_back_within_the_limit),
		cmocka_unit_test(prefetch_never_goes_over_the_budget),
		cmocka_unit_test(cancel_stops_a_prefetch_in_flight),
		cmocka_unit_test(cancel_takes_a_queued_prefetch_back),
		cmocka_unit_test(failed_prefetch_leaves_the_object_restorable),
		cmocka_unit_test(dropped_objects_leave_nothing_queued),
		cmocka_unit_test(device_destroyed_with_a_prefetch_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
