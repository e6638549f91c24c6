/* SPDX-License-Identifier: MIT */
/*
 * The object-layer test fixture: a mock driver whose objects can be busy,
 * fail their wait or refuse their vector, and a world of one context, a
 * normal and a DMA32 arena, a shmem store and one device.
 */
#ifndef UTTM_TESTS_WORLD_H
#define UTTM_TESTS_WORLD_H

#include <semaphore.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "helpers.h"

/* What the mock driver knows of each object. */
struct mock_bo {
	bool busy;
	int wait_error;		/* what waiting for it returns, if not 0 */
	int shrink_error;	/* what a test driver's bo_shrink returns */
	bool refuse_tt;		/* its vector cannot be made */
	/* The next busy check, posted on @in_busy, takes 100 ms. */
	bool slow_busy_check;
	sem_t in_busy;
	unsigned int purge_notified;
	unsigned int move_notified;
	unsigned int move_abandoned;
	unsigned int waited;
	unsigned int released;
	struct uttm_bo *destroy_during_shrink;
};

/* Its callbacks: busy, wait_idle and the notifications. */
extern const struct uttm_device_funcs mock_funcs;

struct world {
	struct uttm_context *ctx;
	struct uttm_arena *arena;
	struct uttm_arena *arena32;
	struct uttm_backup *store;
	struct uttm_device *dev;
};

/* A device of @w on @arena with @funcs, sharing @w's store. */
void device_new(struct world *w, struct uttm_arena *arena,
		const struct uttm_device_funcs *funcs,
		struct uttm_device **out);
/* A world whose context has the given limits (0: the defaults). */
struct world *world_new(uint64_t limit, uint64_t dma32_limit);
/* A world whose context is made with @cp, sharing @store, which it owns. */
struct world *world_with(const struct uttm_context_params *cp,
			 struct uttm_backup *store);
/* A store that really frees memory: a file in the temporary directory. */
struct uttm_backup *disk_store_new(void);
/* Frees @w, checking that every page, object and handle is gone. */
void world_free(struct world *w);
int world_setup(void **state);
int world_teardown(void **state);

/* A test run in a fresh world of a 64 MiB page limit. */
#define world_test(f) cmocka_unit_test_setup_teardown(f, world_setup, \
						      world_teardown)

/* The operation context of every test: waits allowed, not interruptible. */
extern const struct uttm_operation_ctx op;

struct uttm_bo *bo_new(struct uttm_device *dev, uint64_t size,
		       bool purgeable, struct mock_bo *m);
/* Validates @bo and fills it with the pattern of @seed. */
void bo_fill(struct uttm_bo *bo, uint64_t seed);
/* Validates @bo and checks the pattern of @seed; returns validate's value. */
int bo_check(struct uttm_bo *bo, uint64_t seed);
/* Pages the context of @w counts. */
uint64_t allocated(struct world *w);
bool is_populated(struct uttm_bo *bo);

/*
 * An 8 MiB world where @a, 6 MiB filled with the pattern of 1, leaves
 * no room for @b, 6 MiB as well; @ma is @a's driver state.
 */
struct world *crowded_world(struct uttm_bo **a, struct uttm_bo **b,
			    struct mock_bo *ma);
/* @b takes @a's place, @a's content comes back whole, and all goes. */
void crowded_world_free(struct world *w, struct uttm_bo *a, struct uttm_bo *b);

#endif /* UTTM_TESTS_WORLD_H */
