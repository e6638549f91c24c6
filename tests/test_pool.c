// SPDX-License-Identifier: MIT
/*
 * The pool layer, with the cases of the kernel's ttm_pool KUnit tests
 * (order and caching match and mismatch, fini empties the pool) plus the
 * pool limit, the shrinker, driver hooks and order fallback.
 */
#include <errno.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers.h"
#include "support/fragment.h"

/* The fixture's pool, made again with @dev's hooks. */
static void mock_fixture_pool(struct fixture *fx, struct mock_device *dev,
			      bool map)
{
	uttm_pool_fini(&fx->pool);
	assert_int_equal(mock_pool_init(&fx->pool, fx->arena, dev, 4096, map),
			 0);
}

static struct uttm_page **pages_new(unsigned long n)
{
	struct uttm_page **pages = calloc(n, sizeof(*pages));

	assert_non_null(pages);
	return pages;
}

static void alloc_each_order_and_caching(void **state)
{
	struct fixture *fx = *state;
	struct mock_device dev;

	mock_fixture_pool(fx, &dev, false);
	for (unsigned int c = 0; c < UTTM_NUM_CACHING; c++) {
		for (unsigned int order = 0; order <= UTTM_MAX_ORDER; order++) {
			unsigned long n = 1UL << order;
			struct uttm_page **pages = pages_new(n);

			uttm_pool_trim(&fx->pool, 0);
			assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL,
							 n, c), 0);
			/* An empty pool and plenty of memory: one block. */
			assert_int_equal(uttm_page_order(pages[0]), order);
			for (unsigned long i = 1; i < n; i++)
				assert_ptr_equal(pages[i], pages[0] + i);
			uttm_pool_free(&fx->pool, pages, NULL, n, c);
			assert_int_equal(uttm_pool_type_pages(&fx->pool, c,
							      order), n);
			free(pages);
		}
	}
	assert_int_equal(dev.entered, 2047);
	uttm_pool_fini(&fx->pool);
	assert_int_equal(dev.left, 2047);
}

static void freed_page_comes_back_from_the_pool(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *first, *again;
	uint64_t allocated;

	assert_int_equal(uttm_pool_alloc(&fx->pool, &first, NULL, 1,
					 UTTM_PLAIN), 0);
	fill_page(uttm_pool_page_address(&fx->pool, first), 1, 0);
	uttm_pool_free(&fx->pool, &first, NULL, 1, UTTM_PLAIN);
	allocated = arena_pages_allocated(fx->arena);
	assert_int_equal(uttm_pool_alloc(&fx->pool, &again, NULL, 1,
					 UTTM_PLAIN), 0);
	assert_ptr_equal(again, first);
	assert_int_equal(arena_pages_allocated(fx->arena), allocated);
	/* Pooled pages are cleared before they are handed out again. */
	assert_true(page_is_zero(uttm_pool_page_address(&fx->pool, again)));
	uttm_pool_free(&fx->pool, &again, NULL, 1, UTTM_PLAIN);
}

/* Puts one block of (@caching, @order) in the pool. */
static void prefill(struct fixture *fx, enum uttm_caching caching,
		    unsigned int order)
{
	unsigned long n = 1UL << order;
	struct uttm_page **pages = pages_new(n);

	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, n, caching), 0);
	uttm_pool_free(&fx->pool, pages, NULL, n, caching);
	free(pages);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, caching, order), n);
}

static void order_caching_match_empties_the_pool_type(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[4];

	uttm_pool_trim(&fx->pool, 0);
	prefill(fx, UTTM_LOCKED, 2);
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 4,
					 UTTM_LOCKED), 0);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_LOCKED, 2), 0);
	uttm_pool_free(&fx->pool, pages, NULL, 4, UTTM_LOCKED);
}

static void caching_mismatch_leaves_both_types_filled(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[4];

	uttm_pool_trim(&fx->pool, 0);
	prefill(fx, UTTM_PLAIN, 2);
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 4,
					 UTTM_LOCKED), 0);
	uttm_pool_free(&fx->pool, pages, NULL, 4, UTTM_LOCKED);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_PLAIN, 2), 4);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_LOCKED, 2), 4);
}

