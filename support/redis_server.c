// SPDX-License-Identifier: MIT
/*
 * Redis servers and clusters for tests and benchmarks; see
 * redis_server.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/redis_server.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Ports are drawn from here: the cluster bus listens 10000 above. */
#define PORT_FIRST 20000
#define PORT_SPAN 20000
#define START_TRIES 10
#define READY_SECONDS 10.0
#define REDIS_SLOTS_TOTAL 16384u

/*
 * Every server running, so that any way out of the process stops them:
 * atexit() for a return or exit(), a handler for the fatal signals.
 */
static pid_t live[64];
static char base_dir[PATH_MAX];
static bool cleanup_armed;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(unsigned int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static int remove_entry(const char *path, const struct stat *st, int flag,
			struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	if (*dir)
		nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void kill_all(void)
{
	for (size_t i = 0; i < ARRAY_LEN(live); i++) {
		if (!live[i])
			continue;
		kill(live[i], SIGKILL);
		waitpid(live[i], NULL, 0);
		live[i] = 0;
	}
}

static void cleanup_at_exit(void)
{
	kill_all();
	remove_tree(base_dir);
}

/*
 * A test that crashes or times out must not leave servers behind.  Only
 * kill() and waitpid() are async-signal-safe here; the tree is removed
 * too, since the process is going away and nothing else runs in it.
 */
static void cleanup_on_signal(int sig)
{
	cleanup_at_exit();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int arm_cleanup(void)
{
	static const int signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT,
				       SIGABRT, SIGSEGV, SIGBUS, SIGFPE,
				       SIGILL, SIGPIPE };
	const char *tmp = getenv("TMPDIR");

	if (cleanup_armed)
		return 0;
	snprintf(base_dir, sizeof(base_dir), "%s/uttm-redis-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(base_dir)) {
		base_dir[0] = '\0';
		return -errno;
	}
	atexit(cleanup_at_exit);
	for (size_t i = 0; i < ARRAY_LEN(signals); i++)
		signal(signals[i], cleanup_on_signal);
	cleanup_armed = true;
	return 0;
}

static void track(pid_t pid, bool add)
{
	for (size_t i = 0; i < ARRAY_LEN(live); i++) {
		if (add && !live[i]) {
			live[i] = pid;
			return;
		}
		if (!add && live[i] == pid) {
			live[i] = 0;
			return;
		}
	}
}

const char *redis_server_missing(void)
{
	const char *path = getenv("PATH");
	char file[PATH_MAX];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(file, sizeof(file), "%.*s/redis-server", (int)len,
			 path);
		if (!access(file, X_OK))
			return NULL;
		path += len + (path[len] == ':');
	}
	return "redis-server is not installed (Debian package redis-server)";
}

/* Whether nothing listens on TCP @port of the loopback address. */
static bool port_free(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool ok = fd >= 0 && !bind(fd, (struct sockaddr *)&sa, sizeof(sa));

	if (fd >= 0)
		close(fd);
	return ok;
}

static int pick_port(void)
{
	static unsigned int seed;
	int port;

	if (!seed)
		seed = (unsigned int)getpid() ^ (unsigned int)time(NULL);
	do
		port = PORT_FIRST + (int)(rand_r(&seed) % PORT_SPAN);
	while (!port_free(port) || !port_free(port + 10000));
	return port;
}

static void child_exec(const struct redis_server *s, char **argv)
{
	char log[PATH_MAX + 8];
	int fd;

	/* Dies with the thread that started it, even of SIGKILL. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	snprintf(log, sizeof(log), "%s/log", s->dir);
	fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
	if (fd >= 0) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, STDIN_FILENO);
	execvp("redis-server", argv);
	_exit(127);
}

/*
 * Whether the server answers PING (or asks for a password first); waits
 * while it loads its data.
 */
static bool answers(const struct redis_server *s)
{
	redisReply *reply = redis_server_command(s, "PING");
	bool ok = reply && ((reply->type == REDIS_REPLY_STATUS &&
			     !strcmp(reply->str, "PONG")) ||
			    (reply->type == REDIS_REPLY_ERROR &&
			     !strncmp(reply->str, "NOAUTH", 6)));

	if (reply)
		freeReplyObject(reply);
	return ok;
}

/* Starts the process and waits until it answers; -EIO if it exited. */
static int spawn(struct redis_server *s)
{
	char port[16];
	char *argv[48] = { "redis-server", "--port", port, "--bind",
			   "127.0.0.1", "--dir", s->dir, "--save", "",
			   "--daemonize", "no", "--appendonly",
			   s->flags & REDIS_SERVER_AOF ? "yes" : "no",
			   "--appendfsync", "always" };
	size_t argc = 15;
	double deadline;
	int status;

	if (s->flags & REDIS_SERVER_CLUSTER) {
		static char *cluster[] = {
			"--cluster-enabled", "yes", "--cluster-config-file",
			"nodes.conf", "--cluster-node-timeout", "1000",
			"--cluster-require-full-coverage", "no",
		};

		memcpy(argv + argc, cluster, sizeof(cluster));
		argc += ARRAY_LEN(cluster);
	}
	for (size_t i = 0; s->args && s->args[i] && argc + 1 < ARRAY_LEN(argv);
	     i++)
		argv[argc++] = (char *)s->args[i];
	argv[argc] = NULL;
	snprintf(port, sizeof(port), "%d", s->port);
	s->pid = fork();
	if (s->pid < 0) {
		s->pid = 0;
		return -errno;
	}
	if (!s->pid)
		child_exec(s, argv);
	track(s->pid, true);
	for (deadline = now() + READY_SECONDS; now() < deadline;
	     pause_ms(20)) {
		if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
			track(s->pid, false);
			s->pid = 0;
			return -EIO;
		}
		if (answers(s))
			return 0;
	}
	redis_server_kill(s);
	return -ETIMEDOUT;
}

int redis_server_start(struct redis_server *s, unsigned int flags,
		       const char *const *args)
{
	int ret = arm_cleanup();

	memset(s, 0, sizeof(*s));
	s->flags = flags;
	s->args = args;
	for (int tries = 0; !ret && tries < START_TRIES; tries++) {
		s->port = pick_port();
		if (snprintf(s->dir, sizeof(s->dir), "%s/%d", base_dir,
			     s->port) >= (int)sizeof(s->dir))
			return -ENAMETOOLONG;
		if (mkdir(s->dir, 0700))
			return -errno;
		ret = spawn(s);
		if (!ret)
			return 0;
		/* Someone took the port meanwhile: another one. */
		remove_tree(s->dir);
		if (ret == -EIO)
			ret = 0;
	}
	return ret ? ret : -EADDRINUSE;
}

void redis_server_kill(struct redis_server *s)
{
	if (!s->pid)
		return;
	kill(s->pid, SIGKILL);
	waitpid(s->pid, NULL, 0);
	track(s->pid, false);
	s->pid = 0;
}

int redis_server_restart(struct redis_server *s)
{
	redis_server_kill(s);
	return spawn(s);
}

void redis_server_stop(struct redis_server *s)
{
	redis_server_kill(s);
	remove_tree(s->dir);
	s->dir[0] = '\0';
}

void redis_server_url(const struct redis_server *s, char *buf, size_t size)
{
	snprintf(buf, size, "redis://127.0.0.1:%d", s->port);
}

static redisReply *vcommand(const struct redis_server *s, const char *fmt,
			    va_list ap)
{
	const struct timeval tv = { .tv_sec = 2 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	redisReply *reply = NULL;

	if (c && !c->err && !redisSetTimeout(c, (struct timeval){ 10, 0 }))
		reply = redisvCommand(c, fmt, ap);
	if (c)
		redisFree(c);
	return reply;
}

redisReply *redis_server_command(const struct redis_server *s,
				 const char *fmt, ...)
{
	redisReply *reply;
	va_list ap;

	va_start(ap, fmt);
	reply = vcommand(s, fmt, ap);
	va_end(ap);
	return reply;
}

long long redis_server_integer(const struct redis_server *s,
			       const char *fmt, ...)
{
	redisReply *reply;
	long long value = -1;
	va_list ap;

	va_start(ap, fmt);
	reply = vcommand(s, fmt, ap);
	va_end(ap);
	if (reply && reply->type == REDIS_REPLY_INTEGER)
		value = reply->integer;
	if (reply)
		freeReplyObject(reply);
	return value;
}

/* Whether @fmt's reply is a status or string reply (no error). */
static bool command_ok(const struct redis_server *s, const char *fmt, ...)
{
	redisReply *reply;
	bool ok;
	va_list ap;

	va_start(ap, fmt);
	reply = vcommand(s, fmt, ap);
	va_end(ap);
	ok = reply && reply->type != REDIS_REPLY_ERROR;
	if (reply)
		freeReplyObject(reply);
	return ok;
}

/* The node's cluster ID into @id (41 bytes). */
static bool node_id(const struct redis_server *s, char *id)
{
	redisReply *reply = redis_server_command(s, "CLUSTER MYID");
	bool ok = reply && reply->type == REDIS_REPLY_STRING &&
		  reply->len == 40;

	if (ok)
		memcpy(id, reply->str, 41);
	if (reply)
		freeReplyObject(reply);
	return ok;
}

/* Whether every node of @c sees @want nodes. */
static bool all_met(const struct redis_cluster *c, unsigned int want)
{
	for (unsigned int i = 0; i < c->nr; i++) {
		redisReply *reply = redis_server_command(&c->nodes[i],
							 "CLUSTER NODES");
		unsigned int lines = 0;

		for (const char *p = reply && reply->type == REDIS_REPLY_STRING ?
				     reply->str : "";
		     (p = strchr(p, '\n')); p++)
			lines++;
		if (reply)
			freeReplyObject(reply);
		if (lines != want)
			return false;
	}
	return true;
}

/* Whether @port is that of a node of @c that is running. */
static bool port_running(const struct redis_cluster *c, long long port)
{
	for (unsigned int i = 0; i < c->nr; i++)
		if (c->nodes[i].pid && c->nodes[i].port == port)
			return true;
	return false;
}

/*
 * Whether @s says cluster_state:ok and gives every slot to a master of
 * @c that is running: after a failover, the promoted replica.
 */
static bool node_ok(const struct redis_cluster *c, const struct redis_server *s)
{
	redisReply *info = redis_server_command(s, "CLUSTER INFO");
	bool ok = info && info->type == REDIS_REPLY_STRING &&
		  strstr(info->str, "cluster_state:ok");
	redisReply *slots;
	long long covered = 0;

	if (info)
		freeReplyObject(info);
	if (!ok)
		return false;
	slots = redis_server_command(s, "CLUSTER SLOTS");
	for (size_t i = 0; slots && slots->type == REDIS_REPLY_ARRAY &&
			   i < slots->elements; i++) {
		const redisReply *e = slots->element[i];

		if (e->elements >= 3 && e->element[2]->elements >= 2 &&
		    port_running(c, e->element[2]->element[1]->integer))
			covered += e->element[1]->integer -
				   e->element[0]->integer + 1;
	}
	if (slots)
		freeReplyObject(slots);
	return covered == REDIS_SLOTS_TOTAL;
}

int redis_cluster_wait(const struct redis_cluster *c, double seconds)
{
	for (double deadline = now() + seconds; now() < deadline;
	     pause_ms(50)) {
		bool ok = true;

		for (unsigned int i = 0; i < c->nr && ok; i++)
			if (c->nodes[i].pid)
				ok = node_ok(c, &c->nodes[i]);
		if (ok)
			return 0;
	}
	return -ETIMEDOUT;
}

/* Slots, MEET, replicas: the cluster of servers already running. */
static int join(struct redis_cluster *c)
{
	char ids[REDIS_CLUSTER_MAX_NODES][41];
	double deadline;

	for (unsigned int i = 0; i < c->nr; i++)
		if (!node_id(&c->nodes[i], ids[i]))
			return -EIO;
	for (unsigned int m = 0; m < c->masters; m++) {
		unsigned int first = m * REDIS_SLOTS_TOTAL / c->masters;
		unsigned int last = (m + 1) * REDIS_SLOTS_TOTAL / c->masters - 1;

		if (!command_ok(&c->nodes[m], "CLUSTER ADDSLOTSRANGE %u %u",
				first, last) ||
		    !command_ok(&c->nodes[m], "CLUSTER SET-CONFIG-EPOCH %u",
				m + 1))
			return -EIO;
	}
	for (unsigned int i = 1; i < c->nr; i++)
		if (!command_ok(&c->nodes[i], "CLUSTER MEET 127.0.0.1 %d",
				c->nodes[0].port))
			return -EIO;
	for (deadline = now() + READY_SECONDS; !all_met(c, c->nr);
	     pause_ms(50))
		if (now() > deadline)
			return -ETIMEDOUT;
	for (unsigned int i = c->masters; i < c->nr; i++)
		if (!command_ok(&c->nodes[i], "CLUSTER REPLICATE %s",
				ids[(i - c->masters) % c->masters]))
			return -EIO;
	return redis_cluster_wait(c, READY_SECONDS);
}

int redis_cluster_start(struct redis_cluster *c, unsigned int masters,
			unsigned int replicas)
{
	int ret = 0;

	memset(c, 0, sizeof(*c));
	if (!masters || masters * (1 + replicas) > REDIS_CLUSTER_MAX_NODES)
		return -EINVAL;
	c->masters = masters;
	for (unsigned int i = 0; i < masters * (1 + replicas) && !ret; i++) {
		ret = redis_server_start(&c->nodes[i], REDIS_SERVER_CLUSTER,
					 NULL);
		if (!ret)
			c->nr++;
	}
	if (!ret)
		ret = join(c);
	if (ret)
		redis_cluster_stop(c);
	return ret;
}

void redis_cluster_stop(struct redis_cluster *c)
{
	for (unsigned int i = 0; i < c->nr; i++)
		redis_server_stop(&c->nodes[i]);
	c->nr = 0;
}
