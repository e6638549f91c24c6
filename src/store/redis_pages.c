// SPDX-License-Identifier: MIT
/*
 * Restoring from Redis spends most of its time moving bytes: through
 * hiredis, a page read back is copied from the socket into hiredis's
 * buffer, moved down that buffer as replies are consumed, and copied once
 * more into its page.  Here the replies to a run of GETs are read with
 * one readv() straight into their pages, so the kernel's copy is the
 * only one.
 */
#include <errno.h>
#include <string.h>
#include <sys/uio.h>

#include <hiredis/hiredis.h>

#include "base/base.h"
#include "internal.h"

/*
 * DOC: Reading pages in place
 *
 * The reply to a GET of a page is "$4096\r\n", the page, "\r\n": 4105
 * bytes of which only the 9 framing bytes are not the page's.  The
 * replies to a run of such GETs are read as if they all were that, the
 * framing into a small buffer and each page straight into its place, and
 * checked afterwards.  Any other reply (nil for a missing key, an error,
 * a redirection) differs from "$4096\r\n" in its first seven bytes, and
 * no whole reply is a part of it, so a reply that is not a page shows
 * before the read waits for bytes that will never come.  What was read
 * from that reply on is handed to hiredis's reader as it is, and the
 * store reads it from there as any reply; the pages it went through are
 * simply written again, a destination page holding anything until its
 * copy succeeds.
 */

#define FRAME_HEAD "$4096\r\n"
#define FRAME_HEAD_LEN (sizeof(FRAME_HEAD) - 1)
#define FRAME_TAIL_LEN 2u
#define FRAME_LEN (FRAME_HEAD_LEN + UTTM_PAGE_SIZE + FRAME_TAIL_LEN)

/**
 * struct page_frames - the replies a read places, as one stream
 * @pages: where each page goes.
 * @framing: the framing bytes of each reply, head then tail.
 * @count: replies.
 */
struct page_frames {
	void *const *pages;
	char framing[REDIS_READ_PAGES][FRAME_HEAD_LEN + FRAME_TAIL_LEN];
	unsigned long count;
};

/* Fills @iov with the pieces of the stream from @from to @to; how many. */
static int frame_pieces(struct page_frames *f, size_t from, size_t to,
			struct iovec *iov)
{
	int n = 0;

	while (from < to) {
		size_t reply = from / FRAME_LEN, at = from % FRAME_LEN, end;
		char *base;

		if (at < FRAME_HEAD_LEN) {
			base = f->framing[reply] + at;
			end = FRAME_HEAD_LEN;
		} else if (at < FRAME_HEAD_LEN + UTTM_PAGE_SIZE) {
			base = (char *)f->pages[reply] + (at - FRAME_HEAD_LEN);
			end = FRAME_HEAD_LEN + UTTM_PAGE_SIZE;
		} else {
			base = f->framing[reply] + FRAME_HEAD_LEN +
			       (at - FRAME_HEAD_LEN - UTTM_PAGE_SIZE);
			end = FRAME_LEN;
		}
		end = MIN(end - at, to - from);
		iov[n++] = (struct iovec){ .iov_base = base, .iov_len = end };
		from += end;
	}
	return n;
}

/* Copies @len bytes of @src into the stream at @from. */
static void frames_place(struct page_frames *f, size_t from, const char *src,
			 size_t len)
{
	struct iovec iov[3 * REDIS_READ_PAGES];
	int n = frame_pieces(f, from, from + len, iov);

	for (int i = 0; i < n; src += iov[i].iov_len, i++)
		memcpy(iov[i].iov_base, src, iov[i].iov_len);
}

/*
 * Whether the framing of every reply in the first @have bytes is right
 * so far.  In @bad, the first reply whose head is not a page's, or
 * @f->count; -EPROTO for a page reply without its "\r\n".
 */
static int frames_check(const struct page_frames *f, size_t have,
			unsigned long *bad)
{
	for (unsigned long i = 0; i * FRAME_LEN < have; i++) {
		size_t got = have - i * FRAME_LEN;
		const char *framing = f->framing[i];

		if (memcmp(framing, FRAME_HEAD, MIN(got, FRAME_HEAD_LEN))) {
			*bad = i;
			return 0;
		}
		if (got >= FRAME_LEN &&
		    memcmp(framing + FRAME_HEAD_LEN, "\r\n", FRAME_TAIL_LEN))
			return -EPROTO;
	}
	*bad = f->count;
	return 0;
}

/* Hands the stream from reply @bad to @have over to hiredis's reader. */
static int frames_give_back(struct page_frames *f, size_t have,
			    unsigned long bad, redisReader *reader)
{
	struct iovec iov[3 * REDIS_READ_PAGES];
	int n = frame_pieces(f, bad * FRAME_LEN, have, iov);

	for (int i = 0; i < n; i++)
		if (redisReaderFeed(reader, iov[i].iov_base,
				    iov[i].iov_len) != REDIS_OK)
			return -ENOMEM;
	return 0;
}

/*
 * Takes what hiredis read ahead of the replies: the start of the stream.
 * Returns its length, or -1 when hiredis must go on itself: it is in the
 * middle of a reply, or holds more than the stream (replies shorter than
 * pages), which would then not be the end of what it is given back.
 */
static long take_read_ahead(struct page_frames *f, redisReader *reader)
{
	size_t len = reader->len - reader->pos;

	if (reader->ridx != -1 || len > f->count * FRAME_LEN)
		return -1;
	frames_place(f, 0, reader->buf + reader->pos, len);
	reader->pos += len;
	return (long)len;
}

/* Reads into the stream from @have on; the new length, or -EIO. */
static long frames_read(struct page_frames *f, int fd, size_t have)
{
	struct iovec iov[3 * REDIS_READ_PAGES];
	int n = frame_pieces(f, have, f->count * FRAME_LEN, iov);
	ssize_t got;

	do
		got = readv(fd, iov, n);
	while (got < 0 && errno == EINTR);
	return got > 0 ? (long)(have + (size_t)got) : -EIO;
}

long uttm_redis_read_pages(struct redis_node *node, void *const *pages,
			   unsigned long count)
{
	struct page_frames f = {
		.pages = pages,
		.count = MIN(count, (unsigned long)REDIS_READ_PAGES),
	};
	redisContext *c = node->ctx;
	unsigned long bad = f.count;
	long have = take_read_ahead(&f, c->reader);
	int ret = 0;

	if (have < 0)
		return 0;
	for (;;) {
		ret = frames_check(&f, (size_t)have, &bad);
		if (ret || bad < f.count || (size_t)have == f.count * FRAME_LEN)
			break;
		have = frames_read(&f, c->fd, (size_t)have);
		if (have < 0) {
			ret = (int)have;
			break;
		}
	}
	if (!ret && bad < f.count)
		ret = frames_give_back(&f, (size_t)have, bad, c->reader);
	if (ret) {
		uttm_redis_disconnect(node);
		return -EIO;
	}
	return (long)bad;
}
