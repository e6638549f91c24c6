// SPDX-License-Identifier: MIT
/*
 * Reads what the kernel says about memory and swap for this process.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "internal.h"
#include "sysmem.h"

int __uttm_read_u64(const char *path, uint64_t *value)
{
	unsigned long long n;
	char buf[64];
	FILE *f = fopen(path, "re");
	int ret = -EINVAL;

	if (!f)
		return -errno;
	if (fgets(buf, sizeof(buf), f)) {
		if (!strncmp(buf, "max", 3)) {
			*value = UINT64_MAX;
			ret = 0;
		} else if (sscanf(buf, "%llu", &n) == 1) {
			*value = n;
			ret = 0;
		}
	}
	fclose(f);
	return ret;
}

/* The cgroup v2 hierarchy is mounted alone or, on hybrid systems, here. */
static const char *const cgroup2_roots[] = {
	"/sys/fs/cgroup", "/sys/fs/cgroup/unified",
};

int __uttm_cgroup2_file(const char *file, char *path, size_t size)
{
	char line[512], *rel = NULL;
	FILE *f = fopen("/proc/self/cgroup", "re");

	if (!f)
		return -ENOENT;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			rel = line + 3;
			rel[strcspn(rel, "\n")] = '\0';
			break;
		}
	}
	fclose(f);
	if (!rel)
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(cgroup2_roots); i++) {
		snprintf(path, size, "%s%s/%s", cgroup2_roots[i],
			 strcmp(rel, "/") ? rel : "", file);
		if (!access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

uint64_t __uttm_swap_free_bytes(void)
{
	uint64_t free_swap, max, current;
	struct sysinfo si;
	char path[512];

	if (sysinfo(&si))
		return 0;
	free_swap = (uint64_t)si.freeswap * si.mem_unit;
	if (!__uttm_cgroup2_file("memory.swap.max", path, sizeof(path)) &&
	    !__uttm_read_u64(path, &max) &&
	    !__uttm_cgroup2_file("memory.swap.current", path, sizeof(path)) &&
	    !__uttm_read_u64(path, &current))
		free_swap = MIN(free_swap, max > current ? max - current : 0);
	return free_swap;
}

uint64_t __uttm_store_room(uint64_t capacity, uint64_t used)
{
	if (!capacity)
		return __uttm_swap_free_bytes();
	return capacity > used ? capacity - used : 0;
}
