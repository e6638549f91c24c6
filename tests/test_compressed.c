// SPDX-License-Identifier: MIT
/*
 * What is particular to the compressed store, for LZ4 and zstd alike:
 * same-filled pages cost nothing, incompressible pages are kept raw,
 * compressible ones really shrink, the cap cuts a backup short and the
 * vector still comes back whole, every counter is exact and returns to
 * zero, memory goes back to the system, bad input is refused, and many
 * threads can share one store.  (The whole backup suite also runs against
 * this store, from test_backup.c.)
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <lz4.h>
#include <zstd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "store/internal.h"

/* TSan shadows each byte written with several: RSS then measures TSan. */
#ifdef __SANITIZE_THREAD__
#define RSS_MEANINGFUL false
#else
#define RSS_MEANINGFUL true
#endif

/* Default raw threshold: seven eighths of a page. */
#define DEFAULT_MAX (UTTM_PAGE_SIZE - UTTM_PAGE_SIZE / 8)

enum content {
	CONTENT_TEXT,		/* lines of text: compresses several times */
	CONTENT_RANDOM,		/* does not compress at all */
	CONTENT_HALF,		/* half random, half zero: compresses to half */
	CONTENT_MIXED,		/* by index: same-filled, text or random */
};

struct codec {
	const char *name;
	enum uttm_compressor compressor;
};

static const struct codec lz4_codec = { "lz4", UTTM_COMPRESSOR_LZ4 };
static const struct codec zstd_codec = { "zstd", UTTM_COMPRESSOR_ZSTD };

static void fill_text(char *page, uint64_t seed, unsigned long index)
{
	size_t off = 0;

	for (unsigned int line = 0; off < UTTM_PAGE_SIZE; line++) {
		char buf[96];
		int n = snprintf(buf, sizeof(buf),
				 "%llu.%lu.%u: a line of a page that compresses\n",
				 (unsigned long long)seed, index, line);

		memcpy(page + off, buf, MIN((size_t)n, UTTM_PAGE_SIZE - off));
		off += (size_t)n;
	}
}

static void fill_content(void *page, enum content content, uint64_t seed,
			 unsigned long index)
{
	switch (content) {
	case CONTENT_TEXT:
		fill_text(page, seed, index);
		break;
	case CONTENT_RANDOM:
		fill_page(page, seed, index);
		break;
	case CONTENT_HALF:
		fill_page(page, seed, index);
		memset((char *)page + UTTM_PAGE_SIZE / 2, 0, UTTM_PAGE_SIZE / 2);
		break;
	case CONTENT_MIXED:
		if (index % 3 == 0)
			memset(page, (int)(seed + index), UTTM_PAGE_SIZE);
		else
			fill_content(page, index % 3 == 1 ? CONTENT_TEXT :
					   CONTENT_RANDOM, seed, index);
		break;
	}
}

/* @count pages in one aligned buffer, with an array of their addresses. */
struct pages {
	char *mem;
	void **addr;
	unsigned long *handles;
	unsigned long count;
};

static void pages_alloc(struct pages *p, unsigned long count)
{
	p->mem = aligned_alloc(UTTM_PAGE_SIZE, count * UTTM_PAGE_SIZE);
	p->addr = calloc(count, sizeof(*p->addr));
	p->handles = calloc(count, sizeof(*p->handles));
	assert_true(p->mem && p->addr && p->handles);
	for (unsigned long i = 0; i < count; i++)
		p->addr[i] = p->mem + i * UTTM_PAGE_SIZE;
	p->count = count;
}

static void pages_fill(struct pages *p, enum content content, uint64_t seed)
{
	for (unsigned long i = 0; i < p->count; i++)
		fill_content(p->addr[i], content, seed, i);
}

static void pages_free(struct pages *p)
{
	free(p->mem);
	free(p->addr);
	free(p->handles);
}

static struct uttm_backup *store_new(const struct codec *codec, uint64_t cap,
				     unsigned int max_compressed)
{
	struct uttm_backup_compressed_params params = {
		.cap = cap, .compressor = codec->compressor,
		.max_compressed = max_compressed,
	};
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	return backup;
}

static struct uttm_backup_compressed_stats stats_of(struct uttm_backup *backup)
{
	struct uttm_backup_compressed_stats stats;

	assert_int_equal(uttm_backup_compressed_stats(backup, &stats), 0);
	return stats;
}

static void assert_empty(struct uttm_backup *backup, uint64_t cap)
{
	struct uttm_backup_compressed_stats s = stats_of(backup);

	assert_int_equal(s.pages, 0);
	assert_int_equal(s.same_filled_pages, 0);
	assert_int_equal(s.raw_pages, 0);
	assert_int_equal(s.compressed_bytes, 0);
	assert_int_equal(s.pool_bytes, 0);
	assert_int_equal(s.metadata_bytes, 0);
	assert_int_equal(s.memory_bytes, 0);
	assert_true(s.ratio == 0);
	assert_int_equal(uttm_backup_bytes_avail(backup), cap);
	assert_int_equal(uttm_backup_handles(backup), 0);
}

static void backup_all(struct uttm_backup *backup, struct pages *p)
{
	assert_int_equal(uttm_backup_backup_pages(backup, p->addr, p->count,
						  false, p->handles),
			 p->count);
}

/* Copies every page back into fresh memory and compares; drops none. */
static void assert_restores(struct uttm_backup *backup, struct pages *p)
{
	struct pages out;

	pages_alloc(&out, p->count);
	memset(out.mem, 0xee, p->count * UTTM_PAGE_SIZE);
	assert_int_equal(uttm_backup_copy_pages(backup, out.addr, p->handles,
						p->count, &test_ctx),
			 p->count);
	assert_memory_equal(out.mem, p->mem, p->count * UTTM_PAGE_SIZE);
	pages_free(&out);
}

static void drop_all(struct uttm_backup *backup, struct pages *p)
{
	uttm_backup_drop(backup, p->handles, p->count);
}

/* Every page comes back whole; once dropped, the store holds nothing. */
static void restore_and_drop(struct uttm_backup *backup, struct pages *p,
			     uint64_t cap)
{
	assert_restores(backup, p);
	drop_all(backup, p);
	assert_empty(backup, cap);
}

static void same_filled_pages_cost_no_memory(void **state)
{
	static const unsigned char fills[] = { 0x00, 0x01, 0x5a, 0xff };
	struct uttm_backup *backup = store_new(*state, 64 * MiB, 0);
	struct pages p;

	pages_alloc(&p, 16);
	for (size_t f = 0; f < ARRAY_SIZE(fills); f++) {
		struct uttm_backup_compressed_stats s;

		memset(p.mem, fills[f], p.count * UTTM_PAGE_SIZE);
		backup_all(backup, &p);
		s = stats_of(backup);
		assert_int_equal(s.pages, 16);
		assert_int_equal(s.same_filled_pages, 16);
		assert_int_equal(s.raw_pages, 0);
		assert_int_equal(s.compressed_bytes, 0);
		assert_int_equal(s.memory_bytes, 0);
		assert_int_equal(uttm_backup_bytes_avail(backup), 64 * MiB);
		restore_and_drop(backup, &p, 64 * MiB);
	}
	pages_free(&p);
	uttm_backup_put(backup);
}

