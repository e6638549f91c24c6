// SPDX-License-Identifier: MIT
/*
 * Backup and restore of page vectors, run against every store: partial
 * backup at every page, restore failing or interrupted at every page and
 * resumed, destruction in every intermediate state, purge, refusals,
 * exact counters, and a randomized run of thousands of sequences with
 * injected faults.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "stores.h"

struct backup_env {
	struct fixture *fx;
	const struct store_case *store;
	struct uttm_backup *backup;
};

static int env_setup(void **state)
{
	const struct store_case *store = *state;
	struct backup_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	env->fx = fixture_create(256 * MiB, 8192, 0);
	env->store = store;
	env->backup = store_create(store, env->fx->arena, env->fx->fault,
				   512 * MiB);
	*state = env;
	return 0;
}

static int env_teardown(void **state)
{
	struct backup_env *env = *state;

	assert_int_equal(uttm_backup_handles(env->backup), 0);
	uttm_backup_put(env->backup);
	fixture_destroy(env->fx);
	*state = (void *)env->store;
	free(env);
	return 0;
}

/* A populated vector with the environment's store, filled. */
static void tt_new(struct backup_env *env, struct uttm_tt *tt, uint64_t bytes,
		   enum uttm_caching caching, uint64_t seed)
{
	tt_new_backed(tt, &env->fx->pool, bytes, caching, env->backup, seed);
}

/*
 * Pages the arena has handed out that nobody but the pool, the vectors
 * and a store that keeps arena pages holds.
 */
static void assert_accounting(struct backup_env *env, const struct uttm_tt *tts,
			      unsigned int count)
{
	uint64_t held = uttm_pool_shrink_count(&env->fx->pool);

	if (env->store->holds_arena_pages)
		held += uttm_backup_handles(env->backup);
	for (unsigned int i = 0; i < count; i++)
		held += tts[i].resident_pages;
	assert_int_equal(arena_pages_allocated(env->fx->arena), held);
}

static void backup_then_restore_is_byte_identical(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt;

	tt_new(env, &tt, 3 * MiB + 5 * UTTM_PAGE_SIZE, UTTM_PLAIN, 1);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), tt.num_pages);
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_true(uttm_tt_is_swapped(&tt));
	assert_false(uttm_tt_is_populated(&tt));
	assert_int_equal(tt.resident_pages, 0);
	assert_int_equal(count_handles(&tt), tt.num_pages);
	assert_int_equal(uttm_backup_handles(env->backup), tt.num_pages);
	assert_accounting(env, &tt, 1);
	/* Backed up once, never twice. */
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EINVAL);

	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_false(uttm_tt_is_backed_up(&tt));
	assert_false(uttm_tt_is_swapped(&tt));
	assert_null(tt.restore);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	assert_tt_matches(&tt, 1);
	assert_accounting(env, &tt, 1);
	uttm_tt_fini(&tt);
}

static void backup_fails_at_page_n_then_restores(void **state)
{
	struct backup_env *env = *state;

	for (unsigned long n = 1; n <= MIXED_PAGES + 1; n++) {
		struct uttm_tt tt;
		long ret;

		tt_new(env, &tt, MIXED_BYTES, UTTM_LOCKED, n);
		fixture_arm(env->fx, UTTM_FAULT_BACKUP, n, 1, -ENOSPC);
		ret = uttm_tt_backup(&tt, &backup_flags);
		uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
		if (n == 1) {
			/* Nothing could be backed up: nothing changed. */
			assert_int_equal(ret, -ENOSPC);
			assert_true(uttm_tt_is_populated(&tt));
			assert_false(uttm_tt_is_backed_up(&tt));
		} else {
			assert_int_equal(ret, MIN(n - 1, MIXED_PAGES));
			assert_true(uttm_tt_is_backed_up(&tt));
			assert_int_equal(count_handles(&tt), ret);
			assert_int_equal(tt.resident_pages,
					 MIXED_PAGES - (unsigned long)ret);
		}
		assert_accounting(env, &tt, 1);
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
		assert_tt_matches(&tt, n);
		assert_int_equal(uttm_backup_handles(env->backup), 0);
		assert_accounting(env, &tt, 1);
		uttm_tt_fini(&tt);
	}
}

