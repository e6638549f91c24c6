/* SPDX-License-Identifier: MIT */
/*
 * Shared test helpers: a fixture with an arena and a pool, content
 * patterns that identify every page, readings of the memory the
 * operating system reports for this process, a mock device behind a
 * pool's hooks, and child processes for what a test must not do to
 * itself.
 */
#ifndef UTTM_TEST_HELPERS_H
#define UTTM_TEST_HELPERS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#include <cmocka.h>

#include <uttm/tt.h>

/* The library's own small macros: MIN, MAX, ARRAY_SIZE, DIV_ROUND_UP. */
#include "base/base.h"
#include "support/procfs.h"

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
/*
 * Index of the first page of @tt that is missing or does not hold its
 * pattern, or -1: the check for threads, where cmocka must not assert.
 */
long tt_first_mismatch(const struct uttm_tt *tt, uint64_t seed);
/* Asserts that every page of @tt holds its pattern. */
void assert_tt_matches(const struct uttm_tt *tt, uint64_t seed);

/* 77 pages: blocks of order 6, 3, 2 and 0 from a fresh pool. */
#define MIXED_PAGES 77
#define MIXED_BYTES (MIXED_PAGES * UTTM_PAGE_SIZE)

/* A backup that neither purges nor writes back. */
extern const struct uttm_backup_flags backup_flags;

/*
 * Makes @tt a populated vector of @bytes from @pool in @caching, backed
 * by @backup, and fills it with the pattern of @seed; with @page_flags
 * for the _flagged variant.
 */
void tt_new_backed(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t bytes,
		   enum uttm_caching caching, struct uttm_backup *backup,
		   uint64_t seed);
void tt_new_flagged(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t bytes,
		    enum uttm_caching caching, uint32_t page_flags,
		    struct uttm_backup *backup, uint64_t seed);

/* The tests' reproducible random numbers: xorshift64 on @state. */
uint64_t rng_next(uint64_t *state);

/* Entries of @tt that hold a backup handle. */
unsigned long count_handles(const struct uttm_tt *tt);
/* Pages of @tt whose copies the store keeps (UTTM_TT_FLAG_TRACK_DIRTY). */
unsigned long count_copies(const struct uttm_tt *tt);

uint64_t arena_pages_allocated(const struct uttm_arena *arena);
uint64_t arena_resident(const struct uttm_arena *arena);

/*
 * Switches a swap file of @bytes on under /tmp and writes its path to
 * @path (SWAP_PATH_SIZE bytes); skips the running test, saying why, when
 * that cannot be done.  swapfile_remove() switches it off; should the
 * test fail before, fixture_teardown() does.
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
/*
 * What such a store reports as its memory follows its pages: what it
 * backed up counts, what it wrote out (only with @swap) no longer does,
 * and nothing once restored.  Drops the reference to @backup.
 */
void assert_resident_follows_the_pages(struct fixture *fx,
				       struct uttm_backup *backup, bool swap);

/**
 * struct mock_device - a device behind a pool's hooks, for tests
 * @entered: pages moved to the device state.
 * @left: pages moved back.
 * @mapped: pages mapped for the device.
 * @unmapped: pages unmapped.
 * @enter_calls: calls of the enter hook, failed ones included.
 * @map_calls: calls of the map hook, failed ones included.
 * @enter_fails_at: the enter call, from 1, that fails with @error; 0 for
 * none.
 * @map_fails_at: the same for the map hook.
 * @error: what a failing call returns.
 *
 * Device addresses are the CPU addresses, as through an identity IOMMU.
 */
struct mock_device {
	unsigned long entered, left, mapped, unmapped;
	unsigned long enter_calls, map_calls;
	unsigned long enter_fails_at, map_fails_at;
	int error;
};

/*
 * Initialises @pool over @arena with @dev's hooks, @dev's counters at 0;
 * returns uttm_pool_init()'s value (no assertion: children use it too).
 */
int mock_pool_init(struct uttm_pool *pool, struct uttm_arena *arena,
		   struct mock_device *dev, unsigned long max_pages,
		   bool use_dma_map);

/*
 * Child processes, for what a test must not do to itself (drop a
 * privilege, lower a limit, enter a cgroup).  A child reports through
 * its exit status only, never through cmocka: 0 passes, CHILD_SKIP skips,
 * anything else fails; CHILD_CHECK() fails it, saying where.
 */
#define CHILD_SKIP 77
#define CHILD_CHECK(cond)                                               \
	do {                                                            \
		if (!(cond)) {                                          \
			fprintf(stderr, "%s:%d: %s\n", __FILE__,        \
				__LINE__, #cond);                       \
			_exit(1);                                       \
		}                                                       \
	} while (0)

/* Starts @fn(@arg) in a child process, which exits with what it returns. */
pid_t child_start(int (*fn)(void *arg), void *arg);
/* Waits for child @pid; returns its wait status. */
int child_wait(pid_t pid);
/*
 * Asserts that a child with wait @status passed; on CHILD_SKIP skips the
 * test with @skip_reason, or fails without one.
 */
void child_assert_passed(int status, const char *skip_reason);
/* Runs @fn(@arg) in a child and asserts that it passed. */
void run_in_child(int (*fn)(void *arg), void *arg, const char *skip_reason);

/*
 * Forbids the process more of @resource than it has now (the field @field
 * of /proc/self/status) and @extra bytes.
 */
int limit_resource(int resource, const char *field, uint64_t extra);

/* Forbids the process more private memory than it maps now and @extra. */
int limit_data(uint64_t extra);

extern const struct uttm_operation_ctx test_ctx;

#endif /* UTTM_TEST_HELPERS_H */
