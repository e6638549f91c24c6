// SPDX-License-Identifier: MIT
/*
 * Reads what the kernel says about memory and swap for this process.
 *
 * The pressure monitor reclaims through these functions when memory is
 * short, possibly in a cgroup at its limit where any new page would wait
 * for the reclaim itself; so they read files with read(2) into the
 * caller's buffers and never allocate.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "base/base.h"

int uttm_sysmem_read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int uttm_sysmem_read_u64(const char *path, uint64_t *value)
{
	char buf[64], *end;
	int ret = uttm_sysmem_read_text(path, buf, sizeof(buf));

	if (ret)
		return ret;
	if (!strncmp(buf, "max", 3)) {
		*value = UINT64_MAX;
		return 0;
	}
	errno = 0;
	*value = strtoull(buf, &end, 10);
	return end == buf || errno ? -EINVAL : 0;
}

/* Whether the comma-separated @list names @controller. */
static bool lists_controller(const char *list, const char *controller)
{
	size_t len = strlen(controller);

	for (const char *p = list; p; p = strchr(p, ',')) {
		if (*p == ',')
			p++;
		if (!strncmp(p, controller, len) && (!p[len] || p[len] == ','))
			return true;
	}
	return false;
}

/*
 * Finds the line of /proc/self/cgroup whose controller list is @controllers
 * exactly ("" for cgroup v2) or contains @controller, and copies its path.
 */
static int cgroup_line(const char *controller, char *rel, size_t size)
{
	char buf[4096], *line, *save, *list, *path;

	if (uttm_sysmem_read_text("/proc/self/cgroup", buf, sizeof(buf)))
		return -ENOENT;
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		list = strchr(line, ':');
		path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		list++;
		if (controller ? lists_controller(list, controller) : !*list) {
			snprintf(rel, size, "%s", path);
			return 0;
		}
	}
	return -ENOENT;
}

/* The cgroup v2 hierarchy is mounted alone or, on hybrid systems, here. */
static const char *const cgroup2_roots[] = {
	"/sys/fs/cgroup", "/sys/fs/cgroup/unified",
};

bool uttm_sysmem_in_cgroup2_root(void)
{
	char rel[512];

	return cgroup_line(NULL, rel, sizeof(rel)) || !strcmp(rel, "/");
}

int uttm_sysmem_cgroup2_file(const char *file, char *path, size_t size)
{
	char rel[512];

	if (cgroup_line(NULL, rel, sizeof(rel)))
		return -ENOENT;
	for (size_t i = 0; i < ARRAY_SIZE(cgroup2_roots); i++) {
		int len = snprintf(path, size, "%s%s/%s", cgroup2_roots[i],
				   strcmp(rel, "/") ? rel : "", file);

		if (len > 0 && (size_t)len < size && !access(path, R_OK))
			return 0;
	}
	return -ENOENT;
}

int uttm_sysmem_cgroup1_dir(const char *controller, char *path, size_t size)
{
	char rel[512];

	if (cgroup_line(controller, rel, sizeof(rel)))
		return -ENOENT;
	snprintf(path, size, "/sys/fs/cgroup/%s%s", controller,
		 strcmp(rel, "/") ? rel : "");
	return access(path, R_OK) ? -ENOENT : 0;
}

/* Reads the number in @file of the directory @dir (or "max"). */
static int read_level_u64(const char *dir, const char *file, uint64_t *value)
{
	char path[UTTM_CGROUP_PATH + 32];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return uttm_sysmem_read_u64(path, value);
}

/*
 * Appends @root@rel and each of its parents below @root to @levels, as
 * far as they have @probe: the levels of one hierarchy, the process's own
 * first.
 */
static void add_levels(struct uttm_cgroup_levels *levels, const char *root,
		       char *rel, const char *probe)
{
	char *slash;

	while (levels->count < UTTM_CGROUP_MAX_LEVELS && strcmp(rel, "/") &&
	       *rel) {
		char *dir = levels->dirs[levels->count];
		char path[UTTM_CGROUP_PATH + 32];

		snprintf(dir, UTTM_CGROUP_PATH, "%s%s", root, rel);
		snprintf(path, sizeof(path), "%s/%s", dir, probe);
		if (access(path, R_OK))
			break;
		levels->count++;
		/* "/a/b" becomes "/a", and "/a" becomes "/", which ends it. */
		slash = strrchr(rel, '/');
		if (!slash)
			break;
		if (slash == rel)
			slash++;
		*slash = '\0';
	}
}

