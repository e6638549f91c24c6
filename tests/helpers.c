// SPDX-License-Identifier: MIT
/*
 * Shared test helpers; see helpers.h.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "support/swapfile.h"
#include "tt/internal.h"

const struct uttm_operation_ctx test_ctx;
const struct uttm_backup_flags backup_flags = { .purge = false };

struct fixture *fixture_create(uint64_t arena_bytes, unsigned long pool_pages,
			       unsigned int arena_flags)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct uttm_arena_params ap = { .max_bytes = arena_bytes,
					.flags = arena_flags };
	struct uttm_pool_params pp = { .max_pages = pool_pages };

	assert_non_null(fx);
	assert_int_equal(uttm_fault_create(&fx->fault), 0);
	ap.fault = fx->fault;
	assert_int_equal(uttm_arena_create(&ap, &fx->arena), 0);
	pp.arena = fx->arena;
	assert_int_equal(uttm_pool_init(&fx->pool, &pp), 0);
	return fx;
}

void fixture_destroy(struct fixture *fx)
{
	uttm_pool_fini(&fx->pool);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	assert_int_equal(arena_resident(fx->arena), 0);
	uttm_arena_destroy(fx->arena);
	uttm_fault_destroy(fx->fault);
	free(fx);
}

int fixture_setup(void **state)
{
	*state = fixture_create(64 * MiB, 4096, 0);
	return 0;
}

/* The swap file swap_on_or_skip() switched on last, if any. */
static char swap_path[SWAP_PATH_SIZE];

/*
 * A test that fails before it switches its swap file off leaves it on;
 * the teardown, which cmocka runs even then, does it instead.
 */
static void swap_leftover_remove(void)
{
	if (swap_path[0] && !access(swap_path, F_OK))
		assert_int_equal(swapfile_remove(swap_path), 0);
	swap_path[0] = '\0';
}

int fixture_teardown(void **state)
{
	swap_leftover_remove();
	fixture_destroy(*state);
	return 0;
}

void fixture_arm(struct fixture *fx, enum uttm_fault_point point,
		 unsigned long nth, unsigned long times, int error)
{
	struct uttm_fault_rule rule = { .nth = nth, .times = times,
					.error = error };

	assert_int_equal(uttm_fault_arm(fx->fault, point, &rule), 0);
}

static uint64_t pattern_word(uint64_t seed, unsigned long index, size_t word)
{
	uint64_t z = seed * 0x9e3779b97f4a7c15ull + index * 0xbf58476d1ce4e5b9ull +
		     word;

	z ^= z >> 31;
	z *= 0x94d049bb133111ebull;
	return z ^ (z >> 29);
}

void fill_page(void *addr, uint64_t seed, unsigned long index)
{
	uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		w[i] = pattern_word(seed, index, i);
}

bool page_matches(const void *addr, uint64_t seed, unsigned long index)
{
	const uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		if (w[i] != pattern_word(seed, index, i))
			return false;
	return true;
}

bool page_is_zero(const void *addr)
{
	const uint64_t *w = addr;

	for (size_t i = 0; i < UTTM_PAGE_SIZE / sizeof(*w); i++)
		if (w[i])
			return false;
	return true;
}

void fill_tt(struct uttm_tt *tt, uint64_t seed)
{
	for (unsigned long i = 0; i < tt->num_pages; i++)
		fill_page(uttm_tt_page_address(tt, i), seed, i);
}

long tt_first_mismatch(const struct uttm_tt *tt, uint64_t seed)
{
	for (unsigned long i = 0; i < tt->num_pages; i++) {
		const void *addr = uttm_tt_page_address(tt, i);

		if (!addr || !page_matches(addr, seed, i))
			return (long)i;
	}
	return -1;
}

void assert_tt_matches(const struct uttm_tt *tt, uint64_t seed)
{
	long bad = tt_first_mismatch(tt, seed);

	if (bad >= 0)
		fail_msg("page %ld of %lu is missing or differs", bad,
			 tt->num_pages);
}

void tt_new_backed(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t bytes,
		   enum uttm_caching caching, struct uttm_backup *backup,
		   uint64_t seed)
{
	tt_new_flagged(tt, pool, bytes, caching, 0, backup, seed);
}

void tt_new_flagged(struct uttm_tt *tt, struct uttm_pool *pool, uint64_t bytes,
		    enum uttm_caching caching, uint32_t page_flags,
		    struct uttm_backup *backup, uint64_t seed)
{
	assert_int_equal(uttm_tt_init(tt, pool, bytes, caching, page_flags),
			 0);
	assert_int_equal(uttm_tt_set_backup(tt, backup), 0);
	assert_int_equal(uttm_tt_populate(tt, &test_ctx), 0);
	fill_tt(tt, seed);
}

