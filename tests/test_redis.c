// SPDX-License-Identifier: MIT
/*
 * The Redis store against real servers started here: URLs, logins and
 * ACLs, the eviction policy, keys and batches, a server out of memory, a
 * connection cut in the middle of a batch either way, restarts with and
 * without persistence, a key gone behind the store's back, a cluster's
 * spread, MOVED and ASK during a slot migration, a failover, and a node
 * killed in the middle of a run.  The backup suite runs against Redis
 * too (backup-redis, backup-redis-cluster).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "redis_env.h"
#include "store/internal.h"
#include "stores.h"

#define VECTOR_PAGES 1024ul
#define VECTOR_BYTES (VECTOR_PAGES * UTTM_PAGE_SIZE)

static struct uttm_backup *store_on(const struct redis_server *s)
{
	struct uttm_backup_redis_params params = { .url = NULL };
	struct uttm_backup *backup;

	assert_int_equal(redis_env_create(s, &params, &backup), 0);
	return backup;
}

static struct uttm_backup_redis_stats stats_of(struct uttm_backup *backup)
{
	struct uttm_backup_redis_stats st;

	assert_int_equal(uttm_backup_redis_stats(backup, &st), 0);
	return st;
}

/* A vector of @bytes on @backup, filled from @seed and backed up whole. */
static void backed_up(struct fixture *fx, struct uttm_tt *tt, uint64_t bytes,
		      struct uttm_backup *backup, uint64_t seed)
{
	tt_new_backed(tt, &fx->pool, bytes, UTTM_PLAIN, backup, seed);
	assert_int_equal(uttm_tt_backup(tt, &backup_flags), tt->num_pages);
}

/* Every key of the store is gone once it is freed. */
static void put_leaves_no_key(struct uttm_backup *backup,
			      const struct redis_server *s)
{
	struct uttm_backup_redis_stats st = stats_of(backup);

	uttm_backup_put(backup);
	assert_int_equal(redis_env_keys(s, st.key_prefix), 0);
}

static int config_set(const struct redis_server *s, const char *name,
		      const char *value)
{
	redisReply *r = redis_server_command(s, "CONFIG SET %s %s", name,
					     value);
	int ret = r && r->type == REDIS_REPLY_STATUS ? 0 : -EIO;

	if (r)
		freeReplyObject(r);
	return ret;
}

/*
 * A TCP proxy in front of a server that cuts a connection once it has
 * carried a given number of bytes in one direction, and then closes
 * every new one at once until the test heals it: a connection lost in
 * the middle of a batch, at a byte the test chooses, and a server out of
 * reach after that.
 */
struct proxy {
	int listen_fd;
	int port;
	int target;
	int wake[2];
	atomic_long cut_up;	/* bytes to the server before the cut; <0: never */
	atomic_long cut_down;	/* bytes to the client */
	atomic_bool down;	/* after a cut: connections close at once */
	atomic_long moved_down;	/* bytes to the client on this connection */
	atomic_bool close_late;	/* cut_down closes once the client writes */
	atomic_int connections;
	pthread_t thread;
};

static int proxy_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Moves what @from has to @to, at most up to @limit bytes in all (<0: no
 * limit); false once the connection should end.
 */
static bool forward(int from, int to, long *moved, long limit)
{
	char buf[65536];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n <= 0)
		return false;
	if (limit >= 0 && *moved + n > limit)
		n = limit - *moved;
	if (n > 0 && send(to, buf, (size_t)n, MSG_NOSIGNAL) != n)
		return false;
	*moved += n;
	return limit < 0 || *moved < limit;
}

static void proxy_serve(struct proxy *p, int client)
{
	int server = proxy_connect(p->target);
	long up = 0, down = 0;
	bool open = server >= 0, late = false;

	atomic_fetch_add(&p->connections, 1);
	open = open && !atomic_load(&p->down);
	while (open) {
		struct pollfd fds[3] = { { client, POLLIN, 0 },
					 { late ? -1 : server, POLLIN, 0 },
					 { p->wake[0], POLLIN, 0 } };

		if (poll(fds, 3, -1) < 0 || fds[2].revents)
			break;
		if (fds[0].revents)
			open = !late && forward(client, server, &up,
						atomic_load(&p->cut_up));
		if (open && fds[1].revents) {
			open = forward(server, client, &down,
				       atomic_load(&p->cut_down));
			/* A write the client makes after the cut succeeds. */
			late = !open && atomic_load(&p->close_late);
			open = open || late;
		}
		atomic_store(&p->moved_down, down);
		if (!open && (up == atomic_load(&p->cut_up) ||
			      down == atomic_load(&p->cut_down)))
			atomic_store(&p->down, true);
	}
	if (server >= 0)
		close(server);
	close(client);
}

