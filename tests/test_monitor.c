// SPDX-License-Identifier: MIT
/*
 * The memory-pressure monitor: it starts on every source the machine
 * offers and says which, stops cleanly, reclaims when polled headroom is
 * short, and, in a real memory cgroup, notices pressure that another
 * process creates and shrinks so that process can go on without an OOM
 * kill.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "helpers.h"
#include "support/cgroup.h"

/*
 * A context with one device, @count purgeable objects of @size,
 * validated, and @pool_pages pages in the device's pool.
 */
struct scene {
	struct uttm_context *ctx;
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_bo *bos[64];
	unsigned int count;
	/* Pages in the pool when the first object was purged, or -1. */
	atomic_long pooled_at_first_purge;
};

static void note_first_purge(struct uttm_bo *bo)
{
	struct uttm_device *dev = uttm_bo_device(bo);
	struct scene *s = uttm_device_priv(dev);
	long pooled = (long)uttm_pool_shrink_count(uttm_device_pool(dev));
	long none = -1;

	atomic_compare_exchange_strong(&s->pooled_at_first_purge, &none,
				       pooled);
}

static const struct uttm_device_funcs scene_funcs = {
	.purge_notify = note_first_purge,
};

/* A new object of @size, validated and filled, or NULL. */
static struct uttm_bo *scene_object(struct scene *s, uint64_t size)
{
	const struct uttm_operation_ctx op = { .interruptible = false };
	struct uttm_bo_params bp = { .size = size, .purgeable = true };
	struct uttm_bo *bo;
	int ret;

	if (uttm_bo_create(s->dev, &bp, &bo))
		return NULL;
	uttm_bo_lock(bo);
	ret = uttm_bo_validate(bo, &op);
	if (!ret)
		fill_tt(uttm_bo_tt(bo), s->count);
	uttm_bo_unlock(bo);
	if (!ret)
		return bo;
	uttm_bo_put(bo);
	return NULL;
}

static int scene_new(struct scene *s, unsigned int count, uint64_t size,
		     unsigned long pool_pages)
{
	struct uttm_arena_params ap = { .max_bytes = 1ULL << 30 };
	struct uttm_device_params dp = {
		.caching = UTTM_PLAIN, .pool.max_pages = pool_pages,
		.funcs = &scene_funcs, .priv = s,
	};
	struct uttm_bo *bo;
	int ret;

	memset(s, 0, sizeof(*s));
	atomic_init(&s->pooled_at_first_purge, -1);
	ret = uttm_context_create(NULL, &s->ctx);
	if (!ret)
		ret = uttm_arena_create(&ap, &s->arena);
	dp.pool.arena = s->arena;
	if (!ret)
		ret = uttm_device_create(s->ctx, &dp, &s->dev);
	for (; !ret && s->count < count; s->count++) {
		s->bos[s->count] = scene_object(s, size);
		if (!s->bos[s->count])
			ret = -ENOMEM;
	}
	if (ret || !pool_pages)
		return ret;
	/* An object given back fills the pool. */
	bo = scene_object(s, pool_pages * UTTM_PAGE_SIZE);
	uttm_bo_put(bo);
	return bo ? 0 : -ENOMEM;
}

static void scene_free(struct scene *s)
{
	for (unsigned int i = 0; i < s->count; i++)
		uttm_bo_put(s->bos[i]);
	uttm_device_destroy(s->dev);
	uttm_context_destroy(s->ctx);
	uttm_arena_destroy(s->arena);
}

static uint64_t purged(struct scene *s)
{
	struct uttm_context_stats stats;

	uttm_context_stats(s->ctx, &stats);
	return stats.pages_purged;
}

