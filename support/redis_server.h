/* SPDX-License-Identifier: MIT */
/*
 * Redis servers and clusters started for a test or a benchmark: each on
 * a free loopback port, in its own directory under a temporary one, with
 * no persistence unless asked, and stopped on every way out of the
 * process (return, exit, a fatal signal; the kernel kills them when the
 * process dies of SIGKILL).  Needs redis-server on the PATH.
 */
#ifndef UTTM_REDIS_SERVER_H
#define UTTM_REDIS_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/* Run in cluster mode (node timeout 1 s, serving without full coverage). */
#define REDIS_SERVER_CLUSTER (1u << 0)
/* Keep an append-only file, synced on every write, across restarts. */
#define REDIS_SERVER_AOF (1u << 1)

/**
 * struct redis_server - one redis-server process
 * @pid: its process, or 0 when it is not running.
 * @port: its loopback port, kept across restarts.
 * @flags: REDIS_SERVER_*.
 * @dir: its directory.
 * @args: extra arguments it was started with, NULL-terminated.
 */
struct redis_server {
	pid_t pid;
	int port;
	unsigned int flags;
	char dir[PATH_MAX];
	const char *const *args;
};

/* NULL when redis-server can be run here, else why not. */
const char *redis_server_missing(void);

/*
 * Starts a server with @flags and the extra redis-server arguments @args
 * (NULL, or NULL-terminated; they must stay valid for restarts), and
 * waits until it answers.  Returns 0 or a negative errno.
 */
int redis_server_start(struct redis_server *s, unsigned int flags,
		       const char *const *args);

/* Kills the server at once (SIGKILL) and reaps it; its directory stays. */
void redis_server_kill(struct redis_server *s);

/* Starts a killed server again, on its port, in its directory. */
int redis_server_restart(struct redis_server *s);

/* Kills the server and removes its directory. */
void redis_server_stop(struct redis_server *s);

/* "redis://127.0.0.1:PORT" into @buf. */
void redis_server_url(const struct redis_server *s, char *buf, size_t size);

/*
 * Runs one command (printf-like, as hiredis's redisCommand()) on a fresh
 * connection to @s.  Returns the reply, to free with freeReplyObject(),
 * or NULL when the server cannot be reached.
 */
redisReply *redis_server_command(const struct redis_server *s,
				 const char *fmt, ...);

/* The integer reply of a command, or -1. */
long long redis_server_integer(const struct redis_server *s,
			       const char *fmt, ...);

/* Most nodes a cluster started here may have. */
#define REDIS_CLUSTER_MAX_NODES 8

/**
 * struct redis_cluster - a Redis Cluster of servers started here
 * @nr: nodes; the first @masters are masters, the others replicas, one
 * after the other for master 0, 1, ...
 * @masters: masters, each with an even share of the slots.
 * @nodes: the servers.
 */
struct redis_cluster {
	unsigned int nr;
	unsigned int masters;
	struct redis_server nodes[REDIS_CLUSTER_MAX_NODES];
};

/*
 * Starts @masters masters with @replicas replicas each, joins them into
 * one cluster and waits until every node sees it whole.  Returns 0 or a
 * negative errno, with nothing left running on failure.
 */
int redis_cluster_start(struct redis_cluster *c, unsigned int masters,
			unsigned int replicas);

/*
 * Waits up to @seconds until every node still running says
 * cluster_state:ok and gives every slot to a running master (after a
 * failover: the promoted replica).  0 or -ETIMEDOUT.
 */
int redis_cluster_wait(const struct redis_cluster *c, double seconds);

/* Stops every node and removes their directories. */
void redis_cluster_stop(struct redis_cluster *c);

#endif /* UTTM_REDIS_SERVER_H */
