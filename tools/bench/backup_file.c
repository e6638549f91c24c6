// SPDX-License-Identifier: MIT
/*
 * The file part of `uttm bench backup`: vectors made of order-0 pages
 * backed up into a file store and restored, with direct I/O (through
 * io_uring or synchronously) and with buffered I/O, next to the raw
 * O_DIRECT bandwidth of the same disk: pwrite() and pread() of 2 MiB
 * chunks of the same total size, in a file in the same directory.  Every
 * file is unlinked as soon as it is created, so none is left behind.
 *
 * Order-0 vectors are what fragmented memory gives: the arena is
 * fragmented on purpose (fragment.h) while the vector is populated, so
 * that each page is a block of its own, none next to another in memory,
 * and the store must gather them into runs of slots.
 *
 * A shared disk drifts by tens of percent within seconds, so each store
 * figure is paired with its raw reference in the same round, measured
 * right after it, and the ratios are medians of the per-round ratios.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench/backup.h"
#include "bench/direct.h"
#include "support/fragment.h"

#define RAW_CHUNK (2UL << 20)

/**
 * struct file_round - one round of the file part, rates in GB/s
 * @backup: the store backing the vector's pages up as uttm_tt_backup()
 * hands them over, 1024 scattered order-0 pages a call, direct I/O
 * through the store's engine (io_uring when the kernel allows it).
 * @raw_write: O_DIRECT pwrite() of 2 MiB chunks, right after.
 * @tt_backup: uttm_tt_backup() of the vector: the store's work and the
 * return of each page to the system after its chunk.
 * @restore: uttm_tt_populate() of it into pooled pages.
 * @raw_read: O_DIRECT pread() of 2 MiB chunks, right after.
 * @purge: purge of an order-0 vector: what returning its scattered pages
 * to the system costs alone.
 * @wb_backup: uttm_tt_backup() with writeback: durable on return.
 * @restore_order0: restore of it into order-0 pages of a fragmented
 * arena, fresh, one to a block.
 * @sync_backup: uttm_tt_backup(), synchronous path (no io_uring).
 * @sync_restore: restore into pooled pages, synchronous path.
 * @buffered_backup: uttm_tt_backup() with buffered I/O.
 * @buffered_restore: restore of it, from the page cache.
 * @backup_ratio: @backup / @raw_write.
 * @tt_backup_ratio: @tt_backup / @raw_write.
 * @restore_ratio: @restore / @raw_read.
 */
struct file_round {
	double backup;
	double raw_write;
	double tt_backup;
	double restore;
	double raw_read;
	double purge;
	double wb_backup;
	double restore_order0;
	double sync_backup;
	double sync_restore;
	double buffered_backup;
	double buffered_restore;
	double backup_ratio;
	double tt_backup_ratio;
	double restore_ratio;
};

/**
 * struct file_bench - what the rounds share
 * @bench: the driver's arena, pool and size.
 * @dir: the directory of every file.
 * @raw_fd: the raw reference file, O_DIRECT.
 * @raw_buf: resident memory the raw reference writes and reads.
 * @raw_bytes: its size: the vector's, rounded up to whole 2 MiB chunks.
 */
struct file_bench {
	struct backup_bench *bench;
	const char *dir;
	int raw_fd;
	char *raw_buf;
	uint64_t raw_bytes;
};

/*
 * Fragments the arena for what follows.  The pool would serve its blocks
 * (earlier vectors' pages) first, so it goes.
 */
static int fragment(struct backup_bench *bench, struct spacers *sp)
{
	uttm_pool_trim(&bench->pool, 0);
	return fragment_arena(bench->arena, sp);
}

/*
 * A filled vector of order-0 pages backed by @store, checked: a figure
 * of order-0 vectors measured on anything else would be a lie.
 */
static int order0_tt(struct backup_bench *bench, struct uttm_tt *tt,
		     struct uttm_backup *store)
{
	struct spacers sp;
	int ret = fragment(bench, &sp);

