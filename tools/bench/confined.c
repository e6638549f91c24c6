// SPDX-License-Identifier: MIT
/*
 * Benchmarks that confine processes to memory cgroups; see confined.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/confined.h"
#include "support/swapfile.h"
#include "uttm.h"

/* One lock for every confining benchmark of every uttm on the machine. */
#define MACHINE_LOCK "/run/lock/uttm-bench.lock"

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	interrupted = sig;
}

int confined_interrupted(void)
{
	return interrupted;
}

void confined_remove(const struct cgroup *cg)
{
	int ret = cgroup_remove(cg);

	if (ret)
		fprintf(stderr, "uttm bench: could not remove %s: %s\n",
			cg->path, strerror(-ret));
}

static void unlock_machine(struct confined *env)
{
	if (env->lock_fd >= 0)
		close(env->lock_fd);
	env->lock_fd = -1;
}

/*
 * Takes the lock every confining benchmark holds while it runs, waiting
 * for it if another has it; a machine where it cannot be had (no
 * /run/lock, no file locks) runs unlocked.  Returns 0, or -EINTR when a
 * signal asked to stop the wait.
 */
static int lock_machine(struct confined *env)
{
	env->lock_fd = open(MACHINE_LOCK, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (env->lock_fd < 0 || !flock(env->lock_fd, LOCK_EX | LOCK_NB) ||
	    errno != EWOULDBLOCK)
		return 0;
	fprintf(stderr, "%s: waiting for another uttm benchmark that changes "
		"swap to end (%s)\n", env->tool, MACHINE_LOCK);
	while (flock(env->lock_fd, LOCK_EX) && errno == EINTR) {
		if (interrupted) {
			unlock_machine(env);
			return -EINTR;
		}
	}
	return 0;
}

/* Leaves what the benchmark changed as it found it. */
static void put_back(struct confined *env)
{
	int ret = env->zswap_off ? zswap_restore(&env->zswap) : 0;

	if (ret)
		fprintf(stderr, "%s: could not put zswap back: %s\n",
			env->tool, strerror(-ret));
	env->zswap_off = false;
	unlock_machine(env);
}

int confined_prepare(struct confined *env, const char *tool, const char *tag,
		     uint64_t swap_bytes)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct cgroup probe;
	char name[64];
	int ret;

	env->tool = tool;
	env->lock_fd = -1;
	env->zswap_off = false;
	env->companion = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	if (geteuid()) {
		fprintf(stderr, "%s: needs root, to create a swap file and "
			"memory cgroups\n", tool);
		return EXIT_NOT_ROOT;
	}
	/* Named after the process, so that a concurrent run cannot clash. */
	snprintf(name, sizeof(name), "uttm-%s-probe-%d", tag, getpid());
	ret = cgroup_create(&probe, name, 64ULL << 20);
	if (ret) {
		fprintf(stderr, "%s: cannot create a memory cgroup: %s\n",
			tool, strerror(-ret));
		return EXIT_NO_CGROUP;
	}
	confined_remove(&probe);
	if (lock_machine(env))
		return 128 + interrupted;
	/* Without zswap there is nothing to switch off. */
	env->zswap_off = !zswap_disable(&env->zswap);
	env->swap_path[0] = '\0';
	if (!swap_bytes)
		return 0;
	snprintf(env->swap_path, sizeof(env->swap_path), "%s/uttm-%s-swap-%d",
		 tool_tmpdir(), tag, getpid());
	ret = swapfile_create(env->swap_path, swap_bytes);
	if (ret) {
		fprintf(stderr, "%s: cannot enable a swap file at %s: %s\n",
			tool, env->swap_path, strerror(-ret));
		put_back(env);
		return EXIT_NO_SWAP;
	}
	return 0;
}

void confined_finish(struct confined *env)
{
	if (env->swap_path[0] && swapfile_remove(env->swap_path))
		fprintf(stderr, "%s: could not remove %s\n", env->tool,
			env->swap_path);
	env->swap_path[0] = '\0';
	put_back(env);
}

/* Forks; the child, with the default signal actions, enters @cg. */
static pid_t fork_into(const struct cgroup *cg)
{
	pid_t pid = fork();

	if (pid)
		return pid;
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	if (cgroup_enter(cg))
		_exit(126);
	return 0;
}

/* Starts a child in @cg that runs @fn. */
static pid_t child_call(const struct cgroup *cg, companion_fn fn)
{
	pid_t pid = fork_into(cg);

	if (!pid)
		_exit(fn((void *)cg));
	return pid;
}

/* Starts a child in @cg that execs @argv with its output to @fd. */
static pid_t child_exec(const struct cgroup *cg, char **argv, int fd)
{
	pid_t pid = fork_into(cg);

	if (pid)
		return pid;
	if (dup2(fd, STDOUT_FILENO) < 0)
		_exit(126);
	execv("/proc/self/exe", argv);
	_exit(127);
}

/* Reads @fd to its end into @out; a signal makes @pid go. */
static void read_all(int fd, pid_t pid, char *out, size_t size)
{
	size_t got = 0;

	while (got + 1 < size) {
		ssize_t n = read(fd, out + got, size - 1 - got);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || errno != EINTR)
			break;
		else if (interrupted)
			kill(pid, SIGKILL);
	}
	out[got] = '\0';
}

int confined_run(struct confined *env, const char *name, uint64_t limit,
		 char **argv, char *out, size_t size, companion_fn companion,
		 struct cgroup *cg, int *status)
{
	int fds[2], ret;
	pid_t child;

	ret = cgroup_create(cg, name, limit);
	if (ret)
		return ret;
	/* Before the pipe: its end would keep the output open. */
	if (companion)
		env->companion = child_call(cg, companion);
	if (pipe(fds)) {
		ret = -errno;
		confined_stop_companion(env);
		confined_remove(cg);
		return ret;
	}
	child = child_exec(cg, argv, fds[1]);
	close(fds[1]);
	if (child > 0)
		read_all(fds[0], child, out, size);
	close(fds[0]);
	while (child > 0 && waitpid(child, status, 0) < 0 && errno == EINTR)
		;
	if (child < 0) {
		confined_stop_companion(env);
		confined_remove(cg);
		return -EAGAIN;
	}
	return 0;
}

int confined_stop_companion(struct confined *env)
{
	int status = 0;

	if (env->companion <= 0)
		return 0;
	kill(env->companion, SIGTERM);
	while (waitpid(env->companion, &status, 0) < 0 && errno == EINTR)
		;
	env->companion = 0;
	return status;
}
