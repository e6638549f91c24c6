// SPDX-License-Identifier: MIT
/*
 * Fragmented arenas; see fragment.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "support/fragment.h"

int fragment_arena(struct uttm_arena *arena, struct spacers *sp)
{
	struct uttm_arena_stats stats;
	unsigned long n = 0, max;

	uttm_arena_stats(arena, &stats);
	max = (unsigned long)(stats.max_bytes / UTTM_PAGE_SIZE);
	sp->pages = malloc(max * sizeof(*sp->pages));
	if (!sp->pages)
		return -ENOMEM;
	while (n < max && !uttm_alloc_pages(arena, 0, &sp->pages[n]))
		n++;
	sp->count = 0;
	for (unsigned long i = 0; i < n; i++) {
		struct uttm_page *page = sp->pages[i];

		if (uttm_page_offset(arena, page) / UTTM_PAGE_SIZE % 2) {
			sp->pages[i] = sp->pages[sp->count];
			sp->pages[sp->count++] = page;
		}
	}
	uttm_free_pages(arena, sp->pages + sp->count, n - sp->count);
	return 0;
}

void unfragment_arena(struct uttm_arena *arena, struct spacers *sp)
{
	uttm_free_pages(arena, sp->pages, sp->count);
	free(sp->pages);
}

bool tt_scattered(const struct uttm_tt *tt)
{
	for (unsigned long i = 1; i < tt->num_pages; i++)
		if ((char *)uttm_tt_page_address(tt, i) ==
		    (char *)uttm_tt_page_address(tt, i - 1) + UTTM_PAGE_SIZE)
			return false;
	return true;
}
