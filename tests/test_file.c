// SPDX-License-Identifier: MIT
/*
 * What is particular to the file store, run once per I/O engine (io_uring
 * and the synchronous path): a tiny cap or a full file system stops a
 * backup midway and everything comes back; write and read errors leave
 * the vector and its handles intact and the restore resumes; order-0
 * pages go out and come back in runs; dropped blocks stay until trimmed;
 * signals stop only interruptible work; a kernel that refuses io_uring,
 * at setup or later, gets the synchronous path; no file is ever left
 * behind; bad input gets a clear error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "store/internal.h"
#include "store_faults.h"
#include "support/fragment.h"

/* The engines, as the flags that choose them. */
static const unsigned int io_uring_path = 0;
static const unsigned int sync_path = UTTM_BACKUP_FILE_SYNC;

struct file_env {
	struct fixture *fx;
	const unsigned int *engine;
	char dir[64];
};

static int env_setup(void **state)
{
	struct file_env *env = calloc(1, sizeof(*env));

	assert_non_null(env);
	env->fx = fixture_create(64 * MiB, 4096, 0);
	env->engine = *state;
	strcpy(env->dir, "/tmp/uttm-test-file-XXXXXX");
	assert_non_null(mkdtemp(env->dir));
	*state = env;
	return 0;
}

/* Store files are unlinked when created: none may ever show up. */
static void assert_dir_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			fail_msg("%s/%s was left behind", dir, e->d_name);
	closedir(d);
}

static int env_teardown(void **state)
{
	struct file_env *env = *state;

	/* A test that stopped early may have left its file system mounted. */
	umount2(env->dir, MNT_DETACH);
	assert_dir_empty(env->dir);
	assert_int_equal(rmdir(env->dir), 0);
	fixture_destroy(env->fx);
	*state = (void *)env->engine;
	free(env);
	return 0;
}

static struct uttm_backup_file_stats stats_of(struct uttm_backup *backup)
{
	struct uttm_backup_file_stats stats;

	assert_int_equal(uttm_backup_file_stats(backup, &stats), 0);
	return stats;
}

/*
 * A store at @path driven by the environment's engine.  The io_uring row
 * skips, saying why, where the kernel refuses a ring.
 */
static struct uttm_backup *store_at(struct file_env *env, const char *path,
				    uint64_t max_bytes, unsigned int flags)
{
	struct uttm_backup_file_params params = {
		.path = path, .max_bytes = max_bytes,
		.flags = *env->engine | flags, .fault = env->fx->fault,
	};
	struct uttm_backup_file_stats stats;
	struct uttm_backup *backup;
	char why[128];

	assert_int_equal(uttm_backup_file_create(&params, &backup), 0);
	stats = stats_of(backup);
	if (params.flags & UTTM_BACKUP_FILE_SYNC) {
		assert_false(stats.io_uring);
		assert_int_equal(stats.io_uring_error, 0);
	} else if (!stats.io_uring) {
		uttm_backup_put(backup);
		snprintf(why, sizeof(why), "io_uring unavailable here: %s",
			 strerror(-stats.io_uring_error));
		skip_because(why);
	}
	return backup;
}

static struct uttm_backup *env_store(struct file_env *env, uint64_t max_bytes)
{
	return store_at(env, env->dir, max_bytes, 0);
}

/* Drops a store, which must hold nothing any more. */
static void store_put(struct uttm_backup *backup)
{
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(stats_of(backup).slots_used, 0);
	uttm_backup_put(backup);
}

static void backup_stops_at_the_cap_then_restores(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 40 * UTTM_PAGE_SIZE);
	struct uttm_tt tt;

	tt_new_backed(&tt, &env->fx->pool, 100 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 1);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 40);
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_int_equal(count_handles(&tt), 40);
	assert_int_equal(tt.resident_pages, 60);
	assert_int_equal(stats_of(backup).slots_used, 40);
	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 1);
	assert_int_equal(uttm_backup_bytes_avail(backup), 40 * UTTM_PAGE_SIZE);
	uttm_tt_fini(&tt);
	store_put(backup);
}

