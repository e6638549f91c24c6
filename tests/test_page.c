// SPDX-License-Identifier: MIT
/*
 * The page layer: block allocation by order, split, page frame numbers,
 * growth up to the maximum, memory really returned to the system, DMA32
 * placement and refusal of bad input.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "helpers.h"
#include "support/cgroup.h"
#include "support/fragment.h"

static struct uttm_arena *arena_new(uint64_t bytes, unsigned int flags)
{
	struct uttm_arena_params ap = { .max_bytes = bytes, .flags = flags };
	struct uttm_arena *arena;

	assert_int_equal(uttm_arena_create(&ap, &arena), 0);
	return arena;
}

static void arena_done(struct uttm_arena *arena)
{
	assert_int_equal(arena_pages_allocated(arena), 0);
	assert_int_equal(arena_resident(arena), 0);
	uttm_arena_destroy(arena);
}

static void block_is_aligned_zeroed_and_usable(void **state)
{
	struct uttm_arena *arena = arena_new(16 * MiB, 0);

	for (unsigned int order = 0; order <= UTTM_MAX_ORDER; order++) {
		unsigned long nr = 1UL << order;
		struct uttm_page *page;
		char *addr;

		assert_int_equal(uttm_alloc_pages(arena, order, &page), 0);
		assert_int_equal(uttm_page_order(page), order);
		addr = uttm_page_address(arena, page);
		assert_int_equal((uintptr_t)addr % (UTTM_PAGE_SIZE << order), 0);
		assert_int_equal(uttm_page_offset(arena, page) %
				 (UTTM_PAGE_SIZE << order), 0);
		assert_int_equal(arena_pages_allocated(arena), nr);
		for (unsigned long i = 0; i < nr; i++) {
			assert_true(page_is_zero(addr + i * UTTM_PAGE_SIZE));
			fill_page(addr + i * UTTM_PAGE_SIZE, order, i);
		}
		for (unsigned long i = 0; i < nr; i++)
			assert_true(page_matches(addr + i * UTTM_PAGE_SIZE,
						 order, i));
		uttm_free_pages(arena, &page, 1);
		assert_int_equal(arena_pages_allocated(arena), 0);
	}
	arena_done(arena);
}

static void split_block_frees_page_by_page(void **state)
{
	struct uttm_arena *arena = arena_new(4 * MiB, 0);
	struct uttm_page *page, *big;

	assert_int_equal(uttm_alloc_pages(arena, 3, &page), 0);
	uttm_split_page(page);
	for (unsigned int i = 0; i < 8; i++)
		assert_int_equal(uttm_page_order(&page[i]), 0);
	for (unsigned int i = 0; i < 8; i++) {
		struct uttm_page *p = &page[i];

		uttm_free_pages(arena, &p, 1);
		assert_int_equal(arena_pages_allocated(arena), 7 - i);
	}
	/* The split pages merged back: the whole arena is one block again. */
	assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER, &big), 0);
	uttm_free_pages(arena, &big, 1);
	arena_done(arena);
}

static void pfn_names_a_page_of_one_arena_only(void **state)
{
	struct uttm_arena *arena = arena_new(8 * MiB, 0);
	struct uttm_arena *other = arena_new(8 * MiB, 0);
	struct uttm_page *page, *stranger;
	unsigned long pfn;

	assert_int_equal(uttm_alloc_pages(arena, 3, &page), 0);
	assert_int_equal(uttm_alloc_pages(other, 0, &stranger), 0);
	pfn = uttm_page_to_pfn(arena, page);
	assert_int_equal(pfn << UTTM_PAGE_SHIFT, uttm_page_offset(arena, page));
	for (unsigned long j = 0; j < 8; j++) {
		assert_ptr_equal(uttm_pfn_to_page(arena, pfn + j), page + j);
		assert_true(uttm_page_in_arena(arena, page + j));
	}
	assert_false(uttm_page_in_arena(arena, stranger));
	assert_false(uttm_page_in_arena(other, page));
	assert_false(uttm_page_in_arena(NULL, page));
	uttm_free_pages(other, &stranger, 1);
	uttm_free_pages(arena, &page, 1);
	arena_done(other);
	arena_done(arena);
}

