// SPDX-License-Identifier: MIT
/*
 * What is particular to zero-copy insertion and the insert store: whole
 * blocks with consecutive handles, the split-and-retry path when a large
 * insert fails, exact counts of held pages and handles, the binding to
 * one arena, the insert operation's own fault points, and, like the shmem
 * store, room bounded by swap and writeback that really reaches swap.
 * The backup suite (test_backup.c) runs against this store as well.
 */
#include <errno.h>
#include <unistd.h>

#include <uttm/backup.h>

#include "helpers.h"
#include "stores.h"
#include "support/swapfile.h"

static struct uttm_backup *insert_store(struct uttm_arena *arena,
					uint64_t capacity,
					struct uttm_fault *fault)
{
	return store_create(store_by_name("insert"), arena, fault, capacity);
}

/* Arms @point with a rule that never fails, to count calls through it. */
static void count_calls(struct fixture *fx, enum uttm_fault_point point)
{
	fixture_arm(fx, point, 0, 0, 0);
}

static unsigned long handle_at(const struct uttm_tt *tt, unsigned long i)
{
	assert_true(uttm_backup_page_ptr_is_handle(tt->pages[i]));
	return uttm_backup_page_ptr_to_handle(tt->pages[i]);
}

static void order9_block_goes_whole_with_one_handle_per_page(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = insert_store(fx->arena, 16 * MiB,
						  fx->fault);
	uint64_t allocated, locked;
	struct uttm_page *block;
	unsigned long first;
	struct uttm_tt tt;

	tt_new_backed(&tt, &fx->pool, 2 * MiB, UTTM_LOCKED, backup, 1);
	block = tt.pages[0];
	assert_int_equal(uttm_page_order(block), 9);
	allocated = arena_pages_allocated(fx->arena);
	locked = status_bytes("VmLck");
	count_calls(fx, UTTM_FAULT_BACKUP);
	count_calls(fx, UTTM_FAULT_INSERT);

	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), 512);
	/* One insert for the block, one fault point per page. */
	assert_int_equal(uttm_fault_calls(fx->fault, UTTM_FAULT_INSERT), 1);
	assert_int_equal(uttm_fault_calls(fx->fault, UTTM_FAULT_BACKUP), 512);
	first = uttm_page_to_pfn(fx->arena, block) + 1;
	for (unsigned long j = 0; j < 512; j++)
		assert_int_equal(handle_at(&tt, j), first + j);
	assert_int_equal(uttm_backup_handles(backup), 512);
	assert_int_equal(tt.resident_pages, 0);
	/* Nothing copied, allocated or freed: the bytes have not moved. */
	assert_int_equal(arena_pages_allocated(fx->arena), allocated);
	for (unsigned long j = 0; j < 512; j++)
		assert_true(page_matches(uttm_page_address(fx->arena, block + j),
					 1, j));
	/* The block left its state before it changed owner. */
	assert_int_equal(locked - status_bytes("VmLck"), 2 * MiB);

	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 1);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

/* Large inserts fail the first @times times; nothing may be lost. */
static void large_insert_fails(struct fixture *fx, unsigned long times)
{
	struct uttm_backup *backup = insert_store(fx->arena, 16 * MiB,
						  fx->fault);
	unsigned long pfns[MIXED_PAGES];
	struct uttm_tt tt;

	tt_new_backed(&tt, &fx->pool, MIXED_BYTES, UTTM_LOCKED, backup, times);
	for (unsigned long i = 0; i < MIXED_PAGES; i++)
		pfns[i] = uttm_page_to_pfn(fx->arena, tt.pages[i]);
	fixture_arm(fx, UTTM_FAULT_INSERT, 1, times, -ENOMEM);
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), MIXED_PAGES);
	/* Blocks of order 6, 3 and 2 tried whole; the last page is order 0. */
	assert_int_equal(uttm_fault_calls(fx->fault, UTTM_FAULT_INSERT), 3);
	uttm_fault_disarm(fx->fault, UTTM_FAULT_INSERT);
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_int_equal(count_handles(&tt), MIXED_PAGES);
	assert_int_equal(tt.resident_pages, 0);
	assert_int_equal(uttm_backup_handles(backup), MIXED_PAGES);
	/* Page by page or whole, a page's handle is its frame number + 1. */
	for (unsigned long i = 0; i < MIXED_PAGES; i++)
		assert_int_equal(handle_at(&tt, i), pfns[i] + 1);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, times);
	assert_int_equal(uttm_backup_handles(backup), 0);
	uttm_tt_fini(&tt);
	uttm_backup_put(backup);
}

static void failed_large_insert_falls_back_to_single_pages(void **state)
{
	/* Only the first block, then every large block. */
	large_insert_fails(*state, 1);
	large_insert_fails(*state, ~0UL);
}