static void one_differing_byte_is_not_same_filled(void **state)
{
	static const size_t where[] = { 0, 1, 7, 8, 2047, 4088, 4095 };
	struct uttm_backup *backup = store_new(*state, 64 * MiB, 0);
	struct pages p;

	pages_alloc(&p, ARRAY_SIZE(where) * 2);
	for (size_t i = 0; i < p.count; i++) {
		unsigned char *page = p.addr[i];
		unsigned char fill = i % 2 ? 0xab : 0;

		memset(page, fill, UTTM_PAGE_SIZE);
		page[where[i / 2]] = fill ^ 1;
	}
	backup_all(backup, &p);
	assert_int_equal(stats_of(backup).same_filled_pages, 0);
	assert_int_equal(stats_of(backup).raw_pages, 0);
	restore_and_drop(backup, &p, 64 * MiB);
	pages_free(&p);
	uttm_backup_put(backup);
}

static void incompressible_pages_are_stored_raw(void **state)
{
	struct uttm_backup *backup = store_new(*state, 64 * MiB, 0);
	struct uttm_backup_compressed_stats s;
	struct pages p;

	pages_alloc(&p, 8);
	pages_fill(&p, CONTENT_RANDOM, 3);
	backup_all(backup, &p);
	s = stats_of(backup);
	assert_int_equal(s.pages, 8);
	assert_int_equal(s.raw_pages, 8);
	assert_int_equal(s.compressed_bytes, 8 * UTTM_PAGE_SIZE);
	/* Whole pages pack into their class with no waste at all. */
	assert_int_equal(s.pool_bytes, 8 * UTTM_PAGE_SIZE);
	assert_true(s.metadata_bytes > 0 && s.metadata_bytes <= 64);
	assert_int_equal(s.memory_bytes, s.pool_bytes + s.metadata_bytes);
	assert_int_equal(uttm_backup_bytes_avail(backup),
			 64 * MiB - 8 * UTTM_PAGE_SIZE);
	restore_and_drop(backup, &p, 64 * MiB);
	pages_free(&p);
	uttm_backup_put(backup);
}

/* What compressing @page on its own gives, as the store does it. */
static size_t direct_size(const struct codec *codec, const void *page)
{
	char out[ZSTD_COMPRESSBOUND(UTTM_PAGE_SIZE)];

	if (codec->compressor == UTTM_COMPRESSOR_LZ4)
		return (size_t)LZ4_compress_default(page, out, UTTM_PAGE_SIZE,
						    (int)sizeof(out));
	return ZSTD_compress(out, sizeof(out), page, UTTM_PAGE_SIZE,
			     ZSTD_CLEVEL_DEFAULT);
}

static void compressible_pages_are_compressed(void **state)
{
	const struct codec *codec = *state;
	struct uttm_backup *backup = store_new(codec, 64 * MiB, 0);
	unsigned long per_class[ZPOOL_NR_CLASSES] = { 0 };
	uint64_t bytes = 0, pool = 0;
	struct uttm_backup_compressed_stats s;
	struct pages p;

	pages_alloc(&p, 64);
	pages_fill(&p, CONTENT_TEXT, 4);
	for (unsigned long i = 0; i < p.count; i++) {
		size_t n = direct_size(codec, p.addr[i]);

		bytes += n;
		per_class[(n - 1) / ZPOOL_ALIGN]++;
	}
	/* Objects of a class sit back to back from the start of a chunk. */
	for (unsigned int c = 0; c < ZPOOL_NR_CLASSES; c++)
		pool += DIV_ROUND_UP(per_class[c] * (c + 1) * ZPOOL_ALIGN,
				     UTTM_PAGE_SIZE) * UTTM_PAGE_SIZE;
	backup_all(backup, &p);
	s = stats_of(backup);
	assert_int_equal(s.pages, 64);
	assert_int_equal(s.raw_pages, 0);
	assert_int_equal(s.compressed_bytes, bytes);
	assert_true(bytes < 64 * UTTM_PAGE_SIZE / 4);
	assert_int_equal(s.pool_bytes, pool);
	assert_true(s.ratio > 3);
	restore_and_drop(backup, &p, 64 * MiB);
	pages_free(&p);
	uttm_backup_put(backup);
}

static void poor_compression_is_stored_raw_below_the_threshold(void **state)
{
	static const struct {
		unsigned int max_compressed;
		unsigned long raw_pages;
	} cases[] = {
		{ 0, 0 },		/* default 7/8: half a page is kept */
		{ UTTM_PAGE_SIZE / 4, 4 },	/* a quarter: not worth it */
		{ UTTM_PAGE_SIZE - 1, 0 },
	};
	struct pages p;

	pages_alloc(&p, 4);
	pages_fill(&p, CONTENT_HALF, 5);
	for (size_t c = 0; c < ARRAY_SIZE(cases); c++) {
		struct uttm_backup *backup = store_new(*state, 64 * MiB,
						       cases[c].max_compressed);
		struct uttm_backup_compressed_stats s;

		backup_all(backup, &p);
		s = stats_of(backup);
		assert_int_equal(s.raw_pages, cases[c].raw_pages);
		if (!cases[c].raw_pages)
			assert_true(s.compressed_bytes < 4 * DEFAULT_MAX);
		restore_and_drop(backup, &p, 64 * MiB);
		uttm_backup_put(backup);
	}
	pages_free(&p);
}

static void level_is_applied(void **state)
{
	const struct codec *codec = *state;
	/* LZ4: acceleration 1 and 60; zstd: level 1 and 19. */
	const int low = 1;
	const int high = codec->compressor == UTTM_COMPRESSOR_LZ4 ? 60 : 19;
	uint64_t bytes[2];
	struct pages p;

	pages_alloc(&p, 32);
	pages_fill(&p, CONTENT_TEXT, 6);
	for (int i = 0; i < 2; i++) {
		struct uttm_backup_compressed_params params = {
			.cap = 64 * MiB, .compressor = codec->compressor,
			.level = i ? high : low,
		};
		struct uttm_backup *backup;

		assert_int_equal(uttm_backup_compressed_create(&params,
							       &backup), 0);
		backup_all(backup, &p);
		bytes[i] = stats_of(backup).compressed_bytes;
		restore_and_drop(backup, &p, 64 * MiB);
		uttm_backup_put(backup);
	}
	/* Faster LZ4 gives larger output; a higher zstd level smaller. */
	if (codec->compressor == UTTM_COMPRESSOR_LZ4)
		assert_true(bytes[1] > bytes[0]);
	else
		assert_true(bytes[1] < bytes[0]);
	pages_free(&p);
}