static void backup_that_moves_no_page_keeps_the_mapping(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt;
	char *addr, *again;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 2);
	assert_int_equal(uttm_tt_vmap(&tt, (void **)&addr), 0);
	fixture_arm(env->fx, UTTM_FAULT_BACKUP, 1, 1, -EIO);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EIO);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
	/* Unchanged, mapping included: reading through it is still fine. */
	assert_true(uttm_tt_is_populated(&tt));
	assert_ptr_equal(tt.vmap_addr, addr);
	for (unsigned long i = 0; i < tt.num_pages; i++)
		assert_memory_equal(addr + i * UTTM_PAGE_SIZE,
				    uttm_tt_page_address(&tt, i),
				    UTTM_PAGE_SIZE);
	assert_int_equal(uttm_tt_vmap(&tt, (void **)&again), 0);
	assert_ptr_equal(again, addr);
	/* A backup that moves pages takes the mapping down. */
	fixture_arm(env->fx, UTTM_FAULT_BACKUP, 2, 1, -EIO);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 1);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
	assert_null(tt.vmap_addr);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 2);
	uttm_tt_fini(&tt);
}

/* Backs a vector up, arms @error at restore page @n, checks the resume. */
static void restore_fault_at(struct backup_env *env, unsigned long n,
			     int error)
{
	struct uttm_tt tt;
	int ret;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 100 + n);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	fixture_arm(env->fx, UTTM_FAULT_RESTORE, n, 1, error);
	ret = uttm_tt_populate(&tt, &test_ctx);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_RESTORE);
	if (n <= MIXED_PAGES) {
		assert_int_equal(ret, error);
		assert_true(uttm_tt_is_backed_up(&tt));
		assert_false(uttm_tt_is_populated(&tt));
		assert_non_null(tt.restore);
		/* Pages restored so far no longer hold a handle. */
		assert_int_equal(uttm_backup_handles(env->backup),
				 MIXED_PAGES - (n - 1));
		assert_accounting(env, &tt, 1);
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	} else {
		assert_int_equal(ret, 0);
	}
	assert_null(tt.restore);
	assert_tt_matches(&tt, 100 + n);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	uttm_tt_fini(&tt);
}

static void restore_fails_at_page_n_then_resumes(void **state)
{
	for (unsigned long n = 1; n <= MIXED_PAGES + 1; n++)
		restore_fault_at(*state, n, -EIO);
}

static void restore_interrupted_at_page_n_then_resumes(void **state)
{
	for (unsigned long n = 1; n <= MIXED_PAGES + 1; n++)
		restore_fault_at(*state, n, -EINTR);
}

static void restore_interrupted_many_times_in_a_row(void **state)
{
	struct backup_env *env = *state;
	unsigned int attempts = 0;
	struct uttm_tt tt;
	int ret;

	tt_new(env, &tt, 2 * MiB + 3 * UTTM_PAGE_SIZE, UTTM_LOCKED, 9);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), tt.num_pages);
	do {
		/* Each attempt gets 37 pages further before a signal. */
		fixture_arm(env->fx, UTTM_FAULT_RESTORE, 38, 1, -EINTR);
		ret = uttm_tt_populate(&tt, &test_ctx);
		attempts++;
	} while (ret == -EINTR);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_RESTORE);
	assert_int_equal(ret, 0);
	assert_int_equal(attempts, DIV_ROUND_UP(tt.num_pages, 37));
	assert_tt_matches(&tt, 9);
	uttm_tt_fini(&tt);
}

static void cancel_flag_stops_restores_until_its_owner_clears_it(void **state)
{
	struct backup_env *env = *state;
	struct uttm_cancel cancel = { 0 };
	struct uttm_operation_ctx ctx = { .interruptible = true,
					  .cancel = &cancel };
	struct uttm_operation_ctx patient = { .interruptible = false,
					      .cancel = &cancel };
	struct uttm_tt tt;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 4);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	uttm_cancel_request(&cancel);
	assert_int_equal(uttm_tt_populate(&tt, &ctx), -EINTR);
	assert_true(uttm_tt_is_backed_up(&tt));
	/* uttm only reads the flag: resuming with it set stops again. */
	assert_true(uttm_cancel_requested(&cancel));
	assert_int_equal(uttm_tt_populate(&tt, &ctx), -EINTR);
	uttm_cancel_clear(&cancel);
	assert_int_equal(uttm_tt_populate(&tt, &ctx), 0);
	assert_tt_matches(&tt, 4);
	/* Without interruptible, a cancel request is not a reason to stop. */
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	uttm_cancel_request(&cancel);
	assert_int_equal(uttm_tt_populate(&tt, &patient), 0);
	assert_tt_matches(&tt, 4);
	uttm_tt_fini(&tt);
}

