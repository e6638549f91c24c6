/* SPDX-License-Identifier: MIT */
/*
 * A size-class allocator for compressed pages, after the kernel's
 * zsmalloc: objects of up to a page are rounded up to a multiple of 16
 * bytes and packed back to back into chunks that serve one class each,
 * so a 700-byte object costs 704 bytes and not a page.  Memory is counted
 * in pages actually touched, charged against a limit before they are
 * touched, and a chunk that empties goes back to the operating system.
 */
#ifndef UTTM_ZPOOL_H
#define UTTM_ZPOOL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "uttm/page.h"
#include "slots.h"

#define ZPOOL_ALIGN_SHIFT 4
#define ZPOOL_ALIGN (1u << ZPOOL_ALIGN_SHIFT)
#define ZPOOL_NR_CLASSES (UTTM_PAGE_SIZE >> ZPOOL_ALIGN_SHIFT)
#define ZPOOL_CHUNK_SHIFT 18
#define ZPOOL_CHUNK_SIZE (1UL << ZPOOL_CHUNK_SHIFT)

struct zpool_chunk;

/**
 * struct zpool_class - the chunks serving one object size, (index + 1)
 * times ZPOOL_ALIGN
 * @lock: protects @partial and the chunks on it.
 * @partial: chunks that can still hand out an object, most recently
 * freed into first.
 */
struct zpool_class {
	pthread_mutex_t lock;
	struct zpool_chunk *partial;
};

/**
 * struct zpool - the allocator
 * @base: address space reserved for every chunk the pool may have,
 * inaccessible past @nr_mapped chunks.
 * @nr_chunks: chunks @base has room for.
 * @map_lock: serialises growing @nr_mapped.
 * @nr_mapped: chunks from @base on that are readable and writable.
 * @chunks: one descriptor per chunk, in address order.
 * @free_chunks: which chunks are in use.
 * @limit: bytes of touched pages the pool may hold.
 * @used: bytes of touched pages charged so far.
 * @chunks_used: chunks serving a class.
 * @classes: one per object size.
 */
struct zpool {
	char *base;
	unsigned long nr_chunks;
	pthread_mutex_t map_lock;
	atomic_ulong nr_mapped;
	struct zpool_chunk *chunks;
	struct slots free_chunks;
	uint64_t limit;
	_Atomic uint64_t used;
	atomic_ulong chunks_used;
	struct zpool_class classes[ZPOOL_NR_CLASSES];
};

/*
 * Reserves address space for a pool of at most @limit bytes; nothing is
 * touched yet.  Returns 0, -EINVAL for a zero limit, or -ENOMEM.
 */
int zpool_init(struct zpool *pool, uint64_t limit);
void zpool_fini(struct zpool *pool);

/*
 * Allocates an object of @size bytes (1 to a page) and returns its offset
 * in @obj.  Returns 0, -ENOSPC when the limit or the chunks run out, or
 * -ENOMEM when the system refuses to commit memory for a new chunk.
 */
int zpool_alloc(struct zpool *pool, unsigned int size, uint64_t *obj);

/*
 * Frees the object at @obj that was allocated with @size.  Returns 0, or
 * -EINVAL when no such object is allocated (a freed one may go unseen).
 */
int zpool_free(struct zpool *pool, uint64_t obj, unsigned int size);

/* Whether @obj can name an object of @size in @pool, in memory it uses. */
bool zpool_obj_valid(const struct zpool *pool, uint64_t obj,
		     unsigned int size);

static inline void *zpool_obj_addr(const struct zpool *pool, uint64_t obj)
{
	return pool->base + obj;
}

/* Bytes of touched pages the pool holds. */
uint64_t zpool_used_bytes(const struct zpool *pool);

/* Bytes of the descriptors of the chunks in use. */
uint64_t zpool_metadata_bytes(const struct zpool *pool);

#endif /* UTTM_ZPOOL_H */
