// SPDX-License-Identifier: MIT
/*
 * The shmem part of `uttm bench backup`: a vector's backup and restore
 * through the shmem store, next to what the kernel charges for the same
 * bytes in the same run: a raw vectored write of the same pages into a
 * fresh memfd, a raw read back into fresh memory, and a plain memcpy (the
 * limit of any copy).  With swap, writeback is timed too.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "bench/backup.h"

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

static struct uttm_backup *shmem_store(uint64_t capacity)
{
	struct uttm_backup_shmem_params params = { .capacity = capacity };
	struct uttm_backup *backup;

	return uttm_backup_shmem_create(&params, &backup) ? NULL : backup;
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
	char *dst = bench_touched_map(bytes);
	double t;

	if (!dst)
		return -ENOMEM;
	t = now_seconds();
	for (unsigned long i = 0; i < tt->num_pages; i++)
		memcpy(dst + i * UTTM_PAGE_SIZE, uttm_tt_page_address(tt, i),
		       UTTM_PAGE_SIZE);
	*rate = gbps(bytes, now_seconds() - t);
	munmap(dst, bytes);
	return 0;
}

/* A filled vector backed by a fresh shmem store of @capacity bytes. */
static int shmem_tt(struct backup_bench *bench, struct uttm_tt *tt,
		    uint64_t capacity)
{
	struct uttm_backup *store = shmem_store(capacity);
	int ret;

	if (!store)
		return -ENOMEM;
	ret = bench_filled_tt(bench, tt, store, bench->bytes);
	uttm_backup_put(store);
	return ret;
}

static int shmem_round(struct backup_bench *bench, struct backup_round *r)
{
	struct uttm_tt tt;
	double unused;
	int ret;

	ret = shmem_tt(bench, &tt, 2 * bench->bytes);
	if (ret)
		return ret;
	/* An empty pool: the restore pays for fresh pages. */
	uttm_pool_trim(&bench->pool, 0);
	ret = bench_cycle(&tt, false, &r->backup, &r->restore);
	if (!ret)
		ret = bench_fill_pool(bench);
	if (!ret)
		ret = bench_cycle(&tt, false, &unused, &r->restore_pooled);
	uttm_pool_trim(&bench->pool, 0);
	if (!ret)
		ret = raw_memfd(&tt, &r->raw_write, &r->raw_read,
				&r->raw_read_resident);
	if (!ret)
		ret = plain_memcpy(&tt, &r->memcpy);
	uttm_tt_fini(&tt);
	if (ret || !bench->swap)
		return ret;

	/* Swap-bound store: with writeback, pages really go to swap. */
	ret = shmem_tt(bench, &tt, 0);
	if (ret)
		return ret;
	ret = bench_cycle(&tt, true, &r->wb_backup, &r->wb_restore);
	uttm_tt_fini(&tt);
	return ret;
}

static void shmem_report(const struct backup_round *rounds, unsigned int n,
			 bool swap, struct figures *set)
{
	double backup = MEDIAN_OF(rounds, n, backup);
	double restore = MEDIAN_OF(rounds, n, restore);
	double restore_pooled = MEDIAN_OF(rounds, n, restore_pooled);
	double raw_read_resident = MEDIAN_OF(rounds, n, raw_read_resident);
	double raw_write = MEDIAN_OF(rounds, n, raw_write);
	double raw_read = MEDIAN_OF(rounds, n, raw_read);
	double copy = MEDIAN_OF(rounds, n, memcpy);

	figures_section(set, "shmem store (copy), no writeback");
	figures_add(set, "shmem_backup_gbps", "backup", "GB/s", backup);
	figures_add(set, "shmem_restore_gbps", "restore into fresh pages",
		    "GB/s", restore);
	figures_add(set, "shmem_restore_pooled_gbps",
		    "restore into pooled pages", "GB/s", restore_pooled);
	figures_section(set, "references, same pages, same run");
	figures_add(set, "raw_memfd_write_gbps",
		    "raw pwritev into a fresh memfd", "GB/s", raw_write);
	figures_add(set, "raw_memfd_read_gbps",
		    "raw pread from a memfd into fresh memory", "GB/s",
		    raw_read);
	figures_add(set, "raw_memfd_read_resident_gbps",
		    "raw pread into memory already resident", "GB/s",
		    raw_read_resident);
	figures_add(set, "memcpy_gbps", "plain memcpy", "GB/s", copy);
	figures_section(set, "ratios");
	figures_add(set, "shmem_backup_vs_raw_memfd_write",
		    "backup / raw memfd write", "x", backup / raw_write);
	figures_add(set, "shmem_restore_vs_raw_memfd_read",
		    "restore / raw read, both into fresh memory", "x",
		    restore / raw_read);
	figures_add(set, "shmem_restore_pooled_vs_raw_memfd_read_resident",
		    "restore / raw read, both into resident memory", "x",
		    restore_pooled / raw_read_resident);
	figures_add(set, "shmem_backup_vs_memcpy", "backup / memcpy", "x",
		    backup / copy);
	if (swap) {
		figures_section(set, "shmem store with writeback to swap");
		figures_add(set, "shmem_writeback_backup_gbps", "backup",
			    "GB/s", MEDIAN_OF(rounds, n, wb_backup));
		figures_add(set, "shmem_writeback_restore_gbps",
			    "restore from swap", "GB/s",
			    MEDIAN_OF(rounds, n, wb_restore));
	}
}

int bench_backup_shmem(struct backup_bench *bench, struct figures *set)
{
	struct backup_round *rounds = calloc(bench->rounds, sizeof(*rounds));
	unsigned int i;
	int ret = rounds ? 0 : -ENOMEM;

	for (i = 0; i < bench->rounds && !ret; i++)
		ret = shmem_round(bench, &rounds[i]);
	if (!ret)
		shmem_report(rounds, bench->rounds, bench->swap, set);
	free(rounds);
	return ret;
}
