// SPDX-License-Identifier: MIT
/*
 * Where the peers of `uttm bench e2e` keep their objects: side by side in
 * one mapping, each behind a mutex so that two workers never touch the
 * same object at once, as uttm's object lock does.  Anonymous memory is
 * what a program without uttm has, for the kernel to swap; a file mapped
 * MAP_SHARED is the other thing such a program may do, leaving the page
 * cache to keep what fits and write the rest back.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <uttm/page.h>

#include "bench/e2e.h"

struct mapped {
	char *mem;
	uint64_t object_size;
	pthread_mutex_t *locks;
};

static int mapped_begin(struct workload *wl, unsigned long id,
			bool *restored)
{
	struct mapped *m = workload_priv(wl);

	pthread_mutex_lock(&m->locks[id]);
	return 0;
}

static void *mapped_page(struct workload *wl, unsigned long id,
			 unsigned long index)
{
	struct mapped *m = workload_priv(wl);

	return m->mem + id * m->object_size + index * UTTM_PAGE_SIZE;
}

static void mapped_end(struct workload *wl, unsigned long id)
{
	struct mapped *m = workload_priv(wl);

	pthread_mutex_unlock(&m->locks[id]);
}

static const struct workload_backend mapped_backend = {
	.begin = mapped_begin,
	.page = mapped_page,
	.end = mapped_end,
};

/*
 * A file of @bytes without a name, its blocks allocated as the file store
 * allocates its slots, so that neither side pays for allocation.
 */
static int open_file(const char *dir, uint64_t bytes)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600), ret;

	if (fd < 0)
		return -errno;
	ret = posix_fallocate(fd, 0, (off_t)bytes);
	if (ret) {
		close(fd);
		return -ret;
	}
	return fd;
}

static int map(const char *dir, uint64_t bytes, char **mem)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, fd = -1;
	void *p;

	if (dir) {
		fd = open_file(dir, bytes);
		if (fd < 0)
			return fd;
		flags = MAP_SHARED;
	}
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, flags, fd, 0);
	if (fd >= 0)
		close(fd);	/* the mapping keeps the file */
	if (p == MAP_FAILED)
		return -ENOMEM;
	*mem = p;
	return 0;
}

int e2e_run_mapped(const struct workload_options *o, const char *dir,
		   struct workload_result *res)
{
	uint64_t total = o->objects * o->object_size;
	struct mapped m = { .object_size = o->object_size };
	int ret = map(dir, total, &m.mem);

	if (ret)
		return ret;
	m.locks = calloc(o->objects, sizeof(*m.locks));
	ret = m.locks ? 0 : -ENOMEM;
	for (unsigned long i = 0; !ret && i < o->objects; i++)
		pthread_mutex_init(&m.locks[i], NULL);
	if (!ret)
		ret = workload_run(o, &mapped_backend, &m, res);
	free(m.locks);
	munmap(m.mem, total);
	return ret;
}