static void no_file_is_left_behind(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *anonymous, *named;
	struct uttm_tt a, b;
	char path[128];

	snprintf(path, sizeof(path), "%s/backup", env->dir);
	named = store_at(env, path, 0, 0);
	/* The name goes as soon as the file exists. */
	assert_int_equal(access(path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	anonymous = env_store(env, 0);
	tt_new_backed(&a, &env->fx->pool, 64 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, anonymous, 2);
	tt_new_backed(&b, &env->fx->pool, 64 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, named, 3);
	assert_int_equal(uttm_tt_backup(&a, &backup_flags), 64);
	assert_int_equal(uttm_tt_backup(&b, &backup_flags), 64);
	/* Holding data, and still nothing to see in the directory. */
	assert_dir_empty(env->dir);
	assert_int_equal(uttm_tt_populate(&a, &test_ctx), 0);
	assert_int_equal(uttm_tt_populate(&b, &test_ctx), 0);
	assert_tt_matches(&a, 2);
	assert_tt_matches(&b, 3);
	uttm_tt_fini(&a);
	uttm_tt_fini(&b);
	store_put(anonymous);
	store_put(named);
}

static void order0_pages_go_out_and_come_back_in_runs(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);
	struct uttm_backup_file_stats before, after;
	struct spacers sp;
	struct uttm_tt tt;

	assert_int_equal(fragment_arena(env->fx->arena, &sp), 0);
	tt_new_backed(&tt, &env->fx->pool, 1024 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 4);
	unfragment_arena(env->fx->arena, &sp);
	assert_true(tt_scattered(&tt));

	/* One store call of 1024 pages, in requests of 64 pages at least. */
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 1024);
	before = stats_of(backup);
	assert_int_equal(before.batches, 1);
	assert_true(before.requests <= 1024 / 64);

	/* Into order-0 pages again: calls of 256 handles, not 1024 of one. */
	assert_int_equal(fragment_arena(env->fx->arena, &sp), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	unfragment_arena(env->fx->arena, &sp);
	assert_true(tt_scattered(&tt));
	after = stats_of(backup);
	assert_int_equal(after.batches - before.batches, 4);
	assert_true(after.requests - before.requests <= 1024 / 64);
	assert_tt_matches(&tt, 4);
	uttm_tt_fini(&tt);
	store_put(backup);
}

static unsigned long file_slots_used(struct uttm_backup *backup)
{
	return stats_of(backup).slots_used;
}

static void write_error_midway_keeps_the_vector(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);

	assert_write_error_midway_keeps_the_vector(env->fx, backup,
						   file_slots_used);
	store_put(backup);
}

/* The prefix of the /proc link of a store's file in @dir. */
static void file_link_prefix(char *prefix, size_t size, const char *dir)
{
	snprintf(prefix, size, "%s/", dir);
}

static void read_error_keeps_handles_and_restore_resumes(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);
	char prefix[PATH_MAX];

	file_link_prefix(prefix, sizeof(prefix), env->dir);
	assert_read_error_keeps_handles_and_restore_resumes(env->fx, backup,
							    prefix);
	store_put(backup);
}

static void writeback_makes_each_batch_durable_once(void **state)
{
	struct file_env *env = *state;
	const struct uttm_backup_flags writeback = { .writeback = true };
	struct uttm_backup *backup = env_store(env, 0);
	struct uttm_backup_file_stats stats;
	struct uttm_tt tt;

	tt_new_backed(&tt, &env->fx->pool, 2048 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 7);
	assert_int_equal(uttm_tt_backup(&tt, &writeback), 2048);
	stats = stats_of(backup);
	/* The tt layer hands 1024 pages over per call. */
	assert_int_equal(stats.batches, 2);
	assert_int_equal(stats.syncs, 2);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 2048);
	assert_int_equal(stats_of(backup).syncs, 2);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 7);
	uttm_tt_fini(&tt);
	store_put(backup);
}