static void allocation_fails_during_restore_then_resumes(void **state)
{
	struct backup_env *env = *state;

	/* The vector has four blocks. */
	for (unsigned long n = 1; n <= 4; n++) {
		struct uttm_tt tt;

		tt_new(env, &tt, MIXED_BYTES, UTTM_LOCKED, 200 + n);
		assert_int_equal(uttm_tt_backup(&tt, &backup_flags),
				 MIXED_PAGES);
		uttm_pool_trim(&env->fx->pool, 0);
		/* From the n-th block on, no memory at all. */
		fixture_arm(env->fx, UTTM_FAULT_PAGE_ALLOC, n, ~0UL,
			    -ENOMEM);
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -ENOMEM);
		uttm_fault_disarm(env->fx->fault, UTTM_FAULT_PAGE_ALLOC);
		assert_true(uttm_tt_is_backed_up(&tt));
		assert_accounting(env, &tt, 1);
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
		assert_tt_matches(&tt, 200 + n);
		assert_int_equal(uttm_backup_handles(env->backup), 0);
		uttm_tt_fini(&tt);
	}
}

enum stop_point {
	STOP_BACKED_UP,
	STOP_PARTLY_BACKED_UP,
	STOP_RESTORE_FAILED,
	STOP_RESTORE_NO_MEMORY,
};

/* Leaves @tt in @stop with the fault placed at page or block @n. */
static void drive_to(struct backup_env *env, struct uttm_tt *tt,
		     enum stop_point stop, unsigned long n)
{
	switch (stop) {
	case STOP_BACKED_UP:
		assert_int_equal(uttm_tt_backup(tt, &backup_flags),
				 tt->num_pages);
		break;
	case STOP_PARTLY_BACKED_UP:
		fixture_arm(env->fx, UTTM_FAULT_BACKUP, n + 1, 1, -ENOSPC);
		assert_int_equal(uttm_tt_backup(tt, &backup_flags), n);
		break;
	case STOP_RESTORE_FAILED:
		assert_int_equal(uttm_tt_backup(tt, &backup_flags),
				 tt->num_pages);
		fixture_arm(env->fx, UTTM_FAULT_RESTORE, n, 1, -EIO);
		assert_int_equal(uttm_tt_populate(tt, &test_ctx), -EIO);
		break;
	case STOP_RESTORE_NO_MEMORY:
		fixture_arm(env->fx, UTTM_FAULT_BACKUP, n + 1, 1, -ENOSPC);
		assert_int_equal(uttm_tt_backup(tt, &backup_flags), n);
		uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
		uttm_pool_trim(&env->fx->pool, 0);
		fixture_arm(env->fx, UTTM_FAULT_PAGE_ALLOC, 3, ~0UL, -ENOMEM);
		assert_int_equal(uttm_tt_populate(tt, &test_ctx), -ENOMEM);
		break;
	}
	for (int p = 0; p < UTTM_FAULT_NR_POINTS; p++)
		uttm_fault_disarm(env->fx->fault, p);
}

static void destroy_in_every_state_leaks_nothing(void **state)
{
	struct backup_env *env = *state;

	for (int stop = STOP_BACKED_UP; stop <= STOP_RESTORE_NO_MEMORY; stop++) {
		for (unsigned long n = 1; n < MIXED_PAGES; n += 3) {
			struct uttm_tt tt;

			tt_new(env, &tt, MIXED_BYTES,
			       n % 2 ? UTTM_LOCKED : UTTM_PLAIN, n);
			drive_to(env, &tt, stop, n);
			assert_accounting(env, &tt, 1);
			uttm_tt_fini(&tt);
			assert_int_equal(uttm_backup_handles(env->backup), 0);
			assert_int_equal(arena_pages_allocated(env->fx->arena),
					 uttm_pool_shrink_count(&env->fx->pool));
		}
	}
}

static void restore_state_never_outlives_its_restore(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 31);
	drive_to(env, &tt, STOP_RESTORE_FAILED, 40);
	assert_non_null(tt.restore);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_null(tt.restore);
	/* A second cycle must not pick up anything of the first. */
	fill_tt(&tt, 32);
	drive_to(env, &tt, STOP_RESTORE_FAILED, 7);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 32);
	fill_tt(&tt, 33);
	drive_to(env, &tt, STOP_PARTLY_BACKED_UP, 20);
	assert_null(tt.restore);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 33);
	uttm_tt_fini(&tt);
}

