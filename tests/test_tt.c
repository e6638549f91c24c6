// SPDX-License-Identifier: MIT
/*
 * The tt layer, with the cases of the kernel's ttm_tt KUnit tests (init
 * rounds sizes up, populate of a populated vector changes nothing,
 * unpopulate of an empty one is harmless) plus CPU access, vmap and bad
 * input.
 */
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "helpers.h"
#include "support/fragment.h"

static void init_rounds_misaligned_size_up(void **state)
{
	struct fixture *fx = *state;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, UTTM_PAGE_SIZE + 1,
				      UTTM_PLAIN, 0), 0);
	assert_int_equal(tt.num_pages, 2);
	assert_false(uttm_tt_is_populated(&tt));
	assert_null(uttm_tt_page_address(&tt, 0));
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 1, UTTM_PLAIN, 0), 0);
	assert_int_equal(tt.num_pages, 1);
	uttm_tt_fini(&tt);
}

static void populate_fills_every_entry_with_zeroed_pages(void **state)
{
	struct fixture *fx = *state;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 3 * MiB + 12345,
				      UTTM_LOCKED, UTTM_TT_FLAG_ZERO_ALLOC), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_true(uttm_tt_is_populated(&tt));
	for (unsigned long i = 0; i < tt.num_pages; i++) {
		assert_non_null(tt.pages[i]);
		assert_true(page_is_zero(uttm_tt_page_address(&tt, i)));
	}
	fill_tt(&tt, 7);
	assert_tt_matches(&tt, 7);
	uttm_tt_fini(&tt);
}

static void populate_of_populated_vector_changes_nothing(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *first;
	struct uttm_tt tt;
	uint64_t allocated;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 64 * UTTM_PAGE_SIZE,
				      UTTM_PLAIN, 0), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	fill_tt(&tt, 3);
	first = tt.pages[0];
	allocated = arena_pages_allocated(fx->arena);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_ptr_equal(tt.pages[0], first);
	assert_int_equal(arena_pages_allocated(fx->arena), allocated);
	assert_tt_matches(&tt, 3);
	uttm_tt_fini(&tt);
}

static void unpopulate_returns_pages_to_the_pool(void **state)
{
	struct fixture *fx = *state;
	unsigned long pooled;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 1 * MiB, UTTM_PLAIN, 0),
			 0);
	/* Unpopulating an empty vector is harmless. */
	uttm_tt_unpopulate(&tt);
	uttm_pool_trim(&fx->pool, 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	pooled = uttm_pool_shrink_count(&fx->pool);
	uttm_tt_unpopulate(&tt);
	assert_false(uttm_tt_is_populated(&tt));
	assert_null(tt.pages[0]);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool) - pooled, 256);
	uttm_tt_unpopulate(&tt);
	uttm_tt_fini(&tt);
}

/* Maps a vector of one run of pages, then of runs of one page each. */
static void vmap_shows_the_same_bytes_as_each_page(void **state)
{
	struct fixture *fx = *state;
	struct spacers sp;
	struct uttm_tt tt;
	char *map, *again;

	for (int scattered = 0; scattered <= 1; scattered++) {
		uttm_pool_trim(&fx->pool, 0);
		if (scattered)
			assert_int_equal(fragment_arena(fx->arena, &sp), 0);
		assert_int_equal(uttm_tt_init(&tt, &fx->pool,
					      5 * MiB + UTTM_PAGE_SIZE,
					      UTTM_PLAIN, 0), 0);
		assert_int_equal(uttm_tt_vmap(&tt, (void **)&map), -EINVAL);
		assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
		assert_int_equal(tt_scattered(&tt), scattered);
		fill_tt(&tt, 11);
		assert_int_equal(uttm_tt_vmap(&tt, (void **)&map), 0);
		for (unsigned long i = 0; i < tt.num_pages; i++)
			assert_true(page_matches(map + i * UTTM_PAGE_SIZE, 11,
						 i));
		/* Writes through the mapping land in the pages themselves. */
		memset(map + 7 * UTTM_PAGE_SIZE, 0x5a, 16);
		assert_int_equal(*(unsigned char *)uttm_tt_page_address(&tt, 7),
				 0x5a);
		assert_int_equal(uttm_tt_vmap(&tt, (void **)&again), 0);
		assert_ptr_equal(again, map);
		/* Contiguous pages are mapped once: in the arena. */
		if (!scattered)
			assert_ptr_equal(map, uttm_tt_page_address(&tt, 0));
		uttm_tt_vunmap(&tt);
		uttm_tt_vunmap(&tt);
		uttm_tt_fini(&tt);
		if (scattered)
			unfragment_arena(fx->arena, &sp);
	}
}

