// SPDX-License-Identifier: MIT
/*
 * Embedding libuttm: a context with one device, an object filled, backed
 * up by the shrinker, and restored intact.  The README shows this file;
 * the tests build and run it.
 */
#include <stdio.h>
#include <string.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

int main(void)
{
	struct uttm_arena_params ap = { .max_bytes = 64 << 20 };
	struct uttm_backup_compressed_params sp = { .cap = 64 << 20 };
	struct uttm_operation_ctx op = { .interruptible = true };
	struct uttm_device_params dp = { .caching = UTTM_PLAIN };
	struct uttm_bo_params bp = { .size = 8 << 20 };
	struct uttm_arena *arena;
	struct uttm_context *ctx;
	struct uttm_device *dev;
	struct uttm_bo *bo;
	char *data;
	int ok;

	if (uttm_arena_create(&ap, &arena) || uttm_context_create(NULL, &ctx) ||
	    uttm_backup_compressed_create(&sp, &dp.backup))
		return 1;
	dp.pool.arena = arena;
	if (uttm_device_create(ctx, &dp, &dev) ||
	    uttm_bo_create(dev, &bp, &bo))
		return 1;
	uttm_backup_put(dp.backup);		/* the device holds its own */

	uttm_bo_lock(bo);
	if (uttm_bo_validate(bo, &op) < 0 || uttm_bo_vmap(bo, (void **)&data))
		return 1;
	memset(data, 'u', bp.size);
	uttm_bo_unlock(bo);

	printf("shrunk %lu pages\n", uttm_shrinker_scan(ctx, 2048));

	uttm_bo_lock(bo);			/* validate restores it */
	ok = uttm_bo_validate(bo, &op) == 0 &&
	     !uttm_bo_vmap(bo, (void **)&data) &&
	     data[0] == 'u' && !memcmp(data, data + 1, bp.size - 1);
	uttm_bo_unlock(bo);
	printf("content %s\n", ok ? "intact" : "LOST");

	uttm_bo_put(bo);
	uttm_device_destroy(dev);
	uttm_context_destroy(ctx);
	uttm_arena_destroy(arena);
	return ok ? 0 : 1;
}