static void order_mismatch_leaves_both_types_filled(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[8];

	uttm_pool_trim(&fx->pool, 0);
	prefill(fx, UTTM_PLAIN, 2);
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 8,
					 UTTM_PLAIN), 0);
	uttm_pool_free(&fx->pool, pages, NULL, 8, UTTM_PLAIN);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_PLAIN, 2), 4);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_PLAIN, 3), 8);
}

static void fini_empties_the_pool(void **state)
{
	struct fixture *fx = fixture_create(16 * MiB, 4096, 0);

	prefill(fx, UTTM_PLAIN, 5);
	prefill(fx, UTTM_LOCKED, 0);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), 33);
	uttm_pool_fini(&fx->pool);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	/* A second fini is harmless; the fixture does a third. */
	uttm_pool_fini(&fx->pool);
	fixture_destroy(fx);
}

static void order_falls_back_when_large_blocks_are_gone(void **state)
{
	struct fixture *fx = fixture_create(4 * MiB, 0, 0);
	struct uttm_page **vec = pages_new(1024);
	struct spacers sp;

	assert_int_equal(fragment_arena(fx->arena, &sp), 0);
	assert_int_equal(sp.count, 512);
	assert_int_equal(uttm_pool_alloc(&fx->pool, vec, NULL, 256,
					 UTTM_PLAIN), 0);
	for (unsigned int i = 0; i < 256; i++)
		assert_int_equal(uttm_page_order(vec[i]), 0);
	uttm_pool_free(&fx->pool, vec, NULL, 256, UTTM_PLAIN);
	/* More than the arena has: nothing is kept. */
	assert_int_equal(uttm_pool_alloc(&fx->pool, vec, NULL, 256 + 512,
					 UTTM_PLAIN), -ENOMEM);
	assert_int_equal(arena_pages_allocated(fx->arena), 512);
	unfragment_arena(fx->arena, &sp);
	free(vec);
	fixture_destroy(fx);
}

static void pool_limit_sends_the_rest_to_the_system(void **state)
{
	struct fixture *fx = fixture_create(16 * MiB, 16, 0);
	struct uttm_page *pages[64];

	/* 64 blocks of one page each: the first 16 fit in the pool. */
	for (unsigned int i = 0; i < 64; i++)
		assert_int_equal(uttm_pool_alloc(&fx->pool, &pages[i], NULL, 1,
						 UTTM_PLAIN), 0);
	uttm_pool_free(&fx->pool, pages, NULL, 64, UTTM_PLAIN);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), 16);
	assert_int_equal(arena_pages_allocated(fx->arena), 16);
	fixture_destroy(fx);
}

static void full_arena_takes_pooled_pages_of_another_state(void **state)
{
	struct fixture *fx = fixture_create(4 * MiB, 1024, 0);
	struct uttm_page **pages = pages_new(1024);

	prefill(fx, UTTM_LOCKED, UTTM_MAX_ORDER);
	/* The arena is all in the pool: the pool gives way. */
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 1024,
					 UTTM_PLAIN), 0);
	assert_int_equal(uttm_page_order(pages[0]), UTTM_MAX_ORDER);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_LOCKED,
					      UTTM_MAX_ORDER), 0);
	assert_int_equal(arena_pages_allocated(fx->arena), 1024);
	uttm_pool_free(&fx->pool, pages, NULL, 1024, UTTM_PLAIN);
	free(pages);
	fixture_destroy(fx);
}

/*
 * Files of the child may not pass 4 MiB, so its 64 MiB arena cannot grow
 * past one 4 MiB block: that is a shortage like any other, so the pool
 * gives its pages back and tries again, and what cannot be had at all is
 * -ENOMEM with nothing held.
 */