static void dropped_blocks_stay_until_trimmed(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);
	struct uttm_tt tt;

	tt_new_backed(&tt, &env->fx->pool, 256 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 8);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 256);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	/* Every handle dropped, every block kept for the next backup. */
	assert_true(stats_of(backup).idle_bytes >= 256 * UTTM_PAGE_SIZE);
	assert_int_equal(uttm_backup_file_trim(backup), 0);
	assert_int_equal(stats_of(backup).idle_bytes, 0);
	/* The store works as before. */
	fill_tt(&tt, 9);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 256);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 9);
	uttm_tt_fini(&tt);
	store_put(backup);
}

/*
 * @count pages in one aligned buffer, which it returns, filled from
 * @seed, with their addresses in @pages.
 */
static char *pages_new(void **pages, unsigned long count, uint64_t seed)
{
	char *mem;

	assert_int_equal(posix_memalign((void **)&mem, UTTM_PAGE_SIZE,
					count * UTTM_PAGE_SIZE), 0);
	for (unsigned long i = 0; i < count; i++) {
		pages[i] = mem + i * UTTM_PAGE_SIZE;
		fill_page(pages[i], seed, i);
	}
	return mem;
}

/*
 * A handle dropped twice, or one naming a slot the store never had, is
 * misuse the store survives: its slot count stays exact.
 */
static void handles_dropped_twice_count_once(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);
	const unsigned long forged = uttm_backup_index_to_handle(1UL << 40);
	unsigned long handles[4];
	void *pages[4];
	char *mem = pages_new(pages, 4, 16);

	assert_int_equal(uttm_backup_backup_pages(backup, pages, 4, false,
						  handles), 4);
	uttm_backup_drop(backup, handles, 2);
	/* Straight to the store: the tt layer's handle count would underflow. */
	backup->ops->drop(backup, handles, 2);
	assert_int_equal(stats_of(backup).slots_used, 2);
	backup->ops->drop(backup, &forged, 1);
	assert_int_equal(stats_of(backup).slots_used, 2);
	uttm_backup_drop(backup, handles + 2, 2);
	free(mem);
	store_put(backup);
}

static void on_signal(int sig)
{
}

/*
 * Signals every 20 us, interrupting system calls (no SA_RESTART), or
 * none.  The handler stays until the timer has stopped: a late signal
 * must not meet the default action, which kills.
 */
static void signal_storm(bool on)
{
	struct sigaction sa = { .sa_handler = on ? on_signal : SIG_DFL };
	struct itimerval it = { .it_interval.tv_usec = on ? 20 : 0,
				.it_value.tv_usec = on ? 20 : 0 };

	if (on)
		assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	if (!on)
		assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
}

/*
 * Pages read back through handles in reverse order: a batch of 1024
 * one-page requests, several waves of the ring.  Under a storm of
 * signals a patient copy is never cut short; an interruptible one stops
 * between waves (the store is then called again for the rest) but never
 * abandons a read in flight.
 */
static void signals_stop_only_interruptible_batches(void **state)
{
	const struct uttm_operation_ctx patient = { .interruptible = false };
	const struct uttm_operation_ctx eager = { .interruptible = true };
	struct file_env *env = *state;
	struct uttm_backup *backup = env_store(env, 0);
	unsigned long handles[1024], reversed[1024], calls[2];
	const struct uttm_operation_ctx *ctx[2] = { &patient, &eager };
	void *pages[1024];
	char *mem = pages_new(pages, 1024, 10);

	assert_int_equal(uttm_backup_backup_pages(backup, pages, 1024, false,
						  handles), 1024);
	for (unsigned long i = 0; i < 1024; i++)
		reversed[i] = handles[1023 - i];
	for (int c = 0; c < 2; c++) {
		unsigned long batches = stats_of(backup).batches;
		long ret;

		memset(mem, 0, 1024 * UTTM_PAGE_SIZE);
		signal_storm(true);
		ret = uttm_backup_copy_pages(backup, pages, reversed, 1024,
					     ctx[c]);
		signal_storm(false);
		assert_int_equal(ret, 1024);
		calls[c] = stats_of(backup).batches - batches;
		for (unsigned long i = 0; i < 1024; i++)
			assert_true(page_matches(pages[i], 10, 1023 - i));
	}
	print_message("store calls: patient %lu, interruptible %lu\n",
		      calls[0], calls[1]);
	assert_int_equal(calls[0], 1);
	/* Reads of regular files ignore signals: only the ring can stop. */
	if (!(*env->engine & UTTM_BACKUP_FILE_SYNC))
		assert_true(calls[1] > 1);
	uttm_backup_drop(backup, handles, 1024);
	free(mem);
	store_put(backup);
}

