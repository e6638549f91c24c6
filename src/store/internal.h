/* SPDX-License-Identifier: MIT */
/*
 * The store layer's own interfaces, never exported: the core's calls
 * that the page-vector layer makes, and the pieces the stores are built
 * from (slot bitmaps, batched slot I/O, the file I/O engine, compressors
 * and the compressed-page allocator).
 */
#ifndef UTTM_STORE_INTERNAL_H
#define UTTM_STORE_INTERNAL_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <zstd.h>
#ifdef UTTM_HAVE_LIBURING
#include <liburing.h>
#endif

#include "uttm/backup.h"

/*
 * The core (core.c), which the page-vector layer calls.
 *
 * How many of the next @count calls through fault point @point proceed;
 * *@error receives the injected error that stops the next one, or 0.
 */
unsigned long uttm_store_fault_limit(struct uttm_fault *fault,
				     enum uttm_fault_point point,
				     unsigned long count, int *error);

/*
 * Back up or copy pages through a store, with fault injection; return 0
 * when all @count pages were done, else the error that stopped them with
 * the pages done in @done.
 */
int uttm_store_backup_pages(struct uttm_backup *backup, void *const *src,
			    unsigned long count, bool writeback,
			    unsigned long *handles, unsigned long *done);
int uttm_store_copy_pages(struct uttm_backup *backup, void *const *dst,
			  const unsigned long *handles, unsigned long count,
			  const struct uttm_operation_ctx *ctx,
			  unsigned long *done);

/*
 * Whether @backup was made by a parent process: its files (or server)
 * are the parent's, so a child takes nothing in, reads nothing out,
 * only forgets the handles it drops, and never finishes the store.
 */
bool uttm_store_inherited(const struct uttm_backup *backup);

/*
 * Kept copies (src/tt/copies.c): of the @count @handles a vector just
 * restored, the leading run it may keep as copies (*@keep set), counted
 * until forgotten, or may not; returns the run's length.  A store keeps
 * those struct uttm_backup_ops::keeps_copies says, and only while they
 * would take no more of its room than stays free, so that copies never
 * crowd out the backups the room is for.
 */
unsigned long uttm_store_keep_copies(struct uttm_backup *backup,
				     const unsigned long *handles,
				     unsigned long count, bool *keep);
/* @count kept copies became handles of backed-up pages again, or went. */
void uttm_store_forget_copies(struct uttm_backup *backup, unsigned long count);

/*
 * Hands one block to an inserting store, after the per-page faults were
 * decided by the caller; a block of order > 0 consults its own fault
 * point.  Returns as struct uttm_backup_ops::insert.
 */
long uttm_store_insert(struct uttm_backup *backup, struct uttm_page *block,
		       bool writeback);

/*
 * Slots: a bitmap of store slots that hands out contiguous runs, so that
 * a store can write a batch of pages with one vectored call and read
 * neighbours back the same way.
 */

/**
 * struct slots - slot bitmap
 * @lock: protects the other fields.
 * @words: the bitmap, a set bit per used slot; grows on demand.
 * @nr_words: words in @words.
 * @max: most slots there may ever be.
 * @used: slots in use.
 * @hint: word where the next search starts.
 */
struct slots {
	pthread_mutex_t lock;
	uint64_t *words;
	unsigned long nr_words;
	unsigned long max;
	unsigned long used;
	unsigned long hint;
};

void uttm_slots_init(struct slots *slots, unsigned long max);
void uttm_slots_fini(struct slots *slots);

/*
 * Takes a run of at most @want contiguous free slots, at least one.
 * Returns the first slot with the run's length in @got, or -ENOSPC when
 * every slot is used, -ENOMEM when the bitmap cannot grow.
 */
long uttm_slots_alloc(struct slots *slots, unsigned long want,
		      unsigned long *got);

/*
 * Takes the first run of free slots at or after @from among those the
 * bitmap has now (it does not grow), however long.  Returns its first
 * slot with its length in @got, or -ENOSPC when there is none.
 */
long uttm_slots_take_free(struct slots *slots, unsigned long from,
			  unsigned long *got);

/*
 * Frees @count slots from @first.  Slots already free, or beyond the
 * bitmap, are API misuse (a handle dropped twice, or forged): warned
 * about and left alone, so @used stays exact.
 */
