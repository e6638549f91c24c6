// SPDX-License-Identifier: MIT
/*
 * The size-class allocator of the compressed store; see "Zpool" in internal.h.
 *
 * The pool reserves address space once, cut into chunks of 256 KiB, and
 * hands chunks to size classes through a slot bitmap.  A class packs its
 * objects into a chunk from the start: @top marks how far objects were
 * ever handed out, freed objects form a list threaded through their own
 * first bytes.  Only pages below @top are ever touched, so a chunk costs
 * the pages its objects cover, and those pages are charged against the
 * limit before the first object reaches them.  When the last object of a
 * chunk goes, its pages are dropped (MADV_DONTNEED) and the chunk is free
 * for any class.  The descriptors live outside the chunks, so a class of
 * whole pages packs them with no waste at all.
 *
 * The reservation, four times the limit, is inaccessible (PROT_NONE) and
 * made writable as chunks are first used: a writable private mapping is
 * committed memory, which vm.overcommit_memory=2 charges in full whatever
 * MAP_NORESERVE says.  The bitmap hands chunks out in order and grows
 * only when all it has are taken, so the writable part is one prefix, one
 * mapping, within twice the most chunks ever in use (or the bitmap's
 * first 1024); it never shrinks, emptied chunks only drop their pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"
#include "internal.h"

#define OBJ_NONE UINT32_MAX
/* Beyond this the address space to reserve does not exist. */
#define ZPOOL_MAX_LIMIT (1ULL << 44)

/**
 * struct zpool_chunk - descriptor of one chunk
 * @next: next chunk on its class's partial list.
 * @prev: previous one.
 * @free: offset of the first free object below @top, or OBJ_NONE.
 * @top: end of the objects handed out so far.
 * @inuse: objects allocated.
 * @class: index of the class it serves while in use.
 */
struct zpool_chunk {
	struct zpool_chunk *next, *prev;
	uint32_t free;
	uint32_t top;
	uint32_t inuse;
	uint32_t class;
};

static unsigned int class_index(unsigned int size)
{
	return (size - 1) >> ZPOOL_ALIGN_SHIFT;
}

/* Size of the objects of class @index, a multiple of ZPOOL_ALIGN. */
static unsigned int class_size(unsigned int index)
{
	return (index + 1) << ZPOOL_ALIGN_SHIFT;
}

static unsigned long chunk_index(const struct zpool *pool,
				 const struct zpool_chunk *chunk)
{
	return (unsigned long)(chunk - pool->chunks);
}

static char *chunk_base(const struct zpool *pool,
			const struct zpool_chunk *chunk)
{
	return pool->base + (chunk_index(pool, chunk) << ZPOOL_CHUNK_SHIFT);
}

static uint64_t touched_bytes(uint32_t top)
{
	return (uint64_t)DIV_ROUND_UP(top, UTTM_PAGE_SIZE) << UTTM_PAGE_SHIFT;
}

static bool chunk_has_room(const struct zpool_chunk *chunk)
{
	return chunk->free != OBJ_NONE ||
	       chunk->top + class_size(chunk->class) <= ZPOOL_CHUNK_SIZE;
}

static void partial_add(struct zpool_class *class, struct zpool_chunk *chunk)
{
	chunk->prev = NULL;
	chunk->next = class->partial;
	if (class->partial)
		class->partial->prev = chunk;
	class->partial = chunk;
}

static void partial_del(struct zpool_class *class, struct zpool_chunk *chunk)
{
	if (chunk->prev)
		chunk->prev->next = chunk->next;
	else
		class->partial = chunk->next;
	if (chunk->next)
		chunk->next->prev = chunk->prev;
}

/* Charges @bytes against the limit; -ENOSPC when they do not fit. */
static int charge(struct zpool *pool, uint64_t bytes)
{
	uint64_t used = atomic_load(&pool->used);

	if (!bytes)
		return 0;
	do {
		if (bytes > pool->limit - used)
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak(&pool->used, &used,
					       used + bytes));
	return 0;
}

