// SPDX-License-Identifier: MIT
/*
 * `uttm bench backup`: what backing up and restoring costs, next to what
 * the kernel charges for the same bytes.  In the same run it times a
 * vector's backup and restore through the shmem store, a raw vectored
 * write of the same pages into a fresh memfd and a raw read back into
 * fresh memory (the kernel's own cost for that path), and a plain memcpy
 * (the limit of any copy).  With swap, writeback is timed too.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/uio.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "uttm.h"

struct backup_round {
	double backup;		/* GB/s, shmem store, no writeback */
	double restore;		/* GB/s, restore into fresh pages */
	double restore_pooled;	/* GB/s, restore into pooled pages */
	double raw_write;	/* GB/s, pwritev into a fresh memfd */
	double raw_read;	/* GB/s, pread into fresh memory */
	double raw_read_resident; /* GB/s, pread into resident memory */
	double memcpy;		/* GB/s, memcpy into touched memory */
	double wb_backup;	/* GB/s, with writeback to swap */
	double wb_restore;	/* GB/s, restore from swap */
};

struct bench_env {
	struct uttm_arena *arena;
	struct uttm_pool pool;
	uint64_t bytes;
	bool swap;
};

static const struct uttm_operation_ctx ctx;

static double gbps(uint64_t bytes, double seconds)
{
	return (double)bytes / seconds / 1e9;
}

static struct uttm_backup *shmem_store(uint64_t capacity)
{
	struct uttm_backup_shmem_params params = { .capacity = capacity };
	struct uttm_backup *backup;

	return uttm_backup_shmem_create(&params, &backup) ? NULL : backup;
}

/* A populated vector whose pages each start with their index. */
static int filled_tt(struct bench_env *env, struct uttm_tt *tt,
		     struct uttm_backup *backup)
{
	int ret = uttm_tt_init(tt, &env->pool, env->bytes, UTTM_PLAIN, 0);

	if (ret)
		return ret;
	ret = uttm_tt_set_backup(tt, backup);
	if (!ret)
		ret = uttm_tt_populate(tt, &ctx);
	if (ret) {
		uttm_tt_fini(tt);
		return ret;
	}
	for (unsigned long i = 0; i < tt->num_pages; i++)
		memset(uttm_tt_page_address(tt, i), (int)(i * 7 + 1),
		       UTTM_PAGE_SIZE);
	return 0;
}

static int check_tt(const struct uttm_tt *tt)
{
	for (unsigned long i = 0; i < tt->num_pages; i += 97) {
		const unsigned char *p = uttm_tt_page_address(tt, i);

		if (p[0] != (unsigned char)(i * 7 + 1) ||
		    p[UTTM_PAGE_SIZE - 1] != p[0])
			return -EIO;
	}
	return 0;
}

/* Backs @tt up and restores it, timing both. */
static int cycle(struct uttm_tt *tt, bool writeback, double *backup,
		 double *restore)
{
	const struct uttm_backup_flags flags = { .writeback = writeback };
	uint64_t bytes = tt->num_pages * UTTM_PAGE_SIZE;
	double t = now_seconds();
	long n = uttm_tt_backup(tt, &flags);
	int ret;

	if (n != (long)tt->num_pages)
		return n < 0 ? (int)n : -ENOSPC;
	*backup = gbps(bytes, now_seconds() - t);
	t = now_seconds();
	ret = uttm_tt_populate(tt, &ctx);
	if (ret)
		return ret;
	*restore = gbps(bytes, now_seconds() - t);
	return check_tt(tt);
}

/* Reads @bytes of @fd into @dst in large chunks; returns seconds or -1. */
static double timed_read(int fd, char *dst, uint64_t bytes)
{
	double t = now_seconds();

	for (uint64_t off = 0; off < bytes; off += 4 << 20) {
		size_t len = (size_t)MIN_UL(bytes - off, 4 << 20);

		if (pread(fd, dst + off, len, (off_t)off) != (ssize_t)len)
			return -1;
	}
	return now_seconds() - t;
}

/*
 * The kernel's own cost: the same pages written into a fresh memfd with
 * vectored writes, then read back into fresh memory obtained the way the
 * arena obtains it (a memfd faulted in bulk), since a restore must find
 * memory for what it reads too.  The read into memory already resident is
 * reported alongside.
 */
