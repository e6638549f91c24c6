// SPDX-License-Identifier: MIT
/*
 * The page layer: a buddy allocator over a memfd-backed arena.
 *
 * Free blocks sit on one list per order and hold no memory: they are hole
 * punched before they are put on a list.  Punching first, before anyone
 * else can allocate the block, is what makes it safe to punch outside the
 * arena lock.  A block handed out is prefaulted, so allocation failures
 * surface as -ENOMEM here instead of as a fault on first use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uttm/page.h"
#include "base/base.h"

#define PFN_NONE UINT32_MAX
#define BLOCK_PAGES(order) (1UL << (order))
#define MAX_BLOCK_BYTES (UTTM_PAGE_SIZE << UTTM_MAX_ORDER)
/* Page frame numbers are 32 bits wide. */
#define ARENA_MAX_BYTES ((uint64_t)PFN_NONE << UTTM_PAGE_SHIFT)
#define DMA32_LIMIT (1ULL << 32)
#define DMA32_MAX_BYTES (2ULL << 30)
/* Blocks freed per hole-punch batch; bounds the stack used for sorting. */
#define FREE_BATCH 128

enum {
	PG_HEAD = 1 << 0,	/* head of an allocated block */
	PG_BUDDY = 1 << 1,	/* head of a free block on a free list */
};

struct uttm_arena {
	pthread_mutex_t lock;
	int fd;
	char *base;
	struct uttm_page *memmap;
	uint64_t max_pages;
	/* Pages mapped and managed so far; grows under @lock. */
	_Atomic uint64_t size_pages;
	uint32_t free_list[UTTM_NR_ORDERS];
	atomic_ulong pages_allocated;
	struct uttm_fault *fault;
	bool dma32;
	void *reservation;
	size_t reservation_bytes;
	unsigned long generation;	/* of the process that made it */
};

unsigned long uttm_page_to_pfn(const struct uttm_arena *arena,
			       const struct uttm_page *page)
{
	return (unsigned long)(page - arena->memmap);
}

struct uttm_page *uttm_pfn_to_page(const struct uttm_arena *arena,
				   unsigned long pfn)
{
	return &arena->memmap[pfn];
}

bool uttm_page_in_arena(const struct uttm_arena *arena,
			const struct uttm_page *page)
{
	/* Compared as addresses: @page may point into another memmap. */
	uintptr_t first, at = (uintptr_t)page;

	if (!arena)
		return false;
	first = (uintptr_t)arena->memmap;
	return at >= first &&
	       (at - first) / sizeof(*page) < atomic_load(&arena->size_pages);
}

void *uttm_page_address(const struct uttm_arena *arena,
			const struct uttm_page *page)
{
	return arena->base +
	       ((size_t)uttm_page_to_pfn(arena, page) << UTTM_PAGE_SHIFT);
}

uint64_t uttm_page_offset(const struct uttm_arena *arena,
			  const struct uttm_page *page)
{
	return (uint64_t)uttm_page_to_pfn(arena, page) << UTTM_PAGE_SHIFT;
}

int uttm_arena_fd(const struct uttm_arena *arena)
{
	return arena->fd;
}

bool uttm_arena_inherited(const struct uttm_arena *arena)
{
	return arena->generation != uttm_fork_generation();
}

/*
 * A block's head is written by its owner (when it frees or splits the
 * block) while a thread merging a neighbour may read it under the arena
 * lock; relaxed atomics make those reads well defined.  A merge only
 * trusts PG_BUDDY, which is only ever set under the lock.
 */
static uint8_t pg_flags(const struct uttm_page *page)
{
	return __atomic_load_n(&page->flags, __ATOMIC_RELAXED);
}

static uint8_t pg_order(const struct uttm_page *page)
{
	return __atomic_load_n(&page->order, __ATOMIC_RELAXED);
}

static void pg_set(struct uttm_page *page, uint8_t flags, unsigned int order)
{
	__atomic_store_n(&page->order, (uint8_t)order, __ATOMIC_RELAXED);
	__atomic_store_n(&page->flags, flags, __ATOMIC_RELAXED);
}

static void free_list_add(struct uttm_arena *arena, uint32_t pfn,
			  unsigned int order)
{
	struct uttm_page *page = &arena->memmap[pfn];
	uint32_t head = arena->free_list[order];

	pg_set(page, PG_BUDDY, order);
	page->prev = PFN_NONE;
	page->next = head;
	if (head != PFN_NONE)
		arena->memmap[head].prev = pfn;
	arena->free_list[order] = pfn;
}