static int pool_under_file_size_limit(void *unused)
{
	struct rlimit lim = { 4 * MiB, 4 * MiB };
	struct uttm_arena_params ap = { .max_bytes = 64 * MiB };
	struct uttm_pool_params pp = { .max_pages = 1024 };
	struct uttm_page *pages[1024], *page;
	struct uttm_arena *arena;
	struct uttm_pool pool;

	CHILD_CHECK(!setrlimit(RLIMIT_FSIZE, &lim));
	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	pp.arena = arena;
	CHILD_CHECK(!uttm_pool_init(&pool, &pp));
	CHILD_CHECK(!uttm_pool_alloc(&pool, pages, NULL, 512, UTTM_PLAIN));
	uttm_pool_free(&pool, pages, NULL, 512, UTTM_PLAIN);
	/* A block of 1024 pages needs the pooled half back. */
	CHILD_CHECK(!uttm_pool_alloc(&pool, pages, NULL, 1024, UTTM_PLAIN));
	CHILD_CHECK(uttm_page_order(pages[0]) == UTTM_MAX_ORDER);
	CHILD_CHECK(!uttm_pool_shrink_count(&pool));
	CHILD_CHECK(uttm_pool_alloc(&pool, &page, NULL, 1, UTTM_PLAIN) ==
		    -ENOMEM);
	CHILD_CHECK(arena_pages_allocated(arena) == 1024);
	uttm_pool_free(&pool, pages, NULL, 1024, UTTM_PLAIN);
	uttm_pool_fini(&pool);
	uttm_arena_destroy(arena);
	return 0;
}

static void arena_that_cannot_grow_makes_the_pool_give_way(void **state)
{
	run_in_child(pool_under_file_size_limit, NULL, NULL);
}

static void injected_allocation_error_is_passed_up_as_it_is(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[24];

	uttm_pool_trim(&fx->pool, 0);
	fixture_arm(fx, UTTM_FAULT_PAGE_ALLOC, 2, 1, -EIO);
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 24,
					 UTTM_PLAIN), -EIO);
	/* Not taken for a shortage: no smaller block was tried. */
	assert_int_equal(uttm_fault_calls(fx->fault, UTTM_FAULT_PAGE_ALLOC), 2);
	/* The first block went to the pool; the caller holds nothing. */
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), 16);
	assert_int_equal(arena_pages_allocated(fx->arena), 16);
}

static void shrinker_and_trim_lower_resident_memory(void **state)
{
	struct fixture *fx = fixture_create(128 * MiB, 1UL << 20, 0);
	unsigned long n = 64 * MiB / UTTM_PAGE_SIZE, freed;
	struct uttm_page **pages = pages_new(n);
	uint64_t rss_pooled, resident_pooled;

	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, n,
					 UTTM_PLAIN), 0);
	uttm_pool_free(&fx->pool, pages, NULL, n, UTTM_PLAIN);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), n);
	rss_pooled = status_bytes("RssShmem");
	resident_pooled = arena_resident(fx->arena);
	assert_true(resident_pooled >= 64 * MiB);

	freed = uttm_pool_shrink_scan(&fx->pool, n / 2);
	assert_true(freed >= n / 2);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), n - freed);
	assert_true(arena_resident(fx->arena) <=
		    resident_pooled - freed * UTTM_PAGE_SIZE);
	assert_true(status_bytes("RssShmem") <= rss_pooled - 16 * MiB);

	assert_int_equal(uttm_pool_trim(&fx->pool, 0), n - freed);
	assert_int_equal(uttm_pool_shrink_count(&fx->pool), 0);
	assert_int_equal(arena_resident(fx->arena), 0);
	assert_int_equal(uttm_pool_shrink_scan(&fx->pool, 1), 0);
	free(pages);
	fixture_destroy(fx);
}

static void locked_pages_are_locked_until_released(void **state)
{
	struct fixture *fx = *state;
	unsigned long n = 4 * MiB / UTTM_PAGE_SIZE;
	struct uttm_page **pages = pages_new(n);
	uint64_t before;

	uttm_pool_trim(&fx->pool, 0);
	before = status_bytes("VmLck");
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, n,
					 UTTM_LOCKED), 0);
	assert_int_equal(status_bytes("VmLck") - before, 4 * MiB);
	uttm_pool_free(&fx->pool, pages, NULL, n, UTTM_LOCKED);
	/* Pooled locked pages stay locked: that is what the pool saves. */
	assert_int_equal(status_bytes("VmLck") - before, 4 * MiB);
	uttm_pool_trim(&fx->pool, 0);
	assert_int_equal(status_bytes("VmLck"), before);
	free(pages);
}

/*
 * Runs in a child without CAP_IPC_LOCK and with a 64 KiB lock limit; it
 * reports through its exit status, never through cmocka.
 */
