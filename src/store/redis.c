// SPDX-License-Identifier: MIT
/*
 * The Redis store: backed-up pages live on a Redis server or a Redis
 * Cluster, on other machines, each page the value of one key.  It is the
 * tier for cold objects that outgrow one machine's disk and memory.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/*
 * DOC: Redis store
 *
 * A page's key is the store's prefix (the caller's, "uttm:" by default,
 * then a random identifier of the store), the hash tag of its group of
 * handles and its handle in hex (uttm_redis_page_key()), handles coming
 * from a slot bitmap like the file store's.  Each store call is one
 * batch: every command of it is queued on the connection of the key's
 * node, each node is sent its share at once, then the replies are read,
 * so a batch costs one round trip per node however many pages it
 * carries, and the nodes of a cluster work on their shares together.
 * Dropped keys are deleted the same way, a batch per call (one DEL of
 * them all on a standalone server, one per group of handles in a
 * cluster), except that they are only queued: they go out with the next
 * batch, or the store's next call, which reads their replies first
 * (drop_later(), settle_drops()), and a drop that a redirection or a
 * lost connection failed goes again as a batch.
 * A batch reads first the nodes whose replies have begun to arrive.
 * The replies to GETs are read straight into their pages
 * (redis_pages.c).
 *
 * Redis is often run as a cache, free to evict keys; a store there would
 * lose pages, so the store refuses any server whose maxmemory-policy is
 * not noeviction, at creation and whenever it reads the server's room
 * again (the room is then 0).  A server that refuses a page (OOM) fails
 * that page with -ENOSPC, and every later page of the batch is given up
 * too: a backup succeeds for a prefix, the tt layer keeps the rest, and
 * the keys written past the prefix are deleted.  A restore stops at the
 * first page it cannot read (-EIO: a key missing, a node down), keeping
 * every handle.
 *
 * A connection that fails (the server restarted, a node died, an idle
 * timeout closed it) is opened again and the pages it carried are sent
 * once more, within the same call; in a cluster the slot map is read
 * again first, so a promoted replica takes over.  MOVED updates the map
 * and resends; ASK resends to the importing node after ASKING, once.  A
 * call gives up after REDIS_ROUNDS rounds.
 *
 * Keys whose fate a failure leaves unknown (a write whose reply was lost,
 * a deletion that failed) may remain on a server: the store remembers
 * that (@stray) and, when it is freed, deletes every key that still has
 * its prefix, node by node (SCAN).  A store that lost nothing has nothing
 * to sweep and scans nothing.
 */

/* Pages one store call moves at most: the batch of uttm_tt_backup(). */
#define REDIS_BATCH_PAGES 1024u
/*
 * Commands queued on a connection before they are written out: a batch
 * goes out in pieces of 256 KiB, so that hiredis never holds a whole
 * batch of pages (4 MiB) in its buffer.  Still one round trip: the
 * replies are read once all is sent.
 */
#define REDIS_SEND_CHUNK 64u
/* Sends of one batch: the first, then resends after redirections. */
#define REDIS_ROUNDS 4
/* The caller's part of the key prefix, at most. */
#define REDIS_PREFIX_MAX 64u
/* The store's prefix: the caller's, a 16-digit identifier, ':'. */
#define REDIS_STORE_PREFIX_MAX (REDIS_PREFIX_MAX + 16 + 1 + 1)
/* A key: the store's prefix, a hash tag of 5 digits at most, a handle. */
#define REDIS_KEY_MAX (REDIS_STORE_PREFIX_MAX + 7 + 16)
#define REDIS_DEFAULT_URL "redis://127.0.0.1:6379"
#define REDIS_DEFAULT_TIMEOUT_MS 5000u
/* How old the servers' room may be before bytes_avail reads it again. */
#define REDIS_ROOM_INTERVAL_NS 100000000ull
/* Keys a sweep asks SCAN for at a time. */
#define REDIS_SCAN_COUNT "1000"

/* What a batch does to each of its keys. */
enum redis_cmd {
	CMD_SET,
	CMD_GET,
	CMD_DEL,
};

enum op_state {
	OP_QUEUED,
	OP_SENT,
	OP_DONE,
	OP_FAILED,
};

/**
 * struct redis_op - one page of a batch
 * @handle: its handle.
 * @key: its key, @key_len bytes.
 * @key_len: length of @key.
 * @slot: the hash slot of @key.
 * @node: the node it goes to.
 * @state: where it is.
 * @asking: an ASK redirection sent it here: ASKING goes first.
 * @resent: a lost connection already made it go again.
 * @reroute: route it afresh once the slot map is read again.
 * @follows: it went in the command of the op before it on its node, whose
 * reply is its own.
 * @error: why it failed.
 */
struct redis_op {
	unsigned long handle;
	char key[REDIS_KEY_MAX];
	unsigned int key_len;
	unsigned int slot;
	unsigned int node;
	enum op_state state;
	bool asking;
	bool resent;
	bool reroute;
	bool follows;
	int error;
};