static void free_list_del(struct uttm_arena *arena, uint32_t pfn)
{
	struct uttm_page *page = &arena->memmap[pfn];

	if (page->prev != PFN_NONE)
		arena->memmap[page->prev].next = page->next;
	else
		arena->free_list[pg_order(page)] = page->next;
	if (page->next != PFN_NONE)
		arena->memmap[page->next].prev = page->prev;
	pg_set(page, 0, 0);
}

/*
 * Pages the arena may grow to: its maximum, within RLIMIT_FSIZE, which
 * the memfd is subject to like any file.  Growing the file past that
 * limit would raise SIGXFSZ, which kills the process by default.
 */
static uint64_t arena_grow_limit(const struct uttm_arena *arena)
{
	const uint64_t step = BLOCK_PAGES(UTTM_MAX_ORDER);
	struct rlimit lim;

	if (getrlimit(RLIMIT_FSIZE, &lim) || lim.rlim_cur == RLIM_INFINITY)
		return arena->max_pages;
	return MIN(arena->max_pages,
		   (lim.rlim_cur >> UTTM_PAGE_SHIFT) & ~(step - 1));
}

/*
 * Maps more of the file and hands the new range to the free lists, at
 * least doubling the arena so that a growing workload maps rarely.
 * Whatever stops the growth, the arena has no more memory to give:
 * -ENOMEM, so that callers shrink their pools or try a smaller block.
 * Called with the arena lock held.
 */
static int arena_grow(struct uttm_arena *arena)
{
	uint64_t old = arena->size_pages, limit = arena_grow_limit(arena), new;
	const uint64_t step = BLOCK_PAGES(UTTM_MAX_ORDER);
	void *addr;

	if (old >= limit)
		return -ENOMEM;
	new = MIN(limit, MAX(old + step, 2 * old));
	if (ftruncate(arena->fd, (off_t)(new << UTTM_PAGE_SHIFT)))
		return -ENOMEM;
	addr = mmap(arena->base + (old << UTTM_PAGE_SHIFT),
		    (new - old) << UTTM_PAGE_SHIFT, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_FIXED, arena->fd,
		    (off_t)(old << UTTM_PAGE_SHIFT));
	if (addr == MAP_FAILED)
		return -ENOMEM;
	/*
	 * A new mapping does not inherit the range's fork behaviour.  If it
	 * cannot be kept from children, the range stays out of use and the
	 * next growth maps it again.
	 */
	if (madvise(addr, (new - old) << UTTM_PAGE_SHIFT, MADV_DONTFORK))
		return -ENOMEM;
	/* Highest first, so that allocation starts at the bottom. */
	for (uint64_t pfn = new; pfn > old; pfn -= step)
		free_list_add(arena, (uint32_t)(pfn - step), UTTM_MAX_ORDER);
	atomic_store(&arena->size_pages, new);
	return 0;
}

/* Takes a free block of @order, splitting a larger one if needed. */
static int arena_take(struct uttm_arena *arena, unsigned int order,
		      uint32_t *pfn_out)
{
	unsigned int o = order;
	uint32_t pfn;
	int ret;

	while (o <= UTTM_MAX_ORDER && arena->free_list[o] == PFN_NONE)
		o++;
	if (o > UTTM_MAX_ORDER) {
		ret = arena_grow(arena);
		if (ret)
			return ret;
		o = UTTM_MAX_ORDER;
	}
	pfn = arena->free_list[o];
	free_list_del(arena, pfn);
	while (o > order) {
		o--;
		free_list_add(arena, pfn + (uint32_t)BLOCK_PAGES(o), o);
	}
	*pfn_out = pfn;
	return 0;
}

/* Merges a free block with its free buddies and lists the result. */
static void arena_put(struct uttm_arena *arena, uint32_t pfn,
		      unsigned int order)
{
	while (order < UTTM_MAX_ORDER) {
		uint32_t buddy = pfn ^ (uint32_t)BLOCK_PAGES(order);
		struct uttm_page *b = &arena->memmap[buddy];

		if (buddy >= arena->size_pages || !(pg_flags(b) & PG_BUDDY) ||
		    pg_order(b) != order)
			break;
		free_list_del(arena, buddy);
		pfn = MIN(pfn, buddy);
		order++;
	}
	free_list_add(arena, pfn, order);
}

static void release_memory(struct uttm_arena *arena, uint64_t pfn,
			   uint64_t npages)
{
	/*
	 * A failed punch leaves memory in use but the data is never read
	 * again; the block is still reusable, so only warn.
	 */
	UTTM_WARN_ON(fallocate(arena->fd,
			       FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			       (off_t)(pfn << UTTM_PAGE_SHIFT),
			       (off_t)(npages << UTTM_PAGE_SHIFT)));
}

int uttm_alloc_pages(struct uttm_arena *arena, unsigned int order,
		     struct uttm_page **out)
{
	struct uttm_page *page;
	uint32_t pfn;
	int ret;