static int locked_alloc_without_privilege(void *unused)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct rlimit lim = { 64 * 1024, 64 * 1024 };
	struct uttm_arena_params ap = { .max_bytes = 16 * MiB };
	struct uttm_pool_params pp = { .max_pages = 0 };
	struct uttm_page *pages[256];
	struct uttm_arena *arena;
	struct uttm_pool pool;
	int ret;

	if (syscall(SYS_capget, &hdr, data))
		return CHILD_SKIP;
	data[0].effective &= ~(1u << CAP_IPC_LOCK);
	if (syscall(SYS_capset, &hdr, data) || setrlimit(RLIMIT_MEMLOCK, &lim))
		return CHILD_SKIP;
	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	pp.arena = arena;
	CHILD_CHECK(!uttm_pool_init(&pool, &pp));
	ret = uttm_pool_alloc(&pool, pages, NULL, 256, UTTM_LOCKED);
	uttm_pool_fini(&pool);
	CHILD_CHECK(!arena_pages_allocated(arena));
	uttm_arena_destroy(arena);
	CHILD_CHECK(ret == -ENOMEM || ret == -EPERM);
	return 0;
}

static void locked_alloc_beyond_memlock_limit_fails_cleanly(void **state)
{
	run_in_child(locked_alloc_without_privilege, NULL,
		     "CAP_IPC_LOCK cannot be dropped or RLIMIT_MEMLOCK set here");
}

static void dma_hook_records_per_page_addresses(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[24];
	uint64_t dma[24];
	struct mock_device dev;

	mock_fixture_pool(fx, &dev, true);
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, dma, 24,
					 UTTM_PLAIN), 0);
	assert_int_equal(dev.mapped, 24);
	for (unsigned int i = 0, nr; i < 24; i += nr) {
		nr = 1u << uttm_page_order(pages[i]);
		for (unsigned int j = 1; j < nr; j++)
			assert_int_equal(dma[i + j],
					 dma[i] + j * UTTM_PAGE_SIZE);
	}
	uttm_pool_free(&fx->pool, pages, dma, 24, UTTM_PLAIN);
	assert_int_equal(dev.unmapped, 24);
	/* A vector with a device mapping needs somewhere to record it. */
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 24,
					 UTTM_PLAIN), -EINVAL);
	uttm_pool_fini(&fx->pool);
}

/*
 * Allocates 24 plain pages with the @nth map call failing: the @mapped
 * pages mapped before it are unmapped again.
 */
static void map_fails_at(struct fixture *fx, struct mock_device *dev,
			 unsigned long nth, unsigned long mapped)
{
	struct uttm_page *pages[24];
	uint64_t dma[24];

	dev->error = -EIO;
	dev->map_fails_at = nth;
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, dma, 24,
					 UTTM_PLAIN), -EIO);
	assert_int_equal(dev->mapped, mapped);
	assert_int_equal(dev->unmapped, mapped);
	dev->map_fails_at = 0;
}

static void hook_failure_leaves_nothing_allocated(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[24];
	struct mock_device dev;
	struct spacers sp;
	uint64_t dma[24];

	mock_fixture_pool(fx, &dev, true);
	/* Every page a block and a run of its own. */
	assert_int_equal(fragment_arena(fx->arena, &sp), 0);
	map_fails_at(fx, &dev, 5, 4);

	dev.error = -EFAULT;
	dev.enter_fails_at = 5;
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, dma, 24,
					 UTTM_DEVICE), -EFAULT);
	/* The four runs entered before the failure left again. */
	assert_int_equal(dev.entered, 4);
	assert_int_equal(dev.left, 4);
	assert_int_equal(dev.mapped, dev.unmapped);
	assert_int_equal(arena_pages_allocated(fx->arena),
			 sp.count + uttm_pool_shrink_count(&fx->pool));
	uttm_pool_fini(&fx->pool);
	unfragment_arena(fx->arena, &sp);
}

static void pooled_block_whose_catch_up_fails_goes_back_to_the_pool(void **state)
{
	struct fixture *fx = *state;
	struct uttm_page *pages[12];
	struct mock_device dev;

	mock_fixture_pool(fx, &dev, false);
	prefill(fx, UTTM_DEVICE, 2);
	/* A fresh block of 8, then the pooled 4, whose catch-up fails. */
	dev.error = -EIO;
	dev.enter_fails_at = dev.enter_calls + 1;
	assert_int_equal(uttm_pool_alloc(&fx->pool, pages, NULL, 12,
					 UTTM_DEVICE), -EIO);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_DEVICE, 2), 4);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_PLAIN, 3), 8);
	assert_int_equal(dev.entered - dev.left, 4);
	assert_int_equal(arena_pages_allocated(fx->arena), 12);
	uttm_pool_fini(&fx->pool);
	assert_int_equal(dev.entered, dev.left);
}

