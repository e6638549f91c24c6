// SPDX-License-Identifier: MIT
/*
 * Backup and restore of page vectors: purge, partial backup (by copy or
 * zero-copy insertion), resumable restore, and release in any state.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "pool/internal.h"
#include "store/internal.h"
#include "internal.h"

/*
 * DOC: Partial backup and restore
 *
 * Backing a page up may fail (the store is full, memory is short) and so
 * may copying it back (memory is short, a signal arrives, the disk
 * fails).  Neither may lose data.
 *
 * A failed backup is simple to live with because a vector can hold pages
 * and handles side by side: backup stops at the first page the store
 * refuses, and the pages not backed up stay where they are, plain and
 * unmapped.  The vector is then marked backed up and swapped, so that it
 * is not backed up a second time before it has been restored, and it
 * reads as unpopulated.
 *
 * Restoring allocates new pages for the whole vector from the pool, block
 * by block as any population does, and fills them span by span: a span
 * is as many consecutive blocks as the restore state can remember the
 * old entries of (1024 pages), so that a store on disk reads long runs
 * of handles at once even when fragmented memory gives single pages.  A
 * page that was backed up is copied from the store and its handle
 * dropped at once; a page that was never backed up is copied from the
 * old page, which is then freed.  Until then old and new page stand side
 * by side, so a block that replaces old pages is a span of its own, of
 * at most 256 pages: a restore never holds more than that beyond the
 * vector's own size (uttm_tt_footprint() says how much, for callers that
 * must charge it against a limit first).  Copying even the pages that stayed keeps
 * one simple rule: after a restore every page came from the pool, in the
 * vector's caching state.
 *
 * struct uttm_tt_restore holds everything needed to resume: the pool's
 * allocation state (where the next block goes, where the caching divide
 * is) and the old entries of the span being filled with how many of
 * them are done.  A restore that fails or is interrupted returns with the
 * state attached to the vector; the next populate call picks it up where
 * it stopped.  The state is freed as soon as the restore completes, so it
 * never outlives the backed-up content it describes.  Destroying a vector
 * in any of these states drops every handle it still holds and frees
 * every page, old and new.
 */

/*
 * DOC: Zero-copy insertion
 *
 * A store with an insert operation takes a block where it lies: the
 * block's memory changes owner, nothing is copied, nothing allocated, and
 * its pages get consecutive handles.  Backup then offers the vector block
 * by block, each at its own order, so blocks are never split on the way
 * to such a store; only a block the store refuses whole is split and
 * offered page by page, as the kernel does when shmem_insert_folio()
 * fails for a large folio.  Restore and release need nothing new: the
 * store copies pages back and drops handles like any other.
 *
 * A block leaves its caching state and device mapping before it changes
 * owner, so the guarantee that a backup of which not a page succeeds
 * leaves the vector unchanged needs the outcome decided first.  The
 * fault injector is consulted for every page of a block before the block
 * is touched, and uttm_tt_backup() asks the store for room for a page
 * before the first block.  Only a store shared with another thread that
 * fills it in between can still refuse the first page; the block has
 * then left its state, and the vector is left partly backed up without a
 * single handle, which is as consistent and as restorable as any partial
 * backup.
 */

/* Pages handed to a store in one call. */
#define BACKUP_CHUNK (1u << UTTM_MAX_ORDER)
/* Entries gathered before one call to the store or the arena. */
#define ENTRY_BATCH 256u

/**
 * struct uttm_tt_restore - progress of a restore
 * @alloc: where allocation of new pages resumes.
 * @first_page: first vector entry of the span being filled.
 * @span_pages: pages of that span, one or more whole blocks.
 * @restored_pages: pages of that span already filled.
 * @max_span: entries @old_pages holds: a span's most pages.
 * @bin: while a call restores: where old pages go and new ones come
 * from first, or NULL.
 * @old_pages: the entries the span's new pages replaced.
 */
struct uttm_tt_restore {
	struct uttm_pool_alloc_state alloc;
	struct uttm_page **first_page;
	unsigned long span_pages;
	unsigned long restored_pages;
	unsigned long max_span;
	struct uttm_pool_recycle *bin;
	struct uttm_page *old_pages[];
};

/*
 * A span is at most 1024 pages: no block is larger, nor need be a read.
 * A span that replaces old pages is one block of at most 256.
 */
#define OLD_SPAN_ORDER 8
#define OLD_SPAN_PAGES (1UL << OLD_SPAN_ORDER)

