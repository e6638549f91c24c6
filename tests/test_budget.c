// SPDX-License-Identifier: MIT
/*
 * The budget (src/object/context.c, "Budget reclaim" in reclaim.c): what
 * it counts (vector and pooled pages, descriptors, bookkeeping, stores'
 * memory), that it holds at every validate and under threads that race
 * for the last room, that it takes back pooled pages and purgeable
 * objects before backing anything up, and that it is checked against
 * the machine.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "world.h"

static struct uttm_context_stats stats_of(struct world *w)
{
	struct uttm_context_stats stats;

	uttm_context_stats(w->ctx, &stats);
	return stats;
}

/* A world on a disk store whose budget leaves @room beside what it holds. */
static struct world *budget_world(uint64_t room)
{
	struct world *w = world_with(NULL, disk_store_new());

	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 room), 0);
	return w;
}

static void assert_within_budget(struct world *w)
{
	struct uttm_context_stats stats = stats_of(w);

	assert_true(stats.resident_bytes <= stats.budget);
	assert_true(stats.peak_resident_bytes <= stats.budget);
}

static void budget_holds_at_every_validate(void **state)
{
	struct world *w = budget_world(8 * MiB);
	struct uttm_bo *bos[12];
	uint64_t rng = 7;

	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(bos[i], i);
		assert_within_budget(w);
	}
	for (unsigned int n = 0; n < 36; n++) {
		unsigned int i = (unsigned int)(rng_next(&rng) % ARRAY_SIZE(bos));

		assert_int_equal(bo_check(bos[i], i), 0);
		assert_within_budget(w);
	}
	assert_true(stats_of(w).pages_backed_up > 0);
	assert_true(stats_of(w).pages_restored > 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

/*
 * A restore over the budget takes the pages of the object it backs up,
 * without going past the budget, the bin's pages counted all along.
 */
static void budget_restore_takes_its_victims_pages(void **state)
{
	struct world *w = budget_world(6 * MiB);
	struct uttm_bo *a = bo_new(w->dev, 4 * MiB, false, NULL);
	struct uttm_bo *b = bo_new(w->dev, 4 * MiB, false, NULL);
	struct uttm_page *first;

	bo_fill(a, 1);
	bo_fill(b, 2);
	assert_within_budget(w);
	first = uttm_bo_tt(b)->pages[0];
	assert_int_equal(bo_check(a, 1), 0);
	assert_ptr_equal(uttm_bo_tt(a)->pages[0], first);
	assert_within_budget(w);
	assert_true(stats_of(w).pages_recycled >= 2 * 1024);
	assert_int_equal(bo_check(b, 2), 0);
	assert_within_budget(w);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

static void pooled_pages_go_before_any_object(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_bo *kept = bo_new(w->dev, 2 * MiB, false, NULL);
	struct uttm_bo *freed = bo_new(w->dev, 1 * MiB, false, NULL);
	struct uttm_bo *next;

	bo_fill(kept, 1);
	bo_fill(freed, 2);
	uttm_bo_put(freed);
	/* Its 256 pages went to the pool: no room for a new MiB but them. */
	assert_int_equal(stats_of(w).pool_pages, 256);
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 512 * 1024), 0);
	next = bo_new(w->dev, 1 * MiB, false, NULL);
	bo_fill(next, 3);
	assert_within_budget(w);
	assert_true(stats_of(w).pool_pages < 256);
	assert_int_equal(stats_of(w).pages_backed_up, 0);
	assert_true(is_populated(kept));
	assert_int_equal(bo_check(kept, 1), 0);
	uttm_bo_put(next);
	uttm_bo_put(kept);
	world_free(w);
}

