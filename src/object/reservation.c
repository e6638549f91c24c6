// SPDX-License-Identifier: MIT
/*
 * Reservation: the bo lock, as a wound-wait mutex, the kernel's
 * ww_mutex behind dma_resv, and the drm_exec-like helper that locks a
 * set of objects with one ticket.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/base.h"
#include "internal.h"

/* How often an interruptible wait looks at a cancel flag. */
#define CANCEL_POLL_NS (10 * 1000 * 1000)

/*
 * DOC: Wound-wait
 *
 * A thread that needs several objects at once (a submission validating
 * its buffers) locks them with a ticket, struct uttm_acquire_ctx, whose
 * stamp says how old it is: lower is older.  Two tickets locking
 * overlapping sets in different orders would deadlock with plain
 * mutexes; with tickets the older one always wins.  When a ticket waits
 * for an object a younger ticket holds, it wounds the younger one: the
 * next time the wounded ticket would have to wait, while holding
 * anything, it gets -EDEADLK instead, unlocks all it holds and sleeps
 * on the contended object with nothing held (the slow path), so the
 * older ticket gets through.  A younger ticket waiting for an older one
 * just waits.  The oldest ticket never backs off, so everyone gets
 * through in the end.
 *
 * Waiters queue on the object in stamp order, waiters without a ticket
 * at the tail, and a free object goes to the first of them: a ticket
 * never takes an object while an older one waits for it, which is what
 * lets a wound happen only when a ticket starts waiting.  A wounded
 * ticket must notice even while it sleeps on another object, so each
 * ticket sleeps on its own futex word, which the wounding thread wakes.
 * A thread without a ticket sleeps on a word of its own.  The futex wait
 * returns on a signal, which is how an interruptible wait stops.
 */

/**
 * struct resv_waiter - a thread waiting for a reservation
 * @link: in struct uttm_resv::waiters.
 * @ticket: the waiter's ticket, or NULL.
 * @wake: the futex word the waiter sleeps on.
 * @own_wake: that word, for a waiter without a ticket.
 */
struct resv_waiter {
	struct list_head link;
	struct uttm_acquire_ctx *ticket;
	uint32_t *wake;
	uint32_t own_wake;
};

