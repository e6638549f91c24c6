/* SPDX-License-Identifier: MIT */
/*
 * uttm/backup.h - the backup layer: stores that keep backed-up pages
 *
 * Every store implements struct uttm_backup_ops (uttm/tt.h) and is handed
 * to page vectors with uttm_tt_set_backup().  A store allocates its own
 * indices, so one store can serve a single vector or a whole device.
 * Stores are freed by dropping the last reference: uttm_backup_put().
 *
 * The shmem store keeps pages in a memfd, as the kernel's ttm_backup keeps
 * them in a shmem file: they stay in memory until the kernel swaps the
 * file out, or until writeback asks it to do so at once.
 *
 * The file store keeps pages in a file on disk, written and read with
 * direct I/O straight from and into the pages: it frees memory on
 * machines without swap, and its room is the disk's.
 */
#ifndef UTTM_BACKUP_H
#define UTTM_BACKUP_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/tt.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * struct uttm_backup_shmem_params - how to create a shmem store
 * @capacity: bytes the store may hold.  0 bounds it by the swap the
 * process can still use: without swap the store then refuses to back
 * anything up, since pages moved to a memfd that cannot be swapped out
 * free no memory.  A non-zero capacity is the caller's promise that
 * moving pages there is worth it (tests and benchmarks on machines
 * without swap use it).
 * @fault: fault injector, or NULL.
 */
struct uttm_backup_shmem_params {
	uint64_t capacity;
	struct uttm_fault *fault;
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
 * Return: 0; -EINVAL for NULL arguments; the error of memfd_create().
 */
int uttm_backup_shmem_create(const struct uttm_backup_shmem_params *params,
			     struct uttm_backup **out);

/** Transfer with pwritev() and preadv() only, never through io_uring. */
#define UTTM_BACKUP_FILE_SYNC (1u << 0)
/** Go through the page cache instead of using direct I/O. */
#define UTTM_BACKUP_FILE_BUFFERED (1u << 1)
/** Flags a caller may pass in struct uttm_backup_file_params. */
#define UTTM_BACKUP_FILE_FLAGS (UTTM_BACKUP_FILE_SYNC | UTTM_BACKUP_FILE_BUFFERED)

/**
 * struct uttm_backup_file_params - how to create a file store
 * @path: a directory, in which the store creates a file without a name,
 * or the path of a new file, which must not exist yet; NULL for the
 * temporary directory ($TMPDIR, else /tmp).
 * @max_bytes: bytes the store may hold, at least a page; 0 bounds it by
 * the free space of the file system only.
 * @flags: UTTM_BACKUP_FILE_SYNC, UTTM_BACKUP_FILE_BUFFERED.
 * @fault: fault injector, or NULL.
 */
struct uttm_backup_file_params {
	const char *path;
	uint64_t max_bytes;
	unsigned int flags;
	struct uttm_fault *fault;
};

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
 * "File store" in backup_file.c.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments, unknown flags or a cap below a
 * page; -EEXIST when @path names an existing file; the error of creating
 * the file (-ENOENT, -EACCES, -EROFS, -ENOTDIR, ...); -ENOMEM.
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

#ifdef __cplusplus
}
#endif

#endif /* UTTM_BACKUP_H */
