// SPDX-License-Identifier: MIT
/*
 * The compressed store: backed-up pages kept compressed in memory, as
 * zram and zswap keep them, for machines without swap or a fast disk.
 * The allocator is in zpool.c, the compressors in zcomp.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/*
 * DOC: Compressed store
 *
 * Each page goes one of three ways.  A page whose bytes are all equal is
 * kept as that byte; zero pages are the common case.  Any other page is
 * compressed into a stream's buffer, outside every lock, and copied into
 * an object of the size-class pool; a page that does not compress below
 * the threshold is copied there raw, since decompressing it would cost
 * more than the bytes it saves.
 *
 * A handle is the whole record of its page, so the store keeps nothing
 * per page but the data.  The index (handle - 1) holds:
 *
 *	bits 61-60	kind: same-filled, raw or compressed
 *	bits 59-12	object offset in the pool, in 16-byte units
 *	bits 11-0	compressed length, or the fill byte
 *
 * Bits 63-62 stay clear: the page vector shifts a handle left and tags
 * it.  A same-filled page thus costs no memory at all, and a restore
 * finds its object without a lookup.  Objects never move while their
 * handle lives, so restoring takes no lock of the pool; allocating and
 * freeing take the lock of one size class.  The price is that the pool
 * cannot be compacted, as zsmalloc compacts through handles that point to
 * a slot: a chunk's memory goes back only when its last object goes.
 */

/*
 * DOC: Lower store
 *
 * In memory the store holds more than its cap only as far as its pages
 * compress; random content it keeps raw.  With a lower store (a file
 * store, as zswap writes back to swap and zram to its backing device) it
 * is a tier: at the cap, pages backed up go straight down (see
 * send_down()), and when the store is asked to write its memory out its
 * coldest pages move down, a batch of up to 64 at a time so that a file
 * store writes them as one run.  Handles must stay what
 * the vectors hold, so with a lower store a page that is not same-filled
 * gets an entry of a table (ztable.c) and its handle names the entry:
 *
 *	bits 63-62	state: in the pool, in the lower store, moving down
 *	bit 59		in the pool: young, stored since the hand last passed;
 *			moving: dropped meanwhile
 *	bits 61-0	but bit 59: in the pool or moving, the page's record
 *			as a handle holds it without a lower store (whose
 *			object offsets never reach bit 59); in the lower
 *			store, its handle there
 *
 * A clock hand goes round the entries in use: a young page is made old,
 * an old one moves; pages that have waited longest in the pool go first.
 * Moving marks the victims, copies them out (decompressed) outside every
 * lock, backs them up into the lower store, and then, under the tier
 * lock held exclusively, points each entry at its lower handle and frees
 * its object: a restore reading a page in the pool holds that lock
 * shared, so no object it reads is freed under it.  A page dropped while
 * it moves is marked, and the mover drops it once it is down.  Restores
 * find a page wherever it is, reading runs of lower handles together.
 */

#define KIND_SHIFT 60
#define OBJ_SHIFT 12
#define OBJ_MASK ((1UL << (KIND_SHIFT - OBJ_SHIFT)) - 1)
#define LOW_MASK ((1UL << OBJ_SHIFT) - 1)
#define BYTE_REPEAT 0x0101010101010101ULL

/* KIND_ENTRY is an entry's handle, KIND_LOWER what an entry may say. */
enum page_kind {
	KIND_ENTRY,
	KIND_SAME,
	KIND_RAW,
	KIND_COMPRESSED,
	KIND_NR,
	KIND_LOWER = KIND_NR,
};

#define ENTRY_STATE_SHIFT 62
#define ENTRY_FLAG (1UL << 59)
#define ENTRY_VALUE_MASK (((1UL << ENTRY_STATE_SHIFT) - 1) & ~ENTRY_FLAG)
/* Pages moved down at once: one run of the lower store. */
#define MOVE_BATCH 64u

enum entry_state {
	ENTRY_FREE,
	ENTRY_POOL,
	ENTRY_LOWER,
	ENTRY_MOVING,
};

