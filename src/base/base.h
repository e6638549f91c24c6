/* SPDX-License-Identifier: MIT */
/*
 * The base every layer shares and none exports: small macros, the misuse
 * warning, intrusive lists, and what the kernel says about the system's
 * memory.
 */
#ifndef UTTM_BASE_H
#define UTTM_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <malloc.h>
#include <time.h>

#include "uttm/log.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * A message for the log hook (uttm/log.h, log.c): printf-style, one line,
 * at most 255 bytes.
 */
void uttm_log(enum uttm_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * API misuse is logged as a warning, with the place that caught it, and
 * then refused (usually with -EINVAL) instead of crashing the caller.
 */
void uttm_warn_report(const char *file, int line, const char *cond);

#define UTTM_WARN_ON(cond)                                           \
	({                                                           \
		bool __warn = !!(cond);                              \
		if (unlikely(__warn))                                \
			uttm_warn_report(__FILE__, __LINE__, #cond); \
		unlikely(__warn);                                    \
	})

/*
 * Bytes the C library's allocator spends on the heap block at @p (NULL
 * for none): what it can hold plus its header.  The budget counts the
 * bookkeeping of objects with it.
 */
static inline size_t uttm_heap_bytes(void *p)
{
	return p ? malloc_usable_size(p) + sizeof(size_t) : 0;
}

/* The same for a block of @size bytes not yet allocated (glibc's rule). */
static inline size_t uttm_heap_bytes_of(size_t size)
{
	return MAX((size + sizeof(size_t) + 15) & ~(size_t)15, 4 * sizeof(size_t));
}

/*
 * Whether the @size bytes at @p are all zero: the reserved space of a
 * public structure, where fields to come will go.  A caller built against
 * a later header may have set one; refusing it beats ignoring it.
 */
static inline bool uttm_reserved_clear(const void *p, size_t size)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < size; i++)
		if (b[i])
			return false;
	return true;
}

#define UTTM_RESERVED_CLEAR(s) uttm_reserved_clear((s)->reserved, \
						   sizeof((s)->reserved))

/* CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t uttm_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Index of the highest set bit of a non-zero value, as the kernel's __fls(). */
static inline unsigned int uttm_fls(unsigned long x)
{
	return (unsigned int)(8 * sizeof(x) - 1 - (unsigned int)__builtin_clzl(x));
}

/*
 * Intrusive doubly linked lists, as the kernel's list_head: the LRUs and
 * the device lists are made of nodes embedded in their objects.
 */
struct list_head {
	struct list_head *next, *prev;
};

static inline void list_init(struct list_head *list)
{
	list->next = list;
	list->prev = list;
}

static inline bool list_empty(const struct list_head *list)
{
	return list->next == list;
}

static inline void __list_add(struct list_head *node, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = node;
	node->next = next;
	node->prev = prev;
	prev->next = node;
}

/* Adds @node after @head. */
static inline void list_add(struct list_head *node, struct list_head *head)
{
	__list_add(node, head, head->next);
}

/* Adds @node before @head: at the tail of the list @head heads. */
static inline void list_add_tail(struct list_head *node, struct list_head *head)
{
	__list_add(node, head->prev, head);
}

/* Unlinks @node and leaves it pointing at itself, so it reads as unlinked. */
static inline void list_del_init(struct list_head *node)
{
	node->next->prev = node->prev;
	node->prev->next = node->next;
	list_init(node);
}

static inline void list_move_tail(struct list_head *node,
				  struct list_head *head)
{
	list_del_init(node);
	list_add_tail(node, head);
}

static inline void list_move(struct list_head *node, struct list_head *head)
{
	list_del_init(node);
	list_add(node, head);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)

#define list_for_each_entry(pos, head, member)                               \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);       \
	     &pos->member != (head);                                         \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))

/*
 * Facts about the system's memory that stores and the pressure monitor
 * read: free swap, and the files of the process's memory cgroup.  They
 * read with read(2) into the caller's buffers and never allocate.
 */

/*
 * Swap the process can still use: the system's free swap, bounded by the
 * headroom of its cgroup v2 swap limit when there is one.
 */
uint64_t uttm_sysmem_swap_free_bytes(void);

/*
 * Whether any page is in swap, system-wide: one sysinfo(2), cheap enough
 * to ask before every restore.
 */
bool uttm_sysmem_swap_in_use(void);

/*
 * Room left in a store that holds @used bytes: what remains of its
 * @capacity or, without one (0), the swap the process can still use,
 * since pages parked in memory the kernel cannot swap free nothing.
 */
uint64_t uttm_sysmem_store_room(uint64_t capacity, uint64_t used);

/*
 * Path of @file (e.g. "memory.swap.max") in the process's cgroup v2
 * directory, when it exists.  Returns 0 or -ENOENT.
 */
int uttm_sysmem_cgroup2_file(const char *file, char *path, size_t size);

/* Whether the process sits in the root of cgroup v2 (or has none). */
bool uttm_sysmem_in_cgroup2_root(void);

/*
 * The process's cgroup v1 directory for @controller (e.g. "memory"), when
 * that hierarchy is mounted at /sys/fs/cgroup/@controller.  Returns 0 or
 * -ENOENT.
 */
int uttm_sysmem_cgroup1_dir(const char *controller, char *path, size_t size);

/* Memory cgroup levels the process's memory is bounded by. */
#define UTTM_CGROUP_MAX_LEVELS 8
#define UTTM_CGROUP_PATH 256
/* Limits at or above this are "no limit" (v1 writes 2^63 less a page). */
#define UTTM_CGROUP_UNLIMITED (1ULL << 62)

/**
 * struct uttm_cgroup_levels - the memory cgroups a process is in
 * @v2: they are cgroup v2 directories, else v1 memory controller ones.
 * @count: how many.
 * @dirs: the process's own cgroup first, then each parent below the root.
 */
struct uttm_cgroup_levels {
	bool v2;
	unsigned int count;
	char dirs[UTTM_CGROUP_MAX_LEVELS][UTTM_CGROUP_PATH];
};

/*
 * Finds the memory cgroup levels of the process: v2 where its memory
 * controller is enabled, else v1.  Returns 0, or -ENOENT when the process
 * sits in no memory cgroup but the root.
 */
int uttm_sysmem_cgroup_levels(struct uttm_cgroup_levels *levels);

/*
 * The tightest limit of @levels (v2: memory.max and memory.high; v1:
 * memory.limit_in_bytes) and the least room left below one (limit less
 * usage, of which the swap cache counts as room: it is dropped first and
 * costs no I/O); UINT64_MAX for each when no level has a limit.  Reads
 * with read(2) only: safe in a cgroup at its limit.
 */
void uttm_sysmem_cgroup_room(const struct uttm_cgroup_levels *levels,
			     uint64_t *limit, uint64_t *headroom);

/* The number after @key at the start of a line of @text, or 0. */
uint64_t uttm_sysmem_text_number(const char *text, const char *key);

/* Reads a small file into @buf, NUL-terminated, without allocating. */
int uttm_sysmem_read_text(const char *path, char *buf, size_t size);

/* Reads one unsigned number (or "max", as UINT64_MAX) from a file. */
int uttm_sysmem_read_u64(const char *path, uint64_t *value);

/*
 * fork.c: the generation of the running process, which changes in the
 * child of every fork().  An object made in an older generation was
 * inherited from a parent: its files are the parent's, not to be touched.
 */
unsigned long uttm_fork_generation(void);

#endif /* UTTM_BASE_H */