void uttm_slots_free(struct slots *slots, unsigned long first,
		     unsigned long count);

unsigned long uttm_slots_used(struct slots *slots);

/*
 * The same bitmap as a plain set of marks, for stores that track which
 * of their pages may be in memory: @used counts the marks.
 *
 * Marks @count slots from @first, growing the bitmap as needed; returns
 * how many were not marked yet, -ENOMEM when it cannot grow, or -EINVAL
 * beyond @max.
 */
long uttm_slots_mark(struct slots *slots, unsigned long first,
		     unsigned long count);
/* Clears marks within the bitmap; returns how many were set. */
unsigned long uttm_slots_unmark(struct slots *slots, unsigned long first,
				unsigned long count);
/*
 * The first run of marks at or after @from, @most long at most: returns
 * its first slot with its length in @got, or -ENOENT when there is none.
 */
long uttm_slots_find_marked(struct slots *slots, unsigned long from,
			    unsigned long most, unsigned long *got);

/*
 * Resident sets: a store that keeps pages where the kernel may or may
 * not have them in memory (a memfd, an arena's blocks) marks, in a slot
 * bitmap used as a set, the pages that may be: every page it writes or
 * reads back, until it drops it or sees it leave.  The marks are what it
 * reports as its memory, an upper bound: the kernel may swap a page out
 * unseen, never bring one in unseen.
 */

/* Pages per page-out call, the size of its mincore() vector. */
#define RESIDENT_BATCH 1024u

/**
 * struct resident_set - the pages of a store that may be in memory
 * @marks: one per page, by the store's index (slot, page frame).
 * @out_lock: held exclusively while pages are written out and their
 * marks cleared, and shared by the store's other calls, so that no index
 * is dropped and reused under a writeback that would clear its new mark.
 * @cursor: index where the next writeback starts.
 */
struct resident_set {
	struct slots marks;
	pthread_rwlock_t out_lock;
	atomic_ulong cursor;
};

void uttm_resident_init(struct resident_set *set, unsigned long max);
void uttm_resident_fini(struct resident_set *set);

/* Held shared around every call that marks or clears. */
void uttm_resident_lock(struct resident_set *set);
void uttm_resident_unlock(struct resident_set *set);

/* Bytes of the marked pages: what the store reports as its memory. */
uint64_t uttm_resident_bytes(struct resident_set *set);

/*
 * Has the kernel write the @count pages mapped at @addr out of memory now
 * (MADV_PAGEOUT), those in memory only, and says in @vec which are still
 * in memory (bit 0 set, as mincore() does): those swap had no room for.
 * A page on its way to swap counts as out.
 */
void uttm_resident_page_out(void *addr, unsigned long count,
			    unsigned char *vec);
/*
 * Clears the marks of the pages @first to @first + @count - 1 that @vec
 * says left memory; returns how many.
 */
unsigned long uttm_resident_forget(struct resident_set *set,
				   unsigned long first, unsigned long count,
				   const unsigned char *vec);

/* Writes out @count pages of @store from @first; returns how many left. */
typedef unsigned long (*resident_page_out_fn)(void *store, unsigned long first,
					      unsigned long count);
/*
 * Writes the marked pages out from where the last writeback stopped,
 * wrapping around once, a run of at most RESIDENT_BATCH at a time through
 * @page_out, until @bytes left memory or every mark was looked at; takes
 * the out lock exclusively meanwhile.  Returns the bytes that left.
 */
uint64_t uttm_resident_writeback(struct resident_set *set, uint64_t bytes,
				 resident_page_out_fn page_out, void *store);

/*
 * File I/O: batches of page transfers between memory and the slots of a
 * file, the I/O engine of the file store.  A batch is a list of requests,
 * each a run of neighbouring slots and the pages that go there or come
 * from there.  Through io_uring the whole batch is in flight at once, so the
 * disk sees a queue of large transfers instead of one small write after
 * another; without a ring (the kernel refused one, or the caller asked
 * for none) each request is one pwritev() or preadv().
 */

/* Most pages one batch may carry: the iovecs of a batch live on the stack. */
#define FILE_IO_BATCH_PAGES 1024u