/**
 * struct redis_store - a store on Redis
 * @base: what every store shares.
 * @lock: serialises the connections and everything below.
 * @map: the nodes and which keys each serves.
 * @login: how to connect.
 * @prefix: the prefix of every key, the identifier included.
 * @prefix_len: its length.
 * @replicas: replicas each batch must reach (WAIT).
 * @slots: which handles are live.
 * @stray: keys of the store may have been left on a server.
 * @room: bytes the servers could take when last read.
 * @written: bytes backed up since.
 * @room_time: when (CLOCK_MONOTONIC, ns).
 * @batches: batches sent to a node.
 * @redirections: MOVED and ASK replies followed.
 * @map_refreshes: slot maps read.
 * @dropping: handles whose keys are being deleted by DELs not yet
 * answered (drop_later()), still taken so that no page is written under
 * one of them before its old key is gone.
 * @nr_dropping: how many.
 * @redrop: one of those DELs failed: they all go again (settle_drops()).
 * @ops: the batch being run.
 * @argv: the arguments of a DEL of many keys.
 * @argv_len: their lengths.
 */
struct redis_store {
	struct uttm_backup base;
	pthread_mutex_t lock;
	struct redis_map map;
	struct redis_login login;
	char prefix[REDIS_STORE_PREFIX_MAX];
	size_t prefix_len;
	unsigned int replicas;
	struct slots slots;
	bool stray;
	uint64_t room;
	uint64_t written;
	uint64_t room_time;
	unsigned long batches;
	unsigned long redirections;
	unsigned long map_refreshes;
	unsigned long dropping[REDIS_BATCH_PAGES];
	unsigned long nr_dropping;
	bool redrop;
	struct redis_op ops[REDIS_BATCH_PAGES];
	const char *argv[REDIS_BATCH_PAGES + 1];
	size_t argv_len[REDIS_BATCH_PAGES + 1];
};

static struct redis_store *to_redis(struct uttm_backup *backup)
{
	return container_of(backup, struct redis_store, base);
}

/* Makes @op the first try of a command on the key it names. */
static void op_route(struct redis_store *store, struct redis_op *op)
{
	op->slot = uttm_redis_key_slot(op->key, op->key_len);
	op->node = uttm_redis_map_route(&store->map, op->slot);
	op->state = OP_QUEUED;
	op->asking = false;
	op->resent = false;
	op->reroute = false;
	op->follows = false;
	op->error = 0;
}

/* Names and routes the page of @handle as op @op. */
static void op_init(struct redis_store *store, struct redis_op *op,
		    unsigned long handle)
{
	op->handle = handle;
	op->key_len = (unsigned int)uttm_redis_page_key(store->prefix, handle,
							op->key,
							sizeof(op->key));
	op_route(store, op);
}

static void op_fail(struct redis_op *op, int error)
{
	op->state = OP_FAILED;
	op->error = error;
}

/*
 * The connection that carried @op failed, so its outcome is unknown: it
 * goes once more, in a cluster to wherever the slot map read afresh
 * says, and fails with -EIO the second time.
 */
static void op_connection_lost(struct redis_store *store, struct redis_op *op)
{
	store->stray = true;
	if (op->resent) {
		op_fail(op, -EIO);
		return;
	}
	op->resent = true;
	op->state = OP_QUEUED;
	op->asking = false;
	if (store->map.cluster) {
		op->reroute = true;
		store->map.stale = true;
	}
}

/*
 * MOVED or ASK: the op goes to the node named, ASKING first for ASK.
 * False for any other error.
 */
static bool op_redirect(struct redis_store *store, struct redis_op *op,
			const redisReply *reply)
{
	struct redis_endpoint to;
	int kind = uttm_redis_parse_redirect(reply->str, reply->len, &to);
	int node;

	if (!kind)
		return false;
	node = uttm_redis_map_node(&store->map, &to);
	if (node < 0) {
		op_fail(op, node);
		return true;
	}
	store->redirections++;
	op->node = (unsigned int)node;
	op->asking = kind == 2;
	op->state = OP_QUEUED;
	if (kind == 1)
		store->map.stale = true;
	return true;
}

static int error_reply_errno(const redisReply *reply)
{
	if (!strncmp(reply->str, "OOM", 3))
		return -ENOSPC;
	if (!strncmp(reply->str, "NOPERM", 6) || !strncmp(reply->str, "NOAUTH", 6))
		return -EACCES;
	return -EIO;
}

/* Whether @reply is what @cmd succeeds with. */
static bool reply_ok(const redisReply *reply, enum redis_cmd cmd)
{
	switch (cmd) {
	case CMD_SET:
		return reply->type == REDIS_REPLY_STATUS &&
		       !strcmp(reply->str, "OK");
	case CMD_GET:
		/*
		 * A page landed in place (read_node()); any other reply, nil
		 * above all (the key is gone), means the page is lost there.
		 */
		return false;
	case CMD_DEL:
		return reply->type == REDIS_REPLY_INTEGER;
	}
	return false;
}

