// SPDX-License-Identifier: MIT
/*
 * The shmem store: backed-up pages live in a memfd, at the slot their
 * handle names, until the kernel swaps them out.  Batches of pages are
 * written to runs of neighbouring slots with one pwritev() and read back
 * with one preadv() per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "uttm/backup.h"
#include "internal.h"
#include "slot_io.h"
#include "sysmem.h"

/* Slots of a store bounded by swap: 16 TiB of pages. */
#define SHMEM_MAX_SLOTS (1UL << 32)

struct shmem_store {
	struct uttm_backup base;
	int fd;
	uint64_t capacity;
	struct slots slots;
};

static struct shmem_store *to_shmem(struct uttm_backup *backup)
{
	return container_of(backup, struct shmem_store, base);
}

/* Asks the kernel to swap @count pages from @slot out now; best effort. */
static void page_out(struct shmem_store *store, unsigned long slot,
		     unsigned long count)
{
	size_t len = count << UTTM_PAGE_SHIFT;
	void *map;

	map = mmap(NULL, len, PROT_READ, MAP_SHARED, store->fd,
		   slot_offset(slot));
	if (map == MAP_FAILED)
		return;
	/* MADV_PAGEOUT only reclaims pages mapped in this range. */
	if (!madvise(map, len, MADV_POPULATE_READ))
		madvise(map, len, MADV_PAGEOUT);
	munmap(map, len);
}

static long shmem_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	struct shmem_store *store = to_shmem(backup);
	unsigned long done = 0, got, written;
	long first, n;

	while (done < count) {
		first = slots_alloc(&store->slots, count - done, &got);
		if (first < 0)
			return done ? (long)done : first;
		n = slot_io_transfer(store->fd, src + done, got,
				     (unsigned long)first, true, false);
		written = n > 0 ? (unsigned long)n : 0;
		if (written < got)
			slots_free(&store->slots, (unsigned long)first + written,
				   got - written);
		if (n < 0)
			return done ? (long)done : n;
		if (writeback)
			page_out(store, (unsigned long)first, written);
		for (unsigned long i = 0; i < written; i++)
			handles[done + i] = uttm_backup_index_to_handle(
				(unsigned long)first + i);
		done += written;
		if (written < got)
			break;
	}
	return (long)done;
}

static long shmem_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	struct shmem_store *store = to_shmem(backup);
	unsigned long done = 0;

	while (done < count) {
		unsigned long run = handle_run(handles + done, count - done);
		long n = slot_io_transfer(store->fd, dst + done, run,
					  uttm_backup_handle_to_index(handles[done]),
					  false, ctx->interruptible);

		if (n < 0)
			return done ? (long)done : n;
		done += (unsigned long)n;
		if ((unsigned long)n < run)
			break;
	}
	return (long)done;
}

static void shmem_drop(struct uttm_backup *backup, const unsigned long *handles,
		       unsigned long count)
{
	struct shmem_store *store = to_shmem(backup);

	slot_io_drop(store->fd, &store->slots, handles, count, true);
}

static uint64_t shmem_bytes_avail(struct uttm_backup *backup)
{
	struct shmem_store *store = to_shmem(backup);

	return __uttm_store_room(store->capacity,
				 (uint64_t)slots_used(&store->slots) <<
				 UTTM_PAGE_SHIFT);
}

static void shmem_fini(struct uttm_backup *backup)
{
	struct shmem_store *store = to_shmem(backup);

	close(store->fd);
	slots_fini(&store->slots);
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

	if (!params || !out)
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	store->fd = memfd_create("uttm-backup", MFD_CLOEXEC);
	if (store->fd < 0) {
		int ret = -errno;

		free(store);
		return ret;
	}
	store->capacity = params->capacity;
	slots_init(&store->slots, store->capacity ?
		   (unsigned long)(store->capacity >> UTTM_PAGE_SHIFT) :
		   SHMEM_MAX_SLOTS);
	uttm_backup_init(&store->base, &shmem_ops, params->fault);
	*out = &store->base;
	return 0;
}
