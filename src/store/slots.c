// SPDX-License-Identifier: MIT
/*
 * Slot bitmap of the backup stores; see "Slots" in internal.h.  Searches
 * start where the last allocation ended, so a store filled in order hands
 * out one long run after another.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "internal.h"

#define BITS 64UL

void uttm_slots_init(struct slots *slots, unsigned long max)
{
	memset(slots, 0, sizeof(*slots));
	pthread_mutex_init(&slots->lock, NULL);
	slots->max = max;
}

void uttm_slots_fini(struct slots *slots)
{
	free(slots->words);
	pthread_mutex_destroy(&slots->lock);
}

/* Bits @first to @end - 1 of the bitmap that fall in word @w. */
static uint64_t word_mask(unsigned long w, unsigned long first,
			  unsigned long end)
{
	unsigned long lo = MAX(first, w * BITS) - w * BITS;
	unsigned long hi = MIN(end, (w + 1) * BITS) - w * BITS;

	return (hi - lo == BITS ? ~0ULL : (1ULL << (hi - lo)) - 1) << lo;
}

static unsigned long capacity(const struct slots *slots)
{
	return MIN(slots->nr_words * BITS, slots->max);
}

/*
 * First slot at or after @from, below @limit, that is used (@used) or
 * free (!@used); @limit when none is.  A word at a time: whole runs of
 * slots are skipped with one comparison.
 */
static unsigned long find_slot(const struct slots *slots, unsigned long from,
			       unsigned long limit, bool used)
{
	for (unsigned long w = from / BITS; w * BITS < limit; w++) {
		uint64_t hits = used ? slots->words[w] : ~slots->words[w];

		/* Slots of the first word before @from do not count. */
		if (w == from / BITS)
			hits &= ~0ULL << (from % BITS);
		if (hits)
			return MIN(w * BITS + (unsigned long)__builtin_ctzll(hits),
				   limit);
	}
	return limit;
}

/* Marks the free run from @first used, @want slots at most; its length. */
static unsigned long take_run(struct slots *slots, unsigned long first,
			      unsigned long want)
{
	unsigned long cap = capacity(slots);
	unsigned long end = find_slot(slots, first,
				      want < cap - first ? first + want : cap,
				      true);

	for (unsigned long w = first / BITS; w * BITS < end; w++)
		slots->words[w] |= word_mask(w, first, end);
	slots->used += end - first;
	return end - first;
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

long uttm_slots_alloc(struct slots *slots, unsigned long want,
		      unsigned long *got)
{
	unsigned long first, n;
	long ret;

	pthread_mutex_lock(&slots->lock);
	first = find_slot(slots, slots->hint * BITS, capacity(slots), false);
	if (first == capacity(slots) && slots->hint)
		first = find_slot(slots, 0, capacity(slots), false);
	/* Grow only when every slot is taken, so churn reuses slots. */
	while (first == capacity(slots)) {
		unsigned long old = slots->nr_words;

		ret = grow(slots);
		if (ret) {
			pthread_mutex_unlock(&slots->lock);
			return ret;
		}
		first = find_slot(slots, old * BITS, capacity(slots), false);
	}
	n = take_run(slots, first, want);
	slots->hint = (first + n) / BITS;
	pthread_mutex_unlock(&slots->lock);
	*got = n;
	return (long)first;
}

long uttm_slots_take_free(struct slots *slots, unsigned long from,
			  unsigned long *got)
{
	unsigned long first;

	pthread_mutex_lock(&slots->lock);
	first = find_slot(slots, from, capacity(slots), false);
	*got = first < capacity(slots) ? take_run(slots, first, ~0UL) : 0;
	pthread_mutex_unlock(&slots->lock);
	return *got ? (long)first : -ENOSPC;
}

/*
 * Clears slots @first to @end - 1, which the bitmap covers; returns how
 * many were set, and in @stray whether some were not.  Called with the
 * lock held.
 */
static unsigned long clear_range(struct slots *slots, unsigned long first,
				 unsigned long end, bool *stray)
{
	unsigned long cleared = 0;

	*stray = false;
	for (unsigned long w = first / BITS; w * BITS < end; w++) {
		uint64_t mask = word_mask(w, first, end);
		uint64_t held = mask & slots->words[w];

		*stray |= (mask & ~held) != 0;
		cleared += (unsigned long)__builtin_popcountll(held);
		slots->words[w] &= ~mask;
	}
	slots->used -= cleared;
	return cleared;
}

void uttm_slots_free(struct slots *slots, unsigned long first,
		     unsigned long count)
{
	bool stray = false;

	pthread_mutex_lock(&slots->lock);
	/* Slots of handles this store never made are left alone. */
	if (!UTTM_WARN_ON(first > capacity(slots) ||
			  count > capacity(slots) - first))
		clear_range(slots, first, first + count, &stray);
	pthread_mutex_unlock(&slots->lock);
	/* A slot freed twice must not count twice. */
	UTTM_WARN_ON(stray);
}

long uttm_slots_mark(struct slots *slots, unsigned long first,
		     unsigned long count)
{
	unsigned long end = first + count, marked = 0;
	long ret = 0;

	pthread_mutex_lock(&slots->lock);
	while (!ret && capacity(slots) < MIN(end, slots->max))
		ret = grow(slots);
	if (!ret && end > capacity(slots))
		ret = -EINVAL;
	for (unsigned long w = first / BITS; !ret && w * BITS < end; w++) {
		uint64_t mask = word_mask(w, first, end);

		marked += (unsigned long)__builtin_popcountll(mask &
							     ~slots->words[w]);
		slots->words[w] |= mask;
	}
	slots->used += marked;
	pthread_mutex_unlock(&slots->lock);
	return ret ? ret : (long)marked;
}

unsigned long uttm_slots_unmark(struct slots *slots, unsigned long first,
				unsigned long count)
{
	unsigned long cleared = 0;
	bool stray;

	pthread_mutex_lock(&slots->lock);
	first = MIN(first, capacity(slots));
	count = MIN(count, capacity(slots) - first);
	cleared = clear_range(slots, first, first + count, &stray);
	pthread_mutex_unlock(&slots->lock);
	return cleared;
}

long uttm_slots_find_marked(struct slots *slots, unsigned long from,
			    unsigned long most, unsigned long *got)
{
	unsigned long first, end;

	pthread_mutex_lock(&slots->lock);
	first = find_slot(slots, MIN(from, capacity(slots)), capacity(slots),
			  true);
	end = first < capacity(slots) ?
	      find_slot(slots, first, first + MIN(most, capacity(slots) - first),
			false) : first;
	pthread_mutex_unlock(&slots->lock);
	*got = end - first;
	return *got ? (long)first : -ENOENT;
}

unsigned long uttm_slots_used(struct slots *slots)
{
	unsigned long used;

	pthread_mutex_lock(&slots->lock);
	used = slots->used;
	pthread_mutex_unlock(&slots->lock);
	return used;
}