static unsigned long max_span(const struct uttm_tt *tt)
{
	return MIN(tt->num_pages, 1UL << UTTM_MAX_ORDER);
}

static size_t restore_size(const struct uttm_tt *tt)
{
	return sizeof(struct uttm_tt_restore) +
	       max_span(tt) * sizeof(struct uttm_page *);
}

/*
 * The old pages a restore has yet to free: pages of the vector that are
 * not among the new ones placed so far.
 */
static unsigned long old_pages_held(const struct uttm_tt *tt)
{
	unsigned long placed = tt->restore ?
		(unsigned long)(tt->restore->alloc.pages - tt->pages) : 0;

	return tt->resident_pages - placed;
}

void uttm_tt_footprint(const struct uttm_tt *tt,
		       struct uttm_tt_footprint *now,
		       struct uttm_tt_footprint *populate)
{
	struct uttm_tt_footprint mine = {
		.pages = tt->resident_pages,
		.metadata_bytes = uttm_heap_bytes(tt->pages) +
				  uttm_heap_bytes(tt->dma_address) +
				  uttm_heap_bytes(tt->restore),
	};

	if (now)
		*now = mine;
	if (!populate)
		return;
	*populate = mine;
	if (uttm_tt_is_populated(tt))
		return;
	/*
	 * Whatever has been restored so far, a span's new pages stand beside
	 * the old ones they replace until each is copied and freed: at most
	 * every page plus the old pages of one span.
	 */
	populate->pages = tt->num_pages;
	if (!uttm_tt_is_backed_up(tt))
		return;
	populate->pages += MIN(old_pages_held(tt), OLD_SPAN_PAGES) +
			   MIN(tt->num_pages, (unsigned long)ENTRY_BATCH);
	if (!tt->restore)
		populate->metadata_bytes += uttm_heap_bytes_of(restore_size(tt));
}

int uttm_tt_set_backup(struct uttm_tt *tt, struct uttm_backup *backup)
{
	if (UTTM_WARN_ON(!tt) ||
	    UTTM_WARN_ON(backup && backup->ops->insert &&
			 backup->arena != tt->pool->arena))
		return -EINVAL;
	if (uttm_tt_is_backed_up(tt))
		return -EBUSY;
	uttm_tt_drop_copies(tt, 0, tt->num_pages);
	if (backup)
		uttm_backup_get(backup);
	uttm_backup_put(tt->backup);
	tt->backup = backup;
	return 0;
}

static unsigned long entry_pages(const struct uttm_page *entry)
{
	return uttm_backup_page_ptr_is_handle(entry) ?
	       1 : 1UL << uttm_page_order(entry);
}

/* Entries [@first, @first + @count), whole blocks, go plain and unmapped. */
static void leave_state(struct uttm_tt *tt, unsigned long first,
			unsigned long count)
{
	uttm_pool_unmap(tt->pool, tt->pages + first,
			tt->dma_address ? tt->dma_address + first : NULL, count);
	uttm_pool_make_plain(tt->pool, tt->pages + first, count, tt->caching);
}

/* The pages at @first, now the store's, make way for their handles. */
static void put_handles(struct uttm_tt *tt, unsigned long first,
			unsigned long count, const unsigned long *handles)
{
	for (unsigned long i = 0; i < count; i++)
		tt->pages[first + i] = uttm_backup_handle_to_page_ptr(handles[i]);
	tt->resident_pages -= count;
}

/*
 * Frees backed-up pages [@first, @first + @count) of @tt, whole blocks,
 * and puts their handles in their place.  The mapping goes with the
 * first page that does, not before: a backup that moves nothing leaves
 * the vector as it was.
 */
static void commit_backed_up(struct uttm_tt *tt, unsigned long first,
			     unsigned long count, const unsigned long *handles,
			     struct uttm_pool_recycle *bin)
{
	if (!count)
		return;
	uttm_tt_vunmap(tt);
	__uttm_pool_release(tt->pool, tt->pages + first,
			    tt->dma_address ? tt->dma_address + first : NULL,
			    count, tt->caching, bin);
	put_handles(tt, first, count, handles);
}

/*
 * The block at @first had only its first @count pages backed up: it
 * leaves its state and mapping whole, is split, and those pages go.
 */