static void purge_frees_pages_to_the_system(void **state)
{
	struct backup_env *env = *state;
	const struct uttm_backup_flags purge = { .purge = true };
	unsigned long pooled;
	struct uttm_tt tt;

	tt_new(env, &tt, 2 * MiB, UTTM_LOCKED, 5);
	uttm_tt_set_purgeable(&tt, true);
	pooled = uttm_pool_shrink_count(&env->fx->pool);
	assert_int_equal(uttm_tt_backup(&tt, &purge), 512);
	assert_false(uttm_tt_is_populated(&tt));
	assert_false(uttm_tt_is_backed_up(&tt));
	/* Straight to the system: the pool got nothing. */
	assert_int_equal(uttm_pool_shrink_count(&env->fx->pool), pooled);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	assert_accounting(env, &tt, 1);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	for (unsigned long i = 0; i < tt.num_pages; i++)
		assert_true(page_is_zero(uttm_tt_page_address(&tt, i)));
	/* Purging needs no store. */
	assert_int_equal(uttm_tt_set_backup(&tt, NULL), 0);
	assert_int_equal(uttm_tt_backup(&tt, &purge), 512);
	uttm_tt_fini(&tt);
}

static void refusals(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt, bare;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 6);
	assert_int_equal(uttm_tt_init(&bare, &env->fx->pool, UTTM_PAGE_SIZE,
				      UTTM_PLAIN, 0), 0);
	/* Unpopulated: nothing to do. */
	assert_int_equal(uttm_tt_backup(&bare, &backup_flags), 0);
	assert_int_equal(uttm_tt_populate(&bare, &test_ctx), 0);
	/* No store: cannot back up. */
	assert_int_equal(uttm_tt_backup(&bare, &backup_flags), -EBUSY);
	assert_int_equal(uttm_tt_backup(&tt, NULL), -EINVAL);
	assert_int_equal(uttm_tt_backup(NULL, &backup_flags), -EINVAL);

	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EINVAL);
	assert_int_equal(uttm_tt_backup(&tt, &(struct uttm_backup_flags){
						     .purge = true }), -EINVAL);
	assert_int_equal(uttm_tt_set_backup(&tt, NULL), -EBUSY);
	uttm_tt_fini(&tt);
	uttm_tt_fini(&bare);
}

static void full_store_refuses_and_partial_backup_restores(void **state)
{
	struct backup_env *env = *state;
	struct uttm_backup *small = store_create(env->store, env->fx->arena,
						 NULL, 40 * UTTM_PAGE_SIZE);
	struct uttm_tt tt, other;

	tt_new(env, &tt, MIXED_BYTES, UTTM_PLAIN, 8);
	assert_int_equal(uttm_tt_set_backup(&tt, small), 0);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 40);
	assert_int_equal(uttm_backup_bytes_avail(small), 0);
	/* A full store is no place to back up anything else. */
	tt_new(env, &other, UTTM_PAGE_SIZE, UTTM_PLAIN, 9);
	assert_int_equal(uttm_tt_set_backup(&other, small), 0);
	assert_int_equal(uttm_tt_backup(&other, &backup_flags), -EBUSY);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 8);
	assert_int_equal(uttm_backup_bytes_avail(small), 40 * UTTM_PAGE_SIZE);
	uttm_tt_fini(&tt);
	uttm_tt_fini(&other);
	assert_int_equal(uttm_backup_handles(small), 0);
	uttm_backup_put(small);
}

