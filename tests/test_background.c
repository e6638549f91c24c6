// SPDX-License-Identifier: MIT
/*
 * Background reclaim (src/object/background.c): off unless asked for;
 * once on, a charge below the low mark has the thread bring the headroom
 * back to the high mark, under the budget and under the page limit,
 * without a byte lost; it stops on request and with its context.
 */
#include <errno.h>
#include <time.h>

#include "world.h"

#define WAIT_STEPS 5000

static struct uttm_context_stats stats_of(struct world *w)
{
	struct uttm_context_stats stats;

	uttm_context_stats(w->ctx, &stats);
	return stats;
}

static uint64_t budget_room(struct world *w)
{
	struct uttm_context_stats s = stats_of(w);

	return s.resident_bytes < s.budget ? s.budget - s.resident_bytes : 0;
}

static uint64_t page_room(struct world *w)
{
	struct uttm_context_stats s = stats_of(w);

	return (s.page_limit - s.pages_allocated) << UTTM_PAGE_SHIFT;
}

/* Waits (at most 5 s) until @room(@w) is at least @bytes. */
static void wait_for_room(struct world *w, uint64_t (*room)(struct world *),
			  uint64_t bytes)
{
	const struct timespec ms = { .tv_nsec = 1000 * 1000 };

	for (int i = 0; i < WAIT_STEPS && room(w) < bytes; i++)
		nanosleep(&ms, NULL);
	assert_true(room(w) >= bytes);
}

static void off_unless_asked_for(void **state)
{
	struct world *w = world_new(8 * MiB, 0);
	struct uttm_bo *bos[4];

	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(bos[i], i);
	}
	assert_int_equal(page_room(w), 0);
	assert_int_equal(stats_of(w).background_runs, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

static void keeps_headroom_under_the_budget(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_bo *bos[7];

	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 16 * MiB), 0);
	assert_int_equal(uttm_context_set_background_reclaim(w->ctx, 4 * MiB,
							     8 * MiB), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(bos[i], i);
	}
	/*
	 * Up to the high mark when it ran; what bookkeeping moved since may
	 * take a little of it, not down to the low mark.
	 */
	wait_for_room(w, budget_room, 7 * MiB);
	assert_true(stats_of(w).background_runs > 0);
	assert_true(stats_of(w).peak_resident_bytes <= stats_of(w).budget);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		assert_int_equal(bo_check(bos[i], i), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	/* Still running: the context stops it. */
	world_free(w);
}

static void keeps_headroom_under_the_page_limit(void **state)
{
	struct world *w = world_new(16 * MiB, 0);
	struct uttm_bo *bos[7];

	assert_int_equal(uttm_context_set_background_reclaim(w->ctx, 4 * MiB,
							     8 * MiB), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(bos[i], i);
	}
	wait_for_room(w, page_room, 7 * MiB);
	assert_int_equal(uttm_context_set_background_reclaim(w->ctx, 0, 0), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		assert_int_equal(bo_check(bos[i], i), 0);
	/* Stopped, it leaves the room the validates took. */
	assert_true(page_room(w) < 4 * MiB);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

static void watermarks_out_of_order_are_refused(void **state)
{
	struct world *w = *state;

	assert_int_equal(uttm_context_set_background_reclaim(w->ctx, 8 * MiB,
							     4 * MiB), -EINVAL);
	assert_int_equal(uttm_context_set_background_reclaim(w->ctx, 0, 0), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(off_unless_asked_for),
		cmocka_unit_test(keeps_headroom_under_the_budget),
		cmocka_unit_test(keeps_headroom_under_the_page_limit),
		world_test(watermarks_out_of_order_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