/*
 * Mounts @fs on @dir in a mount namespace of the test's own, so nothing
 * shows outside and nothing outlives the test.  False when the machine
 * does not allow it (no CAP_SYS_ADMIN).
 */
static bool private_mount(const char *dir, const char *fs, const char *opts)
{
	static bool unshared;

	if (!unshared && (unshare(CLONE_NEWNS) ||
			  mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)))
		return false;
	unshared = true;
	return !mount(fs, dir, fs, 0, opts);
}

/*
 * A file system of 256 KiB: the backup of 512 KiB stops at -ENOSPC from
 * the file system itself, everything comes back, and the store then
 * gives its idle blocks back since the file system has no room left.
 */
static void full_file_system_stops_backup_then_store_trims(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup;
	struct uttm_tt tt;
	long ret;

	if (!private_mount(env->dir, "tmpfs", "size=256k"))
		skip_because("mounting a small tmpfs needs CAP_SYS_ADMIN");
	backup = store_at(env, env->dir, 0, UTTM_BACKUP_FILE_IN_MEMORY);
	assert_true(uttm_backup_bytes_avail(backup) <= 256 * 1024);
	tt_new_backed(&tt, &env->fx->pool, 128 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 11);
	ret = uttm_tt_backup(&tt, &backup_flags);
	assert_true(ret > 0 && ret < 128);
	assert_int_equal(count_handles(&tt), ret);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 11);
	assert_int_equal(stats_of(backup).idle_bytes, 0);
	uttm_tt_fini(&tt);
	store_put(backup);
	assert_int_equal(umount(env->dir), 0);
}

/*
 * ramfs takes no O_DIRECT (nor fallocate, nor holes): the store falls
 * back to buffered I/O, says so, and works.
 */
static void file_system_without_direct_io_gets_buffered_io(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup *backup;
	struct uttm_tt tt;

	if (!private_mount(env->dir, "ramfs", NULL))
		skip_because("mounting ramfs needs CAP_SYS_ADMIN");
	backup = store_at(env, env->dir, 0, UTTM_BACKUP_FILE_IN_MEMORY);
	assert_false(stats_of(backup).direct);
	tt_new_backed(&tt, &env->fx->pool, 64 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 12);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 64);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(uttm_backup_file_trim(backup), 0);
	assert_tt_matches(&tt, 12);
	uttm_tt_fini(&tt);
	store_put(backup);
	assert_int_equal(umount(env->dir), 0);
}

/*
 * A file in tmpfs or ramfs frees no memory: such a directory is refused,
 * a new file's path in one too, unless the caller accepts it.
 */
static void directory_in_memory_is_refused(void **state)
{
	struct file_env *env = *state;
	char path[PATH_MAX];

	for (int i = 0; i < 2; i++) {
		const char *fs = i ? "ramfs" : "tmpfs";
		struct uttm_backup_file_params params = { .path = env->dir };
		struct uttm_backup *backup;

		if (!private_mount(env->dir, fs, NULL))
			skip_because("mounting tmpfs needs CAP_SYS_ADMIN");
		assert_int_equal(uttm_backup_file_create(&params, &backup),
				 -EMEDIUMTYPE);
		snprintf(path, sizeof(path), "%s/backup", env->dir);
		params.path = path;
		assert_int_equal(uttm_backup_file_create(&params, &backup),
				 -EMEDIUMTYPE);
		params.flags = UTTM_BACKUP_FILE_IN_MEMORY;
		assert_int_equal(uttm_backup_file_create(&params, &backup), 0);
		assert_string_equal(stats_of(backup).dir, env->dir);
		uttm_backup_put(backup);
		assert_int_equal(umount(env->dir), 0);
	}
}