static void cap_reached_mid_object_then_full_restore(void **state)
{
	const struct uttm_backup_flags flags = { .purge = false };
	const uint64_t cap = 4 * UTTM_PAGE_SIZE;
	struct fixture *fx = fixture_create(64 * MiB, 4096, 0);
	struct uttm_backup *backup = store_new(*state, cap, 0);
	struct uttm_tt tt;
	long n;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, 256 * UTTM_PAGE_SIZE,
				      UTTM_PLAIN, 0), 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), 0);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	for (unsigned long i = 0; i < tt.num_pages; i++)
		fill_content(uttm_tt_page_address(&tt, i), CONTENT_MIXED, 7, i);
	n = uttm_tt_backup(&tt, &flags);
	/* Many more pages than the cap would hold raw, but not all. */
	assert_true(n > 4 && n < (long)tt.num_pages);
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_int_equal(stats_of(backup).pages, n);
	assert_true(stats_of(backup).pool_bytes <= cap);
	assert_true(uttm_backup_bytes_avail(backup) < UTTM_PAGE_SIZE);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	for (unsigned long i = 0; i < tt.num_pages; i++) {
		char want[UTTM_PAGE_SIZE];

		fill_content(want, CONTENT_MIXED, 7, i);
		assert_memory_equal(uttm_tt_page_address(&tt, i), want,
				    UTTM_PAGE_SIZE);
	}
	uttm_tt_fini(&tt);
	assert_empty(backup, cap);
	uttm_backup_put(backup);
	fixture_destroy(fx);
}

static void full_store_refuses_with_enospc(void **state)
{
	const uint64_t cap = 2 * UTTM_PAGE_SIZE;
	struct uttm_backup *backup = store_new(*state, cap, 0);
	struct pages p, zero;

	pages_alloc(&p, 3);
	pages_fill(&p, CONTENT_RANDOM, 8);
	assert_int_equal(uttm_backup_backup_pages(backup, p.addr, 3, false,
						  p.handles), 2);
	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	assert_int_equal(uttm_backup_backup_pages(backup, p.addr + 2, 1, false,
						  p.handles + 2), -ENOSPC);
	/* A same-filled page needs no room. */
	pages_alloc(&zero, 1);
	memset(zero.mem, 0, UTTM_PAGE_SIZE);
	backup_all(backup, &zero);
	drop_all(backup, &zero);
	p.count = 2;
	restore_and_drop(backup, &p, cap);
	pages_free(&zero);
	pages_free(&p);
	uttm_backup_put(backup);
}

/*
 * A page of a new class when the cap is reached: the chunk taken for it
 * cannot have its first page charged, and goes again at once.
 */
static void new_chunk_without_room_is_given_back(void **state)
{
	struct uttm_backup *backup = store_new(*state, UTTM_PAGE_SIZE, 0);
	struct uttm_backup_compressed_stats s;
	struct pages raw, text;

	pages_alloc(&raw, 1);
	pages_fill(&raw, CONTENT_RANDOM, 16);
	pages_alloc(&text, 1);
	pages_fill(&text, CONTENT_TEXT, 16);
	backup_all(backup, &raw);
	assert_int_equal(uttm_backup_backup_pages(backup, text.addr, 1, false,
						  text.handles), -ENOSPC);
	s = stats_of(backup);
	assert_int_equal(s.pages, 1);
	assert_int_equal(s.metadata_bytes, 32);
	assert_int_equal(s.pool_bytes, UTTM_PAGE_SIZE);
	restore_and_drop(backup, &raw, UTTM_PAGE_SIZE);
	pages_free(&text);
	pages_free(&raw);
	uttm_backup_put(backup);
}

/*
 * The cap is reached and the chunk that served last has no freed object,
 * but one further down its class has: that one serves, needing no page.
 * Raw pages, 64 to a chunk: 66 fill one chunk and start a second.
 */
static void freed_object_further_down_serves_at_the_cap(void **state)
{
	static const unsigned long again[] = { 65, 0 };
	const uint64_t cap = 66 * UTTM_PAGE_SIZE;
	struct uttm_backup *backup = store_new(*state, cap, 0);
	struct pages p;

	pages_alloc(&p, 66);
	pages_fill(&p, CONTENT_RANDOM, 17);
	backup_all(backup, &p);
	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	/* A freed object in each chunk, the second chunk's on top. */
	uttm_backup_drop(backup, &p.handles[0], 1);
	uttm_backup_drop(backup, &p.handles[65], 1);
	/* The second chunk's freed object serves, then the first chunk's. */
	for (size_t i = 0; i < ARRAY_SIZE(again); i++)
		assert_int_equal(uttm_backup_backup_pages(backup,
							  &p.addr[again[i]], 1,
							  false,
							  &p.handles[again[i]]),
				 1);
	assert_int_equal(stats_of(backup).pool_bytes, cap);
	assert_int_equal(stats_of(backup).metadata_bytes, 64);
	restore_and_drop(backup, &p, cap);
	pages_free(&p);
	uttm_backup_put(backup);
}

static void freed_objects_are_reused_before_memory_grows(void **state)
{
	struct uttm_backup *backup = store_new(*state, 64 * MiB, 0);
	struct pages p, half;
	uint64_t pool;

	/* Identical text pages: one object size, one class. */
	pages_alloc(&p, 256);
	for (unsigned long i = 0; i < p.count; i++)
		fill_content(p.addr[i], CONTENT_TEXT, 9, 0);
	backup_all(backup, &p);
	pool = stats_of(backup).pool_bytes;
	/* Every other object goes: no chunk empties, nothing is returned. */
	pages_alloc(&half, p.count / 2);
	for (unsigned long i = 0; i < half.count; i++)
		half.handles[i] = p.handles[2 * i];
	drop_all(backup, &half);
	assert_int_equal(stats_of(backup).pool_bytes, pool);
	/* Backing as many up again fills the holes. */
	for (unsigned long i = 0; i < half.count; i++)
		fill_content(half.addr[i], CONTENT_TEXT, 9, 0);
	backup_all(backup, &half);
	assert_int_equal(stats_of(backup).pool_bytes, pool);
	assert_restores(backup, &half);
	for (unsigned long i = 0; i < half.count; i++)
		p.handles[2 * i] = half.handles[i];
	restore_and_drop(backup, &p, 64 * MiB);
	pages_free(&half);
	pages_free(&p);
	uttm_backup_put(backup);
}