static void every_available_source_starts_and_stops(void **state)
{
	static const enum uttm_pressure_source sources[] = {
		UTTM_PRESSURE_AUTO, UTTM_PRESSURE_PSI_CGROUP,
		UTTM_PRESSURE_PSI_SYSTEM, UTTM_PRESSURE_CGROUP_V1,
		UTTM_PRESSURE_POLL,
	};
	struct uttm_monitor *m;
	struct scene s;

	assert_int_equal(scene_new(&s, 0, 0, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		struct uttm_monitor_params p = { .source = sources[i] };
		int ret = uttm_monitor_start(s.ctx, &p, &m);

		print_message("source %-10s: %s\n",
			      uttm_pressure_source_name(sources[i]),
			      ret ? strerror(-ret) : "started");
		/* Auto and polling exist everywhere. */
		if (sources[i] == UTTM_PRESSURE_AUTO ||
		    sources[i] == UTTM_PRESSURE_POLL)
			assert_int_equal(ret, 0);
		if (ret)
			continue;
		assert_int_not_equal(uttm_monitor_source(m), UTTM_PRESSURE_AUTO);
		if (sources[i] != UTTM_PRESSURE_AUTO)
			assert_int_equal(uttm_monitor_source(m), sources[i]);
		else
			print_message("auto chose %s\n", uttm_pressure_source_name(
					      uttm_monitor_source(m)));
		uttm_monitor_stop(m);
	}
	scene_free(&s);
}

/* Everything purged, and the reclaim that did it counted: it is done. */
static bool purged_all(struct scene *s, const struct uttm_monitor *m)
{
	struct uttm_monitor_stats ms;

	uttm_monitor_stats(m, &ms);
	return purged(s) == s->count * 256 && ms.events;
}

static void polled_shortage_makes_it_purge(void **state)
{
	struct uttm_monitor_params p = {
		.source = UTTM_PRESSURE_POLL,
		.poll_ms = 10,
		/* Less available than this, always: pressure at once. */
		.low_available_bytes = 1ULL << 62,
	};
	struct uttm_context_stats stats;
	struct uttm_monitor_stats ms;
	struct uttm_monitor *m;
	struct scene s;

	assert_int_equal(scene_new(&s, 8, MiB, 512), 0);
	uttm_context_stats(s.ctx, &stats);
	assert_int_equal(stats.pool_pages, 512);
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), 0);
	for (int i = 0; i < 500 && !purged_all(&s, m); i++)
		usleep(10 * 1000);
	uttm_monitor_stats(m, &ms);
	/* What was reclaimed is held back from validates meanwhile. */
	uttm_context_stats(s.ctx, &stats);
	assert_true(stats.pressure_limit > 0 &&
		    stats.pressure_limit <= stats.resident_bytes + MiB);
	uttm_monitor_stop(m);
	uttm_context_stats(s.ctx, &stats);
	assert_int_equal(stats.pressure_limit, 0);
	assert_int_equal(purged(&s), 8 * 256);
	/* Pooled pages hold no data: they went first. */
	assert_int_equal(atomic_load(&s.pooled_at_first_purge), 0);
	uttm_context_stats(s.ctx, &stats);
	assert_int_equal(stats.pool_pages, 0);
	assert_true(ms.events > 0);
	assert_true(ms.pages_freed >= 8 * 256 + 512);
	assert_true(ms.last_pressure > 0 && ms.last_pressure <= 1);
	scene_free(&s);
}

static void bad_parameters_are_refused(void **state)
{
	struct uttm_monitor_params p = { .psi_stall_us = 2000000,
					 .psi_window_us = 1000000 };
	struct uttm_monitor *m;
	struct scene s;

	assert_int_equal(scene_new(&s, 0, 0, 0), 0);
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), -EINVAL);
	p = (struct uttm_monitor_params){ .source = 42 };
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), -EINVAL);
	assert_int_equal(uttm_monitor_start(NULL, NULL, &m), -EINVAL);
	p = (struct uttm_monitor_params){ .source = UTTM_PRESSURE_CGROUP_V1,
					  .cgroup_dir = "/nonexistent" };
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), -ENOENT);
	assert_string_equal(uttm_pressure_source_name(UTTM_PRESSURE_POLL),
			    "poll");
	assert_string_equal(uttm_pressure_source_name(42), "?");
	uttm_monitor_stop(NULL);
	scene_free(&s);
}

/* What the monitored process is given. */
struct monitored {
	const struct cgroup *cg;
	enum uttm_pressure_source source;
	unsigned int poll_ms;
	int ready_fd;
};

/*
 * The monitored process: 128 MiB of purgeable objects, a monitor on
 * the source, and a wait until it purged something.  Reports by exit code.
 */
static int monitored_child(void *arg)
{
	const struct monitored *mc = arg;
	struct uttm_monitor_params p = { .source = mc->source,
					 .poll_ms = mc->poll_ms,
					 .low_available_bytes = 96 * MiB,
					 .cgroup_dir = mc->cg->path };
	struct uttm_monitor *m;
	struct scene s;

	CHILD_CHECK(!cgroup_enter(mc->cg) && !scene_new(&s, 32, 4 * MiB, 0));
	CHILD_CHECK(!uttm_monitor_start(s.ctx, &p, &m));
	CHILD_CHECK(write(mc->ready_fd, "r", 1) == 1);
	for (int i = 0; i < 2000 && !purged(&s); i++)
		usleep(10 * 1000);
	uttm_monitor_stop(m);
	CHILD_CHECK(purged(&s));
	return 0;
}

/* The other process: takes 192 MiB of @arg, a cgroup, a little at a time. */
static int allocating_child(void *arg)
{
	const size_t step = 4 * MiB, total = 192 * MiB;
	char *mem;

	CHILD_CHECK(!cgroup_enter(arg));
	mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHILD_CHECK(mem != MAP_FAILED);
	for (size_t off = 0; off < total; off += step) {
		memset(mem + off, 1, step);
		usleep(5 * 1000);
	}
	return 0;
}