/* With the temporary directory in memory, the default one is on disk. */
static void default_directory_is_on_disk(void **state)
{
	struct file_env *env = *state;
	struct uttm_backup_file_params params = { .path = NULL };
	const char *old = getenv("TMPDIR");
	char saved[PATH_MAX] = "";
	struct uttm_backup *backup;
	struct statfs st;

	if (!private_mount(env->dir, "tmpfs", NULL))
		skip_because("mounting tmpfs needs CAP_SYS_ADMIN");
	if (old)
		snprintf(saved, sizeof(saved), "%s", old);
	setenv("TMPDIR", env->dir, 1);
	assert_int_equal(uttm_backup_file_create(&params, &backup), 0);
	if (old)
		setenv("TMPDIR", saved, 1);
	else
		unsetenv("TMPDIR");
	print_message("default directory: %s\n", stats_of(backup).dir);
	assert_string_not_equal(stats_of(backup).dir, env->dir);
	assert_int_equal(statfs(stats_of(backup).dir, &st), 0);
	assert_true(st.f_type != TMPFS_MAGIC && st.f_type != RAMFS_MAGIC);
	uttm_backup_put(backup);
	assert_int_equal(umount(env->dir), 0);
}

static void buffered_io_on_request(void **state)
{
	struct file_env *env = *state;
	const struct uttm_backup_flags writeback = { .writeback = true };
	struct uttm_backup *backup = store_at(env, env->dir, 0,
					      UTTM_BACKUP_FILE_BUFFERED);
	struct uttm_tt tt;

	assert_false(stats_of(backup).direct);
	tt_new_backed(&tt, &env->fx->pool, 300 * UTTM_PAGE_SIZE,
		      UTTM_PLAIN, backup, 13);
	assert_int_equal(uttm_tt_backup(&tt, &writeback), 300);
	assert_int_equal(stats_of(backup).syncs, 1);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 13);
	uttm_tt_fini(&tt);
	store_put(backup);
}

static int create(const char *path, uint64_t max_bytes, unsigned int flags)
{
	struct uttm_backup_file_params params = { .path = path,
						  .max_bytes = max_bytes,
						  .flags = flags };
	struct uttm_backup *backup;
	int ret = uttm_backup_file_create(&params, &backup);

	if (!ret)
		uttm_backup_put(backup);
	return ret;
}

static void bad_input_gets_a_clear_error(void **state)
{
	struct uttm_backup_file_params params = { .path = NULL };
	struct uttm_backup_shmem_params shmem = { .capacity = MiB };
	struct uttm_backup_file_stats stats;
	struct uttm_backup *backup;
	char dir[] = "/tmp/uttm-test-file-XXXXXX", path[64];
	int fd;

	assert_int_equal(uttm_backup_file_create(NULL, &backup), -EINVAL);
	assert_int_equal(uttm_backup_file_create(&params, NULL), -EINVAL);
	assert_int_equal(create(NULL, 0, 1u << 7), -EINVAL);
	assert_int_equal(create(NULL, UTTM_PAGE_SIZE - 1, 0), -EINVAL);
	assert_int_equal(create("/nonexistent-uttm-dir/backup", 0, 0), -ENOENT);

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/taken", dir);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	/* Never clobber a file that exists, nor look under one. */
	assert_int_equal(create(path, 0, 0), -EEXIST);
	snprintf(path, sizeof(path), "%s/taken/backup", dir);
	assert_int_equal(create(path, 0, 0), -ENOTDIR);
	snprintf(path, sizeof(path), "%s/taken", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);

	/* Stats and trim are for file stores only. */
	assert_int_equal(uttm_backup_shmem_create(&shmem, &backup), 0);
	assert_int_equal(uttm_backup_file_stats(backup, &stats), -EINVAL);
	assert_int_equal(uttm_backup_file_trim(backup), -EINVAL);
	uttm_backup_put(backup);
	assert_int_equal(uttm_backup_file_stats(NULL, &stats), -EINVAL);
	assert_int_equal(uttm_backup_file_trim(NULL), -EINVAL);
}