	if (UTTM_WARN_ON(!arena || !out || order > UTTM_MAX_ORDER) ||
	    UTTM_WARN_ON(uttm_arena_inherited(arena)))
		return -EINVAL;
	ret = uttm_fault_check(arena->fault, UTTM_FAULT_PAGE_ALLOC);
	if (ret)
		return ret;

	pthread_mutex_lock(&arena->lock);
	ret = arena_take(arena, order, &pfn);
	if (!ret) {
		page = &arena->memmap[pfn];
		pg_set(page, PG_HEAD, order);
	}
	pthread_mutex_unlock(&arena->lock);
	if (ret)
		return ret;

	atomic_fetch_add(&arena->pages_allocated, BLOCK_PAGES(order));
	/* MADV_POPULATE_WRITE needs Linux 5.14. */
	if (madvise(uttm_page_address(arena, page), UTTM_PAGE_SIZE << order,
		    MADV_POPULATE_WRITE)) {
		uttm_free_pages(arena, &page, 1);
		return -ENOMEM;
	}
	*out = page;
	return 0;
}

struct free_range {
	uint32_t pfn;
	uint32_t order;
};

static int range_cmp(const void *a, const void *b)
{
	const struct free_range *x = a, *y = b;

	return (x->pfn > y->pfn) - (x->pfn < y->pfn);
}

/* Punches the memory of @n blocks, adjacent ones together, then lists them. */
static void free_batch(struct uttm_arena *arena, struct free_range *r,
		       unsigned int n)
{
	uint64_t start, end, freed = 0;
	unsigned int i;

	qsort(r, n, sizeof(*r), range_cmp);
	start = r[0].pfn;
	end = start;
	for (i = 0; i < n; i++) {
		if (r[i].pfn != end) {
			release_memory(arena, start, end - start);
			start = r[i].pfn;
		}
		end = r[i].pfn + BLOCK_PAGES(r[i].order);
		freed += BLOCK_PAGES(r[i].order);
	}
	release_memory(arena, start, end - start);

	pthread_mutex_lock(&arena->lock);
	for (i = 0; i < n; i++)
		arena_put(arena, r[i].pfn, r[i].order);
	pthread_mutex_unlock(&arena->lock);
	atomic_fetch_sub(&arena->pages_allocated, freed);
}

void uttm_free_pages(struct uttm_arena *arena, struct uttm_page *const *blocks,
		     unsigned long count)
{
	struct free_range batch[FREE_BATCH];
	unsigned int n = 0;

	if (UTTM_WARN_ON(!arena || (count && !blocks)))
		return;
	/* A child's copy of the parent's blocks is forgotten, not freed. */
	if (uttm_arena_inherited(arena))
		return;
	for (unsigned long i = 0; i < count; i++) {
		struct uttm_page *page = blocks[i];

		if (UTTM_WARN_ON(!(pg_flags(page) & PG_HEAD)))
			continue;
		batch[n].pfn = (uint32_t)uttm_page_to_pfn(arena, page);
		batch[n].order = pg_order(page);
		pg_set(page, 0, 0);
		if (++n == FREE_BATCH) {
			free_batch(arena, batch, n);
			n = 0;
		}
	}
	if (n)
		free_batch(arena, batch, n);
}

void uttm_split_page(struct uttm_page *page)
{
	unsigned long nr = BLOCK_PAGES(pg_order(page));

	for (unsigned long i = 0; i < nr; i++)
		pg_set(&page[i], PG_HEAD, 0);
}

void uttm_page_list_push(const struct uttm_arena *arena,
			 struct uttm_page_list *list, struct uttm_page *page)
{
	page->next = list->first;
	list->first = (uint32_t)uttm_page_to_pfn(arena, page);
}

struct uttm_page *uttm_page_list_pop(const struct uttm_arena *arena,
				     struct uttm_page_list *list)
{
	struct uttm_page *page;

	if (list->first == PFN_NONE)
		return NULL;
	page = &arena->memmap[list->first];
	list->first = page->next;
	return page;
}

void uttm_arena_stats(const struct uttm_arena *arena,
		      struct uttm_arena_stats *stats)
{
	struct stat st;

	memset(stats, 0, sizeof(*stats));
	stats->pages_allocated = atomic_load(&arena->pages_allocated);
	stats->size_bytes = atomic_load(&arena->size_pages) << UTTM_PAGE_SHIFT;
	stats->memmap_bytes = DIV_ROUND_UP(atomic_load(&arena->size_pages) *
					   sizeof(struct uttm_page),
					   UTTM_PAGE_SIZE) << UTTM_PAGE_SHIFT;
	stats->max_bytes = arena->max_pages << UTTM_PAGE_SHIFT;
	stats->resident_bytes = fstat(arena->fd, &st) ? 0 :
				(uint64_t)st.st_blocks * 512;
	stats->dma32 = arena->dma32;
}