static void commit_partial_block(struct uttm_tt *tt, unsigned long first,
				 unsigned long count,
				 const unsigned long *handles,
				 struct uttm_pool_recycle *bin)
{
	leave_state(tt, first, entry_pages(tt->pages[first]));
	uttm_split_page(tt->pages[first]);
	uttm_tt_vunmap(tt);
	__uttm_pool_release(tt->pool, tt->pages + first, NULL, count,
			    UTTM_PLAIN, bin);
	put_handles(tt, first, count, handles);
}

/*
 * A backup under way: the first entry still in its original state, the
 * pages that left and how many of them without a write, how, and where
 * freed pages go (NULL: the system).
 */
struct backup_walk {
	unsigned long pos;
	unsigned long shrunken;
	unsigned long clean;
	bool writeback;
	struct uttm_pool_recycle *bin;
};

/*
 * The pages of the whole blocks from @pos, up to BACKUP_CHUNK, that all
 * have copies in the store (@copied) or that all lack a full set.
 */
static unsigned long chunk_pages(const struct uttm_tt *tt, unsigned long pos,
				 bool copied)
{
	unsigned long end = pos, nr;

	while (end < tt->num_pages) {
		nr = entry_pages(tt->pages[end]);
		if (end - pos + nr > BACKUP_CHUNK ||
		    uttm_tt_all_copied(tt, end, nr) != copied)
			break;
		end += nr;
	}
	return end - pos;
}

/* Backs up the @n pages from @walk->pos, whose copies are in the store. */
static void commit_copies(struct uttm_tt *tt, struct backup_walk *walk,
			  unsigned long n)
{
	unsigned long handles[BACKUP_CHUNK];

	uttm_tt_take_copies(tt, walk->pos, n, handles);
	commit_backed_up(tt, walk->pos, n, handles, walk->bin);
	walk->pos += n;
	walk->shrunken += n;
	walk->clean += n;
}

/*
 * Writes the @n pages of whole blocks from @walk->pos, which lack a full
 * set of copies, to the store, their copies of pages not written since
 * dropped first.  Returns 0, or the store's error once the pages it took
 * are committed.  Either way the position moves to the first entry
 * still in its original state.
 */
static int write_chunk(struct uttm_tt *tt, struct backup_walk *walk,
		       unsigned long n)
{
	void *src[BACKUP_CHUNK];
	unsigned long handles[BACKUP_CHUNK];
	unsigned long *pos = &walk->pos;
	unsigned long done, whole = 0, nr;
	int ret;

	uttm_tt_drop_copies(tt, *pos, n);
	for (unsigned long i = 0; i < n; i++)
		src[i] = uttm_tt_page_address(tt, *pos + i);
	ret = uttm_store_backup_pages(tt->backup, src, n, walk->writeback,
				      handles, &done);
	while (whole < done &&
	       whole + entry_pages(tt->pages[*pos + whole]) <= done)
		whole += entry_pages(tt->pages[*pos + whole]);
	commit_backed_up(tt, *pos, whole, handles, walk->bin);
	*pos += whole;
	walk->shrunken += done;
	if (done > whole) {
		nr = entry_pages(tt->pages[*pos]);
		commit_partial_block(tt, *pos, done - whole, handles + whole,
				     walk->bin);
		*pos += nr;
	}
	return ret;
}

/*
 * Backs up the next blocks from @walk->pos through a store that copies:
 * those whose pages all have copies without a write, else by writing.
 */
static int backup_chunk(struct uttm_tt *tt, struct backup_walk *walk)
{
	bool copied = uttm_tt_all_copied(tt, walk->pos,
					 entry_pages(tt->pages[walk->pos]));
	unsigned long n = chunk_pages(tt, walk->pos, copied);

	if (!copied)
		return write_chunk(tt, walk, n);
	commit_copies(tt, walk, n);
	return 0;
}

/* Inserts a block whole; returns its pages, each with its handle, or 0. */
static unsigned long insert_whole(struct uttm_backup *backup,
				  struct uttm_page *block, bool writeback,
				  unsigned long *handles)
{
	unsigned long nr = 1UL << uttm_page_order(block);
	long handle = uttm_store_insert(backup, block, writeback);

	if (handle < 0)
		return 0;
	for (unsigned long j = 0; j < nr; j++)
		handles[j] = (unsigned long)handle + j;
	return nr;
}