static void backup_leaves_device_state_and_mappings_first(void **state)
{
	struct backup_env *env = *state;
	struct mock_device dev;
	struct uttm_pool pool;
	struct uttm_tt tt;
	long ret;

	assert_int_equal(mock_pool_init(&pool, env->fx->arena, &dev, 0, true),
			 0);
	for (unsigned long n = 1; n <= MIXED_PAGES + 1; n += 4) {
		tt_new_backed(&tt, &pool, MIXED_BYTES, UTTM_DEVICE, env->backup,
			      n);
		assert_int_equal(dev.entered - dev.left, MIXED_PAGES);
		assert_int_equal(dev.mapped - dev.unmapped, MIXED_PAGES);
		fixture_arm(env->fx, UTTM_FAULT_BACKUP, n, 1, -ENOSPC);
		ret = uttm_tt_backup(&tt, &backup_flags);
		uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
		if (n == 1) {
			/* Not a page could go: nothing left its state. */
			assert_int_equal(ret, -ENOSPC);
			assert_true(uttm_tt_is_populated(&tt));
			assert_int_equal(dev.entered - dev.left, MIXED_PAGES);
			assert_int_equal(dev.mapped - dev.unmapped,
					 MIXED_PAGES);
		} else {
			assert_int_equal(ret, MIN(n - 1, MIXED_PAGES));
			/* Kept pages too: plain and unmapped. */
			assert_int_equal(dev.entered, dev.left);
			assert_int_equal(dev.mapped, dev.unmapped);
		}
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
		assert_int_equal(dev.entered - dev.left, MIXED_PAGES);
		assert_int_equal(dev.mapped - dev.unmapped, MIXED_PAGES);
		assert_tt_matches(&tt, n);
		for (unsigned long i = 0; i < tt.num_pages; i++)
			assert_int_equal(tt.dma_address[i],
					 (uintptr_t)uttm_tt_page_address(&tt, i));
		uttm_tt_fini(&tt);
	}
	uttm_pool_fini(&pool);
	assert_int_equal(dev.entered, dev.left);
	assert_int_equal(dev.mapped, dev.unmapped);
}

/*
 * The restored pages are all fresh, so they enter the device state last,
 * once the content is in: a device that refuses them then stops the
 * restore, which resumes, or is released with every page.
 */
static void device_refusing_restored_pages_stops_the_restore(void **state)
{
	struct backup_env *env = *state;
	struct mock_device dev;
	struct uttm_pool pool;
	struct uttm_tt tt;

	assert_int_equal(mock_pool_init(&pool, env->fx->arena, &dev, 0, true),
			 0);
	for (unsigned int resume = 0; resume <= 1; resume++) {
		tt_new_backed(&tt, &pool, MIXED_BYTES, UTTM_DEVICE, env->backup,
			      40 + resume);
		assert_int_equal(uttm_tt_backup(&tt, &backup_flags),
				 MIXED_PAGES);
		dev.error = -EIO;
		dev.enter_fails_at = dev.enter_calls + 1;
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
		assert_true(uttm_tt_is_backed_up(&tt));
		assert_non_null(tt.restore);
		assert_int_equal(uttm_backup_handles(env->backup), 0);
		assert_int_equal(tt.resident_pages, MIXED_PAGES);
		assert_int_equal(dev.entered, dev.left);
		assert_int_equal(dev.mapped - dev.unmapped, MIXED_PAGES);
		assert_accounting(env, &tt, 1);
		if (resume) {
			assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
			assert_null(tt.restore);
			assert_int_equal(dev.entered - dev.left, MIXED_PAGES);
			assert_tt_matches(&tt, 40 + resume);
		}
		uttm_tt_fini(&tt);
		assert_int_equal(dev.entered, dev.left);
		assert_int_equal(dev.mapped, dev.unmapped);
		assert_accounting(env, NULL, 0);
	}
	uttm_pool_fini(&pool);
}

static void counters_exact_across_cycles(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tts[6];

	for (unsigned int i = 0; i < 6; i++)
		tt_new(env, &tts[i], (i + 1) * 123 * UTTM_PAGE_SIZE,
		       i % 3 == 1 ? UTTM_LOCKED : UTTM_PLAIN, i);
	for (unsigned int cycle = 0; cycle < 4; cycle++) {
		unsigned long handles = 0;

		for (unsigned int i = 0; i < 6; i++) {
			long ret;

			fixture_arm(env->fx, UTTM_FAULT_BACKUP,
				    50 + 61 * i + cycle, 1, -ENOSPC);
			ret = uttm_tt_backup(&tts[i], &backup_flags);
			assert_int_equal(ret, 49 + 61 * i + cycle);
			handles += (unsigned long)ret;
			assert_int_equal(uttm_backup_handles(env->backup),
					 handles);
			assert_accounting(env, tts, 6);
		}
		uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
		for (unsigned int i = 0; i < 6; i++) {
			assert_int_equal(uttm_tt_populate(&tts[i], &test_ctx), 0);
			assert_accounting(env, tts, 6);
		}
		assert_int_equal(uttm_backup_handles(env->backup), 0);
	}
	for (unsigned int i = 0; i < 6; i++) {
		assert_tt_matches(&tts[i], i);
		uttm_tt_fini(&tts[i]);
	}
	uttm_pool_trim(&env->fx->pool, 0);
	assert_int_equal(arena_pages_allocated(env->fx->arena), 0);
}

