// SPDX-License-Identifier: MIT
/*
 * Reclaim (src/object/reclaim.c): the watermark loop and when it gives up
 * with -ENOMEM, waiting for objects in transit and for locked ones,
 * purgeable objects first with their owners told, pinned, busy and locked
 * objects skipped, round-robin across devices, the DMA32 limit on its own,
 * delayed destruction, a walk that survives the LRU changing under it, and
 * the shrinker's count.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <time.h>

#include "world.h"

static void watermark_shrinks_until_under_the_limit(void **state)
{
	struct world *w = world_new(8 * MiB, 0);
	struct uttm_bo *bos[4];
	struct uttm_context_stats stats;

	for (unsigned int i = 0; i < 4; i++) {
		bos[i] = bo_new(w->dev, 3 * MiB, false, NULL);
		bo_fill(bos[i], i);
		assert_true(allocated(w) <= 8 * MiB / UTTM_PAGE_SIZE);
	}
	/* The oldest went first. */
	assert_false(is_populated(bos[0]));
	assert_true(is_populated(bos[3]));
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(bo_check(bos[i], i), 0);
		assert_true(allocated(w) <= 8 * MiB / UTTM_PAGE_SIZE);
	}
	uttm_context_stats(w->ctx, &stats);
	assert_true(stats.pages_backed_up >= 3 * 768);
	assert_true(stats.pages_restored >= 3 * 768);
	for (unsigned int i = 0; i < 4; i++)
		uttm_bo_put(bos[i]);
	world_free(w);
}

static void watermark_without_anything_to_shrink_is_enomem(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);

	uttm_bo_lock(a);
	assert_int_equal(uttm_bo_pin(a), 0);
	uttm_bo_unlock(a);
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_validate(b, &op), -ENOMEM);
	assert_false(is_populated(b));
	uttm_bo_unlock(b);
	assert_int_equal(allocated(w), 6 * MiB / UTTM_PAGE_SIZE);
	uttm_bo_lock(a);
	uttm_bo_unpin(a);
	uttm_bo_unlock(a);
	/* Unpinned, a can make room. */
	crowded_world_free(w, a, b);
}

static void failed_wait_for_a_busy_object_fails_the_validate(void **state)
{
	struct mock_bo ma = { 0 };
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, &ma);

	ma.busy = true;
	ma.wait_error = -EINTR;
	uttm_bo_lock(b);
	/* Making room waits for a, and a signal interrupts the wait. */
	assert_int_equal(uttm_bo_validate(b, &op), -EINTR);
	uttm_bo_unlock(b);
	assert_int_equal(ma.waited, 1);
	assert_false(is_populated(b));
	assert_true(is_populated(a));
	assert_int_equal(allocated(w), 6 * MiB / UTTM_PAGE_SIZE);
	/* Nothing was left half done: the next validate waits and works. */
	ma.wait_error = 0;
	crowded_world_free(w, a, b);
	assert_int_equal(ma.waited, 2);
}

static void object_locked_by_the_caller_is_given_up_on(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);

	uttm_bo_lock(a);
	uttm_bo_lock(b);
	/* Only a could make room, and the caller holds it: no hang. */
	assert_int_equal(uttm_bo_validate(b, &op), -ENOMEM);
	uttm_bo_unlock(b);
	uttm_bo_unlock(a);
	assert_true(is_populated(a));
	assert_false(is_populated(b));
	crowded_world_free(w, a, b);
}

static void cancel_request_stops_a_validate_waiting_for_locked_objects(void **state)
{
	struct uttm_cancel cancel = { 0 };
	const struct uttm_operation_ctx cancellable = { .interruptible = true,
							.cancel = &cancel };
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);

	uttm_bo_lock(a);
	uttm_bo_lock(b);
	/* Only a, locked, could make room: the wait for it is cancelled. */
	uttm_cancel_request(&cancel);
	assert_int_equal(uttm_bo_validate(b, &cancellable), -EINTR);
	uttm_cancel_clear(&cancel);
	assert_int_equal(uttm_bo_validate(b, &cancellable), -ENOMEM);
	uttm_bo_unlock(b);
	uttm_bo_unlock(a);
	crowded_world_free(w, a, b);
}

static void *put_object(void *bo)
{
	uttm_bo_put(bo);
	return NULL;
}

