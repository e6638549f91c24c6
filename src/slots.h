/* SPDX-License-Identifier: MIT */
/*
 * A bitmap of store slots that hands out contiguous runs, so that a store
 * can write a batch of pages with one vectored call and read neighbours
 * back the same way.
 */
#ifndef UTTM_SLOTS_H
#define UTTM_SLOTS_H

#include <pthread.h>
#include <stdint.h>

/**
 * struct slots - slot bitmap
 * @lock: protects the other fields.
 * @words: the bitmap, a set bit per used slot; grows on demand.
 * @nr_words: words in @words.
 * @max: most slots there may ever be.
 * @used: slots in use.
 * @hint: word where the next search starts.
 */
struct slots {
	pthread_mutex_t lock;
	uint64_t *words;
	unsigned long nr_words;
	unsigned long max;
	unsigned long used;
	unsigned long hint;
};

void slots_init(struct slots *slots, unsigned long max);
void slots_fini(struct slots *slots);

/*
 * Takes a run of at most @want contiguous free slots, at least one.
 * Returns the first slot with the run's length in @got, or -ENOSPC when
 * every slot is used, -ENOMEM when the bitmap cannot grow.
 */
long slots_alloc(struct slots *slots, unsigned long want, unsigned long *got);

/*
 * Takes the first run of free slots at or after @from among those the
 * bitmap has now (it does not grow), however long.  Returns its first
 * slot with its length in @got, or -ENOSPC when there is none.
 */
long slots_take_free(struct slots *slots, unsigned long from,
		     unsigned long *got);

/*
 * Frees @count slots from @first.  Slots already free, or beyond the
 * bitmap, are API misuse (a handle dropped twice, or forged): warned
 * about and left alone, so @used stays exact.
 */
void slots_free(struct slots *slots, unsigned long first, unsigned long count);

unsigned long slots_used(struct slots *slots);

#endif /* UTTM_SLOTS_H */
