// SPDX-License-Identifier: MIT
/*
 * zram swap devices; see zram.h.  The order is the one zram requires: the
 * compressor before the size, the size before any I/O; a reset frees the
 * device's memory and size before it can be removed or set up again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/swap.h>
#include <unistd.h>

#include "support/procfs.h"
#include "support/swapfile.h"
#include "support/zram.h"

#define CONTROL "/sys/class/zram-control"
/* Devices an unused one is looked for among, without zram-control. */
#define MAX_SCANNED 16

static void attr_path(const struct zram *z, const char *attr, char *path,
		      size_t size)
{
	snprintf(path, size, "/sys/block/zram%d/%s", z->id, attr);
}

static int attr_write(const struct zram *z, const char *attr,
		      const char *text)
{
	char path[96];

	attr_path(z, attr, path, sizeof(path));
	return sys_write_text(path, text);
}

static int attr_read(const struct zram *z, const char *attr, char *buf,
		     size_t size)
{
	char path[96];

	attr_path(z, attr, path, sizeof(path));
	return sys_read_line(path, buf, size);
}

/* A device of nobody's: no size yet, so neither swap nor a file system. */
static bool unused(const struct zram *z)
{
	char line[32];

	return !attr_read(z, "disksize", line, sizeof(line)) &&
	       !strcmp(line, "0");
}

/* A device of our own, or failing zram-control an unused one. */
static int find_device(struct zram *z)
{
	char line[32];

	z->added = !sys_read_line(CONTROL "/hot_add", line, sizeof(line));
	if (z->added) {
		z->id = atoi(line);
		return 0;
	}
	for (z->id = 0; z->id < MAX_SCANNED; z->id++)
		if (unused(z))
			return 0;
	return -ENOENT;
}

/* The compressor in use: "lzo [lz4] zstd" names it in brackets. */
static int save_algorithm(struct zram *z)
{
	char line[256], *open, *close;
	int ret = attr_read(z, "comp_algorithm", line, sizeof(line));

	open = ret ? NULL : strchr(line, '[');
	close = open ? strchr(open, ']') : NULL;
	if (!close)
		return ret ? ret : -EIO;
	*close = '\0';
	snprintf(z->algorithm, sizeof(z->algorithm), "%s", open + 1);
	return 0;
}

/* Writes the swap header on the device, which must then be swapped on. */
static int format(const struct zram *z, uint64_t bytes)
{
	int fd = open(z->dev, O_WRONLY | O_CLOEXEC), ret;

	if (fd < 0)
		return -errno;
	ret = swap_header_write(fd, bytes);
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

static void release(struct zram *z)
{
	char id[16];

	attr_write(z, "reset", "1");
	if (z->added) {
		snprintf(id, sizeof(id), "%d", z->id);
		sys_write_text(CONTROL "/hot_remove", id);
	} else if (z->algorithm[0]) {
		attr_write(z, "comp_algorithm", z->algorithm);
	}
}

int zram_create(struct zram *z, const char *algorithm, uint64_t bytes,
		int priority)
{
	int flags = SWAP_FLAG_PREFER |
		    ((priority << SWAP_FLAG_PRIO_SHIFT) & SWAP_FLAG_PRIO_MASK);
	char size[32];
	int ret = find_device(z);

	if (ret)
		return ret;
	z->algorithm[0] = '\0';
	snprintf(z->dev, sizeof(z->dev), "/dev/zram%d", z->id);
	snprintf(size, sizeof(size), "%llu", (unsigned long long)bytes);
	ret = save_algorithm(z);
	if (!ret)
		ret = attr_write(z, "comp_algorithm", algorithm);
	if (!ret)
		ret = attr_write(z, "disksize", size);
	if (!ret)
		ret = format(z, bytes);
	if (!ret && swapon(z->dev, flags))
		ret = -errno;
	if (ret)
		release(z);
	return ret;
}

uint64_t zram_pool_bytes(const struct zram *z)
{
	unsigned long long orig, compressed, used;
	char line[256];

	if (attr_read(z, "mm_stat", line, sizeof(line)) ||
	    sscanf(line, "%llu %llu %llu", &orig, &compressed, &used) != 3)
		return 0;
	return used;
}

int zram_remove(struct zram *z)
{
	int ret = swap_area_off(z->dev);

	release(z);
	return ret;
}