static void watermark_waits_for_an_object_being_freed(void **state)
{
	struct world *w = world_new(8 * MiB, 0);
	struct mock_bo mc = { .slow_busy_check = true };
	struct uttm_bo *a = bo_new(w->dev, 6 * MiB, false, NULL);
	struct uttm_bo *b = bo_new(w->dev, 2 * MiB, false, NULL);
	struct uttm_bo *c = bo_new(w->dev, MiB, false, &mc);
	pthread_t thread;

	bo_fill(a, 1);
	uttm_bo_lock(a);
	assert_int_equal(uttm_bo_pin(a), 0);
	uttm_bo_unlock(a);
	bo_fill(c, 3);
	assert_int_equal(sem_init(&mc.in_busy, 0, 0), 0);
	assert_int_equal(pthread_create(&thread, NULL, put_object, c), 0);
	/* c is on its way out: on no LRU, its pages still counted. */
	assert_int_equal(sem_wait(&mc.in_busy), 0);
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_validate(b, &op), 0);
	uttm_bo_unlock(b);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(allocated(w), 8 * MiB / UTTM_PAGE_SIZE);
	sem_destroy(&mc.in_busy);
	uttm_bo_lock(a);
	uttm_bo_unpin(a);
	uttm_bo_unlock(a);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

static void purgeable_objects_go_first_and_owners_learn_it(void **state)
{
	struct world *w = *state;
	struct mock_bo mp = { 0 }, mk = { 0 };
	struct uttm_bo *keep = bo_new(w->dev, MiB, false, &mk);
	struct uttm_bo *drop = bo_new(w->dev, MiB, true, &mp);
	struct uttm_context_stats stats;

	/* keep is older on the LRU, yet drop goes first. */
	bo_fill(keep, 1);
	bo_fill(drop, 2);
	assert_int_equal(uttm_shrinker_count(w->ctx), 512);
	assert_int_equal(uttm_shrinker_scan(w->ctx, 1), 256);
	assert_false(is_populated(drop));
	assert_true(is_populated(keep));
	assert_int_equal(mp.purge_notified, 1);
	assert_int_equal(mk.purge_notified, 0);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_purged, 256);
	assert_int_equal(uttm_backup_handles(w->store), 0);

	/* The owner sees it once, on the next validate; pages are zeroed. */
	uttm_bo_lock(drop);
	assert_int_equal(uttm_bo_validate(drop, &op), UTTM_BO_CONTENT_LOST);
	for (unsigned long i = 0; i < 256; i++)
		assert_true(page_is_zero(uttm_tt_page_address(uttm_bo_tt(drop), i)));
	assert_int_equal(uttm_bo_validate(drop, &op), 0);
	uttm_bo_unlock(drop);

	/* Then the others are backed up, not purged. */
	uttm_bo_lock(drop);
	uttm_bo_set_purgeable(drop, false);
	uttm_bo_unlock(drop);
	assert_int_equal(uttm_shrinker_scan(w->ctx, 512), 512);
	assert_int_equal(uttm_backup_handles(w->store), 512);
	assert_int_equal(bo_check(keep, 1), 0);
	uttm_bo_put(keep);
	uttm_bo_put(drop);
}