static void purgeable_objects_go_before_any_backup(void **state)
{
	struct world *w = budget_world(5 * MiB);
	struct mock_bo mp = { 0 };
	/* The other one is older: the LRU alone would pick it first. */
	struct uttm_bo *other = bo_new(w->dev, 2 * MiB, false, NULL);
	struct uttm_bo *purgeable = bo_new(w->dev, 2 * MiB, true, &mp);
	struct uttm_bo *next = bo_new(w->dev, 2 * MiB, false, NULL);

	bo_fill(other, 1);
	bo_fill(purgeable, 2);
	bo_fill(next, 3);
	assert_within_budget(w);
	assert_false(is_populated(purgeable));
	assert_int_equal(mp.purge_notified, 1);
	assert_true(is_populated(other));
	assert_int_equal(stats_of(w).pages_backed_up, 0);
	assert_int_equal(stats_of(w).pages_purged, 512);
	assert_int_equal(bo_check(purgeable, 2), UTTM_BO_CONTENT_LOST);
	uttm_bo_put(next);
	uttm_bo_put(purgeable);
	uttm_bo_put(other);
	world_free(w);
}

static void bookkeeping_is_charged_and_given_back(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	uint64_t before = stats_of(w).metadata_bytes, each;
	struct uttm_bo *bos[1000], *one;

	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		bos[i] = bo_new(w->dev, UTTM_PAGE_SIZE, false, NULL);
	each = (stats_of(w).metadata_bytes - before) / ARRAY_SIZE(bos);
	/* The object, and its vector's entry. */
	assert_true(each >= uttm_heap_bytes_of(sizeof(void *)) + 64);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	assert_int_equal(stats_of(w).metadata_bytes, before);

	/* With no room for the bookkeeping, creating an object fails. */
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 each / 2), 0);
	assert_int_equal(uttm_bo_create(w->dev,
					&(struct uttm_bo_params){
						.size = UTTM_PAGE_SIZE },
					&one), -ENOMEM);
	assert_int_equal(stats_of(w).metadata_bytes, before);
	world_free(w);
}

/*
 * Pages backed up into a memfd that cannot be swapped are still memory:
 * the store's memory counts, and backing up there frees nothing, so a
 * validate that needs the room gets -ENOMEM rather than the budget
 * broken.
 */
