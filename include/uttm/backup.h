/* SPDX-License-Identifier: MIT */
/*
 * uttm/backup.h - the store layer: the stores uttm provides
 *
 * Every store implements struct uttm_backup_ops (uttm/store.h) and is handed
 * to page vectors with uttm_tt_set_backup().  A store allocates its own
 * indices, so one store can serve a single vector or a whole device.
 * Stores are freed by dropping the last reference: uttm_backup_put().
 *
 * The shmem store keeps pages in a memfd, as the kernel's ttm_backup keeps
 * them in a shmem file: they stay in memory until the kernel swaps the
 * file out, or until writeback asks it to do so at once.
 *
 * The insert store is the zero-copy variant.  An arena's pages already
 * live in a memfd, so the store takes a block by taking ownership of it
 * where it lies, as shmem_insert_folio() moves a folio into a shmem file:
 * nothing is copied and nothing allocated, and the kernel can swap the
 * pages out of the arena's file as it would out of any other.
 *
 * The compressed store keeps pages compressed in memory, as zram and
 * zswap do: it relieves memory on machines without swap or a fast disk.
 *
 * The file store keeps pages in a file on disk, written and read with
 * direct I/O straight from and into the pages: it frees memory on
 * machines without swap, and its room is the disk's.
 *
 * The Redis store keeps pages in a Redis server or a Redis Cluster, on
 * other machines: far memory whose room grows with the nodes.
 */
#ifndef UTTM_BACKUP_H
#define UTTM_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/store.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/**
 * struct uttm_backup_shmem_params - how to create a shmem store
 * @capacity: bytes the store may hold.  0 bounds it by the swap the
 * process can still use: without swap the store then refuses to back
 * anything up, since pages moved to a memfd that cannot be swapped out
 * free no memory.  A non-zero capacity is the caller's promise that
 * moving pages there is worth it (tests and benchmarks on machines
 * without swap use it).
 * @fault: fault injector, or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_shmem_params {
	uint64_t capacity;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/**
 * uttm_backup_shmem_create() - create a memfd-backed store
 * @params: capacity and fault injector.
 * @out: receives the store, holding one reference.
 *
 * Backing up copies each page into the memfd with vectored writes; with
 * writeback the pages are paged out to swap at once (MADV_PAGEOUT).
 * Restoring reads them back; dropping a handle punches its page out of
 * the file.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments; -ENOMEM; the error of
 * memfd_create().
 */
int uttm_backup_shmem_create(const struct uttm_backup_shmem_params *params,
			     struct uttm_backup **out);

/**
 * struct uttm_backup_insert_params - how to create an insert store
 * @arena: the arena whose blocks the store takes; it must outlive the
 * store.  Vectors backed up into the store must draw from pools of this
 * arena.
 * @capacity: bytes the store may hold, or 0 to bound it by the swap the
 * process can still use, as for struct uttm_backup_shmem_params.
 * @fault: fault injector, or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_insert_params {
	struct uttm_arena *arena;
	uint64_t capacity;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/** Transfer with pwritev() and preadv() only, never through io_uring. */
#define UTTM_BACKUP_FILE_SYNC (1u << 0)
/** Go through the page cache instead of using direct I/O. */
#define UTTM_BACKUP_FILE_BUFFERED (1u << 1)
/**
 * Accept a directory whose file system keeps its files in memory (tmpfs,
 * ramfs), where backing pages up frees nothing: for tests.
 */
#define UTTM_BACKUP_FILE_IN_MEMORY (1u << 2)
/** Flags a caller may pass in struct uttm_backup_file_params. */
#define UTTM_BACKUP_FILE_FLAGS (UTTM_BACKUP_FILE_SYNC | \
				UTTM_BACKUP_FILE_BUFFERED | \
				UTTM_BACKUP_FILE_IN_MEMORY)

