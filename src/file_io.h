/* SPDX-License-Identifier: MIT */
/*
 * Batches of page transfers between memory and the slots of a file, the
 * I/O engine of the file store.  A batch is a list of requests, each a
 * run of neighbouring slots and the pages that go there or come from
 * there.  Through io_uring the whole batch is in flight at once, so the
 * disk sees a queue of large transfers instead of one small write after
 * another; without a ring (the kernel refused one, or the caller asked
 * for none) each request is one pwritev() or preadv().
 */
#ifndef UTTM_FILE_IO_H
#define UTTM_FILE_IO_H

#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/types.h>

#include "uttm/page.h"

/* Most pages one batch may carry: the iovecs of a batch live on the stack. */
#define FILE_IO_BATCH_PAGES 1024u

/* Slot i of a file holds one page, at byte i * UTTM_PAGE_SIZE. */
static inline off_t slot_offset(unsigned long slot)
{
	return (off_t)slot << UTTM_PAGE_SHIFT;
}

/**
 * struct file_req - one vectored transfer
 * @pages: the pages, in slot order.
 * @count: how many; the slots from @slot on.
 * @slot: first slot.
 * @moved: pages transferred, set by file_io_run().
 */
struct file_req {
	void *const *pages;
	unsigned long count;
	unsigned long slot;
	unsigned long moved;
};

/**
 * struct file_io - how a file is read and written
 * @fd: the file, which @io owns: file_io_fini() closes it.
 * @ring_lock: held while a batch goes through @ring.
 * @ring: the ring, while @ring_ready.
 * @ring_ready: batches may use @ring.
 * @ring_error: why there is no ring although one was wanted, else 0.
 * @batches: batches run.
 * @requests: transfers issued: io_uring requests and pwritev()/preadv()
 * calls, each call counted.
 */
struct file_io {
	int fd;
	pthread_mutex_t ring_lock;
	struct io_uring ring;
	atomic_bool ring_ready;
	atomic_int ring_error;
	atomic_ulong batches;
	atomic_ulong requests;
};

/*
 * Sets @io up for @fd, which it takes over, with a ring if @use_ring and
 * the kernel allows.
 */
void file_io_init(struct file_io *io, int fd, bool use_ring);
/* Ends the ring, if any, and closes the file. */
void file_io_fini(struct file_io *io);

/*
 * Writes or reads the pages of @nr requests, FILE_IO_BATCH_PAGES at most
 * in all.  Returns the pages transferred from the start of the batch
 * (all of @reqs[0], then of @reqs[1], ...) up to the first request that
 * fell short, or a negative errno when not a page was; -EINTR only if
 * @intr.  Pages of later requests may have been transferred too, and
 * their @moved says so.
 */
long file_io_run(struct file_io *io, struct file_req *reqs, unsigned int nr,
		 bool write, bool intr);

#endif /* UTTM_FILE_IO_H */