/**
 * struct record - what a handle says about its page
 * @kind: how the page is kept.
 * @obj: offset of its object in the pool.
 * @size: bytes of the object's data; 0 for a same-filled page.
 * @fill: the fill byte of a same-filled page.
 * @entry: the page's entry, with a lower store; else NULL.
 * @lower: its handle in the lower store, for KIND_LOWER.
 */
struct record {
	enum page_kind kind;
	uint64_t obj;
	unsigned int size;
	unsigned char fill;
	_Atomic uint64_t *entry;
	unsigned long lower;
};

/**
 * struct compressed_store - a store in compressed memory
 * @base: what every store shares.
 * @comp: the compressor and its streams.
 * @pool: the objects.
 * @max_compressed: the raw threshold.
 * @pages: pages per kind.
 * @compressed_bytes: bytes of their objects' data.
 * @lower: the store pages move down to, or NULL.
 * @table: the entries, with a lower store.
 * @tier_lock: shared by restores and drops, held exclusively while moved
 * pages' objects are freed.
 * @move_lock: serialises moving pages down: the hand and @out.
 * @hand: the next entry the clock looks at.
 * @lower_pages: pages in the lower store.
 * @out: a batch of pages on their way down, decompressed.
 */
struct compressed_store {
	struct uttm_backup base;
	struct zcomp comp;
	struct zpool pool;
	unsigned int max_compressed;
	atomic_ulong pages[KIND_NR];
	_Atomic uint64_t compressed_bytes;
	struct uttm_backup *lower;
	struct ztable table;
	pthread_rwlock_t tier_lock;
	pthread_mutex_t move_lock;
	unsigned long hand;
	atomic_ulong lower_pages;
	unsigned char (*out)[UTTM_PAGE_SIZE];
};

static struct compressed_store *to_compressed(struct uttm_backup *backup)
{
	return container_of(backup, struct compressed_store, base);
}

static unsigned long record_handle(enum page_kind kind, uint64_t obj,
				   unsigned int low)
{
	return uttm_backup_index_to_handle((unsigned long)kind << KIND_SHIFT |
					   (obj >> ZPOOL_ALIGN_SHIFT) << OBJ_SHIFT |
					   low);
}

static bool record_valid(const struct compressed_store *cs,
			 const struct record *rec, unsigned int low)
{
	switch (rec->kind) {
	case KIND_SAME:
		return !rec->obj && low <= UINT8_MAX;
	case KIND_RAW:
		return !low &&
		       uttm_zpool_obj_valid(&cs->pool, rec->obj, rec->size);
	case KIND_COMPRESSED:
		return low && low <= cs->max_compressed &&
		       uttm_zpool_obj_valid(&cs->pool, rec->obj, rec->size);
	default:
		return false;
	}
}

static enum entry_state entry_state(uint64_t entry)
{
	return (enum entry_state)(entry >> ENTRY_STATE_SHIFT);
}

static uint64_t entry_make(enum entry_state state, uint64_t value, bool flag)
{
	return (uint64_t)state << ENTRY_STATE_SHIFT | (flag ? ENTRY_FLAG : 0) |
	       value;
}

/*
 * Decodes @index, the record part of a handle or of an entry; -EINVAL
 * for one this store cannot have made.
 */
static int decode_record(const struct compressed_store *cs,
			 unsigned long index, struct record *rec)
{
	unsigned int low = (unsigned int)(index & LOW_MASK);

	rec->kind = (enum page_kind)(index >> KIND_SHIFT);
	rec->obj = ((index >> OBJ_SHIFT) & OBJ_MASK) << ZPOOL_ALIGN_SHIFT;
	rec->size = rec->kind == KIND_RAW ? UTTM_PAGE_SIZE :
		    rec->kind == KIND_COMPRESSED ? low : 0;
	rec->fill = (unsigned char)low;
	if (UTTM_WARN_ON(!record_valid(cs, rec, low)))
		return -EINVAL;
	return 0;
}

/* Decodes @handle, through its entry when it names one. */
static int record_of(const struct compressed_store *cs, unsigned long handle,
		     struct record *rec)
{
	unsigned long index = uttm_backup_handle_to_index(handle);
	uint64_t entry;

