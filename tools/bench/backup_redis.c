// SPDX-License-Identifier: MIT
/*
 * The Redis part of `uttm bench backup`: a vector backed up into the
 * Redis store and restored, next to raw pipelined SETs and GETs of the
 * same pages with hiredis, in batches of the same size (1024 pages for a
 * backup, 256 for a restore, as uttm_tt_backup() and a restore hand the
 * store), to the same server, in the same round.  The raw GETs copy each
 * page into the vector's page it came from, as a restore copies it into
 * a pooled page: the same bytes delivered to memory in use.  The store
 * deletes the keys of restored pages as well; the raw DELs are not
 * timed.
 *
 * With --redis URL the part measures that server (standalone or
 * cluster).  Without, it starts its own on loopback, a standalone server
 * and a cluster of three masters, measures both and compares them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bench/backup.h"
#include "support/redis_server.h"

#define RAW_SET_BATCH 1024ul
#define RAW_GET_BATCH 256ul
#define MAX_MASTERS REDIS_CLUSTER_MAX_NODES

/**
 * struct redis_round - one round against one server, rates in GB/s
 * @backup: uttm_tt_backup() of the vector into the Redis store.
 * @restore: uttm_tt_populate() of it into pooled pages.
 * @raw_set: pipelined SETs of the same pages with hiredis.
 * @raw_get: pipelined GETs of them.
 * @bytes_per_page: what the servers' used_memory grew by per page backed
 * up.
 * @backup_ratio: @backup / @raw_set.
 * @restore_ratio: @restore / @raw_get.
 */
struct redis_round {
	double backup;
	double restore;
	double raw_set;
	double raw_get;
	double bytes_per_page;
	double backup_ratio;
	double restore_ratio;
};

/**
 * struct raw_node - a master, for the raw side
 * @c: a connection of its own.
 * @tag: a hash tag whose slot this master owns, so that raw keys land
 * here without a slot map.
 */
struct raw_node {
	redisContext *c;
	char tag[16];
};

struct raw_client {
	struct raw_node nodes[MAX_MASTERS];
	unsigned int nr;
};

static redisContext *raw_connect(const char *host, int port,
				 const char *password)
{
	redisContext *c = redisConnect(host, port);
	redisReply *r;

	if (!c || c->err) {
		if (c)
			redisFree(c);
		return NULL;
	}
	if (password) {
		r = redisCommand(c, "AUTH %s", password);
		if (r)
			freeReplyObject(r);
	}
	return c;
}

/* The master of each range of CLUSTER SLOTS, and a hash tag for each. */
static int raw_cluster(struct raw_client *raw, redisContext *seed,
		       const char *password)
{
	redisReply *slots = redisCommand(seed, "CLUSTER SLOTS");
	int ret = slots && slots->type == REDIS_REPLY_ARRAY ? 0 : -EIO;

	for (size_t i = 0; !ret && i < slots->elements && raw->nr < MAX_MASTERS;
	     i++) {
		redisReply *e = slots->element[i];
		struct raw_node *node = &raw->nodes[raw->nr];

		node->c = raw_connect(e->element[2]->element[0]->str,
				      (int)e->element[2]->element[1]->integer,
				      password);
		if (!node->c) {
			ret = -EIO;
			break;
		}
		for (unsigned int t = 0; !node->tag[0] && t < 100000; t++) {
			char tag[16];
			redisReply *r;

			snprintf(tag, sizeof(tag), "%u", t);
			r = redisCommand(seed, "CLUSTER KEYSLOT %s", tag);
			if (r && r->integer >= e->element[0]->integer &&
			    r->integer <= e->element[1]->integer)
				snprintf(node->tag, sizeof(node->tag), "%s",
					 tag);
			if (r)
				freeReplyObject(r);
		}
		raw->nr++;
	}
	if (slots)
		freeReplyObject(slots);
	return ret;
}

static void raw_close(struct raw_client *raw)
{
	for (unsigned int i = 0; i < raw->nr; i++)
		redisFree(raw->nodes[i].c);
	raw->nr = 0;
}

/*
 * Where the reply to the @k-th command that node @n had queued goes: the
 * page it names when there is a @tt (GETs from page @first on), or
 * nowhere.
 */