/* The stats say why pages were freed and how long restores took. */
static void reclaim_is_counted_by_reason_and_restores_by_latency(void **state)
{
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct uttm_context_stats stats;
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);
	uint64_t in_buckets = 0;

	bo_fill(b, 2);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_reclaimed[UTTM_SHRINK_WATERMARK],
			 6 * MiB / UTTM_PAGE_SIZE);
	assert_int_equal(stats.pages_reclaimed[UTTM_SHRINK_SWAP], 0);
	assert_int_equal(stats.restores, 0);
	assert_true(uttm_global_swapout(w->ctx, &op, &swap) > 0);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_reclaimed[UTTM_SHRINK_SWAP],
			 6 * MiB / UTTM_PAGE_SIZE);
	assert_int_equal(stats.pages_reclaimed[UTTM_SHRINK_PURGE], 0);
	assert_int_equal(bo_check(a, 1), 0);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.restores, 1);
	assert_true(stats.restore_ns > 0);
	for (unsigned int i = 0; i < UTTM_RESTORE_BUCKETS; i++)
		in_buckets += stats.restore_latency[i];
	assert_int_equal(in_buckets, 1);
	assert_int_equal(bo_check(b, 2), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

static void purge_reason_leaves_other_objects_alone(void **state)
{
	struct world *w = *state;
	const struct uttm_shrink_control purge = { .reason = UTTM_SHRINK_PURGE };
	struct uttm_bo *bo = bo_new(w->dev, MiB, false, NULL);

	bo_fill(bo, 3);
	assert_int_equal(uttm_global_swapout(w->ctx, &op, &purge), 0);
	assert_true(is_populated(bo));
	uttm_bo_put(bo);
}

static void pinned_busy_and_locked_objects_are_skipped(void **state)
{
	struct world *w = *state;
	const struct uttm_operation_ctx no_wait = { .no_wait_gpu = true };
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct mock_bo mb = { 0 };
	struct uttm_bo *pinned = bo_new(w->dev, MiB, true, NULL);
	struct uttm_bo *busy = bo_new(w->dev, MiB, false, &mb);
	struct uttm_bo *locked = bo_new(w->dev, MiB, false, NULL);
	struct uttm_device_stats ds;

	bo_fill(pinned, 1);
	bo_fill(busy, 2);
	bo_fill(locked, 3);
	uttm_bo_lock(pinned);
	assert_int_equal(uttm_bo_pin(pinned), 0);
	assert_int_equal(uttm_bo_pin(pinned), 0);
	uttm_bo_unlock(pinned);
	mb.busy = true;
	uttm_bo_lock(locked);

	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.pinned, 1);
	assert_int_equal(ds.shrinkable_pages, 512);
	assert_int_equal(uttm_device_swapout(w->dev, &no_wait, &swap), 0);
	assert_int_equal(uttm_shrinker_count(w->ctx), 512);
	assert_true(is_populated(busy));
	/* Allowed to wait, the walk waits for the busy one. */
	assert_int_equal(uttm_device_swapout(w->dev, &op, &swap), 256);
	assert_int_equal(mb.waited, 1);
	assert_false(is_populated(busy));
	assert_true(is_populated(pinned));
	assert_true(is_populated(locked));
	uttm_bo_unlock(locked);

	uttm_bo_lock(pinned);
	uttm_bo_unpin(pinned);
	uttm_bo_unpin(pinned);
	uttm_bo_unlock(pinned);
	assert_int_equal(uttm_shrinker_scan(w->ctx, ~0UL), 512);
	assert_false(is_populated(pinned));
	assert_int_equal(bo_check(locked, 3), 0);
	assert_int_equal(bo_check(busy, 2), 0);
	uttm_bo_put(pinned);
	uttm_bo_put(busy);
	uttm_bo_put(locked);
}

static void devices_take_turns(void **state)
{
	struct world *w = *state;
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct uttm_device *other;
	struct uttm_bo *a[3], *b[3];
	struct uttm_device_stats da, db;

	device_new(w, w->arena, NULL, &other);
	for (unsigned int i = 0; i < 3; i++) {
		a[i] = bo_new(w->dev, 64 * UTTM_PAGE_SIZE, false, NULL);
		b[i] = bo_new(other, 64 * UTTM_PAGE_SIZE, false, NULL);
		bo_fill(a[i], i);
		bo_fill(b[i], 10 + i);
	}
	for (unsigned int round = 1; round <= 3; round++) {
		assert_int_equal(uttm_global_swapout(w->ctx, &op, &swap), 64);
		assert_int_equal(uttm_global_swapout(w->ctx, &op, &swap), 64);
		uttm_device_stats(w->dev, &da);
		uttm_device_stats(other, &db);
		assert_int_equal(da.shrinkable_pages, (3 - round) * 64);
		assert_int_equal(db.shrinkable_pages, (3 - round) * 64);
	}
	assert_int_equal(uttm_global_swapout(w->ctx, &op, &swap), 0);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(bo_check(a[i], i), 0);
		assert_int_equal(bo_check(b[i], 10 + i), 0);
		uttm_bo_put(a[i]);
		uttm_bo_put(b[i]);
	}
	uttm_device_destroy(other);
}