	rec->entry = NULL;
	if (index >> KIND_SHIFT != KIND_ENTRY)
		return decode_record(cs, index, rec);
	rec->entry = cs->lower ? uttm_ztable_entry(&cs->table, index) : NULL;
	entry = rec->entry ? atomic_load(rec->entry) : 0;
	switch (entry_state(entry)) {
	case ENTRY_LOWER:
		rec->kind = KIND_LOWER;
		rec->lower = (unsigned long)(entry & ENTRY_VALUE_MASK);
		return 0;
	case ENTRY_POOL:
	case ENTRY_MOVING:
		return decode_record(cs, entry & ENTRY_VALUE_MASK, rec);
	default:
		UTTM_WARN_ON(true);
		return -EINVAL;
	}
}

/* Whether every byte of the page at @page equals the first, 8 at a time. */
static bool page_same_filled(const void *page, unsigned char *fill)
{
	const uint64_t *w = page;
	const size_t nr = UTTM_PAGE_SIZE / sizeof(*w);
	uint64_t v = w[0];

	/* Pages that differ mostly do so early or at their very end. */
	if (v != (v & 0xff) * BYTE_REPEAT || w[nr - 1] != v)
		return false;
	for (size_t i = 1; i < nr - 1; i++)
		if (w[i] != v)
			return false;
	*fill = (unsigned char)v;
	return true;
}

static void account(struct compressed_store *cs, enum page_kind kind,
		    unsigned int size, bool add)
{
	if (add) {
		atomic_fetch_add(&cs->pages[kind], 1);
		atomic_fetch_add(&cs->compressed_bytes, size);
	} else {
		atomic_fetch_sub(&cs->pages[kind], 1);
		atomic_fetch_sub(&cs->compressed_bytes, size);
	}
}

/* The stream of a batch, taken at the first page that needs one; or NULL. */
static struct zcomp_stream *batch_stream(struct compressed_store *cs,
					 struct zcomp_stream **stream)
{
	if (!*stream)
		*stream = uttm_zcomp_stream_get(&cs->comp);
	return *stream;
}

/* Copies the page @rec describes, in the pool or inline, to @dst. */
static int load_record(struct compressed_store *cs,
		       struct zcomp_stream **stream, void *dst,
		       const struct record *rec)
{
	const void *src = uttm_zpool_obj_addr(&cs->pool, rec->obj);

	switch (rec->kind) {
	case KIND_SAME:
		memset(dst, rec->fill, UTTM_PAGE_SIZE);
		return 0;
	case KIND_RAW:
		memcpy(dst, src, UTTM_PAGE_SIZE);
		return 0;
	case KIND_COMPRESSED:
		if (uttm_zcomp_decompress_needs_stream(&cs->comp) &&
		    !batch_stream(cs, stream))
			return -ENOMEM;
		return uttm_zcomp_decompress(&cs->comp, *stream, src, rec->size,
					     dst);
	default:
		return -EINVAL;
	}
}

/*
 * The tier (see "Lower store").  Gives a page an entry holding @entry:
 * @handle, its record in the pool or its handle in the lower store, then
 * names the entry.
 */
static int entry_new(struct compressed_store *cs, uint64_t entry,
		     unsigned long *handle)
{
	long index = uttm_ztable_alloc(&cs->table);

	if (index < 0)
		return (int)index;
	atomic_store(uttm_ztable_entry(&cs->table, (unsigned long)index),
		     entry);
	*handle = uttm_backup_index_to_handle((unsigned long)index);
	return 0;
}

/* Whether an entry can hold the lower store's @handle. */
static bool lower_handle_fits(unsigned long handle)
{
	return !(handle & ~ENTRY_VALUE_MASK);
}

/* Frees the object of the page @rec describes, and counts it gone. */
static void free_object(struct compressed_store *cs, const struct record *rec)
{
	if (!uttm_zpool_free(&cs->pool, rec->obj, rec->size))
		account(cs, rec->kind, rec->size, false);
}

/*
 * Marks the entry at @index to move down if the clock says its turn has
 * come: a young page is made old instead.  Its record goes to @value.
 */