/* A vector that tracks writes, backed up once and restored: all clean. */
static void tracked_new(struct backup_env *env, struct uttm_tt *tt,
			uint64_t bytes, uint64_t seed)
{
	/* A tier would keep copies of its lower store's pages: none here. */
	assert_true(!env->store->keeps_copies ||
		    uttm_backup_keeps_copies(env->backup));
	tt_new_flagged(tt, &env->fx->pool, bytes, UTTM_PLAIN,
		       UTTM_TT_FLAG_TRACK_DIRTY, env->backup, seed);
	assert_int_equal(uttm_tt_backup(tt, &backup_flags), tt->num_pages);
	assert_int_equal(uttm_tt_populate(tt, &test_ctx), 0);
	assert_tt_matches(tt, seed);
	assert_int_equal(count_copies(tt),
			 env->store->keeps_copies ? tt->num_pages : 0);
	assert_int_equal(uttm_backup_handles(env->backup), count_copies(tt));
}

static void clean_pages_back_up_without_the_store(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt;

	tracked_new(env, &tt, MIXED_BYTES, 21);
	/* A store asked for a single page would fail the backup. */
	if (env->store->keeps_copies)
		fixture_arm(env->fx, UTTM_FAULT_BACKUP, 1, 1, -ENOSPC);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
	assert_int_equal(count_copies(&tt), 0);
	assert_int_equal(count_handles(&tt), MIXED_PAGES);
	assert_int_equal(uttm_backup_handles(env->backup), MIXED_PAGES);
	assert_accounting(env, &tt, 1);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 21);
	uttm_tt_fini(&tt);
}

/* Writes page @index of @tt with the pattern of @seed, reported first. */
static void write_page(struct uttm_tt *tt, unsigned long index, uint64_t seed)
{
	assert_int_equal(uttm_tt_mark_dirty(tt, index, 1), 0);
	fill_page(uttm_tt_page_address(tt, index), seed, index);
}

static void written_pages_are_written_again(void **state)
{
	struct backup_env *env = *state;
	struct uttm_tt tt;

	tracked_new(env, &tt, MIXED_BYTES, 22);
	/* One page in the order-6 block, one order-0 page at the end. */
	write_page(&tt, 10, 23);
	write_page(&tt, MIXED_PAGES - 1, 23);
	if (env->store->keeps_copies)
		assert_int_equal(count_copies(&tt), MIXED_PAGES - 2);
	assert_int_equal(uttm_backup_handles(env->backup), count_copies(&tt));
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	assert_int_equal(uttm_backup_handles(env->backup), MIXED_PAGES);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	for (unsigned long i = 0; i < MIXED_PAGES; i++)
		assert_true(page_matches(uttm_tt_page_address(&tt, i),
					 i == 10 || i == MIXED_PAGES - 1 ?
					 23 : 22, i));
	assert_int_equal(uttm_tt_mark_dirty(&tt, MIXED_PAGES, 1), -EINVAL);
	assert_int_equal(uttm_tt_mark_dirty(&tt, 1, MIXED_PAGES), -EINVAL);
	assert_int_equal(uttm_tt_mark_dirty(&tt, MIXED_PAGES, 0), 0);
	uttm_tt_fini(&tt);
}

/* Every way a vector's content goes, or changes store, takes its copies. */
static void copies_go_with_the_content(void **state)
{
	struct backup_env *env = *state;
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_tt tt;

	tracked_new(env, &tt, MIXED_BYTES, 24);
	uttm_tt_unpopulate(&tt);
	assert_int_equal(count_copies(&tt), 0);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	uttm_tt_fini(&tt);

	tracked_new(env, &tt, MIXED_BYTES, 24);
	assert_int_equal(uttm_tt_backup(&tt, &purge), MIXED_PAGES);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	uttm_tt_fini(&tt);

	tracked_new(env, &tt, MIXED_BYTES, 24);
	assert_int_equal(uttm_tt_set_backup(&tt, env->backup), 0);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
	uttm_tt_fini(&tt);

	/* A partial backup: the pages that stay are restored from memory. */
	tracked_new(env, &tt, MIXED_BYTES, 24);
	write_page(&tt, 70, 25);
	fixture_arm(env->fx, UTTM_FAULT_BACKUP, 3, 1, -ENOSPC);
	assert_true(uttm_tt_backup(&tt, &backup_flags) < MIXED_PAGES);
	uttm_fault_disarm(env->fx->fault, UTTM_FAULT_BACKUP);
	assert_int_equal(count_copies(&tt), 0);
	assert_int_equal(uttm_backup_handles(env->backup), count_handles(&tt));
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	for (unsigned long i = 0; i < MIXED_PAGES; i++)
		assert_true(page_matches(uttm_tt_page_address(&tt, i),
					 i == 70 ? 25 : 24, i));
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
}

