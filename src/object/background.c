// SPDX-License-Identifier: MIT
/*
 * Background reclaim: a thread that keeps headroom under the page limit
 * and the budget, as kswapd keeps free pages above the zone watermarks,
 * so that a validate rarely has to write a victim out before its own
 * reads can start.
 */
#include <errno.h>
#include <time.h>

#include "base/base.h"
#include "internal.h"

/*
 * DOC: Background reclaim
 *
 * Off until uttm_context_set_background_reclaim() sets a low and a high
 * watermark.  A charge that leaves less headroom than the low mark (room
 * under the budget, or under the page limit, whichever is less) wakes
 * the thread, which reclaims until the headroom is back at the high
 * mark: over the budget's steps, cheapest first, and under the page
 * limit by swapping objects out, least recently used first, written back
 * at once.  It also looks every 50 ms, for headroom taken by what no
 * charge sees (a store's memory growing), and to finish a run that fell
 * short of the high mark because what it could take was locked.  What it
 * frees goes back to the system: it makes room for nobody in particular.
 */

#define LOOK_EVERY_MS 50

/* Bytes under the budget and the page limit, whichever is less. */
static uint64_t headroom(struct uttm_context *ctx)
{
	long pages = (long)ctx->page_limit - atomic_load(&ctx->pages_allocated);
	uint64_t budget = atomic_load(&ctx->budget);
	uint64_t room = pages > 0 ? (uint64_t)pages << UTTM_PAGE_SHIFT : 0;
	struct uttm_resident r;

	if (budget) {
		uttm_context_resident(ctx, &r);
		room = MIN(room, r.total < budget ? budget - r.total : 0);
	}
	return room;
}

/*
 * Reclaims until the headroom is @high, or nothing more helps (objects
 * locked, busy, stores full); returns whether it got there.
 */
static bool reclaim_to(struct uttm_context *ctx, uint64_t high)
{
	static const struct uttm_operation_ctx op = { .no_wait_gpu = true };
	static const struct uttm_shrink_control sc = {
		.reason = UTTM_SHRINK_WATERMARK,
		.writeback = true,
	};
	uint64_t room;

	while ((room = headroom(ctx)) < high) {
		uint64_t excess = high - room;

		if (atomic_load(&ctx->budget) &&
		    uttm_context_reclaim(ctx, excess))
			continue;
		if (uttm_global_swapout(ctx, &op, &sc) <= 0)
			return false;
	}
	return true;
}

static void *background_main(void *arg)
{
	struct uttm_context *ctx = arg;
	struct uttm_background *bg = &ctx->background;
	bool short_of_high = false;

	pthread_mutex_lock(&bg->lock);
	while (!bg->stop) {
		uint64_t low = bg->low, high = bg->high;
		struct timespec until;

		pthread_mutex_unlock(&bg->lock);
		/* One that fell short tries again at the next look. */
		if (headroom(ctx) < (short_of_high ? high : low)) {
			short_of_high = !reclaim_to(ctx, high);
			atomic_fetch_add(&bg->runs, 1);
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += LOOK_EVERY_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_mutex_lock(&bg->lock);
		if (!bg->stop && !bg->woken)
			pthread_cond_timedwait(&bg->wake, &bg->lock, &until);
		bg->woken = false;
	}
	pthread_mutex_unlock(&bg->lock);
	return NULL;
}

void uttm_background_init(struct uttm_background *bg)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&bg->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&bg->wake, &attr);
	pthread_condattr_destroy(&attr);
}

/* Stops the thread, if it runs in this process; called with the lock. */
static void background_stop(struct uttm_background *bg)
{
	if (!bg->started)
		return;
	bg->stop = true;
	pthread_cond_signal(&bg->wake);
	pthread_mutex_unlock(&bg->lock);
	/* A child of fork() has the flag but not the thread. */
	if (bg->generation == uttm_fork_generation())
		pthread_join(bg->thread, NULL);
	pthread_mutex_lock(&bg->lock);
	bg->started = false;
	bg->stop = false;
}

void uttm_background_fini(struct uttm_background *bg)
{
	pthread_mutex_lock(&bg->lock);
	background_stop(bg);
	pthread_mutex_unlock(&bg->lock);
	pthread_cond_destroy(&bg->wake);
	pthread_mutex_destroy(&bg->lock);
}

void uttm_background_charged(struct uttm_context *ctx, uint64_t room)
{
	struct uttm_background *bg = &ctx->background;

	if (room >= atomic_load(&bg->armed_low))
		return;
	pthread_mutex_lock(&bg->lock);
	bg->woken = true;
	pthread_cond_signal(&bg->wake);
	pthread_mutex_unlock(&bg->lock);
}

int uttm_context_set_background_reclaim(struct uttm_context *ctx, uint64_t low,
					uint64_t high)
{
	struct uttm_background *bg;
	int ret = 0;

	if (UTTM_WARN_ON(!ctx) || (low && high < low))
		return -EINVAL;
	bg = &ctx->background;
	pthread_mutex_lock(&bg->lock);
	atomic_store(&bg->armed_low, 0);
	if (!low) {
		background_stop(bg);
		goto out;
	}
	bg->low = low;
	bg->high = high;
	if (!bg->started) {
		ret = -pthread_create(&bg->thread, NULL, background_main, ctx);
		if (ret)
			goto out;
		bg->started = true;
		bg->generation = uttm_fork_generation();
	}
	atomic_store(&bg->armed_low, low);
	bg->woken = true;
	pthread_cond_signal(&bg->wake);
out:
	pthread_mutex_unlock(&bg->lock);
	return ret;
}
