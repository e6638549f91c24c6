// SPDX-License-Identifier: MIT
/*
 * fork(): a child gets a copy of its parent's memory and the same open
 * files, so an arena's memfd or a store's file would be shared with it
 * and whatever the child did to them would land in the parent's objects.
 * Objects that own such files remember the generation of the process
 * they were made in; the child of a fork() lives in a new generation and
 * leaves what it inherited alone.
 */
#include <pthread.h>

#include "base/base.h"

static unsigned long generation;
static pthread_once_t handler_once = PTHREAD_ONCE_INIT;

static void child_after_fork(void)
{
	__atomic_fetch_add(&generation, 1, __ATOMIC_RELAXED);
}

static void register_handler(void)
{
	/* Only fails for want of memory, at the first object ever made. */
	UTTM_WARN_ON(pthread_atfork(NULL, NULL, child_after_fork));
}

unsigned long uttm_fork_generation(void)
{
	pthread_once(&handler_once, register_handler);
	return __atomic_load_n(&generation, __ATOMIC_RELAXED);
}