static int create_as_nobody(void *dir)
{
	CHILD_CHECK(!setgid(65534) && !setuid(65534));
	CHILD_CHECK(create(dir, 0, 0) == -EACCES);
	return 0;
}

/*
 * A directory the caller may not write to.  Root writes anywhere, so as
 * root the attempt runs in a child that has become nobody.
 */
static void unwritable_directory_is_eacces(void **state)
{
	char dir[] = "/tmp/uttm-test-file-XXXXXX";

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0555), 0);
	if (geteuid())
		assert_int_equal(create(dir, 0, 0), -EACCES);
	else
		run_in_child(create_as_nobody, dir, NULL);
	assert_dir_empty(dir);
	assert_int_equal(rmdir(dir), 0);
}

/* Backs 64 pages up through @backup, reads them back and drops them. */
static void child_round_trip(struct uttm_backup *backup)
{
	const struct uttm_operation_ctx ctx = { .interruptible = false };
	unsigned long handles[64];
	void *pages[64];
	char *mem;

	CHILD_CHECK(!posix_memalign((void **)&mem, UTTM_PAGE_SIZE,
				    64 * UTTM_PAGE_SIZE));
	for (unsigned long i = 0; i < 64; i++) {
		pages[i] = mem + i * UTTM_PAGE_SIZE;
		fill_page(pages[i], 14, i);
	}
	CHILD_CHECK(uttm_backup_backup_pages(backup, pages, 64, false,
					     handles) == 64);
	memset(mem, 0, 64 * UTTM_PAGE_SIZE);
	CHILD_CHECK(uttm_backup_copy_pages(backup, pages, handles, 64,
					   &ctx) == 64);
	for (unsigned long i = 0; i < 64; i++)
		CHILD_CHECK(page_matches(pages[i], 14, i));
	uttm_backup_drop(backup, handles, 64);
	free(mem);
}

static struct uttm_backup *child_store(const char *dir)
{
	struct uttm_backup_file_params params = { .path = dir };
	struct uttm_backup *backup;

	CHILD_CHECK(!uttm_backup_file_create(&params, &backup));
	return backup;
}

static const char no_ring_here[] =
	"io_uring unavailable here: nothing to fail later";

/* A store in @dir with a ring; the child skips where the kernel refuses one. */
static struct uttm_backup *child_ring_store(const char *dir)
{
	struct uttm_backup *backup = child_store(dir);
	struct uttm_backup_file_stats stats;

	CHILD_CHECK(!uttm_backup_file_stats(backup, &stats));
	if (!stats.io_uring)
		_exit(CHILD_SKIP);
	return backup;
}

/* @backup has no ring, because of @error. */
static void child_check_no_ring(struct uttm_backup *backup, int error)
{
	struct uttm_backup_file_stats stats;

	CHILD_CHECK(!uttm_backup_file_stats(backup, &stats));
	CHILD_CHECK(!stats.io_uring && stats.io_uring_error == error);
}

static int ring_refused_at_setup(void *dir)
{
	struct uttm_backup *backup;

	refuse_syscall(__NR_io_uring_setup, 0, 0, EPERM);
	backup = child_store(dir);
	child_check_no_ring(backup, -EPERM);
	child_round_trip(backup);
	uttm_backup_put(backup);
	return 0;
}

/* As under kernel.io_uring_disabled or a seccomp policy: -EPERM. */
static void refused_ring_gets_the_synchronous_path(void **state)
{
	struct file_env *env = *state;

#ifndef UTTM_HAVE_LIBURING
	skip_because("built without liburing: there is no ring to refuse");
#endif
	run_in_child(ring_refused_at_setup, env->dir, NULL);
}

static int ring_failing_later(void *dir)
{
	struct uttm_backup *backup = child_ring_store(dir);

	child_round_trip(backup);
	refuse_syscall(__NR_io_uring_enter, 0, 0, ENXIO);
	child_round_trip(backup);
	child_check_no_ring(backup, -ENXIO);
	child_round_trip(backup);
	uttm_backup_put(backup);
	return 0;
}