static void *reply_page(const struct raw_client *raw, const struct uttm_tt *tt,
			unsigned long first, unsigned int n, unsigned long k)
{
	unsigned long skip = (n + raw->nr - first % raw->nr) % raw->nr;

	return tt ? uttm_tt_page_address(tt, first + skip + k * raw->nr) : NULL;
}

/*
 * Sends what each node has queued, then reads @per_node[n] replies of
 * each, GETs of the pages of @tt from @first on into them.
 */
static int raw_round_trip(struct raw_client *raw, const unsigned long *per_node,
			  const struct uttm_tt *tt, unsigned long first)
{
	for (unsigned int n = 0; n < raw->nr; n++) {
		int done = 0;

		while (!done)
			if (redisBufferWrite(raw->nodes[n].c, &done))
				return -EIO;
	}
	for (unsigned int n = 0; n < raw->nr; n++) {
		for (unsigned long i = 0; i < per_node[n]; i++) {
			void *page = reply_page(raw, tt, first, n, i);
			redisReply *reply;
			bool ok;

			if (redisGetReply(raw->nodes[n].c, (void **)&reply))
				return -EIO;
			ok = page ? reply->type == REDIS_REPLY_STRING &&
				    reply->len == UTTM_PAGE_SIZE :
				    reply->type != REDIS_REPLY_ERROR;
			if (ok && page)
				memcpy(page, reply->str, UTTM_PAGE_SIZE);
			freeReplyObject(reply);
			if (!ok)
				return -EIO;
		}
	}
	return 0;
}

/*
 * Queues @cmd on the key of page @i, a SET of @page when there is one;
 * page @i goes to node i % raw->nr.
 */
static int raw_append(struct raw_client *raw, const char *cmd,
		      unsigned long i, const void *page, unsigned long *per_node)
{
	struct raw_node *node = &raw->nodes[i % raw->nr];
	char key[48];
	const char *argv[3] = { cmd, key, page };
	size_t len[3] = { strlen(cmd), 0, UTTM_PAGE_SIZE };

	len[1] = (size_t)snprintf(key, sizeof(key), "uttm-bench-raw:{%s}:%lu",
				  node->tag, i);
	per_node[i % raw->nr]++;
	return redisAppendCommandArgv(node->c, page ? 3 : 2, argv, len) ?
	       -ENOMEM : 0;
}

/*
 * @cmd on every page of @tt, @batch pages a round trip: a SET sends the
 * page, a GET brings it back into place.  Seconds, or < 0.
 */
static double raw_pass(struct raw_client *raw, const struct uttm_tt *tt,
		       const char *cmd, unsigned long batch)
{
	bool set = !strcmp(cmd, "SET"), get = !strcmp(cmd, "GET");
	double t = now_seconds();

	for (unsigned long first = 0; first < tt->num_pages; first += batch) {
		unsigned long per_node[MAX_MASTERS] = { 0 };
		unsigned long end = MIN_UL(first + batch, tt->num_pages);

		for (unsigned long i = first; i < end; i++)
			if (raw_append(raw, cmd, i, set ?
				       uttm_tt_page_address(tt, i) : NULL,
				       per_node))
				return -1;
		if (raw_round_trip(raw, per_node, get ? tt : NULL, first))
			return -1;
	}
	return now_seconds() - t;
}

/* The raw reference on @tt's pages: SET, GET, and DEL to leave nothing. */
static int raw_cycle(struct raw_client *raw, const struct uttm_tt *tt,
		     struct redis_round *r)
{
	uint64_t bytes = tt->num_pages * UTTM_PAGE_SIZE;
	double set = raw_pass(raw, tt, "SET", RAW_SET_BATCH);
	double get = set < 0 ? -1 : raw_pass(raw, tt, "GET", RAW_GET_BATCH);

	if (raw_pass(raw, tt, "DEL", RAW_SET_BATCH) < 0 || get < 0 ||
	    bench_check_tt(tt))
		return -EIO;
	r->raw_set = gbps(bytes, set);
	r->raw_get = gbps(bytes, get);
	return 0;
}

/* Bytes of data the masters of @raw hold (used_memory). */
static double used_memory(struct raw_client *raw)
{
	double used = 0;

	for (unsigned int n = 0; n < raw->nr; n++) {
		redisReply *r = redisCommand(raw->nodes[n].c, "INFO memory");
		const char *v = r && r->type == REDIS_REPLY_STRING ?
				strstr(r->str, "used_memory:") : NULL;

		if (v)
			used += strtod(v + strlen("used_memory:"), NULL);
		if (r)
			freeReplyObject(r);
	}
	return used;
}

