// SPDX-License-Identifier: MIT
/*
 * Reservation (src/object/reservation.c): wound-wait locking with
 * tickets, -EALREADY, the younger ticket backing off for the older,
 * interruptible waits stopped by a signal or a cancel request, the
 * drm_exec-like loop, validate waiting for objects other tickets hold or
 * backing off, and threads locking random overlapping sets, with the
 * shrinker walking among them, that never deadlock.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "object/internal.h"
#include "world.h"

static const struct uttm_operation_ctx intr = { .interruptible = true };

/* Whether some thread waits in line for @bo. */
static bool has_waiters(struct uttm_bo *bo)
{
	bool waiting;

	pthread_mutex_lock(&bo->resv.wait_lock);
	waiting = !list_empty(&bo->resv.waiters);
	pthread_mutex_unlock(&bo->resv.wait_lock);
	return waiting;
}

static void sleep_ms(long ms)
{
	const struct timespec t = { .tv_nsec = ms * 1000 * 1000 };

	nanosleep(&t, NULL);
}

/* Waits, for at most 10 s, until somebody queues for @bo. */
static void wait_for_waiter(struct uttm_bo *bo)
{
	for (int i = 0; i < 10000 && !has_waiters(bo); i++)
		sleep_ms(1);
	assert_true(has_waiters(bo));
}

static void ticket_locking_its_own_object_again_is_ealready(void **state)
{
	struct world *w = *state;
	struct uttm_bo *a = bo_new(w->dev, MiB, false, NULL);
	struct uttm_acquire_ctx t;

	uttm_acquire_init(&t, w->ctx);
	assert_int_equal(uttm_bo_reserve(a, &t, &op), 0);
	assert_int_equal(uttm_bo_reserve(a, &t, &op), -EALREADY);
	assert_false(uttm_bo_trylock(a));
	assert_ptr_equal(uttm_resv_holder(a), &t);
	uttm_bo_unlock(a);
	assert_null(uttm_resv_holder(a));
	uttm_acquire_fini(&t);
	/* Without a ticket, a reserve is a lock like any other. */
	assert_int_equal(uttm_bo_reserve(a, NULL, &op), 0);
	assert_null(uttm_resv_holder(a));
	assert_false(uttm_bo_trylock(a));
	uttm_bo_unlock(a);
	uttm_bo_put(a);
}

struct young {
	struct world *w;
	struct uttm_bo *a, *b;
	struct uttm_acquire_ctx *ticket;
	sem_t holds_b;
	int first, slow, second;
};

/* The younger ticket: holds b, wants a, which the older one holds. */
static void *young_main(void *arg)
{
	struct young *y = arg;

	y->first = uttm_bo_reserve(y->b, y->ticket, &op);
	sem_post(&y->holds_b);
	y->first = uttm_bo_reserve(y->a, y->ticket, &op);
	if (y->first == -EDEADLK) {
		uttm_bo_unlock(y->b);
		y->slow = uttm_bo_reserve_slowpath(y->a, y->ticket, &op);
		y->second = uttm_bo_reserve(y->b, y->ticket, &op);
	}
	uttm_bo_unlock(y->a);
	uttm_bo_unlock(y->b);
	return NULL;
}

static void younger_ticket_backs_off_for_the_older(void **state)
{
	struct world *w = *state;
	struct uttm_acquire_ctx old, young_ticket;
	struct young y = { .w = w, .ticket = &young_ticket };
	pthread_t thread;

	y.a = bo_new(w->dev, MiB, false, NULL);
	y.b = bo_new(w->dev, MiB, false, NULL);
	uttm_acquire_init(&old, w->ctx);
	uttm_acquire_init(&young_ticket, w->ctx);
	assert_int_equal(sem_init(&y.holds_b, 0, 0), 0);
	assert_int_equal(uttm_bo_reserve(y.a, &old, &op), 0);
	assert_int_equal(pthread_create(&thread, NULL, young_main, &y), 0);
	assert_int_equal(sem_wait(&y.holds_b), 0);
	/* The younger waits for a; the older now wants b and wins it. */
	wait_for_waiter(y.a);
	assert_int_equal(uttm_bo_reserve(y.b, &old, &op), 0);
	assert_int_equal(y.first, -EDEADLK);
	uttm_bo_unlock(y.a);
	uttm_bo_unlock(y.b);
	uttm_acquire_fini(&old);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(y.slow, 0);
	assert_int_equal(y.second, 0);
	uttm_acquire_fini(&young_ticket);
	sem_destroy(&y.holds_b);
	uttm_bo_put(y.a);
	uttm_bo_put(y.b);
}

struct waiter {
	struct uttm_bo *bo;
	const struct uttm_operation_ctx *op;
	atomic_bool done;
	int ret;
};