/**
 * struct uttm_backup_file_params - how to create a file store
 * @path: a directory, in which the store creates a file without a name,
 * or the path of a new file, which must not exist yet; NULL for the
 * temporary directory ($TMPDIR, else /tmp) if it is on disk, else the
 * first of /tmp, /var/tmp, $XDG_CACHE_HOME and ~/.cache that is.  A
 * directory on a file system that keeps its files in memory (tmpfs,
 * ramfs) is refused unless UTTM_BACKUP_FILE_IN_MEMORY accepts it: a file
 * there frees no memory.
 * @max_bytes: bytes the store may hold, at least a page; 0 bounds it by
 * the free space of the file system only.
 * @flags: UTTM_BACKUP_FILE_SYNC, UTTM_BACKUP_FILE_BUFFERED,
 * UTTM_BACKUP_FILE_IN_MEMORY.
 * @fault: fault injector, or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_file_params {
	const char *path;
	uint64_t max_bytes;
	unsigned int flags;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/**
 * enum uttm_compressor - how the compressed store compresses pages
 * @UTTM_COMPRESSOR_LZ4: LZ4, the default: fast both ways.
 * @UTTM_COMPRESSOR_ZSTD: zstd: smaller output, slower.
 */
enum uttm_compressor {
	UTTM_COMPRESSOR_LZ4,
	UTTM_COMPRESSOR_ZSTD,
};

/**
 * struct uttm_backup_compressed_params - how to create a compressed store
 * @cap: bytes of memory the store may hold for compressed data, counted
 * in whole pages, as zram's mem_limit counts its pool.  0 means the
 * machine's physical memory.  At most 16 TiB.
 * @compressor: the algorithm.
 * @level: for LZ4 the acceleration (1 and up, faster and larger as it
 * grows), for zstd the level (ZSTD_minCLevel() to ZSTD_maxCLevel()); 0 is
 * the algorithm's default.
 * @max_compressed: a page whose compressed form is larger than this many
 * bytes is stored raw, since decompressing it would cost more than it
 * saves; 0 means seven eighths of a page (a page must save at least an
 * eighth), at most a page less one byte.
 * @lower: a store the coldest pages move down to, whole batches at a
 * time, when the cap is reached or the store is asked to write its
 * memory out (uttm_backup_writeback()); restores find pages wherever
 * they are.  Any store that copies pages in (not one that only inserts);
 * the compressed store takes its own reference.  NULL for none.
 * @fault: fault injector, or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_compressed_params {
	uint64_t cap;
	enum uttm_compressor compressor;
	int level;
	unsigned int max_compressed;
	struct uttm_backup *lower;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/**
 * uttm_backup_insert_create() - create a zero-copy store of arena blocks
 * @params: arena, capacity and fault injector.
 * @out: receives the store, holding one reference.
 *
 * The store takes whole blocks of its arena (uttm_backup_insert_block(),
 * and uttm_tt_backup() for vectors of the arena): the handle of a page is
 * its page frame number plus one, so the pages of a block get consecutive
 * handles.  The pages stay allocated in the arena, counted in its
 * pages_allocated, until their handles are dropped.  Writeback asks the
 * kernel to page the block out of the arena's file now (MADV_PAGEOUT;
 * only swap makes that free memory).  Restoring reads each page where it
 * lies, which swaps it back in if needed; dropping a handle frees its
 * page to the arena, pages dropped together with one hole punch.  The
 * store cannot copy pages in: uttm_backup_backup_pages() refuses it.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments or a NULL arena; -ENOMEM.
 */
int uttm_backup_insert_create(const struct uttm_backup_insert_params *params,
			      struct uttm_backup **out);