static void fresh_block_without_room_in_the_pool_goes_to_the_system(void **state)
{
	struct fixture *fx = *state;
	struct mock_device dev;

	uttm_pool_fini(&fx->pool);
	assert_int_equal(mock_pool_init(&fx->pool, fx->arena, &dev, 0, true),
			 0);
	/* Blocks of 16 and 8: the second cannot be mapped. */
	map_fails_at(fx, &dev, 2, 16);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	uttm_pool_fini(&fx->pool);
}

static void dump_lists_types_and_total(void **state)
{
	struct fixture *fx = *state;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	uttm_pool_trim(&fx->pool, 0);
	prefill(fx, UTTM_LOCKED, 3);
	assert_int_equal(uttm_pool_dump(&fx->pool, out), 0);
	fclose(out);
	assert_non_null(strstr(text, "---10---"));
	assert_non_null(strstr(text, "plain  :"));
	assert_non_null(strstr(text, "locked :        0        0        0        8"));
	assert_non_null(strstr(text, "total  :        8 of     4096"));
	free(text);
	assert_int_equal(uttm_pool_dump(NULL, stdout), -EINVAL);
}

static void bad_input_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct uttm_pool_params pp = { .arena = fx->arena, .use_dma_map = true };
	struct uttm_pool pool;
	struct uttm_page *page;

	assert_int_equal(uttm_pool_init(NULL, &pp), -EINVAL);
	assert_int_equal(uttm_pool_init(&pool, NULL), -EINVAL);
	assert_int_equal(uttm_pool_init(&pool, &pp), -EINVAL);
	pp.use_dma_map = false;
	pp.arena = NULL;
	assert_int_equal(uttm_pool_init(&pool, &pp), -EINVAL);

	uttm_pool_fini(&fx->pool);
	pp.arena = fx->arena;
	assert_int_equal(uttm_pool_init(&fx->pool, &pp), 0);
	assert_int_equal(uttm_pool_alloc(&fx->pool, &page, NULL, 0, UTTM_PLAIN),
			 -EINVAL);
	assert_int_equal(uttm_pool_alloc(&fx->pool, &page, NULL, 1,
					 UTTM_DEVICE), -EINVAL);
	assert_int_equal(uttm_pool_alloc(&fx->pool, &page, NULL, 1,
					 UTTM_NUM_CACHING), -EINVAL);
	assert_int_equal(uttm_pool_type_pages(&fx->pool, UTTM_PLAIN, 11), 0);
	assert_string_equal(uttm_caching_name(UTTM_LOCKED), "locked");
	assert_string_equal(uttm_caching_name(UTTM_NUM_CACHING), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fixture_test(alloc_each_order_and_caching),
		fixture_test(freed_page_comes_back_from_the_pool),
		fixture_test(order_caching_match_empties_the_pool_type),
		fixture_test(caching_mismatch_leaves_both_types_filled),
		fixture_test(order_mismatch_leaves_both_types_filled),
		cmocka_unit_test(fini_empties_the_pool),
		cmocka_unit_test(order_falls_back_when_large_blocks_are_gone),
		cmocka_unit_test(pool_limit_sends_the_rest_to_the_system),
		cmocka_unit_test(full_arena_takes_pooled_pages_of_another_state),
		cmocka_unit_test(arena_that_cannot_grow_makes_the_pool_give_way),
		fixture_test(injected_allocation_error_is_passed_up_as_it_is),
		cmocka_unit_test(shrinker_and_trim_lower_resident_memory),
		fixture_test(locked_pages_are_locked_until_released),
		fixture_test(locked_alloc_beyond_memlock_limit_fails_cleanly),
		fixture_test(dma_hook_records_per_page_addresses),
		fixture_test(hook_failure_leaves_nothing_allocated),
		fixture_test(pooled_block_whose_catch_up_fails_goes_back_to_the_pool),
		fixture_test(fresh_block_without_room_in_the_pool_goes_to_the_system),
		fixture_test(dump_lists_types_and_total),
		fixture_test(bad_input_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