/*
 * A 256 MiB cgroup holds the monitored process's 128 MiB of purgeable
 * objects when another process starts taking 192 MiB.  Tasks over the
 * limit wait for memory instead of being killed (cgroup_throttle()), so
 * the only way out is the monitor shrinking.
 */
static void pressure_from_another_process(enum uttm_pressure_source source,
					  unsigned int poll_ms, bool v1_only)
{
	char name[64], buf;
	struct monitored mc;
	struct cgroup cg;
	pid_t monitored, allocating;
	int pipefd[2], ret;

#ifdef __SANITIZE_THREAD__
	/* Its shadow of the children's memory would not fit in the cgroup. */
	skip_because("under TSan the cgroup's budget measures TSan");
#endif
	snprintf(name, sizeof(name), "uttm-test-monitor-%d-%d", getpid(),
		 source);
	ret = cgroup_create(&cg, name, 256 * MiB);
	if (ret) {
		print_message("cannot create a memory cgroup: %s\n",
			      strerror(-ret));
		skip_because("a memory cgroup controller and root are needed");
	}
	if ((cg.v2 != (source != UTTM_PRESSURE_CGROUP_V1) &&
	     source != UTTM_PRESSURE_POLL) || (v1_only && cg.v2)) {
		cgroup_remove(&cg);
		skip_because("this source belongs to the other cgroup version");
	}
	assert_int_equal(cgroup_throttle(&cg), 0);
	assert_int_equal(pipe(pipefd), 0);

	mc = (struct monitored){ &cg, source, poll_ms, pipefd[1] };
	monitored = child_start(monitored_child, &mc);
	/* Only the child may write: should it fail first, read sees EOF. */
	close(pipefd[1]);
	ret = read(pipefd[0], &buf, 1);
	close(pipefd[0]);
	if (ret != 1)
		child_assert_passed(child_wait(monitored), NULL);
	assert_int_equal(ret, 1);
	allocating = child_start(allocating_child, &cg);
	child_assert_passed(child_wait(monitored), NULL);
	child_assert_passed(child_wait(allocating), NULL);
	assert_int_equal(cgroup_oom_kills(&cg), 0);
	assert_int_equal(cgroup_remove(&cg), 0);
}

static void cgroup_v1_events_make_it_shrink(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_CGROUP_V1, 20, false);
}

static void cgroup_psi_makes_it_shrink(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_PSI_CGROUP, 20, false);
}

static void polled_cgroup_headroom_makes_it_shrink(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_POLL, 20, false);
}

/*
 * In a cgroup v1 with a limit the usage marks wake the monitor: with a
 * poll a minute away, longer than the monitored process waits, nothing
 * else could.  A cgroup v2 has no such marks: skipped there.
 */
static void cgroup_v1_usage_marks_wake_it_between_polls(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_POLL, 60 * 1000, true);
}

/* The threads of this process, the monitor's included. */
static unsigned int thread_count(void)
{
	unsigned int count = 0;
	struct dirent *entry;
	DIR *dir = opendir("/proc/self/task");

	assert_non_null(dir);
	while ((entry = readdir(dir)))
		count += entry->d_name[0] != '.';
	closedir(dir);
	return count;
}

/* Waits up to a second for this process to have @count threads. */
static bool threads_become(unsigned int count)
{
	for (int i = 0; i < 100 && thread_count() != count; i++)
		usleep(10 * 1000);
	return thread_count() == count;
}

/* In a child: stops the monitor it inherited, whose thread it lacks. */
static int child_stops_inherited_monitor(void *arg)
{
	/* Waiting for a thread that is not there would never end. */
	alarm(10);
	uttm_monitor_stop(arg);
	return 0;
}

static void forked_child_stops_only_its_own_copy(void **state)
{
	struct uttm_monitor_params p = { .source = UTTM_PRESSURE_POLL,
					 .poll_ms = 10 };
	struct uttm_monitor *m;
	unsigned int threads;
	struct scene s;

	assert_int_equal(scene_new(&s, 0, 0, 0), 0);
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), 0);
	threads = thread_count();
	run_in_child(child_stops_inherited_monitor, m, NULL);
	/* A stop that reached the parent's thread would end it at once. */
	assert_false(threads_become(threads - 1));
	uttm_monitor_stop(m);
	assert_true(threads_become(threads - 1));
	scene_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_available_source_starts_and_stops),
		cmocka_unit_test(polled_shortage_makes_it_purge),
		cmocka_unit_test(bad_parameters_are_refused),
		cmocka_unit_test(forked_child_stops_only_its_own_copy),
		cmocka_unit_test(cgroup_v1_events_make_it_shrink),
		cmocka_unit_test(cgroup_v1_usage_marks_wake_it_between_polls),
		cmocka_unit_test(cgroup_psi_makes_it_shrink),
		cmocka_unit_test(polled_cgroup_headroom_makes_it_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