/**
 * uttm_backup_compressed_create() - create a compressed-RAM store
 * @params: cap, algorithm, level, raw threshold and fault injector.
 * @out: receives the store, holding one reference.
 *
 * A page whose bytes are all equal (a zero page above all) is kept as its
 * fill value alone, in its handle, with no memory.  Any other page is
 * compressed, outside every lock, and kept in a size-class allocator that
 * packs objects of 16-byte classes into chunks and gives a chunk's pages
 * back to the system as soon as it empties; a page that does not compress
 * below @params->max_compressed is kept raw.  The store refuses pages
 * with -ENOSPC once the memory it holds reaches the cap, so a vector is
 * then partly backed up; uttm_backup_bytes_avail() reports the cap less
 * that memory.  With a lower store it is a tier instead: at the cap its
 * coldest pages move down, and its room is the cap's and the lower
 * store's; each page that is not same-filled then costs an entry of 8
 * bytes, so that its handle stays valid wherever it goes (see "Lower
 * store" in src/store/compressed.c).  Writeback is ignored: there is nothing to write pages out
 * to.  One store may serve many vectors from many threads.  Backing up
 * takes the lock of the store's pool of compression streams twice per
 * call (to take a stream and put it back, unless every page is
 * same-filled), the lock of one size class at a time, and, when it needs
 * a new chunk, the lock of the pool's chunk bitmap (and the pool's
 * mapping lock if that chunk lies past every chunk used before).
 * Dropping takes the lock of one size class at a time, and the chunk
 * bitmap's when a chunk empties.  Restoring takes only the stream pool's
 * lock, and only for zstd-compressed pages.  None of them waits for I/O,
 * so all are safe from the shrinker.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments, an unknown compressor, a level
 * out of range, @max_compressed of a page or more, a cap beyond 16 TiB, a
 * lower store that only inserts; -ENOMEM when the address space for the
 * cap cannot be reserved.
 */
int uttm_backup_compressed_create(const struct uttm_backup_compressed_params *params,
				  struct uttm_backup **out);

/**
 * struct uttm_backup_compressed_stats - what a compressed store holds
 * @pages: pages stored (live handles).
 * @same_filled_pages: of those, pages kept as their fill value alone.
 * @raw_pages: of those, pages kept uncompressed.
 * @compressed_bytes: bytes of compressed data, raw pages counted whole.
 * @pool_bytes: memory of the allocator: the pages its chunks cover,
 * including what rounding to classes and chunk ends leaves unused.  What
 * the cap bounds.
 * @metadata_bytes: memory describing that data: the chunk descriptors.
 * Handles need none, they carry their own record.
 * @memory_bytes: @pool_bytes plus @metadata_bytes.
 * @ratio: bytes of the pages stored divided by @memory_bytes; 0 when the
 * store holds no memory.
 * @lower_pages: of the pages stored, those moved down to the lower store.
 * @reserved: zero: room for counters to come.
 *
 * The store's fixed working memory (compression streams, the table of
 * chunk descriptors) is not counted; every figure is 0 once every handle
 * has been dropped.
 */
struct uttm_backup_compressed_stats {
	uint64_t pages;
	uint64_t same_filled_pages;
	uint64_t raw_pages;
	uint64_t compressed_bytes;
	uint64_t pool_bytes;
	uint64_t metadata_bytes;
	uint64_t memory_bytes;
	double ratio;
	uint64_t lower_pages;
	uint64_t reserved[8];
};

/**
 * uttm_backup_compressed_stats() - read the counters of a compressed store
 * @backup: a store made by uttm_backup_compressed_create().
 * @stats: receives the counters.
 *
 * Each counter is exact when no other thread is using the store; while
 * others are, each is a recent value and they may disagree by a page or
 * two.
 *
 * Context: Any thread, lock-free. Safe from the shrinker.
 * Return: 0; -EINVAL for NULL arguments or a store of another kind.
 */
int uttm_backup_compressed_stats(struct uttm_backup *backup,
				 struct uttm_backup_compressed_stats *stats);

/**
 * uttm_backup_file_create() - create a store that keeps pages in a file
 * @params: where, how large, how to do I/O, fault injector.
 * @out: receives the store, holding one reference.
 *
 * The file is unlinked as soon as it is created (O_TMPFILE where the file
 * system has it, else created and unlinked at once), so it never outlives
 * the store, even when the process crashes.  Its pages are read and
 * written with O_DIRECT, from and into the pages themselves, without a
 * bounce copy; a file system that refuses O_DIRECT gets buffered I/O
 * instead, which uttm_backup_file_stats() reports.  Each batch of pages
 * goes to runs of neighbouring slots and is submitted at once through
 * io_uring when the kernel allows a ring, else with one pwritev() or
 * preadv() per run.  With writeback, a backup returns only once its data
 * is durable (fdatasync(), once per batch).  Dropping handles frees their
 * slots at once; their disk blocks stay for the next backup to overwrite
 * until the store trims itself (when the file system has less free space
 * than the store keeps idle) or uttm_backup_file_trim() is called.  See
 * "File store" in src/store/file.c.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments, unknown flags or a cap below a
 * page; -EEXIST when @path names an existing file; -EMEDIUMTYPE when the
 * directory keeps its files in memory (or, for a NULL @path, no default
 * directory is on disk); the error of creating the file (-ENOENT,
 * -EACCES, -EROFS, -ENOTDIR, ...); -ENOMEM.
 */
