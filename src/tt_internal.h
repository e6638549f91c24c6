/* SPDX-License-Identifier: MIT */
/*
 * The tt layer's own interfaces between tt.c (the vector) and
 * tt_backup.c (its backup, restore and release).
 */
#ifndef UTTM_TT_INTERNAL_H
#define UTTM_TT_INTERNAL_H

#include "uttm/tt.h"

/* Restores a backed-up vector or resumes its restore; see tt_backup.c. */
int __uttm_tt_restore(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx);

/* Drops every handle and frees every page of a backed-up vector. */
void __uttm_tt_release_backed_up(struct uttm_tt *tt);

/*
 * Back up or copy pages through a store, with fault injection; return 0
 * when all @count pages were done, else the error that stopped them with
 * the pages done in @done.
 */
int __uttm_backup_pages(struct uttm_backup *backup, void *const *src,
			unsigned long count, bool writeback,
			unsigned long *handles, unsigned long *done);
int __uttm_backup_copy(struct uttm_backup *backup, void *const *dst,
		       const unsigned long *handles, unsigned long count,
		       const struct uttm_operation_ctx *ctx,
		       unsigned long *done);

#endif /* UTTM_TT_INTERNAL_H */