/*
 * Under a data limit the page arrays of a large vector cannot be had:
 * -ENOMEM, and nothing is kept, or the last vector would not fit.
 */
static int vectors_beyond_data_limit(void *unused)
{
	struct uttm_arena_params ap = { .max_bytes = 32ULL << 30 };
	struct uttm_pool_params pp = { .max_pages = 0 };
	struct uttm_pool plain, mapped;
	struct mock_device dev;
	struct uttm_arena *arena;
	struct uttm_tt tt;

	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	pp.arena = arena;
	CHILD_CHECK(!uttm_pool_init(&plain, &pp));
	CHILD_CHECK(!mock_pool_init(&mapped, arena, &dev, 0, true));
	if (limit_data(48 * MiB))
		return CHILD_SKIP;
	/* 64 MiB of page pointers. */
	CHILD_CHECK(uttm_tt_init(&tt, &plain, 32ULL << 30, UTTM_PLAIN, 0) ==
		    -ENOMEM);
	/* 32 MiB of them, and 32 MiB of device addresses. */
	CHILD_CHECK(uttm_tt_init(&tt, &mapped, 16ULL << 30, UTTM_PLAIN, 0) ==
		    -ENOMEM);
	/* 32 MiB of them, and 32 MiB of kept copies' handles. */
	CHILD_CHECK(uttm_tt_init(&tt, &plain, 16ULL << 30, UTTM_PLAIN,
				 UTTM_TT_FLAG_TRACK_DIRTY) == -ENOMEM);
	CHILD_CHECK(!uttm_tt_init(&tt, &plain, 16ULL << 30, UTTM_PLAIN, 0));
	uttm_tt_fini(&tt);
	return 0;
}

static void page_array_allocation_failure_is_enomem(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip_because("a sanitizer's allocator aborts instead of failing");
#endif
	run_in_child(vectors_beyond_data_limit, NULL,
		     "the data limit cannot be set here");
}

/*
 * With no address space left for a second mapping, vmap is -ENOMEM and
 * leaves nothing behind: with the limit lifted it maps.
 */
static int vmap_beyond_address_space_limit(void *unused)
{
	struct uttm_arena_params ap = { .max_bytes = 16 * MiB };
	struct uttm_pool_params pp = { .max_pages = 0 };
	struct uttm_arena *arena;
	struct rlimit old, lim;
	struct uttm_pool pool;
	struct spacers sp;
	struct uttm_tt tt;
	void *map;

	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	pp.arena = arena;
	CHILD_CHECK(!uttm_pool_init(&pool, &pp));
	/* Scattered pages: contiguous ones need no mapping of their own. */
	CHILD_CHECK(!fragment_arena(arena, &sp));
	CHILD_CHECK(!uttm_tt_init(&tt, &pool, 4 * MiB, UTTM_PLAIN, 0));
	CHILD_CHECK(!uttm_tt_populate(&tt, &test_ctx));
	CHILD_CHECK(!getrlimit(RLIMIT_AS, &old));
	lim = old;
	lim.rlim_cur = status_bytes("VmSize") + MiB;
	if (setrlimit(RLIMIT_AS, &lim))
		return CHILD_SKIP;
	CHILD_CHECK(uttm_tt_vmap(&tt, &map) == -ENOMEM);
	CHILD_CHECK(!setrlimit(RLIMIT_AS, &old));
	CHILD_CHECK(!uttm_tt_vmap(&tt, &map));
	uttm_tt_fini(&tt);
	unfragment_arena(arena, &sp);
	uttm_pool_fini(&pool);
	uttm_arena_destroy(arena);
	return 0;
}