/*
 * Finds a free range of @bytes below 4 GiB, trying aligned addresses from
 * the top down, so that every page of a DMA32 arena is 32-bit addressable.
 */
static void *reserve_below_4g(size_t bytes)
{
	const uint64_t step = MAX_BLOCK_BYTES * 16;

	for (uint64_t addr = (DMA32_LIMIT - bytes) & ~(step - 1);
	     addr >= step; addr -= step) {
		void *p = mmap((void *)addr, bytes, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			       MAP_FIXED_NOREPLACE, -1, 0);

		if (p == (void *)addr)
			return p;
		if (p != MAP_FAILED)
			munmap(p, bytes);
	}
	return MAP_FAILED;
}

/* Reserves address space aligned to the largest block. */
static int arena_reserve(struct uttm_arena *arena, uint64_t bytes)
{
	uintptr_t base;

	if (arena->dma32) {
		arena->reservation_bytes = bytes;
		arena->reservation = reserve_below_4g(bytes);
	} else {
		arena->reservation_bytes = bytes + MAX_BLOCK_BYTES;
		arena->reservation = mmap(NULL, arena->reservation_bytes,
					  PROT_NONE,
					  MAP_PRIVATE | MAP_ANONYMOUS |
					  MAP_NORESERVE, -1, 0);
	}
	if (arena->reservation == MAP_FAILED)
		return -ENOMEM;
	/* Children get none of it: its pages are the parent's alone. */
	if (madvise(arena->reservation, arena->reservation_bytes,
		    MADV_DONTFORK)) {
		munmap(arena->reservation, arena->reservation_bytes);
		return -ENOMEM;
	}
	base = ((uintptr_t)arena->reservation + MAX_BLOCK_BYTES - 1) &
	       ~(uintptr_t)(MAX_BLOCK_BYTES - 1);
	arena->base = (char *)base;
	return 0;
}

static int arena_params_valid(const struct uttm_arena_params *params)
{
	uint64_t limit;

	if (!params || params->flags & ~UTTM_ARENA_DMA32 ||
	    !UTTM_RESERVED_CLEAR(params))
		return 0;
	limit = params->flags & UTTM_ARENA_DMA32 ? DMA32_MAX_BYTES :
						   ARENA_MAX_BYTES;
	return params->max_bytes && params->max_bytes <= limit;
}

int uttm_arena_create(const struct uttm_arena_params *params,
		      struct uttm_arena **out)
{
	struct uttm_arena *arena;
	uint64_t bytes;
	int ret;

	if (!out || !arena_params_valid(params))
		return -EINVAL;
	bytes = (params->max_bytes + MAX_BLOCK_BYTES - 1) &
		~(uint64_t)(MAX_BLOCK_BYTES - 1);
	arena = calloc(1, sizeof(*arena));
	if (!arena)
		return -ENOMEM;
	arena->dma32 = params->flags & UTTM_ARENA_DMA32;
	arena->fault = params->fault;
	arena->generation = uttm_fork_generation();
	arena->max_pages = bytes >> UTTM_PAGE_SHIFT;
	for (unsigned int o = 0; o < UTTM_NR_ORDERS; o++)
		arena->free_list[o] = PFN_NONE;

	arena->fd = memfd_create("uttm-arena", MFD_CLOEXEC);
	if (arena->fd < 0) {
		ret = -errno;
		goto error_free;
	}
	ret = arena_reserve(arena, bytes);
	if (ret)
		goto error_close;
	arena->memmap = mmap(NULL, arena->max_pages * sizeof(struct uttm_page),
			     PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arena->memmap == MAP_FAILED) {
		ret = -ENOMEM;
		goto error_unreserve;
	}
	pthread_mutex_init(&arena->lock, NULL);
	*out = arena;
	return 0;

error_unreserve:
	munmap(arena->reservation, arena->reservation_bytes);
error_close:
	close(arena->fd);
error_free:
	free(arena);
	return ret;
}

void uttm_arena_destroy(struct uttm_arena *arena)
{
	if (!arena)
		return;
	UTTM_WARN_ON(atomic_load(&arena->pages_allocated) &&
		     !uttm_arena_inherited(arena));
	munmap(arena->memmap, arena->max_pages * sizeof(struct uttm_page));
	/*
	 * A child of fork() never had the reservation, and whatever it has
	 * mapped since may lie in the range: a thread's stack, malloc()'s
	 * memory, an arena of its own.
	 */
	if (!uttm_arena_inherited(arena))
		munmap(arena->reservation, arena->reservation_bytes);
	close(arena->fd);
	pthread_mutex_destroy(&arena->lock);
	free(arena);
}