static void held_pages_and_handles_return_to_zero(void **state)
{
	struct fixture *fx = *state;
	const uint64_t capacity = 8 * MiB;
	struct uttm_backup *backup = insert_store(fx->arena, capacity,
						  fx->fault);
	struct uttm_tt tts[3];
	unsigned long resident = 0, held = 0;

	for (unsigned int i = 0; i < 3; i++) {
		tt_new_backed(&tts[i], &fx->pool, (i + 1) * MIXED_BYTES,
			      UTTM_PLAIN, backup, 10 + i);
		/* The second vector is only partly backed up. */
		if (i == 1)
			fixture_arm(fx, UTTM_FAULT_BACKUP, 100, 1, -ENOSPC);
		held += (unsigned long)uttm_tt_backup(&tts[i], &backup_flags);
		uttm_fault_disarm(fx->fault, UTTM_FAULT_BACKUP);
		resident += tts[i].resident_pages;
		assert_int_equal(uttm_backup_handles(backup), held);
		assert_int_equal(uttm_backup_bytes_avail(backup),
				 capacity - held * UTTM_PAGE_SIZE);
		/* The store's pages are still the arena's. */
		assert_int_equal(arena_pages_allocated(fx->arena),
				 uttm_pool_shrink_count(&fx->pool) + resident +
				 held);
	}
	assert_int_equal(held, MIXED_PAGES + 99 + 3 * MIXED_PAGES);
	/* Restored, released while backed up, released while partly so. */
	assert_int_equal(uttm_tt_populate(&tts[2], &test_ctx), 0);
	assert_tt_matches(&tts[2], 12);
	uttm_tt_fini(&tts[0]);
	uttm_tt_fini(&tts[1]);
	uttm_tt_fini(&tts[2]);
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(uttm_backup_bytes_avail(backup), capacity);
	assert_int_equal(arena_pages_allocated(fx->arena),
			 uttm_pool_shrink_count(&fx->pool));
	uttm_backup_put(backup);
}

static void room_for_less_than_a_page_is_no_room(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = insert_store(fx->arena,
						  UTTM_PAGE_SIZE + 100, NULL);
	struct uttm_tt one, other;

	tt_new_backed(&one, &fx->pool, UTTM_PAGE_SIZE, UTTM_PLAIN, backup, 3);
	tt_new_backed(&other, &fx->pool, UTTM_PAGE_SIZE, UTTM_PLAIN, backup, 4);
	assert_int_equal(uttm_tt_backup(&one, &backup_flags), 1);
	assert_int_equal(uttm_backup_bytes_avail(backup), 100);
	assert_int_equal(uttm_tt_backup(&other, &backup_flags), -EBUSY);
	assert_true(uttm_tt_is_populated(&other));
	uttm_tt_fini(&one);
	uttm_tt_fini(&other);
	uttm_backup_put(backup);
}

static void store_of_another_arena_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct fixture *other = fixture_create(8 * MiB, 0, 0);
	struct uttm_backup *backup = insert_store(other->arena, 8 * MiB, NULL);
	struct uttm_backup_insert_params params = { .arena = NULL };
	struct uttm_backup *none = NULL;
	struct uttm_page *block;
	struct uttm_tt tt;

	assert_int_equal(uttm_tt_init(&tt, &fx->pool, MiB, UTTM_PLAIN, 0), 0);
	assert_int_equal(uttm_tt_set_backup(&tt, backup), -EINVAL);
	assert_null(tt.backup);
	uttm_tt_fini(&tt);

	assert_int_equal(uttm_alloc_pages(fx->arena, 2, &block), 0);
	assert_int_equal(uttm_backup_insert_block(backup, block, false),
			 -EINVAL);
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(uttm_page_order(block), 2);
	uttm_free_pages(fx->arena, &block, 1);

	assert_int_equal(uttm_backup_insert_create(&params, &none), -EINVAL);
	assert_int_equal(uttm_backup_insert_create(NULL, &none), -EINVAL);
	params.arena = fx->arena;
	assert_int_equal(uttm_backup_insert_create(&params, NULL), -EINVAL);
	assert_null(none);
	uttm_backup_put(backup);
	fixture_destroy(other);
}

/* Inserts @block through the public call, expecting @expect. */
static void insert_expect(struct uttm_backup *backup, struct uttm_page *block,
			  long expect)
{
	unsigned int order = uttm_page_order(block);
	unsigned long handles = uttm_backup_handles(backup);

	assert_int_equal(uttm_backup_insert_block(backup, block, false), expect);
	if (expect < 0) {
		/* Refused: still the caller's block, whole. */
		assert_int_equal(uttm_page_order(block), order);
		assert_int_equal(uttm_backup_handles(backup), handles);
	}
}

