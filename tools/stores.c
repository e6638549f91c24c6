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

/* A file store of the capacity asked, and where its file is, on stderr. */
static int make_file_of(const struct store_request *req,
			struct uttm_fault *fault, struct uttm_backup **out)
{
	const struct uttm_backup_file_params p = { .path = req->path,
						   .max_bytes = req->capacity,
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
	return make_file_of(req, req->fault, out);
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

static int make_redis_of(const struct store_request *req,
			 struct uttm_fault *fault, struct uttm_backup **out)
{
	const struct uttm_backup_redis_params p = {
		.url = req->redis_url,
		.password = req->redis_password,
		.max_bytes = req->capacity,
		.fault = fault,
	};

	return uttm_backup_redis_create(&p, out);
}

static int make_redis(const struct store_request *req,
		      struct uttm_backup **out)
{
	return make_redis_of(req, req->fault, out);
}

/*
 * Compressed memory over a lower store that @make_lower makes: pages
 * move down as it fills.  The lower store gets no injector: the
 * compressed store consults it for each page already.
 */
static int make_tier(const struct store_request *req,
		     int (*make_lower)(const struct store_request *req,
				       struct uttm_fault *fault,
				       struct uttm_backup **out),
		     struct uttm_backup **out)
{
	struct uttm_backup_compressed_params p = {
		.cap = req->memory,
		.fault = req->fault,
	};
	int ret = make_lower(req, NULL, &p.lower);

	if (ret)
		return ret;
	ret = uttm_backup_compressed_create(&p, out);
	uttm_backup_put(p.lower);
	return ret;
}

static int make_compressed_file(const struct store_request *req,
				struct uttm_backup **out)
{
	return make_tier(req, make_file_of, out);
}

static int make_compressed_redis(const struct store_request *req,
				 struct uttm_backup **out)
{
	return make_tier(req, make_redis_of, out);
}

/*
 * @needs_swap: it frees memory only by swapping; @in_files: it writes
 * files under --store-path; @on_redis: it talks to --redis; @memory_share:
 * the share of the budget (1/n) it keeps in memory itself, 0 for none.
 */
static const struct {
	const char *name;
	int (*create)(const struct store_request *req,
		      struct uttm_backup **out);
	bool needs_swap;
	bool in_files;
	bool on_redis;
	unsigned int memory_share;
} stores[] = {
	{ "shmem", make_shmem, .needs_swap = true },
	{ "insert", make_insert, .needs_swap = true },
	{ "file", make_file, .in_files = true },
	/* Compressed pages stay in memory: a third of the budget. */
	{ "compressed", make_compressed, .memory_share = 3 },
	/* Pages leave for the server: none stays here. */
	{ "redis", make_redis, .on_redis = true },
	{ "compressed-file", make_compressed_file, .in_files = true,
	  .memory_share = 3 },
	{ "compressed-redis", make_compressed_redis, .on_redis = true,
	  .memory_share = 3 },
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
	struct uttm_backup_file_params fp = { .path = NULL };
	struct uttm_backup *probe;
	int ret = uttm_backup_file_create(&fp, &probe);

	if (!ret)
		uttm_backup_put(probe);
	return ret == -EMEDIUMTYPE && swap_free_bytes() ? "shmem" : "file";
}

const char *tool_store_names(void)
{
	return "shmem|insert|file|compressed|compressed-file|redis|"
	       "compressed-redis";
}

const char *tool_store_error(const char *name, int error)
{
	int i = store_index(name);
	bool redis = i >= 0 && stores[i].on_redis;

	if (redis && error == -EMEDIUMTYPE)
		return "the Redis server may evict keys (its maxmemory-policy "
		       "is not noeviction), which would lose pages";
	if (redis && error == -EOPNOTSUPP)
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
