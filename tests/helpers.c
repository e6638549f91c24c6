// SPDX-License-Identifier: MIT
/*
 * Shared test helpers; see helpers.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"
#include "swapfile.h"

const struct uttm_operation_ctx test_ctx;

struct fixture *fixture_create(uint64_t arena_bytes, unsigned long pool_pages,
			       unsigned int arena_flags)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct uttm_arena_params ap = { .max_bytes = arena_bytes,
					.flags = arena_flags };
	struct uttm_pool_params pp = { .max_pages = pool_pages };

	assert_non_null(fx);
	assert_int_equal(uttm_fault_create(&fx->fault), 0);
	ap.fault = fx->fault;
	assert_int_equal(uttm_arena_create(&ap, &fx->arena), 0);
	pp.arena = fx->arena;
	assert_int_equal(uttm_pool_init(&fx->pool, &pp), 0);
	return fx;
}

void fixture_destroy(struct fixture *fx)
{
	uttm_pool_fini(&fx->pool);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	assert_int_equal(arena_resident(fx->arena), 0);
	uttm_arena_destroy(fx->arena);
	uttm_fault_destroy(fx->fault);
	free(fx);
}

int fixture_setup(void **state)
{
	*state = fixture_create(64 * MiB, 4096, 0);
	return 0;
}

int fixture_teardown(void **state)
{
	fixture_destroy(*state);
	return 0;
}

void fixture_arm(struct fixture *fx, enum uttm_fault_point point,
		 unsigned long nth, unsigned long times, int error)
{
	struct uttm_fault_rule rule = { .nth = nth, .times = times,
					.error = error };

	assert_int_equal(uttm_fault_arm(fx->fault, point, &rule), 0);
}

static uint64_t pattern_word(uint64_t seed, unsigned long index, size_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull +
		     word;

	z ^= z >> 31;
	z *= 0x94d049bb133111ebull;
	return z ^ (z >> 29);
}

void fill_page(void *addr, uint64_t seed, unsigned long index)
{
	uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		w[i] = pattern_word(seed, index, i);
}

bool page_matches(const void *addr, uint64_t seed, unsigned long index)
{
	const uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		if (w[i] != pattern_word(seed, index, i))
			return false;
	return true;
}

bool page_is_zero(const void *addr)
{
	const uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

void fill_tt(struct uttm_tt *tt, uint64_t seed)
{
	for (unsigned long i = 0; i < tt->num_pages; i++)
		fill_page(uttm_tt_page_address(tt, i), seed, i);
}

void assert_tt_matches(const struct uttm_tt *tt, uint64_t seed)
{
	for (unsigned long i = 0; i < tt->num_pages; i++) {
		void *addr = uttm_tt_page_address(tt, i);

		assert_non_null(addr);
		if (!page_matches(addr, seed, i))
			fail_msg("page %lu of %lu differs", i, tt->num_pages);
	}
}

unsigned long count_handles(const struct uttm_tt *tt)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < tt->num_pages; i++)
		n += uttm_backup_page_ptr_is_handle(tt->pages[i]);
	return n;
}

uint64_t arena_pages_allocated(const struct uttm_arena *arena)
{
	struct uttm_arena_stats stats;

	uttm_arena_stats(arena, &stats);
	return stats.pages_allocated;
}

uint64_t arena_resident(const struct uttm_arena *arena)
{
	struct uttm_arena_stats stats;

	uttm_arena_stats(arena, &stats);
	return stats.resident_bytes;
}

void swap_on_or_skip(char *path, uint64_t bytes)
{
	int ret, fd;

	snprintf(path, SWAP_PATH_SIZE, "/tmp/uttm-test-swap-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	ret = swapfile_create(path, bytes);
	if (ret) {
		fprintf(stderr, "cannot enable a swap file at %s: %s\n", path,
			strerror(-ret));
		skip_because("a swap file needs root and a file system that holds swap");
	}
}

void assert_refused_without_swap(struct fixture *fx,
				 struct uttm_backup *backup)
{
	const struct uttm_backup_flags flags = { .purge = false };
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_tt tt;

	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, MiB, UTTM_PLAIN, 0), 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(uttm_tt_backup(&tt, &flags), -EBUSY);
	assert_true(uttm_tt_is_populated(&tt));
	/* Purging needs no room. */
	assert_int_equal(uttm_tt_backup(&tt, &purge), 256);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

void assert_writeback_reaches_swap(struct fixture *fx,
				   struct uttm_backup *backup,
				   enum uttm_caching caching)
{
	const struct uttm_backup_flags flags = { .writeback = true };
	uint64_t before, after;
	struct uttm_tt tt;

	assert_true(uttm_backup_bytes_avail(backup) >= 200 * MiB);
	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 32 * MiB, caching, 0), 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	fill_tt(&tt, 77);
	before = swap_free_bytes();
	assert_int_equal(uttm_tt_backup(&tt, &flags), tt.num_pages);
	after = swap_free_bytes();
	fprintf(stderr, "swap used by writeback: %llu MiB\n",
		(unsigned long long)((before - after) / MiB));
	assert_true(before - after >= 24 * MiB);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 77);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_backup_put(backup);
}