static void *proxy_main(void *arg)
{
	struct proxy *p = arg;

	for (;;) {
		struct pollfd fds[2] = { { p->listen_fd, POLLIN, 0 },
					 { p->wake[0], POLLIN, 0 } };
		int client;

		if (poll(fds, 2, -1) < 0 || fds[1].revents)
			return NULL;
		client = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (client >= 0)
			proxy_serve(p, client);
	}
}

/* Starts @p in front of port @target, listening on @port (0: any). */
static void proxy_start_on(struct proxy *p, int target, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1;

	p->target = target;
	atomic_init(&p->cut_up, -1);
	atomic_init(&p->cut_down, -1);
	atomic_init(&p->down, false);
	atomic_init(&p->moved_down, 0);
	atomic_init(&p->close_late, false);
	atomic_init(&p->connections, 0);
	p->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->listen_fd >= 0);
	assert_int_equal(setsockopt(p->listen_fd, SOL_SOCKET, SO_REUSEADDR,
				    &one, sizeof(one)), 0);
	assert_int_equal(bind(p->listen_fd, (struct sockaddr *)&sa,
			      sizeof(sa)), 0);
	assert_int_equal(listen(p->listen_fd, 8), 0);
	assert_int_equal(getsockname(p->listen_fd, (struct sockaddr *)&sa,
				     &len), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(pipe2(p->wake, O_CLOEXEC), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, proxy_main, p), 0);
}

static void proxy_start(struct proxy *p, int target)
{
	proxy_start_on(p, target, 0);
}

static void proxy_stop(struct proxy *p)
{
	assert_int_equal(write(p->wake[1], "x", 1), 1);
	pthread_join(p->thread, NULL);
	close(p->wake[0]);
	close(p->wake[1]);
	close(p->listen_fd);
}

static void proxy_heal(struct proxy *p)
{
	atomic_store(&p->cut_up, -1);
	atomic_store(&p->cut_down, -1);
	atomic_store(&p->close_late, false);
	atomic_store(&p->down, false);
}

static struct uttm_backup *store_through(const struct proxy *p)
{
	struct uttm_backup_redis_params params = { .timeout_ms = 2000 };
	struct uttm_backup *backup;
	char url[64];

	snprintf(url, sizeof(url), "127.0.0.1:%d", p->port);
	params.url = url;
	assert_int_equal(uttm_backup_redis_create(&params, &backup), 0);
	return backup;
}

static void create_refuses_bad_parameters(void **state)
{
	static const char *const bad_urls[] = {
		"redis://", "redis://host:0", "redis://host:65536",
		"redis://[::1", "redis://host:12x", "redis://host/0",
	};
	struct uttm_backup_redis_params params = { .url = NULL };
	struct redis_server gone;
	struct uttm_backup *backup;
	char url[64];

	for (size_t i = 0; i < ARRAY_SIZE(bad_urls); i++) {
		params.url = bad_urls[i];
		assert_int_equal(uttm_backup_redis_create(&params, &backup),
				 -EINVAL);
	}
	params.key_prefix = "app:{tag}:";
	assert_int_equal(redis_env_create(redis_env_server(), &params, &backup),
			 -EINVAL);
	params.key_prefix = "a-prefix-longer-than-sixty-four-bytes-is-refused-"
			    "as-it-would-bloat-keys";
	assert_int_equal(redis_env_create(redis_env_server(), &params, &backup),
			 -EINVAL);
	params.key_prefix = NULL;
	assert_int_equal(redis_server_start(&gone, 0, NULL), 0);
	redis_server_url(&gone, url, sizeof(url));
	redis_server_stop(&gone);
	params.url = url;
	assert_int_equal(uttm_backup_redis_create(&params, &backup),
			 -ECONNREFUSED);
}

static void password_from_parameter_url_or_environment(void **state)
{
	static const char *const args[] = { "--requirepass", "s3cret", NULL };
	struct uttm_backup_redis_params params = { .url = NULL };
	struct redis_server s;
	struct uttm_backup *backup;
	char url[96];

	assert_int_equal(redis_server_start(&s, 0, args), 0);
	assert_int_equal(redis_env_create(&s, &params, &backup), -EACCES);
	params.password = "wrong";
	assert_int_equal(redis_env_create(&s, &params, &backup), -EACCES);
	params.password = "s3cret";
	assert_int_equal(redis_env_create(&s, &params, &backup), 0);
	uttm_backup_put(backup);

	params.password = NULL;
	snprintf(url, sizeof(url), "redis://:s3cret@127.0.0.1:%d", s.port);
	params.url = url;
	assert_int_equal(uttm_backup_redis_create(&params, &backup), 0);
	uttm_backup_put(backup);

	setenv("UTTM_REDIS_PASSWORD", "s3cret", 1);
	assert_int_equal(redis_env_create(&s, &params, &backup), 0);
	unsetenv("UTTM_REDIS_PASSWORD");
	uttm_backup_put(backup);
	redis_server_stop(&s);
}

