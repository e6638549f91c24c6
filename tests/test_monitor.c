// SPDX-License-Identifier: MIT
/*
 * The memory-pressure monitor: it starts on every source the machine
 * offers and says which, stops cleanly, reclaims when polled headroom is
 * short, and, in a real memory cgroup, notices pressure that another
 * process creates and shrinks so that process can go on without an OOM
 * kill.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uttm/backup.h>
#include <uttm/shrinker.h>

#include "helpers.h"

#define CGROUP_V1 "/sys/fs/cgroup/memory"

/* A context with one device and @count purgeable objects of @size, validated. */
struct scene {
	struct uttm_context *ctx;
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_bo *bos[64];
	unsigned int count;
};

static int scene_new(struct scene *s, unsigned int count, uint64_t size)
{
	const struct uttm_operation_ctx op = { .interruptible = false };
	struct uttm_arena_params ap = { .max_bytes = 1ULL << 30 };
	struct uttm_device_params dp = { .caching = UTTM_PLAIN };
	int ret;

	memset(s, 0, sizeof(*s));
	ret = uttm_context_create(NULL, &s->ctx);
	if (!ret)
		ret = uttm_arena_create(&ap, &s->arena);
	dp.pool.arena = s->arena;
	if (!ret)
		ret = uttm_device_create(s->ctx, &dp, &s->dev);
	for (s->count = 0; !ret && s->count < count; s->count++) {
		struct uttm_bo_params bp = { .size = size, .purgeable = true };
		struct uttm_bo *bo;

		ret = uttm_bo_create(s->dev, &bp, &bo);
		if (ret)
			break;
		s->bos[s->count] = bo;
		uttm_bo_lock(bo);
		ret = uttm_bo_validate(bo, &op);
		if (!ret)
			fill_tt(uttm_bo_tt(bo), s->count);
		uttm_bo_unlock(bo);
	}
	return ret;
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
	unsigned int started = 0;

	assert_int_equal(scene_new(&s, 0, 0), 0);
	for (size_t i = 0; i < ARRAY_SIZE(sources); i++) {
		struct uttm_monitor_params p = { .source = sources[i] };
		int ret = uttm_monitor_start(s.ctx, &p, &m);

		print_message("source %-10s: %s\n",
			      uttm_pressure_source_name(sources[i]),
			      ret ? strerror(-ret) : "started");
		if (ret)
			continue;
		started++;
		assert_int_not_equal(uttm_monitor_source(m), UTTM_PRESSURE_AUTO);
		if (sources[i] != UTTM_PRESSURE_AUTO)
			assert_int_equal(uttm_monitor_source(m), sources[i]);
		else
			print_message("auto chose %s\n", uttm_pressure_source_name(
					      uttm_monitor_source(m)));
		uttm_monitor_stop(m);
	}
	/* Auto and polling exist everywhere. */
	assert_true(started >= 2);
	scene_free(&s);
}

static void polled_shortage_makes_it_purge(void **state)
{
	struct uttm_monitor_params p = {
		.source = UTTM_PRESSURE_POLL,
		.poll_ms = 10,
		/* Less available than this, always: pressure at once. */
		.low_available_bytes = 1ULL << 62,
	};
	struct uttm_monitor_stats ms;
	struct uttm_monitor *m;
	struct scene s;

	assert_int_equal(scene_new(&s, 8, MiB), 0);
	assert_int_equal(uttm_monitor_start(s.ctx, &p, &m), 0);
	for (int i = 0; i < 500 && purged(&s) < 8 * 256; i++)
		usleep(10 * 1000);
	uttm_monitor_stats(m, &ms);
	uttm_monitor_stop(m);
	assert_int_equal(purged(&s), 8 * 256);
	assert_true(ms.events > 0);
	assert_true(ms.pages_freed >= 8 * 256);
	assert_true(ms.last_pressure > 0 && ms.last_pressure <= 1);
	scene_free(&s);
}