static void grows_to_max_then_enomem(void **state)
{
	struct uttm_arena *arena = arena_new(8 * MiB, 0);
	struct uttm_arena_stats stats;
	struct uttm_page *a, *b, *c;

	uttm_arena_stats(arena, &stats);
	assert_int_equal(stats.size_bytes, 0);
	assert_int_equal(stats.max_bytes, 8 * MiB);
	assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER, &a), 0);
	assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER, &b), 0);
	uttm_arena_stats(arena, &stats);
	assert_int_equal(stats.size_bytes, 8 * MiB);
	assert_int_equal(uttm_alloc_pages(arena, 0, &c), -ENOMEM);
	uttm_free_pages(arena, &a, 1);
	assert_int_equal(uttm_alloc_pages(arena, 0, &c), 0);
	uttm_free_pages(arena, &c, 1);
	uttm_free_pages(arena, &b, 1);
	arena_done(arena);
}

/*
 * Files of the child may not pass 6 MiB: the arena grows to the last
 * whole 4 MiB block below that and no further, with -ENOMEM and without
 * the SIGXFSZ that growing the file past the limit would raise.
 */
static int grow_under_file_size_limit(void *unused)
{
	struct rlimit lim = { 6 * MiB, 6 * MiB };
	struct uttm_arena_params ap = { .max_bytes = 64 * MiB };
	struct uttm_arena_stats stats;
	struct uttm_page *block, *page;
	struct uttm_arena *arena;

	CHILD_CHECK(!setrlimit(RLIMIT_FSIZE, &lim));
	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	CHILD_CHECK(!uttm_alloc_pages(arena, UTTM_MAX_ORDER, &block));
	CHILD_CHECK(uttm_alloc_pages(arena, 0, &page) == -ENOMEM);
	uttm_arena_stats(arena, &stats);
	CHILD_CHECK(stats.size_bytes == 4 * MiB);
	uttm_free_pages(arena, &block, 1);
	CHILD_CHECK(!uttm_alloc_pages(arena, 0, &page));
	uttm_free_pages(arena, &page, 1);
	uttm_arena_destroy(arena);
	return 0;
}

static void file_size_limit_stops_growth_with_enomem(void **state)
{
	run_in_child(grow_under_file_size_limit, NULL, NULL);
}

/* Faults in the next 256 KiB of stack, so that using them costs no memory. */
static void __attribute__((noinline)) touch_stack(void)
{
	volatile char stack[256 * 1024];

	memset((char *)stack, 0, sizeof(stack));
}

/* Keeps the OOM killer off the calling process; needs CAP_SYS_RESOURCE. */
static int oom_immune(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	int ret = fd < 0 || write(fd, "-1000", 5) != 5 ? -1 : 0;

	if (fd >= 0)
		close(fd);
	return ret;
}

/*
 * In a 16 MiB memory cgroup, out of reach of the OOM killer (v1: turned
 * off; v2: the child may not be chosen), 4 MiB blocks cannot all be
 * faulted in: the block that finds the cgroup full is -ENOMEM and leaves
 * neither a count nor memory behind.  What the library touches besides
 * the blocks (the memmap, the stack) is faulted in before the limit
 * applies: a fault in a full cgroup that nothing is killed for would wait
 * for ever.
 */
static int populate_beyond_cgroup_limit(void *arg)
{
	struct uttm_arena_params ap = { .max_bytes = 32 * MiB };
	const struct cgroup *cg = arg;
	struct uttm_page *blocks[8];
	struct uttm_arena *arena;
	struct spacers sp;
	unsigned int n;
	int ret = 0;

	CHILD_CHECK(!uttm_arena_create(&ap, &arena));
	CHILD_CHECK(!fragment_arena(arena, &sp));
	unfragment_arena(arena, &sp);
	touch_stack();
	if (cg->v2 && oom_immune())
		return CHILD_SKIP;
	CHILD_CHECK(!cgroup_enter(cg));
	for (n = 0; n < ARRAY_SIZE(blocks) && !ret; n++)
		ret = uttm_alloc_pages(arena, UTTM_MAX_ORDER, &blocks[n]);
	CHILD_CHECK(ret == -ENOMEM && n >= 2);
	n--;
	CHILD_CHECK(arena_pages_allocated(arena) == n * 1024UL);
	CHILD_CHECK(arena_resident(arena) == n * 4 * MiB);
	uttm_free_pages(arena, blocks, n);
	uttm_arena_destroy(arena);
	return 0;
}

