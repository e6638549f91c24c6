// SPDX-License-Identifier: MIT
/*
 * Store selection for the tool's commands.
 */
#include <errno.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statfs.h>

#include "stores.h"
#include "support/procfs.h"

static int make_shmem(const struct store_request *req,
		      struct uttm_backup **out)
{
	/* Bounded by swap: pages that cannot leave memory free nothing. */
	const struct uttm_backup_shmem_params p = { .capacity = 0,
						    .fault = req->fault };

	return uttm_backup_shmem_create(&p, out);
}

static int make_insert(const struct store_request *req,
		       struct uttm_backup **out)
{
	const struct uttm_backup_insert_params p = { .arena = req->arena,
						     .fault = req->fault };

	return uttm_backup_insert_create(&p, out);
}

/* A file store of @bytes, and where its file is said on stderr. */
static int make_file_of(const struct store_request *req, uint64_t bytes,
			struct uttm_fault *fault, struct uttm_backup **out)
{
	const struct uttm_backup_file_params p = { .path = req->path,
						   .max_bytes = bytes,
						   .fault = fault };
	struct uttm_backup_file_stats fs;
	int ret = uttm_backup_file_create(&p, out);

	if (!ret && !uttm_backup_file_stats(*out, &fs))
		fprintf(stderr, "uttm: file store in %s\n", fs.dir);
	return ret;
}

static int make_file(const struct store_request *req,
		     struct uttm_backup **out)
{
	return make_file_of(req, req->capacity, req->fault, out);
}

static int make_compressed(const struct store_request *req,
			   struct uttm_backup **out)
{
	const struct uttm_backup_compressed_params p = {
		.cap = req->memory,
		.fault = req->fault,
	};

	return uttm_backup_compressed_create(&p, out);
}

static int make_redis(const struct store_request *req,
		      struct uttm_backup **out)
{
	const struct uttm_backup_redis_params p = {
		.url = req->redis_url,
		.password = req->redis_password,
		.max_bytes = req->capacity,
		.fault = req->fault,
	};

	return uttm_backup_redis_create(&p, out);
}

/* Compressed memory over a file store: pages move down as it fills. */
static int make_compressed_file(const struct store_request *req,
				struct uttm_backup **out)
{
	struct uttm_backup_compressed_params p = {
		.cap = req->memory,
		.fault = req->fault,
	};
	/* The compressed store consults the injector for each page. */
	int ret = make_file_of(req, req->capacity, NULL, &p.lower);

	if (ret)
		return ret;
	ret = uttm_backup_compressed_create(&p, out);
	uttm_backup_put(p.lower);
	return ret;
}

static const struct {
	const char *name;
	int (*create)(const struct store_request *req,
		      struct uttm_backup **out);
	bool needs_swap;
	bool in_files;
	unsigned int memory_share;
} stores[] = {
	{ "shmem", make_shmem, true, false, 0 },
	{ "insert", make_insert, true, false, 0 },
	{ "file", make_file, false, true, 0 },
	/* Compressed pages stay in memory: a third of the budget. */
	{ "compressed", make_compressed, false, false, 3 },
	/* Pages leave for the server: none stays here. */
	{ "redis", make_redis, false, false, 0 },
	{ "compressed-file", make_compressed_file, false, true, 3 },
};

static int store_index(const char *name)
{
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		if (!strcmp(name, stores[i].name))
			return (int)i;
	return -1;
}

bool tool_store_valid(const char *name)
{
	return store_index(name) >= 0;
}

int tool_store_create(const char *name, const struct store_request *req,
		      struct uttm_backup **out)
{
	int i = store_index(name);

	return i >= 0 ? stores[i].create(req, out) : -ENOENT;
}

const char *tool_store_default(void)
{
	return swap_free_bytes() ? "shmem" : "file";
}

const char *tool_store_names(void)
{
	return "shmem|insert|file|compressed|compressed-file|redis";
}

const char *tool_store_error(const char *name, int error)
{
	if (!strcmp(name, "redis") && error == -EMEDIUMTYPE)
		return "the Redis server may evict keys (its maxmemory-policy "
		       "is not noeviction), which would lose pages";
	if (!strcmp(name, "redis") && error == -EOPNOTSUPP)
		return "this uttm was built without hiredis";
	return strerror(-error);
}

bool tool_store_needs_swap(const char *name)
{
	int i = store_index(name);

	return i >= 0 && stores[i].needs_swap;
}

bool tool_store_in_files(const char *name)
{
	int i = store_index(name);

	return i >= 0 && stores[i].in_files;
}

unsigned int tool_store_memory_share(const char *name)
{
	int i = store_index(name);

	return i >= 0 ? stores[i].memory_share : 0;
}

const char *tool_dir_filesystem(const char *path)
{
	struct statfs st;

	if (statfs(path, &st))
		return NULL;
	switch (st.f_type) {
	case TMPFS_MAGIC:
		return "tmpfs";
	case RAMFS_MAGIC:
		return "ramfs";
	default:
		return NULL;
	}
}