int uttm_backup_file_create(const struct uttm_backup_file_params *params,
			    struct uttm_backup **out);

/**
 * struct uttm_backup_file_stats - how a file store does its I/O
 * @direct: transfers bypass the page cache (O_DIRECT).  False when
 * UTTM_BACKUP_FILE_BUFFERED asked so or the file system refused O_DIRECT.
 * @io_uring: batches are submitted through io_uring.
 * @io_uring_error: why not, when the store wanted a ring: the error of
 * setting one up (-EPERM when the kernel.io_uring_disabled sysctl forbids
 * it, -ENOSYS without kernel support); otherwise 0.
 * @slots_used: pages the store holds.
 * @max_slots: pages it may hold at most.
 * @idle_bytes: disk space the file holds beyond those pages: blocks of
 * dropped handles, kept for reuse until the store trims.
 * @batches: batches of pages transferred (one per store call).
 * @requests: vectored transfers issued: io_uring requests (a run of
 * neighbouring slots is cut into requests of 64 pages, in flight
 * together) and pwritev() or preadv() calls (one per run).
 * @syncs: fdatasync() calls made for writeback.
 * @dir: the directory the file was created in; valid while the store
 * lives.
 * @reserved: zero: room for counters to come.
 */
struct uttm_backup_file_stats {
	bool direct;
	bool io_uring;
	int io_uring_error;
	unsigned long slots_used;
	unsigned long max_slots;
	uint64_t idle_bytes;
	unsigned long batches;
	unsigned long requests;
	unsigned long syncs;
	const char *dir;
	uint64_t reserved[8];
};

/**
 * uttm_backup_file_trim() - give a file store's idle disk space back
 * @backup: a store made by uttm_backup_file_create().
 *
 * Punches the blocks of every run of free slots out of the file, one hole
 * per run.  Backups running meanwhile may find the store full for a
 * moment and back up fewer pages.
 *
 * Context: May sleep (file system work, milliseconds per hole). Takes the
 * store's slot lock for short moments. Safe from the shrinker.
 * Return: 0, or -EINVAL when @backup is not a file store.
 */
int uttm_backup_file_trim(struct uttm_backup *backup);

/**
 * uttm_backup_file_stats() - read the state of a file store
 * @backup: a store made by uttm_backup_file_create().
 * @stats: receives the figures.
 *
 * Context: Any thread; does not sleep beyond an fstat(). Takes the
 * store's slot lock.
 * Return: 0, or -EINVAL for NULL arguments or another kind of store.
 */
int uttm_backup_file_stats(struct uttm_backup *backup,
			   struct uttm_backup_file_stats *stats);