	if (ret)
		return ret;
	ret = bench_filled_tt(bench, tt, store, bench->bytes);
	unfragment_arena(bench->arena, &sp);
	if (!ret && !tt_scattered(tt)) {
		uttm_tt_fini(tt);
		ret = -EAGAIN;
	}
	return ret;
}

static int restore_order0(struct backup_bench *bench, struct uttm_tt *tt,
			  double *rate)
{
	struct spacers sp;
	int ret = fragment(bench, &sp);

	if (ret)
		return ret;
	ret = bench_timed_restore(tt, rate);
	unfragment_arena(bench->arena, &sp);
	if (!ret && !tt_scattered(tt))
		ret = -EAGAIN;
	return ret ? ret : bench_check_tt(tt);
}

static int restore_pooled(struct backup_bench *bench, struct uttm_tt *tt,
			  double *rate)
{
	int ret = bench_fill_pool(bench);

	if (!ret)
		ret = bench_timed_restore(tt, rate);
	uttm_pool_trim(&bench->pool, 0);
	return ret ? ret : bench_check_tt(tt);
}

/* O_DIRECT I/O of the raw reference, 2 MiB at a time. */
static int raw_io(struct file_bench *fb, bool write, double *rate)
{
	struct direct_io io = { .fd = fb->raw_fd, .buf = fb->raw_buf,
				.bytes = fb->raw_bytes, .chunk = RAW_CHUNK,
				.write = write };
	int ret = direct_transfer(&io);

	*rate = io.gbps;
	return ret;
}

/* A fresh raw file each round, as each store starts with a fresh file. */
static int raw_open(struct file_bench *fb)
{
	fb->raw_fd = open(fb->dir, O_TMPFILE | O_RDWR | O_DIRECT | O_CLOEXEC,
			  0600);
	return fb->raw_fd < 0 ? -errno : 0;
}

static struct uttm_backup *file_store(struct file_bench *fb,
				      unsigned int flags)
{
	struct uttm_backup_file_params params = { .path = fb->dir,
						  .flags = flags };
	struct uttm_backup *store;

	return uttm_backup_file_create(&params, &store) ? NULL : store;
}

/* An order-0 vector backed by a new store; the vector holds the store. */
static int stored_order0_tt(struct file_bench *fb, unsigned int flags,
			    struct uttm_tt *tt)
{
	struct uttm_backup *store = file_store(fb, flags);
	int ret;

	if (!store)
		return -ENOMEM;
	ret = order0_tt(fb->bench, tt, store);
	uttm_backup_put(store);
	return ret;
}

/*
 * The store alone, as uttm_tt_backup() drives it: the vector's pages in
 * calls of 1024, into a fresh file.  The handles are dropped after.
 */
static int store_backup(struct file_bench *fb, const struct uttm_tt *tt,
			double *rate)
{
	unsigned long *handles = malloc(tt->num_pages * sizeof(*handles));
	void **src = malloc(tt->num_pages * sizeof(*src));
	struct uttm_backup *store = file_store(fb, 0);
	unsigned long done = 0;
	long n = 0;
	double t;

	if (!store || !handles || !src) {
		n = -ENOMEM;
		goto out;
	}
	for (unsigned long i = 0; i < tt->num_pages; i++)
		src[i] = uttm_tt_page_address(tt, i);
	t = now_seconds();
	while (done < tt->num_pages && n >= 0) {
		n = uttm_backup_backup_pages(store, src + done,
					     MIN_UL(tt->num_pages - done, 1024),
					     false, handles + done);
		done += n > 0 ? (unsigned long)n : 0;
	}
	*rate = gbps(done * UTTM_PAGE_SIZE, now_seconds() - t);
	uttm_backup_drop(store, handles, done);
out:
	uttm_backup_put(store);
	free(src);
	free(handles);
	return n < 0 ? (int)n : 0;
}

/*
 * The direct I/O cycle and its references, each right after the figure
 * it is the reference of: the store's backup then a raw write; the same
 * vector through uttm_tt_backup(); its restore into pooled pages then a
 * raw read.
 */