static void counters_exact_and_memory_returned_to_the_system(void **state)
{
	const unsigned long count = 48 * MiB / UTTM_PAGE_SIZE;
	struct uttm_backup *backup = store_new(*state, 256 * MiB, 0);
	struct uttm_backup_compressed_stats s;
	uint64_t before, stored, after;
	struct pages p;

	pages_alloc(&p, count);
	pages_fill(&p, CONTENT_MIXED, 10);
	before = status_bytes("RssAnon");
	backup_all(backup, &p);
	stored = status_bytes("RssAnon");
	s = stats_of(backup);
	assert_int_equal(s.pages, count);
	assert_int_equal(s.same_filled_pages, DIV_ROUND_UP(count, 3));
	assert_int_equal(s.raw_pages, count / 3);
	assert_int_equal(s.memory_bytes, s.pool_bytes + s.metadata_bytes);
	/* What a budget counts for the store. */
	assert_int_equal(uttm_backup_resident_bytes(backup), s.memory_bytes);
	assert_true(s.ratio > 1.4);
	print_message("pool %llu MiB, resident growth %llu MiB\n",
		      (unsigned long long)(s.pool_bytes / MiB),
		      (unsigned long long)((stored - before) / MiB));
	/* What the stats count is what the system holds for the store. */
	if (RSS_MEANINGFUL) {
		assert_true(stored - before >= s.pool_bytes * 15 / 16);
		assert_true(stored - before <=
			    s.pool_bytes * 17 / 16 + 2 * MiB);
	}
	restore_and_drop(backup, &p, 256 * MiB);
	assert_int_equal(uttm_backup_resident_bytes(backup), 0);
	after = status_bytes("RssAnon");
	if (RSS_MEANINGFUL)
		assert_true(stored - after >= s.pool_bytes * 15 / 16);
	pages_free(&p);
	uttm_backup_put(backup);
}

/* Whether a compressed store over an insert store is refused; 0 if so. */
static int insert_lower_refused(struct uttm_backup_compressed_params *params)
{
	struct uttm_arena_params ap = { .max_bytes = MiB };
	struct uttm_backup_insert_params ip = { .capacity = MiB };
	struct uttm_backup *backup;
	int ret;

	assert_int_equal(uttm_arena_create(&ap, &ip.arena), 0);
	assert_int_equal(uttm_backup_insert_create(&ip, &params->lower), 0);
	ret = uttm_backup_compressed_create(params, &backup);
	uttm_backup_put(params->lower);
	params->lower = NULL;
	uttm_arena_destroy(ip.arena);
	return ret == -EINVAL ? 0 : -1;
}

static void bad_input_is_refused(void **state)
{
	struct uttm_backup_compressed_params params = { .cap = MiB };
	struct uttm_backup_shmem_params sp = { .capacity = MiB };
	struct uttm_backup_compressed_stats s;
	struct uttm_backup *backup, *shmem;
	/* Bad kinds, fields where a kind has none, a place past the pool. */
	unsigned long handle, handle_forged, bogus[] = {
		0, uttm_backup_index_to_handle(0), ~0UL >> 1,
		uttm_backup_index_to_handle(1UL << 60 | 0x100),
		uttm_backup_index_to_handle(1UL << 60 | 1UL << 12),
		uttm_backup_index_to_handle(2UL << 60 | 7),
		uttm_backup_index_to_handle(3UL << 60 | 0xffffffffffffUL << 12 | 5),
		/* In a chunk the pool has never used. */
		uttm_backup_index_to_handle(3UL << 60 |
					    (ZPOOL_CHUNK_SIZE >> 4) << 12 | 5),
	};
	char page[UTTM_PAGE_SIZE];
	void *dst = page;

	assert_int_equal(uttm_backup_compressed_create(NULL, &backup), -EINVAL);
	assert_int_equal(uttm_backup_compressed_create(&params, NULL), -EINVAL);
	params.compressor = 7;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup),
			 -EINVAL);
	params.compressor = UTTM_COMPRESSOR_LZ4;
	params.level = -1;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup),
			 -EINVAL);
	params.compressor = UTTM_COMPRESSOR_ZSTD;
	params.level = ZSTD_maxCLevel() + 1;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup),
			 -EINVAL);
	params.level = 0;
	params.max_compressed = UTTM_PAGE_SIZE;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup),
			 -EINVAL);
	params.max_compressed = 0;
	params.cap = 1ULL << 50;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup),
			 -EINVAL);
	params.cap = MiB;
	/* A lower store must take copies: an inserting one cannot. */
	assert_int_equal(insert_lower_refused(&params), 0);
	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);

	assert_int_equal(uttm_backup_compressed_stats(NULL, &s), -EINVAL);
	assert_int_equal(uttm_backup_compressed_stats(backup, NULL), -EINVAL);
	assert_int_equal(uttm_backup_shmem_create(&sp, &shmem), 0);
	assert_int_equal(uttm_backup_compressed_stats(shmem, &s), -EINVAL);
	uttm_backup_put(shmem);

	/* Handles the store never made are refused, and dropping them is a no-op. */
	/* Kept raw: the first object of the pool's first chunk. */
	fill_page(page, 13, 0);
	backup_all(backup, &(struct pages){ .addr = &dst, .handles = &handle,
					    .count = 1 });
	for (size_t i = 0; i < ARRAY_SIZE(bogus); i++) {
		assert_int_equal(uttm_backup_copy_pages(backup, &dst, &bogus[i],
							1, &test_ctx), -EINVAL);
		backup->ops->drop(backup, &bogus[i], 1);
	}
	/* A place the pool could hold, but holds nothing at: past that one. */
	handle_forged = uttm_backup_index_to_handle(3UL << 60 |
						    (8192UL >> 4) << 12 | 5);
	assert_int_equal(uttm_backup_copy_pages(backup, &dst, &handle_forged,
						1, &test_ctx), -EIO);
	backup->ops->drop(backup, &handle_forged, 1);
	assert_int_equal(stats_of(backup).pages, 1);
	uttm_backup_drop(backup, &handle, 1);
	assert_empty(backup, MiB);
	uttm_backup_put(backup);
}

static void default_cap_is_physical_memory(void **state)
{
	struct uttm_backup_compressed_params params = { .cap = 0 };
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	assert_int_equal(uttm_backup_bytes_avail(backup),
			 (uint64_t)sysconf(_SC_PHYS_PAGES) * UTTM_PAGE_SIZE);
	uttm_backup_put(backup);
}

/*
 * Sets @comp up for @codec, takes a stream from it and compresses a page
 * of text from @seed, kept in @page, into the stream's buffer; returns the
 * stream, with the length in @len.
 */
static struct zcomp_stream *compress_text(const struct codec *codec,
					  struct zcomp *comp, char *page,
					  uint64_t seed, unsigned int *len)
{
	struct zcomp_stream *stream;

	assert_int_equal(uttm_zcomp_init(comp, codec->compressor, 0), 0);
	stream = uttm_zcomp_stream_get(comp);
	assert_non_null(stream);
	fill_text(page, seed, 0);
	*len = uttm_zcomp_compress(comp, stream, page, UTTM_PAGE_SIZE - 1);
	assert_true(*len > 0);
	return stream;
}

