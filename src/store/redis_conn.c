// SPDX-License-Identifier: MIT
/*
 * One Redis server and the Redis store's connection to it: the URL that
 * names it, connecting and logging in, writing without SIGPIPE, and the
 * INFO figures the store needs.  The store's own commands are pipelined in redis.c.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "base/base.h"
#include "internal.h"

#define REDIS_DEFAULT_PORT 6379

/* Copies @len bytes of @s into a new string; NULL when memory is short. */
static char *dup_part(const char *s, size_t len)
{
	char *p = malloc(len + 1);

	if (p) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

/* "USER[:PASSWORD]" or ":PASSWORD" of @len bytes, into @login. */
static int parse_userinfo(const char *s, size_t len, struct redis_login *login)
{
	const char *colon = memchr(s, ':', len);
	size_t user_len = colon ? (size_t)(colon - s) : len;

	if (user_len) {
		login->user = dup_part(s, user_len);
		if (!login->user)
			return -ENOMEM;
	}
	if (colon) {
		login->password = dup_part(colon + 1, len - user_len - 1);
		if (!login->password)
			return -ENOMEM;
	}
	return 0;
}

/* "HOST[:PORT]" or "[V6ADDR][:PORT]", the whole rest of the URL. */
static int parse_hostport(const char *s, struct redis_endpoint *ep)
{
	const char *host = s, *end, *port = NULL;
	size_t len;
	char *tail;
	long p;

	if (*s == '[') {
		host = s + 1;
		end = strchr(host, ']');
		if (!end || (end[1] && end[1] != ':'))
			return -EINVAL;
		if (end[1] == ':')
			port = end + 2;
	} else {
		end = strchr(s, ':');
		if (end)
			port = end + 1;
		else
			end = s + strlen(s);
	}
	len = (size_t)(end - host);
	if (!len || len >= sizeof(ep->host) || memchr(host, '/', len))
		return -EINVAL;
	memcpy(ep->host, host, len);
	ep->host[len] = '\0';
	ep->port = REDIS_DEFAULT_PORT;
	if (!port)
		return 0;
	errno = 0;
	p = strtol(port, &tail, 10);
	if (errno || tail == port || *tail || p < 1 || p > 65535)
		return -EINVAL;
	ep->port = (int)p;
	return 0;
}

int uttm_redis_parse_url(const char *url, struct redis_endpoint *ep,
			 struct redis_login *login)
{
	static const char scheme[] = "redis://";
	const char *at;
	int ret;

	if (!strncmp(url, scheme, sizeof(scheme) - 1))
		url += sizeof(scheme) - 1;
	/* The host part never holds '@'; a password may. */
	at = strrchr(url, '@');
	if (at) {
		ret = parse_userinfo(url, (size_t)(at - url), login);
		if (ret)
			return ret;
		url = at + 1;
	}
	return parse_hostport(url, ep);
}

void uttm_redis_login_set_password(struct redis_login *login,
				   const char *password)
{
	if (login->password)
		explicit_bzero(login->password, strlen(login->password));
	free(login->password);
	login->password = strdup(password);
}

void uttm_redis_login_fini(struct redis_login *login)
{
	if (login->password)
		explicit_bzero(login->password, strlen(login->password));
	free(login->password);
	free(login->user);
	login->password = NULL;
	login->user = NULL;
}

/*
 * A page read back goes from hiredis's read buffer into its page at
 * once, through the reader's object functions (its documented hook),
 * instead of into a reply of its own that would be allocated, copied
 * and freed: one allocation and one copy fewer per page.  Everything
 * else is left to hiredis's own functions.
 */
static char page_landed;
static redisReplyObjectFunctions *hiredis_functions;
static pthread_once_t functions_once = PTHREAD_ONCE_INIT;

static void *create_string(const redisReadTask *task, char *str, size_t len)
{
	if (task->privdata && !task->parent &&
	    task->type == REDIS_REPLY_STRING && len == UTTM_PAGE_SIZE) {
		memcpy(task->privdata, str, len);
		return &page_landed;
	}
	return hiredis_functions->createString(task, str, len);
}

static void *create_array(const redisReadTask *task, int elements)
{
	return hiredis_functions->createArray(task, elements);
}

static void *create_integer(const redisReadTask *task, long long value)
{
	return hiredis_functions->createInteger(task, value);
}

static void *create_nil(const redisReadTask *task)
{
	return hiredis_functions->createNil(task);
}

static void free_object(void *obj)
{
	if (obj != &page_landed)
		hiredis_functions->freeObject(obj);
}

static redisReplyObjectFunctions page_functions = {
	.createString = create_string,
	.createArray = create_array,
	.createInteger = create_integer,
	.createNil = create_nil,
	.freeObject = free_object,
};

static void find_hiredis_functions(void)
{
	redisReader *reader = redisReaderCreate();

	if (reader) {
		hiredis_functions = reader->fn;
		redisReaderFree(reader);
	}
}

/* Points @c's reader at page_functions; false if hiredis's are unknown. */
static bool install_functions(redisContext *c)
{
	pthread_once(&functions_once, find_hiredis_functions);
	if (!hiredis_functions)
		return false;
	c->reader->fn = &page_functions;
	return true;
}

static struct timeval timeout_tv(unsigned int ms)
{
	return (struct timeval){ .tv_sec = ms / 1000,
				 .tv_usec = (ms % 1000) * 1000 };
}

/* The errno behind a failed context, or -EIO. */
static int context_error(const redisContext *c)
{
	return c->err == REDIS_ERR_IO && errno ? -errno : -EIO;
}

/*
 * Writes what is queued on @c.  hiredis writes with write(), and a
 * library must not kill its process with SIGPIPE when a server goes away:
 * the signal is blocked in this thread meanwhile, and one that the write
 * raised is taken before it is unblocked.
 */
static int write_queued(redisContext *c)
{
	const struct timespec now = { 0, 0 };
	sigset_t pipe, old, pending;
	bool was_pending;
	int done = 0, ret = 0;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &old);
	while (!done && !ret)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			ret = -EIO;
	if (ret && !was_pending)
		sigtimedwait(&pipe, NULL, &now);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

static int authenticate(redisContext *c, const struct redis_login *login)
{
	const char *argv[3] = { "AUTH" };
	void *reply = NULL;
	int argc = 1, ret = 0;

	if (login->user)
		argv[argc++] = login->user;
	argv[argc++] = login->password ? login->password : "";
	if (redisAppendCommandArgv(c, argc, argv, NULL) != REDIS_OK)
		return -ENOMEM;
	if (write_queued(c) || redisGetReply(c, &reply) != REDIS_OK)
		return context_error(c);
	if (((redisReply *)reply)->type == REDIS_REPLY_ERROR)
		ret = -EACCES;
	freeReplyObject(reply);
	return ret;
}

int uttm_redis_connect(struct redis_node *node,
		       const struct redis_login *login)
{
	const struct timeval tv = timeout_tv(login->timeout_ms);
	redisContext *c;
	int ret;

	errno = 0;
	c = redisConnectWithTimeout(node->addr.host, node->addr.port, tv);
	if (!c)
		return -ENOMEM;
	ret = c->err ? context_error(c) : install_functions(c) ? 0 : -ENOMEM;
	if (!ret && (redisSetTimeout(c, tv) || redisEnableKeepAlive(c)))
		ret = context_error(c);
	if (!ret && (login->user || login->password))
		ret = authenticate(c, login);
	if (ret) {
		redisFree(c);
		return ret;
	}
	node->ctx = c;
	node->connects++;
	return 0;
}

void uttm_redis_disconnect(struct redis_node *node)
{
	if (!node->ctx)
		return;
	redisFree(node->ctx);
	node->ctx = NULL;
}

int uttm_redis_flush(struct redis_node *node)
{
	if (!write_queued(node->ctx))
		return 0;
	uttm_redis_disconnect(node);
	return -EIO;
}

struct redisReply *uttm_redis_reply(struct redis_node *node, void *page)
{
	void *reply = NULL;
	int ret;

	redisReaderSetPrivdata(node->ctx->reader, page);
	ret = redisGetReply(node->ctx, &reply);
	if (ret != REDIS_OK) {
		uttm_redis_disconnect(node);
		return NULL;
	}
	redisReaderSetPrivdata(node->ctx->reader, NULL);
	return reply;
}

bool uttm_redis_reply_waiting(const struct redis_node *node)
{
	const redisReader *reader = node->ctx->reader;
	struct pollfd pfd = { .fd = node->ctx->fd, .events = POLLIN };

	return reader->len > reader->pos || poll(&pfd, 1, 0) > 0;
}

bool uttm_redis_reply_landed(const struct redisReply *reply)
{
	return (const void *)reply == &page_landed;
}

struct redisReply *uttm_redis_command(struct redis_node *node,
				      const struct redis_login *login,
				      int argc, const char **argv)
{
	if (!node->ctx && uttm_redis_connect(node, login))
		return NULL;
	if (redisAppendCommandArgv(node->ctx, argc, argv, NULL) != REDIS_OK ||
	    uttm_redis_flush(node)) {
		uttm_redis_disconnect(node);
		return NULL;
	}
	return uttm_redis_reply(node, NULL);
}

/* The value of "@field:" in the text of an INFO reply, or NULL. */
static const char *info_value(const char *info, const char *field)
{
	size_t len = strlen(field);

	for (const char *line = info; line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (!strncmp(line, field, len) && line[len] == ':')
			return line + len + 1;
	}
	return NULL;
}

static bool info_number(const char *info, const char *field, uint64_t *value)
{
	const char *v = info_value(info, field);

	if (v)
		*value = strtoull(v, NULL, 10);
	return v;
}

/* Whether the INFO text says "@field:@value" (the line ends there). */
static bool info_is(const char *info, const char *field, const char *value)
{
	const char *v = info_value(info, field);
	size_t len = strlen(value);

	return v && !strncmp(v, value, len) && strchr("\r\n", v[len]);
}

/* The text of INFO @section from @node, in a reply to free; or an error. */
static int info(struct redis_node *node, const struct redis_login *login,
		const char *section, redisReply **out)
{
	const char *argv[2] = { "INFO", section };
	redisReply *reply = uttm_redis_command(node, login, 2, argv);

	if (!reply)
		return -EIO;
	if (reply->type != REDIS_REPLY_STRING) {
		freeReplyObject(reply);
		return -EACCES;
	}
	*out = reply;
	return 0;
}

int uttm_redis_memory(struct redis_node *node, const struct redis_login *login,
		      struct redis_memory *mem)
{
	uint64_t maxmemory, system;
	redisReply *reply;
	int ret = info(node, login, "memory", &reply);

	if (ret)
		return ret;
	if (!info_number(reply->str, "used_memory", &mem->used) ||
	    !info_number(reply->str, "maxmemory", &maxmemory) ||
	    !info_number(reply->str, "total_system_memory", &system)) {
		ret = -EPROTO;
	} else {
		mem->limit = maxmemory ? maxmemory : system;
		mem->evicts = !info_is(reply->str, "maxmemory_policy",
				       "noeviction");
	}
	freeReplyObject(reply);
	return ret;
}

int uttm_redis_cluster_enabled(struct redis_node *node,
			       const struct redis_login *login)
{
	redisReply *reply;
	int ret = info(node, login, "cluster", &reply);

	if (ret)
		return ret;
	ret = info_is(reply->str, "cluster_enabled", "1");
	freeReplyObject(reply);
	return ret;
}
