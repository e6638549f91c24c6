/* SPDX-License-Identifier: MIT */
/*
 * Shared test helpers: a fixture with an arena and a pool, content
 * patterns that identify every page, and readings of the memory the
 * operating system reports for this process.
 */
#ifndef UTTM_TEST_HELPERS_H
#define UTTM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <uttm/tt.h>

/* The library's own small macros: MIN, MAX, ARRAY_SIZE, DIV_ROUND_UP. */
#include "internal.h"
#include "procfs.h"

#define MiB (1024ULL * 1024)

/* Skips the running test, saying why: a missing feature is not a pass. */
#define skip_because(reason)                                    \
	do {                                                    \
		print_message("[   SKIP   ] %s\n", (reason));     \
		skip();                                         \
	} while (0)

/**
 * struct fixture - an arena and a pool over it
 * @arena: the arena.
 * @pool: the pool.
 * @fault: fault injector handed to the arena.
 */
struct fixture {
	struct uttm_arena *arena;
	struct uttm_pool pool;
	struct uttm_fault *fault;
};

/* Creates the fixture; a pool limit of @pool_pages pages. */
struct fixture *fixture_create(uint64_t arena_bytes, unsigned long pool_pages,
			       unsigned int arena_flags);
/* Tears it down and asserts that no page was left allocated. */
void fixture_destroy(struct fixture *fx);

/* cmocka setup/teardown: a 64 MiB arena and a 16 MiB pool per test. */
int fixture_setup(void **state);
int fixture_teardown(void **state);
#define fixture_test(f) cmocka_unit_test_setup_teardown(f, fixture_setup, \
							fixture_teardown)

/* Arms @point of the fixture's injector: calls @nth.. fail with @error. */
void fixture_arm(struct fixture *fx, enum uttm_fault_point point,
		 unsigned long nth, unsigned long times, int error);

/* Fills page @index of @tt with a pattern derived from @seed and @index. */
void fill_page(void *addr, uint64_t seed, unsigned long index);
/* True if the page at @addr holds the pattern of fill_page(). */
bool page_matches(const void *addr, uint64_t seed, unsigned long index);
bool page_is_zero(const void *addr);

void fill_tt(struct uttm_tt *tt, uint64_t seed);
/* Asserts that every page of @tt holds its pattern. */
void assert_tt_matches(const struct uttm_tt *tt, uint64_t seed);

/* Entries of @tt that hold a backup handle. */
unsigned long count_handles(const struct uttm_tt *tt);

uint64_t arena_pages_allocated(const struct uttm_arena *arena);
uint64_t arena_resident(const struct uttm_arena *arena);

/*
 * Switches a swap file of @bytes on under /tmp and writes its path to
 * @path (SWAP_PATH_SIZE bytes); skips the running test, saying why, when
 * that cannot be done.  swapfile_remove() switches it off.
 */
#define SWAP_PATH_SIZE 64
void swap_on_or_skip(char *path, uint64_t bytes);

/*
 * What every store bounded by swap must do, on @fx's pool: refuse to back
 * up without swap (but purge), and with swap really move a vector in
 * @caching to swap on writeback and restore it byte for byte.  Each drops
 * the reference to @backup.
 */
void assert_refused_without_swap(struct fixture *fx,
				 struct uttm_backup *backup);
void assert_writeback_reaches_swap(struct fixture *fx,
				   struct uttm_backup *backup,
				   enum uttm_caching caching);

extern const struct uttm_operation_ctx test_ctx;

#endif /* UTTM_TEST_HELPERS_H */