/* Inserts @count pages one by one; stops at the first refused, in @error. */
static unsigned long insert_each(struct uttm_backup *backup,
				 struct uttm_page **pages, unsigned long count,
				 bool writeback, unsigned long *handles,
				 int *error)
{
	unsigned long i;
	long handle;

	for (i = 0; i < count; i++) {
		handle = uttm_store_insert(backup, pages[i], writeback);
		if (handle < 0) {
			*error = (int)handle;
			break;
		}
		handles[i] = (unsigned long)handle;
	}
	return i;
}

/*
 * Hands the block at @walk->pos to the store without a copy: whole, or
 * split and page by page when it cannot go whole.  Injected faults are
 * decided before the block leaves its state, so a block of which no page
 * may go stays as it is.  Returns 0, or the error that stops the backup;
 * the position moves past the block once it has left its state.
 */
static int insert_step(struct uttm_tt *tt, struct backup_walk *walk)
{
	unsigned long *pos = &walk->pos;
	bool writeback = walk->writeback;
	struct uttm_page **pages = tt->pages + *pos;
	unsigned long handles[1u << UTTM_MAX_ORDER];
	unsigned long nr = entry_pages(pages[0]), limit, done = 0;
	int ret;

	limit = uttm_store_fault_limit(tt->backup->fault, UTTM_FAULT_BACKUP, nr,
				       &ret);
	if (!limit)
		return ret;
	uttm_tt_vunmap(tt);
	leave_state(tt, *pos, nr);
	if (nr > 1 && limit == nr)
		done = insert_whole(tt->backup, pages[0], writeback, handles);
	if (!done) {
		uttm_split_page(pages[0]);
		done = insert_each(tt->backup, pages, limit, writeback, handles,
				   &ret);
	}
	put_handles(tt, *pos, done, handles);
	*pos += nr;
	walk->shrunken += done;
	return ret;
}

static long tt_purge(struct uttm_tt *tt, struct uttm_pool_recycle *bin)
{
	unsigned long freed;

	uttm_tt_drop_copies(tt, 0, tt->num_pages);
	uttm_tt_vunmap(tt);
	freed = __uttm_pool_release(tt->pool, tt->pages, tt->dma_address,
				    tt->num_pages, tt->caching, bin);
	tt->resident_pages = 0;
	tt->page_flags &= ~UTTM_TT_FLAG_PRIV_POPULATED;
	return (long)freed;
}

int uttm_tt_backup_check(const struct uttm_tt *tt,
			 const struct uttm_backup_flags *flags)
{
	if (UTTM_WARN_ON(!tt || !tt->pages || !flags) ||
	    UTTM_WARN_ON(uttm_tt_is_backed_up(tt)) ||
	    !UTTM_RESERVED_CLEAR(flags))
		return -EINVAL;
	if (!uttm_tt_is_populated(tt) || flags->purge)
		return 0;
	if (!tt->backup || uttm_store_inherited(tt->backup))
		return -EBUSY;
	/* Pages whose copies are all in the store need no room. */
	if (!uttm_tt_all_copied(tt, 0, tt->num_pages) &&
	    uttm_backup_bytes_avail(tt->backup) < UTTM_PAGE_SIZE)
		return -EBUSY;
	return 0;
}

long __uttm_tt_backup(struct uttm_tt *tt, const struct uttm_backup_flags *flags,
		      struct uttm_pool_recycle *bin, unsigned long *clean)
{
	int (*step)(struct uttm_tt *tt, struct backup_walk *walk);
	struct backup_walk walk = { .writeback = flags->writeback, .bin = bin };
	int ret = 0;

	*clean = 0;
	if (!uttm_tt_is_populated(tt))
		return 0;
	if (flags->purge)
		return tt_purge(tt, bin);

	step = tt->backup->ops->insert ? insert_step : backup_chunk;
	while (walk.pos < tt->num_pages && !ret)
		ret = step(tt, &walk);
	/* Not a page left its place: the vector is as it was. */
	if (!walk.pos)
		return ret;
	*clean = walk.clean;
	/* The whole blocks that stay become plain and unmapped, uncopied. */
	uttm_tt_drop_copies(tt, walk.pos, tt->num_pages - walk.pos);
	leave_state(tt, walk.pos, tt->num_pages - walk.pos);
	tt->page_flags &= ~UTTM_TT_FLAG_PRIV_POPULATED;
	tt->page_flags |= UTTM_TT_FLAG_PRIV_BACKED_UP | UTTM_TT_FLAG_SWAPPED;
	return walk.shrunken ? (long)walk.shrunken : ret;
}

