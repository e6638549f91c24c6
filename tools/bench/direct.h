/* SPDX-License-Identifier: MIT */
/*
 * Raw O_DIRECT transfers: the reference the benchmarks hold the file
 * store and end-to-end restores against.  A buffer goes to or comes from
 * a file in chunks, one pwrite() or pread() a chunk, each timed.
 */
#ifndef UTTM_BENCH_DIRECT_H
#define UTTM_BENCH_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * struct direct_io - one transfer and what it measured
 * @fd: the file, opened O_DIRECT.
 * @offset: where in the file it starts.
 * @buf: the memory it goes from or into.
 * @bytes: its size, a multiple of @chunk.
 * @chunk: bytes per call.
 * @write: write rather than read.
 * @chunk_seconds: when not NULL, each call's time, in order.
 * @gbps: the rate of the whole, once done.
 */
struct direct_io {
	int fd;
	uint64_t offset;
	char *buf;
	uint64_t bytes;
	size_t chunk;
	bool write;
	double *chunk_seconds;
	double gbps;
};

/*
 * Runs @io.  Returns 0, the errno of a failed call, or -EIO for a short
 * one.
 */
int direct_transfer(struct direct_io *io);

#endif /* UTTM_BENCH_DIRECT_H */
