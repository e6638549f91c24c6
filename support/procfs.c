// SPDX-License-Identifier: MIT
/*
 * Reading /proc; see procfs.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "support/procfs.h"

uint64_t proc_number(const char *path, const char *key)
{
	unsigned long long n = 0;
	size_t len = strlen(key);
	char line[256];
	FILE *f = fopen(path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, len)) {
			n = strtoull(line + len, NULL, 10);
			break;
		}
	}
	fclose(f);
	return n;
}

uint64_t status_bytes(const char *field)
{
	char key[64];

	snprintf(key, sizeof(key), "%s:", field);
	return proc_number("/proc/self/status", key) * 1024;
}

uint64_t swap_free_bytes(void)
{
	return proc_number("/proc/meminfo", "SwapFree:") * 1024;
}

uint64_t pss_bytes(void)
{
	return proc_number("/proc/self/smaps_rollup", "Pss:") * 1024;
}

/* Files mapped by the process, by device and inode. */
struct mapped_files {
	dev_t dev[512];
	ino_t ino[512];
	unsigned int count;
};

static void read_mapped_files(struct mapped_files *m)
{
	unsigned int major, minor;
	unsigned long long ino;
	char line[512];
	FILE *f = fopen("/proc/self/maps", "re");

	m->count = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f) && m->count < 512) {
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &major, &minor,
			   &ino) != 3 || !ino)
			continue;
		m->dev[m->count] = makedev(major, minor);
		m->ino[m->count++] = (ino_t)ino;
	}
	fclose(f);
}

static bool is_mapped(const struct mapped_files *m, const struct stat *st)
{
	for (unsigned int i = 0; i < m->count; i++)
		if (m->ino[i] == st->st_ino && m->dev[i] == st->st_dev)
			return true;
	return false;
}

/* cachestat(2), Linux 6.5, which the C library may not know yet. */
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct cachestat_range {
	uint64_t off;
	uint64_t len;
};

struct cachestat {
	uint64_t nr_cache;
	uint64_t nr_dirty;
	uint64_t nr_writeback;
	uint64_t nr_evicted;
	uint64_t nr_recently_evicted;
};

/* Pages of the file behind @fd in memory, as mincore() sees them. */
static uint64_t mincore_bytes(int fd, off_t size)
{
	const size_t chunk_pages = 16384;
	unsigned char vec[16384];
	uint64_t n = 0;
	char *map;

	map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		return 0;
	for (off_t off = 0; off < size; off += (off_t)chunk_pages * 4096) {
		size_t len = (size_t)(size - off) < chunk_pages * 4096 ?
			     (size_t)(size - off) : chunk_pages * 4096;

		if (mincore(map + off, len, vec))
			break;
		for (size_t i = 0; i < (len + 4095) / 4096; i++)
			n += vec[i] & 1;
	}
	munmap(map, (size_t)size);
	return n * 4096;
}

/*
 * Pages of the file behind @fd in its page cache: cachestat(2)'s count,
 * which, unlike mincore(), leaves out a memfd's pages that went to swap
 * but linger clean in the swap cache, memory the kernel takes back
 * without I/O as it does clean page cache.  mincore() where the kernel
 * lacks cachestat.
 */
static uint64_t file_resident_bytes(int fd, off_t size)
{
	struct cachestat_range range = { 0, (uint64_t)size };
	struct cachestat cs;

	if (!size)
		return 0;
	if (!syscall(__NR_cachestat, fd, &range, &cs, 0))
		return cs.nr_cache * 4096;
	return mincore_bytes(fd, size);
}

uint64_t unmapped_files_resident_bytes(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct mapped_files mapped;
	struct dirent *e;
	uint64_t bytes = 0;

	if (!d)
		return 0;
	read_mapped_files(&mapped);
	while ((e = readdir(d))) {
		int fd = atoi(e->d_name);
		struct stat st;

		if (e->d_name[0] == '.' || fd == dirfd(d) || fstat(fd, &st) ||
		    !S_ISREG(st.st_mode) || is_mapped(&mapped, &st))
			continue;
		bytes += file_resident_bytes(fd, st.st_size);
	}
	closedir(d);
	return bytes;
}

int sys_write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

int sys_read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)size, f))
		ret = -EIO;
	else
		buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
	return ret;
}