static void *reserve_main(void *arg)
{
	struct waiter *wt = arg;

	wt->ret = uttm_bo_reserve(wt->bo, NULL, wt->op);
	if (!wt->ret)
		uttm_bo_unlock(wt->bo);
	atomic_store(&wt->done, true);
	return NULL;
}

static void on_signal(int sig)
{
	(void)sig;
}

static void interruptible_reserve_stops_on_a_signal(void **state)
{
	struct world *w = *state;
	struct sigaction sa = { .sa_handler = on_signal }, old_sa;
	struct uttm_bo *a = bo_new(w->dev, MiB, false, NULL);
	struct waiter patient = { .bo = a, .op = &op };
	struct waiter hasty = { .bo = a, .op = &intr };
	pthread_t tp, th;

	/* No SA_RESTART: the handler interrupts the waits it lands in. */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old_sa), 0);
	uttm_bo_lock(a);
	assert_int_equal(pthread_create(&tp, NULL, reserve_main, &patient), 0);
	assert_int_equal(pthread_create(&th, NULL, reserve_main, &hasty), 0);
	for (int i = 0; i < 10000 && !atomic_load(&hasty.done); i++) {
		pthread_kill(th, SIGUSR1);
		pthread_kill(tp, SIGUSR1);
		sleep_ms(1);
	}
	assert_true(atomic_load(&hasty.done));
	assert_int_equal(hasty.ret, -EINTR);
	/* Not interruptible, the other one still waits, and gets it. */
	assert_false(atomic_load(&patient.done));
	uttm_bo_unlock(a);
	assert_int_equal(pthread_join(tp, NULL), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(patient.ret, 0);
	assert_int_equal(sigaction(SIGUSR1, &old_sa, NULL), 0);
	uttm_bo_put(a);
}

static void cancel_request_stops_a_reserve_wait(void **state)
{
	struct world *w = *state;
	struct uttm_cancel cancel = { 0 };
	const struct uttm_operation_ctx cancellable = { .interruptible = true,
							.cancel = &cancel };
	struct uttm_bo *a = bo_new(w->dev, MiB, false, NULL);
	struct waiter wt = { .bo = a, .op = &cancellable };
	pthread_t thread;

	/* A free object is taken whatever the flag says. */
	uttm_cancel_request(&cancel);
	assert_int_equal(uttm_bo_reserve(a, NULL, &cancellable), 0);
	uttm_cancel_clear(&cancel);
	assert_int_equal(pthread_create(&thread, NULL, reserve_main, &wt), 0);
	wait_for_waiter(a);
	uttm_cancel_request(&cancel);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(wt.ret, -EINTR);
	/* The flag stays set until its owner clears it. */
	assert_true(uttm_cancel_requested(&cancel));
	uttm_bo_unlock(a);
	uttm_bo_put(a);
}

static void exec_locks_a_list_with_duplicates(void **state)
{
	struct world *w = *state;
	struct uttm_bo *bos[4];
	struct uttm_exec exec;

	bos[0] = bo_new(w->dev, MiB, false, NULL);
	bos[1] = bo_new(w->dev, MiB, false, NULL);
	bos[2] = bos[0];
	bos[3] = bo_new(w->dev, MiB, false, NULL);
	uttm_exec_init(&exec, w->ctx, &op);
	assert_int_equal(uttm_exec_lock_objects(&exec, bos, 4), 0);
	for (unsigned int i = 0; i < 4; i++)
		assert_ptr_equal(uttm_resv_holder(bos[i]), &exec.ticket);
	assert_int_equal(exec.num_objects, 3);
	/* The set holds references: the objects outlive their owner's put. */
	uttm_bo_put(bos[1]);
	uttm_exec_fini(&exec);
	assert_true(uttm_bo_trylock(bos[0]));
	uttm_bo_unlock(bos[0]);
	uttm_bo_put(bos[0]);
	uttm_bo_put(bos[3]);
	assert_int_equal(allocated(w), 0);
}

struct holder {
	struct uttm_bo *bo;
	struct uttm_acquire_ctx *ticket;
	sem_t holds;
};

/* Holds @bo with its ticket until somebody waits for it (10 s at most). */
static void *holder_main(void *arg)
{
	struct holder *h = arg;

	if (!uttm_bo_reserve(h->bo, h->ticket, &op)) {
		sem_post(&h->holds);
		for (int i = 0; i < 10000 && !has_waiters(h->bo); i++)
			sleep_ms(1);
		uttm_bo_unlock(h->bo);
	}
	return NULL;
}