uint64_t rng_next(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

unsigned long count_copies(const struct uttm_tt *tt)
{
	return tt->copies ? tt->copies->count : 0;
}

unsigned long count_handles(const struct uttm_tt *tt)
{
	unsigned long n = 0;

	for (unsigned long i = 0; i < tt->num_pages; i++)
		n += uttm_backup_page_ptr_is_handle(tt->pages[i]);
	return n;
}

uint64_t arena_pages_allocated(const struct uttm_arena *arena)
{
	struct uttm_arena_stats stats;

	uttm_arena_stats(arena, &stats);
	return stats.pages_allocated;
}

uint64_t arena_resident(const struct uttm_arena *arena)
{
	struct uttm_arena_stats stats;

	uttm_arena_stats(arena, &stats);
	return stats.resident_bytes;
}

void swap_on_or_skip(char *path, uint64_t bytes)
{
	int ret, fd;

	snprintf(path, SWAP_PATH_SIZE, "/tmp/uttm-test-swap-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	ret = swapfile_create(path, bytes);
	if (ret) {
		fprintf(stderr, "cannot enable a swap file at %s: %s\n", path,
			strerror(-ret));
		skip_because("a swap file needs root and a file system that holds swap");
	}
	snprintf(swap_path, sizeof(swap_path), "%s", path);
}

void assert_refused_without_swap(struct fixture *fx,
				 struct uttm_backup *backup)
{
	const struct uttm_backup_flags purge = { .purge = true };
	struct uttm_tt tt;

	assert_int_equal(uttm_backup_bytes_avail(backup), 0);
	tt_new_backed(&tt, &fx->pool, MiB, UTTM_PLAIN, backup, 1);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EBUSY);
	assert_true(uttm_tt_is_populated(&tt));
	/* Purging needs no room. */
	assert_int_equal(uttm_tt_backup(&tt, &purge), 256);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

void assert_writeback_reaches_swap(struct fixture *fx,
				   struct uttm_backup *backup,
				   enum uttm_caching caching)
{
	const struct uttm_backup_flags flags = { .writeback = true };
	uint64_t before, after;
	struct uttm_tt tt;

	assert_true(uttm_backup_bytes_avail(backup) >= 200 * MiB);
	tt_new_backed(&tt, &fx->pool, 32 * MiB, caching, backup, 77);
	before = swap_free_bytes();
	assert_int_equal(uttm_tt_backup(&tt, &flags), tt.num_pages);
	after = swap_free_bytes();
	fprintf(stderr, "swap used by writeback: %llu MiB\n",
		(unsigned long long)((before - after) / MiB));
	assert_true(before - after >= 24 * MiB);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 77);
	uttm_tt_fini(&tt);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_backup_put(backup);
}

void assert_resident_follows_the_pages(struct fixture *fx,
				       struct uttm_backup *backup, bool swap)
{
	const uint64_t bytes = 8 * MiB;
	uint64_t out, left;
	struct uttm_tt tt;

	assert_int_equal(uttm_backup_resident_bytes(backup), 0);
	tt_new_backed(&tt, &fx->pool, bytes, UTTM_PLAIN, backup, 5);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), tt.num_pages);
	/* In the store, still in memory: counted. */
	assert_int_equal(uttm_backup_resident_bytes(backup), bytes);
	out = uttm_backup_writeback(backup, bytes);
	left = uttm_backup_resident_bytes(backup);
	fprintf(stderr, "written out: %llu KiB, left in memory: %llu KiB\n",
		(unsigned long long)(out >> 10),
		(unsigned long long)(left >> 10));
	assert_int_equal(left, bytes - out);
	if (swap)
		assert_true(out >= bytes / 2);
	else
		assert_int_equal(out, 0);
	/* Restored, the handles go and their pages with them. */
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 5);
	assert_int_equal(uttm_backup_resident_bytes(backup), 0);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

static bool mock_fails(unsigned long *calls, unsigned long fails_at)
{
	return ++*calls == fails_at;
}

static int mock_enter(void *priv, void *vaddr, unsigned long npages)
{
	struct mock_device *dev = priv;

	if (mock_fails(&dev->enter_calls, dev->enter_fails_at))
		return dev->error;
	dev->entered += npages;
	return 0;
}

static void mock_leave(void *priv, void *vaddr, unsigned long npages)
{
	((struct mock_device *)priv)->left += npages;
}

static int mock_map(void *priv, void *vaddr, unsigned long npages,
		    uint64_t *dma_addr)
{
	struct mock_device *dev = priv;

	if (mock_fails(&dev->map_calls, dev->map_fails_at))
		return dev->error;
	*dma_addr = (uintptr_t)vaddr;
	dev->mapped += npages;
	return 0;
}

static void mock_unmap(void *priv, uint64_t dma_addr, unsigned long npages)
{
	((struct mock_device *)priv)->unmapped += npages;
}

static const struct uttm_pool_ops mock_ops = {
	.device_enter = mock_enter,
	.device_leave = mock_leave,
	.dma_map = mock_map,
	.dma_unmap = mock_unmap,
};

int mock_pool_init(struct uttm_pool *pool, struct uttm_arena *arena,
		   struct mock_device *dev, unsigned long max_pages,
		   bool use_dma_map)
{
	struct uttm_pool_params pp = {
		.arena = arena, .max_pages = max_pages, .ops = &mock_ops,
		.priv = dev, .use_dma_map = use_dma_map,
	};

	memset(dev, 0, sizeof(*dev));
	return uttm_pool_init(pool, &pp);
}

pid_t child_start(int (*fn)(void *arg), void *arg)
{
	/* The signals cmocka turns into a failed test and a jump. */
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGSYS };
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	/*
	 * A child that crashes must die of it: caught, it would go on
	 * running the parent's remaining tests.
	 */
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		signal(fatal[i], SIG_DFL);
	_exit(fn(arg));
}

int child_wait(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

void child_assert_passed(int status, const char *skip_reason)
{
	if (WIFSIGNALED(status))
		fail_msg("the child was killed by signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status) == CHILD_SKIP && skip_reason)
		skip_because(skip_reason);
	assert_int_equal(WEXITSTATUS(status), 0);
}

void run_in_child(int (*fn)(void *arg), void *arg, const char *skip_reason)
{
	child_assert_passed(child_wait(child_start(fn, arg)), skip_reason);
}

int limit_resource(int resource, const char *field, uint64_t extra)
{
	uint64_t now = status_bytes(field) + extra;
	struct rlimit lim = { now, now };

	return setrlimit(resource, &lim);
}

int limit_data(uint64_t extra)
{
	return limit_resource(RLIMIT_DATA, "VmData", extra);
}