/* Takes the reply to @op, a @cmd. */
static void op_complete(struct redis_store *store, struct redis_op *op,
			const redisReply *reply, enum redis_cmd cmd)
{
	op->asking = false;
	if (reply->type == REDIS_REPLY_ERROR) {
		if (!op_redirect(store, op, reply))
			op_fail(op, error_reply_errno(reply));
	} else if (reply_ok(reply, cmd)) {
		op->state = OP_DONE;
	} else {
		op_fail(op, -EIO);
	}
}

/* Queues @cmd for @op on @node: SET key @page, GET key or DEL key. */
static int op_append(struct redis_node *node, const struct redis_op *op,
		     enum redis_cmd cmd, const void *page)
{
	static const char *const names[] = {
		[CMD_SET] = "SET", [CMD_GET] = "GET", [CMD_DEL] = "DEL",
	};
	const char *argv[3] = { names[cmd], op->key, page };
	size_t len[3] = { 3, op->key_len, UTTM_PAGE_SIZE };
	redisContext *c = node->ctx;

	if (op->asking && redisAppendCommand(c, "ASKING") != REDIS_OK)
		return -ENOMEM;
	return redisAppendCommandArgv(c, cmd == CMD_SET ? 3 : 2, argv, len) ==
	       REDIS_OK ? 0 : -ENOMEM;
}

static bool node_reachable(struct redis_store *store, struct redis_node *node)
{
	return node->ctx || !uttm_redis_connect(node, &store->login);
}

/* Every op of the batch on @node in state @from gives up its connection. */
static void ops_connection_lost(struct redis_store *store, unsigned long count,
				unsigned int node, enum op_state from,
				unsigned long start)
{
	for (unsigned long i = start; i < count; i++)
		if (store->ops[i].node == node && store->ops[i].state == from)
			op_connection_lost(store, &store->ops[i]);
}

/* The first op from @i on that is for node @n and in state @state. */
static unsigned long next_op(const struct redis_store *store, unsigned int n,
			     enum op_state state, unsigned long i,
			     unsigned long count)
{
	while (i < count && (store->ops[i].node != n ||
			     store->ops[i].state != state))
		i++;
	return i;
}

/*
 * Queues @cmd for each op of @node from @first on, on @pages for SET,
 * writing them out a chunk at a time.
 */
static void append_ops(struct redis_store *store, unsigned int n,
		       unsigned long first, unsigned long count,
		       enum redis_cmd cmd, void *const *pages)
{
	struct redis_node *node = &store->map.nodes[n];
	unsigned int queued = 0;

	for (unsigned long i = first; i < count;
	     i = next_op(store, n, OP_QUEUED, i + 1, count)) {
		struct redis_op *op = &store->ops[i];

		if (op_append(node, op, cmd, pages ? pages[i] : NULL)) {
			op_fail(op, -ENOMEM);
			continue;
		}
		op->state = OP_SENT;
		op->follows = false;
		if (++queued % REDIS_SEND_CHUNK == 0 && uttm_redis_flush(node))
			return;
	}
}

/* Whether @op may go in the same DEL as @lead. */
static bool same_deletion(const struct redis_store *store,
			  const struct redis_op *lead, const struct redis_op *op)
{
	return !store->map.cluster ||
	       (op->slot == lead->slot && op->asking == lead->asking);
}

/*
 * Queues one DEL of the keys of the ops of @node from @lead on that may
 * share it; returns the op after them.
 */
static unsigned long append_one_deletion(struct redis_store *store,
					 unsigned int n, unsigned long lead,
					 unsigned long count)
{
	redisContext *c = store->map.nodes[n].ctx;
	const struct redis_op *first = &store->ops[lead];
	unsigned int argc = 1;
	unsigned long i = lead;

	store->argv[0] = "DEL";
	store->argv_len[0] = 3;
	do {
		struct redis_op *op = &store->ops[i];

		store->argv[argc] = op->key;
		store->argv_len[argc++] = op->key_len;
		op->state = OP_SENT;
		op->follows = i != lead;
		i = next_op(store, n, OP_QUEUED, i + 1, count);
	} while (i < count && same_deletion(store, first, &store->ops[i]));
	if ((!first->asking || redisAppendCommand(c, "ASKING") == REDIS_OK) &&
	    redisAppendCommandArgv(c, (int)argc, store->argv,
				   store->argv_len) == REDIS_OK)
		return i;
	for (unsigned long j = lead; j < i;
	     j = next_op(store, n, OP_SENT, j + 1, i))
		op_fail(&store->ops[j], -ENOMEM);
	return i;
}

/*
 * Queues the deletion of the keys of the ops of @node from @first on,
 * as few DELs as may carry them: to a server a command costs far more
 * than a key.  A standalone server takes them all in one; a cluster
 * refuses a command whose keys span slots, so there it is one DEL per
 * run of keys of one slot, a group of handles (uttm_redis_page_key()).
 */
static void append_deletion(struct redis_store *store, unsigned int n,
			    unsigned long first, unsigned long count)
{
	for (unsigned long i = first; i < count;)
		i = append_one_deletion(store, n, i, count);
}

