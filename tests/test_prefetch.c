// SPDX-License-Identifier: MIT
/*
 * Prefetch (src/object/prefetch.c): a queued object comes back without
 * its owner, within the page limit and the budget; a prefetch can be
 * withdrawn queued or stopped in flight, and the owner's validate then
 * resumes the restore; a prefetch that fails midway leaves the object
 * restorable; objects dropped or devices destroyed with prefetches
 * queued or in flight leave nothing behind; several objects come back
 * at once, never more than the workers, each stoppable on its own.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "object/internal.h"
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

/*
 * A store in front of a shmem store whose restores wait at a gate until
 * it opens, or until their operation is cancelled: so a test sees how
 * many restores are in flight at once.
 */
struct gated_store {
	struct uttm_backup base;
	struct uttm_backup *inner;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	unsigned int inside;	/* restores waiting at the gate */
	unsigned int most;	/* the most that ever waited at once */
	bool open;
};

static struct gated_store *to_gated(struct uttm_backup *backup)
{
	return container_of(backup, struct gated_store, base);
}

static long gated_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	return uttm_backup_backup_pages(to_gated(backup)->inner, src, count,
					writeback, handles);
}

/* Waits at the gate, a millisecond at a time, watching for a cancel. */
static long gated_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	struct gated_store *g = to_gated(backup);
	bool cancelled = false;

	pthread_mutex_lock(&g->lock);
	g->inside++;
	g->most = MAX(g->most, g->inside);
	pthread_cond_broadcast(&g->changed);
	while (!g->open && !(cancelled = uttm_operation_cancelled(ctx))) {
		pthread_mutex_unlock(&g->lock);
		pause_a_millisecond();
		pthread_mutex_lock(&g->lock);
	}
	g->inside--;
	pthread_cond_broadcast(&g->changed);
	pthread_mutex_unlock(&g->lock);
	if (cancelled)
		return -EINTR;
	return uttm_backup_copy_pages(g->inner, dst, handles, count, ctx);
}

static void gated_drop(struct uttm_backup *backup,
		       const unsigned long *handles, unsigned long count)
{
	uttm_backup_drop(to_gated(backup)->inner, handles, count);
}

static uint64_t gated_bytes_avail(struct uttm_backup *backup)
{
	return uttm_backup_bytes_avail(to_gated(backup)->inner);
}

static void gated_fini(struct uttm_backup *backup)
{
	struct gated_store *g = to_gated(backup);

	uttm_backup_put(g->inner);
	pthread_cond_destroy(&g->changed);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static const struct uttm_backup_ops gated_ops = {
	.backup_pages = gated_backup_pages,
	.copy_pages = gated_copy_pages,
	.drop = gated_drop,
	.bytes_avail = gated_bytes_avail,
	.fini = gated_fini,
};

/* A closed gate before a shmem store of 64 MiB consulting @fault. */
static struct gated_store *gated_store_new(struct uttm_fault *fault)
{
	struct uttm_backup_shmem_params sp = { .capacity = 64 * MiB };
	struct gated_store *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	assert_int_equal(uttm_backup_shmem_create(&sp, &g->inner), 0);
	assert_int_equal(uttm_backup_init(&g->base, &gated_ops, fault), 0);
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->changed, NULL);
	return g;
}

/* Waits (at most 5 s) until @n restores wait at the gate. */
static void gate_wait_inside(struct gated_store *g, unsigned int n)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	pthread_mutex_lock(&g->lock);
	while (g->inside != n &&
	       !pthread_cond_timedwait(&g->changed, &g->lock, &until))
		;
	assert_int_equal(g->inside, n);
	pthread_mutex_unlock(&g->lock);
}

static void gate_open(struct gated_store *g)
{
	pthread_mutex_lock(&g->lock);
	g->open = true;
	pthread_mutex_unlock(&g->lock);
}

/* Backs @bo up whole into its store. */
static void back_up(struct uttm_bo *bo)
{
	const struct uttm_backup_flags flags = { .purge = false };

	uttm_bo_lock(bo);
	assert_true(uttm_bo_shrink(bo, &flags) > 0);
	uttm_bo_unlock(bo);
}