static void dma32_limit_is_enforced_on_its_own(void **state)
{
	struct world *w = world_new(64 * MiB, 4 * MiB);
	struct uttm_context_stats stats;
	struct uttm_device *dev32;
	struct uttm_bo *plain[2], *low[3];

	device_new(w, w->arena32, NULL, &dev32);
	for (unsigned int i = 0; i < 2; i++) {
		plain[i] = bo_new(w->dev, 2 * MiB, false, NULL);
		bo_fill(plain[i], i);
	}
	for (unsigned int i = 0; i < 3; i++) {
		low[i] = bo_new(dev32, 2 * MiB, false, NULL);
		bo_fill(low[i], 10 + i);
		uttm_context_stats(w->ctx, &stats);
		assert_true(stats.dma32_pages_allocated <= 1024);
	}
	/* Only DMA32 objects made room; the others were never touched. */
	assert_true(is_populated(plain[0]));
	assert_true(is_populated(plain[1]));
	assert_false(is_populated(low[0]));
	assert_int_equal(stats.pages_allocated, 1024 + 1024);
	for (unsigned int i = 0; i < 3; i++) {
		assert_int_equal(bo_check(low[i], 10 + i), 0);
		uttm_bo_put(low[i]);
	}
	for (unsigned int i = 0; i < 2; i++)
		uttm_bo_put(plain[i]);
	uttm_device_destroy(dev32);
	world_free(w);
}

static void busy_objects_are_destroyed_once_idle(void **state)
{
	struct world *w = *state;
	const struct uttm_operation_ctx no_wait = { .no_wait_gpu = true };
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct mock_bo m = { .busy = true };
	struct uttm_bo *bo = bo_new(w->dev, MiB, false, &m);
	struct uttm_device_stats ds;

	bo_fill(bo, 4);
	uttm_bo_put(bo);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.objects, 1);
	assert_int_equal(ds.delayed, 1);
	assert_int_equal(ds.shrinkable_pages, 0);
	assert_int_equal(uttm_device_swapout(w->dev, &no_wait, &swap), 0);
	m.busy = false;
	assert_int_equal(uttm_device_swapout(w->dev, &no_wait, &swap), 256);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.objects, 0);
	assert_int_equal(allocated(w), 0);

	/* Device teardown waits for whatever is still busy. */
	m.busy = true;
	bo = bo_new(w->dev, MiB, false, &m);
	bo_fill(bo, 5);
	uttm_bo_put(bo);
	uttm_device_destroy(w->dev);
	assert_int_equal(m.waited, 1);
	device_new(w, w->arena, &mock_funcs, &w->dev);
}

static void walk_that_may_wait_frees_a_busy_deleted_object(void **state)
{
	const struct uttm_operation_ctx no_wait = { .no_wait_gpu = true };
	struct mock_bo ma = { 0 };
	struct uttm_device_stats ds;
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, &ma);

	ma.busy = true;
	uttm_bo_put(a);
	/* Not allowed to wait, the watermark finds nothing to free. */
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_validate(b, &no_wait), -ENOMEM);
	assert_int_equal(ma.waited, 0);
	/* A failed wait keeps the object for later. */
	ma.wait_error = -EINTR;
	assert_int_equal(uttm_bo_validate(b, &op), -EINTR);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.delayed, 1);
	/* Allowed to wait, it waits for the zombie and frees it. */
	ma.wait_error = 0;
	assert_int_equal(uttm_bo_validate(b, &op), 0);
	uttm_bo_unlock(b);
	assert_int_equal(ma.waited, 2);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.delayed, 0);
	assert_int_equal(ds.objects, 1);
	assert_int_equal(allocated(w), 6 * MiB / UTTM_PAGE_SIZE);
	uttm_bo_put(b);
	world_free(w);
}

/* A driver whose shrink callback changes the LRU under the walker. */
static long meddling_shrink(struct uttm_bo *bo,
			    const struct uttm_operation_ctx *shrink_op,
			    const struct uttm_shrink_control *sc)
{
	const struct uttm_backup_flags flags = { .purge = false };
	struct mock_bo *m = uttm_bo_priv(bo);

	if (m && m->destroy_during_shrink) {
		uttm_bo_put(m->destroy_during_shrink);
		m->destroy_during_shrink = NULL;
	}
	return uttm_bo_shrink(bo, &flags);
}