/*
 * Queues @cmd for @node's queued ops of the batch, on @pages for SET;
 * what is not written out yet goes with the next write on the
 * connection.
 */
static void queue_node(struct redis_store *store, unsigned int n,
		       unsigned long count, enum redis_cmd cmd,
		       void *const *pages)
{
	struct redis_node *node = &store->map.nodes[n];
	unsigned long first = next_op(store, n, OP_QUEUED, 0, count);

	if (first == count)
		return;
	if (!node_reachable(store, node)) {
		ops_connection_lost(store, count, n, OP_QUEUED, first);
		return;
	}
	if (cmd == CMD_DEL)
		append_deletion(store, n, first, count);
	else
		append_ops(store, n, first, count, cmd, pages);
	store->batches++;
}

/* Sends @node its queued ops of the batch: @cmd, on @pages for SET. */
static void send_node(struct redis_store *store, unsigned int n,
		      unsigned long count, enum redis_cmd cmd,
		      void *const *pages)
{
	struct redis_node *node = &store->map.nodes[n];

	queue_node(store, n, count, cmd, pages);
	if (next_op(store, n, OP_SENT, 0, count) < count &&
	    (!node->ctx || uttm_redis_flush(node)))
		ops_connection_lost(store, count, n, OP_SENT, 0);
}

/* @op went in @lead's command: its reply is @lead's. */
static void op_follow(struct redis_op *op, const struct redis_op *lead)
{
	op->node = lead->node;
	op->state = lead->state;
	op->asking = lead->asking;
	op->error = lead->error;
	op->follows = false;
}

/*
 * Reads the replies to the GETs that node @n was sent, from op @first on,
 * straight into their pages while they are pages.  Returns how many
 * landed, or -EIO.
 */
static long read_in_place(struct redis_store *store, unsigned int n,
			  unsigned long first, unsigned long count,
			  void *const *pages)
{
	void *dst[REDIS_READ_PAGES];
	unsigned long at[REDIS_READ_PAGES], nr = 0;
	long landed;

	for (unsigned long i = first; i < count && nr < REDIS_READ_PAGES &&
				      !store->ops[i].asking;
	     i = next_op(store, n, OP_SENT, i + 1, count)) {
		at[nr] = i;
		dst[nr++] = pages[i];
	}
	landed = uttm_redis_read_pages(&store->map.nodes[n], dst, nr);
	for (long j = 0; j < landed; j++)
		store->ops[at[j]].state = OP_DONE;
	return landed;
}

/*
 * Reads the reply to op @i, which node @n was sent.  False when the
 * connection failed, taking every op still waiting there with it.
 */
static bool read_reply(struct redis_store *store, unsigned int n,
		       unsigned long i, unsigned long count,
		       enum redis_cmd cmd, void *const *pages)
{
	struct redis_op *op = &store->ops[i];
	/* A redirection may have grown the map and moved it. */
	struct redis_node *node = &store->map.nodes[n];
	redisReply *reply = NULL;

	if (op->asking) {
		reply = uttm_redis_reply(node, NULL);
		if (reply)
			freeReplyObject(reply);
	}
	if (!op->asking || reply)
		reply = uttm_redis_reply(node,
					 cmd == CMD_GET ? pages[i] : NULL);
	if (!reply) {
		ops_connection_lost(store, count, n, OP_SENT, i);
		return false;
	}
	if (uttm_redis_reply_landed(reply)) {
		op->asking = false;
		op->state = OP_DONE;
		return true;
	}
	op_complete(store, op, reply, cmd);
	freeReplyObject(reply);
	return true;
}

/* Reads @node's replies to the ops of the batch sent to it. */
static void read_node(struct redis_store *store, unsigned int n,
		      unsigned long count, enum redis_cmd cmd,
		      void *const *pages)
{
	const struct redis_op *lead = NULL;
	unsigned long i = next_op(store, n, OP_SENT, 0, count);

	while (i < count) {
		struct redis_op *op = &store->ops[i];
		long landed = 0;

		if (op->follows) {
			op_follow(op, lead);
		} else {
			if (cmd == CMD_GET && !op->asking)
				landed = read_in_place(store, n, i, count,
						       pages);
			if (landed < 0) {
				ops_connection_lost(store, count, n, OP_SENT,
						    i);
				return;
			}
			if (!landed && !read_reply(store, n, i, count, cmd,
						   pages))
				return;
			lead = op;
		}
		i = next_op(store, n, OP_SENT, i + (landed ? 0 : 1), count);
	}
}

static void delete_ops(struct redis_store *store, unsigned long count);

/*
 * Reads node @n's replies owed to the last drop's DELs (drop_later()),
 * which come before any other on its connection.  One that is not a
 * count of keys deleted (a redirection, an error), or that was lost with
 * the connection, makes the drop go again (@redrop); a lost connection
 * takes the ops of the batch of @count sent on it along, to go again.
 */
