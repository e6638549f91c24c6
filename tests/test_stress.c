// SPDX-License-Identifier: MIT
/*
 * Concurrency: worker threads create, validate, write, read, mark
 * purgeable and destroy objects while another thread shrinks without
 * pause, under a page limit that forces watermark shrinking too.  Every
 * byte is checked: an object keeps its content unless it was purgeable
 * and its owner was told.  Bounded in time; run under TSan in CI.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "helpers.h"

#define WORKERS 4
#define SLOTS 12
/* Iterations per worker; UTTM_STRESS_ITERATIONS overrides it. */
#define DEFAULT_ITERATIONS 3000

struct slot {
	struct uttm_bo *bo;
	uint64_t seed;
	bool purgeable;
};

struct stress {
	struct uttm_context *ctx;
	struct uttm_device *dev;
	atomic_bool stop;
	atomic_ulong scans;
	unsigned long iterations;
};

struct worker {
	struct stress *s;
	uint64_t rng;
	unsigned long lost;
	/* The first failed check: cmocka asserts on the main thread only. */
	char error[160];
	struct slot slots[SLOTS];
};

static const struct uttm_operation_ctx op;

/* In a worker: records a failed check and returns -1. */
#define WORKER_CHECK(w, cond)                                               \
	do {                                                                \
		if (!(cond)) {                                              \
			snprintf((w)->error, sizeof((w)->error), "%s:%d: %s", \
				 __FILE__, __LINE__, #cond);                \
			return -1;                                          \
		}                                                           \
	} while (0)

/* Validates a locked object and makes its content what the slot says. */
static int slot_validate(struct worker *w, struct slot *slot)
{
	int ret = uttm_bo_validate(slot->bo, &op);

	WORKER_CHECK(w, ret >= 0);
	if (ret == UTTM_BO_CONTENT_LOST) {
		/* Only objects marked purgeable may lose their content. */
		WORKER_CHECK(w, slot->purgeable);
		w->lost++;
		fill_tt(uttm_bo_tt(slot->bo), slot->seed);
	}
	return 0;
}

static int slot_create(struct worker *w, struct slot *slot)
{
	struct uttm_bo_params bp = {
		.size = (1 + rng_next(&w->rng) % 96) * UTTM_PAGE_SIZE,
		.purgeable = rng_next(&w->rng) % 3 == 0,
	};
	int ret;

	WORKER_CHECK(w, !uttm_bo_create(w->s->dev, &bp, &slot->bo));
	slot->purgeable = bp.purgeable;
	slot->seed = rng_next(&w->rng);
	uttm_bo_lock(slot->bo);
	ret = slot_validate(w, slot);
	if (!ret)
		fill_tt(uttm_bo_tt(slot->bo), slot->seed);
	uttm_bo_unlock(slot->bo);
	return ret;
}

/* Validates a locked object and checks every byte of it. */
static int slot_check(struct worker *w, struct slot *slot)
{
	int ret = slot_validate(w, slot);

	if (ret)
		return ret;
	WORKER_CHECK(w, tt_first_mismatch(uttm_bo_tt(slot->bo),
					  slot->seed) < 0);
	return 0;
}

static int slot_use(struct worker *w, struct slot *slot)
{
	unsigned int op_kind = rng_next(&w->rng) % 4;
	int ret;

	uttm_bo_lock(slot->bo);
	ret = slot_check(w, slot);
	if (!ret && op_kind == 0) {
		slot->seed = rng_next(&w->rng);
		fill_tt(uttm_bo_tt(slot->bo), slot->seed);
	} else if (!ret && op_kind == 1) {
		slot->purgeable = !slot->purgeable;
		uttm_bo_set_purgeable(slot->bo, slot->purgeable);
	}
	uttm_bo_unlock(slot->bo);
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int ret = 0;

	for (unsigned long i = 0; i < w->s->iterations && !ret; i++) {
		struct slot *slot = &w->slots[rng_next(&w->rng) % SLOTS];

		if (!slot->bo) {
			ret = slot_create(w, slot);
		} else if (rng_next(&w->rng) % 8 == 0) {
			uttm_bo_put(slot->bo);
			slot->bo = NULL;
		} else {
			ret = slot_use(w, slot);
		}
	}
	for (unsigned int i = 0; i < SLOTS; i++)
		uttm_bo_put(w->slots[i].bo);
	return NULL;
}

static void *shrinker_main(void *arg)
{
	struct stress *s = arg;
	uint64_t rng = 99;

	while (!atomic_load(&s->stop)) {
		uttm_shrinker_scan(s->ctx, 1 + rng_next(&rng) % 256);
		atomic_fetch_add(&s->scans, 1);
	}
	return NULL;
}

static void threads_shrink_and_verify_concurrently(void **state)
{
	struct uttm_context_params cp = { .page_limit = 2 * MiB };
	struct uttm_backup_shmem_params sp = { .capacity = 256 * MiB };
	struct uttm_arena_params ap = { .max_bytes = 64 * MiB };
	struct uttm_device_params dp = { .caching = UTTM_PLAIN };
	struct worker workers[WORKERS] = { 0 };
	pthread_t threads[WORKERS], shrinker;
	struct uttm_context_stats stats;
	const char *env = getenv("UTTM_STRESS_ITERATIONS");
	struct uttm_arena *arena;
	struct stress s = { 0 };
	unsigned long lost = 0;

	s.iterations = env ? strtoul(env, NULL, 10) : DEFAULT_ITERATIONS;
	assert_int_equal(uttm_context_create(&cp, &s.ctx), 0);
	assert_int_equal(uttm_arena_create(&ap, &arena), 0);
	assert_int_equal(uttm_backup_shmem_create(&sp, &dp.backup), 0);
	dp.pool.arena = arena;
	dp.pool.max_pages = 512;
	assert_int_equal(uttm_device_create(s.ctx, &dp, &s.dev), 0);
	uttm_backup_put(dp.backup);

	assert_int_equal(pthread_create(&shrinker, NULL, shrinker_main, &s), 0);
	for (unsigned int i = 0; i < WORKERS; i++) {
		workers[i].s = &s;
		workers[i].rng = 0x9e3779b97f4a7c15ull * (i + 1);
		assert_int_equal(pthread_create(&threads[i], NULL, worker_main,
						&workers[i]), 0);
	}
	for (unsigned int i = 0; i < WORKERS; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		if (workers[i].error[0])
			fail_msg("worker %u: %s", i, workers[i].error);
		lost += workers[i].lost;
	}
	atomic_store(&s.stop, true);
	assert_int_equal(pthread_join(shrinker, NULL), 0);

	uttm_context_stats(s.ctx, &stats);
	print_message("scans %lu, purged %llu, backed up %llu, restored %llu, "
		      "content lost and seen %lu\n", atomic_load(&s.scans),
		      (unsigned long long)stats.pages_purged,
		      (unsigned long long)stats.pages_backed_up,
		      (unsigned long long)stats.pages_restored, lost);
	assert_true(stats.pages_backed_up > 0);
	assert_true(stats.pages_restored > 0);
	/* Purged objects were seen as such, each after one purge at least. */
	assert_true(lost > 0);
	assert_true(stats.pages_purged >= lost);
	assert_int_equal(stats.pages_allocated, 0);
	assert_int_equal(stats.objects, 0);
	assert_int_equal(uttm_backup_handles(uttm_device_backup(s.dev)), 0);
	uttm_device_destroy(s.dev);
	uttm_context_destroy(s.ctx);
	assert_int_equal(arena_pages_allocated(arena), 0);
	uttm_arena_destroy(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(threads_shrink_and_verify_concurrently),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