static int direct_cycle(struct file_bench *fb, struct file_round *r)
{
	struct uttm_tt tt;
	int ret = stored_order0_tt(fb, 0, &tt);

	if (ret)
		return ret;
	ret = raw_open(fb);
	if (!ret)
		ret = store_backup(fb, &tt, &r->backup);
	if (!ret)
		ret = raw_io(fb, true, &r->raw_write);
	if (!ret)
		ret = bench_timed_backup(&tt, false, &r->tt_backup);
	if (!ret)
		ret = restore_pooled(fb->bench, &tt, &r->restore);
	if (!ret)
		ret = raw_io(fb, false, &r->raw_read);
	if (fb->raw_fd >= 0)
		close(fb->raw_fd);
	uttm_tt_fini(&tt);
	r->backup_ratio = r->backup / r->raw_write;
	r->tt_backup_ratio = r->tt_backup / r->raw_write;
	r->restore_ratio = r->restore / r->raw_read;
	return ret;
}

/* Backs an order-0 vector up into a new store and restores it. */
static int other_cycle(struct file_bench *fb, unsigned int flags,
		       bool writeback, bool into_order0, double *backup,
		       double *restore)
{
	struct uttm_tt tt;
	int ret = stored_order0_tt(fb, flags, &tt);

	if (ret)
		return ret;
	ret = bench_timed_backup(&tt, writeback, backup);
	if (!ret && into_order0)
		ret = restore_order0(fb->bench, &tt, restore);
	else if (!ret)
		ret = restore_pooled(fb->bench, &tt, restore);
	uttm_tt_fini(&tt);
	return ret;
}

/* What returning an order-0 vector's pages to the system costs alone. */
static int purge_order0(struct file_bench *fb, double *rate)
{
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_tt tt;
	double t;
	long n;
	int ret = order0_tt(fb->bench, &tt, NULL);

	if (ret)
		return ret;
	t = now_seconds();
	n = uttm_tt_backup(&tt, &purge);
	*rate = gbps(tt.num_pages * UTTM_PAGE_SIZE, now_seconds() - t);
	ret = n == (long)tt.num_pages ? 0 : -EIO;
	uttm_tt_fini(&tt);
	return ret;
}

static int file_round(struct file_bench *fb, struct file_round *r)
{
	int ret = direct_cycle(fb, r);

	if (!ret)
		ret = purge_order0(fb, &r->purge);
	if (!ret)
		ret = other_cycle(fb, 0, true, true, &r->wb_backup,
				  &r->restore_order0);
	if (!ret)
		ret = other_cycle(fb, UTTM_BACKUP_FILE_SYNC, false, false,
				  &r->sync_backup, &r->sync_restore);
	if (!ret)
		ret = other_cycle(fb, UTTM_BACKUP_FILE_BUFFERED, false, false,
				  &r->buffered_backup, &r->buffered_restore);
	return ret;
}

#define RATE(key, label, field) \
	{ key, label, "GB/s", offsetof(struct file_round, field) }
#define RATIO(key, label, field) \
	{ key, label, "x", offsetof(struct file_round, field) }
#define SECTION(label) { NULL, label, "", 0 }