/* Bytes that are no valid compressed page, for either algorithm. */
static void corrupt_data_is_an_io_error(void **state)
{
	char page[UTTM_PAGE_SIZE], out[UTTM_PAGE_SIZE];
	struct zcomp_stream *stream;
	struct zcomp comp;
	unsigned int len;

	stream = compress_text(*state, &comp, page, 11, &len);
	assert_int_equal(
		uttm_zcomp_decompress(&comp, stream, stream->buf, len, out), 0);
	assert_memory_equal(out, page, UTTM_PAGE_SIZE);
	/* Truncated, then garbage. */
	assert_int_equal(uttm_zcomp_decompress(&comp, stream, stream->buf,
					       len / 2, out),
			 -EIO);
	fill_page(stream->buf, 12, 0);
	assert_int_equal(uttm_zcomp_decompress(&comp, stream, stream->buf, len,
					       out),
			 -EIO);
	uttm_zcomp_stream_put(&comp, stream);
	uttm_zcomp_fini(&comp);
}

#define NO_LIMIT "the limit cannot be lowered here"

static int reservation_without_address_space(void *arg)
{
	const struct codec *codec = arg;
	struct uttm_backup_compressed_params params = {
		.cap = 1ULL << 30, .compressor = codec->compressor,
	};
	struct uttm_backup *backup;

	if (limit_resource(RLIMIT_AS, "VmSize", 64 * MiB))
		return CHILD_SKIP;
	CHILD_CHECK(uttm_backup_compressed_create(&params, &backup) == -ENOMEM);
	return 0;
}

static void reservation_failure_is_enomem(void **state)
{
	run_in_child(reservation_without_address_space, *state, NO_LIMIT);
}

static int reservation_without_commit(void *arg)
{
	const struct codec *codec = arg;
	struct uttm_backup_compressed_params params = {
		.cap = 1ULL << 30, .compressor = codec->compressor,
	};
	const struct uttm_operation_ctx ctx = { .interruptible = false };
	char page[UTTM_PAGE_SIZE], out[UTTM_PAGE_SIZE];
	void *src = page, *dst = out;
	struct uttm_backup *backup;
	unsigned long handle;

	fill_text(page, 15, 0);
	if (limit_data(64 * MiB))
		return CHILD_SKIP;
	CHILD_CHECK(!uttm_backup_compressed_create(&params, &backup));
	CHILD_CHECK(uttm_backup_backup_pages(backup, &src, 1, false,
					     &handle) == 1);
	CHILD_CHECK(uttm_backup_copy_pages(backup, &dst, &handle, 1,
					   &ctx) == 1);
	CHILD_CHECK(!memcmp(page, out, UTTM_PAGE_SIZE));
	uttm_backup_drop(backup, &handle, 1);
	uttm_backup_put(backup);
	return 0;
}

/*
 * RLIMIT_DATA bounds writable private memory, as vm.overcommit_memory=2
 * bounds committed memory: the 4 GiB reservation of a 1 GiB store must
 * not count, only the chunks in use.
 */
static void reservation_commits_only_chunks_in_use(void **state)
{
	run_in_child(reservation_without_commit, *state, NO_LIMIT);
}

static int pool_without_commit(void *unused)
{
	struct zpool pool;
	uint64_t obj;
	int ret;

	CHILD_CHECK(!uttm_zpool_init(&pool, 64 * MiB));
	CHILD_CHECK(!uttm_zpool_alloc(&pool, UTTM_PAGE_SIZE, &obj));
	if (limit_data(0))
		return CHILD_SKIP;
	/* Whole pages: the first chunk fills, the second cannot be mapped. */
	while (!(ret = uttm_zpool_alloc(&pool, UTTM_PAGE_SIZE, &obj)))
		;
	CHILD_CHECK(ret == -ENOMEM);
	CHILD_CHECK(atomic_load(&pool.chunks_used) == 1);
	CHILD_CHECK(uttm_slots_used(&pool.free_chunks) == 1);
	CHILD_CHECK(uttm_zpool_used_bytes(&pool) == ZPOOL_CHUNK_SIZE);
	uttm_zpool_fini(&pool);
	return 0;
}

/* The chunk taken for an allocation it could not map goes back at once. */
static void chunk_that_cannot_be_mapped_goes_back(void **state)
{
	run_in_child(pool_without_commit, NULL, NO_LIMIT);
}

/* Pages backed up at most before a chunk must be mapped: a few chunks. */
#define UNMAPPED_PROBE_PAGES 1024

static int chunk_without_commit(void *arg)
{
	const struct codec *codec = arg;
	struct uttm_backup_compressed_params params = {
		.cap = 64 * MiB, .compressor = codec->compressor,
	};
	static unsigned long handles[UNMAPPED_PROBE_PAGES];
	struct uttm_backup_compressed_stats before, after;
	char page[UTTM_PAGE_SIZE];
	struct uttm_backup *backup;
	void *src = page;
	unsigned long n = 0;
	long ret;

	CHILD_CHECK(!uttm_backup_compressed_create(&params, &backup));
	/* The stream and the first chunk exist before the limit. */
	fill_page(page, 16, n);
	CHILD_CHECK(uttm_backup_backup_pages(backup, &src, 1, false,
					     &handles[n++]) == 1);
	if (limit_data(0))
		return CHILD_SKIP;
	do {
		fill_page(page, 16, n);
		CHILD_CHECK(!uttm_backup_compressed_stats(backup, &before));
		ret = uttm_backup_backup_pages(backup, &src, 1, false,
					       &handles[n]);
		n += ret == 1;
	} while (ret == 1 && n < UNMAPPED_PROBE_PAGES);
	/* Refused when the next chunk could not be made writable... */
	CHILD_CHECK(ret == -ENOMEM);
	CHILD_CHECK(!uttm_backup_compressed_stats(backup, &after));
	CHILD_CHECK(after.pages == n && after.pool_bytes == before.pool_bytes);
	/* ...and everything taken before comes back. */
	for (unsigned long i = 0; i < n; i++) {
		void *dst = page;

		CHILD_CHECK(uttm_backup_copy_pages(backup, &dst, &handles[i], 1,
						   &test_ctx) == 1);
		CHILD_CHECK(page_matches(page, 16, i));
	}
	uttm_backup_drop(backup, handles, n);
	/* Emptied, the store takes pages again. */
	fill_page(page, 16, 0);
	CHILD_CHECK(uttm_backup_backup_pages(backup, &src, 1, false,
					     handles) == 1);
	uttm_backup_drop(backup, handles, 1);
	uttm_backup_put(backup);
	return 0;
}