static bool take_victim(struct compressed_store *cs, unsigned long index,
			uint64_t *value)
{
	_Atomic uint64_t *e = uttm_ztable_entry(&cs->table, index);
	uint64_t v = e ? atomic_load(e) : 0;

	if (entry_state(v) != ENTRY_POOL)
		return false;
	if (v & ENTRY_FLAG) {
		atomic_compare_exchange_strong(e, &v, v & ~ENTRY_FLAG);
		return false;
	}
	*value = v & ENTRY_VALUE_MASK;
	return atomic_compare_exchange_strong(
		e, &v, entry_make(ENTRY_MOVING, *value, false));
}

/*
 * Goes round the entries in use from the hand, twice at most, and takes
 * up to MOVE_BATCH victims; returns how many.
 */
static unsigned int pick_victims(struct compressed_store *cs,
				 unsigned long *victims, uint64_t *values)
{
	unsigned long budget = 2 * uttm_slots_used(&cs->table.used) + 1, got;
	unsigned int n = 0;
	bool wrapped = false;
	long first;

	while (n < MOVE_BATCH && budget) {
		first = uttm_slots_find_marked(&cs->table.used, cs->hand,
					       MOVE_BATCH, &got);
		if (first < 0) {
			if (wrapped || !cs->hand)
				break;
			wrapped = true;
			cs->hand = 0;
			continue;
		}
		for (cs->hand = (unsigned long)first;
		     cs->hand < (unsigned long)first + got && n < MOVE_BATCH &&
		     budget; cs->hand++, budget--)
			if (take_victim(cs, cs->hand, &values[n]))
				victims[n++] = cs->hand;
	}
	return n;
}

/*
 * Ends the move of the victim at @index, whose record is @value: down to
 * @lower_handle, or back in the pool when it could not go (0).  One
 * dropped meanwhile goes altogether.  Called with the tier lock held
 * exclusively, so no drop can change the entry meanwhile.
 */
static void settle_victim(struct compressed_store *cs, unsigned long index,
			  uint64_t value, unsigned long lower_handle)
{
	_Atomic uint64_t *e = uttm_ztable_entry(&cs->table, index);
	bool dropped = atomic_load(e) & ENTRY_FLAG;
	struct record rec;

	decode_record(cs, value, &rec);
	/* A lower handle the entry cannot hold leaves the page where it is. */
	if (!lower_handle_fits(lower_handle)) {
		uttm_backup_drop(cs->lower, &lower_handle, 1);
		lower_handle = 0;
	}
	if (!lower_handle && !dropped) {
		atomic_store(e, entry_make(ENTRY_POOL, value, false));
		return;
	}
	free_object(cs, &rec);
	if (dropped) {
		if (lower_handle)
			uttm_backup_drop(cs->lower, &lower_handle, 1);
		uttm_ztable_free(&cs->table, index);
		return;
	}
	atomic_store(e, entry_make(ENTRY_LOWER, lower_handle, false));
	atomic_fetch_add(&cs->lower_pages, 1);
}

/*
 * Moves one batch of the coldest pages down: copies them out of the
 * pool, backs them up into the lower store in one call, and settles each.
 * Returns how many went down.
 */
static unsigned long move_batch(struct compressed_store *cs)
{
	unsigned long victims[MOVE_BATCH], handles[MOVE_BATCH], done = 0;
	struct zcomp_stream *stream = NULL;
	uint64_t values[MOVE_BATCH];
	void *pages[MOVE_BATCH];
	unsigned int n, ready = 0;
	struct record rec;

	n = pick_victims(cs, victims, values);
	/* A page that cannot be read (corrupt, no stream) stays. */
	while (ready < n && !decode_record(cs, values[ready], &rec) &&
	       !load_record(cs, &stream, cs->out[ready], &rec)) {
		pages[ready] = cs->out[ready];
		ready++;
	}
	if (stream)
		uttm_zcomp_stream_put(&cs->comp, stream);
	if (ready)
		uttm_store_backup_pages(cs->lower, pages, ready, false, handles,
					&done);
	pthread_rwlock_wrlock(&cs->tier_lock);
	for (unsigned int i = 0; i < n; i++)
		settle_victim(cs, victims[i], values[i],
			      i < done ? handles[i] : 0);
	pthread_rwlock_unlock(&cs->tier_lock);
	return done;
}