static int raw_memfd(const struct uttm_tt *tt, double *write_gbps,
		     double *read_gbps, double *resident_read_gbps)
{
	uint64_t bytes = tt->num_pages * UTTM_PAGE_SIZE;
	struct iovec iov[IOV_MAX];
	int fd = memfd_create("uttm-bench-raw", MFD_CLOEXEC);
	int dst_fd = memfd_create("uttm-bench-dst", MFD_CLOEXEC);
	char *dst = MAP_FAILED;
	double t, read_s;
	int ret = fd < 0 || dst_fd < 0 ? -errno : 0;

	t = now_seconds();
	for (unsigned long i = 0; i < tt->num_pages && !ret; i += IOV_MAX) {
		unsigned long n = MIN_UL(tt->num_pages - i, IOV_MAX);

		for (unsigned long j = 0; j < n; j++)
			iov[j] = (struct iovec){ uttm_tt_page_address(tt, i + j),
						 UTTM_PAGE_SIZE };
		if (pwritev(fd, iov, (int)n, (off_t)(i * UTTM_PAGE_SIZE)) !=
		    (ssize_t)(n * UTTM_PAGE_SIZE))
			ret = -EIO;
	}
	*write_gbps = gbps(bytes, now_seconds() - t);
	if (!ret && ftruncate(dst_fd, (off_t)bytes))
		ret = -errno;
	if (!ret)
		dst = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED,
			   dst_fd, 0);
	if (!ret && dst == MAP_FAILED)
		ret = -ENOMEM;
	t = now_seconds();
	if (!ret && madvise(dst, bytes, MADV_POPULATE_WRITE))
		ret = -ENOMEM;
	read_s = ret ? -1 : timed_read(fd, dst, bytes);
	*read_gbps = gbps(bytes, now_seconds() - t);
	if (read_s < 0 && !ret)
		ret = -EIO;
	read_s = ret ? -1 : timed_read(fd, dst, bytes);
	*resident_read_gbps = gbps(bytes, read_s);
	if (read_s < 0 && !ret)
		ret = -EIO;
	if (dst != MAP_FAILED)
		munmap(dst, bytes);
	if (dst_fd >= 0)
		close(dst_fd);
	if (fd >= 0)
		close(fd);
	return ret;
}

/* The limit of any copy: memcpy of the same pages into touched memory. */
static int plain_memcpy(const struct uttm_tt *tt, double *rate)
{
	uint64_t bytes = tt->num_pages * UTTM_PAGE_SIZE;
	char *dst = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	double t;

	if (dst == MAP_FAILED)
		return -ENOMEM;
	t = now_seconds();
	for (unsigned long i = 0; i < tt->num_pages; i++)
		memcpy(dst + i * UTTM_PAGE_SIZE, uttm_tt_page_address(tt, i),
		       UTTM_PAGE_SIZE);
	*rate = gbps(bytes, now_seconds() - t);
	munmap(dst, bytes);
	return 0;
}

/* Fills the pool with as many pages as the vector has. */
static int fill_pool(struct bench_env *env)
{
	struct uttm_tt tt;
	int ret = uttm_tt_init(&tt, &env->pool, env->bytes, UTTM_PLAIN, 0);

	if (!ret)
		ret = uttm_tt_populate(&tt, &ctx);
	uttm_tt_fini(&tt);
	return ret;
}

static int backup_round(struct bench_env *env, struct backup_round *r)
{
	struct uttm_backup *store = shmem_store(2 * env->bytes);
	struct uttm_tt tt;
	double unused;
	int ret;

	if (!store)
		return -ENOMEM;
	ret = filled_tt(env, &tt, store);
	uttm_backup_put(store);
	if (ret)
		return ret;
	/* An empty pool: the restore pays for fresh pages. */
	uttm_pool_trim(&env->pool, 0);
	ret = cycle(&tt, false, &r->backup, &r->restore);
	if (!ret)
		ret = fill_pool(env);
	if (!ret)
		ret = cycle(&tt, false, &unused, &r->restore_pooled);
	uttm_pool_trim(&env->pool, 0);
	if (!ret)
		ret = raw_memfd(&tt, &r->raw_write, &r->raw_read,
				&r->raw_read_resident);
	if (!ret)
		ret = plain_memcpy(&tt, &r->memcpy);
	uttm_tt_fini(&tt);
	if (ret || !env->swap)
		return ret;

	/* Swap-bound store: with writeback, pages really go to swap. */
	store = shmem_store(0);
	if (!store)
		return -ENOMEM;
	ret = filled_tt(env, &tt, store);
	uttm_backup_put(store);
	if (ret)
		return ret;
	ret = cycle(&tt, true, &r->wb_backup, &r->wb_restore);
	uttm_tt_fini(&tt);
	return ret;
}

/*
 * Memory a virtual machine has never touched costs a fault in the host
 * too; touch some first so that no side of the comparison pays for it.
 */
static void warm_up(uint64_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, bytes);
}

