// SPDX-License-Identifier: MIT
/*
 * The file store's I/O engine; see "File I/O" in internal.h.
 *
 * The ring does the bulk of a batch and the synchronous path finishes
 * whatever it left: a short transfer, a request the ring never took, or
 * one that failed, which the synchronous call then fails again with its
 * real error.  Without a ring it does the whole batch.  So there is one
 * place that decides what a batch achieved.
 *
 * A ring serves one batch at a time.  A thread that finds it busy does
 * its batch synchronously instead of queueing behind another thread's
 * I/O.
 */
#include <errno.h>
#include <limits.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "internal.h"

/* Requests in flight at once; more wait for a free entry. */
#define RING_ENTRIES 64u
/*
 * Submissions in a row the kernel may refuse for want of memory, 1 ms
 * apart, before the synchronous path takes over for good.
 */
#define RING_RETRIES 10u

void uttm_file_io_init(struct file_io *io, int fd, bool use_ring)
{
	int ret = -EOPNOTSUPP;

	io->fd = fd;
	pthread_mutex_init(&io->ring_lock, NULL);
	atomic_init(&io->batches, 0);
	atomic_init(&io->requests, 0);
	/*
	 * Setup fails with -EPERM when kernel.io_uring_disabled forbids it,
	 * -ENOSYS on kernels built without it, -ENOMEM under a tight
	 * RLIMIT_MEMLOCK on old kernels: the synchronous path then serves.
	 */
	if (use_ring)
		ret = io_uring_queue_init(RING_ENTRIES, &io->ring, 0);
	atomic_init(&io->ring_ready, !ret);
	atomic_init(&io->ring_error, use_ring ? ret : 0);
}

void uttm_file_io_fini(struct file_io *io)
{
	if (atomic_load(&io->ring_ready))
		io_uring_queue_exit(&io->ring);
	pthread_mutex_destroy(&io->ring_lock);
	close(io->fd);
}

/*
 * Describes @count pages at @bufs in @iov, one entry per run of pages
 * that are neighbours in memory.  Returns the number of entries.
 */
static int pages_iov(struct iovec *iov, void *const *bufs, unsigned long count)
{
	int nr = 0;

	for (unsigned long i = 0; i < count; i++) {
		if (nr && (char *)iov[nr - 1].iov_base + iov[nr - 1].iov_len ==
			  (char *)bufs[i]) {
			iov[nr - 1].iov_len += UTTM_PAGE_SIZE;
			continue;
		}
		iov[nr++] = (struct iovec){ bufs[i], UTTM_PAGE_SIZE };
	}
	return nr;
}

/*
 * Writes or reads @count pages at @bufs to or from the slots from @slot,
 * in as few pwritev() or preadv() calls as IOV_MAX allows, going on after
 * short transfers.  Returns the pages transferred, or a negative errno
 * when none was; -EINTR only if @intr.
 */
static long sync_transfer(struct file_io *io, void *const *bufs,
			  unsigned long count, unsigned long slot, bool write,
			  bool intr)
{
	struct iovec iov[IOV_MAX];
	unsigned long done = 0;

	while (done < count) {
		unsigned long n = MIN(count - done, (unsigned long)IOV_MAX);
		int nr = pages_iov(iov, bufs + done, n);
		ssize_t ret;

		atomic_fetch_add(&io->requests, 1);
		if (write)
			ret = pwritev(io->fd, iov, nr,
				      uttm_file_io_slot_offset(slot + done));
		else
			ret = preadv(io->fd, iov, nr,
				     uttm_file_io_slot_offset(slot + done));
		if (ret < 0 && errno == EINTR && !intr)
			continue;
		if (ret < 0)
			return done ? (long)done : -errno;
		done += (size_t)ret / UTTM_PAGE_SIZE;
		/* Nothing moved (end of file) or a page only in part: lost. */
		if (!ret || (size_t)ret % UTTM_PAGE_SIZE)
			return done ? (long)done : -EIO;
	}
	return (long)done;
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

/*
 * Puts the batch through the ring, RING_ENTRIES requests in flight at
 * most.  A signal never abandons requests in flight, which use the
 * caller's pages; with @intr it stops new ones from being queued.
 * Returns -EINTR when it stopped so, else 0.
 */
static int ring_run(struct file_io *io, struct file_req *reqs,
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
			int n = pages_iov(iov + used, reqs[next].pages,
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

/* Whether @next carries on where @req ends, in memory order and on disk. */
static bool continues(const struct file_req *req, const struct file_req *next)
{
	return next->pages == req->pages + req->count &&
	       next->slot == req->slot + req->count;
}

/*
 * Transfers synchronously what the ring left of @reqs[0], together with
 * the requests after it that the ring did not touch and that carry on
 * its run: one call (more only past IOV_MAX pages), which the kernel
 * cuts into concurrent requests itself.  Returns how many requests it
 * covered; sets @error on failure.
 */
static unsigned int finish_run(struct file_io *io, struct file_req *reqs,
			       unsigned int nr, bool write, bool intr,
			       int *error)
{
	unsigned long count = reqs[0].count - reqs[0].moved;
	unsigned int j;
	long n;

	for (j = 1; j < nr && !reqs[0].moved && !reqs[j].moved &&
	     continues(&reqs[j - 1], &reqs[j]); j++)
		count += reqs[j].count;
	if (!count)
		return j;
	n = sync_transfer(io, reqs[0].pages + reqs[0].moved, count,
			  reqs[0].slot + reqs[0].moved, write, intr);
	if (n < 0)
		*error = (int)n;
	for (unsigned int k = 0; k < j && n > 0; k++) {
		unsigned long more = MIN(reqs[k].count - reqs[k].moved,
					 (unsigned long)n);

		reqs[k].moved += more;
		n -= (long)more;
	}
	return j;
}

/* Pages done from the start of a batch, up to its first short request. */
static unsigned long batch_prefix(const struct file_req *reqs, unsigned int nr)
{
	unsigned long done = 0;
	unsigned int i;

	for (i = 0; i < nr && reqs[i].moved == reqs[i].count; i++)
		done += reqs[i].count;
	return i < nr ? done + reqs[i].moved : done;
}

long uttm_file_io_run(struct file_io *io, struct file_req *reqs,
		      unsigned int nr, bool write, bool intr)
{
	unsigned long done;
	unsigned int i, j;
	int error = 0;

	for (i = 0; i < nr; i++)
		reqs[i].moved = 0;
	atomic_fetch_add(&io->batches, 1);
	if (atomic_load(&io->ring_ready) &&
	    !pthread_mutex_trylock(&io->ring_lock)) {
		if (atomic_load(&io->ring_ready))
			error = ring_run(io, reqs, nr, write, intr);
		pthread_mutex_unlock(&io->ring_lock);
	}
	/* What the ring did not do is done here, up to a shortfall. */
	for (i = 0; i < nr && !error; i = j) {
		j = i + finish_run(io, reqs + i, nr - i, write, intr, &error);
		if (reqs[j - 1].moved < reqs[j - 1].count)
			break;
	}
	done = batch_prefix(reqs, nr);
	return done ? (long)done : error;
}