/*
 * Moves pages down, a batch at a time, until the pool's memory went down
 * by @bytes, @batches batches went, or no page can.  Returns the bytes
 * the pool went down by (a chunk's memory goes back only once all its
 * objects went).
 */
static uint64_t move_down(struct compressed_store *cs, uint64_t bytes,
			  unsigned long batches)
{
	uint64_t before, now;
	unsigned long n = 1;

	pthread_mutex_lock(&cs->move_lock);
	before = uttm_zpool_used_bytes(&cs->pool);
	now = before;
	while (batches-- && before - now < bytes && n) {
		n = move_batch(cs);
		now = MIN(now, uttm_zpool_used_bytes(&cs->pool));
	}
	pthread_mutex_unlock(&cs->move_lock);
	return before - now;
}

static int store_page(struct compressed_store *cs, struct zcomp_stream **stream,
		      void *src, unsigned long unused, unsigned long *handle)
{
	enum page_kind kind = KIND_COMPRESSED;
	unsigned char fill;
	unsigned int len;
	uint64_t obj;
	int ret;

	if (page_same_filled(src, &fill)) {
		account(cs, KIND_SAME, 0, true);
		*handle = record_handle(KIND_SAME, 0, fill);
		return 0;
	}
	if (!batch_stream(cs, stream))
		return -ENOMEM;
	len = uttm_zcomp_compress(&cs->comp, *stream, src, cs->max_compressed);
	if (!len) {
		kind = KIND_RAW;
		len = UTTM_PAGE_SIZE;
	}
	/* At the cap, a tier sends the page down instead (see below). */
	ret = uttm_zpool_alloc(&cs->pool, len, &obj);
	if (ret)
		return ret;
	memcpy(uttm_zpool_obj_addr(&cs->pool, obj),
	       kind == KIND_RAW ? src : (*stream)->buf, len);
	*handle = record_handle(kind, obj, kind == KIND_RAW ? 0 : len);
	if (cs->lower) {
		ret = entry_new(cs, entry_make(ENTRY_POOL,
					       uttm_backup_handle_to_index(*handle),
					       true), handle);
		if (ret) {
			uttm_zpool_free(&cs->pool, obj, len);
			return ret;
		}
	}
	account(cs, kind, len, true);
	return 0;
}

static int load_page(struct compressed_store *cs, struct zcomp_stream **stream,
		     void *dst, unsigned long handle, unsigned long *unused)
{
	struct record rec;
	int ret;

	ret = record_of(cs, handle, &rec);
	return ret ? ret : load_record(cs, stream, dst, &rec);
}

typedef int (*page_fn)(struct compressed_store *cs,
		       struct zcomp_stream **stream, void *page,
		       unsigned long in, unsigned long *out);

/*
 * Runs @fn on @count pages in order, until one fails; handles come from
 * @in or go to @out.  A stream, which may mean allocating one, is taken
 * only for a page that needs it (not a same-filled or raw page, nor an
 * LZ4 decompression), once per batch.  Returns the pages done, or the
 * error when none was.
 */
static long page_batch(struct compressed_store *cs, page_fn fn,
		       void *const *pages, const unsigned long *in,
		       unsigned long *out, unsigned long count)
{
	struct zcomp_stream *stream = NULL;
	unsigned long done = 0;
	int ret = 0;

	while (done < count && !ret) {
		ret = fn(cs, &stream, pages[done], in ? in[done] : 0,
			 out ? &out[done] : NULL);
		done += !ret;
	}
	if (stream)
		uttm_zcomp_stream_put(&cs->comp, stream);
	return done ? (long)done : ret;
}

/*
 * Pages from @src[0] on, @count at most, up to the first that is
 * same-filled: the run a full pool sends down.
 */
static unsigned long pages_before_same_filled(void *const *src,
					      unsigned long count)
{
	unsigned long n = 0;
	unsigned char fill;

	while (n < count && !page_same_filled(src[n], &fill))
		n++;
	return n;
}

