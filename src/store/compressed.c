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

#define KIND_SHIFT 60
#define OBJ_SHIFT 12
#define OBJ_MASK ((1UL << (KIND_SHIFT - OBJ_SHIFT)) - 1)
#define LOW_MASK ((1UL << OBJ_SHIFT) - 1)
#define BYTE_REPEAT 0x0101010101010101ULL

enum page_kind {
	KIND_SAME = 1,
	KIND_RAW,
	KIND_COMPRESSED,
	KIND_NR,
};

/**
 * struct record - what a handle says about its page
 * @kind: how the page is kept.
 * @obj: offset of its object in the pool.
 * @size: bytes of the object's data; 0 for a same-filled page.
 * @fill: the fill byte of a same-filled page.
 */
struct record {
	enum page_kind kind;
	uint64_t obj;
	unsigned int size;
	unsigned char fill;
};

struct compressed_store {
	struct uttm_backup base;
	struct zcomp comp;
	struct zpool pool;
	unsigned int max_compressed;
	atomic_ulong pages[KIND_NR];
	_Atomic uint64_t compressed_bytes;
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

/* Decodes @handle; -EINVAL for one this store cannot have made. */
static int record_of(const struct compressed_store *cs, unsigned long handle,
		     struct record *rec)
{
	unsigned long index = uttm_backup_handle_to_index(handle);
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
	ret = uttm_zpool_alloc(&cs->pool, len, &obj);
	if (ret)
		return ret;
	memcpy(uttm_zpool_obj_addr(&cs->pool, obj),
	       kind == KIND_RAW ? src : (*stream)->buf, len);
	account(cs, kind, len, true);
	*handle = record_handle(kind, obj, kind == KIND_RAW ? 0 : len);
	return 0;
}

static int load_page(struct compressed_store *cs, struct zcomp_stream **stream,
		     void *dst, unsigned long handle, unsigned long *unused)
{
	struct record rec;
	const void *src;
	int ret;

	ret = record_of(cs, handle, &rec);
	if (ret)
		return ret;
	src = uttm_zpool_obj_addr(&cs->pool, rec.obj);
	switch (rec.kind) {
	case KIND_SAME:
		memset(dst, rec.fill, UTTM_PAGE_SIZE);
		return 0;
	case KIND_RAW:
		memcpy(dst, src, UTTM_PAGE_SIZE);
		return 0;
	default:
		if (uttm_zcomp_decompress_needs_stream(&cs->comp) &&
		    !batch_stream(cs, stream))
			return -ENOMEM;
		return uttm_zcomp_decompress(&cs->comp, *stream, src, rec.size,
					     dst);
	}
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

/* Writeback has no meaning here: there is nothing to write pages out to. */
static long compressed_backup_pages(struct uttm_backup *backup,
				    void *const *src, unsigned long count,
				    bool writeback, unsigned long *handles)
{
	return page_batch(to_compressed(backup), store_page, src, NULL,
			  handles, count);
}

/* Nothing here waits, so there is nothing for a signal to interrupt. */
static long compressed_copy_pages(struct uttm_backup *backup, void *const *dst,
				  const unsigned long *handles,
				  unsigned long count,
				  const struct uttm_operation_ctx *ctx)
{
	return page_batch(to_compressed(backup), load_page, dst, handles,
			  NULL, count);
}

static void compressed_drop(struct uttm_backup *backup,
			    const unsigned long *handles, unsigned long count)
{
	struct compressed_store *cs = to_compressed(backup);
	struct record rec;

	for (unsigned long i = 0; i < count; i++) {
		if (record_of(cs, handles[i], &rec) ||
		    (rec.kind != KIND_SAME &&
		     uttm_zpool_free(&cs->pool, rec.obj, rec.size)))
			continue;
		account(cs, rec.kind, rec.size, false);
	}
}

static uint64_t compressed_bytes_avail(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);

	return cs->pool.limit - uttm_zpool_used_bytes(&cs->pool);
}

/* The pool's pages and the descriptors of its chunks. */
static uint64_t compressed_resident_bytes(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);

	return uttm_zpool_used_bytes(&cs->pool) +
	       uttm_zpool_metadata_bytes(&cs->pool);
}

static void compressed_fini(struct uttm_backup *backup)
{
	struct compressed_store *cs = to_compressed(backup);

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
	.fini = compressed_fini,
};

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
	if (params->max_compressed >= UTTM_PAGE_SIZE)
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
	uttm_backup_init(&cs->base, &compressed_ops, params->fault);
	*out = &cs->base;
	return 0;

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
	stats->same_filled_pages = atomic_load(&cs->pages[KIND_SAME]);
	stats->raw_pages = atomic_load(&cs->pages[KIND_RAW]);
	stats->pages = stats->same_filled_pages + stats->raw_pages +
		       atomic_load(&cs->pages[KIND_COMPRESSED]);
	stats->compressed_bytes = atomic_load(&cs->compressed_bytes);
	stats->pool_bytes = uttm_zpool_used_bytes(&cs->pool);
	stats->metadata_bytes = uttm_zpool_metadata_bytes(&cs->pool);
	stats->memory_bytes = stats->pool_bytes + stats->metadata_bytes;
	stats->ratio = stats->memory_bytes ?
		       (double)(stats->pages << UTTM_PAGE_SHIFT) /
		       (double)stats->memory_bytes : 0;
	return 0;
}
