// SPDX-License-Identifier: MIT
/*
 * The object layer: contexts and their default limits, devices, their
 * pools and placements, buffer objects, drivers' vectors, exact counters
 * and refusal of bad input.  Reclaim has its own tests, test_reclaim.c.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>

#include "support/fragment.h"
#include "world.h"

static void default_limits_are_half_of_ram_and_2g(void **state)
{
	struct uttm_context_stats stats;
	struct uttm_context *ctx;
	struct sysinfo si;

	assert_int_equal(uttm_context_create(NULL, &ctx), 0);
	uttm_context_stats(ctx, &stats);
	assert_int_equal(sysinfo(&si), 0);
	assert_int_equal(stats.page_limit, (uint64_t)si.totalram *
			 si.mem_unit / 2 / UTTM_PAGE_SIZE);
	assert_int_equal(stats.dma32_page_limit, (2ULL << 30) / UTTM_PAGE_SIZE);
	uttm_context_destroy(ctx);
	assert_int_equal(uttm_context_create(NULL, NULL), -EINVAL);
}

static void counters_follow_every_operation(void **state)
{
	struct world *w = *state;
	const struct uttm_backup_flags backup = { .purge = false };
	struct mock_bo m = { 0 };
	struct uttm_bo *bo = bo_new(w->dev, 3 * MiB + 1, false, &m);

	assert_int_equal(uttm_bo_size(bo), 3 * MiB + UTTM_PAGE_SIZE);
	assert_int_equal(allocated(w), 0);
	bo_fill(bo, 1);
	assert_int_equal(allocated(w), 769);
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_shrink(bo, &backup), 769);
	assert_int_equal(m.move_notified, 1);
	assert_int_equal(allocated(w), 0);
	assert_int_equal(uttm_backup_handles(w->store), 769);
	/* Shrunk twice? It is no longer suitable. */
	assert_int_equal(uttm_bo_shrink(bo, &backup), -EBUSY);
	uttm_bo_unlock(bo);
	assert_int_equal(bo_check(bo, 1), 0);
	assert_int_equal(allocated(w), 769);
	assert_int_equal(uttm_backup_handles(w->store), 0);
	uttm_bo_put(bo);
	assert_int_equal(allocated(w), 0);
}

/*
 * An object that reports its writes backs up, through a store that keeps
 * copies, the blocks not written since their restore without a write.
 */
static void unwritten_pages_back_up_without_a_write(void **state)
{
	const struct uttm_context_params cp = { .page_limit = 64 * MiB };
	const struct uttm_backup_flags backup = { .purge = false };
	struct world *w = world_with(&cp, disk_store_new());
	struct uttm_bo_params bp = { .size = MiB,
				     .flags = UTTM_BO_TRACK_DIRTY };
	struct uttm_context_stats stats;
	struct uttm_bo *bo;

	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), 0);
	bo_fill(bo, 1);
	for (unsigned int round = 0; round < 2; round++) {
		uttm_bo_lock(bo);
		assert_int_equal(uttm_bo_shrink(bo, &backup), 256);
		uttm_bo_unlock(bo);
		assert_int_equal(bo_check(bo, 1), 0);
	}
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_backed_up, 512);
	assert_int_equal(stats.pages_backed_up_clean, 256);
	/* A write into the block goes out with the block. */
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_mark_dirty(bo, UTTM_PAGE_SIZE + 1, 2), 0);
	fill_page(uttm_tt_page_address(uttm_bo_tt(bo), 1), 2, 1);
	assert_int_equal(uttm_bo_shrink(bo, &backup), 256);
	assert_true(uttm_bo_validate(bo, &op) >= 0);
	assert_true(page_matches(uttm_tt_page_address(uttm_bo_tt(bo), 1), 2,
				 1));
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pages_backed_up_clean, 256);
	assert_int_equal(uttm_bo_mark_dirty(bo, MiB, 1), -EINVAL);
	assert_int_equal(uttm_bo_mark_dirty(bo, MiB - 1, 2), -EINVAL);
	assert_int_equal(uttm_bo_mark_dirty(bo, MiB, 0), 0);
	uttm_bo_unlock(bo);
	uttm_bo_put(bo);
	bp.flags = UTTM_BO_FLAGS + 1;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	world_free(w);
}

