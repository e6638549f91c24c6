// SPDX-License-Identifier: MIT
/*
 * The store table of the backup suite; see stores.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "stores.h"
#ifdef UTTM_TEST_REDIS
#include "redis_env.h"
#endif

static int shmem_create(struct uttm_arena *arena, struct uttm_fault *fault,
			uint64_t capacity, struct uttm_backup **out)
{
	const struct uttm_backup_shmem_params params = { .capacity = capacity,
							 .fault = fault };

	return uttm_backup_shmem_create(&params, out);
}

static int insert_create(struct uttm_arena *arena, struct uttm_fault *fault,
			 uint64_t capacity, struct uttm_backup **out)
{
	const struct uttm_backup_insert_params params = { .arena = arena,
							  .capacity = capacity,
							  .fault = fault };

	return uttm_backup_insert_create(&params, out);
}

static int compressed(enum uttm_compressor compressor,
		      struct uttm_fault *fault, uint64_t capacity,
		      struct uttm_backup **out)
{
	const struct uttm_backup_compressed_params params = {
		.cap = capacity, .compressor = compressor, .fault = fault,
	};

	return uttm_backup_compressed_create(&params, out);
}

static int lz4_create(struct uttm_arena *arena, struct uttm_fault *fault,
		      uint64_t capacity, struct uttm_backup **out)
{
	return compressed(UTTM_COMPRESSOR_LZ4, fault, capacity, out);
}

static int zstd_create(struct uttm_arena *arena, struct uttm_fault *fault,
		       uint64_t capacity, struct uttm_backup **out)
{
	return compressed(UTTM_COMPRESSOR_ZSTD, fault, capacity, out);
}

static int file_store(struct uttm_fault *fault, uint64_t capacity,
		      unsigned int flags, struct uttm_backup **out)
{
	const struct uttm_backup_file_params params = { .max_bytes = capacity,
							.flags = flags,
							.fault = fault };

	return uttm_backup_file_create(&params, out);
}

/* io_uring when the kernel allows it, else the synchronous path. */
static int file_create(struct uttm_arena *arena, struct uttm_fault *fault,
		       uint64_t capacity, struct uttm_backup **out)
{
	return file_store(fault, capacity, 0, out);
}

static int file_sync_create(struct uttm_arena *arena, struct uttm_fault *fault,
			    uint64_t capacity, struct uttm_backup **out)
{
	return file_store(fault, capacity, UTTM_BACKUP_FILE_SYNC, out);
}

/*
 * The compressed store as a tier: a quarter of @capacity in memory, the
 * rest in a store below it that @lower_create makes, so that pages move
 * down as it fills.  The injector is the compressed store's alone.
 */
static int tier_create_over(int (*lower_create)(struct uttm_arena *arena,
						struct uttm_fault *fault,
						uint64_t capacity,
						struct uttm_backup **out),
			    struct uttm_arena *arena, struct uttm_fault *fault,
			    uint64_t capacity, struct uttm_backup **out)
{
	uint64_t cap = MAX(capacity / 4, 4 * UTTM_PAGE_SIZE);
	struct uttm_backup_compressed_params params = { .cap = cap,
							.fault = fault };
	int ret = lower_create(arena, NULL, capacity - cap, &params.lower);

	if (ret)
		return ret;
	ret = uttm_backup_compressed_create(&params, out);
	uttm_backup_put(params.lower);
	return ret;
}

static int file_tier_create(struct uttm_arena *arena, struct uttm_fault *fault,
			    uint64_t capacity, struct uttm_backup **out)
{
	return tier_create_over(file_create, arena, fault, capacity, out);
}

#ifdef UTTM_TEST_REDIS
static int redis_store(const struct redis_server *s, struct uttm_fault *fault,
		       uint64_t capacity, struct uttm_backup **out)
{
	struct uttm_backup_redis_params params = { .max_bytes = capacity,
						   .fault = fault };

	return redis_env_create(s, &params, out);
}

static int redis_create(struct uttm_arena *arena, struct uttm_fault *fault,
			uint64_t capacity, struct uttm_backup **out)
{
	return redis_store(redis_env_server(), fault, capacity, out);
}

static int redis_cluster_create(struct uttm_arena *arena,
				struct uttm_fault *fault, uint64_t capacity,
				struct uttm_backup **out)
{
	return redis_store(&redis_env_cluster()->nodes[0], fault, capacity,
			   out);
}

static int redis_tier_create(struct uttm_arena *arena,
			     struct uttm_fault *fault, uint64_t capacity,
			     struct uttm_backup **out)
{
	return tier_create_over(redis_create, arena, fault, capacity, out);
}
#endif

static const struct store_case store_cases[] = {
	{ "shmem", shmem_create, false, false, NULL },
	{ "insert", insert_create, true, false, NULL },
	{ "compressed", lz4_create, false, false, NULL },
	{ "compressed-zstd", zstd_create, false, false, NULL },
	{ "file", file_create, false, true, NULL },
	{ "file-sync", file_sync_create, false, true, NULL },
	{ "compressed-file", file_tier_create, false, false, NULL },
#ifdef UTTM_TEST_REDIS
	{ "redis", redis_create, false, true, redis_env_unavailable },
	{ "redis-cluster", redis_cluster_create, false, true,
	  redis_env_unavailable },
	{ "compressed-redis", redis_tier_create, false, false,
	  redis_env_unavailable },
#endif
};

const struct store_case *store_by_name(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(store_cases); i++)
		if (!strcmp(name, store_cases[i].name))
			return &store_cases[i];
	return NULL;
}

const struct store_case *store_from_args(int argc, char **argv)
{
	const struct store_case *store = argc > 1 ? store_by_name(argv[1]) :
						    NULL;
	const char *why;

	if (store && store->unavailable && (why = store->unavailable())) {
		printf("SKIP %s: %s\n", store->name, why);
		exit(TEST_SKIP);
	}
	if (store)
		return store;
	fprintf(stderr, "usage: %s STORE (", argv[0]);
	for (size_t i = 0; i < ARRAY_SIZE(store_cases); i++)
		fprintf(stderr, "%s%s", i ? "|" : "", store_cases[i].name);
	fprintf(stderr, ")\n");
	exit(2);
}

struct uttm_backup *store_create(const struct store_case *store,
				 struct uttm_arena *arena,
				 struct uttm_fault *fault, uint64_t capacity)
{
	struct uttm_backup *backup;

	assert_int_equal(store->create(arena, fault, capacity, &backup), 0);
	return backup;
}