/*
 * The ring stops working after setup: the batch it could not submit is
 * done synchronously, and the ring is dropped for good, saying why.
 */
static void failing_ring_is_dropped_for_the_synchronous_path(void **state)
{
	struct file_env *env = *state;

	run_in_child(ring_failing_later, env->dir, no_ring_here);
}

static int ring_short_of_memory(void *dir)
{
	struct uttm_backup *backup = child_ring_store(dir);

	/* A hang shows as death by SIGALRM. */
	alarm(20);
	/* Every submission refused; waiting alone still allowed. */
	refuse_syscall(__NR_io_uring_enter, 1, UINT32_MAX, EAGAIN);
	child_round_trip(backup);
	child_check_no_ring(backup, -EAGAIN);
	child_round_trip(backup);
	alarm(0);
	uttm_backup_put(backup);
	return 0;
}

/*
 * The kernel keeps refusing submissions for want of memory (-EAGAIN):
 * with nothing in flight the store must not wait for a completion that
 * cannot come; it retries a while, then drops the ring for the
 * synchronous path.
 */
static void ring_refusing_submissions_is_dropped_not_waited_on(void **state)
{
	struct file_env *env = *state;

	run_in_child(ring_short_of_memory, env->dir, no_ring_here);
}

static int ring_wait_failing(void *dir)
{
	struct file_req req = { .count = 1, .slot = 0 };
	struct file_io io;
	void *page;
	int pipe_fds[2];
	pid_t writer;

	CHILD_CHECK(!pipe(pipe_fds));
	uttm_file_io_init(&io, pipe_fds[0], true);
	if (!atomic_load(&io.ring_ready)) {
		uttm_file_io_fini(&io);
		return CHILD_SKIP;
	}
	CHILD_CHECK(!posix_memalign(&page, UTTM_PAGE_SIZE, UTTM_PAGE_SIZE));
	req.pages = &page;
	writer = fork();
	CHILD_CHECK(writer >= 0);
	if (!writer) {
		/* Once the ring's read is in flight and its wait failed. */
		usleep(200 * 1000);
		fill_page(page, 15, 0);
		_exit(write(pipe_fds[1], page, UTTM_PAGE_SIZE) !=
		      UTTM_PAGE_SIZE);
	}
	alarm(20);
	refuse_syscall(__NR_io_uring_enter, 3, IORING_ENTER_GETEVENTS, ENXIO);
	/* Taken by the ring, so read by the ring, and waited for. */
	CHILD_CHECK(uttm_file_io_run(&io, &req, 1, false, false) == 1);
	CHILD_CHECK(page_matches(page, 15, 0));
	CHILD_CHECK(!atomic_load(&io.ring_ready) &&
		    atomic_load(&io.ring_error) == -ENXIO);
	alarm(0);
	CHILD_CHECK(waitpid(writer, NULL, 0) == writer);
	close(pipe_fds[1]);
	uttm_file_io_fini(&io);
	free(page);
	return 0;
}

/*
 * Waiting through the ring fails while a request the kernel took is in
 * flight (a read of an empty pipe, until a writer fills it).  The ring is
 * dropped, but only once that request has ended: it uses the caller's
 * page, and the synchronous path must neither redo it (a pipe cannot be
 * read at an offset: -ESPIPE) nor return while it may still land.
 */
static void failing_ring_waits_for_requests_in_flight(void **state)
{
	struct file_env *env = *state;

	run_in_child(ring_wait_failing, env->dir, no_ring_here);
}

static int sync_failing(void *dir)
{
	struct uttm_backup *backup = child_store(dir);
	struct uttm_backup_file_stats stats;
	unsigned long handles[64];
	void *pages[64];
	char *mem;

	CHILD_CHECK(!posix_memalign((void **)&mem, UTTM_PAGE_SIZE,
				    64 * UTTM_PAGE_SIZE));
	for (unsigned long i = 0; i < 64; i++)
		pages[i] = mem + i * UTTM_PAGE_SIZE;
	refuse_syscall(__NR_fdatasync, 0, 0, EIO);
	CHILD_CHECK(uttm_backup_backup_pages(backup, pages, 64, true,
					     handles) == -EIO);
	CHILD_CHECK(!uttm_backup_file_stats(backup, &stats));
	CHILD_CHECK(uttm_backup_handles(backup) == 0 && !stats.slots_used &&
		    !stats.syncs);
	child_round_trip(backup);
	free(mem);
	uttm_backup_put(backup);
	return 0;
}