static void backing_up_into_memory_frees_nothing(void **state)
{
	struct uttm_backup_shmem_params sp = { .capacity = 64 * MiB };
	struct uttm_backup *store;
	struct uttm_bo *a, *b;
	struct world *w;

	if (swap_free_bytes())
		skip_because("this machine has swap, and the memfd frees memory");
	assert_int_equal(uttm_backup_shmem_create(&sp, &store), 0);
	w = world_with(NULL, store);
	a = bo_new(w->dev, 2 * MiB, false, NULL);
	b = bo_new(w->dev, 2 * MiB, false, NULL);
	bo_fill(a, 1);
	uttm_bo_lock(a);
	assert_int_equal(uttm_bo_shrink(a, &backup_flags), 512);
	uttm_bo_unlock(a);
	assert_int_equal(stats_of(w).store_bytes, 2 * MiB);
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 1 * MiB), 0);
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_validate(b, &op), -ENOMEM);
	uttm_bo_unlock(b);
	assert_within_budget(w);
	/* Restoring from memory needs room too: pages copied, then freed. */
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 4 * MiB), 0);
	assert_int_equal(bo_check(a, 1), 0);
	assert_int_equal(stats_of(w).store_bytes, 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

/* Text that compresses about tenfold, and differs from object to object. */
static void text_page(char *page, unsigned int id)
{
	for (unsigned int off = 0; off < UTTM_PAGE_SIZE; off += 32)
		snprintf(page + off, 32, "object %8u, line %6u  \n", id,
			 off / 32);
}

/* Validates the one-page @bo and writes or compares its text of @id. */
static bool bo_text(struct uttm_bo *bo, unsigned int id, bool write)
{
	char want[UTTM_PAGE_SIZE];
	char *page;
	bool same;

	text_page(want, id);
	uttm_bo_lock(bo);
	assert_true(uttm_bo_validate(bo, &op) >= 0);
	page = uttm_tt_page_address(uttm_bo_tt(bo), 0);
	if (write)
		memcpy(page, want, sizeof(want));
	same = !memcmp(page, want, sizeof(want));
	uttm_bo_unlock(bo);
	return same;
}

/*
 * One page backed up into a compressed pool may take a new pool page, or
 * grow its entry table, and free nothing on its own; a few more free what
 * they held, so small objects still fit the budget.
 */
static void small_objects_back_up_into_a_compressed_pool(void **state)
{
	struct uttm_backup_compressed_params cp = { .cap = 16 * MiB };
	struct uttm_backup *store;
	struct uttm_bo *bos[2048];
	struct world *w;

	assert_int_equal(uttm_backup_compressed_create(&cp, &store), 0);
	w = world_with(NULL, store);
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes +
						 2 * MiB), 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, UTTM_PAGE_SIZE, false, NULL);
		bo_text(bos[i], i, true);
		assert_within_budget(w);
	}
	assert_true(stats_of(w).pages_backed_up > 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		assert_true(bo_text(bos[i], i, false));
		assert_within_budget(w);
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

static void budget_above_the_machine_is_refused(void **state)
{
	struct uttm_memory_limit limit;
	struct uttm_context_params cp = { .budget = 0 };
	struct uttm_context *ctx;

	assert_int_equal(uttm_memory_limit(&limit), 0);
	assert_true(limit.ram_bytes > 0);
	assert_true(limit.bytes <= limit.ram_bytes);
	assert_true(limit.bytes <= limit.cgroup_bytes);
	cp.budget = limit.bytes + 1;
	assert_int_equal(uttm_context_create(&cp, &ctx), -E2BIG);
	cp.budget = limit.bytes;
	assert_int_equal(uttm_context_create(&cp, &ctx), 0);
	assert_int_equal(uttm_context_set_budget(ctx, limit.bytes + 1), -E2BIG);
	assert_int_equal(uttm_context_set_budget(ctx, 64 * MiB), 0);
	uttm_context_destroy(ctx);
}

static void pressure_limit_holds_like_a_lower_budget(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_bo *bos[4];
	uint64_t limit;

	limit = stats_of(w).resident_bytes + 3 * MiB;
	uttm_context_set_pressure_limit(w->ctx, limit);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 1 * MiB, false, NULL);
		bo_fill(bos[i], i);
		assert_true(stats_of(w).resident_bytes <= limit);
	}
	assert_false(is_populated(bos[0]));
	/* Lifted, nothing needs to move. */
	uttm_context_set_pressure_limit(w->ctx, 0);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		assert_int_equal(bo_check(bos[i], i), 0);
	assert_true(stats_of(w).resident_bytes > limit);
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

/*
 * With nothing left to reclaim, the pressure limit throttles as
 * memory.high does: the validate goes on, within the budget.
 */
static void pressure_limit_throttles_rather_than_fails(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_bo *bo = bo_new(w->dev, 1 * MiB, false, NULL);

	uttm_context_set_pressure_limit(w->ctx, UTTM_PAGE_SIZE);
	bo_fill(bo, 1);
	assert_int_equal(uttm_context_set_budget(w->ctx,
						 stats_of(w).resident_bytes),
			 0);
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_shrink(bo, &backup_flags), 256);
	/* The budget itself does not give way. */
	assert_int_equal(uttm_bo_validate(bo, &op), -ENOMEM);
	uttm_bo_unlock(bo);
	uttm_context_set_pressure_limit(w->ctx, 0);
	uttm_bo_put(bo);
	world_free(w);
}