static void read_unanswered(struct redis_store *store, unsigned int n,
			    unsigned long count)
{
	struct redis_node *node = &store->map.nodes[n];

	/* DELs no batch carried out yet; a failure leaves no connection. */
	if (node->unanswered && node->ctx)
		uttm_redis_flush(node);
	for (; node->unanswered; node->unanswered--) {
		redisReply *reply = node->ctx ? uttm_redis_reply(node, NULL) :
				    NULL;

		if (!reply) {
			ops_connection_lost(store, count, n, OP_SENT, 0);
			node->unanswered = 0;
			store->redrop = true;
			return;
		}
		store->redrop |= reply->type != REDIS_REPLY_INTEGER;
		freeReplyObject(reply);
	}
}

/*
 * Settles the last drop: reads the replies to its DELs and frees its
 * handles.  When one failed, the whole drop is deleted again the way a
 * batch is, following redirections (a DEL of a key already gone does no
 * harm), which needs the ops: it waits until no batch of @count ops is
 * being run (@count is 0), the handles staying taken meanwhile.  Ops of
 * that batch sent and not yet read go with a connection that fails.
 */
static void settle_drops(struct redis_store *store, unsigned long count)
{
	for (unsigned int n = 0; n < store->map.nr_nodes; n++)
		read_unanswered(store, n, count);
	if (store->redrop && count)
		return;
	if (store->redrop) {
		for (unsigned long i = 0; i < store->nr_dropping; i++)
			op_init(store, &store->ops[i], store->dropping[i]);
		delete_ops(store, store->nr_dropping);
		store->redrop = false;
	}
	uttm_slot_io_free(&store->slots, store->dropping, store->nr_dropping);
	store->nr_dropping = 0;
}

/*
 * Reads the replies of every node the batch went to, first those of the
 * nodes whose replies have begun to arrive, then in order: a node that
 * is slow to answer does not keep the others' replies waiting.  Those
 * owed to the last drop come first on each.
 */
static void read_nodes(struct redis_store *store, unsigned long count,
		       enum redis_cmd cmd, void *const *pages)
{
	/* Redirections may add nodes; they were sent nothing yet. */
	unsigned int nr = store->map.nr_nodes;

	for (;;) {
		unsigned int pick = nr;

		for (unsigned int n = 0; n < nr; n++) {
			if (next_op(store, n, OP_SENT, 0, count) == count)
				continue;
			if (pick == nr)
				pick = n;
			if (uttm_redis_reply_waiting(&store->map.nodes[n])) {
				pick = n;
				break;
			}
		}
		if (pick == nr)
			return;
		read_unanswered(store, pick, count);
		read_node(store, pick, count, cmd, pages);
	}
}

/*
 * After a redirection or a lost connection in a cluster: read the slot
 * map again and send the ops that lost their node where it now says.
 * The replies owed on the connections come first.
 */
static void reroute(struct redis_store *store, unsigned long count)
{
	if (!store->map.stale)
		return;
	settle_drops(store, count);
	store->map_refreshes++;
	if (uttm_redis_map_refresh(&store->map, &store->login))
		return;
	for (unsigned long i = 0; i < count; i++) {
		struct redis_op *op = &store->ops[i];

		if (op->state == OP_QUEUED && op->reroute) {
			op->node = uttm_redis_map_route(&store->map, op->slot);
			op->reroute = false;
		}
	}
}

static bool any_queued(const struct redis_store *store, unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		if (store->ops[i].state == OP_QUEUED)
			return true;
	return false;
}

/*
 * A batch's pages are only safe once @replicas replicas of each master
 * that took some have them too; where WAIT says fewer do, they fail.
 */
static void wait_replicas(struct redis_store *store, unsigned long count)
{
	char replicas[16], timeout[16];
	const char *argv[3] = { "WAIT", replicas, timeout };

	snprintf(replicas, sizeof(replicas), "%u", store->replicas);
	snprintf(timeout, sizeof(timeout), "%u", store->login.timeout_ms);
	for (unsigned int n = 0; n < store->map.nr_nodes; n++) {
		redisReply *reply = NULL;
		bool ok;

		for (unsigned long i = 0; i < count && !reply; i++)
			if (store->ops[i].node == n &&
			    store->ops[i].state == OP_DONE)
				reply = uttm_redis_command(&store->map.nodes[n],
							   &store->login, 3,
							   argv);
		if (!reply)
			continue;
		ok = reply->type == REDIS_REPLY_INTEGER &&
		     reply->integer >= store->replicas;
		freeReplyObject(reply);
		for (unsigned long i = 0; i < count && !ok; i++)
			if (store->ops[i].node == n &&
			    store->ops[i].state == OP_DONE)
				op_fail(&store->ops[i], -EIO);
	}
}

/*
 * Runs @cmd on the first @count ops: SETs of @pages, GETs into @pages,
 * or DELs.  Returns how many succeeded from the first on.
 */
static unsigned long run_batch(struct redis_store *store, unsigned long count,
			       enum redis_cmd cmd, void *const *pages)
{
	unsigned long done = 0;

