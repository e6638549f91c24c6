// SPDX-License-Identifier: MIT
/*
 * The insert store: zero-copy backup of arena blocks.  The arena's pages
 * already live in a memfd, so the store takes a block by taking it over
 * where it lies and names each page by its page frame number plus one.
 * The kernel swaps the pages out of the arena's file when it needs the
 * memory, or at once on writeback; reading a page back swaps it in, and
 * dropping its handle frees it to the arena.  The pages that may still be
 * in memory are marked in a resident set (resident.c), by frame number.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/* Pages freed per call to the arena; adjacent ones share a hole punch. */
#define DROP_BATCH 256u

/**
 * struct insert_store - a store that holds blocks of its arena
 * @base: the shared part; @base.arena is the store's arena.
 * @capacity: bytes the store may hold, or 0 to be bounded by swap.
 * @max_pfn: frames the arena may ever have; no handle names one beyond.
 * @held: pages held.  It equals the handle count once inserts settle,
 * but is taken before a block is, so that two inserts racing for the
 * last room cannot both have it.
 * @resident: the frames of held pages that may be in memory.
 */
struct insert_store {
	struct uttm_backup base;
	uint64_t capacity;
	unsigned long max_pfn;
	atomic_ulong held;
	struct resident_set resident;
};

static struct insert_store *to_insert(struct uttm_backup *backup)
{
	return container_of(backup, struct insert_store, base);
}

