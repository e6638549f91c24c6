/* SPDX-License-Identifier: MIT */
/*
 * Fragmented arenas, for the tests and benchmarks that need vectors of
 * order-0 pages: what populating a vector gives when memory is
 * fragmented, every page a block of its own, none next to another.
 */
#ifndef UTTM_FRAGMENT_H
#define UTTM_FRAGMENT_H

#include <stdbool.h>

#include <uttm/tt.h>

/**
 * struct spacers - pages that keep an arena fragmented
 * @pages: every other page of the arena, taken.
 * @count: how many.
 */
struct spacers {
	struct uttm_page **pages;
	unsigned long count;
};

/*
 * Takes every free page of @arena as a block of its own, then gives back
 * those at even page frames: each has its buddy taken, so none can merge
 * and the next allocations from the arena get order-0 pages.  A pool
 * serves its own blocks first: empty it before populating.  Returns 0 or
 * -ENOMEM.
 */
int fragment_arena(struct uttm_arena *arena, struct spacers *sp);

/* Gives the spacers back. */
void unfragment_arena(struct uttm_arena *arena, struct spacers *sp);

/*
 * Whether no two neighbouring pages of a populated @tt are neighbours in
 * memory.
 */
bool tt_scattered(const struct uttm_tt *tt);

#endif /* UTTM_FRAGMENT_H */