static void bad_parameters_are_refused(void **state)
{
	struct uttm_monitor_params p = { .psi_stall_us = 2000000,
					 .psi_window_us = 1000000 };
	struct uttm_monitor *m;
	struct scene s;

	assert_int_equal(scene_new(&s, 0, 0), 0);
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

static int write_file(const char *dir, const char *file, const char *text)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

static int join_cgroup(const char *dir)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_file(dir, "cgroup.procs", pid);
}

/*
 * The monitored process: 128 MiB of purgeable objects, a monitor on
 * @source, and a wait until it purged something.  Reports by exit code.
 */
static int monitored_child(const char *dir, enum uttm_pressure_source source,
			   int ready_fd)
{
	struct uttm_monitor_params p = { .source = source, .poll_ms = 20,
					 .low_available_bytes = 96 * MiB };
	struct uttm_monitor *m;
	struct scene s;

	if (join_cgroup(dir) || scene_new(&s, 32, 4 * MiB))
		return 2;
	if (uttm_monitor_start(s.ctx, &p, &m))
		return 3;
	if (write(ready_fd, "r", 1) != 1)
		return 4;
	for (int i = 0; i < 2000 && !purged(&s); i++)
		usleep(10 * 1000);
	uttm_monitor_stop(m);
	return purged(&s) ? 0 : 5;
}

/* The other process: takes 192 MiB, a little at a time. */
static int allocating_child(const char *dir)
{
	const size_t step = 4 * MiB, total = 192 * MiB;
	char *mem;

	if (join_cgroup(dir))
		return 2;
	mem = mmap(NULL, total, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return 3;
	for (size_t off = 0; off < total; off += step) {
		memset(mem + off, 1, step);
		usleep(5 * 1000);
	}
	return 0;
}

static pid_t spawn(int (*fn)(const char *, enum uttm_pressure_source, int),
		   const char *dir, enum uttm_pressure_source source, int fd)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (!pid)
		_exit(fn(dir, source, fd));
	return pid;
}

static int allocating_entry(const char *dir, enum uttm_pressure_source source,
			    int fd)
{
	return allocating_child(dir);
}

static void pressure_from_another_process(enum uttm_pressure_source source)
{
	char dir[128], buf;
	int pipefd[2], status;
	pid_t monitored, allocating;

	snprintf(dir, sizeof(dir), CGROUP_V1 "/uttm-test-monitor-%d-%d",
		 getpid(), source);
	if (mkdir(dir, 0755)) {
		print_message("cannot create a memory cgroup under %s: %s\n",
			      CGROUP_V1, strerror(errno));
		skip_because("a cgroup v1 memory controller and root are needed");
	}
	/* Tasks over the limit wait for memory instead of being killed. */
	assert_int_equal(write_file(dir, "memory.limit_in_bytes", "256M"), 0);
	assert_int_equal(write_file(dir, "memory.oom_control", "1"), 0);
	assert_int_equal(pipe(pipefd), 0);

	monitored = spawn(monitored_child, dir, source, pipefd[1]);
	assert_int_equal(read(pipefd[0], &buf, 1), 1);
	allocating = spawn(allocating_entry, dir, source, -1);

	assert_int_equal(waitpid(monitored, &status, 0), monitored);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(waitpid(allocating, &status, 0), allocating);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	close(pipefd[0]);
	close(pipefd[1]);
	assert_int_equal(rmdir(dir), 0);
}

static void cgroup_v1_events_make_it_shrink(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_CGROUP_V1);
}

static void polled_cgroup_headroom_makes_it_shrink(void **state)
{
	pressure_from_another_process(UTTM_PRESSURE_POLL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_available_source_starts_and_stops),
		cmocka_unit_test(polled_shortage_makes_it_purge),
		cmocka_unit_test(bad_parameters_are_refused),
		cmocka_unit_test(cgroup_v1_events_make_it_shrink),
		cmocka_unit_test(polled_cgroup_headroom_makes_it_shrink),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