/*
 * With the pool at its cap, pages go straight down, uncompressed, as
 * zswap sends a page to swap when its pool is full.  Making room instead
 * would compress the page, then decompress another to write it out: two
 * passes of the compressor for the one write that happens either way,
 * and under a budget smaller than the data the pool is at its cap for
 * good (seen: half of uttm run's time in LZ4 compression).  The pool
 * frees room as its pages are restored, dropped, or moved down by
 * writeback.  Same-filled pages still stay inline: the run that goes
 * down ends before the first.  Returns as page_batch().
 */
static long send_down(struct compressed_store *cs, void *const *src,
		      unsigned long count, bool writeback,
		      unsigned long *handles)
{
	unsigned long done = 0, i;
	int ret;

	ret = uttm_store_backup_pages(cs->lower, src,
				      pages_before_same_filled(src, count),
				      writeback, handles, &done);
	for (i = 0; i < done; i++) {
		if (!lower_handle_fits(handles[i])) {
			ret = -ENOSPC;
			break;
		}
		ret = entry_new(cs, entry_make(ENTRY_LOWER, handles[i], false),
				&handles[i]);
		if (ret)
			break;
	}
	if (i < done)
		uttm_backup_drop(cs->lower, handles + i, done - i);
	atomic_fetch_add(&cs->lower_pages, i);
	return i ? (long)i : ret;
}

/* Writeback means something only to a lower store, for pages sent down. */
static long compressed_backup_pages(struct uttm_backup *backup,
				    void *const *src, unsigned long count,
				    bool writeback, unsigned long *handles)
{
	struct compressed_store *cs = to_compressed(backup);
	long n = page_batch(cs, store_page, src, NULL, handles, count);

	if (n == -ENOSPC && cs->lower)
		n = send_down(cs, src, count, writeback, handles);
	return n;
}

/*
 * Pages from @handles[0] on, @count at most, that are all in the lower
 * store or all not: their number, and their lower handles in @lower.
 */
static unsigned long tier_run(const struct compressed_store *cs,
			      const unsigned long *handles, unsigned long count,
			      unsigned long *lower, bool *down)
{
	unsigned long n;
	struct record rec;

	/* A handle that does not decode is the page_batch()'s to refuse. */
	if (record_of(cs, handles[0], &rec)) {
		*down = false;
		return 1;
	}
	*down = rec.kind == KIND_LOWER;
	count = MIN(count, (unsigned long)MOVE_BATCH);
	for (n = 0; n < count; n++) {
		if (n && (record_of(cs, handles[n], &rec) ||
			  (rec.kind == KIND_LOWER) != *down))
			break;
		if (*down)
			lower[n] = rec.lower;
	}
	return n;
}

/*
 * With a lower store, each call copies one run: pages in the lower
 * store, read together, or pages in the pool; the core calls again for
 * the rest.
 */
static long compressed_copy_pages(struct uttm_backup *backup, void *const *dst,
				  const unsigned long *handles,
				  unsigned long count,
				  const struct uttm_operation_ctx *ctx)
{
	struct compressed_store *cs = to_compressed(backup);
	unsigned long lower[MOVE_BATCH], n, done;
	bool down = false;
	long ret;

	if (!cs->lower)
		return page_batch(cs, load_page, dst, handles, NULL, count);
	pthread_rwlock_rdlock(&cs->tier_lock);
	n = tier_run(cs, handles, count, lower, &down);
	if (down) {
		ret = uttm_store_copy_pages(cs->lower, dst, lower, n, ctx,
					    &done);
		ret = done ? (long)done : ret;
	} else {
		ret = page_batch(cs, load_page, dst, handles, NULL, n);
	}
	pthread_rwlock_unlock(&cs->tier_lock);
	return ret;
}

/*
 * Forgets the page of the entry @handle names: its object, or its lower
 * handle, then the entry.  One on its way down is marked for the mover to
 * drop.  Called with the tier lock shared, so only the clock may change
 * the entry meanwhile, hence the compare-and-exchange.
 */
static void drop_entry(struct compressed_store *cs, unsigned long handle,
		       struct record *rec)
{
	unsigned long index = uttm_backup_handle_to_index(handle);
	uint64_t v = atomic_load(rec->entry);

