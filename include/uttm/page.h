/* SPDX-License-Identifier: MIT */
/*
 * uttm/page.h - the page layer: arenas, page descriptors, block allocation
 *
 * The kernel hands TTM struct pages from the buddy allocator.  uttm hands
 * out pages of an arena: a range of virtual memory backed by a memfd, so
 * that every page has a file offset, can be mapped a second time (vmap,
 * sharing with another process) and can be returned to the operating
 * system by punching a hole in the file.
 *
 * Each 4 KiB page of an arena has a descriptor, struct uttm_page, in the
 * arena's memmap array.  Blocks of 2^order pages, order 0 to
 * UTTM_MAX_ORDER, are handed out naturally aligned, both in the file and in
 * the address space; the descriptor of a block's first page (its head)
 * records the order, and uttm_split_page() turns a block into 2^order
 * blocks of order 0, as split_page() does.
 *
 * Free blocks hold no memory: a block is hole-punched before it returns to
 * the arena's free lists, and a fresh block is prefaulted when it is
 * handed out, so "allocated" means resident, as it does for the kernel.
 * The arena grows on demand up to its configured maximum and within the
 * process's RLIMIT_FSIZE, which applies to its memfd as to any file.
 *
 * A DMA32 arena places its whole range below 4 GiB, for devices that can
 * only address 32 bits.
 *
 * fork(): an arena's memory is kept out of child processes
 * (MADV_DONTFORK), and so are page vectors' contiguous mappings, so a
 * child never shares its parent's pages: touching them in the child
 * faults.  A child may create arenas of its own; one it inherited gives
 * nothing (uttm_alloc_pages() is -EINVAL) and frees nothing in its
 * parent's file (uttm_free_pages() forgets the blocks), and the stores a
 * child inherits behave alike, so the child can drop every object it
 * inherited without touching its parent's.  Nor does it touch its own:
 * the address range a parent's arena or mapping held is free in the
 * child, which may have mapped anything there since (thread stacks,
 * malloc() memory, arenas of its own), and destroying what it inherited
 * leaves that range alone.  uttm_arena_inherited() tells.
 * As with any library with locks, fork() while other threads are inside
 * uttm leaves their locks held in the child.
 */
#ifndef UTTM_PAGE_H
#define UTTM_PAGE_H

#include <stdbool.h>
#include <stdint.h>

#include <uttm/fault.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

#define UTTM_PAGE_SHIFT 12
#define UTTM_PAGE_SIZE (1UL << UTTM_PAGE_SHIFT)
/** Largest block order: 4 MiB, as MAX_PAGE_ORDER on x86. */
#define UTTM_MAX_ORDER 10
#define UTTM_NR_ORDERS (UTTM_MAX_ORDER + 1)

/**
 * struct uttm_page - descriptor of one page of an arena
 * @next: page frame number of the next block on a free or pool list.
 * @prev: page frame number of the previous block on a free list.
 * @order: order of the block this page heads; 0 for a page inside one.
 * @flags: state bits, private to the page layer.
 *
 * Descriptors are 12 bytes, so the memmap costs 0.3% of the arena.  Page
 * vectors hold pointers to descriptors; a descriptor's address is always
 * even, which leaves the low bit free for backup handles.  Only the page
 * layer and the pool's lists touch the fields.
 */
struct uttm_page {
	uint32_t next;
	uint32_t prev;
	uint8_t order;
	uint8_t flags;
};

/** Arena flag: place the whole arena below 4 GiB. */
#define UTTM_ARENA_DMA32 (1u << 0)

/**
 * struct uttm_arena_params - how to create an arena
 * @max_bytes: the arena never grows past this; rounded up to a whole
 * block of UTTM_MAX_ORDER.  For a DMA32 arena at most 2 GiB.
 * @flags: UTTM_ARENA_* flags.
 * @fault: fault injector consulted at each block allocation, or NULL.
 * It must outlive the arena.
 * @reserved: must be zero: room for fields to come (docs/versioning.md).
 */
struct uttm_arena_params {
	uint64_t max_bytes;
	unsigned int flags;
	struct uttm_fault *fault;
	uint64_t reserved[4];
};

