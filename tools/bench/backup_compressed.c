// SPDX-License-Identifier: MIT
/*
 * The compressed part of `uttm bench backup`: the compressed store, with
 * LZ4 and with zstd, on two data sets, next to LZ4 and zstd called
 * directly on the same pages in the same run, one page at a time as the
 * store calls them.  One data set is random bytes; the other is the
 * machine's own files under /usr (libraries, binaries, text), read in
 * name order, so that nobody can tune it.  The store's ratio counts all
 * the memory it holds (allocator overhead and metadata included); the
 * direct ratio counts the compressor's output bytes alone.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4.h>
#include <zstd.h>

#include "bench/backup.h"
#include "support/pattern.h"

/* The realistic data set: this much of /usr, unless --size is smaller. */
#define USR_BYTES (256ULL << 20)
#define NR_CODECS 2
/* A compressed page never needs more room than this, LZ4 or zstd. */
#define PAGE_BOUND ZSTD_COMPRESSBOUND(UTTM_PAGE_SIZE)

enum { SET_RANDOM, SET_USR, NR_SETS };

struct dataset {
	char *mem;
	uint64_t bytes;
	unsigned long files;
};

/* One way of compressing one data set, one round. */
struct side {
	double backup;		/* GB/s: store backup, or compression */
	double restore;		/* GB/s: store restore, or decompression */
	double ratio;		/* input bytes / bytes held */
};

struct set_round {
	struct side store[NR_CODECS];
	struct side direct[NR_CODECS];
	double direct_resident[NR_CODECS]; /* GB/s, output already resident */
	double same_filled;	/* share of pages, LZ4 store */
	double raw;		/* share of pages stored raw, LZ4 store */
	double metadata;	/* metadata bytes per page, LZ4 store */
};

struct compressed_round {
	struct set_round set[NR_SETS];
	double zero_bytes;	/* memory held for a zero-filled vector */
};

struct side_keys {
	const char *backup, *restore, *ratio;
};

static const struct set_keys {
	const char *store_title, *direct_title;
	struct side_keys store[NR_CODECS], direct[NR_CODECS];
	const char *resident[NR_CODECS];
	const char *same_filled, *raw, *metadata;
} set_keys[NR_SETS] = {
	[SET_RANDOM] = {
		"compressed store on random bytes",
		"LZ4 and zstd called directly, same random pages, same run",
		{ { "compressed_random_backup_gbps",
		    "compressed_random_restore_gbps",
		    "compressed_random_ratio" },
		  { "compressed_zstd_random_backup_gbps",
		    "compressed_zstd_random_restore_gbps",
		    "compressed_zstd_random_ratio" } },
		{ { "lz4_direct_random_compress_gbps",
		    "lz4_direct_random_decompress_gbps",
		    "lz4_direct_random_ratio" },
		  { "zstd_direct_random_compress_gbps",
		    "zstd_direct_random_decompress_gbps",
		    "zstd_direct_random_ratio" } },
		{ "lz4_direct_random_compress_resident_gbps",
		  "zstd_direct_random_compress_resident_gbps" },
		"compressed_random_same_filled_share",
		"compressed_random_raw_share",
		"compressed_random_metadata_bytes_per_page",
	},
	[SET_USR] = {
		"compressed store on pages of files under /usr",
		"LZ4 and zstd called directly, same /usr pages, same run",
		{ { "compressed_usr_backup_gbps",
		    "compressed_usr_restore_gbps",
		    "compressed_usr_ratio" },
		  { "compressed_zstd_usr_backup_gbps",
		    "compressed_zstd_usr_restore_gbps",
		    "compressed_zstd_usr_ratio" } },
		{ { "lz4_direct_usr_compress_gbps",
		    "lz4_direct_usr_decompress_gbps",
		    "lz4_direct_usr_ratio" },
		  { "zstd_direct_usr_compress_gbps",
		    "zstd_direct_usr_decompress_gbps",
		    "zstd_direct_usr_ratio" } },
		{ "lz4_direct_usr_compress_resident_gbps",
		  "zstd_direct_usr_compress_resident_gbps" },
		"compressed_usr_same_filled_share",
		"compressed_usr_raw_share",
		"compressed_usr_metadata_bytes_per_page",
	},
};