/*
 * The chunk a backup needs cannot be made writable (the data limit, or
 * commit refused under vm.overcommit_memory=2): -ENOMEM, nothing lost,
 * and the chunk is free again.
 */
static void chunk_that_cannot_be_committed_is_enomem(void **state)
{
	run_in_child(chunk_without_commit, *state, NO_LIMIT);
}

static int streams_without_memory(void *arg)
{
	const struct codec *codec = arg;
	struct uttm_backup_compressed_params params = {
		.cap = MiB, .compressor = codec->compressor,
	};
	char page[UTTM_PAGE_SIZE] = { 1 }, zero[UTTM_PAGE_SIZE] = { 0 };
	void *src = page, *same = zero, **hog = NULL, **block;
	struct uttm_backup *backup;
	unsigned long handle = 1;
	size_t size = 1 << 20;

	CHILD_CHECK(!uttm_backup_compressed_create(&params, &backup));
	if (limit_data(0))
		return CHILD_SKIP;
	/* Use up what the heap has left, down to small blocks, kept linked. */
	for (; size >= 64; size /= 2) {
		while ((block = malloc(size))) {
			*block = hog;
			hog = block;
		}
	}
	/* A page to compress needs a stream, and none can be made. */
	CHILD_CHECK(uttm_backup_backup_pages(backup, &src, 1, false,
					     &handle) == -ENOMEM);
	/* A same-filled page needs none, neither way. */
	CHILD_CHECK(uttm_backup_backup_pages(backup, &same, 1, false,
					     &handle) == 1);
	memset(zero, 0xee, sizeof(zero));
	CHILD_CHECK(uttm_backup_copy_pages(backup, &same, &handle, 1,
					   &test_ctx) == 1);
	CHILD_CHECK(page_is_zero(zero));
	uttm_backup_drop(backup, &handle, 1);
	return 0;
}

static void stream_allocation_failure_is_enomem(void **state)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
	skip_because("a sanitizer's allocator aborts instead of failing");
#endif
	run_in_child(streams_without_memory, *state, NO_LIMIT);
}

/* LZ4 decompresses with no state: a restore then takes no stream. */
static void only_zstd_decompression_needs_a_stream(void **state)
{
	const struct codec *codec = *state;
	char page[UTTM_PAGE_SIZE], out[UTTM_PAGE_SIZE];
	struct zcomp_stream *stream;
	struct zcomp comp;
	unsigned int len;

	stream = compress_text(codec, &comp, page, 19, &len);
	assert_int_equal(uttm_zcomp_decompress_needs_stream(&comp),
			 codec->compressor == UTTM_COMPRESSOR_ZSTD);
	assert_int_equal(uttm_zcomp_decompress(&comp,
					       uttm_zcomp_decompress_needs_stream(&comp) ?
					       stream : NULL,
					       stream->buf, len, out), 0);
	assert_memory_equal(out, page, UTTM_PAGE_SIZE);
	uttm_zcomp_stream_put(&comp, stream);
	uttm_zcomp_fini(&comp);
}

/*
 * Several threads, each with its own arena, pool and vector, all in one
 * store: what is shared is the store alone.
 */
struct worker {
	struct uttm_backup *backup;
	unsigned int id;
	int error;
};

static int worker_cycle(struct uttm_tt *tt, uint64_t seed)
{
	const struct uttm_backup_flags flags = { .purge = false };
	char want[UTTM_PAGE_SIZE];

	for (unsigned long i = 0; i < tt->num_pages; i++)
		fill_content(uttm_tt_page_address(tt, i), CONTENT_MIXED, seed,
			     i);
	if (uttm_tt_backup(tt, &flags) != (long)tt->num_pages)
		return 1;
	if (uttm_tt_populate(tt, &test_ctx))
		return 2;
	for (unsigned long i = 0; i < tt->num_pages; i++) {
		fill_content(want, CONTENT_MIXED, seed, i);
		if (memcmp(uttm_tt_page_address(tt, i), want, UTTM_PAGE_SIZE))
			return 3;
	}
	return 0;
}

static void *worker_run(void *arg)
{
	struct uttm_arena_params ap = { .max_bytes = 8 * MiB };
	struct uttm_pool_params pp = { .max_pages = 256 };
	struct worker *w = arg;
	struct uttm_arena *arena;
	struct uttm_pool pool;
	struct uttm_tt tt;

	w->error = uttm_arena_create(&ap, &arena);
	if (w->error)
		return NULL;
	pp.arena = arena;
	w->error = uttm_pool_init(&pool, &pp);
	if (!w->error)
		w->error = uttm_tt_init(&tt, &pool, 96 * UTTM_PAGE_SIZE,
					UTTM_PLAIN, 0);
	if (!w->error) {
		w->error = uttm_tt_set_backup(&tt, w->backup);
		if (!w->error)
			w->error = uttm_tt_populate(&tt, &test_ctx);
		for (unsigned int c = 0; c < 40 && !w->error; c++)
			w->error = worker_cycle(&tt, w->id * 1000 + c);
		uttm_tt_fini(&tt);
		uttm_pool_fini(&pool);
	}
	uttm_arena_destroy(arena);
	return NULL;
}

/* Four threads, each with a vector of its own, cycling through @backup. */
static void run_workers(struct uttm_backup *backup)
{
	struct worker workers[4];
	pthread_t threads[4];

	for (unsigned int i = 0; i < 4; i++) {
		workers[i] = (struct worker){ backup, i, 0 };
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run,
						&workers[i]), 0);
	}
	for (unsigned int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		assert_int_equal(workers[i].error, 0);
	}
}

static void threads_share_one_store(void **state)
{
	struct uttm_backup *backup = store_new(*state, 64 * MiB, 0);

	run_workers(backup);
	assert_empty(backup, 64 * MiB);
	uttm_backup_put(backup);
}


/*
 * The compressed store as a tier: a store of @cap over a file store of
 * @lower_bytes (0: the disk's room); the file store is in @lower, with a
 * reference of the caller's own.
 */
static struct uttm_backup *tier_new(const struct codec *codec, uint64_t cap,
				    uint64_t lower_bytes,
				    struct uttm_backup **lower)
{
	struct uttm_backup_file_params fp = { .max_bytes = lower_bytes };
	struct uttm_backup_compressed_params params = {
		.cap = cap, .compressor = codec->compressor,
	};
	struct uttm_backup *backup;

	assert_int_equal(uttm_backup_file_create(&fp, lower), 0);
	params.lower = *lower;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	return backup;
}

/* Nothing left anywhere once every handle is dropped. */
static void assert_tier_empty(struct uttm_backup *backup,
			      struct uttm_backup *lower)
{
	struct uttm_backup_compressed_stats s = stats_of(backup);

	assert_int_equal(s.pages, 0);
	assert_int_equal(s.lower_pages, 0);
	assert_int_equal(s.pool_bytes, 0);
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(uttm_backup_handles(lower), 0);
}