	for (;;) {
		switch (entry_state(v)) {
		case ENTRY_MOVING:
			if (atomic_compare_exchange_weak(rec->entry, &v,
							 v | ENTRY_FLAG))
				return;
			break;
		case ENTRY_POOL:
			if (!atomic_compare_exchange_weak(rec->entry, &v, 0))
				break;
			if (!decode_record(cs, v & ENTRY_VALUE_MASK, rec))
				free_object(cs, rec);
			uttm_ztable_free(&cs->table, index);
			return;
		case ENTRY_LOWER:
			uttm_backup_drop(cs->lower, &rec->lower, 1);
			atomic_fetch_sub(&cs->lower_pages, 1);
			uttm_ztable_free(&cs->table, index);
			return;
		default:
			return;
		}
	}
}

static void compressed_drop(struct uttm_backup *backup,
			    const unsigned long *handles, unsigned long count)
{
	struct compressed_store *cs = to_compressed(backup);
	struct record rec;

	if (cs->lower)
		pthread_rwlock_rdlock(&cs->tier_lock);
	for (unsigned long i = 0; i < count; i++) {
		if (record_of(cs, handles[i], &rec))
			continue;
		if (rec.entry)
			drop_entry(cs, handles[i], &rec);
		else if (rec.kind == KIND_SAME ||
			 !uttm_zpool_free(&cs->pool, rec.obj, rec.size))
			account(cs, rec.kind, rec.size, false);
	}
	if (cs->lower)
		pthread_rwlock_unlock(&cs->tier_lock);
}

/*
 * A page in the lower store may stay there as a copy where that store
 * keeps copies itself; one in the pool would hold memory.  The run is
 * of pages all down or all not, as a restore reads them.
 */
static unsigned long compressed_keeps_copies(struct uttm_backup *backup,
					     const unsigned long *handles,
					     unsigned long count, bool *keep)
{
	struct compressed_store *cs = to_compressed(backup);
	unsigned long lower[MOVE_BATCH], n;

	*keep = cs->lower && uttm_backup_keeps_copies(cs->lower);
	if (!*keep || !count)
		return count;
	pthread_rwlock_rdlock(&cs->tier_lock);
	n = tier_run(cs, handles, count, lower, keep);
	pthread_rwlock_unlock(&cs->tier_lock);
	return n;
}

/* With a lower store, the room is the cap's and the lower store's. */
static uint64_t compressed_bytes_avail(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);
	uint64_t room = cs->pool.limit - uttm_zpool_used_bytes(&cs->pool);

	return cs->lower ? room + uttm_backup_bytes_avail(cs->lower) : room;
}

/* The pool's pages and chunk descriptors, the entries, the batch moving. */
static uint64_t compressed_resident_bytes(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);
	uint64_t bytes = uttm_zpool_used_bytes(&cs->pool) +
			 uttm_zpool_metadata_bytes(&cs->pool);

	if (cs->lower)
		bytes += uttm_ztable_bytes(&cs->table) +
			 MOVE_BATCH * UTTM_PAGE_SIZE;
	return bytes;
}

/* Up to @bytes of the pool move down, the coldest pages first. */
static uint64_t compressed_writeback(struct uttm_backup *backup, uint64_t bytes)
{
	struct compressed_store *cs = to_compressed(backup);

	if (!cs->lower)
		return 0;
	/* Compressed pages free a fraction of a page each: batches enough. */
	return move_down(cs, bytes,
			 DIV_ROUND_UP(16 * bytes, MOVE_BATCH * UTTM_PAGE_SIZE));
}

static void tier_fini(struct compressed_store *cs)
{
	if (!cs->lower)
		return;
	uttm_backup_put(cs->lower);
	uttm_ztable_fini(&cs->table);
	free(cs->out);
	pthread_mutex_destroy(&cs->move_lock);
	pthread_rwlock_destroy(&cs->tier_lock);
}

static void compressed_fini(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);

	tier_fini(cs);
	uttm_zpool_fini(&cs->pool);
	uttm_zcomp_fini(&cs->comp);
	free(cs);
}