/* Kept copies take no room that new backups need; their own is theirs. */
static void a_clean_vector_backs_up_into_a_full_store(void **state)
{
	struct backup_env *env = *state;
	const unsigned long pages = 512;
	struct uttm_backup *small;
	struct uttm_tt tt, other;

	if (!env->store->keeps_copies)
		skip();
	small = store_create(env->store, env->fx->arena, NULL,
			     3 * pages * UTTM_PAGE_SIZE);
	tt_new_flagged(&tt, &env->fx->pool, pages * UTTM_PAGE_SIZE, UTTM_PLAIN,
		       UTTM_TT_FLAG_TRACK_DIRTY, small, 26);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), pages);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(count_copies(&tt), pages);
	tt_new_backed(&other, &env->fx->pool, 2 * pages * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, small, 27);
	assert_int_equal(uttm_tt_backup(&other, &backup_flags), 2 * pages);
	assert_int_equal(uttm_backup_bytes_avail(small), 0);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), pages);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 26);
	/* The store now keeps no copy that leaves it no room. */
	assert_int_equal(count_copies(&tt), 0);
	uttm_tt_fini(&tt);
	uttm_tt_fini(&other);
	assert_int_equal(uttm_backup_handles(small), 0);
	uttm_backup_put(small);
}

/*
 * The randomized run: many short sequences of operations on a few
 * vectors, with faults injected at random, against a model of what every
 * page must hold.
 */
struct model_tt {
	struct uttm_tt tt;
	uint64_t seed;		/* content pattern; 0 after a purge */
	bool live;
};

static void model_check(const struct model_tt *m)
{
	for (unsigned long i = 0; i < m->tt.num_pages; i++) {
		const void *addr = uttm_tt_page_address(&m->tt, i);

		if (m->seed ? !page_matches(addr, m->seed, i) :
			      !page_is_zero(addr))
			fail_msg("page %lu of %lu lost its content", i,
				 m->tt.num_pages);
	}
}

static void model_step(struct backup_env *env, struct model_tt *m,
		       uint64_t *rng, uint64_t *next_seed)
{
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_backup_flags flags = { .writeback = rng_next(rng) & 1 };
	unsigned int op = rng_next(rng) % 6;
	int ret;

	if (!m->live) {
		unsigned long pages = 1 + rng_next(rng) % 70;
		/* Half the vectors keep copies, where the store does. */
		uint32_t tracks = rng_next(rng) & 1 ? UTTM_TT_FLAG_TRACK_DIRTY :
						     0;

		assert_int_equal(uttm_tt_init(&m->tt, &env->fx->pool,
					      pages * UTTM_PAGE_SIZE,
					      rng_next(rng) % 3 ? UTTM_PLAIN :
								  UTTM_LOCKED,
					      tracks), 0);
		assert_int_equal(uttm_tt_set_backup(&m->tt, env->backup), 0);
		if (uttm_tt_populate(&m->tt, &test_ctx)) {
			uttm_tt_fini(&m->tt);
			return;
		}
		m->seed = ++*next_seed;
		fill_tt(&m->tt, m->seed);
		m->live = true;
		return;
	}
	switch (op) {
	case 0:
	case 1:
		ret = uttm_tt_populate(&m->tt, &test_ctx);
		if (!ret)
			model_check(m);
		else
			assert_true(ret == -EIO || ret == -EINTR ||
				    ret == -ENOMEM);
		break;
	case 2:
		if (uttm_tt_is_populated(&m->tt)) {
			unsigned long split = rng_next(rng) % m->tt.num_pages;

			/* Reported in two parts, as partial writes are. */
			assert_int_equal(uttm_tt_mark_dirty(&m->tt, 0, split),
					 0);
			assert_int_equal(uttm_tt_mark_dirty(&m->tt, split,
							    m->tt.num_pages -
							    split), 0);
			m->seed = ++*next_seed;
			fill_tt(&m->tt, m->seed);
		}
		break;
	case 3:
		if (uttm_tt_is_backed_up(&m->tt))
			break;
		ret = (int)uttm_tt_backup(&m->tt, &flags);
		assert_true(ret >= 0 || ret == -ENOSPC || ret == -EBUSY);
		break;
	case 4:
		if (!uttm_tt_is_backed_up(&m->tt) &&
		    uttm_tt_is_populated(&m->tt)) {
			assert_int_equal(uttm_tt_backup(&m->tt, &purge),
					 m->tt.num_pages);
			m->seed = 0;
		}
		break;
	default:
		uttm_tt_fini(&m->tt);
		m->live = false;
		break;
	}
}