static void full_memory_cgroup_is_enomem(void **state)
{
	char name[64];
	struct cgroup cg;
	int status;

	if (swap_free_bytes())
		skip_because("with swap, the cgroup's limit is met by swapping");
	snprintf(name, sizeof(name), "uttm-test-page-%d", getpid());
	if (cgroup_create(&cg, name, 16 * MiB))
		skip_because("a memory cgroup controller and root are needed");
	if (!cg.v2)
		assert_int_equal(cgroup_throttle(&cg), 0);
	status = child_wait(child_start(populate_beyond_cgroup_limit, &cg));
	assert_int_equal(cgroup_remove(&cg), 0);
	child_assert_passed(status, "cgroup v2 without CAP_SYS_RESOURCE: "
				    "the OOM killer would kill");
}

static void free_returns_memory_to_the_system(void **state)
{
	struct uttm_arena *arena = arena_new(64 * MiB, 0);
	struct uttm_page *blocks[1024];
	uint64_t rss_before = status_bytes("RssShmem"), rss_full;

	/* 32 MiB in order-0 pages, so that the frees must be batched. */
	for (unsigned int i = 0; i < 1024; i++)
		assert_int_equal(uttm_alloc_pages(arena, i % 4, &blocks[i]), 0);
	rss_full = status_bytes("RssShmem");
	assert_true(arena_resident(arena) >= (1024 / 4) * 15 * UTTM_PAGE_SIZE);
	assert_true(rss_full - rss_before >= 4 * MiB);
	uttm_free_pages(arena, blocks, 1024);
	assert_int_equal(arena_resident(arena), 0);
	assert_true(status_bytes("RssShmem") < rss_full - 4 * MiB);
	arena_done(arena);
}

static void freed_buddies_merge(void **state)
{
	struct uttm_arena *arena = arena_new(4 * MiB, 0);
	struct uttm_page *pages[1024], *big;

	for (unsigned int i = 0; i < 1024; i++)
		assert_int_equal(uttm_alloc_pages(arena, 0, &pages[i]), 0);
	assert_int_equal(uttm_alloc_pages(arena, 0, &big), -ENOMEM);
	/* Freed in an order that defeats naive neighbour merging. */
	for (unsigned int i = 0; i < 1024; i += 2)
		uttm_free_pages(arena, &pages[i], 1);
	assert_int_equal(uttm_alloc_pages(arena, 1, &big), -ENOMEM);
	for (unsigned int i = 1; i < 1024; i += 2)
		uttm_free_pages(arena, &pages[i], 1);
	assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER, &big), 0);
	uttm_free_pages(arena, &big, 1);
	arena_done(arena);
}

static void dma32_pages_lie_below_4g(void **state)
{
	struct uttm_arena *arena = arena_new(64 * MiB, UTTM_ARENA_DMA32);
	struct uttm_arena_stats stats;
	struct uttm_page *blocks[16];

	uttm_arena_stats(arena, &stats);
	assert_true(stats.dma32);
	for (unsigned int i = 0; i < 16; i++) {
		char *addr;

		assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER - 1,
						  &blocks[i]), 0);
		addr = uttm_page_address(arena, blocks[i]);
		assert_true((uintptr_t)addr + (UTTM_PAGE_SIZE << 9) <=
			    (1ULL << 32));
		memset(addr, 0xa5, UTTM_PAGE_SIZE << 9);
	}
	uttm_free_pages(arena, blocks, 16);
	arena_done(arena);
}

static void injected_fault_fails_the_nth_allocation(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 4 * MiB };
	struct uttm_fault_rule rule = { .nth = 3 };
	struct uttm_page *pages[4];
	struct uttm_arena *arena;
	struct uttm_fault *fault;

	assert_int_equal(uttm_fault_create(&fault), 0);
	ap.fault = fault;
	assert_int_equal(uttm_arena_create(&ap, &arena), 0);
	assert_int_equal(uttm_fault_arm(fault, UTTM_FAULT_PAGE_ALLOC, &rule), 0);
	assert_int_equal(uttm_alloc_pages(arena, 0, &pages[0]), 0);
	assert_int_equal(uttm_alloc_pages(arena, 0, &pages[1]), 0);
	assert_int_equal(uttm_alloc_pages(arena, 0, &pages[2]), -ENOMEM);
	assert_int_equal(uttm_alloc_pages(arena, 0, &pages[2]), 0);
	assert_int_equal(arena_pages_allocated(arena), 3);
	uttm_free_pages(arena, pages, 3);
	arena_done(arena);
	uttm_fault_destroy(fault);
}

