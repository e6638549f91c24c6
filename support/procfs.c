// SPDX-License-Identifier: MIT
/*
 * Reading /proc; see procfs.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
