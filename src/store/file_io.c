// SPDX-License-Identifier: MIT
/*
 * The file store's I/O engine; see "File I/O" in internal.h.
 *
 * The ring (file_ring.c) does the bulk of a batch and the synchronous
 * path here finishes whatever it left: a short transfer, a request the
 * ring never took, or one that failed, which the synchronous call then
 * fails again with its real error.  Without a ring (none wanted, the
 * kernel refused one, or uttm was built without liburing) it does the
 * whole batch.  So there is one
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

void uttm_file_io_init(struct file_io *io, int fd, bool use_ring)
{
	int ret = use_ring ? uttm_file_ring_init(io) : 0;

	io->fd = fd;
	pthread_mutex_init(&io->ring_lock, NULL);
	atomic_init(&io->batches, 0);
	atomic_init(&io->requests, 0);
	atomic_init(&io->ring_ready, use_ring && !ret);
	atomic_init(&io->ring_error, ret);
}

void uttm_file_io_fini(struct file_io *io)
{
	if (atomic_load(&io->ring_ready))
		uttm_file_ring_exit(io);
	pthread_mutex_destroy(&io->ring_lock);
	close(io->fd);
}

int uttm_file_io_pages_iov(struct iovec *iov, void *const *bufs,
			   unsigned long count)
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
		int nr = uttm_file_io_pages_iov(iov, bufs + done, n);
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
			error = uttm_file_ring_run(io, reqs, nr, write, intr);
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
