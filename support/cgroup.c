// SPDX-License-Identifier: MIT
/*
 * Memory cgroups; see cgroup.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support/cgroup.h"
#include "support/procfs.h"

#define V2_ROOT "/sys/fs/cgroup"
#define V1_ROOT "/sys/fs/cgroup/memory"

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	return sys_write_text(path, text);
}

/* The number after @key in control file @file of @cg; "" for the first line. */
static uint64_t read_number(const struct cgroup *cg, const char *file,
			    const char *key)
{
	char path[320];

	snprintf(path, sizeof(path), "%s/%s", cg->path, file);
	return proc_number(path, key);
}

static bool v2_has_memory(void)
{
	char line[256];

	return !sys_read_line(V2_ROOT "/cgroup.controllers", line,
			      sizeof(line)) &&
	       strstr(line, "memory") != NULL;
}

int cgroup_create(struct cgroup *cg, const char *name, uint64_t limit)
{
	char text[32];
	int ret;

	cg->v2 = v2_has_memory();
	if (!cg->v2 && access(V1_ROOT, F_OK))
		return -ENOENT;
	snprintf(cg->path, sizeof(cg->path), "%s/%s",
		 cg->v2 ? V2_ROOT : V1_ROOT, name);
	if (cg->v2)
		write_text(V2_ROOT, "cgroup.subtree_control", "+memory");
	if (mkdir(cg->path, 0755))
		return -errno;
	snprintf(text, sizeof(text), "%llu", (unsigned long long)limit);
	if (cg->v2) {
		ret = write_text(cg->path, "memory.max", text);
		if (!ret)
			ret = write_text(cg->path, "memory.swap.max", "max");
	} else {
		ret = write_text(cg->path, "memory.limit_in_bytes", text);
	}
	if (ret)
		rmdir(cg->path);
	return ret;
}

int cgroup_throttle(const struct cgroup *cg)
{
	char limit[32];
	int ret;

	if (!cg->v2)
		return write_text(cg->path, "memory.oom_control", "1");
	snprintf(limit, sizeof(limit), "%llu",
		 (unsigned long long)read_number(cg, "memory.max", ""));
	ret = write_text(cg->path, "memory.high", limit);
	return ret ? ret : write_text(cg->path, "memory.max", "max");
}

int cgroup_enter(const struct cgroup *cg)
{
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", getpid());
	return write_text(cg->path, "cgroup.procs", pid);
}

uint64_t cgroup_peak(const struct cgroup *cg)
{
	return read_number(cg, cg->v2 ? "memory.peak" :
				 "memory.max_usage_in_bytes", "");
}

uint64_t cgroup_oom_kills(const struct cgroup *cg)
{
	return read_number(cg, cg->v2 ? "memory.events" : "memory.oom_control",
			   "oom_kill ");
}

uint64_t cgroup_limit_hits(const struct cgroup *cg)
{
	return cg->v2 ? read_number(cg, "memory.events", "max ") :
			read_number(cg, "memory.failcnt", "");
}

/*
 * The path of the process's cgroup in the hierarchy whose line in
 * /proc/self/cgroup names @controller ("" for cgroup v2, whose line names
 * none).
 */
static int self_path(const char *controller, char *rel, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/self/cgroup", "re");
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (ret && fgets(line, sizeof(line), f)) {
		char *list = strchr(line, ':'), *path;

		path = list ? strchr(list + 1, ':') : NULL;
		if (!path)
			continue;
		*path++ = '\0';
		path[strcspn(path, "\n")] = '\0';
		if (strcmp(list + 1, controller))
			continue;
		snprintf(rel, size, "%s", path);
		ret = 0;
	}
	fclose(f);
	return ret;
}

int cgroup_self(struct cgroup *cg)
{
	char rel[200], probe[320];

	if (!self_path("", rel, sizeof(rel)) && strcmp(rel, "/")) {
		snprintf(cg->path, sizeof(cg->path), "%s%s", V2_ROOT, rel);
		snprintf(probe, sizeof(probe), "%s/memory.current", cg->path);
		cg->v2 = true;
		if (!access(probe, R_OK))
			return 0;
	}
	if (self_path("memory", rel, sizeof(rel)) || !strcmp(rel, "/"))
		return -ENOENT;
	snprintf(cg->path, sizeof(cg->path), "%s%s", V1_ROOT, rel);
	cg->v2 = false;
	return access(cg->path, R_OK) ? -ENOENT : 0;
}

bool cgroup_dedicated(const struct cgroup *cg)
{
	char path[320], line[32];
	bool mine = false, others = false;
	FILE *f;

	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->path);
	f = fopen(path, "re");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (atoi(line) == getpid())
			mine = true;
		else
			others = true;
	}
	fclose(f);
	return mine && !others;
}

uint64_t cgroup_usage(const struct cgroup *cg)
{
	return read_number(cg, cg->v2 ? "memory.current" :
				 "memory.usage_in_bytes", "");
}

uint64_t cgroup_limit(const struct cgroup *cg)
{
	return read_number(cg, cg->v2 ? "memory.max" :
				 "memory.limit_in_bytes", "");
}

const char *cgroup_peak_name(const struct cgroup *cg)
{
	return cg->v2 ? "cgroup v2 memory.peak" :
			"cgroup v1 memory.max_usage_in_bytes";
}

uint64_t cgroup_swap_usage(const struct cgroup *cg)
{
	if (cg->v2)
		return read_number(cg, "memory.swap.current", "");
	return read_number(cg, "memory.stat", "swap ");
}

int cgroup_remove(const struct cgroup *cg)
{
	/* The kernel may take a moment to let go of a process that exited. */
	for (int i = 0; i < 100; i++) {
		if (!rmdir(cg->path) || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		usleep(10 * 1000);
	}
	return -EBUSY;
}