/* Every page of @p comes back whole; once dropped, nothing is left. */
static void tier_restore_and_drop(struct uttm_backup *backup,
				  struct uttm_backup *lower, struct pages *p)
{
	assert_restores(backup, p);
	drop_all(backup, p);
	assert_tier_empty(backup, lower);
	pages_free(p);
}

static void pages_move_down_at_the_cap_and_come_back(void **state)
{
	static const enum content contents[] = { CONTENT_TEXT, CONTENT_RANDOM,
						 CONTENT_MIXED };
	struct uttm_backup *lower, *backup = tier_new(*state, 256 * 1024, 0,
						      &lower);
	struct uttm_backup_compressed_stats s;
	struct pages p;

	for (size_t c = 0; c < ARRAY_SIZE(contents); c++) {
		pages_alloc(&p, 2048);
		pages_fill(&p, contents[c], c);
		backup_all(backup, &p);
		s = stats_of(backup);
		print_message("content %zu: %llu of %llu pages moved down\n", c,
			      (unsigned long long)s.lower_pages,
			      (unsigned long long)s.pages);
		assert_int_equal(s.pages, 2048);
		assert_true(s.lower_pages > 0);
		assert_int_equal(uttm_backup_handles(lower), s.lower_pages);
		assert_true(s.pool_bytes <= 256 * 1024);
		tier_restore_and_drop(backup, lower, &p);
	}
	uttm_backup_put(backup);
	uttm_backup_put(lower);
}

static void writeback_moves_the_coldest_pages_down(void **state)
{
	struct uttm_backup *lower, *backup = tier_new(*state, 64 * MiB, 0,
						      &lower);
	struct pages older, newer;
	uint64_t pool, freed;

	pages_alloc(&older, 512);
	pages_alloc(&newer, 512);
	pages_fill(&older, CONTENT_RANDOM, 1);
	pages_fill(&newer, CONTENT_RANDOM, 2);
	backup_all(backup, &older);
	backup_all(backup, &newer);
	assert_int_equal(stats_of(backup).lower_pages, 0);
	pool = stats_of(backup).pool_bytes;
	/* What the budget would ask for: a quarter of it. */
	freed = uttm_backup_writeback(backup, pool / 4);
	assert_true(freed >= pool / 4);
	assert_true(stats_of(backup).pool_bytes <= pool - freed);
	assert_true(stats_of(backup).lower_pages > 0);
	/* Its memory is the pool's and the entries' (8 bytes a page). */
	assert_true(uttm_backup_resident_bytes(backup) >=
		    stats_of(backup).memory_bytes + 1024 * 8);
	/* They were the older pages: with those gone, nothing is down. */
	assert_restores(backup, &older);
	drop_all(backup, &older);
	assert_int_equal(uttm_backup_handles(lower), 0);
	pages_free(&older);
	tier_restore_and_drop(backup, lower, &newer);
	uttm_backup_put(backup);
	uttm_backup_put(lower);
}

/* A full lower store stops a backup at the cap, a prefix: all comes back. */
static void full_lower_store_cuts_a_backup_short(void **state)
{
	struct uttm_backup *lower, *backup = tier_new(*state, 64 * 4096,
						      16 * 4096, &lower);
	struct pages p;
	long ret;

	pages_alloc(&p, 256);
	pages_fill(&p, CONTENT_RANDOM, 3);
	ret = uttm_backup_backup_pages(backup, p.addr, p.count, false,
				       p.handles);
	assert_true(ret >= 64 && ret <= 64 + 16);
	assert_int_equal(stats_of(backup).lower_pages, 16);
	p.count = (unsigned long)ret;
	tier_restore_and_drop(backup, lower, &p);
	uttm_backup_put(backup);
	uttm_backup_put(lower);
}

/*
 * At the cap, pages backed up go straight down, uncompressed, and those
 * in the pool stay: dropping the new pages leaves the lower store as it
 * was.  Same-filled pages among them stay inline.
 */
static void at_the_cap_new_pages_go_down_and_the_pool_stays(void **state)
{
	struct uttm_backup *lower, *backup = tier_new(*state, 64 * 4096, 0,
						      &lower);
	struct uttm_backup_compressed_stats before;
	struct pages older, newer;

	pages_alloc(&older, 128);
	pages_fill(&older, CONTENT_RANDOM, 4);
	backup_all(backup, &older);
	before = stats_of(backup);
	assert_true(before.lower_pages > 0);
	pages_alloc(&newer, 72);
	pages_fill(&newer, CONTENT_RANDOM, 5);
	for (unsigned long i = 0; i < newer.count; i += 9)
		memset(newer.addr[i], 0x5a, UTTM_PAGE_SIZE);
	backup_all(backup, &newer);
	assert_int_equal(stats_of(backup).lower_pages, before.lower_pages + 64);
	assert_int_equal(stats_of(backup).same_filled_pages, 8);
	assert_int_equal(stats_of(backup).pool_bytes, before.pool_bytes);
	assert_restores(backup, &newer);
	drop_all(backup, &newer);
	assert_int_equal(uttm_backup_handles(lower), before.lower_pages);
	pages_free(&newer);
	tier_restore_and_drop(backup, lower, &older);
	uttm_backup_put(backup);
	uttm_backup_put(lower);
}

/*
 * A vector that tracks writes keeps, as copies, the pages a tier restores
 * from its lower store, and none from its pool, which would hold memory;
 * a backup of the clean vector then writes nothing below.
 */
static void a_tier_keeps_copies_of_its_lower_pages_only(void **state)
{
	const struct codec *codec = *state;
	struct fixture *fx = fixture_create(64 * MiB, 4096, 0);
	struct uttm_backup_file_params fp = { .fault = fx->fault };
	struct uttm_backup_compressed_params params = {
		.cap = 64 * 4096, .compressor = codec->compressor,
	};
	struct uttm_backup *alone, *lower, *backup;
	struct uttm_tt tt, up;
	struct pages older;

	assert_int_equal(uttm_backup_compressed_create(&params, &alone), 0);
	assert_false(uttm_backup_keeps_copies(alone));
	uttm_backup_put(alone);
	assert_int_equal(uttm_backup_file_create(&fp, &lower), 0);
	params.lower = lower;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	assert_true(uttm_backup_keeps_copies(backup));
	/* The pool at its cap: what comes next goes down. */
	pages_alloc(&older, 128);
	pages_fill(&older, CONTENT_RANDOM, 6);
	backup_all(backup, &older);
	tt_new_flagged(&tt, &fx->pool, 256 * UTTM_PAGE_SIZE, UTTM_PLAIN,
		       UTTM_TT_FLAG_TRACK_DIRTY, backup, 7);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 256);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_int_equal(count_copies(&tt), 256);
	assert_restores(backup, &older);
	drop_all(backup, &older);
	pages_free(&older);
	/* With room in the pool again, a vector's pages stay up: no copies. */
	tt_new_flagged(&up, &fx->pool, 16 * UTTM_PAGE_SIZE, UTTM_PLAIN,
		       UTTM_TT_FLAG_TRACK_DIRTY, backup, 8);
	assert_int_equal(uttm_tt_backup(&up, &backup_flags), 16);
	assert_int_equal(uttm_tt_populate(&up, &test_ctx), 0);
	assert_int_equal(count_copies(&up), 0);
	uttm_tt_fini(&up);
	fixture_arm(fx, UTTM_FAULT_BACKUP, 1, 1, -ENOSPC);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 256);
	uttm_fault_disarm(fx->fault, UTTM_FAULT_BACKUP);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 7);
	uttm_tt_fini(&tt);
	assert_tier_empty(backup, lower);
	uttm_backup_put(backup);
	uttm_backup_put(lower);
	fixture_destroy(fx);
}

