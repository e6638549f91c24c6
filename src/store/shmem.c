// SPDX-License-Identifier: MIT
/*
 * The shmem store: backed-up pages live in a memfd, at the slot their
 * handle names, until the kernel swaps them out.  Batches of pages are
 * written to runs of neighbouring slots and read back by runs of
 * handles, one pwritev() or preadv() per run (slot_io.c).
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
 */
struct shmem_store {
	struct uttm_backup base;
	struct file_io io;
	uint64_t capacity;
	struct slots slots;
};

static struct shmem_store *to_shmem(struct uttm_backup *backup)
{
	return container_of(backup, struct shmem_store, base);
}

/*
 * Asks the kernel to swap the pages of @count handles out now, a run of
 * neighbouring slots at a time; best effort.
 */
static void page_out(struct shmem_store *store, const unsigned long *handles,
		     unsigned long count)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		size_t len;
		void *map;

		run = uttm_slot_io_handle_run(handles + i, count - i);
		len = run << UTTM_PAGE_SHIFT;
		map = mmap(NULL, len, PROT_READ, MAP_SHARED, store->io.fd,
			   uttm_file_io_slot_offset(
				   uttm_backup_handle_to_index(handles[i])));
		if (map == MAP_FAILED)
			continue;
		/* MADV_PAGEOUT only reclaims pages mapped in this range. */
		if (!madvise(map, len, MADV_POPULATE_READ))
			madvise(map, len, MADV_PAGEOUT);
		munmap(map, len);
	}
}

static long shmem_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	struct shmem_store *store = to_shmem(backup);
	struct slot_batch batch;
	long n;

	n = uttm_slot_io_batch_take(&batch, &store->slots, src, count);
	if (n < 0)
		return n;
	n = uttm_file_io_run(&store->io, batch.reqs, batch.nr, true, false);
	uttm_slot_io_batch_commit(&batch, &store->slots, n, handles);
	if (n > 0 && writeback)
		page_out(store, handles, (unsigned long)n);
	return n;
}

static long shmem_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	return uttm_slot_io_read(&to_shmem(backup)->io, dst, handles, count,
				 ctx->interruptible);
}

/*
 * Each run is punched out before its slots are free again: the memfd's
 * pages are the memory the store holds.
 */
static void shmem_drop(struct uttm_backup *backup, const unsigned long *handles,
		       unsigned long count)
{
	struct shmem_store *store = to_shmem(backup);

	uttm_slot_io_punch(store->io.fd, &store->slots, handles, count);
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
	uttm_slots_fini(&store->slots);
	free(store);
}

static const struct uttm_backup_ops shmem_ops = {
	.backup_pages = shmem_backup_pages,
	.copy_pages = shmem_copy_pages,
	.drop = shmem_drop,
	.bytes_avail = shmem_bytes_avail,
	.fini = shmem_fini,
};

int uttm_backup_shmem_create(const struct uttm_backup_shmem_params *params,
			     struct uttm_backup **out)
{
	struct shmem_store *store;
	int fd, ret;

	if (UTTM_WARN_ON(!params || !out))
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
	uttm_backup_init(&store->base, &shmem_ops, params->fault);
	*out = &store->base;
	return 0;

error_free_store:
	free(store);
	return ret;
}