/* The ACL of docs/stores.md: a user that sees only its own prefix. */
static void acl_user_limited_to_its_prefix_backs_up(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup_redis_params params = { .key_prefix = "app:" };
	struct uttm_backup *backup;
	struct uttm_tt tt;
	redisReply *r;
	char url[96];

	r = redis_server_command(s, "ACL SETUSER pages on >pw resetkeys "
				 "~app:* -@all +get +set +del +scan +info "
				 "+ping +wait +asking +cluster|slots");
	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
	snprintf(url, sizeof(url), "redis://pages:pw@127.0.0.1:%d", s->port);
	params.url = url;
	assert_int_equal(uttm_backup_redis_create(&params, &backup), 0);
	backed_up(fx, &tt, 64 * UTTM_PAGE_SIZE, backup, 3);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 3);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);

	/* Keys outside its prefix are not the user's to write. */
	params.key_prefix = "other:";
	assert_int_equal(uttm_backup_redis_create(&params, &backup), 0);
	tt_new_backed(&tt, &fx->pool, 8 * UTTM_PAGE_SIZE, UTTM_PLAIN, backup,
		      4);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EACCES);
	assert_tt_matches(&tt, 4);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
	freeReplyObject(redis_server_command(s, "ACL DELUSER pages"));
}

static void server_that_may_evict_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup *backup;
	struct uttm_tt tt;

	assert_int_equal(config_set(s, "maxmemory-policy", "allkeys-lru"), 0);
	{
		struct uttm_backup_redis_params params = { .url = NULL };

		assert_int_equal(redis_env_create(s, &params, &backup),
				 -EMEDIUMTYPE);
	}
	assert_int_equal(config_set(s, "maxmemory-policy", "noeviction"), 0);
	backup = store_on(s);
	assert_true(uttm_backup_bytes_avail(backup) > VECTOR_BYTES);
	/* Turned into a cache later: no more room, nothing backed up. */
	assert_int_equal(config_set(s, "maxmemory-policy", "volatile-lru"), 0);
	usleep(150 * 1000);
	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	tt_new_backed(&tt, &fx->pool, 8 * UTTM_PAGE_SIZE, UTTM_PLAIN, backup,
		      5);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EBUSY);
	assert_int_equal(config_set(s, "maxmemory-policy", "noeviction"), 0);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

static void pages_are_prefixed_keys_in_one_batch_deleted_on_drop(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup *backup = store_on(s), *other = store_on(s);
	struct uttm_backup_redis_stats st = stats_of(backup);
	struct uttm_tt tt;

	assert_false(st.cluster);
	assert_int_equal(st.masters, 1);
	assert_string_not_equal(st.key_prefix, stats_of(other).key_prefix);
	assert_int_equal(strncmp(st.key_prefix, "uttm:", 5), 0);
	uttm_backup_put(other);

	backed_up(fx, &tt, VECTOR_BYTES, backup, 6);
	assert_int_equal(redis_env_keys(s, st.key_prefix), VECTOR_PAGES);
	/* One round trip for the whole vector. */
	assert_int_equal(stats_of(backup).batches, st.batches + 1);
	assert_int_equal(stats_of(backup).pages, VECTOR_PAGES);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 6);
	/* Restores go by runs of 256 handles: four GETs and four DELs. */
	assert_int_equal(stats_of(backup).batches, st.batches + 9);
	assert_int_equal(stats_of(backup).pages, 0);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, s);
}

static void server_out_of_memory_stops_the_backup_at_a_prefix(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup *backup = store_on(s);
	redisReply *info = redis_server_command(s, "INFO memory");
	char limit[32];
	struct uttm_tt tt;
	long n;

	assert_non_null(info);
	snprintf(limit, sizeof(limit), "%llu",
		 strtoull(strstr(info->str, "used_memory:") + 12, NULL, 10) +
			 (1 << 20));
	freeReplyObject(info);
	assert_int_equal(config_set(s, "maxmemory", limit), 0);
	tt_new_backed(&tt, &fx->pool, VECTOR_BYTES, UTTM_PLAIN, backup, 7);
	n = uttm_tt_backup(&tt, &backup_flags);
	assert_int_equal(config_set(s, "maxmemory", "0"), 0);
	assert_true(n > 0 && n < (long)VECTOR_PAGES);
	assert_int_equal(count_handles(&tt), n);
	assert_int_equal(uttm_backup_handles(backup), n);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 7);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, s);
}

static void connection_cut_mid_backup_keeps_every_page(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct proxy p;
	struct uttm_backup *backup;
	struct uttm_tt tt;
	long n;

	proxy_start(&p, s->port);
	backup = store_through(&p);
	/* A hundred pages into the batch. */
	atomic_store(&p.cut_up, 100 * UTTM_PAGE_SIZE);
	tt_new_backed(&tt, &fx->pool, VECTOR_BYTES, UTTM_PLAIN, backup, 8);
	n = uttm_tt_backup(&tt, &backup_flags);
	assert_true(n == -EIO || (n >= 0 && n < 100));
	/* The store tried again on a new connection before giving up. */
	assert_true(atomic_load(&p.connections) >= 2);
	assert_int_equal(uttm_backup_handles(backup), n > 0 ? n : 0);
	proxy_heal(&p);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 8);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, s);
	proxy_stop(&p);
}

