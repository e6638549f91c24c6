// SPDX-License-Identifier: MIT
/*
 * Routing for the Redis store: the slot map of a Redis Cluster, which
 * master owns each of the 16384 hash slots and so each key, read with
 * CLUSTER SLOTS and refreshed when a redirection or a lost node says it
 * changed.  A standalone server is a map of one node.  Hand-written
 * because no cluster-capable C client is packaged in Debian; it is only
 * what the store needs: routing, MOVED and ASK, refresh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "uttm/backup.h"
#include "base/base.h"
#include "internal.h"

/* Nodes a map may ever learn of, every failover adding one at most. */
#define REDIS_MAX_NODES 4096u

static uint16_t crc16_table[256];
static pthread_once_t crc16_once = PTHREAD_ONCE_INIT;

/* CRC-16/XMODEM (polynomial 0x1021, initial 0), what Redis Cluster uses. */
static void crc16_init(void)
{
	for (unsigned int i = 0; i < 256; i++) {
		uint16_t crc = (uint16_t)(i << 8);

		for (int bit = 0; bit < 8; bit++)
			crc = (uint16_t)(crc & 0x8000 ? (crc << 1) ^ 0x1021 :
							crc << 1);
		crc16_table[i] = crc;
	}
}

static uint16_t crc16(const char *buf, size_t len)
{
	uint16_t crc = 0;

	pthread_once(&crc16_once, crc16_init);
	for (size_t i = 0; i < len; i++)
		crc = (uint16_t)((crc << 8) ^
				 crc16_table[((crc >> 8) ^ (uint8_t)buf[i]) & 0xff]);
	return crc;
}

/*
 * Only the part between the first '{' and the next '}' is hashed when it
 * is not empty (a hash tag), so that keys can be kept together: the
 * store's keys carry the tag of their group.
 */
unsigned int uttm_redis_key_slot(const char *key, size_t len)
{
	const char *open = memchr(key, '{', len), *close;

	if (open) {
		size_t rest = len - (size_t)(open - key) - 1;

		close = memchr(open + 1, '}', rest);
		if (close && close > open + 1)
			return crc16(open + 1, (size_t)(close - open - 1)) &
			       (REDIS_SLOTS - 1);
	}
	return crc16(key, len) & (REDIS_SLOTS - 1);
}

/*
 * DOC: Keys of pages
 *
 * A page's key is the store's prefix, a hash tag and the handle in hex:
 * "uttm:3f9c0a12d4e5b6a7:{1b2e}1a2".  The REDIS_GROUP_PAGES handles of a
 * group (consecutive indices, as a vector's pages get them) share the
 * tag, so one command may name them all, where a cluster refuses one
 * whose keys span slots: a restore deletes a group's keys with one DEL.
 * Group g hashes to slot base + g * REDIS_GROUP_STEP (modulo the slots),
 * the base a hash of the prefix so that stores start apart.  The step is
 * about the slots over the golden ratio: consecutive groups fall far
 * apart, and any run of groups covers the slots evenly, so an object's
 * pages spread over every master, in shares as even as the masters'
 * shares of the slots, as keys without a tag would.  The tag of a slot
 * is the smallest number whose hex digits hash there, found once.
 */

/* About REDIS_SLOTS / 1.618, odd: steps that visit every slot. */
#define REDIS_GROUP_STEP 10127u

static uint32_t slot_tags[REDIS_SLOTS];
static pthread_once_t slot_tags_once = PTHREAD_ONCE_INIT;

static void slot_tags_init(void)
{
	static bool found[REDIS_SLOTS];
	unsigned int left = REDIS_SLOTS;

	for (uint32_t n = 0; left; n++) {
		char tag[16];
		int len = snprintf(tag, sizeof(tag), "%x", n);
		unsigned int slot = crc16(tag, (size_t)len) & (REDIS_SLOTS - 1);

		if (found[slot])
			continue;
		found[slot] = true;
		slot_tags[slot] = n;
		left--;
	}
}

int uttm_redis_page_key(const char *prefix, unsigned long handle, char *key,
			size_t size)
{
	unsigned long group = uttm_backup_handle_to_index(handle) /
			      REDIS_GROUP_PAGES;
	unsigned int slot = (uttm_redis_key_slot(prefix, strlen(prefix)) +
			     group * REDIS_GROUP_STEP) & (REDIS_SLOTS - 1);

	pthread_once(&slot_tags_once, slot_tags_init);
	return snprintf(key, size, "%s{%x}%lx", prefix, slot_tags[slot],
			handle);
}

int uttm_redis_map_init(struct redis_map *map, const struct redis_endpoint *seed)
{
	memset(map, 0, sizeof(*map));
	return uttm_redis_map_node(map, seed) < 0 ? -ENOMEM : 0;
}

