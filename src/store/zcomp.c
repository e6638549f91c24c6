// SPDX-License-Identifier: MIT
/*
 * LZ4 and zstd behind one interface, and the pool of streams; see "Zcomp" in
 * internal.h.  A store takes a stream at the first page of a batch that
 * needs one and puts it back after the batch, so the pool's lock is taken
 * at most twice per call into the store.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <lz4.h>

#include "base/base.h"
#include "internal.h"

int uttm_zcomp_init(struct zcomp *comp, enum uttm_compressor algorithm,
		    int level)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	switch (algorithm) {
	case UTTM_COMPRESSOR_LZ4:
		/* The level is LZ4's acceleration, as for the kernel's zram. */
		if (level < 0)
			return -EINVAL;
		break;
	case UTTM_COMPRESSOR_ZSTD:
		if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
			return -EINVAL;
		break;
	default:
		return -EINVAL;
	}
	comp->algorithm = algorithm;
	comp->level = level;
	pthread_mutex_init(&comp->lock, NULL);
	comp->idle = NULL;
	comp->nr_idle = 0;
	comp->max_idle = cpus > 0 ? (unsigned int)cpus : 1;
	return 0;
}

static void stream_destroy(struct zcomp_stream *stream)
{
	free(stream->lz4);
	ZSTD_freeCCtx(stream->cctx);
	ZSTD_freeDCtx(stream->dctx);
	free(stream);
}

static struct zcomp_stream *stream_create(const struct zcomp *comp)
{
	struct zcomp_stream *stream = calloc(1, sizeof(*stream));

	if (!stream)
		return NULL;
	if (comp->algorithm == UTTM_COMPRESSOR_LZ4) {
		stream->lz4 = malloc((size_t)LZ4_sizeofState());
		if (!stream->lz4)
			goto error_destroy;
		return stream;
	}
	stream->cctx = ZSTD_createCCtx();
	stream->dctx = ZSTD_createDCtx();
	if (!stream->cctx || !stream->dctx ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(stream->cctx,
						ZSTD_c_compressionLevel,
						comp->level)))
		goto error_destroy;
	return stream;

error_destroy:
	stream_destroy(stream);
	return NULL;
}

void uttm_zcomp_fini(struct zcomp *comp)
{
	while (comp->idle) {
		struct zcomp_stream *stream = comp->idle;

		comp->idle = stream->next;
		stream_destroy(stream);
	}
	pthread_mutex_destroy(&comp->lock);
}

struct zcomp_stream *uttm_zcomp_stream_get(struct zcomp *comp)
{
	struct zcomp_stream *stream;

	pthread_mutex_lock(&comp->lock);
	stream = comp->idle;
	if (stream) {
		comp->idle = stream->next;
		comp->nr_idle--;
	}
	pthread_mutex_unlock(&comp->lock);
	return stream ? stream : stream_create(comp);
}

void uttm_zcomp_stream_put(struct zcomp *comp, struct zcomp_stream *stream)
{
	bool keep;

	pthread_mutex_lock(&comp->lock);
	keep = comp->nr_idle < comp->max_idle;
	if (keep) {
		stream->next = comp->idle;
		comp->idle = stream;
		comp->nr_idle++;
	}
	pthread_mutex_unlock(&comp->lock);
	if (!keep)
		stream_destroy(stream);
}

unsigned int uttm_zcomp_compress(const struct zcomp *comp,
				 struct zcomp_stream *stream, const void *src,
				 unsigned int max)
{
	size_t len;

	if (comp->algorithm == UTTM_COMPRESSOR_LZ4)
		/* LZ4 stops as soon as the output outgrows @max. */
		return (unsigned int)LZ4_compress_fast_extState(
			stream->lz4, src, (char *)stream->buf,
			UTTM_PAGE_SIZE, (int)max, comp->level);
	len = ZSTD_compress2(stream->cctx, stream->buf, max, src,
			     UTTM_PAGE_SIZE);
	return ZSTD_isError(len) ? 0 : (unsigned int)len;
}

int uttm_zcomp_decompress(const struct zcomp *comp, struct zcomp_stream *stream,
			  const void *src, unsigned int len, void *dst)
{
	size_t n;

	if (comp->algorithm == UTTM_COMPRESSOR_LZ4)
		n = (size_t)LZ4_decompress_safe(src, dst, (int)len,
						UTTM_PAGE_SIZE);
	else
		n = ZSTD_decompressDCtx(stream->dctx, dst, UTTM_PAGE_SIZE,
					src, len);
	return n == UTTM_PAGE_SIZE ? 0 : -EIO;
}
