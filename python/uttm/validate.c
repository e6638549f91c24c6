// SPDX-License-Identifier: MIT
/*
 * Making a buffer object resident from Python: lock, validate (restoring
 * it if it was backed up), map and pin, unlock, all with the GIL
 * released.
 *
 * Interrupting a restore.  A Python program stops a long call with a
 * signal, SIGINT above all, whose Python handler raises
 * KeyboardInterrupt, but Python only runs its handlers on the main
 * thread, between bytecodes: a thread blocked in C never sees them.  So
 * on the main thread a validate that has to restore runs in a helper
 * thread, with every signal blocked there, while the main thread waits
 * for it in short slices and runs the pending handlers between them.
 * When a handler raises, the restore is cancelled through the operation
 * context's cancel flag: it stops between two runs of pages with -EINTR,
 * its state kept, the next validate resumes it, and the handler's
 * exception is what the caller sees.  A resident object takes the short
 * way on the calling thread, as does every call from another thread,
 * where Python delivers no signals.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "uttm_py.h"

/* How often the main thread looks for signals while a restore runs. */
#define SIGNAL_SLICE_NS (10 * 1000 * 1000)

static const struct uttm_operation_ctx uninterruptible = {
	.interruptible = false,
};

/*
 * The locked part, GIL released.  With @resident_only it does nothing but
 * return -EAGAIN when the object would have to be restored.
 *
 * A purge is reported by one validate only, and another thread's may be
 * the one to see it: the report waits in the object, under its lock,
 * until a mapping takes it.
 */
static int validate_locked(struct uttm_py_validate *v,
			   const struct uttm_operation_ctx *op,
			   bool resident_only)
{
	struct uttm_tt *tt = uttm_bo_tt(v->bo);
	int ret;

	uttm_bo_lock(v->bo);
	if (resident_only && !uttm_tt_is_populated(tt)) {
		uttm_bo_unlock(v->bo);
		return -EAGAIN;
	}
	v->restored = uttm_tt_is_backed_up(tt);
	ret = uttm_bo_validate(v->bo, op);
	if (ret >= 0) {
		v->lost = ret == UTTM_BO_CONTENT_LOST;
		*v->purged |= v->lost;
		ret = 0;
	}
	if (!ret && v->map) {
		ret = uttm_bo_vmap(v->bo, &v->addr);
		if (!ret)
			ret = uttm_bo_pin(v->bo);
	}
	if (!ret && v->map) {
		v->lost = *v->purged;
		*v->purged = false;
	}
	uttm_bo_unlock(v->bo);
	return ret;
}

static int validate_here(struct uttm_py_validate *v, bool resident_only)
{
	int ret;

	Py_BEGIN_ALLOW_THREADS
	ret = validate_locked(v, &uninterruptible, resident_only);
	Py_END_ALLOW_THREADS
	return ret;
}

struct helper {
	struct uttm_py_validate *v;
	struct uttm_operation_ctx op;
	struct uttm_cancel cancel;
	int ret;
};

static void *helper_run(void *arg)
{
	struct helper *h = arg;

	h->ret = validate_locked(h->v, &h->op, false);
	return NULL;
}

/* Waits a slice for @thread to end, GIL released: 0 once it has. */
static int join_slice(pthread_t thread)
{
	struct timespec deadline;
	int ret;

	Py_BEGIN_ALLOW_THREADS
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_nsec += SIGNAL_SLICE_NS;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	ret = pthread_timedjoin_np(thread, NULL, &deadline);
	Py_END_ALLOW_THREADS
	return ret;
}

static void join(pthread_t thread)
{
	Py_BEGIN_ALLOW_THREADS
	pthread_join(thread, NULL);
	Py_END_ALLOW_THREADS
}

/*
 * The helper inherits the mask in force when it is created: every signal
 * blocked, so that they all go to the main thread.  Without a helper
 * thread (none can be made now) the restore runs here, to the end.
 */
static int validate_interruptibly(struct uttm_py_validate *v)
{
	struct helper h = {
		.v = v,
		.op = { .interruptible = true, .cancel = &h.cancel },
	};
	sigset_t all, old;
	pthread_t thread;
	int ret;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = pthread_create(&thread, NULL, helper_run, &h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		return validate_here(v, false);
	while (join_slice(thread)) {
		if (PyErr_CheckSignals()) {
			uttm_cancel_request(&h.cancel);
			join(thread);
			break;
		}
	}
	return h.ret;
}

/* Undoes a map nobody will see, the purge it reported kept for the next. */
static void unmap(struct uttm_py_validate *v)
{
	Py_BEGIN_ALLOW_THREADS
	uttm_bo_lock(v->bo);
	*v->purged |= v->lost;
	uttm_bo_unpin(v->bo);
	uttm_bo_unlock(v->bo);
	Py_END_ALLOW_THREADS
}

/*
 * A child of fork() has none of its parent's pages (the library keeps
 * arenas out of children): it must make objects of its own.
 */
static bool inherited(struct uttm_py_bo *bo)
{
	struct uttm_py_device *dev = (struct uttm_py_device *)bo->device;
	struct uttm_py_arena *arena = (struct uttm_py_arena *)dev->arena;

	return uttm_arena_inherited(arena->arena);
}

int uttm_py_validate(struct uttm_py_bo *bo, struct uttm_py_validate *v)
{
	const struct uttm_py_state *st = uttm_py_state_of((PyObject *)bo);
	int ret;

	if (inherited(bo)) {
		PyErr_SetString(PyExc_ValueError,
				"a buffer object made before fork() cannot be "
				"used in the child: make new ones there");
		return -1;
	}
	v->bo = bo->bo;
	v->purged = &bo->purged;
	ret = validate_here(v, true);
	if (ret == -EAGAIN)
		ret = PyThread_get_thread_ident() == st->main_thread ?
			      validate_interruptibly(v) :
			      validate_here(v, false);
	if (PyErr_Occurred()) {
		/* A signal handler raised: what it raised wins. */
		if (!ret && v->map)
			unmap(v);
		return -1;
	}
	if (ret) {
		uttm_py_error(ret, v->map ? "mapping a buffer object" :
					    "validating a buffer object");
		return -1;
	}
	return 0;
}

void uttm_py_unpin(struct uttm_bo *bo)
{
	Py_BEGIN_ALLOW_THREADS
	uttm_bo_lock(bo);
	uttm_bo_unpin(bo);
	uttm_bo_unlock(bo);
	Py_END_ALLOW_THREADS
}
