// SPDX-License-Identifier: MIT
/*
 * Kept copies: the store's copy of a restored page, kept until the page
 * is written, so that backing the page up again costs no write.
 */
#include <errno.h>

#include "base/base.h"
#include "store/internal.h"
#include "internal.h"

/*
 * DOC: Kept copies
 *
 * A restore reads each page from the store and would drop its handle at
 * once.  Most objects are read far more often than they are written, so
 * the next backup writes the very bytes the store just gave back.  The
 * kernel meets the same waste with the swap cache: a page read back from
 * swap keeps its swap slot while it stays clean, and reclaiming it again
 * needs no write.
 *
 * A vector made with UTTM_TT_FLAG_TRACK_DIRTY does the same.  Its owner
 * promises to report every write (uttm_tt_mark_dirty()) before the next
 * backup; a restore then keeps the handle of each page it copies in, in
 * @tt->copies at the page's index, and a backup hands back the handles of
 * whole blocks whose pages all still have theirs instead of writing
 * them: the pages are freed, the handles go into the vector, and the
 * store is not called at all.  A block with one page written goes to the
 * store whole, as it would without copies; dirtiness is per page, but a
 * block leaves the vector as one.
 *
 * A copy is a live handle: it holds room in the store, which is why the
 * store decides whether to keep one (uttm_store_keep_copies()): never a
 * store that holds its pages in memory, whose copy would hold what the
 * backup is there to free (a compressed tier keeps those of its lower
 * store), and never more than the room that stays free after them.
 * Copies go when they cannot be right any more: a write, a purge, an
 * unpopulate, another store, a release, and the pages a backup leaves in
 * the vector.
 */

bool uttm_tt_all_copied(const struct uttm_tt *tt, unsigned long first,
			unsigned long count)
{
	if (!tt->copies || tt->copies->count < count)
		return false;
	/* A clean vector, as most are between restore and backup. */
	if (tt->copies->count == tt->num_pages)
		return true;
	for (unsigned long i = 0; i < count; i++)
		if (!tt->copies->handles[first + i])
			return false;
	return true;
}

/* Copies given back to the store at once. */
#define COPY_BATCH 256u

static void forget_and_drop(struct uttm_tt *tt, const unsigned long *handles,
			    unsigned long count)
{
	if (!count)
		return;
	uttm_store_forget_copies(tt->backup, count);
	uttm_backup_drop(tt->backup, handles, count);
}

void uttm_tt_drop_copies(struct uttm_tt *tt, unsigned long first,
			 unsigned long count)
{
	struct uttm_tt_copies *copies = tt->copies;
	unsigned long handles[COPY_BATCH];
	unsigned long n = 0;

	for (unsigned long i = first;
	     copies && copies->count && i < first + count; i++) {
		if (!copies->handles[i])
			continue;
		handles[n++] = copies->handles[i];
		copies->handles[i] = 0;
		copies->count--;
		if (n == COPY_BATCH) {
			forget_and_drop(tt, handles, n);
			n = 0;
		}
	}
	forget_and_drop(tt, handles, n);
}

void uttm_tt_take_copies(struct uttm_tt *tt, unsigned long first,
			 unsigned long count, unsigned long *handles)
{
	for (unsigned long i = 0; i < count; i++) {
		handles[i] = tt->copies->handles[first + i];
		tt->copies->handles[first + i] = 0;
	}
	tt->copies->count -= count;
	uttm_store_forget_copies(tt->backup, count);
}

void uttm_tt_keep_copies(struct uttm_tt *tt, unsigned long first,
			 const unsigned long *handles, unsigned long count)
{
	unsigned long n;
	bool keep;

	if (!tt->copies) {
		uttm_backup_drop(tt->backup, handles, count);
		return;
	}
	for (; count; first += n, handles += n, count -= n) {
		n = uttm_store_keep_copies(tt->backup, handles, count, &keep);
		if (!keep) {
			uttm_backup_drop(tt->backup, handles, n);
			continue;
		}
		for (unsigned long i = 0; i < n; i++)
			tt->copies->handles[first + i] = handles[i];
		tt->copies->count += n;
	}
}

int uttm_tt_mark_dirty(struct uttm_tt *tt, unsigned long first,
		       unsigned long count)
{
	if (UTTM_WARN_ON(!tt || !tt->pages) || first > tt->num_pages ||
	    count > tt->num_pages - first)
		return -EINVAL;
	uttm_tt_drop_copies(tt, first, count);
	return 0;
}