static void connection_cut_mid_restore_keeps_handles_and_resumes(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct proxy p;
	struct uttm_backup *backup;
	struct uttm_tt tt;

	proxy_start(&p, s->port);
	backup = store_through(&p);
	backed_up(fx, &tt, VECTOR_BYTES, backup, 9);
	atomic_store(&p.cut_down, 50 * UTTM_PAGE_SIZE);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	assert_true(uttm_tt_is_backed_up(&tt));
	/* What came through before the cut is restored, the rest kept. */
	assert_in_range(uttm_backup_handles(backup), VECTOR_PAGES - 50,
			VECTOR_PAGES);
	proxy_heal(&p);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 9);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, s);
	proxy_stop(&p);
}

/**
 * struct proxied - a store behind a proxy, with a vector backed up there
 * @p: the proxy, in front of the shared server @s.
 * @s: the server.
 * @backup: the store.
 * @st: its counters before the backup.
 * @tt: the vector.
 */
struct proxied {
	struct proxy p;
	struct redis_server *s;
	struct uttm_backup *backup;
	struct uttm_backup_redis_stats st;
	struct uttm_tt tt;
};

/* Sets @x up with a vector of @pages backed up from @seed. */
static void proxied_backed_up(struct fixture *fx, struct proxied *x,
			      unsigned long pages, uint64_t seed)
{
	x->s = redis_env_server();
	proxy_start(&x->p, x->s->port);
	x->backup = store_through(&x->p);
	x->st = stats_of(x->backup);
	backed_up(fx, &x->tt, pages * UTTM_PAGE_SIZE, x->backup, seed);
}

/*
 * Every drop has settled: no page counted, no key left, before the store
 * is freed; then the proxy stops.
 */
static void proxied_put_settled(struct proxied *x)
{
	assert_int_equal(stats_of(x->backup).pages, 0);
	assert_int_equal(redis_env_keys(x->s, x->st.key_prefix), 0);
	uttm_backup_put(x->backup);
	proxy_stop(&x->p);
}

/*
 * A drop's DELs wait to go out with the store's next call; when the
 * connection is lost before then, the drop goes again.
 */
static void drop_lost_with_its_connection_deletes_again(void **state)
{
	struct proxied x;
	redisReply *r;

	proxied_backed_up(*state, &x, 64, 20);
	uttm_tt_fini(&x.tt);
	assert_int_equal(redis_env_keys(x.s, x.st.key_prefix), 64);
	/* The server closes the store's connection, DELs still queued. */
	r = redis_server_command(x.s, "CLIENT KILL TYPE normal");
	assert_non_null(r);
	freeReplyObject(r);
	assert_int_equal(stats_of(x.backup).reconnects, 1);
	proxied_put_settled(&x);
}

/*
 * A restore's batch reads the replies owed to the last drop before its
 * own: a connection lost there takes the batch along, which fails, and
 * the next try restores the rest and deletes the drop's keys again.
 */
static void connection_cut_before_a_drop_is_answered_resumes(void **state)
{
	struct proxied x;

	proxied_backed_up(*state, &x, 512, 21);
	/* The cut falls after the first run of 256 pages ("$4096\r\n...\r\n"). */
	atomic_store(&x.p.cut_down, atomic_load(&x.p.moved_down) +
				    256 * (UTTM_PAGE_SIZE + 9));
	/* The next batch goes out, and its first read finds the cut. */
	atomic_store(&x.p.close_late, true);
	assert_int_equal(uttm_tt_populate(&x.tt, &test_ctx), -EIO);
	assert_int_equal(uttm_backup_handles(x.backup), 256);
	proxy_heal(&x.p);
	assert_int_equal(uttm_tt_populate(&x.tt, &test_ctx), 0);
	assert_tt_matches(&x.tt, 21);
	uttm_tt_fini(&x.tt);
	proxied_put_settled(&x);
}

/* A drop that cannot reach its server goes again once it can. */
static void drop_while_out_of_reach_deletes_once_back(void **state)
{
	struct proxied x;

	proxied_backed_up(*state, &x, 64, 22);
	/* A restore cut at its first page leaves the server out of reach. */
	atomic_store(&x.p.cut_down, atomic_load(&x.p.moved_down) + 1);
	assert_int_equal(uttm_tt_populate(&x.tt, &test_ctx), -EIO);
	/* Nothing listens there while the vector's keys are dropped. */
	proxy_stop(&x.p);
	uttm_tt_fini(&x.tt);
	assert_int_equal(uttm_backup_handles(x.backup), 0);
	assert_int_equal(redis_env_keys(x.s, x.st.key_prefix), 64);
	proxy_start_on(&x.p, x.s->port, x.p.port);
	proxied_put_settled(&x);
}

