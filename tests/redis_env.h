/* SPDX-License-Identifier: MIT */
/*
 * The Redis servers a test program runs against: one standalone server
 * and one 3-master cluster, each started at its first use and stopped
 * when the program ends, however it ends (support/redis_server.h).
 */
#ifndef UTTM_TEST_REDIS_ENV_H
#define UTTM_TEST_REDIS_ENV_H

#include <uttm/backup.h>

#include "support/redis_server.h"

/* NULL when Redis tests can run here, else why they cannot. */
const char *redis_env_unavailable(void);

/* The program's standalone server and cluster; they fail the test if
 * they cannot be started. */
struct redis_server *redis_env_server(void);
struct redis_cluster *redis_env_cluster(void);

/*
 * A store on @s (the first node of a cluster for one) with @params, its
 * URL filled in; returns as uttm_backup_redis_create().
 */
int redis_env_create(const struct redis_server *s,
		     struct uttm_backup_redis_params *params,
		     struct uttm_backup **out);

/* Keys of @s whose names start with @prefix. */
long long redis_env_keys(const struct redis_server *s, const char *prefix);

#endif /* UTTM_TEST_REDIS_ENV_H */