static void validate_waits_for_an_object_another_ticket_holds(void **state)
{
	struct uttm_acquire_ctx older, mine;
	struct holder h = { .ticket = &older };
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);
	pthread_t thread;

	h.bo = a;
	uttm_acquire_init(&older, w->ctx);
	uttm_acquire_init(&mine, w->ctx);
	assert_int_equal(sem_init(&h.holds, 0, 0), 0);
	assert_int_equal(pthread_create(&thread, NULL, holder_main, &h), 0);
	assert_int_equal(sem_wait(&h.holds), 0);
	/* Only a can make room; b's validate waits for it, then shrinks it. */
	assert_int_equal(uttm_bo_reserve(b, &mine, &op), 0);
	assert_int_equal(uttm_bo_validate(b, &op), 0);
	assert_false(is_populated(a));
	uttm_bo_unlock(b);
	assert_int_equal(pthread_join(thread, NULL), 0);
	uttm_acquire_fini(&older);
	uttm_acquire_fini(&mine);
	sem_destroy(&h.holds);
	assert_int_equal(bo_check(a, 1), 0);
	uttm_bo_put(a);
	uttm_bo_put(b);
	world_free(w);
}

static void validate_skips_the_tickets_own_objects(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);
	struct uttm_bo *both[2];
	struct uttm_exec exec;

	both[0] = a;
	both[1] = b;
	uttm_exec_init(&exec, w->ctx, &op);
	assert_int_equal(uttm_exec_lock_objects(&exec, both, 2), 0);
	/* a is the caller's own: nothing to wait for, nothing to shrink. */
	assert_int_equal(uttm_bo_validate(b, &op), -ENOMEM);
	assert_true(is_populated(a));
	uttm_exec_fini(&exec);
	crowded_world_free(w, a, b);
}

struct younger_validate {
	struct uttm_bo *a, *b;
	struct uttm_context *ctx;
	sem_t holds_b;
	int deadlocks, ret;
};

/* Locks b, validates it (a must make room) until it works. */
static void *younger_validate_main(void *arg)
{
	struct younger_validate *y = arg;
	struct uttm_exec exec;
	bool told = false;

	uttm_exec_init(&exec, y->ctx, &op);
	while (uttm_exec_until_all_locked(&exec)) {
		y->ret = uttm_exec_lock(&exec, y->b);
		if (!told) {
			sem_post(&y->holds_b);
			told = true;
		}
		if (!y->ret)
			y->ret = uttm_bo_validate(y->b, &op);
		if (y->ret == -EDEADLK)
			y->deadlocks++;
	}
	uttm_exec_fini(&exec);
	return NULL;
}

static void validate_backs_off_for_an_older_ticket(void **state)
{
	struct uttm_bo *a, *b;
	struct world *w = crowded_world(&a, &b, NULL);
	struct younger_validate y = { .a = a, .b = b, .ctx = w->ctx };
	struct uttm_acquire_ctx old;
	pthread_t thread;

	/* The older ticket starts first and holds a. */
	uttm_acquire_init(&old, w->ctx);
	assert_int_equal(uttm_bo_reserve(a, &old, &op), 0);
	assert_int_equal(sem_init(&y.holds_b, 0, 0), 0);
	assert_int_equal(pthread_create(&thread, NULL, younger_validate_main,
					&y), 0);
	assert_int_equal(sem_wait(&y.holds_b), 0);
	/* The younger's validate waits for a; the older wants b. */
	wait_for_waiter(a);
	assert_int_equal(uttm_bo_reserve(b, &old, &op), 0);
	uttm_bo_unlock(a);
	uttm_bo_unlock(b);
	uttm_acquire_fini(&old);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_int_equal(y.deadlocks, 1);
	assert_int_equal(y.ret, 0);
	sem_destroy(&y.holds_b);
	crowded_world_free(w, a, b);
}

/* The shared state of the overlapping-sets stress. */
#define SET_OBJECTS 12
#define SET_THREADS 4
#define SET_ITERATIONS 400

struct sets {
	struct world *w;
	struct uttm_bo *bos[SET_OBJECTS];
	/* Under each object's lock: */
	uint64_t seed[SET_OBJECTS];
	int owner[SET_OBJECTS];
	atomic_bool stop;
};

struct set_worker {
	struct sets *s;
	int id;
	uint64_t rng;
	unsigned long backoffs, enomem, sets;
	int error;
};

/* Picks 2 to 5 distinct objects in a random order. */
static unsigned int pick_set(struct set_worker *sw, unsigned int *idx)
{
	unsigned int n = 2 + rng_next(&sw->rng) % 4, k = 0;

	while (k < n) {
		unsigned int i = rng_next(&sw->rng) % SET_OBJECTS, j;

		for (j = 0; j < k && idx[j] != i; j++)
			;
		if (j == k)
			idx[k++] = i;
	}
	return n;
}

