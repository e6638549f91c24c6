// SPDX-License-Identifier: MIT
/*
 * The Redis servers of a test program; see redis_env.h.
 */
#include <stdio.h>
#include <string.h>

#include "helpers.h"
#include "redis_env.h"

static struct redis_server server;
static struct redis_cluster cluster;

const char *redis_env_unavailable(void)
{
	return redis_server_missing();
}

struct redis_server *redis_env_server(void)
{
	if (!server.pid)
		assert_int_equal(redis_server_start(&server, 0, NULL), 0);
	return &server;
}

struct redis_cluster *redis_env_cluster(void)
{
	if (!cluster.nr)
		assert_int_equal(redis_cluster_start(&cluster, 3, 0), 0);
	return &cluster;
}

int redis_env_create(const struct redis_server *s,
		     struct uttm_backup_redis_params *params,
		     struct uttm_backup **out)
{
	char url[64];

	redis_server_url(s, url, sizeof(url));
	params->url = url;
	return uttm_backup_redis_create(params, out);
}

long long redis_env_keys(const struct redis_server *s, const char *prefix)
{
	char cursor[32] = "0";
	long long keys = 0;

	do {
		redisReply *r = redis_server_command(s,
			"SCAN %s MATCH %s* COUNT 1000", cursor, prefix);

		if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
			if (r)
				freeReplyObject(r);
			return -1;
		}
		snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
		keys += (long long)r->element[1]->elements;
		freeReplyObject(r);
	} while (strcmp(cursor, "0"));
	return keys;
}