static void trimming_pools_takes_whole_blocks_device_by_device(void **state)
{
	struct world *w = *state;
	struct uttm_context_stats stats;
	struct uttm_device *other;
	struct uttm_bo *a, *b;

	device_new(w, w->arena, NULL, &other);
	a = bo_new(w->dev, MiB, false, NULL);
	b = bo_new(other, MiB, false, NULL);
	bo_fill(a, 1);
	bo_fill(b, 2);
	uttm_bo_put(a);
	uttm_bo_put(b);
	/* Each pool holds the block of 256 pages of its object. */
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pool_pages, 512);
	assert_int_equal(uttm_shrinker_trim_pools(w->ctx, 0), 0);
	assert_int_equal(uttm_shrinker_trim_pools(w->ctx, 100), 256);
	assert_int_equal(uttm_pool_shrink_count(uttm_device_pool(w->dev)), 0);
	assert_int_equal(uttm_pool_shrink_count(uttm_device_pool(other)), 256);
	assert_int_equal(uttm_shrinker_trim_pools(w->ctx, ~0UL), 256);
	uttm_context_stats(w->ctx, &stats);
	assert_int_equal(stats.pool_pages, 0);
	assert_int_equal(uttm_shrinker_trim_pools(w->ctx, 1), 0);
	uttm_device_destroy(other);
}

/* A driver's vector: zeroed pages, no store; refused for marked objects. */
static int mock_tt_create(struct uttm_bo *bo, struct uttm_tt *tt)
{
	struct uttm_pool *pool = uttm_device_pool(uttm_bo_device(bo));
	struct mock_bo *m = uttm_bo_priv(bo);
	int ret = uttm_tt_init(tt, pool, uttm_bo_size(bo), UTTM_PLAIN,
			       UTTM_TT_FLAG_ZERO_ALLOC);

	/* Refused once made: creation must release it. */
	return !ret && m->refuse_tt ? -ENOSPC : ret;
}

static void mock_release(struct uttm_bo *bo)
{
	struct mock_bo *m = uttm_bo_priv(bo);

	m->released++;
}

static void driver_makes_vectors_and_sees_releases(void **state)
{
	static const struct uttm_device_funcs driver = {
		.tt_create = mock_tt_create,
		.release = mock_release,
	};
	struct world *w = *state;
	struct mock_bo m = { .refuse_tt = true };
	struct uttm_bo_params bp = { .size = MiB, .priv = &m };
	struct uttm_device_stats ds;
	struct uttm_device *dev;
	struct uttm_bo *bo;

	device_new(w, w->arena, &driver, &dev);
	assert_int_equal(uttm_bo_create(dev, &bp, &bo), -ENOSPC);
	uttm_device_stats(dev, &ds);
	assert_int_equal(ds.objects, 0);
	assert_int_equal(m.released, 0);

	m.refuse_tt = false;
	assert_int_equal(uttm_bo_create(dev, &bp, &bo), 0);
	assert_true(uttm_bo_tt(bo)->page_flags & UTTM_TT_FLAG_ZERO_ALLOC);
	assert_null(uttm_bo_tt(bo)->backup);
	bo_fill(bo, 1);
	/* Released with the last reference only. */
	assert_ptr_equal(uttm_bo_get(bo), bo);
	uttm_bo_put(bo);
	assert_int_equal(m.released, 0);
	uttm_bo_put(bo);
	assert_int_equal(m.released, 1);
	uttm_device_stats(dev, &ds);
	assert_int_equal(ds.objects, 0);
	uttm_device_destroy(dev);
}

