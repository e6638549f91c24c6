/* SPDX-License-Identifier: MIT */
/*
 * The stores the backup suite runs against, one row per store; a test
 * program picks its row from its first argument.
 */
#ifndef UTTM_TEST_STORES_H
#define UTTM_TEST_STORES_H

#include <uttm/backup.h>

/**
 * struct store_case - a store under test
 * @name: row name, the test program's argument.
 * @create: makes a store of @capacity bytes using @fault, for vectors of
 * @arena; returns as the store's own create function.
 * @holds_arena_pages: the store keeps the arena pages it backs up, one
 * per handle, allocated in the arena until their handles are dropped.
 * @keeps_copies: the store keeps its copies of the pages the suite's
 * vectors that track writes restore (it holds them out of memory; a
 * tier's stay in its memory).
 * @unavailable: for a store that needs what a machine may lack (a
 * server): NULL when it is there, else why not; the tests then skip.
 */
struct store_case {
	const char *name;
	int (*create)(struct uttm_arena *arena, struct uttm_fault *fault,
		      uint64_t capacity, struct uttm_backup **out);
	bool holds_arena_pages;
	bool keeps_copies;
	const char *(*unavailable)(void);
};

/* Exit status of a test program that skips, as meson reads it. */
#define TEST_SKIP 77

/* The row called @name, or NULL. */
const struct store_case *store_by_name(const char *name);
/*
 * The row named by the first argument; exits with usage when none is,
 * and skips (TEST_SKIP, saying why) when the store cannot run here.
 */
const struct store_case *store_from_args(int argc, char **argv);
/* Makes @store's store as its @create does, asserting that it succeeds. */
struct uttm_backup *store_create(const struct store_case *store,
				 struct uttm_arena *arena,
				 struct uttm_fault *fault, uint64_t capacity);

#endif /* UTTM_TEST_STORES_H */