/**
 * struct uttm_backup_redis_params - how to create a Redis store
 * @url: the server, "redis://[USER[:PASSWORD]@]HOST[:PORT]" (the scheme
 * may be left out, an IPv6 address goes in brackets, the port defaults
 * to 6379); for a Redis Cluster any one of its nodes.  NULL means
 * "redis://127.0.0.1:6379".
 * @password: the password to log in with, which overrides one in @url;
 * NULL to take it from @url, else from the environment variable
 * UTTM_REDIS_PASSWORD, else to log in without one.  The store never
 * prints it.
 * @key_prefix: the start of every key of the store, which an ACL can
 * restrict a user to; NULL for "uttm:".  The store appends a random
 * identifier of its own, so that no two stores share a key.  At most 64
 * bytes, without '{' or '}' (a hash tag would put every key on one node).
 * @max_bytes: bytes of pages the store may hold, at least a page; 0
 * bounds it by the servers' room only.
 * @replicas: a batch of pages counts as backed up only once this many
 * replicas of each master have it (WAIT), so that a failover cannot lose
 * it; 0 trusts the masters alone.
 * @timeout_ms: bound on connecting and on each read or write of a
 * connection; 0 means 5000.
 * @fault: fault injector, or NULL.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_backup_redis_params {
	const char *url;
	const char *password;
	const char *key_prefix;
	uint64_t max_bytes;
	unsigned int replicas;
	unsigned int timeout_ms;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/**
 * uttm_backup_redis_create() - create a store on a Redis server or cluster
 * @params: server, login, key prefix, cap, replicas, timeout, injector.
 * @out: receives the store, holding one reference.
 *
 * Each page is the value of one key, the store's prefix followed by its
 * handle.  Backups write, restores read, drops delete whole batches of
 * keys pipelined: one round trip per batch and node, never one per page.
 * A Redis Cluster is found by itself (INFO): the store then follows its
 * slot map, sends each key to the master of its hash slot, follows MOVED
 * and ASK redirections and refreshes the map when they or a lost node say
 * it changed.  The store's keys carry no hash tag, so a vector's pages
 * spread over every master.
 *
 * Nothing is lost when the servers fail: a page the server refuses
 * (out of memory) or whose write is cut off stays in its vector, which is
 * then partly backed up; a restore that finds a key missing or its node
 * down returns -EIO, keeps every handle not yet restored, and can be
 * retried or the vector released.  A lost connection is opened again,
 * once per call, before the pages it carried are given up.
 *
 * uttm_backup_bytes_avail() is the servers' room (maxmemory, or the
 * machine's memory when a server has none, less used_memory; in a
 * cluster the smallest room of a master times the masters), read with
 * INFO at most every 100 ms, within @max_bytes.  It is 0 while a master
 * cannot be reached or its maxmemory-policy has changed to one that may
 * evict keys.  When the store is freed every key of it still on a server
 * is deleted.
 *
 * Anyone who can read the server can read the pages backed up there: see
 * docs/stores.md for an ACL user limited to the key prefix.
 *
 * Context: May sleep (network round trips). No locks.
 * Return: 0; -EINVAL for NULL arguments, a malformed URL or key prefix,
 * a cap below a page; -EMEDIUMTYPE when a server's maxmemory-policy may
 * evict keys (anything but noeviction: pages must never disappear);
 * -EACCES when the server refuses the login or the commands the store
 * needs; the error of connecting (-ECONNREFUSED, -ETIMEDOUT, ...); -EIO;
 * -ENOMEM; -EOPNOTSUPP when libuttm was built without hiredis.
 */
int uttm_backup_redis_create(const struct uttm_backup_redis_params *params,
			     struct uttm_backup **out);

/**
 * struct uttm_backup_redis_stats - what a Redis store has done
 * @cluster: the server is a Redis Cluster.
 * @masters: masters the slot map routes keys to (1 for a standalone
 * server).
 * @pages: pages the store holds (live handles).
 * @batches: pipelined batches sent to a node: one round trip each.
 * @redirections: MOVED and ASK replies followed.
 * @map_refreshes: slot maps read.
 * @reconnects: connections opened again after one was lost.
 * @key_prefix: the prefix of every key of this store, its identifier
 * included.
 * @reserved: zero: room for counters to come.
 */
struct uttm_backup_redis_stats {
	bool cluster;
	unsigned int masters;
	unsigned long pages;
	unsigned long batches;
	unsigned long redirections;
	unsigned long map_refreshes;
	unsigned long reconnects;
	char key_prefix[96];
	uint64_t reserved[8];
};

/**
 * uttm_backup_redis_stats() - read the counters of a Redis store
 * @backup: a store made by uttm_backup_redis_create().
 * @stats: receives the figures.
 *
 * The deletions of the last drop, which wait to go out with the store's
 * next call, go out first and are answered, so that @stats->pages and
 * the servers agree.
 *
 * Context: May sleep: takes the store's lock, which a batch holds for its
 * round trips, and waits for the servers to answer those deletions.
 * Return: 0, or -EINVAL for NULL arguments or another kind of store.
 */
int uttm_backup_redis_stats(struct uttm_backup *backup,
			    struct uttm_backup_redis_stats *stats);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_BACKUP_H */
