// SPDX-License-Identifier: MIT
/*
 * The shmem store: backed-up pages live in a memfd, at the slot their
 * handle names, until the kernel swaps them out.  Batches of pages are
 * written to runs of neighbouring slots and read back by runs of
 * handles, one pwritev() or preadv() per run (slot_io.c).  The pages
 * that may still be in memory are marked in a resident set (resident.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/**
 * struct shmem_store - a store in a memfd
 * @base: what every store shares.
 * @io: the memfd, without a ring: writing a memfd is a memory copy with
 * nothing to wait for.
 * @capacity: bytes the store may hold, or 0 to be bounded by swap.
 * @slots: which pages of the memfd hold live pages.
 * @resident: which of them may be in memory.
 */
struct shmem_store {
	struct uttm_backup base;
	struct file_io io;
	uint64_t capacity;
	struct slots slots;
	struct resident_set resident;
};

static struct shmem_store *to_shmem(struct uttm_backup *backup)
{
	return container_of(backup, struct shmem_store, base);
}

/* Maps the @count slots from @first, to give the kernel advice on them. */
static void *map_slots(struct shmem_store *store, unsigned long first,
		       unsigned long count)
{
	return mmap(NULL, count << UTTM_PAGE_SHIFT, PROT_READ, MAP_SHARED,
		    store->io.fd, uttm_file_io_slot_offset(first));
}

/*
 * Asks the kernel to swap out now the @count pages from slot @first, and
 * forgets the marks of those that left; best effort.  Returns how many
 * did.
 */
static unsigned long page_out(void *arg, unsigned long first,
			      unsigned long count)
{
	struct shmem_store *store = arg;
	unsigned char vec[RESIDENT_BATCH];
	void *map = map_slots(store, first, count);

	if (map == MAP_FAILED)
		return 0;
	uttm_resident_page_out(map, count, vec);
	munmap(map, count << UTTM_PAGE_SHIFT);
	return uttm_resident_forget(&store->resident, first, count, vec);
}

/*
 * Starts reading back, all at once, those pages of @handles that the
 * kernel swapped out.  A read of the memfd alone swaps them in a cluster
 * at a time, waiting for each before it asks for the next, at a fraction
 * of what the swap device can stream; MADV_WILLNEED on a shared mapping
 * puts every read in flight together, and the read that follows finds
 * them in the swap cache.  Best effort: whatever is not read ahead is
 * read by the copy.  With nothing in swap there is nothing to read, and
 * a restore of scattered slots would pay three system calls a page.
 */
static void swap_in_ahead(struct shmem_store *store,
			  const unsigned long *handles, unsigned long count)
{
	if (!uttm_sysmem_swap_in_use())
		return;
	for (unsigned long i = 0, run; i < count; i += run) {
		unsigned long first;
		void *map;

		run = uttm_slot_io_handle_run(handles + i, count - i);
		first = uttm_backup_handle_to_index(handles[i]);
		map = map_slots(store, first, run);
		if (map == MAP_FAILED)
			continue;
		madvise(map, run << UTTM_PAGE_SHIFT, MADV_WILLNEED);
		munmap(map, run << UTTM_PAGE_SHIFT);
	}
}

/* Marks the slots of @batch as in memory: they are about to be written. */
static int mark_batch(struct shmem_store *store, const struct slot_batch *batch)
{
	for (unsigned int i = 0; i < batch->nr; i++) {
		long ret = uttm_slots_mark(&store->resident.marks, batch->reqs[i].slot,
					   batch->reqs[i].count);

		if (ret < 0)
			return (int)ret;
	}
	return 0;
}

/* Clears the marks of the pages @handles name, run by run. */
static void unmark_handles(struct shmem_store *store,
			   const unsigned long *handles, unsigned long count)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		run = uttm_slot_io_handle_run(handles + i, count - i);
		uttm_slots_unmark(&store->resident.marks,
				  uttm_backup_handle_to_index(handles[i]), run);
	}
}

/* Marks them: pages read back were swapped in, if they were out. */
static void mark_handles(struct shmem_store *store,
			 const unsigned long *handles, unsigned long count)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		run = uttm_slot_io_handle_run(handles + i, count - i);
		uttm_slots_mark(&store->resident.marks,
				uttm_backup_handle_to_index(handles[i]), run);
	}
}