/* Slot i of a file holds one page, at byte i * UTTM_PAGE_SIZE. */
static inline off_t uttm_file_io_slot_offset(unsigned long slot)
{
	return (off_t)slot << UTTM_PAGE_SHIFT;
}

/**
 * struct file_req - one vectored transfer
 * @pages: the pages, in slot order.
 * @count: how many; the slots from @slot on.
 * @slot: first slot.
 * @moved: pages transferred, set by uttm_file_io_run().
 */
struct file_req {
	void *const *pages;
	unsigned long count;
	unsigned long slot;
	unsigned long moved;
};

/**
 * struct file_io - how a file is read and written
 * @fd: the file, which @io owns: uttm_file_io_fini() closes it.
 * @ring_lock: held while a batch goes through @ring.
 * @ring: the ring, while @ring_ready (built with liburing only).
 * @ring_ready: batches may use @ring.
 * @ring_error: why there is no ring although one was wanted, else 0.
 * @batches: batches run.
 * @requests: transfers issued: io_uring requests and pwritev()/preadv()
 * calls, each call counted.
 */
struct file_io {
	int fd;
	pthread_mutex_t ring_lock;
#ifdef UTTM_HAVE_LIBURING
	struct io_uring ring;
#endif
	atomic_bool ring_ready;
	atomic_int ring_error;
	atomic_ulong batches;
	atomic_ulong requests;
};

/*
 * Sets @io up for @fd, which it takes over, with a ring if @use_ring and
 * the kernel allows.
 */
void uttm_file_io_init(struct file_io *io, int fd, bool use_ring);
/* Ends the ring, if any, and closes the file. */
void uttm_file_io_fini(struct file_io *io);

/*
 * Writes or reads the pages of @nr requests, FILE_IO_BATCH_PAGES at most
 * in all.  Returns the pages transferred from the start of the batch
 * (all of @reqs[0], then of @reqs[1], ...) up to the first request that
 * fell short, or a negative errno when not a page was; -EINTR only if
 * @intr.  Pages of later requests may have been transferred too, and
 * their @moved says so.
 */
long uttm_file_io_run(struct file_io *io, struct file_req *reqs,
		      unsigned int nr, bool write, bool intr);

/*
 * Describes @count pages at @bufs in @iov, one entry per run of pages
 * that are neighbours in memory.  Returns the number of entries.
 */
int uttm_file_io_pages_iov(struct iovec *iov, void *const *bufs,
			   unsigned long count);

/*
 * The ring (file_ring.c).  uttm_file_ring_init() sets up @io's ring:
 * 0, or why there is none (-EOPNOTSUPP without liburing).
 * uttm_file_ring_run() puts a batch through it, RING_ENTRIES requests in
 * flight at most; a signal never abandons requests in flight, which use
 * the caller's pages, and with @intr stops new ones from being queued.
 * It returns -EINTR when it stopped so, else 0, and drops the ring for
 * good (@ring_ready false, @ring_error set) when it stops working.
 */
#ifdef UTTM_HAVE_LIBURING
int uttm_file_ring_init(struct file_io *io);
void uttm_file_ring_exit(struct file_io *io);
int uttm_file_ring_run(struct file_io *io, struct file_req *reqs,
		       unsigned int nr, bool write, bool intr);
#else
static inline int uttm_file_ring_init(struct file_io *io)
{
	return -EOPNOTSUPP;
}

/* Never called: without a ring @ring_ready is never set. */
static inline void uttm_file_ring_exit(struct file_io *io)
{
}

static inline int uttm_file_ring_run(struct file_io *io,
				     struct file_req *reqs, unsigned int nr,
				     bool write, bool intr)
{
	return 0;
}
#endif

/*
 * Slot I/O: batches of pages between memory and the slots of a store's
 * file, shared by the stores that keep pages in a file (shmem, file): slot i
 * holds one page at byte i * UTTM_PAGE_SIZE, a batch takes runs of
 * neighbouring slots so that its pages move in few large transfers
 * (File I/O, above), and a run of dropped handles is one hole.
 */

/* Slots of a store bounded by swap or disk only: 16 TiB of pages. */
#define SLOT_IO_MAX_SLOTS (1UL << 32)

