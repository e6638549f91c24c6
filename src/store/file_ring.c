// SPDX-License-Identifier: MIT
/*
 * The file store's io_uring engine, built when liburing is: a batch's
 * requests go in flight together, RING_ENTRIES at a time, and what the
 * ring leaves undone (a short transfer, a failure, a ring that stopped
 * working) is finished by the synchronous path in file_io.c.
 */
#include <errno.h>
#include <sys/uio.h>
#include <time.h>

#include "base/base.h"
#include "internal.h"

/* Requests in flight at once; more wait for a free entry. */
#define RING_ENTRIES 64u
/*
 * Submissions in a row the kernel may refuse for want of memory, 1 ms
 * apart, before the synchronous path takes over for good.
 */
#define RING_RETRIES 10u

int uttm_file_ring_init(struct file_io *io)
{
	/*
	 * Setup fails with -EPERM when kernel.io_uring_disabled forbids it,
	 * -ENOSYS on kernels built without it, -ENOMEM under a tight
	 * RLIMIT_MEMLOCK on old kernels: the synchronous path then serves.
	 */
	return io_uring_queue_init(RING_ENTRIES, &io->ring, 0);
}

void uttm_file_ring_exit(struct file_io *io)
{
	io_uring_queue_exit(&io->ring);
}

/* Records the completions the kernel has posted; returns how many. */
static unsigned int reap(struct io_uring *ring, struct file_req *reqs)
{
	struct io_uring_cqe *cqe;
	unsigned int n = 0;

	while (!io_uring_peek_cqe(ring, &cqe)) {
		struct file_req *req = &reqs[io_uring_cqe_get_data64(cqe)];

		if (cqe->res > 0)
			req->moved = (unsigned long)cqe->res >> UTTM_PAGE_SHIFT;
		io_uring_cqe_seen(ring, cqe);
		n++;
	}
	return n;
}

/*
 * The ring failed in a way retrying cannot mend (a seccomp policy came
 * into force, the kernel stays short of memory, the ring is being torn
 * down).  Requests the kernel took still read or write the caller's
 * pages, and the synchronous path must neither redo them nor return
 * before they end, so they are reaped to the last; waiting through the
 * ring may be what fails, so this polls.  Those the kernel did not take
 * must never run, so the ring goes, its error kept for the store's stats.
 */
static void ring_abandon(struct file_io *io, struct file_req *reqs,
			 unsigned int queued, int error)
{
	const struct timespec tick = { .tv_nsec = 100 * 1000 };
	unsigned int taken = queued - io_uring_sq_ready(&io->ring);

	while (taken) {
		unsigned int n = reap(&io->ring, reqs);

		taken -= n;
		if (taken && !n)
			nanosleep(&tick, NULL);
	}
	/* Requests never taken were never issued. */
	atomic_fetch_sub(&io->requests, io_uring_sq_ready(&io->ring));
	io_uring_queue_exit(&io->ring);
	atomic_store(&io->ring_error, error);
	atomic_store(&io->ring_ready, false);
}

static void ring_prep(struct file_io *io, struct io_uring_sqe *sqe,
		      const struct file_req *req, struct iovec *iov, int nr,
		      bool write)
{
	if (write)
		io_uring_prep_writev(
			sqe, io->fd, iov, (unsigned int)nr,
			(uint64_t)uttm_file_io_slot_offset(req->slot));
	else
		io_uring_prep_readv(
			sqe, io->fd, iov, (unsigned int)nr,
			(uint64_t)uttm_file_io_slot_offset(req->slot));
}

/*
 * Submits what is queued and waits for a completion, @queued requests
 * being queued or in flight.  A kernel short of memory takes nothing
 * (-EAGAIN, -EBUSY); a wait with nothing in flight would then never
 * return, so it backs off instead and has the caller submit again, up to
 * RING_RETRIES times in a row (@tries).  Returns 0, -EINTR, or the error
 * that makes the ring unusable.
 */
static int ring_submit_wait(struct io_uring *ring, unsigned int queued,
			    unsigned int *tries)
{
	const struct timespec backoff = { .tv_nsec = 1000 * 1000 };
	struct io_uring_cqe *cqe;
	int ret = io_uring_submit(ring);

	if ((ret == -EAGAIN || ret == -EBUSY) &&
	    queued == io_uring_sq_ready(ring)) {
		if (++*tries > RING_RETRIES)
			return ret;
		nanosleep(&backoff, NULL);
		return 0;
	}
	if (ret < 0 && ret != -EAGAIN && ret != -EBUSY)
		return ret;
	*tries = 0;
	/* Submit and wait apart: a wait cut short must show. */
	ret = io_uring_wait_cqe(ring, &cqe);
	return ret == -EAGAIN || ret == -EBUSY ? 0 : ret;
}

int uttm_file_ring_run(struct file_io *io, struct file_req *reqs,
		       unsigned int nr, bool write, bool intr)
{
	struct iovec iov[FILE_IO_BATCH_PAGES];
	unsigned int next = 0, queued = 0, tries = 0;
	struct io_uring_sqe *sqe;
	bool stop = false;
	int used = 0, ret;

	while (queued || (next < nr && !stop)) {
		while (next < nr && !stop && queued < RING_ENTRIES &&
		       (sqe = io_uring_get_sqe(&io->ring))) {
			int n = uttm_file_io_pages_iov(iov + used,
						       reqs[next].pages,
						       reqs[next].count);

			ring_prep(io, sqe, &reqs[next], iov + used, n, write);
			io_uring_sqe_set_data64(sqe, next);
			atomic_fetch_add(&io->requests, 1);
			used += n;
			next++;
			queued++;
		}
		ret = ring_submit_wait(&io->ring, queued, &tries);
		if (ret == -EINTR) {
			stop = intr;
		} else if (ret < 0) {
			ring_abandon(io, reqs, queued, ret);
			return 0;
		}
		queued -= reap(&io->ring, reqs);
	}
	return stop && next < nr ? -EINTR : 0;
}
