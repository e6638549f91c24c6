// SPDX-License-Identifier: MIT
/*
 * Vectored I/O between pages and store slots; see slot_io.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include "uttm/tt.h"
#include "internal.h"
#include "slot_io.h"

unsigned long handle_run(const unsigned long *handles, unsigned long count)
{
	unsigned long n = 1;

	while (n < count && handles[n] == handles[0] + n)
		n++;
	return n;
}

int slot_io_iov(struct iovec *iov, void *const *bufs, unsigned long count)
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

long slot_io_transfer(int fd, void *const *bufs, unsigned long count,
		      unsigned long slot, bool write, bool intr)
{
	struct iovec iov[IOV_MAX];
	unsigned long done = 0;

	while (done < count) {
		unsigned long n = MIN(count - done, (unsigned long)IOV_MAX);
		int nr = slot_io_iov(iov, bufs + done, n);
		ssize_t ret;

		if (write)
			ret = pwritev(fd, iov, nr, slot_offset(slot + done));
		else
			ret = preadv(fd, iov, nr, slot_offset(slot + done));
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

void slot_io_release(int fd, struct slots *slots, unsigned long first,
		     unsigned long count)
{
	/*
	 * A file system that cannot punch holes only keeps the blocks
	 * until the slots are written again; nothing is lost.
	 */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      slot_offset(first), slot_offset(count)))
		UTTM_WARN_ON(errno != EOPNOTSUPP);
	slots_free(slots, first, count);
}

void slot_io_drop(int fd, struct slots *slots, const unsigned long *handles,
		  unsigned long count, bool punch)
{
	for (unsigned long i = 0, run; i < count; i += run) {
		unsigned long slot = uttm_backup_handle_to_index(handles[i]);

		run = handle_run(handles + i, count - i);
		if (punch)
			slot_io_release(fd, slots, slot, run);
		else
			slots_free(slots, slot, run);
	}
}