/* Random bytes: the workload's pseudo-random page content (pattern.h). */
static void random_fill(struct dataset *data)
{
	struct pattern p;

	pattern_init(&p, 1, PATTERN_RANDOM, 0);
	for (uint64_t i = 0; i < data->bytes / UTTM_PAGE_SIZE; i++)
		pattern_fill(&p, data->mem + i * UTTM_PAGE_SIZE, 0, 0, i);
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void usr_read_file(struct dataset *data, uint64_t *have,
			  const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return;
	while (*have < data->bytes &&
	       (n = read(fd, data->mem + *have, data->bytes - *have)) > 0)
		*have += (uint64_t)n;
	data->files++;
	close(fd);
}

/* Reads the regular files below @dir, in name order, depth first. */
static void usr_read_tree(struct dataset *data, uint64_t *have,
			  const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, name_cmp);

	for (int i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		char path[PATH_MAX];
		struct stat st;

		if (*have < data->bytes && strcmp(name, ".") &&
		    strcmp(name, "..") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, name) <
		    (int)sizeof(path) && !lstat(path, &st)) {
			if (S_ISDIR(st.st_mode))
				usr_read_tree(data, have, path);
			else if (S_ISREG(st.st_mode))
				usr_read_file(data, have, path);
		}
		free(names[i]);
	}
	if (n >= 0)
		free(names);
}

/* Fills @data from /usr; with less there, the set shrinks to what is. */
static int usr_fill(struct dataset *data)
{
	uint64_t have = 0;

	usr_read_tree(data, &have, "/usr");
	data->bytes = have & ~(uint64_t)(UTTM_PAGE_SIZE - 1);
	return data->bytes ? 0 : -ENOENT;
}

static int datasets_load(struct dataset *sets, uint64_t bytes)
{
	for (int s = 0; s < NR_SETS; s++) {
		sets[s].bytes = bytes;
		sets[s].mem = bench_touched_map(bytes);
		if (!sets[s].mem)
			return -ENOMEM;
	}
	random_fill(&sets[SET_RANDOM]);
	return usr_fill(&sets[SET_USR]);
}

static void datasets_free(struct dataset *sets, uint64_t bytes)
{
	for (int s = 0; s < NR_SETS; s++)
		if (sets[s].mem)
			munmap(sets[s].mem, bytes);
}

/* A populated vector holding @data. */
static int tt_load(struct backup_bench *bench, struct uttm_tt *tt,
		   const struct dataset *data)
{
	int ret = bench_populated_tt(bench, tt, NULL, data->bytes);

	for (unsigned long i = 0; !ret && i < tt->num_pages; i++)
		memcpy(uttm_tt_page_address(tt, i),
		       data->mem + i * UTTM_PAGE_SIZE, UTTM_PAGE_SIZE);
	return ret;
}

static int tt_equals(const struct uttm_tt *tt, const char *mem)
{
	for (unsigned long i = 0; i < tt->num_pages; i++)
		if (memcmp(uttm_tt_page_address(tt, i),
			   mem + i * UTTM_PAGE_SIZE, UTTM_PAGE_SIZE))
			return -EIO;
	return 0;
}

/* Compresses one page as the caller of the library would; 0 on failure. */
static size_t direct_compress(int codec, ZSTD_CCtx *cctx, const void *src,
			      char *dst)
{
	size_t n;
	int lz4;

	if (codec == UTTM_COMPRESSOR_LZ4) {
		lz4 = LZ4_compress_default(src, dst, UTTM_PAGE_SIZE,
					   PAGE_BOUND);
		return lz4 > 0 ? (size_t)lz4 : 0;
	}
	n = ZSTD_compressCCtx(cctx, dst, PAGE_BOUND, src, UTTM_PAGE_SIZE,
			      ZSTD_CLEVEL_DEFAULT);
	return ZSTD_isError(n) ? 0 : n;
}

static bool direct_decompress(int codec, ZSTD_DCtx *dctx, const char *src,
			      size_t len, void *dst)
{
	if (codec == UTTM_COMPRESSOR_LZ4)
		return LZ4_decompress_safe(src, dst, (int)len,
					   UTTM_PAGE_SIZE) == UTTM_PAGE_SIZE;
	return ZSTD_decompressDCtx(dctx, dst, UTTM_PAGE_SIZE, src, len) ==
	       UTTM_PAGE_SIZE;
}