/* A driver whose first object cannot be backed up for want of memory. */
static long short_of_memory_shrink(struct uttm_bo *bo,
				   const struct uttm_operation_ctx *shrink_op,
				   const struct uttm_shrink_control *sc)
{
	const struct uttm_backup_flags flags = { .purge = false };
	struct mock_bo *m = uttm_bo_priv(bo);

	return m->shrink_error ? m->shrink_error : uttm_bo_shrink(bo, &flags);
}

static void walk_skips_only_the_object_that_failed(void **state)
{
	static const struct uttm_device_funcs driver = {
		.bo_shrink = short_of_memory_shrink,
	};
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct world *w = *state;
	struct mock_bo m[2] = { { .shrink_error = -ENOMEM }, { 0 } };
	struct uttm_device *dev;
	struct uttm_bo *bos[2];

	device_new(w, w->arena, &driver, &dev);
	for (unsigned int i = 0; i < 2; i++) {
		bos[i] = bo_new(dev, 16 * UTTM_PAGE_SIZE, false, &m[i]);
		bo_fill(bos[i], i);
	}
	/* -ENOMEM passes the first by; the second gives its pages. */
	assert_int_equal(uttm_device_swapout(dev, &op, &swap), 16);
	assert_true(is_populated(bos[0]));
	assert_false(is_populated(bos[1]));
	/* Any other error stops the walk and is returned. */
	m[0].shrink_error = -EIO;
	assert_int_equal(uttm_device_swapout(dev, &op, &swap), -EIO);
	for (unsigned int i = 0; i < 2; i++) {
		assert_int_equal(bo_check(bos[i], i), 0);
		uttm_bo_put(bos[i]);
	}
	uttm_device_destroy(dev);
}

static void walk_survives_the_lru_changing_under_it(void **state)
{
	static const struct uttm_device_funcs meddling = {
		.bo_shrink = meddling_shrink,
	};
	struct world *w = *state;
	struct uttm_device *dev;
	struct mock_bo m[4] = { 0 };
	struct uttm_bo *bos[4];

	device_new(w, w->arena, &meddling, &dev);
	for (unsigned int i = 0; i < 4; i++) {
		bos[i] = bo_new(dev, 16 * UTTM_PAGE_SIZE, false, &m[i]);
		bo_fill(bos[i], i);
	}
	/* Shrinking the first destroys the second, next in the walk. */
	m[0].destroy_during_shrink = bos[1];
	uttm_bo_lock(bos[2]);
	assert_int_equal(uttm_shrinker_scan(w->ctx, 32), 32);
	uttm_bo_unlock(bos[2]);
	assert_false(is_populated(bos[0]));
	assert_true(is_populated(bos[2]));
	assert_false(is_populated(bos[3]));
	assert_int_equal(bo_check(bos[0], 0), 0);
	assert_int_equal(bo_check(bos[3], 3), 0);
	uttm_bo_put(bos[0]);
	uttm_bo_put(bos[2]);
	uttm_bo_put(bos[3]);
	uttm_device_destroy(dev);
}

/*
 * A restore of a partly backed-up object must fit its limit at every
 * moment: new pages stand beside the old ones they replace until each is
 * copied, and a restore that fails midway keeps them.  Here the vector
 * has 300 pages in the store and 724 in place; the restore fails on the
 * 257th page it reads, in the block that replaces both kinds.
 */
static void restore_never_goes_over_the_page_limit(void **state)
{
	const unsigned long limit = 1536;
	struct uttm_backup_shmem_params sp = { .capacity = 64 * MiB };
	struct uttm_context_params cp = { .page_limit = limit << 12 };
	struct uttm_fault_rule rule = { .nth = 301, .error = -EIO };
	struct uttm_backup *store;
	struct uttm_bo *big, *other;
	struct uttm_fault *fault;
	struct world *w;

	assert_int_equal(uttm_fault_create(&fault), 0);
	sp.fault = fault;
	assert_int_equal(uttm_backup_shmem_create(&sp, &store), 0);
	w = world_with(&cp, store);
	big = bo_new(w->dev, 1024 * UTTM_PAGE_SIZE, false, NULL);
	other = bo_new(w->dev, 512 * UTTM_PAGE_SIZE, false, NULL);
	bo_fill(big, 1);
	bo_fill(other, 2);
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_BACKUP, &rule), 0);
	uttm_bo_lock(big);
	assert_int_equal(uttm_bo_shrink(big, &backup_flags), 300);
	uttm_bo_unlock(big);
	assert_int_equal(allocated(w), 724 + 512);

	rule.nth = 257;
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_RESTORE, &rule), 0);
	uttm_bo_lock(big);
	assert_int_equal(uttm_bo_validate(big, &op), -EIO);
	uttm_bo_unlock(big);
	assert_true(allocated(w) <= limit);
	assert_true(uttm_bo_tt(big)->resident_pages <= limit);

	uttm_fault_disarm(fault, UTTM_FAULT_RESTORE);
	assert_int_equal(bo_check(big, 1), 0);
	assert_true(allocated(w) <= limit);
	assert_int_equal(bo_check(other, 2), 0);
	uttm_bo_put(big);
	uttm_bo_put(other);
	world_free(w);
	uttm_fault_destroy(fault);
}

