// SPDX-License-Identifier: MIT
/*
 * The insert store: zero-copy backup of arena blocks.  The arena's pages
 * already live in a memfd, so the store takes a block by taking it over
 * where it lies and names each page by its page frame number plus one.
 * The kernel swaps the pages out of the arena's file when it needs the
 * memory, or at once on writeback; reading a page back swaps it in, and
 * dropping its handle frees it to the arena.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uttm/backup.h"
#include "internal.h"
#include "sysmem.h"

/* Pages freed per call to the arena; adjacent ones share a hole punch. */
#define DROP_BATCH 256u

/**
 * struct insert_store - a store that holds blocks of its arena
 * @base: the shared part; @base.arena is the store's arena.
 * @capacity: bytes the store may hold, or 0 to be bounded by swap.
 * @held: pages held.  It equals the handle count once inserts settle,
 * but is taken before a block is, so that two inserts racing for the
 * last room cannot both have it.
 */
struct insert_store {
	struct uttm_backup base;
	uint64_t capacity;
	atomic_ulong held;
};

static struct insert_store *to_insert(struct uttm_backup *backup)
{
	return container_of(backup, struct insert_store, base);
}

static struct uttm_page *handle_page(struct uttm_backup *backup,
				     unsigned long handle)
{
	return uttm_pfn_to_page(backup->arena,
				uttm_backup_handle_to_index(handle));
}

/* Takes room for @nr more pages, unless the capacity forbids it. */
static bool take_room(struct insert_store *store, unsigned long nr)
{
	unsigned long max = (unsigned long)(store->capacity >> UTTM_PAGE_SHIFT);
	unsigned long held = atomic_load(&store->held);

	do {
		if (store->capacity && held + nr > max)
			return false;
	} while (!atomic_compare_exchange_weak(&store->held, &held, held + nr));
	return true;
}

static long insert_take(struct uttm_backup *backup, struct uttm_page *block,
			bool writeback)
{
	struct insert_store *store = to_insert(backup);
	unsigned int order = uttm_page_order(block);

	if (!take_room(store, 1UL << order))
		return -ENOSPC;
	/*
	 * Each handle may be dropped on its own, so the block's descriptors
	 * are split now.  Its memory stays where it is: pages dropped
	 * together are freed with one hole punch and merge back into blocks
	 * in the arena.
	 */
	uttm_split_page(block);
	/* Best effort: without swap the kernel keeps the pages. */
	if (writeback)
		madvise(uttm_page_address(backup->arena, block),
			UTTM_PAGE_SIZE << order, MADV_PAGEOUT);
	return (long)uttm_backup_index_to_handle(
		uttm_page_to_pfn(backup->arena, block));
}

static long insert_copy_pages(struct uttm_backup *backup, void *const *dst,
			      const unsigned long *handles, unsigned long count,
			      const struct uttm_operation_ctx *ctx)
{
	for (unsigned long i = 0; i < count; i++)
		memcpy(dst[i], uttm_page_address(backup->arena,
						 handle_page(backup, handles[i])),
		       UTTM_PAGE_SIZE);
	return (long)count;
}

static void insert_drop(struct uttm_backup *backup,
			const unsigned long *handles, unsigned long count)
{
	struct uttm_page *pages[DROP_BATCH];

	for (unsigned long i = 0, n; i < count; i += n) {
		n = MIN(count - i, DROP_BATCH);
		for (unsigned long j = 0; j < n; j++)
			pages[j] = handle_page(backup, handles[i + j]);
		uttm_free_pages(backup->arena, pages, n);
	}
	atomic_fetch_sub(&to_insert(backup)->held, count);
}

static uint64_t insert_bytes_avail(struct uttm_backup *backup)
{
	struct insert_store *store = to_insert(backup);

	return __uttm_store_room(store->capacity,
				 (uint64_t)atomic_load(&store->held) <<
				 UTTM_PAGE_SHIFT);
}

static void insert_fini(struct uttm_backup *backup)
{
	free(to_insert(backup));
}

static const struct uttm_backup_ops insert_ops = {
	.insert = insert_take,
	.copy_pages = insert_copy_pages,
	.drop = insert_drop,
	.bytes_avail = insert_bytes_avail,
	.fini = insert_fini,
};

int uttm_backup_insert_create(const struct uttm_backup_insert_params *params,
			      struct uttm_backup **out)
{
	struct insert_store *store;

	if (!params || !params->arena || !out)
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	uttm_backup_init(&store->base, &insert_ops, params->fault);
	store->base.arena = params->arena;
	store->capacity = params->capacity;
	atomic_init(&store->held, 0);
	*out = &store->base;
	return 0;
}