static void vmap_without_address_space_is_enomem(void **state)
{
	run_in_child(vmap_beyond_address_space_limit, NULL,
		     "the address space limit cannot be set here");
}

static void purgeable_flag_is_set_and_cleared(void **state)
{
	struct fixture *fx = *state;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, UTTM_PAGE_SIZE,
				      UTTM_PLAIN, UTTM_TT_FLAG_DONTNEED), 0);
	assert_true(uttm_tt_purgeable(&tt));
	uttm_tt_set_purgeable(&tt, false);
	assert_false(uttm_tt_purgeable(&tt));
	uttm_tt_set_purgeable(&tt, true);
	assert_true(uttm_tt_purgeable(&tt));
	assert_false(uttm_tt_is_swapped(&tt));
	uttm_tt_fini(&tt);
}

static void bad_input_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 0, UTTM_PLAIN, 0),
			 -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 1ULL << 40, UTTM_PLAIN,
				      0), -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, UTTM_PLAIN,
				      UTTM_TT_FLAG_PRIV_POPULATED), -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, UTTM_PLAIN,
				      UTTM_TT_FLAG_SWAPPED), -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, UTTM_DEVICE, 0),
			 -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, 42, 0), -EINVAL);
	assert_int_equal(uttm_tt_init(NULL, &fx->pool, 4096, UTTM_PLAIN, 0),
			 -EINVAL);
	assert_int_equal(uttm_tt_init(&tt, NULL, 4096, UTTM_PLAIN, 0), -EINVAL);

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, UTTM_PLAIN,
				      UTTM_TT_FLAG_TRACK_DIRTY), 0);
	assert_int_equal(uttm_tt_mark_dirty(NULL, 0, 1), -EINVAL);
	assert_int_equal(uttm_tt_mark_dirty(&tt, 0, 2), -EINVAL);
	assert_int_equal(uttm_tt_mark_dirty(&tt, 0, 1), 0);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 4096, UTTM_PLAIN, 0), 0);
	/* Without tracking, a write needs no report. */
	assert_int_equal(uttm_tt_mark_dirty(&tt, 0, 1), 0);
	assert_int_equal(uttm_tt_populate(&tt, NULL), -EINVAL);
	assert_int_equal(uttm_tt_populate(NULL, &test_ctx), -EINVAL);
	assert_null(uttm_tt_page_address(&tt, 1));
	uttm_tt_fini(&tt);
	/* fini twice, and fini of NULL, do nothing. */
	uttm_tt_fini(&tt);
	uttm_tt_fini(NULL);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EINVAL);
}

static void counters_return_to_zero(void **state)
{
	struct fixture *fx = fixture_create(32 * MiB, 1024, 0);
	struct uttm_tt tts[8];

	for (unsigned int i = 0; i < 8; i++) {
		assert_int_equal(uttm_tt_init(&tts[i], &fx->pool,
					      (i + 1) * 300 * 1024,
					      i % 2 ? UTTM_LOCKED : UTTM_PLAIN,
					      0), 0);
		assert_int_equal(uttm_tt_populate(&tts[i], &test_ctx), 0);
	}
	assert_true(arena_pages_allocated(fx->arena) > 0);
	for (unsigned int i = 0; i < 8; i++)
		uttm_tt_fini(&tts[i]);
	assert_true(uttm_pool_shrink_count(&fx->pool) <= 1024);
	assert_int_equal(arena_pages_allocated(fx->arena),
			 uttm_pool_shrink_count(&fx->pool));
	fixture_destroy(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fixture_test(init_rounds_misaligned_size_up),
		fixture_test(populate_fills_every_entry_with_zeroed_pages),
		fixture_test(populate_of_populated_vector_changes_nothing),
		fixture_test(unpopulate_returns_pages_to_the_pool),
		fixture_test(vmap_shows_the_same_bytes_as_each_page),
		cmocka_unit_test(page_array_allocation_failure_is_enomem),
		cmocka_unit_test(vmap_without_address_space_is_enomem),
		fixture_test(purgeable_flag_is_set_and_cleared),
		fixture_test(bad_input_is_refused),
		cmocka_unit_test(counters_return_to_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