void uttm_redis_map_fini(struct redis_map *map)
{
	for (unsigned int i = 0; i < map->nr_nodes; i++)
		uttm_redis_disconnect(&map->nodes[i]);
	free(map->nodes);
	map->nodes = NULL;
	map->nr_nodes = 0;
}

unsigned int uttm_redis_map_route(const struct redis_map *map,
				  unsigned int slot)
{
	return map->cluster ? map->slot_node[slot] : 0;
}

int uttm_redis_map_node(struct redis_map *map, const struct redis_endpoint *ep)
{
	struct redis_node *nodes;
	unsigned int max;

	for (unsigned int i = 0; i < map->nr_nodes; i++)
		if (map->nodes[i].addr.port == ep->port &&
		    !strcmp(map->nodes[i].addr.host, ep->host))
			return (int)i;
	if (map->nr_nodes == map->max_nodes) {
		if (map->max_nodes == REDIS_MAX_NODES)
			return -ENOMEM;
		max = map->max_nodes ? 2 * map->max_nodes : 4;
		nodes = realloc(map->nodes, max * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		map->nodes = nodes;
		map->max_nodes = max;
	}
	map->nodes[map->nr_nodes] = (struct redis_node){ .addr = *ep,
							 .master = true };
	return (int)map->nr_nodes++;
}

/*
 * The node an entry of CLUSTER SLOTS names: [host, port, id, ...].  An
 * empty host (or "?") means the node that answered.
 */
static int slots_entry_node(struct redis_map *map, const redisReply *r,
			    const struct redis_node *from)
{
	struct redis_endpoint ep;
	const char *host;

	if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
	    r->element[0]->type != REDIS_REPLY_STRING ||
	    r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[0]->len >= sizeof(ep.host))
		return -EPROTO;
	host = r->element[0]->str;
	if (!*host || !strcmp(host, "?"))
		host = from->addr.host;
	strcpy(ep.host, host);
	ep.port = (int)r->element[1]->integer;
	return uttm_redis_map_node(map, &ep);
}

/* Applies a CLUSTER SLOTS reply that @from sent. */
static int apply_slots(struct redis_map *map, const redisReply *reply,
		       unsigned int from)
{
	if (reply->type != REDIS_REPLY_ARRAY || !reply->elements)
		return -EPROTO;
	for (unsigned int i = 0; i < map->nr_nodes; i++)
		map->nodes[i].master = false;
	for (size_t i = 0; i < reply->elements; i++) {
		const redisReply *e = reply->element[i];
		long long first, last;
		int node;

		if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
		    e->element[0]->type != REDIS_REPLY_INTEGER ||
		    e->element[1]->type != REDIS_REPLY_INTEGER)
			return -EPROTO;
		first = e->element[0]->integer;
		last = e->element[1]->integer;
		if (first < 0 || last < first || last >= REDIS_SLOTS)
			return -EPROTO;
		/* The map may grow and move: index it afresh. */
		node = slots_entry_node(map, e->element[2], &map->nodes[from]);
		if (node < 0)
			return node;
		map->nodes[node].master = true;
		for (long long s = first; s <= last; s++)
			map->slot_node[s] = (uint16_t)node;
	}
	return 0;
}

/*
 * Masters first (the map is most likely right about them), then every
 * other node the store has known, the seed among them.
 */
int uttm_redis_map_refresh(struct redis_map *map,
			   const struct redis_login *login)
{
	static const char *argv[] = { "CLUSTER", "SLOTS" };
	int ret = -EIO;

	for (int pass = 0; pass < 2 && ret; pass++) {
		for (unsigned int i = 0; i < map->nr_nodes && ret; i++) {
			redisReply *reply;

			if (map->nodes[i].master != !pass)
				continue;
			reply = uttm_redis_command(&map->nodes[i], login, 2,
						   argv);
			if (!reply)
				continue;
			ret = apply_slots(map, reply, i);
			freeReplyObject(reply);
		}
	}
	if (!ret)
		map->stale = false;
	return ret;
}

int uttm_redis_parse_redirect(const char *err, size_t len,
			      struct redis_endpoint *to)
{
	char buf[REDIS_HOST_MAX + 32], *addr, *colon, *tail;
	int kind;
	long port;

	if (len >= sizeof(buf))
		return 0;
	memcpy(buf, err, len);
	buf[len] = '\0';
	if (!strncmp(buf, "MOVED ", 6))
		kind = 1;
	else if (!strncmp(buf, "ASK ", 4))
		kind = 2;
	else
		return 0;
	addr = strchr(buf + 4, ' ');
	colon = addr ? strrchr(addr, ':') : NULL;
	if (!colon || colon - addr - 1 >= (long)sizeof(to->host))
		return 0;
	port = strtol(colon + 1, &tail, 10);
	if (*tail || port < 1 || port > 65535)
		return 0;
	*colon = '\0';
	strcpy(to->host, addr + 1);
	to->port = (int)port;
	return kind;
}