/*
 * A lower store whose handles no entry of the tier can hold (bit 59 is
 * the entry's own flag), which keeps nothing.
 */
struct wide_store {
	struct uttm_backup base;
	unsigned long next;
};

static long wide_backup_pages(struct uttm_backup *backup, void *const *src,
			      unsigned long count, bool writeback,
			      unsigned long *handles)
{
	struct wide_store *ws = container_of(backup, struct wide_store, base);

	for (unsigned long i = 0; i < count; i++)
		handles[i] = (1UL << 59) + ++ws->next;
	return (long)count;
}

static void wide_drop(struct uttm_backup *backup, const unsigned long *handles,
		      unsigned long count)
{
}

static uint64_t wide_bytes_avail(struct uttm_backup *backup)
{
	return 1ULL << 40;
}

static void wide_fini(struct uttm_backup *backup)
{
	free(container_of(backup, struct wide_store, base));
}

static const struct uttm_backup_ops wide_ops = {
	.backup_pages = wide_backup_pages,
	.drop = wide_drop,
	.bytes_avail = wide_bytes_avail,
	.fini = wide_fini,
};

/*
 * Handles the lower store gives that no entry can hold go back to it at
 * once, on both ways down: a backup at the cap ends short, a writeback
 * leaves its pages in the pool, and every page comes back.
 */
static void lower_handles_too_wide_go_back(void **state)
{
	const struct codec *codec = *state;
	struct wide_store *ws = calloc(1, sizeof(*ws));
	struct uttm_backup_compressed_params params = {
		.cap = 16 * 4096, .compressor = codec->compressor,
	};
	struct uttm_backup *backup;
	struct pages p;
	long ret;

	assert_non_null(ws);
	assert_int_equal(uttm_backup_init(&ws->base, &wide_ops, NULL), 0);
	params.lower = &ws->base;
	assert_int_equal(uttm_backup_compressed_create(&params, &backup), 0);
	pages_alloc(&p, 64);
	pages_fill(&p, CONTENT_RANDOM, 6);
	ret = uttm_backup_backup_pages(backup, p.addr, p.count, false,
				       p.handles);
	assert_true(ret > 0 && ret < 64);
	assert_true(ws->next > 0);
	assert_int_equal(uttm_backup_handles(&ws->base), 0);
	assert_int_equal(stats_of(backup).lower_pages, 0);
	p.count = (unsigned long)ret;
	uttm_backup_writeback(backup, 16 * 4096);
	assert_int_equal(uttm_backup_handles(&ws->base), 0);
	assert_int_equal(stats_of(backup).pages, p.count);
	assert_restores(backup, &p);
	drop_all(backup, &p);
	assert_int_equal(stats_of(backup).pages, 0);
	pages_free(&p);
	uttm_backup_put(backup);
	uttm_backup_put(&ws->base);
}

/*
 * Threads back up, restore and drop while pages move down under them:
 * a page read or dropped as it moves comes back whole or goes once.
 */
static void threads_share_one_tier(void **state)
{
	struct uttm_backup *lower, *backup = tier_new(*state, MiB, 0, &lower);

	run_workers(backup);
	assert_tier_empty(backup, lower);
	uttm_backup_put(backup);
	uttm_backup_put(lower);
}

#define CODEC_TEST(f, codec) \
	cmocka_unit_test_prestate(f, (void *)&(codec))

#define CODEC_TESTS(codec)                                                   \
	CODEC_TEST(same_filled_pages_cost_no_memory, codec),                 \
	CODEC_TEST(one_differing_byte_is_not_same_filled, codec),            \
	CODEC_TEST(incompressible_pages_are_stored_raw, codec),              \
	CODEC_TEST(compressible_pages_are_compressed, codec),                \
	CODEC_TEST(poor_compression_is_stored_raw_below_the_threshold, codec), \
	CODEC_TEST(level_is_applied, codec),                                 \
	CODEC_TEST(cap_reached_mid_object_then_full_restore, codec),         \
	CODEC_TEST(full_store_refuses_with_enospc, codec),                   \
	CODEC_TEST(freed_objects_are_reused_before_memory_grows, codec),     \
	CODEC_TEST(new_chunk_without_room_is_given_back, codec),             \
	CODEC_TEST(freed_object_further_down_serves_at_the_cap, codec),      \
	CODEC_TEST(counters_exact_and_memory_returned_to_the_system, codec), \
	CODEC_TEST(corrupt_data_is_an_io_error, codec),                      \
	CODEC_TEST(reservation_failure_is_enomem, codec),                    \
	CODEC_TEST(reservation_commits_only_chunks_in_use, codec),           \
	CODEC_TEST(chunk_that_cannot_be_committed_is_enomem, codec),         \
	CODEC_TEST(stream_allocation_failure_is_enomem, codec),              \
	CODEC_TEST(only_zstd_decompression_needs_a_stream, codec),           \
	CODEC_TEST(threads_share_one_store, codec),                          \
	CODEC_TEST(pages_move_down_at_the_cap_and_come_back, codec),        \
	CODEC_TEST(writeback_moves_the_coldest_pages_down, codec),          \
	CODEC_TEST(full_lower_store_cuts_a_backup_short, codec),            \
	CODEC_TEST(at_the_cap_new_pages_go_down_and_the_pool_stays, codec), \
	CODEC_TEST(lower_handles_too_wide_go_back, codec),                  \
	CODEC_TEST(a_tier_keeps_copies_of_its_lower_pages_only, codec),     \
	CODEC_TEST(threads_share_one_tier, codec)

int main(void)
{
	const struct CMUnitTest tests[] = {
		CODEC_TESTS(lz4_codec),
		CODEC_TESTS(zstd_codec),
		cmocka_unit_test(chunk_that_cannot_be_mapped_goes_back),
		cmocka_unit_test(bad_input_is_refused),
		cmocka_unit_test(default_cap_is_physical_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
