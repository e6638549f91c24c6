// SPDX-License-Identifier: MIT
/*
 * Raw O_DIRECT transfers; see direct.h.
 */
#include <errno.h>
#include <unistd.h>

#include "bench/direct.h"
#include "uttm.h"

int direct_transfer(struct direct_io *io)
{
	double start = now_seconds(), t = start;

	for (uint64_t done = 0; done < io->bytes; done += io->chunk) {
		off_t off = (off_t)(io->offset + done);
		ssize_t n = io->write ?
			    pwrite(io->fd, io->buf + done, io->chunk, off) :
			    pread(io->fd, io->buf + done, io->chunk, off);
		double now = now_seconds();

		if (n != (ssize_t)io->chunk)
			return n < 0 ? -errno : -EIO;
		if (io->chunk_seconds)
			io->chunk_seconds[done / io->chunk] = now - t;
		t = now;
	}
	io->gbps = (double)io->bytes / (t - start) / 1e9;
	return 0;
}