static void restart_without_persistence_fails_restore_with_eio(void **state)
{
	struct fixture *fx = *state;
	struct redis_server s;
	struct uttm_backup *backup;
	struct uttm_tt tt, later;

	assert_int_equal(redis_server_start(&s, 0, NULL), 0);
	backup = store_on(&s);
	backed_up(fx, &tt, 64 * UTTM_PAGE_SIZE, backup, 10);
	assert_int_equal(redis_server_restart(&s), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	assert_int_equal(uttm_backup_handles(backup), 64);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(backup), 0);
	/* The restarted server takes new pages. */
	backed_up(fx, &later, 64 * UTTM_PAGE_SIZE, backup, 11);
	assert_int_equal(uttm_tt_populate(&later, &test_ctx), 0);
	assert_tt_matches(&later, 11);
	uttm_tt_fini(&later);
	assert_true(stats_of(backup).reconnects >= 1);
	put_leaves_no_key(backup, &s);
	redis_server_stop(&s);
}

static void restart_with_persistence_restores_after_reconnecting(void **state)
{
	struct fixture *fx = *state;
	struct redis_server s;
	struct uttm_backup *backup;
	struct uttm_tt tt;

	assert_int_equal(redis_server_start(&s, REDIS_SERVER_AOF, NULL), 0);
	backup = store_on(&s);
	backed_up(fx, &tt, VECTOR_BYTES, backup, 12);
	assert_int_equal(redis_server_restart(&s), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 12);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, &s);
	redis_server_stop(&s);
}

static unsigned long handle_at(const struct uttm_tt *tt, unsigned long i)
{
	return uttm_backup_page_ptr_to_handle(tt->pages[i]);
}

static void missing_key_fails_restore_and_keeps_other_handles(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup *backup = store_on(s);
	struct uttm_tt tt;
	char key[160];

	backed_up(fx, &tt, 64 * UTTM_PAGE_SIZE, backup, 13);
	uttm_redis_page_key(stats_of(backup).key_prefix, handle_at(&tt, 10),
			    key, sizeof(key));
	assert_int_equal(redis_server_integer(s, "DEL %s", key), 1);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	/* The ten pages before it are back; no other handle went. */
	assert_int_equal(uttm_backup_handles(backup), 54);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(arena_pages_allocated(fx->arena),
			 uttm_pool_shrink_count(&fx->pool));
	put_leaves_no_key(backup, s);
}

/* Calls of @cmd that the masters of @c have run (INFO commandstats). */
static long long command_calls(const struct redis_cluster *c, const char *cmd)
{
	char field[64];
	long long calls = 0;

	snprintf(field, sizeof(field), "cmdstat_%s:calls=", cmd);
	for (unsigned int m = 0; m < c->masters; m++) {
		redisReply *r = redis_server_command(&c->nodes[m],
						     "INFO commandstats");
		const char *at;

		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_STRING);
		at = strstr(r->str, field);
		if (at)
			calls += strtoll(at + strlen(field), NULL, 10);
		freeReplyObject(r);
	}
	return calls;
}

/* Runs a command on @s whose reply is OK. */
static void command_ok(const struct redis_server *s, const char *cmd,
		       const char *key, const char *arg)
{
	redisReply *reply = redis_server_command(s, "%s %s %s", cmd, key, arg);

	assert_non_null(reply);
	assert_int_equal(reply->type, REDIS_REPLY_STATUS);
	assert_string_equal(reply->str, "OK");
	freeReplyObject(reply);
}

/*
 * Restores read the replies of a run of GETs straight into their pages;
 * one that is not a page (here a short string) in the middle of a run
 * fails its page, and the replies after it are still read in step, on
 * the same connection: once the page is put back, the rest of the vector
 * restores right.
 */
static void short_value_fails_its_page_and_the_rest_restores(void **state)
{
	struct fixture *fx = *state;
	struct redis_server *s = redis_env_server();
	struct uttm_backup *backup = store_on(s);
	char key[160], aside[176];
	struct uttm_tt tt;

	backed_up(fx, &tt, 64 * UTTM_PAGE_SIZE, backup, 17);
	uttm_redis_page_key(stats_of(backup).key_prefix, handle_at(&tt, 10),
			    key, sizeof(key));
	snprintf(aside, sizeof(aside), "%s-aside", key);
	command_ok(s, "RENAME", key, aside);
	command_ok(s, "SET", key, "short");
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), -EIO);
	assert_int_equal(uttm_backup_handles(backup), 54);
	command_ok(s, "RENAME", aside, key);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 17);
	assert_int_equal(uttm_backup_handles(backup), 0);
	/* In step all along: the connection never had to be opened again. */
	assert_int_equal(stats_of(backup).reconnects, 0);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, s);
}

