/* SPDX-License-Identifier: MIT */
/*
 * The stores the tool can use, by name, and the default: one that really
 * frees memory on this machine.
 */
#ifndef UTTM_TOOL_STORES_H
#define UTTM_TOOL_STORES_H

#include <stdint.h>
#include <stdio.h>

#include <uttm/backup.h>

/**
 * struct store_request - what a store needs to be made
 * @arena: the arena of the vectors it will serve.
 * @capacity: bytes it must be able to take.
 * @memory: bytes of memory a store that keeps pages in memory may use.
 * @path: where a file store puts its file (NULL: the default directory,
 * on disk).
 * @fault: fault injector of the store, or NULL.
 * @redis_url: the server of a Redis store (NULL: 127.0.0.1:6379).
 * @redis_password: its password (NULL: from the URL or
 * $UTTM_REDIS_PASSWORD).  Never printed.
 */
struct store_request {
	struct uttm_arena *arena;
	uint64_t capacity;
	uint64_t memory;
	const char *path;
	struct uttm_fault *fault;
	const char *redis_url;
	const char *redis_password;
};

/* Whether @name is the name of a store, for checking options early. */
bool tool_store_valid(const char *name);

/*
 * Creates the store called @name, saying on stderr where a file store's
 * file is; -ENOENT for an unknown name.
 */
int tool_store_create(const char *name, const struct store_request *req,
		      struct uttm_backup **out);

/*
 * What went wrong when store @name could not be made with @error, for a
 * message: strerror() unless the store has more to say.
 */
const char *tool_store_error(const char *name, int error);

/*
 * The default store's name: the fastest that frees memory here, a file
 * on disk (4.9 times shmem over a swap file on the development machine,
 * which pays for swap and a copy); shmem over swap when no directory the
 * file store would take is on disk.
 */
const char *tool_store_default(void);

/* The names, separated by '|', for usage messages. */
const char *tool_store_names(void);

/* Whether pages in store @name only leave memory through swap. */
bool tool_store_needs_swap(const char *name);

/* Whether store @name writes its pages to files (under --store-path). */
bool tool_store_in_files(const char *name);

/*
 * Share of a memory budget (1/n) that store @name keeps in memory itself,
 * or 0 for a store that keeps nothing in memory.
 */
unsigned int tool_store_memory_share(const char *name);

/* The name of the file system of @path if it keeps files in memory, else NULL. */
const char *tool_dir_filesystem(const char *path);

#endif /* UTTM_TOOL_STORES_H */
