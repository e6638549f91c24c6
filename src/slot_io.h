/* SPDX-License-Identifier: MIT */
/*
 * Batches of pages between memory and the slots of a store's file,
 * shared by the stores that keep pages in a file (shmem, file): slot i
 * holds one page at byte i * UTTM_PAGE_SIZE, a batch takes runs of
 * neighbouring slots so that its pages move in few large transfers
 * (file_io.h), and a run of dropped handles is one hole.
 */
#ifndef UTTM_SLOT_IO_H
#define UTTM_SLOT_IO_H

#include <stdbool.h>

#include "file_io.h"
#include "slots.h"

/* Slots of a store bounded by swap or disk only: 16 TiB of pages. */
#define SLOT_IO_MAX_SLOTS (1UL << 32)

/**
 * struct slot_batch - the requests of one batch of pages
 * @reqs: one per REQ_PAGES pages of a run of neighbouring slots (or
 * handles), in the order of the pages.
 * @nr: requests in @reqs.
 */
struct slot_batch {
	struct file_req reqs[FILE_IO_BATCH_PAGES];
	unsigned int nr;
};

/* Pages from @handles[0] on whose handles follow each other. */
unsigned long handle_run(const unsigned long *handles, unsigned long count);

/*
 * Takes slots for the first FILE_IO_BATCH_PAGES at most of @count pages
 * at @src, in runs, and plans their writes in @batch.  Returns the pages
 * planned, or -ENOSPC or -ENOMEM when not one slot could be taken.
 */
long slot_batch_take(struct slot_batch *batch, struct slots *slots,
		     void *const *src, unsigned long count);

/*
 * Ends a batch whose writes gave @written (file_io_run()'s result): hands
 * out handles for the pages written, a prefix, and frees the slots of
 * the others.
 */
void slot_batch_commit(const struct slot_batch *batch, struct slots *slots,
		       long written, unsigned long *handles);

/*
 * Reads the pages of the first FILE_IO_BATCH_PAGES at most of @count
 * handles into @dst, a run of neighbouring handles in few transfers.
 * Returns as file_io_run().
 */
long slot_io_read(struct file_io *io, void *const *dst,
		  const unsigned long *handles, unsigned long count, bool intr);

/* Frees the slots of @count handles, run by run. */
void slot_io_free(struct slots *slots, const unsigned long *handles,
		  unsigned long count);

/*
 * Punches @count slots from @first out of @fd and frees them.  Returns
 * 0, or -EOPNOTSUPP when the file system cannot punch holes.
 */
int slot_io_release(int fd, struct slots *slots, unsigned long first,
		    unsigned long count);

/* Punches the slots of @count handles out of @fd, a hole per run. */
void slot_io_punch(int fd, struct slots *slots, const unsigned long *handles,
		   unsigned long count);

#endif /* UTTM_SLOT_IO_H */