/* Compresses every page of @tt into @packed; returns seconds, or -1. */
static double direct_compress_all(const struct uttm_tt *tt, int codec,
				  ZSTD_CCtx *cctx, char *packed, size_t *len,
				  uint64_t *total)
{
	double t = now_seconds();

	*total = 0;
	for (unsigned long i = 0; i < tt->num_pages; i++) {
		len[i] = direct_compress(codec, cctx,
					 uttm_tt_page_address(tt, i),
					 packed + *total);
		if (!len[i])
			return -1;
		*total += len[i];
	}
	return now_seconds() - t;
}

/*
 * The compressor alone, on every page of @tt, into one packed buffer:
 * first into fresh memory, as the store must find memory for what it
 * keeps, then again into that memory, resident by then; then the pages
 * are decompressed into resident memory and checked.
 */
static int direct_round(const struct uttm_tt *tt, int codec, struct side *out,
			double *resident)
{
	uint64_t bytes = tt->num_pages * UTTM_PAGE_SIZE, off = 0;
	size_t packed_bytes = tt->num_pages * PAGE_BOUND;
	char *packed = mmap(NULL, packed_bytes, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *plain = bench_touched_map(bytes);
	size_t *len = calloc(tt->num_pages, sizeof(*len));
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	ZSTD_DCtx *dctx = ZSTD_createDCtx();
	int ret = packed != MAP_FAILED && plain && len && cctx && dctx ?
		  0 : -ENOMEM;
	double fresh_s = -1, resident_s = -1, t;

	if (!ret) {
		fresh_s = direct_compress_all(tt, codec, cctx, packed, len,
					      &off);
		resident_s = direct_compress_all(tt, codec, cctx, packed, len,
						 &off);
	}
	if (fresh_s < 0 || resident_s < 0)
		ret = ret ? ret : -EIO;
	out->backup = gbps(bytes, fresh_s);
	*resident = gbps(bytes, resident_s);
	out->ratio = (double)bytes / (double)off;
	off = 0;
	t = now_seconds();
	for (unsigned long i = 0; i < tt->num_pages && !ret; i++) {
		if (!direct_decompress(codec, dctx, packed + off, len[i],
				       plain + i * UTTM_PAGE_SIZE))
			ret = -EIO;
		off += len[i];
	}
	out->restore = gbps(bytes, now_seconds() - t);
	if (!ret)
		ret = tt_equals(tt, plain);
	ZSTD_freeDCtx(dctx);
	ZSTD_freeCCtx(cctx);
	free(len);
	if (plain)
		munmap(plain, bytes);
	if (packed != MAP_FAILED)
		munmap(packed, packed_bytes);
	return ret;
}

static struct uttm_backup *compressed_store(int codec, uint64_t cap)
{
	struct uttm_backup_compressed_params params = {
		.cap = cap, .compressor = (enum uttm_compressor)codec,
	};
	struct uttm_backup *backup;

	return uttm_backup_compressed_create(&params, &backup) ? NULL : backup;
}

/*
 * The store: @tt backed up whole, then restored into pooled pages, so
 * that both sides of the comparison decompress into resident memory.
 */
static int store_round(struct backup_bench *bench, struct uttm_tt *tt,
		       const struct dataset *data, int codec,
		       struct side *out,
		       struct uttm_backup_compressed_stats *stats)
{
	struct uttm_backup *store = compressed_store(codec, 2 * data->bytes);
	int ret = store ? uttm_tt_set_backup(tt, store) : -ENOMEM;

	if (!ret)
		ret = bench_timed_backup(tt, false, &out->backup);
	if (!ret)
		ret = uttm_backup_compressed_stats(store, stats);
	if (!ret)
		ret = bench_fill_pool(bench);
	if (!ret)
		ret = bench_timed_restore(tt, &out->restore);
	if (!ret)
		ret = tt_equals(tt, data->mem);
	out->ratio = (double)data->bytes / (double)stats->memory_bytes;
	uttm_pool_trim(&bench->pool, 0);
	if (!ret)
		ret = uttm_tt_set_backup(tt, NULL);
	uttm_backup_put(store);
	return ret;
}

static int set_round(struct backup_bench *bench, const struct dataset *data,
		     struct set_round *r)
{
	struct uttm_backup_compressed_stats stats = { 0 };
	struct uttm_tt tt;
	int ret = tt_load(bench, &tt, data);

	if (ret)
		return ret;
	/* Each store right after its compressor, so both see the same machine. */
	for (int c = NR_CODECS - 1; c >= 0 && !ret; c--) {
		ret = direct_round(&tt, c, &r->direct[c],
				   &r->direct_resident[c]);
		if (!ret)
			ret = store_round(bench, &tt, data, c, &r->store[c],
					  &stats);
	}
	/* The LZ4 store ran last: its counters describe the default. */
	r->same_filled = (double)stats.same_filled_pages / (double)tt.num_pages;
	r->raw = (double)stats.raw_pages / (double)tt.num_pages;
	r->metadata = (double)stats.metadata_bytes / (double)tt.num_pages;
	uttm_tt_fini(&tt);
	return ret;
}

/* Memory the LZ4 store holds for a vector of zero pages. */
static int zero_round(struct backup_bench *bench, uint64_t bytes,
		      double *held)
{
	struct uttm_backup *store = compressed_store(UTTM_COMPRESSOR_LZ4,
						     bytes);
	struct uttm_backup_compressed_stats stats;
	struct uttm_tt tt;
	double unused;
	int ret;

	if (!store)
		return -ENOMEM;
	ret = bench_populated_tt(bench, &tt, store, bytes);
	if (!ret) {
		ret = bench_timed_backup(&tt, false, &unused);
		if (!ret)
			ret = uttm_backup_compressed_stats(store, &stats);
		if (!ret)
			*held = (double)stats.memory_bytes;
		uttm_tt_fini(&tt);
	}
	uttm_backup_put(store);
	return ret;
}

static const char *const resident_labels[NR_CODECS] = {
	"LZ4 direct: compress into resident memory",
	"zstd direct: compress into resident memory",
};

static const char *const side_labels[2][NR_CODECS][3] = {
	{ { "LZ4 direct: compress into fresh memory",
	    "LZ4 direct: decompress into resident memory",
	    "LZ4 direct: input / compressed bytes" },
	  { "zstd direct: compress into fresh memory",
	    "zstd direct: decompress into resident memory",
	    "zstd direct: input / compressed bytes" } },
	{ { "store (LZ4): backup", "store (LZ4): restore into pooled pages",
	    "store (LZ4): input / memory held" },
	  { "store (zstd): backup", "store (zstd): restore into pooled pages",
	    "store (zstd): input / memory held" } },
};

/* One side of a round: @store's, or the direct one's. */
static const struct side *side_of(const struct compressed_round *round, int s,
				  int c, bool store)
{
	return store ? &round->set[s].store[c] : &round->set[s].direct[c];
}

/* Medians of one side over the rounds. */
static struct side side_median(const struct compressed_round *rounds,
			       unsigned int n, int s, int c, bool store)
{
	return (struct side){
		MEDIAN_EXPR(n, i, side_of(&rounds[i], s, c, store)->backup),
		MEDIAN_EXPR(n, i, side_of(&rounds[i], s, c, store)->restore),
		MEDIAN_EXPR(n, i, side_of(&rounds[i], s, c, store)->ratio),
	};
}

static void side_report(struct figures *set, const struct side_keys *keys,
			const char *const *labels, const struct side *m)
{
	figures_add(set, keys->backup, labels[0], "GB/s", m->backup);
	figures_add(set, keys->restore, labels[1], "GB/s", m->restore);
	figures_add(set, keys->ratio, labels[2], "x", m->ratio);
}

static void set_report(const struct compressed_round *rounds, unsigned int n,
		       int s, struct side med[2][NR_CODECS],
		       double resident[NR_CODECS], struct figures *set)
{
	const struct set_keys *keys = &set_keys[s];

	for (int c = 0; c < NR_CODECS; c++) {
		med[0][c] = side_median(rounds, n, s, c, false);
		med[1][c] = side_median(rounds, n, s, c, true);
	}
	figures_section(set, keys->store_title);
	for (int c = 0; c < NR_CODECS; c++)
		side_report(set, &keys->store[c], side_labels[1][c],
			    &med[1][c]);
	figures_add(set, keys->same_filled, "pages same-filled (share)", "",
		    MEDIAN_OF(rounds, n, set[s].same_filled));
	figures_add(set, keys->raw, "pages stored raw (share)", "",
		    MEDIAN_OF(rounds, n, set[s].raw));
	figures_add(set, keys->metadata, "metadata per page", "B",
		    MEDIAN_OF(rounds, n, set[s].metadata));
	figures_section(set, keys->direct_title);
	for (int c = 0; c < NR_CODECS; c++) {
		side_report(set, &keys->direct[c], side_labels[0][c],
			    &med[0][c]);
		resident[c] = MEDIAN_OF(rounds, n, set[s].direct_resident[c]);
		figures_add(set, keys->resident[c], resident_labels[c], "GB/s",
			    resident[c]);
	}
}

/* The store against the compressor alone, from the medians. */
static void comparison_report(struct side med[NR_SETS][2][NR_CODECS],
			      double resident[NR_SETS][NR_CODECS],
			      struct figures *set)
{
	const struct side *usr_lz4 = &med[SET_USR][1][UTTM_COMPRESSOR_LZ4];
	const struct side *usr_zstd = &med[SET_USR][1][UTTM_COMPRESSOR_ZSTD];
	const struct side *lz4 = &med[SET_USR][0][UTTM_COMPRESSOR_LZ4];
	const struct side *zstd = &med[SET_USR][0][UTTM_COMPRESSOR_ZSTD];
	const struct {
		const char *key, *label;
		double num, den;
	} ratios[] = {
		{ "compressed_ratio_vs_lz4_direct",
		  "/usr: store (LZ4) ratio / LZ4 direct ratio",
		  usr_lz4->ratio, lz4->ratio },
		{ "compressed_backup_vs_lz4_direct",
		  "/usr: store (LZ4) backup / LZ4 direct compress",
		  usr_lz4->backup, lz4->backup },
		{ "compressed_backup_vs_lz4_direct_resident",
		  "/usr: the same, LZ4 output already resident",
		  usr_lz4->backup, resident[SET_USR][UTTM_COMPRESSOR_LZ4] },
		{ "compressed_restore_vs_lz4_direct",
		  "/usr: store (LZ4) restore / LZ4 direct decompress",
		  usr_lz4->restore, lz4->restore },
		{ "compressed_zstd_ratio_vs_zstd_direct",
		  "/usr: store (zstd) ratio / zstd direct ratio",
		  usr_zstd->ratio, zstd->ratio },
		{ "compressed_zstd_backup_vs_zstd_direct",
		  "/usr: store (zstd) backup / zstd direct compress",
		  usr_zstd->backup, zstd->backup },
		{ "compressed_random_backup_vs_lz4_direct",
		  "random: store (LZ4) backup / LZ4 direct compress",
		  med[SET_RANDOM][1][UTTM_COMPRESSOR_LZ4].backup,
		  med[SET_RANDOM][0][UTTM_COMPRESSOR_LZ4].backup },
	};

	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++)
		figures_add(set, ratios[i].key, ratios[i].label, "x",
			    ratios[i].num / ratios[i].den);
}