static long shmem_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	struct shmem_store *store = to_shmem(backup);
	struct slot_batch batch;
	long n;

	uttm_resident_lock(&store->resident);
	n = uttm_slot_io_batch_take(&batch, &store->slots, src, count);
	if (n > 0 && mark_batch(store, &batch))
		n = -ENOMEM;
	else if (n > 0)
		n = uttm_file_io_run(&store->io, batch.reqs, batch.nr, true,
				     false);
	if (batch.nr) {
		uttm_slot_io_batch_commit(&batch, &store->slots, n, handles);
		/* Slots not written hold nothing. */
		for (unsigned int i = 0; i < batch.nr; i++)
			uttm_slots_unmark(&store->resident.marks,
					  batch.reqs[i].slot +
					  MIN(batch.reqs[i].moved,
					      batch.reqs[i].count),
					  batch.reqs[i].count -
					  MIN(batch.reqs[i].moved,
					      batch.reqs[i].count));
	}
	for (long i = 0, run; writeback && i < n; i += run) {
		run = (long)uttm_slot_io_handle_run(handles + i,
						    (unsigned long)(n - i));
		page_out(store, uttm_backup_handle_to_index(handles[i]),
			 (unsigned long)run);
	}
	uttm_resident_unlock(&store->resident);
	return n;
}

static long shmem_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	struct shmem_store *store = to_shmem(backup);
	long n;

	count = MIN(count, (unsigned long)FILE_IO_BATCH_PAGES);
	uttm_resident_lock(&store->resident);
	swap_in_ahead(store, handles, count);
	n = uttm_slot_io_read(&store->io, dst, handles, count,
			      ctx->interruptible);
	if (n > 0)
		mark_handles(store, handles, (unsigned long)n);
	uttm_resident_unlock(&store->resident);
	return n;
}

/*
 * Each run is punched out before its slots are free again: the memfd's
 * pages are the memory the store holds.  Their marks go after, so that
 * they are never counted less than they are.
 */
static void shmem_drop(struct uttm_backup *backup, const unsigned long *handles,
		       unsigned long count)
{
	struct shmem_store *store = to_shmem(backup);

	uttm_resident_lock(&store->resident);
	uttm_slot_io_punch(store->io.fd, &store->slots, handles, count);
	unmark_handles(store, handles, count);
	uttm_resident_unlock(&store->resident);
}

static uint64_t shmem_resident_bytes(struct uttm_backup *backup)
{
	return uttm_resident_bytes(&to_shmem(backup)->resident);
}

static uint64_t shmem_writeback(struct uttm_backup *backup, uint64_t bytes)
{
	struct shmem_store *store = to_shmem(backup);

	return uttm_resident_writeback(&store->resident, bytes, page_out,
				       store);
}

static uint64_t shmem_bytes_avail(struct uttm_backup *backup)
{
	struct shmem_store *store = to_shmem(backup);
	uint64_t used = (uint64_t)uttm_slots_used(&store->slots) <<
			UTTM_PAGE_SHIFT;

	return uttm_sysmem_store_room(store->capacity, used);
}

static void shmem_fini(struct uttm_backup *backup)
{
	struct shmem_store *store = to_shmem(backup);

	uttm_file_io_fini(&store->io);
	uttm_resident_fini(&store->resident);
	uttm_slots_fini(&store->slots);
	free(store);
}

static const struct uttm_backup_ops shmem_ops = {
	.backup_pages = shmem_backup_pages,
	.copy_pages = shmem_copy_pages,
	.drop = shmem_drop,
	.bytes_avail = shmem_bytes_avail,
	.resident_bytes = shmem_resident_bytes,
	.writeback = shmem_writeback,
	.fini = shmem_fini,
};

int uttm_backup_shmem_create(const struct uttm_backup_shmem_params *params,
			     struct uttm_backup **out)
{
	struct shmem_store *store;
	int fd, ret;

	if (UTTM_WARN_ON(!params || !out) || !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	fd = memfd_create("uttm-backup", MFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto error_free_store;
	}
	uttm_file_io_init(&store->io, fd, false);
	store->capacity = params->capacity;
	uttm_slots_init(&store->slots, store->capacity ?
			(unsigned long)(store->capacity >> UTTM_PAGE_SHIFT) :
			SLOT_IO_MAX_SLOTS);
	uttm_resident_init(&store->resident, store->slots.max);
	uttm_backup_init(&store->base, &shmem_ops, params->fault);
	*out = &store->base;
	return 0;

error_free_store:
	free(store);
	return ret;
}