static const struct uttm_backup_ops compressed_ops = {
	.backup_pages = compressed_backup_pages,
	.copy_pages = compressed_copy_pages,
	.drop = compressed_drop,
	.bytes_avail = compressed_bytes_avail,
	.resident_bytes = compressed_resident_bytes,
	.keeps_copies = compressed_keeps_copies,
	.writeback = compressed_writeback,
	.fini = compressed_fini,
};

/*
 * Sets the tier up over @lower, which must copy pages in: a store that
 * only inserts arena blocks cannot take pages out of the pool.
 */
static int tier_init(struct compressed_store *cs, struct uttm_backup *lower)
{
	pthread_rwlockattr_t attr;
	int ret;

	if (!lower)
		return 0;
	if (!lower->ops->backup_pages)
		return -EINVAL;
	ret = uttm_ztable_init(&cs->table, SLOT_IO_MAX_SLOTS);
	if (ret)
		return ret;
	/* Page aligned: a file store reads and writes them directly. */
	if (posix_memalign((void **)&cs->out, UTTM_PAGE_SIZE,
			   MOVE_BATCH * UTTM_PAGE_SIZE)) {
		uttm_ztable_fini(&cs->table);
		return -ENOMEM;
	}
	/* A mover waiting to settle must not starve behind restores. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&cs->tier_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&cs->move_lock, NULL);
	atomic_init(&cs->lower_pages, 0);
	cs->lower = uttm_backup_get(lower);
	return 0;
}

static uint64_t physical_memory(void)
{
	long pages = sysconf(_SC_PHYS_PAGES);

	return pages > 0 ? (uint64_t)pages << UTTM_PAGE_SHIFT : 0;
}

int uttm_backup_compressed_create(const struct uttm_backup_compressed_params *params,
				  struct uttm_backup **out)
{
	struct compressed_store *cs;
	int ret;

	if (UTTM_WARN_ON(!params || !out))
		return -EINVAL;
	if (params->max_compressed >= UTTM_PAGE_SIZE ||
	    !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	ret = uttm_zcomp_init(&cs->comp, params->compressor, params->level);
	if (ret)
		goto error_free_store;
	ret = uttm_zpool_init(&cs->pool,
			      params->cap ? params->cap : physical_memory());
	if (ret)
		goto error_fini_comp;
	cs->max_compressed = params->max_compressed ? params->max_compressed :
				UTTM_PAGE_SIZE - UTTM_PAGE_SIZE / 8;
	ret = tier_init(cs, params->lower);
	if (ret)
		goto error_fini_pool;
	uttm_backup_init(&cs->base, &compressed_ops, params->fault);
	*out = &cs->base;
	return 0;

error_fini_pool:
	uttm_zpool_fini(&cs->pool);
error_fini_comp:
	uttm_zcomp_fini(&cs->comp);
error_free_store:
	free(cs);
	return ret;
}

int uttm_backup_compressed_stats(struct uttm_backup *backup,
				 struct uttm_backup_compressed_stats *stats)
{
	struct compressed_store *cs;

	if (UTTM_WARN_ON(!backup || !stats || backup->ops != &compressed_ops))
		return -EINVAL;
	cs = to_compressed(backup);
	memset(stats, 0, sizeof(*stats));
	stats->same_filled_pages = atomic_load(&cs->pages[KIND_SAME]);
	stats->raw_pages = atomic_load(&cs->pages[KIND_RAW]);
	stats->lower_pages = cs->lower ? atomic_load(&cs->lower_pages) : 0;
	stats->pages = stats->same_filled_pages + stats->raw_pages +
		       atomic_load(&cs->pages[KIND_COMPRESSED]) +
		       stats->lower_pages;
	stats->compressed_bytes = atomic_load(&cs->compressed_bytes);
	stats->pool_bytes = uttm_zpool_used_bytes(&cs->pool);
	stats->metadata_bytes = uttm_zpool_metadata_bytes(&cs->pool);
	stats->memory_bytes = stats->pool_bytes + stats->metadata_bytes;
	stats->ratio = stats->memory_bytes ?
		       (double)(stats->pages << UTTM_PAGE_SHIFT) /
		       (double)stats->memory_bytes : 0;
	return 0;
}