/* Which master of a cluster started here owns @slot (even shares). */
static unsigned int slot_master(const struct redis_cluster *c,
				unsigned int slot)
{
	return slot * c->masters / REDIS_SLOTS;
}

static unsigned int handle_master(const struct redis_cluster *c,
				  const char *prefix, unsigned long handle)
{
	char key[160];
	int len = uttm_redis_page_key(prefix, handle, key, sizeof(key));

	return slot_master(c, uttm_redis_key_slot(key, (size_t)len));
}

static void cluster_spreads_a_vector_over_every_master(void **state)
{
	struct fixture *fx = *state;
	struct redis_cluster *c = redis_env_cluster();
	struct uttm_backup *backup = store_on(&c->nodes[0]);
	struct uttm_backup_redis_stats st = stats_of(backup);
	struct uttm_tt tt;

	assert_true(st.cluster);
	assert_int_equal(st.masters, 3);
	backed_up(fx, &tt, VECTOR_BYTES, backup, 14);
	/* One round trip per master, all three at once. */
	assert_int_equal(stats_of(backup).batches, st.batches + 3);
	for (unsigned int m = 0; m < 3; m++) {
		long long keys = redis_env_keys(&c->nodes[m], st.key_prefix);

		assert_true(keys > (long long)VECTOR_PAGES / 5);
		assert_true(keys < (long long)VECTOR_PAGES / 2);
	}
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 14);
	uttm_tt_fini(&tt);
	/* The last drop's DELs go out with the store's next call. */
	assert_int_equal(stats_of(backup).pages, 0);
	for (unsigned int m = 0; m < 3; m++)
		assert_int_equal(redis_env_keys(&c->nodes[m], st.key_prefix),
				 0);
	uttm_backup_put(backup);
}

/*
 * The keys of a group of handles share a slot, the groups of a store
 * take every slot once before any twice, and Redis hashes the keys where
 * the store routes them.
 */
static void group_keys_share_a_slot_and_groups_cover_every_slot(void **state)
{
	static bool taken[REDIS_SLOTS];
	const struct redis_server *node = &redis_env_cluster()->nodes[0];
	const char *prefix = "uttm:0123456789abcdef:";
	char key[160];

	(void)state;
	for (unsigned long g = 0; g < REDIS_SLOTS; g++) {
		unsigned long first = uttm_backup_index_to_handle(
			g * REDIS_GROUP_PAGES);
		int len = uttm_redis_page_key(prefix, first, key, sizeof(key));
		unsigned int slot = uttm_redis_key_slot(key, (size_t)len);

		assert_false(taken[slot]);
		taken[slot] = true;
		len = uttm_redis_page_key(prefix, first + REDIS_GROUP_PAGES - 1,
					  key, sizeof(key));
		assert_int_equal(uttm_redis_key_slot(key, (size_t)len), slot);
		if (g % 1024 == 0)
			assert_int_equal(redis_server_integer(node,
				"CLUSTER KEYSLOT %s", key), slot);
	}
}

/* The keys of a group of handles share a slot: one DEL deletes them. */
static void cluster_deletes_a_group_of_handles_with_one_del(void **state)
{
	struct fixture *fx = *state;
	struct redis_cluster *c = redis_env_cluster();
	struct uttm_backup *backup = store_on(&c->nodes[0]);
	struct uttm_backup_redis_stats st = stats_of(backup);
	struct uttm_tt tt;
	long long dels;

	backed_up(fx, &tt, VECTOR_BYTES, backup, 19);
	dels = command_calls(c, "del");
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 19);
	assert_int_equal(stats_of(backup).pages, 0);
	assert_int_equal(command_calls(c, "del") - dels,
			 VECTOR_PAGES / REDIS_GROUP_PAGES);
	uttm_tt_fini(&tt);
	put_leaves_no_key(backup, &c->nodes[0]);
	for (unsigned int m = 1; m < c->masters; m++)
		assert_int_equal(redis_env_keys(&c->nodes[m], st.key_prefix),
				 0);
}

static void node_id(const struct redis_server *s, char *id)
{
	redisReply *r = redis_server_command(s, "CLUSTER MYID");

	assert_non_null(r);
	assert_int_equal(r->len, 40);
	memcpy(id, r->str, 41);
	freeReplyObject(r);
}

/* Moves every key of @slot from master @from to master @to. */
static void migrate_keys(const struct redis_cluster *c, unsigned int slot,
			 unsigned int from, unsigned int to)
{
	redisReply *keys = redis_server_command(&c->nodes[from],
		"CLUSTER GETKEYSINSLOT %u 10000", slot);

	assert_non_null(keys);
	for (size_t i = 0; i < keys->elements; i++) {
		redisReply *r = redis_server_command(&c->nodes[from],
			"MIGRATE 127.0.0.1 %d %s 0 5000", c->nodes[to].port,
			keys->element[i]->str);

		assert_non_null(r);
		assert_int_equal(r->type, REDIS_REPLY_STATUS);
		freeReplyObject(r);
	}
	freeReplyObject(keys);
}