/**
 * struct slot_batch - the requests of one batch of pages
 * @reqs: one per REQ_PAGES pages of a run of neighbouring slots (or
 * handles), in the order of the pages.
 * @nr: requests in @reqs.
 */
struct slot_batch {
	struct file_req reqs[FILE_IO_BATCH_PAGES];
	unsigned int nr;
};

/* Pages from @handles[0] on whose handles follow each other. */
unsigned long uttm_slot_io_handle_run(const unsigned long *handles,
				      unsigned long count);

/*
 * Takes slots for the first FILE_IO_BATCH_PAGES at most of @count pages
 * at @src, in runs, and plans their writes in @batch.  Returns the pages
 * planned, or -ENOSPC or -ENOMEM when not one slot could be taken.
 */
long uttm_slot_io_batch_take(struct slot_batch *batch, struct slots *slots,
			     void *const *src, unsigned long count);

/*
 * Ends a batch whose writes gave @written (uttm_file_io_run()'s result): hands
 * out handles for the pages written, a prefix, and frees the slots of
 * the others.
 */
void uttm_slot_io_batch_commit(const struct slot_batch *batch,
			       struct slots *slots, long written,
			       unsigned long *handles);

/*
 * Reads the pages of the first FILE_IO_BATCH_PAGES at most of @count
 * handles into @dst, a run of neighbouring handles in few transfers.
 * Returns as uttm_file_io_run().
 */
long uttm_slot_io_read(struct file_io *io, void *const *dst,
		       const unsigned long *handles, unsigned long count,
		       bool intr);

/* Frees the slots of @count handles, run by run. */
void uttm_slot_io_free(struct slots *slots, const unsigned long *handles,
		       unsigned long count);

/*
 * Punches @count slots from @first out of @fd and frees them.  Returns
 * 0, or -EOPNOTSUPP when the file system cannot punch holes.
 */
int uttm_slot_io_release(int fd, struct slots *slots, unsigned long first,
			 unsigned long count);

/* Punches the slots of @count handles out of @fd, a hole per run. */
void uttm_slot_io_punch(int fd, struct slots *slots,
			const unsigned long *handles, unsigned long count);

/*
 * Zcomp: the compressors of the compressed store, after the kernel's
 * zcomp: one interface over LZ4 and zstd, and a small pool of streams
 * (the state and scratch buffer one compression needs) so that
 * compression runs outside every lock, on as many threads at once as
 * call in.
 */

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
int uttm_zcomp_init(struct zcomp *comp, enum uttm_compressor algorithm,
		    int level);
void uttm_zcomp_fini(struct zcomp *comp);

/* An idle stream or a new one; NULL when memory is short. */
struct zcomp_stream *uttm_zcomp_stream_get(struct zcomp *comp);
void uttm_zcomp_stream_put(struct zcomp *comp, struct zcomp_stream *stream);

/*
 * Compresses the page at @src into @stream->buf.  Returns the length, or
 * 0 when the result would not fit in @max bytes.
 */
unsigned int uttm_zcomp_compress(const struct zcomp *comp,
				 struct zcomp_stream *stream, const void *src,
				 unsigned int max);

/* Whether uttm_zcomp_decompress() needs a stream: zstd does, LZ4 does not. */
static inline bool uttm_zcomp_decompress_needs_stream(const struct zcomp *comp)
{
	return comp->algorithm == UTTM_COMPRESSOR_ZSTD;
}

/*
 * Decompresses @len bytes at @src into the page at @dst; 0 or -EIO.
 * @stream may be NULL when uttm_zcomp_decompress_needs_stream() says so.
 */
int uttm_zcomp_decompress(const struct zcomp *comp, struct zcomp_stream *stream,
			  const void *src, unsigned int len, void *dst);

/*
 * Zpool: a size-class allocator for compressed pages, after the kernel's
 * zsmalloc: objects of up to a page are rounded up to a multiple of 16
 * bytes and packed back to back into chunks that serve one class each,
 * so a 700-byte object costs 704 bytes and not a page.  Memory is counted
 * in pages actually touched, charged against a limit before they are
 * touched, and a chunk that empties goes back to the operating system.
 */