/* With the set locked: each object is ours alone and holds its seed. */
static int use_set(struct set_worker *sw, const unsigned int *idx,
		   unsigned int n)
{
	struct sets *s = sw->s;

	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = idx[k];
		struct uttm_tt *tt = uttm_bo_tt(s->bos[i]);

		if (s->owner[i] || tt_first_mismatch(tt, s->seed[i]) >= 0)
			return -EIO;
		s->owner[i] = sw->id;
	}
	for (unsigned int k = 0; k < n; k++) {
		unsigned int i = idx[k];

		if (s->owner[i] != sw->id)
			return -EIO;
		s->owner[i] = 0;
		s->seed[i] = rng_next(&sw->rng);
		fill_tt(uttm_bo_tt(s->bos[i]), s->seed[i]);
	}
	return 0;
}

/* Locks one random set with a ticket, validates it, uses it. */
static int lock_one_set(struct set_worker *sw)
{
	struct sets *s = sw->s;
	unsigned int idx[5], n = pick_set(sw, idx);
	struct uttm_exec exec;
	int ret = 0;

	uttm_exec_init(&exec, s->w->ctx, &op);
	while (uttm_exec_until_all_locked(&exec)) {
		for (unsigned int k = 0; k < n && !ret; k++)
			ret = uttm_exec_lock(&exec, s->bos[idx[k]]);
		for (unsigned int k = 0; k < n && !ret; k++)
			ret = uttm_bo_validate(s->bos[idx[k]], &op);
		if (ret != -EDEADLK)
			break;
		sw->backoffs++;
		ret = 0;
	}
	if (ret == -ENOMEM) {
		/* Everything else in use by others: legitimate, rare. */
		sw->enomem++;
		ret = 0;
	} else if (!ret) {
		ret = use_set(sw, idx, n);
		sw->sets++;
	}
	uttm_exec_fini(&exec);
	return ret;
}

static void *set_worker_main(void *arg)
{
	struct set_worker *sw = arg;

	for (int i = 0; i < SET_ITERATIONS && !sw->error; i++)
		sw->error = lock_one_set(sw);
	return NULL;
}

/* The shrinker walks among the sets, trylocking. */
static void *set_shrinker_main(void *arg)
{
	struct sets *s = arg;

	while (!atomic_load(&s->stop)) {
		uttm_shrinker_scan(s->w->ctx, 64);
		sleep_ms(1);
	}
	return NULL;
}

static void random_overlapping_sets_never_deadlock(void **state)
{
	/* Room for half the objects: validates make room among the sets. */
	struct sets s = { .w = world_new(SET_OBJECTS / 2 * 64 * UTTM_PAGE_SIZE,
					 0) };
	struct set_worker workers[SET_THREADS];
	pthread_t threads[SET_THREADS], shrinker;
	unsigned long backoffs = 0, sets = 0, enomem = 0;

	for (unsigned int i = 0; i < SET_OBJECTS; i++) {
		s.bos[i] = bo_new(s.w->dev, 64 * UTTM_PAGE_SIZE, false, NULL);
		s.seed[i] = i + 1;
		bo_fill(s.bos[i], s.seed[i]);
	}
	assert_int_equal(pthread_create(&shrinker, NULL, set_shrinker_main,
					&s), 0);
	for (int t = 0; t < SET_THREADS; t++) {
		workers[t] = (struct set_worker){ .s = &s, .id = t + 1,
						  .rng = 1000 + (uint64_t)t };
		assert_int_equal(pthread_create(&threads[t], NULL,
						set_worker_main, &workers[t]),
				 0);
	}
	for (int t = 0; t < SET_THREADS; t++) {
		assert_int_equal(pthread_join(threads[t], NULL), 0);
		assert_int_equal(workers[t].error, 0);
		backoffs += workers[t].backoffs;
		sets += workers[t].sets;
		enomem += workers[t].enomem;
	}
	atomic_store(&s.stop, true);
	assert_int_equal(pthread_join(shrinker, NULL), 0);
	print_message("%lu sets used, %lu back-offs, %lu out of room\n", sets,
		      backoffs, enomem);
	assert_true(sets > SET_THREADS * SET_ITERATIONS / 2);
	for (unsigned int i = 0; i < SET_OBJECTS; i++) {
		assert_int_equal(bo_check(s.bos[i], s.seed[i]), 0);
		uttm_bo_put(s.bos[i]);
	}
	world_free(s.w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		world_test(ticket_locking_its_own_object_again_is_ealready),
		world_test(younger_ticket_backs_off_for_the_older),
		world_test(interruptible_reserve_stops_on_a_signal),
		world_test(cancel_request_stops_a_reserve_wait),
		world_test(exec_locks_a_list_with_duplicates),
		cmocka_unit_test(validate_waits_for_an_object_another_ticket_holds),
		cmocka_unit_test(validate_skips_the_tickets_own_objects),
		cmocka_unit_test(validate_backs_off_for_an_older_ticket),
		cmocka_unit_test(random_overlapping_sets_never_deadlock),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