static void insert_call_consults_faults_and_counts_handles(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = insert_store(fx->arena, MiB, fx->fault);
	struct uttm_page *block, *big, *page;
	unsigned long first, handles[8], handle;
	void *dst[8];
	char buf[8][UTTM_PAGE_SIZE];

	assert_int_equal(uttm_alloc_pages(fx->arena, 3, &block), 0);
	for (unsigned long j = 0; j < 8; j++) {
		fill_page(uttm_page_address(fx->arena, block + j), 5, j);
		dst[j] = buf[j];
	}
	first = uttm_page_to_pfn(fx->arena, block) + 1;
	/* A fault at any page of the block fails the whole block. */
	fixture_arm(fx, UTTM_FAULT_BACKUP, 5, 1, -EIO);
	insert_expect(backup, block, -EIO);
	uttm_fault_disarm(fx->fault, UTTM_FAULT_BACKUP);
	fixture_arm(fx, UTTM_FAULT_INSERT, 1, 1, -ENOMEM);
	insert_expect(backup, block, -ENOMEM);
	insert_expect(backup, block, (long)first);
	assert_int_equal(uttm_backup_handles(backup), 8);

	/* A single page does not pass the large-insert fault point. */
	assert_int_equal(uttm_alloc_pages(fx->arena, 0, &page), 0);
	fixture_arm(fx, UTTM_FAULT_INSERT, 1, 1, -ENOMEM);
	handle = uttm_page_to_pfn(fx->arena, page) + 1;
	insert_expect(backup, page, (long)handle);
	assert_int_equal(uttm_fault_calls(fx->fault, UTTM_FAULT_INSERT), 0);
	uttm_fault_disarm(fx->fault, UTTM_FAULT_INSERT);
	/* 1 MiB of room, 9 pages taken: a 2 MiB block does not fit. */
	assert_int_equal(uttm_alloc_pages(fx->arena, 9, &big), 0);
	insert_expect(backup, big, -ENOSPC);
	uttm_free_pages(fx->arena, &big, 1);

	for (unsigned long j = 0; j < 8; j++)
		handles[j] = first + j;
	assert_int_equal(uttm_backup_copy_pages(backup, dst, handles, 8,
						&test_ctx), 8);
	for (unsigned long j = 0; j < 8; j++)
		assert_true(page_matches(buf[j], 5, j));
	uttm_backup_drop(backup, handles, 8);
	uttm_backup_drop(backup, &handle, 1);
	assert_int_equal(uttm_backup_handles(backup), 0);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	uttm_backup_put(backup);
}

/*
 * Handles naming no page of the arena (beyond the memmap, beyond what the
 * arena has grown to, or 0): a copy stops there with -EINVAL, a drop
 * skips them, and neither touches memory it should not.
 */
static void handles_beyond_the_arena_are_refused(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = insert_store(fx->arena, MiB, NULL);
	const unsigned long bad[] = {
		1UL << 40, 64 * MiB / UTTM_PAGE_SIZE, 0,
	};
	unsigned long handles[2];
	struct uttm_page *page;
	char buf[2][UTTM_PAGE_SIZE];
	void *dst[2] = { buf[0], buf[1] };

	assert_int_equal(uttm_alloc_pages(fx->arena, 0, &page), 0);
	fill_page(uttm_page_address(fx->arena, page), 6, 0);
	handles[0] = (unsigned long)uttm_backup_insert_block(backup, page,
							     false);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		handles[1] = bad[i];
		assert_int_equal(uttm_backup_copy_pages(backup, dst, handles + 1,
							1, &test_ctx), -EINVAL);
		/* The good handle before it is copied. */
		assert_int_equal(uttm_backup_copy_pages(backup, dst, handles, 2,
							&test_ctx), 1);
		assert_true(page_matches(buf[0], 6, 0));
		backup->ops->drop(backup, handles + 1, 1);
		assert_int_equal(uttm_backup_bytes_avail(backup),
				 MiB - UTTM_PAGE_SIZE);
		assert_int_equal(arena_pages_allocated(fx->arena), 1);
	}
	uttm_backup_drop(backup, handles, 1);
	assert_int_equal(uttm_backup_bytes_avail(backup), MiB);
	assert_int_equal(arena_pages_allocated(fx->arena), 0);
	uttm_backup_put(backup);
}

