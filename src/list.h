/* SPDX-License-Identifier: MIT */
/*
 * Intrusive doubly linked lists, as the kernel's list_head: the LRUs and
 * the device lists are made of nodes embedded in their objects.
 */
#ifndef UTTM_LIST_H
#define UTTM_LIST_H

#include <stdbool.h>

#include "internal.h"

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

#endif /* UTTM_LIST_H */
