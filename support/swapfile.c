// SPDX-License-Identifier: MIT
/*
 * Temporary swap files: the header mkswap would write, then swapon(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/swap.h>
#include <unistd.h>

#include "support/swapfile.h"

#define SWAP_PAGE 4096

/* The version 1 swap header: the first page of every swap area. */
struct swap_header {
	char bootbits[1024];
	uint32_t version;
	uint32_t last_page;
	uint32_t nr_badpages;
	unsigned char uuid[16];
	unsigned char volume[16];
};

int swap_header_write(int fd, uint64_t bytes)
{
	char page[SWAP_PAGE] = { 0 };
	struct swap_header *hdr = (struct swap_header *)page;

	hdr->version = 1;
	hdr->last_page = (uint32_t)(bytes / SWAP_PAGE - 1);
	memcpy(hdr->volume, "uttm", 4);
	memcpy(page + SWAP_PAGE - 10, "SWAPSPACE2", 10);
	return pwrite(fd, page, sizeof(page), 0) == sizeof(page) ? 0 : -EIO;
}

int swapfile_create(const char *path, uint64_t bytes)
{
	int fd, ret;

	if (bytes < 16 * SWAP_PAGE)
		return -EINVAL;
	fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	/* Swap files may not have holes: allocate every block. */
	ret = posix_fallocate(fd, 0, (off_t)bytes);
	if (!ret)
		ret = swap_header_write(fd, bytes);
	else
		ret = -ret;
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (!ret && swapon(path, 0))
		ret = -errno;
	if (ret)
		unlink(path);
	return ret;
}

int swap_area_off(const char *path)
{
	/* swapoff() gives up with -EINTR when a signal comes meanwhile. */
	for (int i = 0; i < 10; i++) {
		if (!swapoff(path))
			return 0;
		if (errno != EINTR)
			return -errno;
	}
	return -EINTR;
}

int swapfile_remove(const char *path)
{
	int ret = swap_area_off(path);

	if (unlink(path) && !ret)
		ret = -errno;
	return ret;
}