	for (int round = 0; round < REDIS_ROUNDS &&
			    any_queued(store, count); round++) {
		if (store->map.cluster)
			reroute(store, count);
		for (unsigned int n = 0; n < store->map.nr_nodes; n++)
			send_node(store, n, count, cmd, pages);
		read_nodes(store, count, cmd, pages);
		settle_drops(store, count);
	}
	for (unsigned long i = 0; i < count; i++)
		if (store->ops[i].state == OP_QUEUED)
			op_fail(&store->ops[i], -EIO);
	if (cmd == CMD_SET && store->replicas)
		wait_replicas(store, count);
	while (done < count && store->ops[done].state == OP_DONE)
		done++;
	return done;
}

/*
 * Deletes the keys of the first @count ops.  A key that could not be
 * deleted is left stray, for the sweep when the store is freed.
 */
static void delete_ops(struct redis_store *store, unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		op_route(store, &store->ops[i]);
	if (count && run_batch(store, count, CMD_DEL, NULL) < count)
		store->stray = true;
}

/* Takes up to @count handles, in runs; returns how many, or an error. */
static long take_handles(struct redis_store *store, unsigned long count)
{
	unsigned long n = 0, got;
	long first = 0;

	while (n < count) {
		first = uttm_slots_alloc(&store->slots, count - n, &got);
		if (first < 0)
			break;
		for (unsigned long j = 0; j < got; j++)
			op_init(store, &store->ops[n + j],
				uttm_backup_index_to_handle(
					(unsigned long)first + j));
		n += got;
	}
	return n ? (long)n : first;
}

static long redis_backup_pages(struct uttm_backup *backup, void *const *src,
			       unsigned long count, bool writeback,
			       unsigned long *handles)
{
	struct redis_store *store = to_redis(backup);
	unsigned long done, written = 0;
	long n, ret;

	pthread_mutex_lock(&store->lock);
	n = take_handles(store, MIN(count, (unsigned long)REDIS_BATCH_PAGES));
	if (n < 0) {
		pthread_mutex_unlock(&store->lock);
		return n;
	}
	done = run_batch(store, (unsigned long)n, CMD_SET, src);
	for (unsigned long i = 0; i < done; i++)
		handles[i] = store->ops[i].handle;
	ret = done ? (long)done : store->ops[0].error;
	/* Past the prefix the pages stay in their vector: their keys go. */
	for (unsigned long i = done; i < (unsigned long)n; i++) {
		uttm_slots_free(&store->slots,
				uttm_backup_handle_to_index(store->ops[i].handle),
				1);
		if (store->ops[i].state == OP_DONE)
			store->ops[written++] = store->ops[i];
	}
	delete_ops(store, written);
	store->written += done << UTTM_PAGE_SHIFT;
	pthread_mutex_unlock(&store->lock);
	return ret;
}

static long redis_copy_pages(struct uttm_backup *backup, void *const *dst,
			     const unsigned long *handles, unsigned long count,
			     const struct uttm_operation_ctx *ctx)
{
	struct redis_store *store = to_redis(backup);
	unsigned long done;
	long ret;

	count = MIN(count, (unsigned long)REDIS_BATCH_PAGES);
	pthread_mutex_lock(&store->lock);
	for (unsigned long i = 0; i < count; i++)
		op_init(store, &store->ops[i], handles[i]);
	done = run_batch(store, count, CMD_GET, dst);
	ret = done ? (long)done : store->ops[0].error;
	pthread_mutex_unlock(&store->lock);
	return ret;
}

/*
 * Queues the deletion of the keys of @handles, at most a batch, without
 * sending it or waiting for its replies: it goes out in one write with
 * the next batch, which reads its replies first (settle_drops()), so a
 * restore's deletion costs no round trip and no wakeup of the server of
 * its own.
 */
static void drop_later(struct redis_store *store, const unsigned long *handles,
		       unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		op_init(store, &store->ops[i], handles[i]);
	for (unsigned int n = 0; n < store->map.nr_nodes; n++)
		queue_node(store, n, count, CMD_DEL, NULL);
	for (unsigned long i = 0; i < count; i++) {
		struct redis_op *op = &store->ops[i];

		if (op->state != OP_SENT)
			store->redrop = true;
		else if (!op->follows)
			store->map.nodes[op->node].unanswered++;
	}
	memcpy(store->dropping, handles, count * sizeof(*handles));
	store->nr_dropping = count;
}

static void redis_drop(struct uttm_backup *backup, const unsigned long *handles,
		       unsigned long count)
{
	struct redis_store *store = to_redis(backup);

	pthread_mutex_lock(&store->lock);
	settle_drops(store, 0);
	if (count <= REDIS_BATCH_PAGES) {
		drop_later(store, handles, count);
		pthread_mutex_unlock(&store->lock);
		return;
	}
	for (unsigned long i = 0; i < count; i += REDIS_BATCH_PAGES) {
		unsigned long n = MIN(count - i,
				      (unsigned long)REDIS_BATCH_PAGES);

		for (unsigned long j = 0; j < n; j++)
			op_init(store, &store->ops[j], handles[i + j]);
		delete_ops(store, n);
	}
	uttm_slot_io_free(&store->slots, handles, count);
	pthread_mutex_unlock(&store->lock);
}