/*
 * Writeback whose fdatasync() fails: the data may not be on disk, so
 * nothing of the batch counts as backed up and every slot is free again.
 */
static void failed_sync_backs_nothing_up(void **state)
{
	struct file_env *env = *state;

	run_in_child(sync_failing, env->dir, NULL);
}

static int no_tmpfile(void *dir)
{
	struct uttm_backup *backup;
	char link[PATH_MAX], prefix[PATH_MAX];

	/* O_TMPFILE includes O_DIRECTORY, which opendir() needs. */
	refuse_syscall(__NR_openat, 2, O_TMPFILE & ~O_DIRECTORY, EOPNOTSUPP);
	backup = child_store(dir);
	/* Named by mkostemp(), and already unlinked. */
	file_link_prefix(prefix, sizeof(prefix), dir);
	CHILD_CHECK(fd_by_link(prefix, link, sizeof(link)) >= 0);
	CHILD_CHECK(strstr(link, "/uttm-backup-") &&
		    strstr(link, " (deleted)"));
	child_round_trip(backup);
	uttm_backup_put(backup);
	return 0;
}

/*
 * A file system without O_TMPFILE: the file gets a name for a moment
 * and loses it at once (the teardown finds the directory empty).
 */
static void file_system_without_tmpfile_gets_a_named_file(void **state)
{
	struct file_env *env = *state;

	run_in_child(no_tmpfile, env->dir, NULL);
}

/* Each case once per engine, named after both. */
#define ENGINE_TEST(test, engine)                                       \
	{ #engine ": " #test, test, env_setup, env_teardown,            \
	  (void *)&(engine) }

#define ENGINE_TESTS(engine)                                                  \
	ENGINE_TEST(backup_stops_at_the_cap_then_restores, engine),           \
	ENGINE_TEST(no_file_is_left_behind, engine),                          \
	ENGINE_TEST(order0_pages_go_out_and_come_back_in_runs, engine),       \
	ENGINE_TEST(write_error_midway_keeps_the_vector, engine),             \
	ENGINE_TEST(read_error_keeps_handles_and_restore_resumes, engine),    \
	ENGINE_TEST(writeback_makes_each_batch_durable_once, engine),         \
	ENGINE_TEST(dropped_blocks_stay_until_trimmed, engine),               \
	ENGINE_TEST(signals_stop_only_interruptible_batches, engine),         \
	ENGINE_TEST(full_file_system_stops_backup_then_store_trims, engine),  \
	ENGINE_TEST(file_system_without_direct_io_gets_buffered_io, engine),  \
	ENGINE_TEST(buffered_io_on_request, engine)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ENGINE_TESTS(io_uring_path),
		ENGINE_TESTS(sync_path),
		ENGINE_TEST(handles_dropped_twice_count_once, sync_path),
		ENGINE_TEST(refused_ring_gets_the_synchronous_path,
			    io_uring_path),
		ENGINE_TEST(failing_ring_is_dropped_for_the_synchronous_path,
			    io_uring_path),
		ENGINE_TEST(ring_refusing_submissions_is_dropped_not_waited_on,
			    io_uring_path),
		ENGINE_TEST(failing_ring_waits_for_requests_in_flight,
			    io_uring_path),
		ENGINE_TEST(failed_sync_backs_nothing_up, io_uring_path),
		ENGINE_TEST(directory_in_memory_is_refused, sync_path),
		ENGINE_TEST(default_directory_is_on_disk, sync_path),
		ENGINE_TEST(file_system_without_tmpfile_gets_a_named_file,
			    io_uring_path),
		cmocka_unit_test(bad_input_gets_a_clear_error),
		cmocka_unit_test(unwritable_directory_is_eacces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