int uttm_sysmem_cgroup_levels(struct uttm_cgroup_levels *levels)
{
	char rel[512];

	levels->count = 0;
	levels->v2 = true;
	if (!cgroup_line(NULL, rel, sizeof(rel)))
		for (size_t i = 0; i < ARRAY_SIZE(cgroup2_roots) &&
				   !levels->count; i++)
			add_levels(levels, cgroup2_roots[i], rel,
				   "memory.current");
	if (levels->count)
		return 0;
	levels->v2 = false;
	if (!cgroup_line("memory", rel, sizeof(rel)))
		add_levels(levels, "/sys/fs/cgroup/memory", rel,
			   "memory.usage_in_bytes");
	return levels->count ? 0 : -ENOENT;
}

/* The limit of one level: the lower of memory.max and memory.high on v2. */
static uint64_t level_limit(const struct uttm_cgroup_levels *levels,
			    unsigned int i)
{
	uint64_t max = UINT64_MAX, high = UINT64_MAX;

	if (!levels->v2) {
		read_level_u64(levels->dirs[i], "memory.limit_in_bytes", &max);
		return max;
	}
	read_level_u64(levels->dirs[i], "memory.max", &max);
	read_level_u64(levels->dirs[i], "memory.high", &high);
	return MIN(max, high);
}

uint64_t uttm_sysmem_text_number(const char *text, const char *key)
{
	size_t len = strlen(key);

	for (const char *line = text; line; line = strchr(line, '\n')) {
		line += *line == '\n';
		if (!strncmp(line, key, len))
			return strtoull(line + len, NULL, 10);
	}
	return 0;
}

/*
 * Swap cache charged to one level: pages already written to swap whose
 * copy in memory the kernel drops first, without I/O, when the level
 * nears its limit.  MADV_PAGEOUT leaves every page it writes there until
 * then.
 */
static uint64_t level_swap_cache(const struct uttm_cgroup_levels *levels,
				 unsigned int i)
{
	char path[UTTM_CGROUP_PATH + 32], stat[4096];

	snprintf(path, sizeof(path), "%s/memory.stat", levels->dirs[i]);
	if (uttm_sysmem_read_text(path, stat, sizeof(stat)))
		return 0;
	/* v1's own counters leave out the levels below; total_ ones do not. */
	return uttm_sysmem_text_number(stat, levels->v2 ? "swapcached " :
							  "total_swapcached ");
}

void uttm_sysmem_cgroup_room(const struct uttm_cgroup_levels *levels,
			     uint64_t *limit, uint64_t *headroom)
{
	*limit = UINT64_MAX;
	*headroom = UINT64_MAX;
	for (unsigned int i = 0; i < levels->count; i++) {
		uint64_t lim = level_limit(levels, i), usage, cache;

		/* v1 says "no limit" with the largest page-aligned number. */
		if (lim >= UTTM_CGROUP_UNLIMITED ||
		    read_level_u64(levels->dirs[i], levels->v2 ?
				   "memory.current" : "memory.usage_in_bytes",
				   &usage))
			continue;
		cache = level_swap_cache(levels, i);
		usage -= MIN(usage, cache);
		*limit = MIN(*limit, lim);
		*headroom = MIN(*headroom, lim > usage ? lim - usage : 0);
	}
}

bool uttm_sysmem_swap_in_use(void)
{
	struct sysinfo si;

	/* Unknown counts as in use: reading ahead then costs only time. */
	return sysinfo(&si) || si.freeswap < si.totalswap;
}

uint64_t uttm_sysmem_swap_free_bytes(void)
{
	uint64_t free_swap, max, current;
	struct sysinfo si;
	char path[512];

	if (sysinfo(&si))
		return 0;
	free_swap = (uint64_t)si.freeswap * si.mem_unit;
	if (!uttm_sysmem_cgroup2_file("memory.swap.max", path, sizeof(path)) &&
	    !uttm_sysmem_read_u64(path, &max) &&
	    !uttm_sysmem_cgroup2_file("memory.swap.current", path,
				      sizeof(path)) &&
	    !uttm_sysmem_read_u64(path, &current))
		free_swap = MIN(free_swap, max > current ? max - current : 0);
	return free_swap;
}

uint64_t uttm_sysmem_store_room(uint64_t capacity, uint64_t used)
{
	if (!capacity)
		return uttm_sysmem_swap_free_bytes();
	return capacity > used ? capacity - used : 0;
}