#define MEDIAN_OF(rounds, n, field)                                     \
	({                                                              \
		double __v[n];                                          \
		for (unsigned int __i = 0; __i < (n); __i++)            \
			__v[__i] = (rounds)[__i].field;                 \
		median(__v, (n));                                       \
	})

static void report(const struct backup_round *rounds, unsigned int n,
		   const struct bench_env *env, bool json)
{
	double backup = MEDIAN_OF(rounds, n, backup);
	double restore = MEDIAN_OF(rounds, n, restore);
	double restore_pooled = MEDIAN_OF(rounds, n, restore_pooled);
	double raw_read_resident = MEDIAN_OF(rounds, n, raw_read_resident);
	double raw_write = MEDIAN_OF(rounds, n, raw_write);
	double raw_read = MEDIAN_OF(rounds, n, raw_read);
	double copy = MEDIAN_OF(rounds, n, memcpy);
	struct figures set;

	figures_init(&set, "uttm bench backup: backup and restore (medians)");
	figures_add_int(&set, "rounds", "rounds", "", n);
	figures_add_int(&set, "bytes", "bytes per round", "B", env->bytes);
	figures_add_int(&set, "swap", "swap available (writeback timed)", "",
			env->swap);
	figures_section(&set, "shmem store (copy), no writeback");
	figures_add(&set, "shmem_backup_gbps", "backup", "GB/s", backup);
	figures_add(&set, "shmem_restore_gbps", "restore into fresh pages",
		    "GB/s", restore);
	figures_add(&set, "shmem_restore_pooled_gbps",
		    "restore into pooled pages", "GB/s", restore_pooled);
	figures_section(&set, "references, same pages, same run");
	figures_add(&set, "raw_memfd_write_gbps",
		    "raw pwritev into a fresh memfd", "GB/s", raw_write);
	figures_add(&set, "raw_memfd_read_gbps",
		    "raw pread from a memfd into fresh memory", "GB/s",
		    raw_read);
	figures_add(&set, "raw_memfd_read_resident_gbps",
		    "raw pread into memory already resident", "GB/s",
		    raw_read_resident);
	figures_add(&set, "memcpy_gbps", "plain memcpy", "GB/s", copy);
	figures_section(&set, "ratios");
	figures_add(&set, "shmem_backup_vs_raw_memfd_write",
		    "backup / raw memfd write", "x", backup / raw_write);
	figures_add(&set, "shmem_restore_vs_raw_memfd_read",
		    "restore / raw read, both into fresh memory", "x",
		    restore / raw_read);
	figures_add(&set, "shmem_restore_pooled_vs_raw_memfd_read_resident",
		    "restore / raw read, both into resident memory", "x",
		    restore_pooled / raw_read_resident);
	figures_add(&set, "shmem_backup_vs_memcpy", "backup / memcpy", "x",
		    backup / copy);
	if (env->swap) {
		figures_section(&set, "shmem store with writeback to swap");
		figures_add(&set, "shmem_writeback_backup_gbps", "backup",
			    "GB/s", MEDIAN_OF(rounds, n, wb_backup));
		figures_add(&set, "shmem_writeback_restore_gbps",
			    "restore from swap", "GB/s",
			    MEDIAN_OF(rounds, n, wb_restore));
	}
	figures_print(&set, stdout, json);
	figures_fini(&set);
}

int bench_backup(const struct bench_options *opts)
{
	struct uttm_arena_params ap = { .max_bytes = 2 * opts->bytes };
	struct uttm_pool_params pp = {
		.max_pages = (unsigned long)(opts->bytes / UTTM_PAGE_SIZE),
	};
	struct bench_env env = { .bytes = opts->bytes };
	struct backup_round *rounds;
	struct sysinfo si;
	unsigned int i;
	int ret;

	env.swap = !sysinfo(&si) &&
		   (uint64_t)si.freeswap * si.mem_unit >= opts->bytes;
	rounds = calloc(opts->rounds, sizeof(*rounds));
	if (!rounds)
		return 1;
	ret = uttm_arena_create(&ap, &env.arena);
	if (!ret) {
		warm_up(3 * opts->bytes);
		pp.arena = env.arena;
		ret = uttm_pool_init(&env.pool, &pp);
		for (i = 0; i < opts->rounds && !ret; i++)
			ret = backup_round(&env, &rounds[i]);
		uttm_pool_fini(&env.pool);
		uttm_arena_destroy(env.arena);
	}
	if (ret)
		fprintf(stderr, "uttm bench backup: %s\n", strerror(-ret));
	else
		report(rounds, opts->rounds, &env, opts->json);
	free(rounds);
	return ret ? 1 : 0;
}