static void placements_and_bad_input(void **state)
{
	struct world *w = *state;
	struct uttm_bo_params bp = { .size = MiB, .mem_type = UTTM_PL_PRIV };
	struct uttm_device_params dp = { .pool = { .arena = w->arena },
					 .caching = UTTM_DEVICE };
	struct uttm_device *dev;
	struct uttm_bo *bo, *bo2;
	void *addr;

	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_PRIV, 2 * MiB,
						 false), 0);
	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_PRIV, 0, true),
			 -EINVAL);
	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_TT, 0, true),
			 -EINVAL);
	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_NUM_MEM_TYPES, 0,
						 true), -EINVAL);
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), 0);
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo2), 0);
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo2), -ENOSPC);
	/* A placement without pages: nothing to validate or map. */
	assert_null(uttm_bo_tt(bo));
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_validate(bo, &op), 0);
	assert_int_equal(uttm_bo_vmap(bo, &addr), -EINVAL);
	uttm_bo_unlock(bo);
	uttm_bo_put(bo);
	uttm_bo_put(bo2);

	bp.mem_type = UTTM_PL_SYSTEM;
	bp.size = 0;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	bp.size = UINT64_MAX;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	bp.size = 1ULL << 40;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	bp.size = MiB;
	assert_int_equal(uttm_bo_create(NULL, &bp, &bo), -EINVAL);
	assert_int_equal(uttm_bo_create(w->dev, NULL, &bo), -EINVAL);
	/* A device state without device hooks. */
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), -EINVAL);
	assert_int_equal(uttm_device_create(NULL, &dp, &dev), -EINVAL);
	/* Device addresses without the hooks that map them: no pool. */
	dp.caching = UTTM_PLAIN;
	dp.pool.use_dma_map = true;
	assert_int_equal(uttm_device_create(w->ctx, &dp, &dev), -EINVAL);

	bo = bo_new(w->dev, MiB, false, NULL);
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_pin(bo), -EINVAL);
	assert_int_equal(uttm_bo_vmap(bo, &addr), -EINVAL);
	assert_int_equal(uttm_bo_validate(bo, &op), 0);
	assert_int_equal(uttm_bo_vmap(bo, &addr), 0);
	memset(addr, 1, MiB);
	uttm_bo_unlock(bo);
	uttm_bo_put(bo);
	uttm_bo_put(NULL);
}

static void put_of_a_pinned_object_drops_its_pin(void **state)
{
	struct world *w = *state;
	struct uttm_bo *bo = bo_new(w->dev, MiB, false, NULL);
	struct uttm_device_stats ds;

	bo_fill(bo, 1);
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_pin(bo), 0);
	assert_int_equal(uttm_bo_pin(bo), 0);
	uttm_bo_unlock(bo);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.pinned, 1);
	uttm_bo_put(bo);
	uttm_device_stats(w->dev, &ds);
	assert_int_equal(ds.pinned, 0);
	assert_int_equal(ds.objects, 0);
}

static void pin_needs_a_validate_in_every_placement(void **state)
{
	struct world *w = *state;
	struct uttm_bo_params bp = { .size = MiB, .mem_type = UTTM_PL_PRIV };
	struct uttm_bo *bo;

	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_PRIV, 0,
						 false), 0);
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), 0);
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_pin(bo), -EINVAL);
	assert_int_equal(uttm_bo_validate(bo, &op), 0);
	assert_int_equal(uttm_bo_pin(bo), 0);
	uttm_bo_unpin(bo);
	uttm_bo_unlock(bo);
	uttm_bo_put(bo);
}
static void sizes_never_wrap_in_any_placement(void **state)
{
	struct world *w = *state;
	struct uttm_bo_params bp = { .mem_type = UTTM_PL_PRIV };
	struct uttm_bo *bo, *big;

	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_PRIV, MiB,
						 false), 0);
	assert_int_equal(uttm_device_add_manager(w->dev, UTTM_PL_PRIV + 1, 0,
						 false), 0);
	for (unsigned int mem_type = UTTM_PL_PRIV; mem_type <= UTTM_PL_PRIV + 1;
	     mem_type++) {
		bp.mem_type = mem_type;
		bp.size = UINT64_MAX - 2 * UTTM_PAGE_SIZE;
		assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
		bp.size = 8ULL << 60;
		assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
		bp.size = (uint64_t)UINT32_MAX * UTTM_PAGE_SIZE + 1;
		assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), -EINVAL);
	}
	/* The sized placement is full at its size, whatever comes next. */
	bp.mem_type = UTTM_PL_PRIV;
	bp.size = MiB / 2;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &bo), 0);
	bp.size = (uint64_t)UINT32_MAX * UTTM_PAGE_SIZE;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &big), -ENOSPC);
	bp.size = MiB / 2;
	assert_int_equal(uttm_bo_create(w->dev, &bp, &big), 0);
	uttm_bo_put(big);
	uttm_bo_put(bo);
}
/*
 * A store that keeps pages in its own memory and counts the calls it
 * gets in memory it shares with children, so that a parent sees what a
 * child did to it.
 */
#define SPY_PAGES 64

struct spy_store {
	struct uttm_backup base;
	char pages[SPY_PAGES][UTTM_PAGE_SIZE];
	unsigned long used;
	unsigned long *calls;
};