static void shrinker_count_is_bounded_by_store_room(void **state)
{
	struct world *w = *state;
	struct uttm_backup_shmem_params sp = { .capacity = 100 * UTTM_PAGE_SIZE };
	struct uttm_backup *small;
	struct uttm_device *dev;
	struct uttm_device_params dp = {
		.pool = { .arena = w->arena },
		.caching = UTTM_LOCKED,
	};
	struct uttm_bo *a, *b, *c;

	assert_int_equal(uttm_backup_shmem_create(&sp, &small), 0);
	dp.backup = small;
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), 0);
	uttm_backup_put(small);
	a = bo_new(dev, 300 * UTTM_PAGE_SIZE, false, NULL);
	b = bo_new(dev, 50 * UTTM_PAGE_SIZE, true, NULL);
	c = bo_new(dev, 70 * UTTM_PAGE_SIZE, false, NULL);
	bo_fill(a, 1);
	bo_fill(b, 2);
	bo_fill(c, 3);
	assert_int_equal(uttm_shrinker_count(w->ctx), 50 + 100);
	/* a does not fit whole: it is backed up in part and stays. */
	assert_int_equal(uttm_shrinker_scan(w->ctx, ~0UL), 50 + 100);
	assert_int_equal(uttm_backup_bytes_avail(small), 0);
	assert_int_equal(bo_check(a, 1), 0);
	assert_int_equal(bo_check(c, 3), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	uttm_bo_put(c);
	uttm_device_destroy(dev);
}

static void driver_hears_only_of_moves_that_happen(void **state)
{
	struct world *w = *state;
	const struct uttm_backup_flags backup = { .purge = false };
	const struct uttm_shrink_control swap = { .reason = UTTM_SHRINK_SWAP };
	struct uttm_backup_shmem_params sp = { .capacity = 64 * UTTM_PAGE_SIZE };
	struct mock_bo ma = { 0 }, mb = { 0 };
	struct uttm_device_params dp = {
		.pool = { .arena = w->arena },
		.caching = UTTM_PLAIN,
		.funcs = &mock_funcs,
	};
	struct uttm_device *dev;
	struct uttm_fault *fault;
	struct uttm_bo *a, *b;

	assert_int_equal(uttm_fault_create(&fault), 0);
	sp.fault = fault;
	assert_int_equal(uttm_backup_shmem_create(&sp, &dp.backup), 0);
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), 0);
	uttm_backup_put(dp.backup);
	a = bo_new(dev, 64 * UTTM_PAGE_SIZE, false, &ma);
	b = bo_new(dev, 16 * UTTM_PAGE_SIZE, false, &mb);
	bo_fill(a, 1);
	bo_fill(b, 2);

	/* The store refuses b's first page: told, then told it is off. */
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_BACKUP,
					&(struct uttm_fault_rule){ .nth = 1,
								   .error = -EIO }),
			 0);
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_shrink(b, &backup), -EIO);
	uttm_bo_unlock(b);
	uttm_fault_disarm(fault, UTTM_FAULT_BACKUP);
	assert_int_equal(mb.move_notified, 1);
	assert_int_equal(mb.move_abandoned, 1);
	assert_true(is_populated(b));

	/* a fills the store; then b's store has no room: b hears nothing. */
	uttm_bo_lock(a);
	assert_int_equal(uttm_bo_shrink(a, &backup), 64);
	uttm_bo_unlock(a);
	assert_int_equal(ma.move_notified, 1);
	assert_int_equal(ma.move_abandoned, 0);
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_shrink(b, &backup), -EBUSY);
	uttm_bo_unlock(b);
	for (unsigned int i = 0; i < 10; i++)
		assert_int_equal(uttm_device_swapout(dev, &op, &swap), 0);
	assert_int_equal(mb.move_notified, 1);
	assert_int_equal(mb.move_abandoned, 1);

	assert_int_equal(bo_check(a, 1), 0);
	assert_int_equal(bo_check(b, 2), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	uttm_device_destroy(dev);
	uttm_fault_destroy(fault);
}