/* A world on @g of @n backed-up objects of 1 MiB, of the patterns 0.. */
static struct world *gated_world(struct gated_store *g, struct uttm_bo **bos,
				 unsigned int n)
{
	struct world *w = world_with(NULL, &g->base);

	for (unsigned int i = 0; i < n; i++) {
		bos[i] = bo_new(w->dev, 1 * MiB, false, NULL);
		bo_fill(bos[i], i);
		back_up(bos[i]);
	}
	return w;
}

/* Checks and frees the @n objects of a gated world, and the world. */
static void gated_world_free(struct world *w, struct uttm_bo **bos,
			     unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		assert_int_equal(bo_check(bos[i], i), 0);
		uttm_bo_put(bos[i]);
	}
	world_free(w);
}

/*
 * Objects queued together come back together, as many at once as there
 * are workers and no more; the rest follow as workers come free.
 */
static void prefetches_are_in_flight_together(void **state)
{
	enum { N = UTTM_PREFETCH_WORKERS + 2 };
	struct gated_store *g = gated_store_new(NULL);
	struct uttm_bo *bos[N];
	struct world *w = gated_world(g, bos, N);

	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(uttm_bo_prefetch(bos[i]), 0);
	gate_wait_inside(g, UTTM_PREFETCH_WORKERS);
	assert_int_equal(prefetched(w), 0);
	gate_open(g);
	wait_prefetched(w, N);
	assert_int_equal(g->most, UTTM_PREFETCH_WORKERS);
	for (unsigned int i = 0; i < N; i++)
		assert_true(populated_locked(bos[i]));
	gated_world_free(w, bos, N);
}

/* One of several in flight is stopped; the others land, untouched. */
static void cancel_stops_one_of_several_in_flight(void **state)
{
	enum { N = 3 };
	struct gated_store *g = gated_store_new(NULL);
	struct uttm_bo *bos[N];
	struct world *w = gated_world(g, bos, N);

	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(uttm_bo_prefetch(bos[i]), 0);
	gate_wait_inside(g, N);
	assert_int_equal(uttm_bo_prefetch_cancel(bos[1]), 0);
	gate_wait_inside(g, N - 1);
	assert_false(populated_locked(bos[1]));
	gate_open(g);
	wait_prefetched(w, N - 1);
	assert_true(populated_locked(bos[0]));
	assert_false(populated_locked(bos[1]));
	assert_true(populated_locked(bos[2]));
	gated_world_free(w, bos, N);
}

/*
 * A restore that fails among several in flight leaves its object backed
 * up and restorable, and the others come back.
 */
static void failed_prefetch_among_several(void **state)
{
	enum { N = 3 };
	struct uttm_fault_rule rule = { .nth = N * 256 - 1, .error = -EIO };
	struct uttm_fault *fault;
	struct gated_store *g;
	struct uttm_bo *bos[N];
	struct world *w;
	unsigned int failed = 0;

	assert_int_equal(uttm_fault_create(&fault), 0);
	g = gated_store_new(fault);
	w = gated_world(g, bos, N);
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_RESTORE, &rule), 0);
	for (unsigned int i = 0; i < N; i++)
		assert_int_equal(uttm_bo_prefetch(bos[i]), 0);
	gate_wait_inside(g, N);
	gate_open(g);
	wait_prefetched(w, N - 1);
	/* The lock waits for the one that fails to give up. */
	for (unsigned int i = 0; i < N; i++)
		failed += !populated_locked(bos[i]);
	assert_int_equal(failed, 1);
	uttm_fault_disarm(fault, UTTM_FAULT_RESTORE);
	gated_world_free(w, bos, N);
	uttm_fault_destroy(fault);
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
		cmocka_unit_test(prefetches_are_in_flight_together),
		cmocka_unit_test(cancel_stops_one_of_several_in_flight),
		cmocka_unit_test(failed_prefetch_among_several),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