static struct spy_store *to_spy(struct uttm_backup *backup)
{
	return container_of(backup, struct spy_store, base);
}

static long spy_backup_pages(struct uttm_backup *backup, void *const *src,
			     unsigned long count, bool writeback,
			     unsigned long *handles)
{
	struct spy_store *spy = to_spy(backup);
	unsigned long i;

	(*spy->calls)++;
	for (i = 0; i < count && spy->used < SPY_PAGES; i++) {
		memcpy(spy->pages[spy->used], src[i], UTTM_PAGE_SIZE);
		handles[i] = uttm_backup_index_to_handle(spy->used++);
	}
	return i ? (long)i : -ENOSPC;
}

static long spy_copy_pages(struct uttm_backup *backup, void *const *dst,
			   const unsigned long *handles, unsigned long count,
			   const struct uttm_operation_ctx *ctx)
{
	struct spy_store *spy = to_spy(backup);

	(*spy->calls)++;
	for (unsigned long i = 0; i < count; i++) {
		unsigned long index = uttm_backup_handle_to_index(handles[i]);

		memcpy(dst[i], spy->pages[index], UTTM_PAGE_SIZE);
	}
	return (long)count;
}

static void spy_drop(struct uttm_backup *backup, const unsigned long *handles,
		     unsigned long count)
{
	(*to_spy(backup)->calls)++;
}

static uint64_t spy_bytes_avail(struct uttm_backup *backup)
{
	struct spy_store *spy = to_spy(backup);

	(*spy->calls)++;
	return (SPY_PAGES - spy->used) * UTTM_PAGE_SIZE;
}

static void spy_fini(struct uttm_backup *backup)
{
	(*to_spy(backup)->calls)++;
	free(to_spy(backup));
}

static const struct uttm_backup_ops spy_ops = {
	.backup_pages = spy_backup_pages,
	.copy_pages = spy_copy_pages,
	.drop = spy_drop,
	.bytes_avail = spy_bytes_avail,
	.fini = spy_fini,
};

static struct uttm_backup *spy_create(unsigned long *calls)
{
	struct spy_store *spy = calloc(1, sizeof(*spy));

	assert_non_null(spy);
	uttm_backup_init(&spy->base, &spy_ops, NULL);
	spy->calls = calls;
	return &spy->base;
}

/* What a forked child is given of its parent's world. */
struct inherited {
	struct world *w;
	struct uttm_bo *resident, *backed_up, *purgeable;
	char *mapped;		/* the resident object's vmap */
	struct uttm_device *spied;
	struct uttm_bo *stored;	/* backed up into the spy */
	struct uttm_backup *spy;
};

/*
 * In a child: everything inherited is refused or forgotten, nothing of
 * the parent's moves, and every object can still be dropped.  Returns
 * the number of the first check that failed.
 */
static int child_uses_inherited_objects(void *arg)
{
	struct inherited *in = arg;
	struct world *w = in->w;
	void *addr;

	if (!uttm_arena_inherited(w->arena))
		return 1;
	uttm_bo_lock(in->resident);
	if (uttm_bo_vmap(in->resident, &addr) != -EINVAL)
		return 2;
	uttm_bo_unlock(in->resident);
	uttm_bo_lock(in->backed_up);
	if (uttm_bo_validate(in->backed_up, &op) != -EINVAL)
		return 3;
	uttm_bo_unlock(in->backed_up);
	/* Purges forget the pages; backups find no room. */
	uttm_shrinker_scan(w->ctx, ~0UL);
	if (uttm_backup_bytes_avail(w->store))
		return 4;
	uttm_bo_put(in->resident);
	uttm_bo_put(in->backed_up);
	uttm_bo_put(in->purgeable);
	uttm_bo_put(in->stored);
	uttm_device_destroy(in->spied);
	uttm_backup_put(in->spy);
	uttm_device_destroy(w->dev);
	uttm_context_destroy(w->ctx);
	uttm_backup_put(w->store);
	uttm_arena_destroy(w->arena);
	uttm_arena_destroy(w->arena32);
	return 0;
}

/* In a child: writes through the parent's mapping, which must fault. */
static int child_writes_parent_memory(void *arg)
{
	memset(arg, 0xa5, UTTM_PAGE_SIZE);
	return 0;
}

