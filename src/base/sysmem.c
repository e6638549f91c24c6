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
		snprintf(path, size, "%s%s/%s", cgroup2_roots[i],
			 strcmp(rel, "/") ? rel : "", file);
		if (!access(path, R_OK))
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