static void each_store_refuses_what_it_cannot_do(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup_shmem_params sp = { .capacity = MiB };
	struct uttm_backup *insert = insert_store(fx->arena, MiB, NULL);
	struct uttm_backup *copy;
	struct uttm_page *page;
	unsigned long handle;
	void *src;

	assert_int_equal(uttm_backup_shmem_create(&sp, &copy), 0);
	assert_int_equal(uttm_alloc_pages(fx->arena, 0, &page), 0);
	src = uttm_page_address(fx->arena, page);
	/* Inserting is the only way into an insert store ... */
	assert_int_equal(uttm_backup_backup_pages(insert, &src, 1, false,
						  &handle), -EOPNOTSUPP);
	/* ... and a copying store takes no block over. */
	assert_int_equal(uttm_backup_insert_block(copy, page, false),
			 -EOPNOTSUPP);
	assert_int_equal(uttm_backup_insert_block(NULL, page, false), -EINVAL);
	assert_int_equal(uttm_backup_insert_block(insert, NULL, false),
			 -EINVAL);
	assert_int_equal(uttm_backup_handles(insert), 0);
	assert_int_equal(uttm_backup_handles(copy), 0);
	uttm_free_pages(fx->arena, &page, 1);
	uttm_backup_put(copy);
	uttm_backup_put(insert);
}

/*
 * A store that refuses every insert although it reports room, as one
 * shared with a thread that just took the last room would.
 */
static long refuse_insert(struct uttm_backup *backup, struct uttm_page *block,
			  bool writeback)
{
	return -EIO;
}

static void store_refusing_the_first_page_leaves_a_restorable_vector(void **state)
{
	struct fixture *fx = *state;
	struct uttm_backup *backup = insert_store(fx->arena, 16 * MiB, NULL);
	const struct uttm_backup_ops *ops = backup->ops;
	struct uttm_backup_ops refusing = *ops;
	struct uttm_tt tt;
	uint64_t locked;

	refusing.insert = refuse_insert;
	backup->ops = &refusing;
	tt_new_backed(&tt, &fx->pool, MIXED_BYTES, UTTM_LOCKED, backup, 21);
	locked = status_bytes("VmLck");
	assert_int_equal(uttm_tt_backup(&tt, &backup_flags), -EIO);
	/* The block left its state: the vector is partly backed up. */
	assert_true(uttm_tt_is_backed_up(&tt));
	assert_false(uttm_tt_is_populated(&tt));
	assert_int_equal(count_handles(&tt), 0);
	assert_int_equal(tt.resident_pages, MIXED_PAGES);
	assert_int_equal(locked - status_bytes("VmLck"), MIXED_BYTES);
	assert_int_equal(uttm_tt_populate(&tt, &test_ctx), 0);
	assert_tt_matches(&tt, 21);
	assert_int_equal(status_bytes("VmLck"), locked);
	uttm_tt_fini(&tt);
	backup->ops = ops;
	uttm_backup_put(backup);
}

static struct uttm_backup *swap_bound_store(struct fixture *fx)
{
	return insert_store(fx->arena, 0, NULL);
}

static void without_swap_backup_is_refused(void **state)
{
	if (swap_free_bytes())
		skip_because("this machine has swap; the refusal needs none");
	assert_refused_without_swap(*state, swap_bound_store(*state));
}

static void writeback_moves_inserted_pages_to_swap(void **state)
{
	char path[SWAP_PATH_SIZE];

	swap_on_or_skip(path, 256 * MiB);
	/* Locked pages cannot be paged out: they must be plain first. */
	assert_writeback_reaches_swap(*state, swap_bound_store(*state),
				      UTTM_LOCKED);
	assert_int_equal(swapfile_remove(path), 0);
	assert_int_equal(access(path, F_OK), -1);
}

static void resident_memory_follows_the_pages(void **state)
{
	struct fixture *fx = *state;

	/* Another test's swap file may be on: then the pages do go. */
	assert_resident_follows_the_pages(fx, insert_store(fx->arena, 64 * MiB,
							  NULL),
					  swap_free_bytes() != 0);
}

static void writeback_frees_what_the_store_held(void **state)
{
	char path[SWAP_PATH_SIZE];

	swap_on_or_skip(path, 256 * MiB);
	assert_resident_follows_the_pages(*state, swap_bound_store(*state),
					  true);
	assert_int_equal(swapfile_remove(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		fixture_test(order9_block_goes_whole_with_one_handle_per_page),
		fixture_test(failed_large_insert_falls_back_to_single_pages),
		fixture_test(held_pages_and_handles_return_to_zero),
		fixture_test(room_for_less_than_a_page_is_no_room),
		fixture_test(store_of_another_arena_is_refused),
		fixture_test(insert_call_consults_faults_and_counts_handles),
		fixture_test(handles_beyond_the_arena_are_refused),
		fixture_test(each_store_refuses_what_it_cannot_do),
		fixture_test(store_refusing_the_first_page_leaves_a_restorable_vector),
		fixture_test(without_swap_backup_is_refused),
		fixture_test(writeback_moves_inserted_pages_to_swap),
		fixture_test(resident_memory_follows_the_pages),
		fixture_test(writeback_frees_what_the_store_held),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
