/* SPDX-License-Identifier: MIT */
/*
 * The tt layer's own interfaces between tt.c (the vector) and
 * backup.c (its backup, restore and release).
 */
#ifndef UTTM_TT_INTERNAL_H
#define UTTM_TT_INTERNAL_H

#include "uttm/tt.h"

struct uttm_pool_recycle;

/*
 * The refusals of uttm_tt_backup() that come before a page moves: 0 when
 * a backup with @flags may start, else the error it would return.  For
 * callers that must act between the decision and the move (the object
 * layer tells the driver), with __uttm_tt_backup() to do the move.
 */
int uttm_tt_backup_check(const struct uttm_tt *tt,
			 const struct uttm_backup_flags *flags);
/*
 * The pages the backup frees go into @bin, when not NULL; *@clean
 * receives how many of them went without a write, their copies kept.
 */
long __uttm_tt_backup(struct uttm_tt *tt,
		      const struct uttm_backup_flags *flags,
		      struct uttm_pool_recycle *bin, unsigned long *clean);

/*
 * uttm_tt_populate(), with pages taken from @bin (or NULL) first and
 * the old pages a restore frees put there.
 */
int __uttm_tt_populate(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx,
		       struct uttm_pool_recycle *bin);

/* Restores a backed-up vector or resumes its restore; see backup.c. */
int uttm_tt_restore(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx,
		    struct uttm_pool_recycle *bin);

/* Drops every handle and frees every page of a backed-up vector. */
void uttm_tt_release_backed_up(struct uttm_tt *tt);

/**
 * struct uttm_tt_copies - the kept copies of a vector's pages (copies.c)
 * @count: handles in @handles that are not 0.
 * @handles: per page, the handle of the store's copy of its content, or
 * 0 for none.
 */
struct uttm_tt_copies {
	unsigned long count;
	unsigned long handles[];
};

/* Bytes of the allocation that holds a vector's entries (tt.c). */
size_t uttm_tt_entries_size(unsigned long pages, uint32_t page_flags);

/* Whether pages [@first, @first + @count) all have a copy in the store. */
bool uttm_tt_all_copied(const struct uttm_tt *tt, unsigned long first,
			unsigned long count);
/* Gives the copies of pages [@first, @first + @count) back to the store. */
void uttm_tt_drop_copies(struct uttm_tt *tt, unsigned long first,
			 unsigned long count);
/*
 * Moves the copies of pages [@first, @first + @count), all present, into
 * @handles: they are handles of backed-up pages from now on.
 */
void uttm_tt_take_copies(struct uttm_tt *tt, unsigned long first,
			 unsigned long count, unsigned long *handles);
/*
 * Keeps @handles, just restored into pages [@first, @first + @count), as
 * their copies where the vector tracks writes and the store keeps them,
 * and drops the others.
 */
void uttm_tt_keep_copies(struct uttm_tt *tt, unsigned long first,
			 const unsigned long *handles, unsigned long count);

#endif /* UTTM_TT_INTERNAL_H */
