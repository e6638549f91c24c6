// SPDX-License-Identifier: MIT
/*
 * The C side of the mapping benchmark: what a C program does to map an
 * object that is already resident and let it go, as BufferObject.map()
 * and the end of its with block do: lock, validate, vmap, pin, unlock,
 * then lock, unpin, unlock.  Prints the median nanoseconds per map of
 * @rounds rounds of @iterations maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <uttm/shrinker.h>

static const struct uttm_operation_ctx op = { .interruptible = false };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int map_once(struct uttm_bo *bo)
{
	void *addr;
	int ret;

	uttm_bo_lock(bo);
	ret = uttm_bo_validate(bo, &op);
	if (ret >= 0)
		ret = uttm_bo_vmap(bo, &addr);
	if (!ret)
		ret = uttm_bo_pin(bo);
	uttm_bo_unlock(bo);
	if (ret)
		return ret;
	uttm_bo_lock(bo);
	uttm_bo_unpin(bo);
	uttm_bo_unlock(bo);
	return 0;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	struct uttm_arena_params ap = { .max_bytes = 64 << 20 };
	struct uttm_device_params dp = { .caching = UTTM_PLAIN };
	struct uttm_bo_params bp = { .size = 1 << 20 };
	long rounds = argc > 1 ? atol(argv[1]) : 5;
	long iterations = argc > 2 ? atol(argv[2]) : 100000;
	struct uttm_arena *arena;
	struct uttm_context *ctx;
	struct uttm_device *dev;
	struct uttm_bo *bo;
	double *ns;

	ns = rounds > 0 && iterations > 0 ? calloc(rounds, sizeof(*ns)) : NULL;
	if (!ns || uttm_arena_create(&ap, &arena) ||
	    uttm_context_create(NULL, &ctx))
		return 1;
	dp.pool.arena = arena;
	if (uttm_device_create(ctx, &dp, &dev) || uttm_bo_create(dev, &bp, &bo))
		return 1;
	for (long r = 0; r < rounds; r++) {
		double start = now_ns();

		for (long i = 0; i < iterations; i++)
			if (map_once(bo))
				return 1;
		ns[r] = (now_ns() - start) / (double)iterations;
	}
	qsort(ns, rounds, sizeof(*ns), compare);
	printf("%.1f\n", ns[rounds / 2]);
	free(ns);
	uttm_bo_put(bo);
	uttm_device_destroy(dev);
	uttm_context_destroy(ctx);
	uttm_arena_destroy(arena);
	return 0;
}
