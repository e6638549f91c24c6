/* SPDX-License-Identifier: MIT */
/*
 * uttm/fault.h - fault injection
 *
 * Every failure uttm must survive (a page that cannot be allocated, a
 * backup that runs out of room, a restore interrupted by a signal) is rare
 * on a healthy machine.  A fault injector makes such failures happen on
 * demand so that each error path can be driven by a test.  An injector is
 * an object like any other: the caller creates it and hands it to the
 * arenas and stores that should consult it.  Nothing is global; an object
 * given no injector never fails on purpose.
 *
 * A rule arms one fault point.  Calls through the point are counted from
 * the moment the rule is armed, starting at 1.  Call number @nth and the
 * @times - 1 calls after it fail with @error; independently, each call
 * fails with probability @ppm / 1,000,000, decided by a hash of @seed and
 * the call number so that a run can be replayed exactly.
 *
 * The same rules can be given as a string, for instance in the
 * environment variable UTTM_FAULT read by uttm_fault_from_env():
 *
 *	UTTM_FAULT="alloc:nth=5;restore:nth=3,times=2,err=EINTR;backup:ppm=20000,seed=7"
 *
 * Points are "alloc", "backup", "restore" and "insert"; keys are nth,
 * times, err (any errno name the C library knows, such as EIO or EPERM,
 * or a number from 1 to 4095), ppm and seed.  err defaults to ENOMEM,
 * times to 1.
 */
#ifndef UTTM_FAULT_H
#define UTTM_FAULT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Everything this header declares is the library's ABI. */
#pragma GCC visibility push(default)

/**
 * enum uttm_fault_point - where a fault can be injected
 * @UTTM_FAULT_PAGE_ALLOC: allocation of a block from an arena.
 * @UTTM_FAULT_BACKUP: a store backing up one page.
 * @UTTM_FAULT_RESTORE: a store copying one backed-up page back.
 * @UTTM_FAULT_INSERT: zero-copy insertion of a block of order > 0.
 * @UTTM_FAULT_NR_POINTS: number of points.
 */
enum uttm_fault_point {
	UTTM_FAULT_PAGE_ALLOC,
	UTTM_FAULT_BACKUP,
	UTTM_FAULT_RESTORE,
	UTTM_FAULT_INSERT,
	UTTM_FAULT_NR_POINTS,
};

/**
 * struct uttm_fault_rule - when an armed point fails
 * @nth: first failing call, counted from 1 since arming; 0 for none.
 * @times: number of consecutive failing calls from @nth; 0 means 1.
 * @error: negative errno returned by a failing call; 0 means -ENOMEM.
 * @ppm: additional failure probability per call, in parts per million.
 * @seed: seed of the deterministic choice made for @ppm.
 */
struct uttm_fault_rule {
	unsigned long nth;
	unsigned long times;
	int error;
	uint32_t ppm;
	uint64_t seed;
};

struct uttm_fault;

/**
 * uttm_fault_create() - create an injector with no point armed
 * @out: receives the injector.
 *
 * Context: May sleep (allocates memory). No locks.
 * Return: 0, -EINVAL if @out is NULL, -ENOMEM.
 */
int uttm_fault_create(struct uttm_fault **out);

/**
 * uttm_fault_destroy() - free an injector
 * @fault: the injector, or NULL.
 *
 * No object it was handed to may use it any more.
 *
 * Context: May sleep. No locks.
 */
void uttm_fault_destroy(struct uttm_fault *fault);

/**
 * uttm_fault_arm() - arm one point with a rule
 * @fault: the injector.
 * @point: the point to arm.
 * @rule: when calls through @point fail.
 *
 * Arming resets the call count of @point to zero.
 *
 * Context: Any thread; not atomic with respect to calls running through
 * @point at the same moment.
 * Return: 0, or -EINVAL for a NULL argument, an unknown point or a
 * positive error.
 */
int uttm_fault_arm(struct uttm_fault *fault, enum uttm_fault_point point,
		   const struct uttm_fault_rule *rule);

/**
 * uttm_fault_disarm() - stop failing calls through a point
 * @fault: the injector, or NULL.
 * @point: the point.
 *
 * Context: Any thread.
 */
void uttm_fault_disarm(struct uttm_fault *fault, enum uttm_fault_point point);

/**
 * uttm_fault_parse() - arm points from a rule string
 * @fault: the injector.
 * @spec: rules in the syntax described at the top of this header.
 *
 * Context: Any thread.
 * Return: 0, or -EINVAL for a malformed string (no point is armed then).
 */
int uttm_fault_parse(struct uttm_fault *fault, const char *spec);

/**
 * uttm_fault_from_env() - create an injector from UTTM_FAULT
 * @out: receives the injector, or NULL when UTTM_FAULT is unset or empty.
 *
 * Context: May sleep. Reads the environment.
 * Return: 0, -EINVAL for a malformed UTTM_FAULT, -ENOMEM.
 */
int uttm_fault_from_env(struct uttm_fault **out);

/**
 * uttm_fault_check() - count a call through a point and decide its fate
 * @fault: the injector, or NULL (never fails).
 * @point: the point the call goes through.
 *
 * Called by the library at each fault point; tests may call it to
 * exercise a rule.
 *
 * Context: Any thread, lock-free; safe from the shrinker.
 * Return: 0 if the call proceeds, or the rule's negative errno; -EINVAL
 * for an unknown point.
 */
int uttm_fault_check(struct uttm_fault *fault, enum uttm_fault_point point);

/**
 * uttm_fault_calls() - calls counted through a point since it was armed
 * @fault: the injector, or NULL.
 * @point: the point.
 *
 * Context: Any thread, lock-free.
 * Return: the count (0 for a NULL injector).
 */
unsigned long uttm_fault_calls(const struct uttm_fault *fault,
			       enum uttm_fault_point point);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* UTTM_FAULT_H */