static void reclaim_frees_what_is_asked(void **state)
{
	struct world *w = world_with(NULL, disk_store_new());
	struct uttm_bo *bos[4];
	uint64_t before, freed;

	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++) {
		bos[i] = bo_new(w->dev, 1 * MiB, i == 3, NULL);
		bo_fill(bos[i], i);
	}
	before = stats_of(w).resident_bytes;
	freed = uttm_context_reclaim(w->ctx, 2 * MiB);
	assert_true(freed >= 2 * MiB);
	assert_true(stats_of(w).resident_bytes <= before - 2 * MiB);
	/* The purgeable one first, then the oldest. */
	assert_false(is_populated(bos[3]));
	assert_false(is_populated(bos[0]));
	assert_true(is_populated(bos[2]));
	for (unsigned int i = 0; i < ARRAY_SIZE(bos); i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

#define RACERS 4
#define RACE_OBJECTS 32
#define RACE_ROUNDS 150

struct race {
	struct world *w;
	struct uttm_bo *bos[RACE_OBJECTS];
	atomic_bool done;
	atomic_ulong over;
	atomic_ulong failed;
};

struct racer {
	struct race *race;
	uint64_t rng;
};

static void *race_validate(void *arg)
{
	struct racer *r = arg;

	for (unsigned int n = 0; n < RACE_ROUNDS; n++) {
		unsigned int i = (unsigned int)(rng_next(&r->rng) % RACE_OBJECTS);
		struct uttm_bo *bo = r->race->bos[i];

		uttm_bo_lock(bo);
		if (uttm_bo_validate(bo, &op) < 0 ||
		    (n & 1 && tt_first_mismatch(uttm_bo_tt(bo), i) >= 0))
			atomic_fetch_add(&r->race->failed, 1);
		else
			fill_tt(uttm_bo_tt(bo), i);
		uttm_bo_unlock(bo);
	}
	return NULL;
}

static void *race_watch(void *arg)
{
	struct race *race = arg;

	while (!atomic_load(&race->done)) {
		struct uttm_context_stats stats = stats_of(race->w);

		if (stats.resident_bytes > stats.budget)
			atomic_fetch_add(&race->over, 1);
	}
	return NULL;
}

/*
 * Threads validating at once can never both take the last room: the
 * budget holds at every moment, not only once they are done.
 */
static void racing_validates_never_pass_the_budget(void **state)
{
	struct race race = { .w = budget_world(2 * MiB) };
	struct racer racers[RACERS];
	pthread_t threads[RACERS], watcher;

	for (unsigned int i = 0; i < RACE_OBJECTS; i++) {
		race.bos[i] = bo_new(race.w->dev, 256 * 1024, false, NULL);
		bo_fill(race.bos[i], i);
	}
	assert_int_equal(pthread_create(&watcher, NULL, race_watch, &race), 0);
	for (unsigned int i = 0; i < RACERS; i++) {
		racers[i] = (struct racer){ &race, i + 1 };
		assert_int_equal(pthread_create(&threads[i], NULL,
						race_validate, &racers[i]), 0);
	}
	for (unsigned int i = 0; i < RACERS; i++)
		pthread_join(threads[i], NULL);
	atomic_store(&race.done, true);
	pthread_join(watcher, NULL);
	assert_int_equal(atomic_load(&race.failed), 0);
	assert_int_equal(atomic_load(&race.over), 0);
	assert_within_budget(race.w);
	for (unsigned int i = 0; i < RACE_OBJECTS; i++)
		uttm_bo_put(race.bos[i]);
	world_free(race.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budget_holds_at_every_validate),
		cmocka_unit_test(budget_restore_takes_its_victims_pages),
		cmocka_unit_test(pooled_pages_go_before_any_object),
		cmocka_unit_test(purgeable_objects_go_before_any_backup),
		cmocka_unit_test(bookkeeping_is_charged_and_given_back),
		cmocka_unit_test(backing_up_into_memory_frees_nothing),
		cmocka_unit_test(small_objects_back_up_into_a_compressed_pool),
		cmocka_unit_test(budget_above_the_machine_is_refused),
		cmocka_unit_test(pressure_limit_holds_like_a_lower_budget),
		cmocka_unit_test(pressure_limit_throttles_rather_than_fails),
		cmocka_unit_test(reclaim_frees_what_is_asked),
		cmocka_unit_test(racing_validates_never_pass_the_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