/**
 * struct redis_target - a server the part measures
 * @url: its address, "redis://HOST:PORT".
 * @host: the host.
 * @port: the port.
 * @keys: the JSON keys of its figures (struct target_keys).
 */
struct redis_target {
	char url[300];
	char host[256];
	int port;
	const struct target_keys *keys;
};

struct target_keys {
	const char *section;
	const char *backup, *restore, *raw_set, *raw_get;
	const char *backup_ratio, *restore_ratio, *bytes_per_page;
};

static const struct target_keys standalone_keys = {
	"Redis store, standalone server",
	"redis_backup_gbps", "redis_restore_gbps",
	"redis_raw_pipeline_set_gbps", "redis_raw_pipeline_get_gbps",
	"redis_backup_vs_raw_pipeline", "redis_restore_vs_raw_pipeline",
	"redis_server_bytes_per_page",
};

static const struct target_keys cluster_keys = {
	"Redis store, cluster",
	"redis_cluster_backup_gbps", "redis_cluster_restore_gbps",
	"redis_cluster_raw_pipeline_set_gbps",
	"redis_cluster_raw_pipeline_get_gbps",
	"redis_cluster_backup_vs_raw_pipeline",
	"redis_cluster_restore_vs_raw_pipeline",
	"redis_cluster_server_bytes_per_page",
};

/* The raw side's connections to @t: its masters, with a tag each. */
static int raw_open(struct raw_client *raw, const struct redis_target *t,
		    const char *password, bool cluster)
{
	redisContext *seed = raw_connect(t->host, t->port, password);
	int ret;

	memset(raw, 0, sizeof(*raw));
	if (!seed)
		return -ECONNREFUSED;
	if (!cluster) {
		raw->nodes[0].c = seed;
		snprintf(raw->nodes[0].tag, sizeof(raw->nodes[0].tag), "0");
		raw->nr = 1;
		return 0;
	}
	ret = raw_cluster(raw, seed, password);
	redisFree(seed);
	if (ret)
		raw_close(raw);
	return ret;
}

static int redis_round(struct backup_bench *bench, struct uttm_backup *store,
		       struct raw_client *raw, struct redis_round *r)
{
	struct uttm_backup_redis_stats st;
	struct uttm_tt tt;
	double used;
	int ret;

	ret = bench_filled_tt(bench, &tt, store, bench->bytes);
	/* The last round's deletions go out first, not during the backup. */
	if (!ret)
		ret = uttm_backup_redis_stats(store, &st);
	if (ret)
		return ret;
	used = used_memory(raw);
	ret = bench_timed_backup(&tt, false, &r->backup);
	r->bytes_per_page = (used_memory(raw) - used) / (double)tt.num_pages;
	if (!ret)
		ret = bench_fill_pool(bench);
	if (!ret)
		ret = bench_timed_restore(&tt, &r->restore);
	if (!ret)
		ret = bench_check_tt(&tt);
	if (!ret)
		ret = raw_cycle(raw, &tt, r);
	uttm_tt_fini(&tt);
	uttm_pool_trim(&bench->pool, 0);
	r->backup_ratio = r->backup / r->raw_set;
	r->restore_ratio = r->restore / r->raw_get;
	return ret;
}

static void redis_report(const struct redis_round *rounds, unsigned int n,
			 const struct target_keys *k, struct figures *set)
{
	figures_section(set, k->section);
	figures_add(set, k->backup, "backup", "GB/s",
		    MEDIAN_OF(rounds, n, backup));
	figures_add(set, k->restore, "restore into pooled pages", "GB/s",
		    MEDIAN_OF(rounds, n, restore));
	figures_add(set, k->raw_set, "raw pipelined SET, hiredis", "GB/s",
		    MEDIAN_OF(rounds, n, raw_set));
	figures_add(set, k->raw_get, "raw pipelined GET, hiredis", "GB/s",
		    MEDIAN_OF(rounds, n, raw_get));
	figures_add(set, k->backup_ratio, "backup / raw SET (per round)", "x",
		    MEDIAN_OF(rounds, n, backup_ratio));
	figures_add(set, k->restore_ratio, "restore / raw GET (per round)",
		    "x", MEDIAN_OF(rounds, n, restore_ratio));
	figures_add(set, k->bytes_per_page, "server memory per page", "B",
		    MEDIAN_OF(rounds, n, bytes_per_page));
}