static void compressed_report(const struct compressed_round *rounds,
			      unsigned int n, const struct dataset *sets,
			      struct figures *set)
{
	/* [set][direct, store][codec] */
	struct side med[NR_SETS][2][NR_CODECS];
	double resident[NR_SETS][NR_CODECS];

	for (int s = 0; s < NR_SETS; s++)
		set_report(rounds, n, s, med[s], resident[s], set);
	figures_section(set, "compressed store against the compressor alone");
	figures_add_int(set, "usr_bytes", "bytes read from /usr", "B",
			sets[SET_USR].bytes);
	figures_add_int(set, "usr_files", "files opened to read them", "",
			sets[SET_USR].files);
	comparison_report(med, resident, set);
	figures_add_int(set, "zero_page_bytes_used",
			"memory held for a zero-filled vector", "B",
			(uint64_t)MEDIAN_OF(rounds, n, zero_bytes));
}

int bench_backup_compressed(struct backup_bench *bench, struct figures *set)
{
	uint64_t bytes = MIN_UL(bench->bytes, USR_BYTES);
	struct compressed_round *rounds = calloc(bench->rounds,
						 sizeof(*rounds));
	struct dataset sets[NR_SETS] = { 0 };
	int ret = rounds ? datasets_load(sets, bytes) : -ENOMEM;

	for (unsigned int i = 0; i < bench->rounds && !ret; i++) {
		for (int s = 0; s < NR_SETS && !ret; s++)
			ret = set_round(bench, &sets[s], &rounds[i].set[s]);
		if (!ret)
			ret = zero_round(bench, bytes, &rounds[i].zero_bytes);
	}
	if (!ret)
		compressed_report(rounds, bench->rounds, sets, set);
	datasets_free(sets, bytes);
	free(rounds);
	return ret;
}