#define ZPOOL_ALIGN_SHIFT 4
#define ZPOOL_ALIGN (1u << ZPOOL_ALIGN_SHIFT)
#define ZPOOL_NR_CLASSES (UTTM_PAGE_SIZE >> ZPOOL_ALIGN_SHIFT)
#define ZPOOL_CHUNK_SHIFT 18
#define ZPOOL_CHUNK_SIZE (1UL << ZPOOL_CHUNK_SHIFT)

struct zpool_chunk;

/**
 * struct zpool_class - the chunks serving one object size, (index + 1)
 * times ZPOOL_ALIGN
 * @lock: protects @partial and the chunks on it.
 * @partial: chunks that can still hand out an object, most recently
 * freed into first.
 */
struct zpool_class {
	pthread_mutex_t lock;
	struct zpool_chunk *partial;
};

/**
 * struct zpool - the allocator
 * @base: address space reserved for every chunk the pool may have,
 * inaccessible past @nr_mapped chunks.
 * @nr_chunks: chunks @base has room for.
 * @map_lock: serialises growing @nr_mapped.
 * @nr_mapped: chunks from @base on that are readable and writable.
 * @chunks: one descriptor per chunk, in address order.
 * @free_chunks: which chunks are in use.
 * @limit: bytes of touched pages the pool may hold.
 * @used: bytes of touched pages charged so far.
 * @chunks_used: chunks serving a class.
 * @classes: one per object size.
 */
struct zpool {
	char *base;
	unsigned long nr_chunks;
	pthread_mutex_t map_lock;
	atomic_ulong nr_mapped;
	struct zpool_chunk *chunks;
	struct slots free_chunks;
	uint64_t limit;
	_Atomic uint64_t used;
	atomic_ulong chunks_used;
	struct zpool_class classes[ZPOOL_NR_CLASSES];
};

/*
 * Reserves address space for a pool of at most @limit bytes; nothing is
 * touched yet.  Returns 0, -EINVAL for a zero limit, or -ENOMEM.
 */
int uttm_zpool_init(struct zpool *pool, uint64_t limit);
void uttm_zpool_fini(struct zpool *pool);

/*
 * Allocates an object of @size bytes (1 to a page) and returns its offset
 * in @obj.  Returns 0, -ENOSPC when the limit or the chunks run out, or
 * -ENOMEM when the system refuses to commit memory for a new chunk.
 */
int uttm_zpool_alloc(struct zpool *pool, unsigned int size, uint64_t *obj);

/*
 * Frees the object at @obj that was allocated with @size.  Returns 0, or
 * -EINVAL when no such object is allocated (a freed one may go unseen).
 */
int uttm_zpool_free(struct zpool *pool, uint64_t obj, unsigned int size);

/* Whether @obj can name an object of @size in @pool, in memory it uses. */
bool uttm_zpool_obj_valid(const struct zpool *pool, uint64_t obj,
			  unsigned int size);

static inline void *uttm_zpool_obj_addr(const struct zpool *pool, uint64_t obj)
{
	return pool->base + obj;
}

/* Bytes of touched pages the pool holds. */
uint64_t uttm_zpool_used_bytes(const struct zpool *pool);

/* Bytes of the descriptors of the chunks in use. */
uint64_t uttm_zpool_metadata_bytes(const struct zpool *pool);

/*
 * Ztable: where each page of a compressed store with a lower store is.
 * A page's handle then names an entry of this table, which says whether
 * the page is in the pool (where, how long) or in the lower store (its
 * handle there), so the page can move down while its handle stays what
 * the vector holds.  Entries are 64-bit words read and changed without a
 * lock; the table grows by chunks, which never move.
 */

/**
 * struct ztable - the table
 * @chunks: one pointer per chunk of 4096 entries, NULL until used.
 * @nr_chunks: chunks @chunks has room for.
 * @grow_lock: serialises making a chunk.
 * @chunks_used: chunks made.
 * @used: which entries are in use.
 */
struct ztable {
	_Atomic(_Atomic uint64_t *) *chunks;
	unsigned long nr_chunks;
	pthread_mutex_t grow_lock;
	atomic_ulong chunks_used;
	struct slots used;
};