static void unpark(uint32_t *wake)
{
	__atomic_store_n(wake, 1, __ATOMIC_RELEASE);
	syscall(SYS_futex, wake, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/*
 * Sleeps until @wake is woken.  Interruptible, a signal whose handler was
 * installed without SA_RESTART, or a cancel request, stops the sleep
 * with -EINTR; the flag is looked at every CANCEL_POLL_NS.
 */
static int park(uint32_t *wake, const struct uttm_operation_ctx *op)
{
	const struct timespec poll = { .tv_nsec = CANCEL_POLL_NS };
	const struct timespec *timeout = op->interruptible && op->cancel ?
					 &poll : NULL;

	while (!__atomic_exchange_n(wake, 0, __ATOMIC_ACQUIRE)) {
		if (syscall(SYS_futex, wake, FUTEX_WAIT_PRIVATE, 0, timeout,
			    NULL, 0) && errno == EINTR && op->interruptible)
			return -EINTR;
		if (uttm_operation_cancelled(op))
			return -EINTR;
	}
	return 0;
}

void uttm_resv_init(struct uttm_resv *resv)
{
	pthread_mutex_init(&resv->wait_lock, NULL);
	resv->locked = false;
	resv->holder = NULL;
	list_init(&resv->waiters);
}

void uttm_resv_fini(struct uttm_resv *resv)
{
	UTTM_WARN_ON(resv->locked || !list_empty(&resv->waiters));
	pthread_mutex_destroy(&resv->wait_lock);
}

/* Whether ticket @a is younger than ticket @b. */
static bool younger(const struct uttm_acquire_ctx *a,
		    const struct uttm_acquire_ctx *b)
{
	return a->stamp > b->stamp;
}

static bool wounded(const struct uttm_acquire_ctx *ticket)
{
	return __atomic_load_n(&ticket->wounded, __ATOMIC_ACQUIRE);
}

/* Queues @w: tickets oldest first, waiters without one at the tail. */
static void waiter_add(struct uttm_resv *resv, struct resv_waiter *w)
{
	struct resv_waiter *pos;

	if (w->ticket) {
		list_for_each_entry(pos, &resv->waiters, link) {
			if (pos->ticket && younger(pos->ticket, w->ticket)) {
				list_add_tail(&w->link, &pos->link);
				return;
			}
		}
	}
	list_add_tail(&w->link, &resv->waiters);
}

static struct resv_waiter *first_waiter(struct uttm_resv *resv)
{
	if (list_empty(&resv->waiters))
		return NULL;
	return list_entry(resv->waiters.next, struct resv_waiter, link);
}

/* Hands a free reservation on: wakes the first waiter, if any. */
static void wake_first(struct uttm_resv *resv)
{
	struct resv_waiter *first = first_waiter(resv);

	if (first)
		unpark(first->wake);
}

/* An older @ticket waits: a younger holder is wounded and woken. */
static void wound_holder(struct uttm_resv *resv,
			 struct uttm_acquire_ctx *ticket)
{
	struct uttm_acquire_ctx *holder = resv->holder;

	if (!holder || !younger(holder, ticket) || wounded(holder))
		return;
	__atomic_store_n(&holder->wounded, 1, __ATOMIC_RELEASE);
	unpark(&holder->wake);
}

static void take(struct uttm_resv *resv, struct uttm_acquire_ctx *ticket)
{
	resv->locked = true;
	resv->holder = ticket;
	if (ticket)
		ticket->acquired++;
}

/*
 * Waits in line for @resv, which @w has joined.  Returns 0 when it is
 * @w's, -EDEADLK when @w's ticket, wounded, holds something, or -EINTR.
 * Called and returns with the wait lock held.
 */
static int wait_in_line(struct uttm_resv *resv, struct resv_waiter *w,
			const struct uttm_operation_ctx *op)
{
	struct uttm_acquire_ctx *ticket = w->ticket;
	int ret;

	for (;;) {
		if (!resv->locked && first_waiter(resv) == w)
			return 0;
		if (ticket && ticket->acquired && wounded(ticket))
			return -EDEADLK;
		if (ticket)
			wound_holder(resv, ticket);
		if (uttm_operation_cancelled(op))
			return -EINTR;
		pthread_mutex_unlock(&resv->wait_lock);
		ret = park(w->wake, op);
		pthread_mutex_lock(&resv->wait_lock);
		if (ret)
			return ret;
	}
}

/* Locks @bo for @ticket (or none), waiting as @op allows. */
static int resv_lock(struct uttm_bo *bo, struct uttm_acquire_ctx *ticket,
		     const struct uttm_operation_ctx *op)
{
	struct uttm_resv *resv = &bo->resv;
	struct resv_waiter w = { .ticket = ticket };
	int ret = 0;

	w.wake = ticket ? &ticket->wake : &w.own_wake;
	/*
	 * A ticket holding nothing has nothing to give back, and nobody
	 * can wound it until it holds something again.
	 */
	if (ticket && !ticket->acquired)
		__atomic_store_n(&ticket->wounded, 0, __ATOMIC_RELAXED);
	pthread_mutex_lock(&resv->wait_lock);
	if (ticket && resv->holder == ticket) {
		ret = -EALREADY;
	} else if (!resv->locked && list_empty(&resv->waiters)) {
		take(resv, ticket);
	} else {
		waiter_add(resv, &w);
		ret = wait_in_line(resv, &w, op);
		list_del_init(&w.link);
		if (!ret)
			take(resv, ticket);
		else if (!resv->locked)
			wake_first(resv);
	}
	pthread_mutex_unlock(&resv->wait_lock);
	if (ret == -EDEADLK)
		ticket->backoff = true;
	return ret;
}

void uttm_bo_lock(struct uttm_bo *bo)
{
	const struct uttm_operation_ctx patient = { .interruptible = false };

	resv_lock(bo, NULL, &patient);
}

bool uttm_bo_trylock(struct uttm_bo *bo)
{
	struct uttm_resv *resv = &bo->resv;
	bool locked = false;

	pthread_mutex_lock(&resv->wait_lock);
	if (!resv->locked) {
		take(resv, NULL);
		locked = true;
	}
	pthread_mutex_unlock(&resv->wait_lock);
	return locked;
}

/*
 * Nobody may touch an unpinned object's pages once it is unlocked, so a
 * mapping of its own goes with the lock: its pages are then mapped once,
 * in the arena, and the kernel does not count them twice.
 */
void uttm_bo_unlock(struct uttm_bo *bo)
{
	struct uttm_resv *resv = &bo->resv;

	if (bo->has_tt && !bo->pin_count)
		uttm_tt_vunmap(&bo->tt);
	pthread_mutex_lock(&resv->wait_lock);
	if (!UTTM_WARN_ON(!resv->locked)) {
		if (resv->holder)
			resv->holder->acquired--;
		resv->locked = false;
		resv->holder = NULL;
		wake_first(resv);
	}
	pthread_mutex_unlock(&resv->wait_lock);
}

struct uttm_acquire_ctx *uttm_resv_holder(struct uttm_bo *bo)
{
	struct uttm_acquire_ctx *holder;

	pthread_mutex_lock(&bo->resv.wait_lock);
	holder = bo->resv.holder;
	pthread_mutex_unlock(&bo->resv.wait_lock);
	return holder;
}

void uttm_acquire_init(struct uttm_acquire_ctx *ticket,
		       struct uttm_context *ctx)
{
	*ticket = (struct uttm_acquire_ctx){
		.ctx = ctx,
		.stamp = atomic_fetch_add(&ctx->next_stamp, 1),
	};
}

void uttm_acquire_fini(struct uttm_acquire_ctx *ticket)
{
	UTTM_WARN_ON(ticket->acquired);
}

/* Whether @ticket may lock @bo: objects of its own context only. */
static bool ticket_fits(const struct uttm_bo *bo,
			const struct uttm_acquire_ctx *ticket)
{
	return !ticket || ticket->ctx == bo->dev->ctx;
}

int uttm_bo_reserve(struct uttm_bo *bo, struct uttm_acquire_ctx *ticket,
		    const struct uttm_operation_ctx *op)
{
	if (UTTM_WARN_ON(!bo || !op || !ticket_fits(bo, ticket)) ||
	    !UTTM_RESERVED_CLEAR(op))
		return -EINVAL;
	return resv_lock(bo, ticket, op);
}

int uttm_bo_reserve_slowpath(struct uttm_bo *bo,
			     struct uttm_acquire_ctx *ticket,
			     const struct uttm_operation_ctx *op)
{
	if (UTTM_WARN_ON(!bo || !ticket || !op || !ticket_fits(bo, ticket)) ||
	    UTTM_WARN_ON(ticket->acquired) || !UTTM_RESERVED_CLEAR(op))
		return -EINVAL;
	return resv_lock(bo, ticket, op);
}

void uttm_exec_init(struct uttm_exec *exec, struct uttm_context *ctx,
		    const struct uttm_operation_ctx *op)
{
	*exec = (struct uttm_exec){ .op = op, .retry = true };
	uttm_acquire_init(&exec->ticket, ctx);
}

/* Unlocks every object @exec holds and drops its references. */
static void exec_unlock_all(struct uttm_exec *exec)
{
	while (exec->num_objects) {
		struct uttm_bo *bo = exec->objects[--exec->num_objects];

		uttm_bo_unlock(bo);
		uttm_bo_put(bo);
	}
}

void uttm_exec_fini(struct uttm_exec *exec)
{
	exec_unlock_all(exec);
	uttm_bo_put(exec->contended);
	exec->contended = NULL;
	free(exec->objects);
	exec->objects = NULL;
	uttm_acquire_fini(&exec->ticket);
}

bool uttm_exec_until_all_locked(struct uttm_exec *exec)
{
	if (!exec->retry && !exec->ticket.backoff)
		return false;
	exec->retry = false;
	exec->ticket.backoff = false;
	exec_unlock_all(exec);
	return true;
}

/* Records @bo, locked, in @exec with a reference of its own. */
static int exec_add(struct uttm_exec *exec, struct uttm_bo *bo)
{
	if (exec->num_objects == exec->max_objects) {
		unsigned int max = exec->max_objects ? 2 * exec->max_objects :
						       16;
		struct uttm_bo **objects = realloc(exec->objects,
						   max * sizeof(*objects));

		if (!objects)
			return -ENOMEM;
		exec->objects = objects;
		exec->max_objects = max;
	}
	exec->objects[exec->num_objects++] = uttm_bo_get(bo);
	return 0;
}

/* Locks @bo into @exec, or returns why not; @slow for the slow path. */
static int exec_lock(struct uttm_exec *exec, struct uttm_bo *bo, bool slow)
{
	int ret = slow ? uttm_bo_reserve_slowpath(bo, &exec->ticket, exec->op) :
			 uttm_bo_reserve(bo, &exec->ticket, exec->op);

	if (ret)
		return ret;
	ret = exec_add(exec, bo);
	if (ret)
		uttm_bo_unlock(bo);
	return ret;
}

int uttm_exec_lock(struct uttm_exec *exec, struct uttm_bo *bo)
{
	struct uttm_bo *contended = exec->contended;
	int ret;

	/* After a back-off, first the object that caused it. */
	if (contended) {
		exec->contended = NULL;
		ret = exec_lock(exec, contended, true);
		uttm_bo_put(contended);
		if (ret)
			return ret;
	}
	ret = exec_lock(exec, bo, false);
	if (ret == -EDEADLK)
		exec->contended = uttm_bo_get(bo);
	return ret == -EALREADY ? 0 : ret;
}

int uttm_exec_lock_objects(struct uttm_exec *exec, struct uttm_bo *const *bos,
			   unsigned int count)
{
	int ret = 0;

	while (uttm_exec_until_all_locked(exec)) {
		for (unsigned int i = 0; i < count; i++) {
			ret = uttm_exec_lock(exec, bos[i]);
			if (ret)
				break;
		}
		if (ret && ret != -EDEADLK)
			break;
	}
	return ret;
}
