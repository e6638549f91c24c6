/* SPDX-License-Identifier: MIT */
/*
 * uttm/shrinker.h - the shrinker layer: taking memory back on request
 *
 * A shrinker answers two questions, as the kernel's does: how much could
 * be freed (count) and "free this much" (scan).  uttm's shrinker frees
 * what costs least first: purgeable objects, whose content nobody needs,
 * then other objects in several passes, each allowed more than the last:
 * first idle objects without waiting and without writeback, then waiting
 * for busy objects, then asking the stores to write pages out at once.
 *
 * The page-limit watermarks of uttm_bo_validate() and the memory-pressure
 * monitor call it, and so can the application at any time.
 */
#ifndef UTTM_SHRINKER_H
#define UTTM_SHRINKER_H

#include <uttm/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/**
 * uttm_shrinker_count() - pages the shrinker could free now
 * @ctx: the context.
 *
 * Pages of purgeable objects, plus pages of other shrinkable objects as
 * far as their devices' stores have room for them (all of them for a
 * device without a default store, whose driver chooses stores itself).
 * Pinned objects and objects not populated do not count.
 *
 * Context: May sleep (stores may read system files). Takes the
 * device-list and LRU locks.
 * Return: the number of pages.
 */
unsigned long uttm_shrinker_count(struct uttm_context *ctx);

/**
 * uttm_shrinker_scan() - free pages by shrinking objects
 * @ctx: the context.
 * @nr_to_scan: pages wanted.
 *
 * Purges purgeable objects first, then backs objects up in passes (no
 * waiting and no writeback, then waiting for busy objects, then
 * writeback), stopping as soon as @nr_to_scan pages are freed.  Each
 * object is freed whole, so the result may exceed @nr_to_scan.
 *
 * Context: May sleep. Takes the device-list and LRU locks and trylocks
 * objects; must not be called with an object locked by the caller that
 * it would need (it skips such objects) or with an LRU lock held.
 * Return: the number of pages freed.
 */
unsigned long uttm_shrinker_scan(struct uttm_context *ctx,
				 unsigned long nr_to_scan);

#ifdef __cplusplus
}
#endif

#endif /* UTTM_SHRINKER_H */
