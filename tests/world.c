// SPDX-License-Identifier: MIT
/*
 * The object-layer test fixture: a mock driver and a world of one context,
 * arenas and a store, shared by test_device.c, test_reclaim.c and
 * test_reservation.c.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <time.h>

#include "world.h"

static bool mock_busy(struct uttm_bo *bo)
{
	const struct timespec pause = { .tv_nsec = 100 * 1000 * 1000 };
	struct mock_bo *m = uttm_bo_priv(bo);

	if (m && m->slow_busy_check) {
		m->slow_busy_check = false;
		sem_post(&m->in_busy);
		nanosleep(&pause, NULL);
	}
	return m && m->busy;
}

static int mock_wait_idle(struct uttm_bo *bo,
			  const struct uttm_operation_ctx *wait_op)
{
	struct mock_bo *m = uttm_bo_priv(bo);

	m->waited++;
	if (m->wait_error)
		return m->wait_error;
	m->busy = false;
	return 0;
}

static void mock_purge_notify(struct uttm_bo *bo)
{
	struct mock_bo *m = uttm_bo_priv(bo);

	if (m)
		m->purge_notified++;
}

static void mock_move_notify(struct uttm_bo *bo)
{
	struct mock_bo *m = uttm_bo_priv(bo);

	if (m)
		m->move_notified++;
}

static void mock_move_abandoned(struct uttm_bo *bo)
{
	struct mock_bo *m = uttm_bo_priv(bo);

	if (m)
		m->move_abandoned++;
}

const struct uttm_device_funcs mock_funcs = {
	.busy = mock_busy,
	.wait_idle = mock_wait_idle,
	.purge_notify = mock_purge_notify,
	.move_notify = mock_move_notify,
	.move_abandoned = mock_move_abandoned,
};

void device_new(struct world *w, struct uttm_arena *arena,
		const struct uttm_device_funcs *funcs,
		struct uttm_device **out)
{
	struct uttm_device_params dp = {
		.pool = { .arena = arena, .max_pages = 256 },
		.caching = UTTM_PLAIN,
		.backup = w->store,
		.funcs = funcs,
	};

	assert_int_equal(uttm_device_create(w->ctx, &dp, out), 0);
}

struct world *world_with(const struct uttm_context_params *cp,
			 struct uttm_backup *store)
{
	struct uttm_arena_params ap = { .max_bytes = 256 * MiB };
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	assert_int_equal(uttm_context_create(cp, &w->ctx), 0);
	assert_int_equal(uttm_arena_create(&ap, &w->arena), 0);
	ap.flags = UTTM_ARENA_DMA32;
	assert_int_equal(uttm_arena_create(&ap, &w->arena32), 0);
	w->store = store;
	device_new(w, w->arena, &mock_funcs, &w->dev);
	return w;
}

struct world *world_new(uint64_t limit, uint64_t dma32_limit)
{
	struct uttm_context_params cp = { .page_limit = limit,
					  .dma32_page_limit = dma32_limit };
	struct uttm_backup_shmem_params sp = { .capacity = 512 * MiB };
	struct uttm_backup *store;

	assert_int_equal(uttm_backup_shmem_create(&sp, &store), 0);
	return world_with(&cp, store);
}

struct uttm_backup *disk_store_new(void)
{
	struct uttm_backup_file_params fp = { .path = NULL };
	struct uttm_backup *store;

	assert_int_equal(uttm_backup_file_create(&fp, &store), 0);
	return store;
}

void world_free(struct world *w)
{
	struct uttm_context_stats stats;

	uttm_device_destroy(w->dev);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_allocated, 0);
	assert_int_equal(stats.dma32_pages_allocated, 0);
	assert_int_equal(stats.objects, 0);
	uttm_context_destroy(w->ctx);
	assert_int_equal(uttm_backup_handles(w->store), 0);
	uttm_backup_put(w->store);
	assert_int_equal(arena_pages_allocated(w->arena), 0);
	assert_int_equal(arena_pages_allocated(w->arena32), 0);
	uttm_arena_destroy(w->arena);
	uttm_arena_destroy(w->arena32);
	free(w);
}

int world_setup(void **state)
{
	*state = world_new(64 * MiB, 0);
	return 0;
}

int world_teardown(void **state)
{
	world_free(*state);
	return 0;
}

const struct uttm_operation_ctx op;

struct uttm_bo *bo_new(struct uttm_device *dev, uint64_t size,
		       bool purgeable, struct mock_bo *m)
{
	struct uttm_bo_params bp = { .size = size, .purgeable = purgeable,
				     .priv = m };
	struct uttm_bo *bo;

	assert_int_equal(uttm_bo_create(dev, &bp, &bo), 0);
	return bo;
}

/* Validates @bo and fills it with the pattern of @seed. */
void bo_fill(struct uttm_bo *bo, uint64_t seed)
{
	uttm_bo_lock(bo);
	assert_true(uttm_bo_validate(bo, &op) >= 0);
	fill_tt(uttm_bo_tt(bo), seed);
	uttm_bo_unlock(bo);
}

/* Validates @bo and checks the pattern of @seed; returns validate's value. */
int bo_check(struct uttm_bo *bo, uint64_t seed)
{
	int ret;

	uttm_bo_lock(bo);
	ret = uttm_bo_validate(bo, &op);
	assert_true(ret >= 0);
	if (ret != UTTM_BO_CONTENT_LOST)
		assert_tt_matches(uttm_bo_tt(bo), seed);
	uttm_bo_unlock(bo);
	return ret;
}

uint64_t allocated(struct world *w)
{
	struct uttm_context_stats stats;

	uttm_context_stats(w->ctx, &stats);
	return stats.pages_allocated;
}

bool is_populated(struct uttm_bo *bo)
{
	return uttm_tt_is_populated(uttm_bo_tt(bo));
}

struct world *crowded_world(struct uttm_bo **a, struct uttm_bo **b,
			    struct mock_bo *ma)
{
	struct world *w = world_new(8 * MiB, 0);

	*a = bo_new(w->dev, 6 * MiB, false, ma);
	*b = bo_new(w->dev, 6 * MiB, false, NULL);
	bo_fill(*a, 1);
	return w;
}

void crowded_world_free(struct world *w, struct uttm_bo *a, struct uttm_bo *b)
{
	bo_fill(b, 2);
	assert_false(is_populated(a));
	assert_int_equal(bo_check(a, 1), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}