/*
 * The servers' room, read afresh: in a cluster pages spread evenly, so
 * the fullest master bounds them all.  A master out of reach, or one that
 * may evict keys, leaves no room at all.
 */
static uint64_t read_room(struct redis_store *store)
{
	uint64_t least = UINT64_MAX;
	unsigned int masters = 0;

	if (store->map.stale) {
		store->map_refreshes++;
		uttm_redis_map_refresh(&store->map, &store->login);
	}
	for (unsigned int n = 0; n < store->map.nr_nodes; n++) {
		struct redis_memory mem;

		if (!store->map.nodes[n].master)
			continue;
		if (uttm_redis_memory(&store->map.nodes[n], &store->login,
				      &mem) || mem.evicts)
			return 0;
		least = MIN(least, mem.limit > mem.used ? mem.limit - mem.used :
							  0);
		masters++;
	}
	return masters ? least * masters : 0;
}

static uint64_t redis_bytes_avail(struct uttm_backup *backup)
{
	struct redis_store *store = to_redis(backup);
	uint64_t now = uttm_now_ns(), room, left;

	pthread_mutex_lock(&store->lock);
	settle_drops(store, 0);
	if (now - store->room_time >= REDIS_ROOM_INTERVAL_NS) {
		store->room = read_room(store);
		store->written = 0;
		store->room_time = now;
	}
	room = store->room > store->written ? store->room - store->written : 0;
	left = (uint64_t)(store->slots.max - uttm_slots_used(&store->slots)) <<
	       UTTM_PAGE_SHIFT;
	pthread_mutex_unlock(&store->lock);
	return MIN(room, left);
}

/* @s with the glob characters of SCAN's MATCH escaped, into @out. */
static void glob_escape(const char *s, char *out, size_t size)
{
	size_t n = 0;

	for (; *s && n + 3 < size; s++) {
		if (strchr("*?[]\\", *s))
			out[n++] = '\\';
		out[n++] = *s;
	}
	out[n] = '\0';
}

/* Makes @op name the key of a SCAN reply; false for one too long. */
static bool op_set_key(struct redis_op *op, const redisReply *key)
{
	if (key->type != REDIS_REPLY_STRING || key->len >= sizeof(op->key))
		return false;
	memcpy(op->key, key->str, key->len);
	op->key_len = (unsigned int)key->len;
	return true;
}

/*
 * Deletes every key of the store that node @n holds.  A node is asked
 * by its index: the map may move while the keys are deleted.
 */
static void sweep_node(struct redis_store *store, unsigned int n)
{
	char pattern[2 * REDIS_KEY_MAX + 2], cursor[32] = "0";
	const char *argv[6] = { "SCAN", cursor, "MATCH", pattern, "COUNT",
				REDIS_SCAN_COUNT };
	redisReply *reply, *keys;

	glob_escape(store->prefix, pattern, sizeof(pattern) - 1);
	strcat(pattern, "*");
	do {
		reply = uttm_redis_command(&store->map.nodes[n], &store->login,
					   6, argv);
		if (!reply)
			return;
		if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
		    reply->element[0]->type != REDIS_REPLY_STRING ||
		    reply->element[0]->len >= sizeof(cursor)) {
			freeReplyObject(reply);
			return;
		}
		memcpy(cursor, reply->element[0]->str, reply->element[0]->len + 1);
		keys = reply->element[1];
		for (size_t i = 0; keys->type == REDIS_REPLY_ARRAY &&
				   i < keys->elements;) {
			unsigned long nr = 0;

			for (; i < keys->elements && nr < REDIS_BATCH_PAGES; i++)
				if (op_set_key(&store->ops[nr],
					       keys->element[i]))
					nr++;
			delete_ops(store, nr);
		}
		freeReplyObject(reply);
	} while (strcmp(cursor, "0"));
}

static void redis_fini(struct uttm_backup *backup)
{
	struct redis_store *store = to_redis(backup);

	settle_drops(store, 0);
	for (unsigned int n = 0; store->stray && n < store->map.nr_nodes; n++)
		if (store->map.nodes[n].master)
			sweep_node(store, n);
	uttm_redis_map_fini(&store->map);
	uttm_slots_fini(&store->slots);
	uttm_redis_login_fini(&store->login);
	pthread_mutex_destroy(&store->lock);
	free(store);
}

static const struct uttm_backup_ops redis_ops = {
	.backup_pages = redis_backup_pages,
	.copy_pages = redis_copy_pages,
	.drop = redis_drop,
	.bytes_avail = redis_bytes_avail,
	.fini = redis_fini,
};

/* The caller's prefix, then 16 random hex digits and ':'. */
static int make_prefix(struct redis_store *store, const char *prefix)
{
	uint64_t id;

	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		return -errno;
	store->prefix_len = (size_t)snprintf(store->prefix,
					     sizeof(store->prefix),
					     "%s%016llx:", prefix,
					     (unsigned long long)id);
	return 0;
}

