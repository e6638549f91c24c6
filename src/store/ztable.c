// SPDX-License-Identifier: MIT
/*
 * The compressed store's entry table; see "Ztable" in internal.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "base/base.h"
#include "internal.h"

#define CHUNK_SHIFT 12
#define CHUNK_ENTRIES (1UL << CHUNK_SHIFT)

int uttm_ztable_init(struct ztable *t, unsigned long max)
{
	t->nr_chunks = DIV_ROUND_UP(max, CHUNK_ENTRIES);
	/* Untouched pages of a large calloc() cost nothing. */
	t->chunks = calloc(t->nr_chunks, sizeof(*t->chunks));
	if (!t->chunks)
		return -ENOMEM;
	pthread_mutex_init(&t->grow_lock, NULL);
	atomic_init(&t->chunks_used, 0);
	uttm_slots_init(&t->used, max);
	return 0;
}

void uttm_ztable_fini(struct ztable *t)
{
	for (unsigned long i = 0; i < t->nr_chunks; i++)
		free(atomic_load(&t->chunks[i]));
	free(t->chunks);
	uttm_slots_fini(&t->used);
	pthread_mutex_destroy(&t->grow_lock);
}

/* Makes the chunk of entry @index, unless it exists. */
static int chunk_make(struct ztable *t, unsigned long index)
{
	unsigned long c = index >> CHUNK_SHIFT;
	_Atomic uint64_t *chunk;
	int ret = 0;

	if (atomic_load(&t->chunks[c]))
		return 0;
	pthread_mutex_lock(&t->grow_lock);
	if (!atomic_load(&t->chunks[c])) {
		chunk = calloc(CHUNK_ENTRIES, sizeof(*chunk));
		if (chunk) {
			atomic_store(&t->chunks[c], chunk);
			atomic_fetch_add(&t->chunks_used, 1);
		} else {
			ret = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&t->grow_lock);
	return ret;
}

long uttm_ztable_alloc(struct ztable *t)
{
	unsigned long got;
	long index = uttm_slots_alloc(&t->used, 1, &got);
	int ret;

	if (index < 0)
		return index;
	ret = chunk_make(t, (unsigned long)index);
	if (ret) {
		uttm_slots_free(&t->used, (unsigned long)index, 1);
		return ret;
	}
	return index;
}

void uttm_ztable_free(struct ztable *t, unsigned long index)
{
	atomic_store(uttm_ztable_entry(t, index), 0);
	uttm_slots_free(&t->used, index, 1);
}

_Atomic uint64_t *uttm_ztable_entry(const struct ztable *t,
				    unsigned long index)
{
	_Atomic uint64_t *chunk;

	if (index >> CHUNK_SHIFT >= t->nr_chunks)
		return NULL;
	chunk = atomic_load(&t->chunks[index >> CHUNK_SHIFT]);
	return chunk ? &chunk[index & (CHUNK_ENTRIES - 1)] : NULL;
}

uint64_t uttm_ztable_bytes(const struct ztable *t)
{
	return atomic_load(&t->chunks_used) *
	       uttm_heap_bytes_of(CHUNK_ENTRIES * sizeof(uint64_t));
}