static void forked_child_shares_nothing_with_its_parent(void **state)
{
	const struct uttm_backup_flags backup = { .purge = false };
	struct world *w = *state;
	struct inherited in = { .w = w };
	struct uttm_device_params dp = { .pool = { .arena = w->arena } };
	unsigned long *calls, before;
	int status;

	calls = mmap(NULL, sizeof(*calls), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(calls != MAP_FAILED);
	*calls = 0;
	dp.backup = in.spy = spy_create(calls);
	assert_int_equal(uttm_device_create(w->ctx, &dp, &in.spied), 0);
	in.stored = bo_new(in.spied, 16 * UTTM_PAGE_SIZE, false, NULL);
	bo_fill(in.stored, 4);
	uttm_bo_lock(in.stored);
	assert_int_equal(uttm_bo_shrink(in.stored, &backup), 16);
	uttm_bo_unlock(in.stored);

	in.resident = bo_new(w->dev, MiB, false, NULL);
	in.backed_up = bo_new(w->dev, MiB, false, NULL);
	in.purgeable = bo_new(w->dev, MiB, true, NULL);
	bo_fill(in.resident, 1);
	bo_fill(in.backed_up, 2);
	bo_fill(in.purgeable, 3);
	uttm_bo_lock(in.resident);
	assert_int_equal(uttm_bo_vmap(in.resident, (void **)&in.mapped), 0);
	uttm_bo_unlock(in.resident);
	uttm_bo_lock(in.backed_up);
	assert_int_equal(uttm_bo_shrink(in.backed_up, &backup), 256);
	uttm_bo_unlock(in.backed_up);
	assert_false(uttm_arena_inherited(w->arena));

	before = *calls;
	run_in_child(child_uses_inherited_objects, &in, NULL);
	/* Not a call reached the store from the child, not even its fini. */
	assert_int_equal(*calls, before);
	status = child_wait(child_start(child_writes_parent_memory, in.mapped));
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
	status = child_wait(child_start(child_writes_parent_memory,
					uttm_tt_page_address(uttm_bo_tt(in.resident),
							     0)));
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);

	/* The parent's objects are as it left them, stored ones included. */
	assert_int_equal(bo_check(in.resident, 1), 0);
	assert_int_equal(bo_check(in.backed_up, 2), 0);
	assert_int_equal(bo_check(in.purgeable, 3), 0);
	assert_int_equal(bo_check(in.stored, 4), 0);
	uttm_bo_put(in.resident);
	uttm_bo_put(in.backed_up);
	uttm_bo_put(in.purgeable);
	uttm_bo_put(in.stored);
	uttm_device_destroy(in.spied);
	before = *calls;
	uttm_backup_put(in.spy);
	assert_int_equal(*calls, before + 1);
	munmap(calls, sizeof(*calls));
}

struct holes {
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_bo *bo;
	struct spacers *sp;
	char *page;		/* in the arena's mapping */
	char *map;		/* the object's mapping of its own */
};

/* Maps a page of the caller's own at @addr, which must be free. */
static bool map_own_page(void *addr)
{
	void *got = mmap(addr, UTTM_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0);

	if (got == MAP_FAILED)
		return false;
	if (got != addr) {
		munmap(got, UTTM_PAGE_SIZE);
		return false;
	}
	memset(got, 0x5a, UTTM_PAGE_SIZE);
	return true;
}

/* Whether the page at @addr is mapped and still holds map_own_page()'s. */
static bool own_page_intact(const char *addr)
{
	unsigned char resident;

	if (mincore((void *)addr, UTTM_PAGE_SIZE, &resident))
		return false;
	for (size_t i = 0; i < UTTM_PAGE_SIZE; i++)
		if (addr[i] != 0x5a)
			return false;
	return true;
}

/*
 * In a child: the parent's arena and mapping left holes in its address
 * space, which mappings of its own may fill; dropping what it inherited
 * must leave them be.  Returns the number of the first check that failed.
 */
static int child_maps_into_inherited_holes(void *arg)
{
	struct holes *h = arg;

	if (!map_own_page(h->page))
		return 1;
	if (!map_own_page(h->map))
		return 2;
	uttm_bo_put(h->bo);
	uttm_device_destroy(h->dev);
	unfragment_arena(h->arena, h->sp);
	uttm_arena_destroy(h->arena);
	if (!own_page_intact(h->page))
		return 3;
	if (!own_page_intact(h->map))
		return 4;
	return 0;
}