static void set_slot(const struct redis_server *s, unsigned int slot,
		     const char *how, const char *id)
{
	redisReply *r = redis_server_command(s, "CLUSTER SETSLOT %u %s %s",
					     slot, how, id);

	assert_non_null(r);
	assert_int_equal(r->type, REDIS_REPLY_STATUS);
	freeReplyObject(r);
}

/* The slot and master of the key of @tt's first page. */
static unsigned int first_slot(const struct uttm_tt *tt, const char *prefix)
{
	char key[160];
	int len = uttm_redis_page_key(prefix, handle_at(tt, 0), key,
				      sizeof(key));

	return uttm_redis_key_slot(key, (size_t)len);
}

/* Gives @slot to master @to on every master. */
static void assign_slot(const struct redis_cluster *c, unsigned int slot,
			unsigned int to)
{
	char id[41];

	node_id(&c->nodes[to], id);
	for (unsigned int m = 0; m < c->masters; m++)
		set_slot(&c->nodes[m], slot, "NODE", id);
}

/* Starts moving @slot from its master to the next, and moves its keys. */
static unsigned int start_migration(const struct redis_cluster *c,
				    unsigned int slot)
{
	unsigned int from = slot_master(c, slot), to = (from + 1) % c->masters;
	char src_id[41], dst_id[41];

	node_id(&c->nodes[from], src_id);
	node_id(&c->nodes[to], dst_id);
	set_slot(&c->nodes[to], slot, "IMPORTING", src_id);
	set_slot(&c->nodes[from], slot, "MIGRATING", dst_id);
	migrate_keys(c, slot, from, to);
	return to;
}

static void cluster_follows_ask_and_moved_while_a_slot_moves(void **state)
{
	struct fixture *fx = *state;
	struct redis_cluster *c = redis_env_cluster();
	struct uttm_backup *backup = store_on(&c->nodes[0]);
	struct uttm_backup_redis_stats st = stats_of(backup);
	unsigned int asked, moved;
	struct uttm_tt tt, second;

	backed_up(fx, &tt, 64 * UTTM_PAGE_SIZE, backup, 15);
	backed_up(fx, &second, 64 * UTTM_PAGE_SIZE, backup, 16);
	asked = first_slot(&tt, st.key_prefix);
	moved = first_slot(&second, st.key_prefix);
	assert_int_not_equal(asked, moved);

	/* Halfway: the key is on the importing node, reached by ASK. */
	start_migration(c, asked);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 15);
	assert_true(stats_of(backup).redirections > st.redirections);
	assign_slot(c, asked, slot_master(c, asked));

	/* Done: the slot is the new node's, and MOVED says so. */
	assign_slot(c, moved, start_migration(c, moved));
	st = stats_of(backup);
	assert_int_equal(uttm_tt_populate(&second, &test_ctx), 0);
	assert_tt_matches(&second, 16);
	assert_true(stats_of(backup).redirections > st.redirections);
	assert_true(stats_of(backup).map_refreshes > st.map_refreshes);
	/* Back where it was, for the tests after this one. */
	assign_slot(c, moved, slot_master(c, moved));
	uttm_tt_fini(&tt);
	uttm_tt_fini(&second);
	put_leaves_no_key(backup, &c->nodes[0]);
	for (unsigned int m = 1; m < c->masters; m++)
		assert_int_equal(redis_env_keys(&c->nodes[m], st.key_prefix), 0);
}

static void failover_to_a_replica_loses_nothing(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup_redis_params params = { .replicas = 1 };
	struct redis_cluster c;
	struct uttm_backup *backup;
	struct uttm_tt tt;

	assert_int_equal(redis_cluster_start(&c, 3, 1), 0);
	assert_int_equal(redis_env_create(&c.nodes[3], &params, &backup), 0);
	backed_up(fx, &tt, VECTOR_BYTES, backup, 17);
	redis_server_kill(&c.nodes[0]);
	assert_int_equal(redis_cluster_wait(&c, 20), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 17);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
	redis_cluster_stop(&c);
}

/*
 * The compressed store over a Redis store on @s, filled past its cap of
 * 64 pages: the coldest pages move down to the server, and a restore
 * finds each page in whichever tier holds it.
 */
static void compressed_tier_on(struct fixture *fx, const struct redis_server *s,
			       uint64_t seed)
{
	struct uttm_backup_compressed_params params = {
		.cap = 64 * UTTM_PAGE_SIZE,
		.lower = store_on(s),
	};
	struct uttm_backup_compressed_stats cs;
	struct uttm_backup *tier;
	struct uttm_tt tt;

	assert_int_equal(uttm_backup_compressed_create(&params, &tier), 0);
	backed_up(fx, &tt, VECTOR_BYTES, tier, seed);
	assert_int_equal(uttm_backup_compressed_stats(tier, &cs), 0);
	assert_int_equal(cs.pages, VECTOR_PAGES);
	assert_true(cs.lower_pages > 0 && cs.lower_pages < VECTOR_PAGES);
	assert_int_equal(stats_of(params.lower).pages, cs.lower_pages);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, seed);
	assert_int_equal(uttm_backup_compressed_stats(tier, &cs), 0);
	assert_int_equal(cs.pages, 0);
	assert_int_equal(stats_of(params.lower).pages, 0);
	uttm_tt_fini(&tt);
	uttm_backup_put(tier);
	put_leaves_no_key(params.lower, s);
}

