// SPDX-License-Identifier: MIT
/*
 * Slot bitmap of the backup stores; see slots.h.  Searches start where
 * the last allocation ended, so a store filled in order hands out one
 * long run after another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "slots.h"

#define BITS 64UL

void slots_init(struct slots *slots, unsigned long max)
{
	memset(slots, 0, sizeof(*slots));
	pthread_mutex_init(&slots->lock, NULL);
	slots->max = max;
}

void slots_fini(struct slots *slots)
{
	free(slots->words);
	pthread_mutex_destroy(&slots->lock);
}

static bool slot_used(const struct slots *slots, unsigned long slot)
{
	return slots->words[slot / BITS] >> (slot % BITS) & 1;
}

static void mark(struct slots *slots, unsigned long first, unsigned long count,
		 bool used)
{
	for (unsigned long s = first; s < first + count; s++) {
		if (used)
			slots->words[s / BITS] |= 1ULL << (s % BITS);
		else
			slots->words[s / BITS] &= ~(1ULL << (s % BITS));
	}
}

static unsigned long capacity(const struct slots *slots)
{
	return MIN(slots->nr_words * BITS, slots->max);
}

/* First free slot at or after slot @from, or capacity() when none. */
static unsigned long find_free(const struct slots *slots, unsigned long from)
{
	for (unsigned long w = from / BITS; w < slots->nr_words; w++) {
		uint64_t used = slots->words[w];

		/* Slots of the first word before @from count as used. */
		if (w == from / BITS)
			used |= (1ULL << (from % BITS)) - 1;
		if (used != ~0ULL) {
			unsigned long s = w * BITS +
				(unsigned long)__builtin_ctzll(~used);

			return MIN(s, capacity(slots));
		}
	}
	return capacity(slots);
}

/* Marks the free run from @first used, @want slots at most; its length. */
static unsigned long take_run(struct slots *slots, unsigned long first,
			      unsigned long want)
{
	unsigned long n = 0;

	while (n < want && first + n < capacity(slots) &&
	       !slot_used(slots, first + n))
		n++;
	mark(slots, first, n, true);
	slots->used += n;
	return n;
}

static int grow(struct slots *slots)
{
	unsigned long n = MAX(16UL, 2 * slots->nr_words);
	uint64_t *words;

	n = MIN(n, DIV_ROUND_UP(slots->max, BITS));
	if (n <= slots->nr_words)
		return -ENOSPC;
	words = realloc(slots->words, n * sizeof(*words));
	if (!words)
		return -ENOMEM;
	memset(words + slots->nr_words, 0,
	       (n - slots->nr_words) * sizeof(*words));
	slots->words = words;
	slots->nr_words = n;
	return 0;
}

long slots_alloc(struct slots *slots, unsigned long want, unsigned long *got)
{
	unsigned long first, n;
	long ret;

	pthread_mutex_lock(&slots->lock);
	first = find_free(slots, slots->hint * BITS);
	if (first == capacity(slots) && slots->hint)
		first = find_free(slots, 0);
	/* Grow only when every slot is taken, so churn reuses slots. */
	while (first == capacity(slots)) {
		unsigned long old = slots->nr_words;

		ret = grow(slots);
		if (ret) {
			pthread_mutex_unlock(&slots->lock);
			return ret;
		}
		first = find_free(slots, old * BITS);
	}
	n = take_run(slots, first, want);
	slots->hint = (first + n) / BITS;
	pthread_mutex_unlock(&slots->lock);
	*got = n;
	return (long)first;
}

long slots_take_free(struct slots *slots, unsigned long from,
		     unsigned long *got)
{
	unsigned long first;

	pthread_mutex_lock(&slots->lock);
	first = find_free(slots, from);
	*got = first < capacity(slots) ? take_run(slots, first, ~0UL) : 0;
	pthread_mutex_unlock(&slots->lock);
	return *got ? (long)first : -ENOSPC;
}

void slots_free(struct slots *slots, unsigned long first, unsigned long count)
{
	pthread_mutex_lock(&slots->lock);
	mark(slots, first, count, false);
	slots->used -= count;
	pthread_mutex_unlock(&slots->lock);
}

unsigned long slots_used(struct slots *slots)
{
	unsigned long used;

	pthread_mutex_lock(&slots->lock);
	used = slots->used;
	pthread_mutex_unlock(&slots->lock);
	return used;
}