int uttm_zpool_init(struct zpool *pool, uint64_t limit)
{
	size_t bytes;

	if (!limit || limit > ZPOOL_MAX_LIMIT)
		return -EINVAL;
	memset(pool, 0, sizeof(*pool));
	/*
	 * A chunk in use covers at least one charged page, so the limit
	 * alone bounds the chunks only at one page each.  Four times the
	 * chunks the limit fills, plus one per class, runs out only under
	 * heavy fragmentation, and then the pool is full.
	 */
	pool->nr_chunks = 4 * DIV_ROUND_UP(limit, ZPOOL_CHUNK_SIZE) +
			  ZPOOL_NR_CLASSES;
	bytes = pool->nr_chunks << ZPOOL_CHUNK_SHIFT;
	pool->chunks = calloc(pool->nr_chunks, sizeof(*pool->chunks));
	if (!pool->chunks)
		return -ENOMEM;
	pool->base = mmap(NULL, bytes, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (pool->base == MAP_FAILED) {
		free(pool->chunks);
		return -ENOMEM;
	}
	/* A huge page would hold memory no object has reached. */
	madvise(pool->base, bytes, MADV_NOHUGEPAGE);
	uttm_slots_init(&pool->free_chunks, pool->nr_chunks);
	pthread_mutex_init(&pool->map_lock, NULL);
	atomic_init(&pool->nr_mapped, 0);
	pool->limit = limit;
	atomic_init(&pool->used, 0);
	atomic_init(&pool->chunks_used, 0);
	for (unsigned int i = 0; i < ZPOOL_NR_CLASSES; i++)
		pthread_mutex_init(&pool->classes[i].lock, NULL);
	return 0;
}

void uttm_zpool_fini(struct zpool *pool)
{
	for (unsigned int i = 0; i < ZPOOL_NR_CLASSES; i++)
		pthread_mutex_destroy(&pool->classes[i].lock);
	uttm_slots_fini(&pool->free_chunks);
	pthread_mutex_destroy(&pool->map_lock);
	munmap(pool->base, pool->nr_chunks << ZPOOL_CHUNK_SHIFT);
	free(pool->chunks);
}

/* Makes the chunks below @nr readable and writable; 0 or -ENOMEM. */
static int map_chunks(struct zpool *pool, unsigned long nr)
{
	unsigned long mapped;
	int ret = 0;

	if (nr <= atomic_load(&pool->nr_mapped))
		return 0;
	pthread_mutex_lock(&pool->map_lock);
	mapped = atomic_load(&pool->nr_mapped);
	if (nr > mapped) {
		if (mprotect(pool->base + (mapped << ZPOOL_CHUNK_SHIFT),
			     (nr - mapped) << ZPOOL_CHUNK_SHIFT,
			     PROT_READ | PROT_WRITE))
			ret = -ENOMEM;
		else
			atomic_store(&pool->nr_mapped, nr);
	}
	pthread_mutex_unlock(&pool->map_lock);
	return ret;
}

static int chunk_new(struct zpool *pool, unsigned int index,
		     struct zpool_chunk **out)
{
	struct zpool_chunk *chunk;
	unsigned long got;
	long first;
	int ret;

	first = uttm_slots_alloc(&pool->free_chunks, 1, &got);
	if (first < 0)
		return (int)first;
	ret = map_chunks(pool, (unsigned long)first + 1);
	if (ret) {
		uttm_slots_free(&pool->free_chunks, (unsigned long)first, 1);
		return ret;
	}
	chunk = &pool->chunks[first];
	*chunk = (struct zpool_chunk){ .free = OBJ_NONE, .class = index };
	partial_add(&pool->classes[index], chunk);
	atomic_fetch_add(&pool->chunks_used, 1);
	*out = chunk;
	return 0;
}

/* Gives the pages of a detached, empty chunk back and frees the chunk. */
static void chunk_release(struct zpool *pool, struct zpool_chunk *chunk,
			  uint32_t top)
{
	uint64_t bytes = touched_bytes(top);

	if (bytes)
		UTTM_WARN_ON(madvise(chunk_base(pool, chunk), bytes,
				     MADV_DONTNEED));
	/* Uncharged only once gone, so the pool never exceeds its limit. */
	atomic_fetch_sub(&pool->used, bytes);
	atomic_fetch_sub(&pool->chunks_used, 1);
	uttm_slots_free(&pool->free_chunks, chunk_index(pool, chunk), 1);
}

/* Takes an object from @chunk: a freed one, or the next one up. */
static int chunk_take(struct zpool *pool, struct zpool_class *class,
		      struct zpool_chunk *chunk, uint32_t *off)
{
	unsigned int size = class_size(chunk->class);
	char *base = chunk_base(pool, chunk);
	int ret;

	if (chunk->free != OBJ_NONE) {
		*off = chunk->free;
		memcpy(&chunk->free, base + *off, sizeof(chunk->free));
	} else {
		ret = charge(pool, touched_bytes(chunk->top + size) -
				   touched_bytes(chunk->top));
		if (ret)
			return ret;
		*off = chunk->top;
		chunk->top += size;
	}
	chunk->inuse++;
	if (!chunk_has_room(chunk))
		partial_del(class, chunk);
	return 0;
}

/* A chunk of @class with a freed object, which takes no charge; or NULL. */
static struct zpool_chunk *chunk_with_free(struct zpool_class *class)
{
	struct zpool_chunk *chunk = class->partial;

	while (chunk && chunk->free == OBJ_NONE)
		chunk = chunk->next;
	return chunk;
}

int uttm_zpool_alloc(struct zpool *pool, unsigned int size, uint64_t *obj)
{
	unsigned int index = class_index(size);
	struct zpool_class *class = &pool->classes[index];
	struct zpool_chunk *chunk, *fresh = NULL;
	uint32_t off, top = 0;
	int ret;

	pthread_mutex_lock(&class->lock);
	chunk = class->partial;
	if (chunk) {
		ret = chunk_take(pool, class, chunk, &off);
		/*
		 * Growing the chunk that served last needs a page the limit
		 * refuses; a freed object further down needs none.
		 */
		if (ret && (chunk = chunk_with_free(class)))
			ret = chunk_take(pool, class, chunk, &off);
	} else {
		ret = chunk_new(pool, index, &fresh);
		chunk = fresh;
		if (!ret)
			ret = chunk_take(pool, class, chunk, &off);
		/* A new chunk the limit left no room for goes at once. */
		if (ret && fresh) {
			partial_del(class, fresh);
			top = fresh->top;
		}
	}
	pthread_mutex_unlock(&class->lock);
	if (ret && fresh)
		chunk_release(pool, fresh, top);
	if (ret)
		return ret;
	*obj = ((uint64_t)chunk_index(pool, chunk) << ZPOOL_CHUNK_SHIFT) + off;
	return 0;
}

/* Whether @off can be an object of @chunk, which must serve @index. */
static bool chunk_holds(const struct zpool_chunk *chunk, unsigned int index,
			uint32_t off, unsigned int size)
{
	return chunk->inuse && chunk->class == index && off < chunk->top &&
	       !(off % size);
}

int uttm_zpool_free(struct zpool *pool, uint64_t obj, unsigned int size)
{
	unsigned int index = class_index(size);
	struct zpool_class *class = &pool->classes[index];
	struct zpool_chunk *chunk = &pool->chunks[obj >> ZPOOL_CHUNK_SHIFT];
	uint32_t off = (uint32_t)(obj & (ZPOOL_CHUNK_SIZE - 1)), top = 0;
	bool empty;

	pthread_mutex_lock(&class->lock);
	if (UTTM_WARN_ON(!chunk_holds(chunk, index, off, class_size(index)))) {
		pthread_mutex_unlock(&class->lock);
		return -EINVAL;
	}
	if (chunk_has_room(chunk))
		partial_del(class, chunk);
	memcpy(uttm_zpool_obj_addr(pool, obj), &chunk->free,
	       sizeof(chunk->free));
	chunk->free = off;
	empty = !--chunk->inuse;
	/* The chunk freed into last serves next, while its lines are hot. */
	if (!empty)
		partial_add(class, chunk);
	else
		top = chunk->top;
	pthread_mutex_unlock(&class->lock);
	if (empty)
		chunk_release(pool, chunk, top);
	return 0;
}

bool uttm_zpool_obj_valid(const struct zpool *pool, uint64_t obj,
			  unsigned int size)
{
	uint64_t off = obj & (ZPOOL_CHUNK_SIZE - 1);

	return size && size <= UTTM_PAGE_SIZE &&
	       obj >> ZPOOL_CHUNK_SHIFT < atomic_load(&pool->nr_mapped) &&
	       !(obj % ZPOOL_ALIGN) &&
	       off + class_size(class_index(size)) <= ZPOOL_CHUNK_SIZE;
}

uint64_t uttm_zpool_used_bytes(const struct zpool *pool)
{
	return atomic_load(&pool->used);
}

uint64_t uttm_zpool_metadata_bytes(const struct zpool *pool)
{
	return atomic_load(&pool->chunks_used) * sizeof(struct zpool_chunk);
}