long uttm_tt_backup(struct uttm_tt *tt, const struct uttm_backup_flags *flags)
{
	int ret = uttm_tt_backup_check(tt, flags);
	unsigned long clean;

	return ret ? ret : __uttm_tt_backup(tt, flags, NULL, &clean);
}

/* Drops the handles and frees the pages of @count vector entries. */
static void release_entries(struct uttm_tt *tt, struct uttm_page **entries,
			    unsigned long count)
{
	struct uttm_page *pages[ENTRY_BATCH];
	unsigned long handles[ENTRY_BATCH];
	unsigned int np = 0, nh = 0;

	for (unsigned long i = 0; i < count; i++) {
		struct uttm_page *entry = entries[i];

		if (uttm_backup_page_ptr_is_handle(entry)) {
			handles[nh++] = uttm_backup_page_ptr_to_handle(entry);
		} else {
			/* A block that stayed whole goes page by page. */
			if (uttm_page_order(entry))
				uttm_split_page(entry);
			pages[np++] = entry;
		}
		if (nh == ENTRY_BATCH || i + 1 == count) {
			uttm_backup_drop(tt->backup, handles, nh);
			nh = 0;
		}
		if (np == ENTRY_BATCH || i + 1 == count) {
			tt->resident_pages -= uttm_pool_release(tt->pool, pages,
								NULL, np,
								UTTM_PLAIN);
			np = 0;
		}
	}
}

void uttm_tt_release_backed_up(struct uttm_tt *tt)
{
	struct uttm_tt_restore *restore = tt->restore;
	unsigned long first = 0;

	uttm_tt_drop_copies(tt, 0, tt->num_pages);
	if (restore) {
		unsigned long divide = (unsigned long)
			(restore->alloc.caching_divide - tt->pages);
		uint64_t *dma = tt->dma_address;

		first = (unsigned long)(restore->alloc.pages - tt->pages);
		release_entries(tt, restore->old_pages + restore->restored_pages,
				restore->span_pages - restore->restored_pages);
		uttm_pool_free(tt->pool, tt->pages, dma, divide, tt->caching);
		uttm_pool_free(tt->pool, tt->pages + divide,
			       dma ? dma + divide : NULL, first - divide,
			       UTTM_PLAIN);
		tt->resident_pages -= first;
		free(restore);
		tt->restore = NULL;
	}
	release_entries(tt, tt->pages + first, tt->num_pages - first);
	memset(tt->pages, 0, tt->num_pages * sizeof(*tt->pages));
	tt->page_flags &= ~(UTTM_TT_FLAG_PRIV_BACKED_UP | UTTM_TT_FLAG_SWAPPED);
}

/*
 * Copies @count old pages (never backed up) into place and frees them,
 * into @bin when there is one.
 */
static void restore_from_pages(struct uttm_tt *tt, struct uttm_page **old,
			       struct uttm_page **dst, unsigned long count,
			       struct uttm_pool_recycle *bin)
{
	for (unsigned long i = 0; i < count; i++) {
		if (uttm_page_order(old[i]))
			uttm_split_page(old[i]);
		memcpy(uttm_pool_page_address(tt->pool, dst[i]),
		       uttm_pool_page_address(tt->pool, old[i]),
		       UTTM_PAGE_SIZE);
	}
	tt->resident_pages -= __uttm_pool_release(tt->pool, old, NULL, count,
						  UTTM_PLAIN, bin);
}

/*
 * Copies @count pages from the store into place, keeping each handle as
 * the page's copy or dropping it.
 */
static int restore_from_store(struct uttm_tt *tt, struct uttm_page **old,
			      struct uttm_page **dst, unsigned long count,
			      const struct uttm_operation_ctx *ctx,
			      unsigned long *done)
{
	unsigned long handles[ENTRY_BATCH];
	void *addr[ENTRY_BATCH];
	int ret;

	for (unsigned long i = 0; i < count; i++) {
		handles[i] = uttm_backup_page_ptr_to_handle(old[i]);
		addr[i] = uttm_pool_page_address(tt->pool, dst[i]);
	}
	ret = uttm_store_copy_pages(tt->backup, addr, handles, count, ctx,
				    done);
	uttm_tt_keep_copies(tt, (unsigned long)(dst - tt->pages), handles,
			    *done);
	return ret;
}

/* Length of the run at @entries of entries of the same kind as the first. */
static unsigned long same_kind_run(struct uttm_page *const *entries,
				   unsigned long count)
{
	bool handle = uttm_backup_page_ptr_is_handle(entries[0]);
	unsigned long n = 1;

	while (n < count && n < ENTRY_BATCH &&
	       uttm_backup_page_ptr_is_handle(entries[n]) == handle)
		n++;
	return n;
}