static void dma32_address_space_runs_out_with_enomem(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 2ULL << 30,
					.flags = UTTM_ARENA_DMA32 };
	struct uttm_arena *arenas[3];
	unsigned int n;
	int ret = 0;

	/* The 4 GiB below the limit hold one such arena at the most. */
	for (n = 0; n < ARRAY_SIZE(arenas) && !ret; n++)
		ret = uttm_arena_create(&ap, &arenas[n]);
	assert_int_equal(ret, -ENOMEM);
	assert_true(n <= 2);
	while (--n)
		uttm_arena_destroy(arenas[n - 1]);
}

/* The address space is there, the memmap's private memory is not. */
static int memmap_beyond_data_limit(void *unused)
{
	struct uttm_arena_params ap = { .max_bytes = 1ULL << 40 };
	struct uttm_arena *arena;

	if (limit_data(256 * MiB))
		return CHILD_SKIP;
	CHILD_CHECK(uttm_arena_create(&ap, &arena) == -ENOMEM);
	return 0;
}

static int arena_without_file_descriptors(void *unused)
{
	struct uttm_arena_params ap = { .max_bytes = 4 * MiB };
	struct rlimit none = { 0, 0 };
	struct uttm_arena *arena;

	CHILD_CHECK(!setrlimit(RLIMIT_NOFILE, &none));
	CHILD_CHECK(uttm_arena_create(&ap, &arena) == -EMFILE);
	return 0;
}

static void failed_creation_gives_its_error(void **state)
{
	run_in_child(memmap_beyond_data_limit, NULL,
		     "the data limit cannot be set here");
	run_in_child(arena_without_file_descriptors, NULL, NULL);
}

static void bad_input_is_refused(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 0 };
	struct uttm_arena *arena;
	struct uttm_page *page;

	assert_int_equal(uttm_arena_create(NULL, &arena), -EINVAL);
	assert_int_equal(uttm_arena_create(&ap, &arena), -EINVAL);
	ap.max_bytes = 4 * MiB;
	assert_int_equal(uttm_arena_create(&ap, NULL), -EINVAL);
	ap.flags = 1u << 7;
	assert_int_equal(uttm_arena_create(&ap, &arena), -EINVAL);
	ap.flags = UTTM_ARENA_DMA32;
	ap.max_bytes = 3ULL << 30;
	assert_int_equal(uttm_arena_create(&ap, &arena), -EINVAL);
	ap.flags = 0;
	ap.max_bytes = 1ULL << 60;
	assert_int_equal(uttm_arena_create(&ap, &arena), -EINVAL);

	arena = arena_new(4 * MiB, 0);
	assert_int_equal(uttm_alloc_pages(arena, UTTM_MAX_ORDER + 1, &page),
			 -EINVAL);
	assert_int_equal(uttm_alloc_pages(NULL, 0, &page), -EINVAL);
	assert_int_equal(uttm_alloc_pages(arena, 0, NULL), -EINVAL);
	/* A double free is caught and ignored. */
	assert_int_equal(uttm_alloc_pages(arena, 0, &page), 0);
	uttm_free_pages(arena, &page, 1);
	uttm_free_pages(arena, &page, 1);
	assert_int_equal(arena_pages_allocated(arena), 0);
	arena_done(arena);
	uttm_arena_destroy(NULL);
}

static void descriptor_fits_in_16_bytes(void **state)
{
	assert_true(sizeof(struct uttm_page) <= 16);
	/* Handles are tagged in the low bit of an entry. */
	assert_true(_Alignof(struct uttm_page) >= 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(block_is_aligned_zeroed_and_usable),
		cmocka_unit_test(split_block_frees_page_by_page),
		cmocka_unit_test(pfn_names_a_page_of_one_arena_only),
		cmocka_unit_test(grows_to_max_then_enomem),
		cmocka_unit_test(file_size_limit_stops_growth_with_enomem),
		cmocka_unit_test(full_memory_cgroup_is_enomem),
		cmocka_unit_test(free_returns_memory_to_the_system),
		cmocka_unit_test(freed_buddies_merge),
		cmocka_unit_test(dma32_pages_lie_below_4g),
		cmocka_unit_test(injected_fault_fails_the_nth_allocation),
		cmocka_unit_test(dma32_address_space_runs_out_with_enomem),
		cmocka_unit_test(failed_creation_gives_its_error),
		cmocka_unit_test(bad_input_is_refused),
		cmocka_unit_test(descriptor_fits_in_16_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
