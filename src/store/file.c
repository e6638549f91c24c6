// SPDX-License-Identifier: MIT
/*
 * The file store: backed-up pages live in a file on disk, at the slot
 * their handle names, and reach it by direct I/O from the pages
 * themselves.  It is the store for machines without swap, where a memfd
 * would free nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/*
 * DOC: File store
 *
 * One synchronous 4 KiB direct write costs as much as a disk round trip,
 * while large writes stream at the disk's bandwidth; so the store never
 * writes a page on its own.  A batch of pages (one store call, at most
 * FILE_IO_BATCH_PAGES) takes runs of neighbouring slots from the slot
 * bitmap, which hands out long runs; each run is cut into requests of
 * 64 pages (slot_io.c), each one vectored transfer whose iovecs point at
 * the pages themselves, wherever they are in memory.  Pages of order 0
 * thus leave in requests of 64 pages, not one by one.  Restore reads
 * runs of consecutive handles back the same way.
 *
 * The requests of a batch are in flight together through io_uring, so
 * the disk sees a queue; where the kernel refuses a ring (sysctl
 * kernel.io_uring_disabled, seccomp, an old kernel) or the caller asked
 * for UTTM_BACKUP_FILE_SYNC, each is one pwritev() or preadv().
 *
 * Direct I/O needs buffers, offsets and lengths aligned to the disk's
 * logical block; pages and slots are aligned to 4 KiB, enough for every
 * disk whose blocks are no larger.  A file system that refuses O_DIRECT
 * altogether gets buffered I/O instead of an error, since the store
 * still works, only through the page cache; the store's stats say so
 * (@direct), so a caller who must not cache can check.  Buffered pages
 * are written out and dropped from the cache by the call that moved
 * them, so that either way the store keeps no memory of its own.
 *
 * A batch succeeds for a prefix of its pages: the first request that
 * falls short (-ENOSPC, -EIO, -EFBIG) ends it, and the slots of every
 * page after it, written or not, are freed.  The tt layer keeps those
 * pages, so nothing is lost.  A read that fails leaves every handle
 * valid, so a restore can resume.  Writeback makes a batch durable with
 * one fdatasync(); if that fails, the whole batch counts as not backed
 * up.
 *
 * Dropping a handle frees its slot at once but leaves its disk blocks in
 * the file, as a swap file keeps its blocks: the next batch overwrites
 * them, which is cheaper than writing into a hole, and the restore that
 * drops handles does not wait for the file system.  Punching a hole on
 * ext4 costs about 2 ms plus 0.2 ms per MiB, three times the read of a
 * 1 MiB run, so a punch per dropped run would make restore crawl.
 * Blocks go back to the file system by trimming, one hole per run of
 * free slots: on request (uttm_backup_file_trim()), and by itself when
 * the file system has less free space left than the store keeps idle.
 */

/**
 * struct file_store - a store in a file
 * @base: what every store shares.
 * @io: the file and how it is read and written.
 * @slots: which pages of the file hold live pages.
 * @direct: the file is open with O_DIRECT.
 * @allocated: every slot below this one has disk blocks, but those a
 * trim is punching; it only grows by runs that start below it.
 * @trim_due: slots were freed, or a write fell short, since the store
 * last compared the disk it keeps idle with the file system's free space.
 * @can_punch: the file system punches holes; without, trimming gives
 * nothing back and is not tried again.
 * @syncs: fdatasync() calls made for writeback.
 * @dir: the directory the file is in.
 */
struct file_store {
	struct uttm_backup base;
	struct file_io io;
	struct slots slots;
	bool direct;
	atomic_ulong allocated;
	atomic_bool trim_due;
	atomic_bool can_punch;
	atomic_ulong syncs;
	char dir[PATH_MAX];
};

static struct file_store *to_file(struct uttm_backup *backup)
{
	return container_of(backup, struct file_store, base);
}

/*
 * Gives the slots from @first to @end disk blocks before they are
 * written.  A direct write that allocates (into a hole or past the end of
 * the file) takes the inode's lock exclusively on ext4 and XFS, so the
 * requests of a batch would go one at a time; overwriting allocated
 * blocks runs them in parallel.  fallocate() itself takes that lock and
 * waits for all direct I/O in flight, so it is called only for slots past
 * @allocated, which dropped handles leave allocated: in steady state not
 * at all.  A run that starts past @allocated leaves a gap of unknown
 * slots and does not move it.  Best effort: a write that then lacks space
 * fails on its own, with its real error.  Buffered writes allocate at
 * writeback and gain nothing.
 */