/* The page @handle names; NULL, with a warning, when it names none. */
static struct uttm_page *handle_page(struct insert_store *store,
				     unsigned long handle)
{
	struct uttm_arena *arena = store->base.arena;
	unsigned long pfn = uttm_backup_handle_to_index(handle);

	/* Within the memmap before it is indexed, then within the arena. */
	if (UTTM_WARN_ON(pfn >= store->max_pfn) ||
	    UTTM_WARN_ON(!uttm_page_in_arena(arena,
					     uttm_pfn_to_page(arena, pfn))))
		return NULL;
	return uttm_pfn_to_page(arena, pfn);
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

/*
 * Has the kernel swap out the @count held pages from frame @pfn, where
 * they lie in the arena, and forgets the marks of those that left.
 * Returns how many did.
 */
static unsigned long page_out(void *arg, unsigned long pfn,
			      unsigned long count)
{
	struct insert_store *store = arg;
	struct uttm_arena *arena = store->base.arena;
	unsigned char vec[RESIDENT_BATCH];
	unsigned long out = 0;

	for (unsigned long i = 0, n; i < count; i += n) {
		n = MIN(count - i, (unsigned long)RESIDENT_BATCH);
		uttm_resident_page_out(uttm_page_address(arena,
							 uttm_pfn_to_page(arena,
									  pfn + i)),
				       n, vec);
		out += uttm_resident_forget(&store->resident, pfn + i, n, vec);
	}
	return out;
}

static long insert_take(struct uttm_backup *backup, struct uttm_page *block,
			bool writeback)
{
	struct insert_store *store = to_insert(backup);
	unsigned int order = uttm_page_order(block);
	unsigned long pfn = uttm_page_to_pfn(backup->arena, block);
	long ret = 0;

	if (!take_room(store, 1UL << order))
		return -ENOSPC;
	uttm_resident_lock(&store->resident);
	/* The block is in memory: counted before it is the store's. */
	ret = uttm_slots_mark(&store->resident.marks, pfn, 1UL << order);
	if (ret < 0) {
		atomic_fetch_sub(&store->held, 1UL << order);
		goto out_unlock;
	}
	/*
	 * Each handle may be dropped on its own, so the block's descriptors
	 * are split now.  Its memory stays where it is: pages dropped
	 * together are freed with one hole punch and merge back into blocks
	 * in the arena.
	 */
	uttm_split_page(block);
	/* Best effort: without swap the kernel keeps the pages. */
	if (writeback)
		page_out(store, pfn, 1UL << order);
	ret = (long)uttm_backup_index_to_handle(pfn);
out_unlock:
	uttm_resident_unlock(&store->resident);
	return ret;
}

static long insert_copy_pages(struct uttm_backup *backup, void *const *dst,
			      const unsigned long *handles, unsigned long count,
			      const struct uttm_operation_ctx *ctx)
{
	struct insert_store *store = to_insert(backup);
	unsigned long i;

	uttm_resident_lock(&store->resident);
	for (i = 0; i < count; i++) {
		struct uttm_page *page = handle_page(store, handles[i]);

		if (!page)
			break;
		/* Reading a page that was out brings it back in. */
		uttm_slots_mark(&store->resident.marks,
				uttm_backup_handle_to_index(handles[i]), 1);
		memcpy(dst[i], uttm_page_address(backup->arena, page),
		       UTTM_PAGE_SIZE);
	}
	uttm_resident_unlock(&store->resident);
	return i ? (long)i : -EINVAL;
}

/* Handles that name no page of the arena are skipped. */
static void insert_drop(struct uttm_backup *backup,
			const unsigned long *handles, unsigned long count)
{
	struct insert_store *store = to_insert(backup);
	struct uttm_page *pages[DROP_BATCH];
	unsigned long dropped = 0;

	uttm_resident_lock(&store->resident);
	for (unsigned long i = 0, n; i < count; i += n) {
		unsigned long nr = 0;

		n = MIN(count - i, DROP_BATCH);
		for (unsigned long j = 0; j < n; j++) {
			pages[nr] = handle_page(store, handles[i + j]);
			nr += !!pages[nr];
		}
		uttm_free_pages(backup->arena, pages, nr);
		/* Freed first, forgotten after: never counted short. */
		for (unsigned long j = 0; j < nr; j++)
			uttm_slots_unmark(&store->resident.marks,
					  uttm_page_to_pfn(backup->arena,
							   pages[j]), 1);
		dropped += nr;
	}
	uttm_resident_unlock(&store->resident);
	atomic_fetch_sub(&store->held, dropped);
}

static uint64_t insert_bytes_avail(struct uttm_backup *backup)
{
	struct insert_store *store = to_insert(backup);
	uint64_t held = (uint64_t)atomic_load(&store->held) << UTTM_PAGE_SHIFT;

	return uttm_sysmem_store_room(store->capacity, held);
}

static uint64_t insert_resident_bytes(struct uttm_backup *backup)
{
	return uttm_resident_bytes(&to_insert(backup)->resident);
}

static uint64_t insert_writeback(struct uttm_backup *backup, uint64_t bytes)
{
	struct insert_store *store = to_insert(backup);

	return uttm_resident_writeback(&store->resident, bytes, page_out,
				       store);
}

static void insert_fini(struct uttm_backup *backup)
{
	struct insert_store *store = to_insert(backup);

	uttm_resident_fini(&store->resident);
	free(store);
}

static const struct uttm_backup_ops insert_ops = {
	.insert = insert_take,
	.copy_pages = insert_copy_pages,
	.drop = insert_drop,
	.bytes_avail = insert_bytes_avail,
	.resident_bytes = insert_resident_bytes,
	.writeback = insert_writeback,
	.fini = insert_fini,
};

int uttm_backup_insert_create(const struct uttm_backup_insert_params *params,
			      struct uttm_backup **out)
{
	struct uttm_arena_stats arena;
	struct insert_store *store;

	if (UTTM_WARN_ON(!params || !params->arena || !out) ||
	    !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	uttm_backup_init(&store->base, &insert_ops, params->fault);
	store->base.arena = params->arena;
	store->capacity = params->capacity;
	uttm_arena_stats(params->arena, &arena);
	store->max_pfn = (unsigned long)(arena.max_bytes >> UTTM_PAGE_SHIFT);
	atomic_init(&store->held, 0);
	uttm_resident_init(&store->resident, store->max_pfn);
	*out = &store->base;
	return 0;
}
