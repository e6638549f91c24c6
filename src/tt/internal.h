/* SPDX-License-Identifier: MIT */
/*
 * The tt layer's own interfaces between tt.c (the vector) and
 * backup.c (its backup, restore and release).
 */
#ifndef UTTM_TT_INTERNAL_H
#define UTTM_TT_INTERNAL_H

#include "uttm/tt.h"

/* Restores a backed-up vector or resumes its restore; see backup.c. */
int uttm_tt_restore(struct uttm_tt *tt, const struct uttm_operation_ctx *ctx);

/* Drops every handle and frees every page of a backed-up vector. */
void uttm_tt_release_backed_up(struct uttm_tt *tt);

#endif /* UTTM_TT_INTERNAL_H */