static void allocate_run(struct file_store *store, unsigned long first,
			 unsigned long end)
{
	unsigned long mark = atomic_load(&store->allocated);
	unsigned long from = MAX(first, mark);

	if (!store->direct || end <= mark ||
	    fallocate(store->io.fd, 0, uttm_file_io_slot_offset(from),
		      uttm_file_io_slot_offset(end - from)))
		return;
	/* Unless a trim lowered the mark below @first meanwhile. */
	while (first <= mark && mark < end &&
	       !atomic_compare_exchange_weak(&store->allocated, &mark, end))
		;
}

/* Allocates the slots of @batch, run by run: its requests cut runs up. */
static void allocate_batch(struct file_store *store,
			   const struct slot_batch *batch)
{
	for (unsigned int i = 0, j; i < batch->nr; i = j) {
		unsigned long first = batch->reqs[i].slot;
		unsigned long end = first + batch->reqs[i].count;

		for (j = i + 1; j < batch->nr && batch->reqs[j].slot == end; j++)
			end += batch->reqs[j].count;
		allocate_run(store, first, end);
	}
}

/* Bytes of disk the file holds beyond its live pages. */
static uint64_t idle_bytes(struct file_store *store)
{
	uint64_t used = (uint64_t)uttm_slots_used(&store->slots) <<
			UTTM_PAGE_SHIFT;
	struct stat st;

	if (fstat(store->io.fd, &st))
		return 0;
	return (uint64_t)st.st_blocks * 512 > used ?
	       (uint64_t)st.st_blocks * 512 - used : 0;
}

/* A file system that counts no blocks at all (ramfs) sets no bound. */
static uint64_t fs_free_bytes(struct file_store *store)
{
	struct statvfs st;

	if (fstatvfs(store->io.fd, &st))
		return 0;
	return st.f_blocks ? (uint64_t)st.f_bavail * st.f_frsize : UINT64_MAX;
}

/* Slots from @first on may be holes from now on. */
static void lower_allocated(struct file_store *store, unsigned long first)
{
	unsigned long mark = atomic_load(&store->allocated);

	while (first < mark &&
	       !atomic_compare_exchange_weak(&store->allocated, &mark, first))
		;
}

/*
 * Punches every run of free slots out of the file.  Each run is taken
 * while it is punched, so that no batch writes there meanwhile, and
 * @allocated is lowered before the punch, so that no batch counts on its
 * blocks after it.
 */
static void file_trim(struct file_store *store)
{
	unsigned long pos = 0, got;
	struct stat st;
	long first;

	if (!atomic_load(&store->can_punch) || fstat(store->io.fd, &st))
		return;
	while (uttm_file_io_slot_offset(pos) < st.st_size &&
	       (first = uttm_slots_take_free(&store->slots, pos, &got)) >= 0) {
		lower_allocated(store, (unsigned long)first);
		if (uttm_slot_io_release(store->io.fd, &store->slots,
					 (unsigned long)first, got)) {
			atomic_store(&store->can_punch, false);
			return;
		}
		pos = (unsigned long)first + got;
	}
}

/*
 * The store keeps no more idle disk than the file system has left.  Idle
 * disk grows only when slots are freed, and a write that fell short may
 * have met a full file system, so the two are compared only then: not on
 * every batch.
 */
static void trim_if_short(struct file_store *store)
{
	if (atomic_load(&store->can_punch) &&
	    atomic_exchange(&store->trim_due, false) &&
	    fs_free_bytes(store) < idle_bytes(store))
		file_trim(store);
}

/*
 * Buffered I/O leaves the pages of a transfer in the page cache, memory
 * the store would hold without saying so: the slots from @slot on are
 * written out (when @written) and dropped from the cache at once.
 */
static void drop_cached(const struct file_store *store, unsigned long slot,
			unsigned long count, bool written)
{
	off_t off = uttm_file_io_slot_offset(slot);
	off_t len = uttm_file_io_slot_offset(count);

	if (store->direct)
		return;
	if (written)
		sync_file_range(store->io.fd, off, len,
				SYNC_FILE_RANGE_WAIT_BEFORE |
				SYNC_FILE_RANGE_WRITE |
				SYNC_FILE_RANGE_WAIT_AFTER);
	posix_fadvise(store->io.fd, off, len, POSIX_FADV_DONTNEED);
}