/**
 * struct uttm_arena_stats - counters of an arena
 * @pages_allocated: pages in blocks handed out and not yet freed.
 * @size_bytes: bytes the arena has grown to.
 * @max_bytes: bytes it may grow to.
 * @resident_bytes: memory the operating system holds for the arena's
 * file, as it reports it (allocated blocks of the memfd).
 * @memmap_bytes: memory of the page descriptors of the part the arena has
 * grown to, in whole pages.
 * @dma32: whether this is a DMA32 arena.
 * @reserved: zero: room for counters to come.
 */
struct uttm_arena_stats {
	uint64_t pages_allocated;
	uint64_t size_bytes;
	uint64_t max_bytes;
	uint64_t resident_bytes;
	uint64_t memmap_bytes;
	bool dma32;
	uint64_t reserved[8];
};

struct uttm_arena;

/**
 * uttm_arena_create() - reserve an arena
 * @params: size limit and flags.
 * @out: receives the arena.
 *
 * Reserves address space for @params->max_bytes and the memmap that
 * describes it; memory is only used as blocks are allocated.
 *
 * Context: May sleep. No locks.
 * Return: 0; -EINVAL for NULL arguments, unknown flags, a zero or absurd
 * size; -ENOMEM when the address space cannot be reserved (below 4 GiB for
 * a DMA32 arena); another negative errno from memfd_create().
 */
int uttm_arena_create(const struct uttm_arena_params *params,
		      struct uttm_arena **out);

/**
 * uttm_arena_destroy() - release an arena and all of its memory
 * @arena: the arena, or NULL.
 *
 * Every block should have been freed; blocks still allocated are released
 * with the arena, and pointers to their descriptors become invalid.  In a
 * child that inherited @arena through fork() only the child's copies go:
 * the arena's range was never mapped there and is not unmapped.
 *
 * Context: May sleep. No other thread may use @arena.
 */
void uttm_arena_destroy(struct uttm_arena *arena);

/**
 * uttm_alloc_pages() - allocate a naturally aligned block of 2^order pages
 * @arena: the arena.
 * @order: 0 to UTTM_MAX_ORDER.
 * @out: receives the descriptor of the block's head page.
 *
 * The block is resident and zero-filled.  Its head records @order.
 *
 * Context: May sleep (grows the arena, prefaults the block). Takes the
 * arena lock. Safe from the shrinker.
 * Return: 0; -EINVAL for bad arguments or an arena inherited through
 * fork(); -ENOMEM when no block of @order
 * is free and the arena cannot grow (its maximum, RLIMIT_FSIZE, address
 * space), or the system or the process's memory cgroup is out of memory;
 * an injected error.
 */
int uttm_alloc_pages(struct uttm_arena *arena, unsigned int order,
		     struct uttm_page **out);

/**
 * uttm_free_pages() - return blocks to an arena and their memory to the OS
 * @arena: the arena they came from.
 * @blocks: head descriptors of the blocks, each of its own order.
 * @count: number of blocks.
 *
 * The memory of adjacent blocks is released with one hole punch, so
 * freeing many blocks at once is much cheaper than one at a time.  In a
 * child, blocks of an inherited arena are forgotten: their memory is the
 * parent's.
 *
 * Context: May sleep. Takes the arena lock. Safe from the shrinker.
 */
void uttm_free_pages(struct uttm_arena *arena, struct uttm_page *const *blocks,
		     unsigned long count);

/**
 * uttm_split_page() - turn a block into 2^order blocks of order 0
 * @page: head of an allocated block.
 *
 * Each page of the block can then be freed on its own.
 *
 * Context: Any thread; the caller owns the block. Does not sleep.
 */
void uttm_split_page(struct uttm_page *page);

/**
 * uttm_page_order() - order of the block a descriptor heads
 * @page: head descriptor.
 *
 * Context: Any thread, lock-free. Does not sleep.
 * Return: the order.
 */
static inline unsigned int uttm_page_order(const struct uttm_page *page)
{
	return __atomic_load_n(&page->order, __ATOMIC_RELAXED);
}

