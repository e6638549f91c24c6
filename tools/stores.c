// SPDX-License-Identifier: MIT
/*
 * Store selection for the tool's commands.
 */
#include <errno.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "stores.h"

static int make_shmem(const struct store_request *req,
		      struct uttm_backup **out)
{
	/* Bounded by swap: pages that cannot leave memory free nothing. */
	const struct uttm_backup_shmem_params p = { .capacity = 0 };

	return uttm_backup_shmem_create(&p, out);
}

static int make_insert(const struct store_request *req,
		       struct uttm_backup **out)
{
	const struct uttm_backup_insert_params p = { .arena = req->arena };

	return uttm_backup_insert_create(&p, out);
}

static const struct {
	const char *name;
	int (*create)(const struct store_request *req,
		      struct uttm_backup **out);
	bool needs_swap;
} stores[] = {
	{ "shmem", make_shmem, true },
	{ "insert", make_insert, true },
};

static bool has_swap(void)
{
	struct sysinfo si;

	return !sysinfo(&si) && si.freeswap;
}

int tool_store_create(const char *name, const struct store_request *req,
		      struct uttm_backup **out)
{
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		if (!strcmp(name, stores[i].name))
			return stores[i].create(req, out);
	return -ENOENT;
}

const char *tool_store_default(void)
{
	return has_swap() ? "shmem" : "file";
}

const char *tool_store_names(void)
{
	return "shmem|insert";
}

bool tool_store_needs_swap(const char *name)
{
	for (size_t i = 0; i < sizeof(stores) / sizeof(stores[0]); i++)
		if (!strcmp(name, stores[i].name))
			return stores[i].needs_swap;
	return false;
}
