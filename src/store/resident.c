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

unsigned long uttm_resident_forget(struct slots *set, unsigned long first,
				   unsigned long count,
				   const unsigned char *vec)
{
	unsigned long forgotten = 0;

	for (unsigned long i = 0, run; i < count; i += run) {
		run = same_run(vec + i, count - i);
		if (!in_memory(vec[i]))
			forgotten += uttm_slots_unmark(set, first + i, run);
	}
	return forgotten;
}

unsigned long uttm_resident_writeback(struct slots *set, atomic_ulong *cursor,
				      unsigned long pages,
				      resident_page_out_fn page_out,
				      void *store)
{
	unsigned long start = atomic_load(cursor), from = start, got, out = 0;
	bool wrapped = false;
	long first;

	while (out < pages) {
		first = uttm_slots_find_marked(set, from, RESIDENT_BATCH, &got);
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
	atomic_store(cursor, from);
	return out;
}