/**
 * uttm_page_to_pfn() - page frame number of a page
 * @arena: the arena of @page.
 * @page: a descriptor.
 *
 * A page's frame number is its index in the arena, from 0; it names the
 * page for as long as the arena lives, whoever owns it.
 *
 * Context: Any thread. Does not sleep.
 * Return: the page frame number.
 */
unsigned long uttm_page_to_pfn(const struct uttm_arena *arena,
			       const struct uttm_page *page);

/**
 * uttm_pfn_to_page() - descriptor of a page frame number
 * @arena: the arena.
 * @pfn: a page frame number below the size the arena has grown to.
 *
 * Context: Any thread. Does not sleep.
 * Return: the descriptor.
 */
struct uttm_page *uttm_pfn_to_page(const struct uttm_arena *arena,
				   unsigned long pfn);

/**
 * uttm_page_in_arena() - whether a descriptor is one of an arena's
 * @arena: the arena, or NULL.
 * @page: any descriptor.
 *
 * Context: Any thread. Does not sleep.
 * Return: true when @page describes a page of @arena; false for a NULL
 * @arena.
 */
bool uttm_page_in_arena(const struct uttm_arena *arena,
			const struct uttm_page *page);

/**
 * uttm_page_address() - where a page is mapped in the arena
 * @arena: the arena of @page.
 * @page: a descriptor.
 *
 * Context: Any thread. Does not sleep.
 * Return: the address of the page; the pages of a block follow it.
 */
void *uttm_page_address(const struct uttm_arena *arena,
			const struct uttm_page *page);

/**
 * uttm_page_offset() - offset of a page in the arena's file
 * @arena: the arena of @page.
 * @page: a descriptor.
 *
 * Context: Any thread. Does not sleep.
 * Return: the byte offset in the file returned by uttm_arena_fd().
 */
uint64_t uttm_page_offset(const struct uttm_arena *arena,
			  const struct uttm_page *page);

/**
 * uttm_arena_fd() - the memfd behind an arena
 * @arena: the arena.
 *
 * The descriptor stays owned by the arena; map it to see pages at a
 * second address.
 *
 * Context: Any thread. Does not sleep.
 * Return: the file descriptor.
 */
int uttm_arena_fd(const struct uttm_arena *arena);

/**
 * uttm_arena_inherited() - whether an arena was made by a parent process
 * @arena: the arena.
 *
 * Context: Any thread. Does not sleep.
 * Return: true in a child process that inherited @arena through fork();
 * see fork() at the top of this header.
 */
bool uttm_arena_inherited(const struct uttm_arena *arena);

/**
 * struct uttm_page_list - a stack of blocks of one arena
 * @first: page frame number of the top block, or UINT32_MAX when empty.
 *
 * Links blocks through their head descriptors, so a list costs no memory
 * per block; the pool keeps its blocks on such lists.  The owner of the
 * list serialises access to it.
 */
struct uttm_page_list {
	uint32_t first;
};

/**
 * uttm_page_list_init() - make a list empty
 * @list: the list.
 * Context: Any thread; the caller owns @list. Does not sleep.
 */
static inline void uttm_page_list_init(struct uttm_page_list *list)
{
	list->first = UINT32_MAX;
}

/**
 * uttm_page_list_push() - put an allocated block on top of a list
 * @arena: the arena of @page.
 * @list: the list.
 * @page: head of the block; it must be on no other list.
 *
 * Context: Caller serialises @list. Does not sleep.
 */
void uttm_page_list_push(const struct uttm_arena *arena,
			 struct uttm_page_list *list, struct uttm_page *page);

/**
 * uttm_page_list_pop() - take the top block off a list
 * @arena: the arena of the list's blocks.
 * @list: the list.
 *
 * Context: Caller serialises @list. Does not sleep.
 * Return: the block's head, or NULL when the list is empty.
 */
struct uttm_page *uttm_page_list_pop(const struct uttm_arena *arena,
				     struct uttm_page_list *list);

/**
 * uttm_arena_stats() - read an arena's counters
 * @arena: the arena.
 * @stats: receives the counters.
 *
 * Context: Any thread. Takes no lock; the figures are a snapshot.
 */
void uttm_arena_stats(const struct uttm_arena *arena,
		      struct uttm_arena_stats *stats);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_PAGE_H */
