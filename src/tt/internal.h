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
/* The pages the backup frees go into @bin, when not NULL. */
long __uttm_tt_backup(struct uttm_tt *tt,
		      const struct uttm_backup_flags *flags,
		      struct uttm_pool_recycle *bin);

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

#endif /* UTTM_TT_INTERNAL_H */