/*
 * Measures @t, standalone or cluster as it says, for the rounds; its
 * median backup rate in @backup_gbps.
 */
static int measure(struct backup_bench *bench, struct redis_target *t,
		   struct figures *set, double *backup_gbps)
{
	struct uttm_backup_redis_params params = {
		.url = t->url, .password = bench->redis_password,
	};
	struct redis_round *rounds = calloc(bench->rounds, sizeof(*rounds));
	struct uttm_backup_redis_stats st;
	struct uttm_backup *store = NULL;
	struct raw_client raw = { .nr = 0 };
	int ret = rounds ? uttm_backup_redis_create(&params, &store) : -ENOMEM;

	if (!ret)
		ret = uttm_backup_redis_stats(store, &st);
	if (!ret)
		ret = raw_open(&raw, t, bench->redis_password, st.cluster);
	t->keys = !ret && st.cluster ? &cluster_keys : &standalone_keys;
	for (unsigned int i = 0; i < bench->rounds && !ret; i++)
		ret = redis_round(bench, store, &raw, &rounds[i]);
	if (!ret) {
		redis_report(rounds, bench->rounds, t->keys, set);
		*backup_gbps = MEDIAN_OF(rounds, bench->rounds, backup);
	}
	raw_close(&raw);
	uttm_backup_put(store);
	free(rounds);
	return ret;
}

/* "[redis://]HOST:PORT" into @t; the password comes on its own. */
static int target_from_url(struct redis_target *t, const char *url)
{
	const char *hostport = strncmp(url, "redis://", 8) ? url : url + 8;
	const char *colon = strrchr(hostport, ':');

	if (strchr(hostport, '@') || !colon ||
	    (size_t)(colon - hostport) >= sizeof(t->host))
		return -EINVAL;
	memcpy(t->host, hostport, (size_t)(colon - hostport));
	t->host[colon - hostport] = '\0';
	t->port = atoi(colon + 1);
	snprintf(t->url, sizeof(t->url), "redis://%s:%d", t->host, t->port);
	return t->port > 0 ? 0 : -EINVAL;
}

static void target_of(struct redis_target *t, const struct redis_server *s)
{
	target_from_url(t, "127.0.0.1:0");
	t->port = s->port;
	snprintf(t->url, sizeof(t->url), "redis://127.0.0.1:%d", s->port);
}

/* A standalone server and a 3-master cluster of our own, side by side. */
static int measure_own_servers(struct backup_bench *bench, struct figures *set)
{
	struct redis_target standalone, cluster;
	double alone_gbps = 0, cluster_gbps = 0;
	struct redis_server server;
	struct redis_cluster c;
	int ret = redis_server_start(&server, 0, NULL);

	if (ret)
		return ret;
	target_of(&standalone, &server);
	ret = measure(bench, &standalone, set, &alone_gbps);
	redis_server_stop(&server);
	if (ret)
		return ret;
	ret = redis_cluster_start(&c, 3, 0);
	if (ret)
		return ret;
	target_of(&cluster, &c.nodes[0]);
	ret = measure(bench, &cluster, set, &cluster_gbps);
	redis_cluster_stop(&c);
	if (ret)
		return ret;
	figures_section(set, "Redis: cluster of 3 masters against one server");
	figures_add(set, "redis_cluster_backup_vs_standalone",
		    "cluster backup / standalone backup", "x",
		    cluster_gbps / alone_gbps);
	return 0;
}

int bench_backup_redis(struct backup_bench *bench, struct figures *set)
{
	struct redis_target t;
	double unused;
	const char *why;

	if (bench->redis_url) {
		if (target_from_url(&t, bench->redis_url)) {
			fprintf(stderr, "uttm bench backup: --redis takes "
				"[redis://]HOST:PORT, the password apart\n");
			return -EINVAL;
		}
		return measure(bench, &t, set, &unused);
	}
	why = redis_server_missing();
	if (!why)
		return measure_own_servers(bench, set);
	fprintf(stderr, "uttm bench backup: no Redis figures: %s\n", why);
	return bench->only_store ? -ENOENT : 0;
}