static long file_backup_pages(struct uttm_backup *backup, void *const *src,
			      unsigned long count, bool writeback,
			      unsigned long *handles)
{
	struct file_store *store = to_file(backup);
	struct slot_batch batch;
	long planned, n;

	trim_if_short(store);
	planned = uttm_slot_io_batch_take(&batch, &store->slots, src, count);
	if (planned < 0)
		return planned;
	allocate_batch(store, &batch);
	n = uttm_file_io_run(&store->io, batch.reqs, batch.nr, true, false);
	if (n > 0 && writeback) {
		if (fdatasync(store->io.fd))
			n = -errno;
		else
			atomic_fetch_add(&store->syncs, 1);
	}
	for (unsigned int i = 0; i < batch.nr; i++)
		drop_cached(store, batch.reqs[i].slot, batch.reqs[i].count, true);
	uttm_slot_io_batch_commit(&batch, &store->slots, n, handles);
	if (n < planned)
		atomic_store(&store->trim_due, true);
	return n;
}

static long file_copy_pages(struct uttm_backup *backup, void *const *dst,
			    const unsigned long *handles, unsigned long count,
			    const struct uttm_operation_ctx *ctx)
{
	struct file_store *store = to_file(backup);
	long n = uttm_slot_io_read(&store->io, dst, handles, count,
				   ctx->interruptible);

	for (long i = 0, run; i < n; i += run) {
		run = (long)uttm_slot_io_handle_run(handles + i,
						    (unsigned long)(n - i));
		drop_cached(store, uttm_backup_handle_to_index(handles[i]),
			    (unsigned long)run, false);
	}
	return n;
}

static void file_drop(struct uttm_backup *backup, const unsigned long *handles,
		      unsigned long count)
{
	struct file_store *store = to_file(backup);

	uttm_slot_io_free(&store->slots, handles, count);
	atomic_store(&store->trim_due, true);
	trim_if_short(store);
}

static uint64_t file_bytes_avail(struct uttm_backup *backup)
{
	struct file_store *store = to_file(backup);
	uint64_t slots = store->slots.max - uttm_slots_used(&store->slots);

	return MIN(slots << UTTM_PAGE_SHIFT, fs_free_bytes(store));
}

static void file_fini(struct uttm_backup *backup)
{
	struct file_store *store = to_file(backup);

	uttm_file_io_fini(&store->io);
	uttm_slots_fini(&store->slots);
	free(store);
}

static const struct uttm_backup_ops file_ops = {
	.backup_pages = file_backup_pages,
	.copy_pages = file_copy_pages,
	.drop = file_drop,
	.bytes_avail = file_bytes_avail,
	.fini = file_fini,
};

/*
 * Whether @dir is on a file system that keeps its files in memory: a file
 * there frees nothing.  False when it cannot be told (the creation then
 * fails with its own error).
 */
static bool dir_in_memory(const char *dir)
{
	struct statfs st;

	return !statfs(dir, &st) &&
	       (st.f_type == TMPFS_MAGIC || st.f_type == RAMFS_MAGIC);
}

/* Whether @dir is a directory the store may create a file in. */
static bool dir_usable(const char *dir)
{
	struct stat st;

	return *dir && !stat(dir, &st) && S_ISDIR(st.st_mode) &&
	       !access(dir, W_OK | X_OK);
}

/* Takes @candidate (a directory, or "" for none) if it is usable on disk. */
static bool take_disk_dir(char *dir, const char *candidate)
{
	if (!dir_usable(candidate) || dir_in_memory(candidate))
		return false;
	snprintf(dir, PATH_MAX, "%s", candidate);
	return true;
}

/*
 * The default directory: the temporary directory ($TMPDIR, else /tmp)
 * if it is on disk, else /var/tmp or the user's cache directory, the
 * first on disk that can be used.  -EMEDIUMTYPE when none is on disk,
 * unless @in_memory accepts the temporary directory anyway.
 */
static int default_dir(char *dir, bool in_memory)
{
	const char *tmp = secure_getenv("TMPDIR");
	const char *cache = secure_getenv("XDG_CACHE_HOME");
	const char *home = secure_getenv("HOME");
	char user_cache[PATH_MAX];

	if (!tmp || !*tmp)
		tmp = "/tmp";
	if (in_memory) {
		snprintf(dir, PATH_MAX, "%s", tmp);
		return 0;
	}
	snprintf(user_cache, sizeof(user_cache), "%s/.cache",
		 home ? home : "");
	if (take_disk_dir(dir, tmp) || take_disk_dir(dir, "/tmp") ||
	    take_disk_dir(dir, "/var/tmp") ||
	    take_disk_dir(dir, cache ? cache : "") ||
	    (home && take_disk_dir(dir, user_cache)))
		return 0;
	return -EMEDIUMTYPE;
}

/*
 * The directory of the file @path asks for: @path itself when it is a
 * directory, else the one its new file goes in; -EMEDIUMTYPE when it
 * keeps its files in memory, unless @in_memory.
 */
