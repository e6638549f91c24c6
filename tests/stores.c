// SPDX-License-Identifier: MIT
/*
 * The store table of the backup suite; see stores.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "stores.h"

static struct uttm_backup *shmem_create(struct uttm_arena *arena,
					struct uttm_fault *fault,
					uint64_t capacity)
{
	struct uttm_backup_shmem_params params = { .capacity = capacity,
						   .fault = fault };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_shmem_create(&params, &backup), 0);
	return backup;
}

static struct uttm_backup *insert_create(struct uttm_arena *arena,
					 struct uttm_fault *fault,
					 uint64_t capacity)
{
	struct uttm_backup_insert_params params = { .arena = arena,
						    .capacity = capacity,
						    .fault = fault };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_insert_create(&params, &backup), 0);
	return backup;
}

static struct uttm_backup *compressed(enum uttm_compressor compressor,
				      struct uttm_fault *fault,
				      uint64_t capacity)
{
	struct uttm_backup_compressed_params params = {
		.cap = capacity, .compressor = compressor, .fault = fault,
	};
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	return backup;
}

static struct uttm_backup *lz4_create(struct uttm_arena *arena,
				      struct uttm_fault *fault,
				      uint64_t capacity)
{
	return compressed(UTTM_COMPRESSOR_LZ4, fault, capacity);
}

static struct uttm_backup *zstd_create(struct uttm_arena *arena,
				       struct uttm_fault *fault,
				       uint64_t capacity)
{
	return compressed(UTTM_COMPRESSOR_ZSTD, fault, capacity);
}

static struct uttm_backup *file_store(struct uttm_fault *fault,
				      uint64_t capacity, unsigned int flags)
{
	struct uttm_backup_file_params params = { .max_bytes = capacity,
						  .flags = flags,
						  .fault = fault };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_file_create(&params, &backup), 0);
	return backup;
}

/* io_uring when the kernel allows it, else the synchronous path. */
static struct uttm_backup *file_create(struct uttm_arena *arena,
				       struct uttm_fault *fault,
				       uint64_t capacity)
{
	return file_store(fault, capacity, 0);
}

static struct uttm_backup *file_sync_create(struct uttm_arena *arena,
					    struct uttm_fault *fault,
					    uint64_t capacity)
{
	return file_store(fault, capacity, UTTM_BACKUP_FILE_SYNC);
}

static const struct store_case store_cases[] = {
	{ "shmem", shmem_create, false },
	{ "insert", insert_create, true },
	{ "compressed", lz4_create, false },
	{ "compressed-zstd", zstd_create, false },
	{ "file", file_create, false },
	{ "file-sync", file_sync_create, false },
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
	return store->create(arena, fault, capacity);
}