/* A table of @max entries at most; 0 or -ENOMEM. */
int uttm_ztable_init(struct ztable *t, unsigned long max);
void uttm_ztable_fini(struct ztable *t);
/* Takes an entry, which reads 0; its index, or -ENOSPC or -ENOMEM. */
long uttm_ztable_alloc(struct ztable *t);
/* Clears entry @index and gives it back. */
void uttm_ztable_free(struct ztable *t, unsigned long index);
/* Entry @index, or NULL for one the table cannot have. */
_Atomic uint64_t *uttm_ztable_entry(const struct ztable *t,
				    unsigned long index);
/* Heap bytes of the chunks made. */
uint64_t uttm_ztable_bytes(const struct ztable *t);

/*
 * Redis: the parts of the Redis store (redis.c).  A node is one server
 * the store talks to, over one connection (redis_conn.c); the slot map
 * routes each key to its node: the one server of a standalone setup, or
 * the master that owns the key's hash slot in a Redis Cluster
 * (redis_cluster.c).
 */

struct redisContext;
struct redisReply;

/* Hash slots of a Redis Cluster. */
#define REDIS_SLOTS 16384u
/* Longest host name a node may have, with its NUL. */
#define REDIS_HOST_MAX 256u

/**
 * struct redis_endpoint - where a server listens
 * @host: host name or address, without brackets for IPv6.
 * @port: TCP port.
 */
struct redis_endpoint {
	char host[REDIS_HOST_MAX];
	int port;
};

/**
 * struct redis_login - how the store connects and authenticates
 * @user: ACL user, or NULL for the default user.
 * @password: password, or NULL for none.  Never logged.
 * @timeout_ms: bound on connecting and on each read or write.
 */
struct redis_login {
	char *user;
	char *password;
	unsigned int timeout_ms;
};

/**
 * struct redis_node - one server and the store's connection to it
 * @addr: where it listens.
 * @ctx: the connection, or NULL while there is none.
 * @master: the slot map routes keys to this node.
 * @connects: connections opened to it.
 * @unanswered: commands the store sent on @ctx without waiting, whose
 * replies come before any other.
 */
struct redis_node {
	struct redis_endpoint addr;
	struct redisContext *ctx;
	bool master;
	unsigned long connects;
	unsigned long unanswered;
};

/*
 * Parses "redis://[USER[:PASSWORD]@]HOST[:PORT]" (the scheme optional,
 * an IPv6 address in brackets, the port 6379 by default) into @ep, and
 * the user and password, when given, into new strings in @login.
 * Returns 0, -EINVAL for a malformed URL, or -ENOMEM.
 */
int uttm_redis_parse_url(const char *url, struct redis_endpoint *ep,
			 struct redis_login *login);

/* Replaces the password of @login with a copy of @password (NULL on -ENOMEM). */
void uttm_redis_login_set_password(struct redis_login *login,
				   const char *password);
/* Frees the strings of @login, wiping the password first. */
void uttm_redis_login_fini(struct redis_login *login);

/*
 * Connects @node and authenticates.  Returns 0; -EACCES when the server
 * refuses the login; the connection's errno (-ECONNREFUSED, ...), or
 * -EIO.
 */
int uttm_redis_connect(struct redis_node *node,
		       const struct redis_login *login);

/* Closes @node's connection, if any. */
void uttm_redis_disconnect(struct redis_node *node);

/*
 * Sends all that is queued on @node's connection.  Returns 0, or -EIO
 * after disconnecting it.
 */
int uttm_redis_flush(struct redis_node *node);

/*
 * The next reply on @node's connection; NULL after disconnecting it when
 * the connection fails.  With a @page, a reply that is a page of bytes
 * goes straight from the connection's buffer into it, and what returns
 * is a token that uttm_redis_reply_landed() recognises, not to be freed.
 */
struct redisReply *uttm_redis_reply(struct redis_node *node, void *page);
bool uttm_redis_reply_landed(const struct redisReply *reply);
/*
 * Whether bytes of a reply wait on @node's connection (in hiredis's
 * buffer or the socket), so that reading them would not wait for the
 * server.
 */
bool uttm_redis_reply_waiting(const struct redis_node *node);

/* Pages uttm_redis_read_pages() reads at most: 3 pieces each in a readv(). */
#define REDIS_READ_PAGES 64u

