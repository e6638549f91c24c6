// SPDX-License-Identifier: MIT
/*
 * Resident sets: which of the pages a store holds may be in memory, for
 * the budget (struct uttm_backup_ops::resident_bytes), and writing them
 * out of memory; see "Resident sets" in internal.h.
 */
#include <string.h>
#include <sys/mman.h>

#include "base/base.h"
#include "internal.h"

void uttm_resident_init(struct resident_set *set, unsigned long max)
{
	uttm_slots_init(&set->marks, max);
	pthread_rwlock_init(&set->out_lock, NULL);
	atomic_init(&set->cursor, 0);
}

void uttm_resident_fini(struct resident_set *set)
{
	uttm_slots_fini(&set->marks);
	pthread_rwlock_destroy(&set->out_lock);
}

void uttm_resident_lock(struct resident_set *set)
{
	pthread_rwlock_rdlock(&set->out_lock);
}

void uttm_resident_unlock(struct resident_set *set)
{
	pthread_rwlock_unlock(&set->out_lock);
}

uint64_t uttm_resident_bytes(struct resident_set *set)
{
	return (uint64_t)uttm_slots_used(&set->marks) << UTTM_PAGE_SHIFT;
}

/* Whether mincore() says the page is in memory. */
static bool in_memory(unsigned char v)
{
	return v & 1;
}

/* Length of the run from @vec[0] of pages as much in memory as the first. */
static unsigned long same_run(const unsigned char *vec, unsigned long count)
{
	unsigned long n = 1;

	while (n < count && in_memory(vec[n]) == in_memory(vec[0]))
		n++;
	return n;
}

/* Where mincore() cannot say, every page counts as in memory. */
static void measure(void *addr, unsigned long count, unsigned char *vec)
{
	if (mincore(addr, count << UTTM_PAGE_SHIFT, vec))
		memset(vec, 1, count);
}

void uttm_resident_page_out(void *addr, unsigned long count,
			    unsigned char *vec)
{
	uint64_t swap = uttm_sysmem_swap_free_bytes() >> UTTM_PAGE_SHIFT;

	measure(addr, count, vec);
	for (unsigned long i = 0, run; i < count; i += run) {
		char *at = (char *)addr + (i << UTTM_PAGE_SHIFT);
		size_t len;

		run = same_run(vec + i, count - i);
		if (!in_memory(vec[i]) || run > swap)
			continue;
		/*
		 * MADV_PAGEOUT only reclaims pages mapped in the range, and
		 * mapping one that is out would read it back in: only those
		 * in memory are mapped first.  With room in swap the kernel
		 * then writes each out; until the write completes it stays in
		 * the swap cache, clean, the first memory the kernel takes
		 * back when it needs any, so it counts as out already.
		 */
		len = run << UTTM_PAGE_SHIFT;
		if (madvise(at, len, MADV_POPULATE_READ) ||
		    madvise(at, len, MADV_PAGEOUT))
			continue;
		memset(vec + i, 0, run);
		swap -= run;
	}
}

unsigned long uttm_resident_forget(struct resident_set *set,
				   unsigned long first, unsigned long count,
				   const unsigned char *vec)
{
	unsigned long forgotten = 0;

	for (unsigned long i = 0, run; i < count; i += run) {
		run = same_run(vec + i, count - i);
		if (!in_memory(vec[i]))
			forgotten += uttm_slots_unmark(&set->marks, first + i,
						       run);
	}
	return forgotten;
}

uint64_t uttm_resident_writeback(struct resident_set *set, uint64_t bytes,
				 resident_page_out_fn page_out, void *store)
{
	unsigned long pages = DIV_ROUND_UP(bytes, UTTM_PAGE_SIZE), out = 0;
	unsigned long start, from, got;
	bool wrapped = false;
	long first;

	pthread_rwlock_wrlock(&set->out_lock);
	start = from = atomic_load(&set->cursor);
	while (out < pages) {
		first = uttm_slots_find_marked(&set->marks, from,
					       RESIDENT_BATCH, &got);
		if (first < 0 && !wrapped && start) {
			wrapped = true;
			from = 0;
			continue;
		}
		if (first < 0 || (wrapped && (unsigned long)first >= start))
			break;
		out += page_out(store, (unsigned long)first, got);
		from = (unsigned long)first + got;
	}
	atomic_store(&set->cursor, from);
	pthread_rwlock_unlock(&set->out_lock);
	return (uint64_t)out << UTTM_PAGE_SHIFT;
}