static bool prefix_valid(const char *prefix)
{
	return strlen(prefix) <= REDIS_PREFIX_MAX && !strpbrk(prefix, "{}");
}

/* The login of @params: the URL's, the password overridden or found. */
static int login_init(struct redis_store *store,
		      const struct uttm_backup_redis_params *params,
		      struct redis_endpoint *seed)
{
	const char *password = params->password;
	int ret;

	store->login.timeout_ms = params->timeout_ms ? params->timeout_ms :
						       REDIS_DEFAULT_TIMEOUT_MS;
	ret = uttm_redis_parse_url(params->url ? params->url : REDIS_DEFAULT_URL,
				   seed, &store->login);
	if (ret)
		return ret;
	if (!password && !store->login.password)
		password = secure_getenv("UTTM_REDIS_PASSWORD");
	if (!password)
		return 0;
	uttm_redis_login_set_password(&store->login, password);
	return store->login.password ? 0 : -ENOMEM;
}

/*
 * Finds out whether the seed is part of a cluster and reads its map,
 * then checks that no master may evict keys.
 */
static int discover(struct redis_store *store)
{
	struct redis_memory mem;
	int ret;

	ret = uttm_redis_connect(&store->map.nodes[0], &store->login);
	if (!ret)
		ret = uttm_redis_cluster_enabled(&store->map.nodes[0],
						 &store->login);
	if (ret < 0)
		return ret;
	store->map.cluster = ret;
	if (store->map.cluster) {
		store->map_refreshes++;
		ret = uttm_redis_map_refresh(&store->map, &store->login);
		if (ret)
			return ret;
	}
	for (unsigned int n = 0; n < store->map.nr_nodes; n++) {
		if (!store->map.nodes[n].master)
			continue;
		ret = uttm_redis_memory(&store->map.nodes[n], &store->login,
					&mem);
		if (ret)
			return ret;
		if (mem.evicts)
			return -EMEDIUMTYPE;
	}
	return 0;
}

int uttm_backup_redis_create(const struct uttm_backup_redis_params *params,
			     struct uttm_backup **out)
{
	struct redis_endpoint seed;
	struct redis_store *store;
	int ret;

	if (UTTM_WARN_ON(!params || !out) ||
	    UTTM_WARN_ON(params->max_bytes &&
			 params->max_bytes < UTTM_PAGE_SIZE))
		return -EINVAL;
	if ((params->key_prefix && !prefix_valid(params->key_prefix)) ||
	    !UTTM_RESERVED_CLEAR(params))
		return -EINVAL;
	store = calloc(1, sizeof(*store));
	if (!store)
		return -ENOMEM;
	pthread_mutex_init(&store->lock, NULL);
	ret = login_init(store, params, &seed);
	if (!ret)
		ret = make_prefix(store, params->key_prefix ?
				  params->key_prefix : "uttm:");
	if (!ret)
		ret = uttm_redis_map_init(&store->map, &seed);
	if (ret)
		goto error_free_login;
	ret = discover(store);
	if (ret)
		goto error_free_map;
	store->replicas = params->replicas;
	uttm_slots_init(&store->slots, params->max_bytes ?
			(unsigned long)(params->max_bytes >> UTTM_PAGE_SHIFT) :
			SLOT_IO_MAX_SLOTS);
	uttm_backup_init(&store->base, &redis_ops, params->fault);
	*out = &store->base;
	return 0;

error_free_map:
	uttm_redis_map_fini(&store->map);
error_free_login:
	uttm_redis_login_fini(&store->login);
	pthread_mutex_destroy(&store->lock);
	free(store);
	return ret;
}

static bool is_redis_store(const struct uttm_backup *backup)
{
	return backup && backup->ops == &redis_ops;
}

int uttm_backup_redis_stats(struct uttm_backup *backup,
			    struct uttm_backup_redis_stats *stats)
{
	struct redis_store *store;

	if (UTTM_WARN_ON(!is_redis_store(backup) || !stats))
		return -EINVAL;
	store = to_redis(backup);
	pthread_mutex_lock(&store->lock);
	/* Pages are counted once their deletions are answered. */
	settle_drops(store, 0);
	*stats = (struct uttm_backup_redis_stats){
		.cluster = store->map.cluster,
		.pages = uttm_slots_used(&store->slots),
		.batches = store->batches,
		.redirections = store->redirections,
		.map_refreshes = store->map_refreshes,
	};
	for (unsigned int n = 0; n < store->map.nr_nodes; n++) {
		stats->masters += store->map.nodes[n].master;
		stats->reconnects += store->map.nodes[n].connects > 1 ?
				     store->map.nodes[n].connects - 1 : 0;
	}
	snprintf(stats->key_prefix, sizeof(stats->key_prefix), "%s",
		 store->prefix);
	pthread_mutex_unlock(&store->lock);
	return 0;
}