static void compressed_store_over_redis_restores_from_both_tiers(void **state)
{
	compressed_tier_on(*state, redis_env_server(), 31);
	compressed_tier_on(*state, &redis_env_cluster()->nodes[0], 32);
}

#define RUN_OBJECTS 24

/* Whether a handle of @tt lives on master @dead. */
static bool has_handle_on(const struct uttm_tt *tt,
			  const struct redis_cluster *c, const char *prefix,
			  unsigned int dead)
{
	for (unsigned long i = 0; i < tt->num_pages; i++)
		if (uttm_backup_page_ptr_is_handle(tt->pages[i]) &&
		    handle_master(c, prefix, handle_at(tt, i)) == dead)
			return true;
	return false;
}

static void killed_node_loses_no_byte_and_survivors_restore(void **state)
{
	struct fixture *fx = *state;
	struct redis_cluster c;
	struct uttm_backup *backup;
	struct uttm_tt tts[RUN_OBJECTS];
	unsigned int restored = 0, lost = 0;
	char prefix[96];

	assert_int_equal(redis_cluster_start(&c, 3, 0), 0);
	backup = store_on(&c.nodes[0]);
	snprintf(prefix, sizeof(prefix), "%s", stats_of(backup).key_prefix);
	for (unsigned int i = 0; i < RUN_OBJECTS; i++) {
		/*
		 * Most objects of one group of handles, whose keys share a
		 * slot and so live on a single node.
		 */
		uint64_t bytes = (i % 4 ? 1 : 3) * REDIS_GROUP_PAGES *
				 UTTM_PAGE_SIZE;

		if (i == RUN_OBJECTS / 2)
			redis_server_kill(&c.nodes[2]);
		tt_new_backed(&tts[i], &fx->pool, bytes, UTTM_PLAIN, backup,
			      100 + i);
		uttm_tt_backup(&tts[i], &backup_flags);
	}
	for (unsigned int i = 0; i < RUN_OBJECTS; i++) {
		bool on_dead = has_handle_on(&tts[i], &c, prefix, 2);
		int ret = uttm_tt_populate(&tts[i], &test_ctx);

		if (on_dead) {
			assert_int_equal(ret, -EIO);
			lost++;
		} else {
			assert_int_equal(ret, 0);
			assert_tt_matches(&tts[i], 100 + i);
			restored++;
		}
		uttm_tt_fini(&tts[i]);
	}
	assert_true(restored > RUN_OBJECTS / 2 && lost > 0);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_backup_put(backup);
	redis_cluster_stop(&c);
}

int main(void)
{
	const char *why = redis_env_unavailable();
	const struct CMUnitTest tests[] = {
		fixture_test(create_refuses_bad_parameters),
		fixture_test(password_from_parameter_url_or_environment),
		fixture_test(acl_user_limited_to_its_prefix_backs_up),
		fixture_test(server_that_may_evict_is_refused),
		fixture_test(pages_are_prefixed_keys_in_one_batch_deleted_on_drop),
		fixture_test(server_out_of_memory_stops_the_backup_at_a_prefix),
		fixture_test(connection_cut_mid_backup_keeps_every_page),
		fixture_test(connection_cut_mid_restore_keeps_handles_and_resumes),
		fixture_test(drop_lost_with_its_connection_deletes_again),
		fixture_test(connection_cut_before_a_drop_is_answered_resumes),
		fixture_test(drop_while_out_of_reach_deletes_once_back),
		fixture_test(restart_without_persistence_fails_restore_with_eio),
		fixture_test(restart_with_persistence_restores_after_reconnecting),
		fixture_test(missing_key_fails_restore_and_keeps_other_handles),
		fixture_test(short_value_fails_its_page_and_the_rest_restores),
		fixture_test(cluster_spreads_a_vector_over_every_master),
		fixture_test(group_keys_share_a_slot_and_groups_cover_every_slot),
		fixture_test(cluster_deletes_a_group_of_handles_with_one_del),
		fixture_test(cluster_follows_ask_and_moved_while_a_slot_moves),
		fixture_test(failover_to_a_replica_loses_nothing),
		fixture_test(killed_node_loses_no_byte_and_survivors_restore),
		fixture_test(compressed_store_over_redis_restores_from_both_tiers),
	};

	if (why) {
		printf("SKIP: %s\n", why);
		return TEST_SKIP;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