/*
 * Room made for a validate goes to it: a plain populate gets its
 * victim's pages cleared, a restore gets them as they are, and none goes
 * back to the system on the way.
 */
static void watermark_populate_takes_its_victims_pages(void **state)
{
	struct world *w = world_new(6 * MiB, 0);
	struct uttm_bo *a = bo_new(w->dev, 4 * MiB, false, NULL);
	struct uttm_bo *b = bo_new(w->dev, 4 * MiB, false, NULL);
	struct uttm_context_stats stats;
	struct uttm_page *first;
	struct uttm_tt *tt;

	bo_fill(a, 1);
	first = uttm_bo_tt(a)->pages[0];
	uttm_bo_lock(b);
	assert_int_equal(uttm_bo_validate(b, &op), 0);
	tt = uttm_bo_tt(b);
	assert_ptr_equal(tt->pages[0], first);
	for (unsigned long i = 0; i < tt->num_pages; i++)
		assert_true(page_is_zero(uttm_tt_page_address(tt, i)));
	fill_tt(tt, 2);
	first = tt->pages[0];
	uttm_bo_unlock(b);

	assert_int_equal(bo_check(a, 1), 0);
	assert_ptr_equal(uttm_bo_tt(a)->pages[0], first);
	assert_true(allocated(w) <= 6 * MiB / UTTM_PAGE_SIZE);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_recycled, 2 * 1024);
	assert_int_equal(stats.pages_released, 0);
	assert_int_equal(bo_check(b, 2), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

/* Reclaim for the system or a scan gives the pages back to the system. */
static void shrinker_scan_gives_pages_back_to_the_system(void **state)
{
	struct world *w = *state;
	struct uttm_bo *a = bo_new(w->dev, 1 * MiB, false, NULL);
	struct uttm_context_stats stats;
	uint64_t resident;

	bo_fill(a, 1);
	resident = arena_resident(w->arena);
	assert_int_equal(uttm_shrinker_scan(w->ctx, 256), 256);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_recycled, 0);
	assert_int_equal(stats.pages_released, 256);
	assert_true(arena_resident(w->arena) + 1 * MiB <= resident);
	assert_int_equal(bo_check(a, 1), 0);
	uttm_bo_put(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(watermark_shrinks_until_under_the_limit),
		cmocka_unit_test(watermark_without_anything_to_shrink_is_enomem),
		cmocka_unit_test(failed_wait_for_a_busy_object_fails_the_validate),
		cmocka_unit_test(object_locked_by_the_caller_is_given_up_on),
		cmocka_unit_test(cancel_request_stops_a_validate_waiting_for_locked_objects),
		cmocka_unit_test(watermark_waits_for_an_object_being_freed),
		world_test(purgeable_objects_go_first_and_owners_learn_it),
		cmocka_unit_test(reclaim_is_counted_by_reason_and_restores_by_latency),
		world_test(purge_reason_leaves_other_objects_alone),
		world_test(pinned_busy_and_locked_objects_are_skipped),
		world_test(devices_take_turns),
		cmocka_unit_test(dma32_limit_is_enforced_on_its_own),
		world_test(busy_objects_are_destroyed_once_idle),
		cmocka_unit_test(walk_that_may_wait_frees_a_busy_deleted_object),
		world_test(walk_survives_the_lru_changing_under_it),
		world_test(walk_skips_only_the_object_that_failed),
		world_test(shrinker_count_is_bounded_by_store_room),
		world_test(driver_hears_only_of_moves_that_happen),
		cmocka_unit_test(restore_never_goes_over_the_page_limit),
		cmocka_unit_test(watermark_populate_takes_its_victims_pages),
		world_test(shrinker_scan_gives_pages_back_to_the_system),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