/* The report: medians of the rounds' fields; no key marks a section. */
static const struct {
	const char *key;
	const char *label;
	const char *unit;
	size_t field;
} file_figures[] = {
	RATE("file_backup_gbps", "backup by the store, 1024 pages a call",
	     backup),
	RATE("file_tt_backup_gbps", "uttm_tt_backup(), pages freed after",
	     tt_backup),
	RATE("file_restore_gbps", "restore into pooled pages", restore),
	RATE("file_writeback_backup_gbps",
	     "backup with writeback (durable on return)", wb_backup),
	RATE("file_restore_order0_gbps", "restore into fresh order-0 pages",
	     restore_order0),
	RATE("file_sync_backup_gbps", "backup, synchronous path",
	     sync_backup),
	RATE("file_sync_restore_gbps",
	     "restore into pooled pages, synchronous path", sync_restore),
	RATE("file_buffered_backup_gbps",
	     "backup, buffered (into the page cache)", buffered_backup),
	RATE("file_buffered_restore_gbps",
	     "restore, buffered (from the page cache)", buffered_restore),
	RATE("order0_purge_gbps",
	     "purge: only returning the pages to the system", purge),
	SECTION("reference, same disk, same rounds"),
	RATE("raw_odirect_write_gbps", "raw O_DIRECT pwrite, 2 MiB chunks",
	     raw_write),
	RATE("raw_odirect_read_gbps", "raw O_DIRECT pread, 2 MiB chunks",
	     raw_read),
	SECTION("ratios (medians of per-round ratios)"),
	RATIO("file_backup_vs_raw_odirect_write",
	      "store backup / raw O_DIRECT write", backup_ratio),
	RATIO("file_tt_backup_vs_raw_odirect_write",
	      "uttm_tt_backup() / raw O_DIRECT write", tt_backup_ratio),
	RATIO("file_restore_vs_raw_odirect_read",
	      "restore / raw O_DIRECT read", restore_ratio),
};

static double field_of(const struct file_round *round, size_t field)
{
	return *(const double *)((const char *)round + field);
}

static void file_report(const struct file_round *rounds, unsigned int n,
			const struct uttm_backup_file_stats *stats,
			struct figures *set)
{
	figures_section(set, "file store, vectors of order-0 pages");
	figures_add_int(set, "file_direct", "direct I/O (O_DIRECT)", "",
			stats->direct);
	figures_add_int(set, "file_io_uring", "batches through io_uring", "",
			stats->io_uring);
	for (size_t i = 0; i < sizeof(file_figures) / sizeof(file_figures[0]);
	     i++) {
		if (!file_figures[i].key)
			figures_section(set, file_figures[i].label);
		else
			figures_add(set, file_figures[i].key,
				    file_figures[i].label, file_figures[i].unit,
				    MEDIAN_EXPR(n, r, field_of(&rounds[r],
						file_figures[i].field)));
	}
}

/* Resident memory for the raw reference, holding the same pattern. */
static int raw_setup(struct file_bench *fb)
{
	fb->raw_bytes = (fb->bench->bytes + RAW_CHUNK - 1) / RAW_CHUNK * RAW_CHUNK;
	fb->raw_buf = bench_touched_map(fb->raw_bytes);
	if (!fb->raw_buf)
		return -ENOMEM;
	for (uint64_t off = 0; off < fb->raw_bytes; off += UTTM_PAGE_SIZE)
		memset(fb->raw_buf + off, bench_page_byte(off / UTTM_PAGE_SIZE),
		       UTTM_PAGE_SIZE);
	return 0;
}

/* The stats of a store as the rounds create it. */
static int file_stats(struct file_bench *fb,
		      struct uttm_backup_file_stats *stats)
{
	struct uttm_backup *store = file_store(fb, 0);

	if (!store)
		return -ENOMEM;
	uttm_backup_file_stats(store, stats);
	uttm_backup_put(store);
	return 0;
}

int bench_backup_file(struct backup_bench *bench, struct figures *set)
{
	struct file_round *rounds = calloc(bench->rounds, sizeof(*rounds));
	struct file_bench fb = { .bench = bench, .dir = tool_tmpdir() };
	struct uttm_backup_file_stats stats;
	int ret = rounds ? raw_setup(&fb) : -ENOMEM;

	for (unsigned int i = 0; i < bench->rounds && !ret; i++)
		ret = file_round(&fb, &rounds[i]);
	if (!ret)
		ret = file_stats(&fb, &stats);
	if (!ret)
		file_report(rounds, bench->rounds, &stats, set);
	if (fb.raw_buf)
		munmap(fb.raw_buf, fb.raw_bytes);
	free(rounds);
	return ret;
}