static int path_dir(const char *path, char *dir, bool in_memory)
{
	struct stat st;
	char *slash;

	if (snprintf(dir, PATH_MAX, "%s", path) >= PATH_MAX)
		return -ENAMETOOLONG;
	if (stat(path, &st) || !S_ISDIR(st.st_mode)) {
		/* "d/f" is in "d", "/f" in "/", "f" in ".". */
		slash = strrchr(dir, '/');
		if (!slash)
			snprintf(dir, PATH_MAX, ".");
		else
			*(slash == dir ? slash + 1 : slash) = '\0';
	}
	return !in_memory && dir_in_memory(dir) ? -EMEDIUMTYPE : 0;
}

/* A new file at @path, unlinked at once: it must not exist yet. */
static int create_named(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	unlink(path);
	return fd;
}

/* A file without a name in @dir. */
static int create_in_dir(const char *dir)
{
	char name[PATH_MAX];
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd >= 0)
		return fd;
	/* File systems (or kernels) without O_TMPFILE: name it briefly. */
	if (errno != EOPNOTSUPP && errno != EISDIR)
		return -errno;
	if (snprintf(name, sizeof(name), "%s/uttm-backup-XXXXXX", dir) >=
	    (int)sizeof(name))
		return -ENAMETOOLONG;
	fd = mkostemp(name, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	unlink(name);
	return fd;
}

static int create_unlinked(const char *path)
{
	struct stat st;

	if (!stat(path, &st) && S_ISDIR(st.st_mode))
		return create_in_dir(path);
	return create_named(path);
}

/* Whether the file system takes O_DIRECT for @fd; it is then set. */
static bool enable_direct(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	return flags >= 0 && !fcntl(fd, F_SETFL, flags | O_DIRECT);
}

int uttm_backup_file_create(const struct uttm_backup_file_params *params,
			    struct uttm_backup **out)
{
	struct file_store *store;
	bool in_memory;
	int fd, ret;

	if (UTTM_WARN_ON(!params || !out) ||
	    UTTM_WARN_ON(params->flags & ~UTTM_BACKUP_FILE_FLAGS) ||
	    UTTM_WARN_ON(params->max_bytes &&
			 params->max_bytes < UTTM_PAGE_SIZE) ||
	    !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	in_memory = params->flags & UTTM_BACKUP_FILE_IN_MEMORY;
	ret = params->path ? path_dir(params->path, store->dir, in_memory) :
			     default_dir(store->dir, in_memory);
	if (ret)
		goto error_free_store;
	fd = create_unlinked(params->path ? params->path : store->dir);
	if (fd < 0) {
		ret = fd;
		goto error_free_store;
	}
	store->direct = !(params->flags & UTTM_BACKUP_FILE_BUFFERED) &&
			enable_direct(fd);
	atomic_init(&store->allocated, 0);
	atomic_init(&store->trim_due, false);
	atomic_init(&store->can_punch, true);
	atomic_init(&store->syncs, 0);
	uttm_file_io_init(&store->io, fd,
			  !(params->flags & UTTM_BACKUP_FILE_SYNC));
	uttm_slots_init(&store->slots, params->max_bytes ?
			(unsigned long)(params->max_bytes >> UTTM_PAGE_SHIFT) :
			SLOT_IO_MAX_SLOTS);
	uttm_backup_init(&store->base, &file_ops, params->fault);
	*out = &store->base;
	return 0;

error_free_store:
	free(store);
	return ret;
}

static bool is_file_store(const struct uttm_backup *backup)
{
	return backup && backup->ops == &file_ops;
}

int uttm_backup_file_trim(struct uttm_backup *backup)
{
	if (UTTM_WARN_ON(!is_file_store(backup)))
		return -EINVAL;
	file_trim(to_file(backup));
	return 0;
}

int uttm_backup_file_stats(struct uttm_backup *backup,
			   struct uttm_backup_file_stats *stats)
{
	struct file_store *store;

	if (UTTM_WARN_ON(!is_file_store(backup) || !stats))
		return -EINVAL;
	store = to_file(backup);
	*stats = (struct uttm_backup_file_stats){
		.direct = store->direct,
		.io_uring = atomic_load(&store->io.ring_ready),
		.io_uring_error = atomic_load(&store->io.ring_error),
		.slots_used = uttm_slots_used(&store->slots),
		.max_slots = store->slots.max,
		.idle_bytes = idle_bytes(store),
		.batches = atomic_load(&store->io.batches),
		.requests = atomic_load(&store->io.requests),
		.syncs = atomic_load(&store->syncs),
		.dir = store->dir,
	};
	return 0;
}