static void forked_child_keeps_its_own_mappings(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 16 * MiB };
	struct world *w = *state;
	struct spacers sp;
	struct holes h = { .sp = &sp };

	assert_int_equal(uttm_arena_create(&ap, &h.arena), 0);
	device_new(w, h.arena, NULL, &h.dev);
	/* Scattered pages, so that the mapping is one of the object's own. */
	assert_int_equal(fragment_arena(h.arena, &sp), 0);
	h.bo = bo_new(h.dev, 4 * MiB, false, NULL);
	uttm_bo_lock(h.bo);
	assert_int_equal(uttm_bo_validate(h.bo, &op), 0);
	assert_int_equal(uttm_bo_vmap(h.bo, (void **)&h.map), 0);
	assert_int_equal(uttm_bo_pin(h.bo), 0);
	uttm_bo_unlock(h.bo);
	h.page = uttm_tt_page_address(uttm_bo_tt(h.bo), 0);
	assert_ptr_not_equal(h.map, h.page);
	memset(h.map, 0x3c, 4 * MiB);

	run_in_child(child_maps_into_inherited_holes, &h, NULL);

	/* The parent's mappings are its own still. */
	assert_int_equal(h.page[0], 0x3c);
	assert_int_equal(h.map[4 * MiB - 1], 0x3c);
	uttm_bo_lock(h.bo);
	uttm_bo_unpin(h.bo);
	uttm_bo_unlock(h.bo);
	uttm_bo_put(h.bo);
	uttm_device_destroy(h.dev);
	unfragment_arena(h.arena, &sp);
	uttm_arena_destroy(h.arena);
}

/*
 * An unpinned object's own mapping goes with its lock, so the kernel
 * counts its pages once, not twice; a pinned one keeps it.
 */
static void unlocked_object_is_mapped_once(void **state)
{
	struct uttm_arena_params ap = { .max_bytes = 16 * MiB };
	struct world *w = *state;
	struct uttm_arena *arena;
	struct uttm_device *dev;
	struct uttm_bo *bo;
	struct spacers sp;
	uint64_t base;
	char *map;

	assert_int_equal(uttm_arena_create(&ap, &arena), 0);
	device_new(w, arena, NULL, &dev);
	/* Scattered pages need a mapping of their own. */
	assert_int_equal(fragment_arena(arena, &sp), 0);
	bo = bo_new(dev, 4 * MiB, false, NULL);
	base = status_bytes("RssShmem");
	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_validate(bo, &op), 0);
	assert_int_equal(uttm_bo_vmap(bo, (void **)&map), 0);
	assert_ptr_not_equal(map, uttm_tt_page_address(uttm_bo_tt(bo), 0));
	memset(map, 0x3c, 4 * MiB);
	assert_true(status_bytes("RssShmem") >= base + 15 * MiB / 2);
	uttm_bo_unlock(bo);
	assert_true(status_bytes("RssShmem") <= base + 9 * MiB / 2);

	uttm_bo_lock(bo);
	assert_int_equal(uttm_bo_vmap(bo, (void **)&map), 0);
	assert_int_equal(map[4 * MiB - 1], 0x3c);
	assert_int_equal(uttm_bo_pin(bo), 0);
	uttm_bo_unlock(bo);
	/* Pinned, the mapping stays valid unlocked. */
	assert_int_equal(map[0], 0x3c);
	uttm_bo_lock(bo);
	uttm_bo_unpin(bo);
	uttm_bo_unlock(bo);
	uttm_bo_put(bo);
	uttm_device_destroy(dev);
	unfragment_arena(arena, &sp);
	uttm_arena_destroy(arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(default_limits_are_half_of_ram_and_2g),
		world_test(counters_follow_every_operation),
		cmocka_unit_test(unwritten_pages_back_up_without_a_write),
		world_test(trimming_pools_takes_whole_blocks_device_by_device),
		world_test(driver_makes_vectors_and_sees_releases),
		world_test(placements_and_bad_input),
		world_test(put_of_a_pinned_object_drops_its_pin),
		world_test(pin_needs_a_validate_in_every_placement),
		world_test(sizes_never_wrap_in_any_placement),
		world_test(forked_child_shares_nothing_with_its_parent),
		world_test(forked_child_keeps_its_own_mappings),
		world_test(unlocked_object_is_mapped_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