/* Fills the rest of the span being restored. */
static int restore_span(struct uttm_tt *tt, struct uttm_tt_restore *restore,
			 const struct uttm_operation_ctx *ctx)
{
	while (restore->restored_pages < restore->span_pages) {
		unsigned long k = restore->restored_pages, n, done;
		struct uttm_page **old = restore->old_pages + k;
		int ret;

		n = same_kind_run(old, restore->span_pages - k);
		if (!uttm_backup_page_ptr_is_handle(old[0])) {
			restore_from_pages(tt, old, restore->first_page + k, n,
					   restore->bin);
			restore->restored_pages += n;
			continue;
		}
		ret = restore_from_store(tt, old, restore->first_page + k, n,
					 ctx, &done);
		restore->restored_pages += done;
		if (ret)
			return ret;
	}
	return 0;
}

static bool covers_old_pages(struct uttm_page *const *entries,
			     unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		if (!uttm_backup_page_ptr_is_handle(entries[i]))
			return true;
	return false;
}

/*
 * Places the next block of the restore.  One that replaces pages never
 * backed up (@old) is at most OLD_SPAN_PAGES, so that no more old pages
 * than that wait beside their copies.
 */
static int next_block(struct uttm_tt *tt, struct uttm_tt_restore *restore,
		      bool old)
{
	struct uttm_pool_alloc_state *alloc = &restore->alloc;
	unsigned int order = alloc->order;
	int ret;

	if (!old || order <= OLD_SPAN_ORDER)
		return __uttm_pool_alloc_block(tt->pool, alloc, restore->bin);
	alloc->order = OLD_SPAN_ORDER;
	ret = __uttm_pool_alloc_block(tt->pool, alloc, restore->bin);
	/* That order could be had, so larger ones are still worth a try. */
	if (alloc->order == OLD_SPAN_ORDER)
		alloc->order = order;
	return ret;
}

/*
 * Allocates the next blocks and saves the entries they replace: as many
 * blocks as @restore->old_pages can hold the entries of while they
 * replace handles only, and one block on its own when it replaces old
 * pages.  An allocation that fails after the first block ends the span
 * early; the next span meets the failure again if it lasts.
 */
static int restore_next_span(struct uttm_tt *tt,
			     struct uttm_tt_restore *restore)
{
	restore->first_page = restore->alloc.pages;
	restore->span_pages = 0;
	restore->restored_pages = 0;
	while (restore->alloc.remaining_pages) {
		struct uttm_page **at = restore->alloc.pages;
		unsigned long most =
			1UL << uttm_pool_alloc_max_order(&restore->alloc);
		bool old = covers_old_pages(at, most);
		int order;

		if (restore->span_pages &&
		    (old || restore->span_pages + most > restore->max_span))
			break;
		memcpy(restore->old_pages + restore->span_pages, at,
		       most * sizeof(*at));
		order = next_block(tt, restore, old);
		if (order < 0)
			return restore->span_pages ? 0 : order;
		restore->span_pages += 1UL << order;
		tt->resident_pages += 1UL << order;
		if (old)
			break;
	}
	return 0;
}

int uttm_tt_restore(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx,
		    struct uttm_pool_recycle *bin)
{
	struct uttm_tt_restore *restore = tt->restore;
	int ret;

	if (!restore) {
		restore = calloc(1, restore_size(tt));
		if (!restore)
			return -ENOMEM;
		restore->max_span = max_span(tt);
		uttm_pool_alloc_state_init(&restore->alloc, tt->pages,
					   tt->dma_address, tt->num_pages,
					   tt->caching);
		tt->restore = restore;
	}
	restore->bin = bin;
	for (;;) {
		ret = restore_span(tt, restore, ctx);
		if (ret || !restore->alloc.remaining_pages)
			break;
		ret = restore_next_span(tt, restore);
		if (ret)
			break;
	}
	if (!ret)
		ret = uttm_pool_alloc_finish(tt->pool, &restore->alloc);
	restore->bin = NULL;
	if (ret)
		return ret;

	free(restore);
	tt->restore = NULL;
	tt->page_flags &= ~(UTTM_TT_FLAG_PRIV_BACKED_UP | UTTM_TT_FLAG_SWAPPED);
	return 0;
}
