// SPDX-License-Identifier: MIT
/*
 * The structures a caller fills have reserved space where fields to come
 * will go (docs/versioning.md).  A caller built against a later header
 * may set one; every function that takes such a structure refuses it
 * with -EINVAL rather than ignore what it was asked.  Counters the
 * library fills leave their reserved space zero.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "world.h"

static void arena_and_pool_params_refuse_reserved_words(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 1 << 20, .reserved[3] = 1 };
	static const struct uttm_pool_ops later_ops = {
		.reserved[0] = (void (*)(void))abort,
	};
	struct world *w = *state;
	struct uttm_pool_params pp = { .arena = w->arena, .reserved[0] = 1 };
	struct uttm_arena *arena;
	struct uttm_pool pool;

	assert_int_equal(uttm_arena_create(&ap, &arena), -EINVAL);
	assert_int_equal(uttm_pool_init(&pool, &pp), -EINVAL);
	pp.reserved[0] = 0;
	pp.ops = &later_ops;
	assert_int_equal(uttm_pool_init(&pool, &pp), -EINVAL);
}

static void context_device_and_object_params_refuse_reserved_words(void **state)
{
	static const struct uttm_device_funcs later_funcs = {
		.reserved[1] = (void (*)(void))abort,
	};
	struct uttm_context_params cp = { .reserved[0] = 1 };
	struct world *w = *state;
	struct uttm_device_params dp = { .pool.arena = w->arena,
					 .reserved[2] = 1 };
	struct uttm_bo_params bp = { .size = UTTM_PAGE_SIZE,
				     .mem_type = UTTM_PL_SYSTEM,
				     .reserved[1] = 1 };
	struct uttm_context *ctx;
	struct uttm_device *dev;
	struct uttm_bo *bo;

	assert_int_equal(uttm_context_create(&cp, &ctx), -EINVAL);
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), -EINVAL);
	dp.reserved[2] = 0;
	dp.funcs = &later_funcs;
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), -EINVAL);
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
}

static void operations_refuse_reserved_words(void **state)
{
	const struct uttm_operation_ctx later = { .reserved[1] = 1 };
	const struct uttm_shrink_control sc = { .reason = UTTM_SHRINK_SWAP };
	const struct uttm_backup_flags flags = { .reserved[0] = 1 };
	struct world *w = *state;
	struct uttm_bo *bo = bo_new(w->dev, UTTM_PAGE_SIZE, false, NULL);

	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_validate(bo, &later), -EINVAL);
	assert_false(is_populated(bo));
	assert_int_equal(uttm_bo_validate(bo, &op), 0);
	assert_int_equal(uttm_bo_shrink(bo, &flags), -EINVAL);
	assert_true(is_populated(bo));
	uttm_bo_unlock(bo);
	assert_int_equal(uttm_device_swapout(w->dev, &later, &sc), -EINVAL);
	assert_int_equal(uttm_global_swapout(w->ctx, &later, &sc), -EINVAL);
	uttm_bo_put(bo);
}

static long refuse_pages(struct uttm_backup *backup, void *const *src,
			 unsigned long count, bool writeback,
			 unsigned long *handles)
{
	return -ENOSPC;
}

static void stores_and_the_monitor_refuse_reserved_words(void **state)
{
	static const struct uttm_backup_ops later_ops = {
		.backup_pages = refuse_pages,
		.reserved[0] = (void (*)(void))abort,
	};
	struct uttm_backup_shmem_params sp = { .reserved[0] = 1 };
	struct uttm_backup_file_params fp = { .reserved[1] = 1 };
	struct uttm_backup_compressed_params zp = { .reserved[2] = 1 };
	struct uttm_backup_redis_params rp = { .reserved[3] = 1 };
	struct uttm_monitor_params mp = { .source = UTTM_PRESSURE_POLL,
					  .reserved[0] = 1 };
	struct world *w = *state;
	struct uttm_backup_insert_params ip = { .arena = w->arena,
						.reserved[0] = 1 };
	struct uttm_backup store, *out;
	struct uttm_monitor *monitor;

	assert_int_equal(uttm_backup_shmem_create(&sp, &out), -EINVAL);
	assert_int_equal(uttm_backup_insert_create(&ip, &out), -EINVAL);
	assert_int_equal(uttm_backup_file_create(&fp, &out), -EINVAL);
	assert_int_equal(uttm_backup_compressed_create(&zp, &out), -EINVAL);
	assert_int_equal(uttm_backup_redis_create(&rp, &out), -EINVAL);
	assert_int_equal(uttm_backup_init(&store, &later_ops, NULL), -EINVAL);
	assert_int_equal(uttm_monitor_start(w->ctx, &mp, &monitor), -EINVAL);
}

/* Reserved space the caller left dirty comes back zero. */
static void counters_come_back_with_reserved_space_zero(void **state)
{
	struct world *w = *state;
	struct uttm_context_stats cs;
	struct uttm_device_stats ds;
	struct uttm_arena_stats as;
	struct uttm_memory_limit ml;
	const uint64_t zero[8] = { 0 };

	memset(&cs, 0xa5, sizeof(cs));
	memset(&ds, 0xa5, sizeof(ds));
	memset(&as, 0xa5, sizeof(as));
	memset(&ml, 0xa5, sizeof(ml));
	uttm_context_stats(w->ctx, &cs);
	uttm_device_stats(w->dev, &ds);
	uttm_arena_stats(w->arena, &as);
	assert_int_equal(uttm_memory_limit(&ml), 0);
	assert_memory_equal(cs.reserved, zero, sizeof(cs.reserved));
	assert_memory_equal(ds.reserved, zero, sizeof(ds.reserved));
	assert_memory_equal(as.reserved, zero, sizeof(as.reserved));
	assert_memory_equal(ml.reserved, zero, sizeof(ml.reserved));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		world_test(arena_and_pool_params_refuse_reserved_words),
		world_test(context_device_and_object_params_refuse_reserved_words),
		world_test(operations_refuse_reserved_words),
		world_test(stores_and_the_monitor_refuse_reserved_words),
		world_test(counters_come_back_with_reserved_space_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
