/* SPDX-License-Identifier: MIT */
/*
 * The compressors of the compressed store, after the kernel's zcomp: one
 * interface over LZ4 and zstd, and a small pool of streams (the state and
 * scratch buffer one compression needs) so that compression runs outside
 * every lock, on as many threads at once as call in.
 */
#ifndef UTTM_ZCOMP_H
#define UTTM_ZCOMP_H

#include <pthread.h>
#include <stdbool.h>

#include <zstd.h>

#include "uttm/backup.h"

/**
 * struct zcomp_stream - what one compression or decompression works with
 * @next: next idle stream.
 * @lz4: LZ4 state.
 * @cctx: zstd compression context.
 * @dctx: zstd decompression context.
 * @buf: receives compressed data.
 */
struct zcomp_stream {
	struct zcomp_stream *next;
	void *lz4;
	ZSTD_CCtx *cctx;
	ZSTD_DCtx *dctx;
	unsigned char buf[UTTM_PAGE_SIZE];
};

/**
 * struct zcomp - a compressor and its idle streams
 * @algorithm: LZ4 or zstd.
 * @level: LZ4 acceleration or zstd level; 0 for the default.
 * @lock: protects @idle and @nr_idle.
 * @idle: streams not in use.
 * @nr_idle: how many.
 * @max_idle: idle streams kept; more are freed when put back.
 */
struct zcomp {
	enum uttm_compressor algorithm;
	int level;
	pthread_mutex_t lock;
	struct zcomp_stream *idle;
	unsigned int nr_idle;
	unsigned int max_idle;
};

/* Returns 0, or -EINVAL for an unknown algorithm or a level out of range. */
int zcomp_init(struct zcomp *comp, enum uttm_compressor algorithm, int level);
void zcomp_fini(struct zcomp *comp);

/* An idle stream or a new one; NULL when memory is short. */
struct zcomp_stream *zcomp_stream_get(struct zcomp *comp);
void zcomp_stream_put(struct zcomp *comp, struct zcomp_stream *stream);

/*
 * Compresses the page at @src into @stream->buf.  Returns the length, or
 * 0 when the result would not fit in @max bytes.
 */
unsigned int zcomp_compress(const struct zcomp *comp,
			    struct zcomp_stream *stream, const void *src,
			    unsigned int max);

/* Whether zcomp_decompress() needs a stream: zstd does, LZ4 does not. */
static inline bool zcomp_decompress_needs_stream(const struct zcomp *comp)
{
	return comp->algorithm == UTTM_COMPRESSOR_ZSTD;
}

/*
 * Decompresses @len bytes at @src into the page at @dst; 0 or -EIO.
 * @stream may be NULL when zcomp_decompress_needs_stream() says so.
 */
int zcomp_decompress(const struct zcomp *comp, struct zcomp_stream *stream,
		     const void *src, unsigned int len, void *dst);

#endif /* UTTM_ZCOMP_H */
