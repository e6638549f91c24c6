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
 * The insert store is the zero-copy variant.  An arena's pages already
 * live in a memfd, so the store takes a block by taking ownership of it
 * where it lies, as shmem_insert_folio() moves a folio into a shmem file:
 * nothing is copied and nothing allocated, and the kernel can swap the
 * pages out of the arena's file as it would out of any other.
 */
#ifndef UTTM_BACKUP_H
#define UTTM_BACKUP_H

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

/**
 * struct uttm_backup_insert_params - how to create an insert store
 * @arena: the arena whose blocks the store takes; it must outlive the
 * store.  Vectors backed up into the store must draw from pools of this
 * arena.
 * @capacity: bytes the store may hold, or 0 to bound it by the swap the
 * process can still use, as for struct uttm_backup_shmem_params.
 * @fault: fault injector, or NULL.
 */
struct uttm_backup_insert_params {
	struct uttm_arena *arena;
	uint64_t capacity;
	struct uttm_fault *fault;
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

#ifdef __cplusplus
}
#endif

#endif /* UTTM_BACKUP_H */