/*
 * Reads the replies to GETs of pages that come next on @node's
 * connection straight into @pages, up to @count of them, without
 * hiredis's buffer (redis_pages.c).  Returns how many pages landed, from
 * the first: it stops before the first reply that is not a page, left
 * for uttm_redis_reply(), and may land none.  -EIO after disconnecting
 * @node when the connection fails.
 */
long uttm_redis_read_pages(struct redis_node *node, void *const *pages,
			   unsigned long count);

/*
 * Sends a command of @argc arguments and waits for its reply, connecting
 * first if needed.  NULL when the node cannot be reached.
 */
struct redisReply *uttm_redis_command(struct redis_node *node,
				      const struct redis_login *login,
				      int argc, const char **argv);

/**
 * struct redis_memory - what a server says of its memory (INFO memory)
 * @used: bytes its data takes (used_memory).
 * @limit: its maxmemory, or the machine's memory when it has none.
 * @evicts: its maxmemory-policy may evict keys: anything but noeviction.
 */
struct redis_memory {
	uint64_t used;
	uint64_t limit;
	bool evicts;
};

/*
 * Reads @node's memory figures.  Returns 0, -EACCES when the login may
 * not run INFO, -EPROTO for a reply without them, or -EIO.
 */
int uttm_redis_memory(struct redis_node *node, const struct redis_login *login,
		      struct redis_memory *mem);

/*
 * Whether @node runs in cluster mode (INFO cluster): 1 or 0, or a
 * negative errno as uttm_redis_memory().
 */
int uttm_redis_cluster_enabled(struct redis_node *node,
			       const struct redis_login *login);

/**
 * struct redis_map - which node serves which key
 * @nodes: every node the store has known, in the order it learnt of
 * them; entries never move, so indices stay valid.  The first is the
 * node the store was given.
 * @nr_nodes: entries used.
 * @max_nodes: entries allocated.
 * @cluster: the servers form a Redis Cluster; otherwise every key goes
 * to the first node.
 * @stale: a redirection or a lost node says the map is out of date.
 * @slot_node: the node of each hash slot, in a cluster.
 */
struct redis_map {
	struct redis_node *nodes;
	unsigned int nr_nodes;
	unsigned int max_nodes;
	bool cluster;
	bool stale;
	uint16_t slot_node[REDIS_SLOTS];
};

/* Sets @map up with the single node at @seed.  0 or -ENOMEM. */
int uttm_redis_map_init(struct redis_map *map,
			const struct redis_endpoint *seed);
/* Disconnects and frees every node. */
void uttm_redis_map_fini(struct redis_map *map);

/* The hash slot of a key, as Redis Cluster computes it. */
unsigned int uttm_redis_key_slot(const char *key, size_t len);

/* Handles whose keys share a hash tag, and so a slot. */
#define REDIS_GROUP_PAGES 64u

/*
 * Writes the key of the page of @handle in a store whose keys start with
 * @prefix (which has no '{') into @key, of @size bytes; its length, as
 * snprintf().
 */
int uttm_redis_page_key(const char *prefix, unsigned long handle, char *key,
			size_t size);

/* The index of the node that serves hash slot @slot. */
unsigned int uttm_redis_map_route(const struct redis_map *map,
				  unsigned int slot);

/*
 * The index of the node at @ep, added to the map when it is new.
 * Returns it, or -ENOMEM.
 */
int uttm_redis_map_node(struct redis_map *map, const struct redis_endpoint *ep);

/*
 * Reads the slot map (CLUSTER SLOTS) from the first node that answers,
 * masters only.  Returns 0, or -EIO when no node answered, -EPROTO for a
 * reply that does not cover every slot the old map had.
 */
int uttm_redis_map_refresh(struct redis_map *map,
			   const struct redis_login *login);

/*
 * Parses a "MOVED slot host:port" or "ASK slot host:port" error of
 * @len bytes.  Returns 1 for MOVED, 2 for ASK with the target in @to, or
 * 0 for any other error.
 */
int uttm_redis_parse_redirect(const char *err, size_t len,
			      struct redis_endpoint *to);

#endif /* UTTM_STORE_INTERNAL_H */