static void random_sequences_with_faults_lose_nothing(void **state)
{
	struct backup_env *env = *state;
	const struct uttm_fault_rule backup_rule = { .ppm = 20000, .seed = 1,
						     .error = -ENOSPC };
	const struct uttm_fault_rule restore_rule = { .ppm = 10000, .seed = 2,
						      .error = -EINTR };
	const struct uttm_fault_rule io_rule = { .ppm = 5000, .seed = 3,
						 .error = -EIO };
	const struct uttm_fault_rule alloc_rule = { .ppm = 10000, .seed = 4 };
	struct model_tt models[4] = { 0 };
	uint64_t rng = 0x2545f4914f6cdd1dull, seeds = 1000;

	for (unsigned int seq = 0; seq < 10000; seq++) {
		struct model_tt *m = &models[seq % 4];

		/* Restore faults alternate between signals and I/O errors. */
		uttm_fault_arm(env->fx->fault, UTTM_FAULT_BACKUP, &backup_rule);
		uttm_fault_arm(env->fx->fault, UTTM_FAULT_RESTORE,
			       seq % 2 ? &restore_rule : &io_rule);
		uttm_fault_arm(env->fx->fault, UTTM_FAULT_PAGE_ALLOC,
			       &alloc_rule);
		for (unsigned int step = 0; step < 4; step++)
			model_step(env, m, &rng, &seeds);
		for (int p = 0; p < UTTM_FAULT_NR_POINTS; p++)
			uttm_fault_disarm(env->fx->fault, p);
		/* Without faults, every vector comes back whole. */
		if (m->live) {
			assert_int_equal(uttm_tt_populate(&m->tt, &test_ctx), 0);
			model_check(m);
		}
	}
	for (unsigned int i = 0; i < 4; i++)
		if (models[i].live)
			uttm_tt_fini(&models[i].tt);
	assert_int_equal(uttm_backup_handles(env->backup), 0);
}

/* Each case on the store the command line names. */
#define STORE_TEST(test)                                                   \
	cmocka_unit_test_prestate_setup_teardown(test, env_setup,          \
						 env_teardown, (void *)store)

int main(int argc, char **argv)
{
	const struct store_case *store = store_from_args(argc, argv);
	const struct CMUnitTest tests[] = {
		STORE_TEST(backup_then_restore_is_byte_identical),
		STORE_TEST(backup_fails_at_page_n_then_restores),
		STORE_TEST(backup_that_moves_no_page_keeps_the_mapping),
		STORE_TEST(restore_fails_at_page_n_then_resumes),
		STORE_TEST(restore_interrupted_at_page_n_then_resumes),
		STORE_TEST(restore_interrupted_many_times_in_a_row),
		STORE_TEST(cancel_flag_stops_restores_until_its_owner_clears_it),
		STORE_TEST(allocation_fails_during_restore_then_resumes),
		STORE_TEST(destroy_in_every_state_leaks_nothing),
		STORE_TEST(restore_state_never_outlives_its_restore),
		STORE_TEST(purge_frees_pages_to_the_system),
		STORE_TEST(refusals),
		STORE_TEST(full_store_refuses_and_partial_backup_restores),
		STORE_TEST(backup_leaves_device_state_and_mappings_first),
		STORE_TEST(device_refusing_restored_pages_stops_the_restore),
		STORE_TEST(counters_exact_across_cycles),
		STORE_TEST(clean_pages_back_up_without_the_store),
		STORE_TEST(written_pages_are_written_again),
		STORE_TEST(copies_go_with_the_content),
		STORE_TEST(a_clean_vector_backs_up_into_a_full_store),
		STORE_TEST(random_sequences_with_faults_lose_nothing),
	};

	return cmocka_run_group_tests_name(store->name, tests, NULL, NULL);
}
