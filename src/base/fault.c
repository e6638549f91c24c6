// SPDX-License-Identifier: MIT
/*
 * Fault injection: counts calls through each point and fails those an
 * armed rule selects.  The decision for a call depends only on the rule
 * and the call's number, so a failing run can be replayed.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "uttm/fault.h"
#include "base/base.h"

struct uttm_fault_slot {
	atomic_bool armed;
	atomic_ulong calls;
	struct uttm_fault_rule rule;
};

struct uttm_fault {
	struct uttm_fault_slot slots[UTTM_FAULT_NR_POINTS];
};

static const char *const point_names[UTTM_FAULT_NR_POINTS] = {
	[UTTM_FAULT_PAGE_ALLOC] = "alloc",
	[UTTM_FAULT_BACKUP] = "backup",
	[UTTM_FAULT_RESTORE] = "restore",
	[UTTM_FAULT_INSERT] = "insert",
};

/* Largest errno a rule may return, as the kernel's MAX_ERRNO. */
#define MAX_ERRNO 4095

/* Names <errno.h> gives a second time; strerrorname_np() knows the first. */
static const struct {
	const char *name;
	int error;
} error_aliases[] = {
	{ "EWOULDBLOCK", EWOULDBLOCK },
	{ "EDEADLOCK", EDEADLOCK },
	{ "ENOTSUP", ENOTSUP },
};

int uttm_fault_create(struct uttm_fault **out)
{
	struct uttm_fault *fault;

	if (!out)
		return -EINVAL;
	fault = calloc(1, sizeof(*fault));
	if (!fault)
		return -ENOMEM;
	*out = fault;
	return 0;
}

void uttm_fault_destroy(struct uttm_fault *fault)
{
	free(fault);
}

int uttm_fault_arm(struct uttm_fault *fault, enum uttm_fault_point point,
		   const struct uttm_fault_rule *rule)
{
	struct uttm_fault_slot *slot;

	if (!fault || !rule || (unsigned int)point >= UTTM_FAULT_NR_POINTS ||
	    rule->error > 0)
		return -EINVAL;

	slot = &fault->slots[point];
	atomic_store_explicit(&slot->armed, false, memory_order_release);
	slot->rule = *rule;
	if (!slot->rule.times)
		slot->rule.times = 1;
	if (!slot->rule.error)
		slot->rule.error = -ENOMEM;
	atomic_store_explicit(&slot->calls, 0, memory_order_relaxed);
	atomic_store_explicit(&slot->armed, true, memory_order_release);
	return 0;
}

void uttm_fault_disarm(struct uttm_fault *fault, enum uttm_fault_point point)
{
	if (fault && (unsigned int)point < UTTM_FAULT_NR_POINTS)
		atomic_store_explicit(&fault->slots[point].armed, false,
				      memory_order_release);
}

/* splitmix64: a cheap, well-mixed hash of the seed and the call number. */
static uint64_t call_hash(uint64_t seed, uint64_t call)
{
	uint64_t z = seed + call * 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static bool rule_selects(const struct uttm_fault_rule *rule,
			 unsigned long call)
{
	if (rule->nth && call >= rule->nth && call - rule->nth < rule->times)
		return true;
	return rule->ppm && call_hash(rule->seed, call) % 1000000 < rule->ppm;
}

int uttm_fault_check(struct uttm_fault *fault, enum uttm_fault_point point)
{
	struct uttm_fault_slot *slot;
	unsigned long call;

	if (!fault)
		return 0;
	if (UTTM_WARN_ON((unsigned int)point >= UTTM_FAULT_NR_POINTS))
		return -EINVAL;
	slot = &fault->slots[point];
	if (!atomic_load_explicit(&slot->armed, memory_order_acquire))
		return 0;
	call = atomic_fetch_add_explicit(&slot->calls, 1,
					 memory_order_relaxed) + 1;
	return rule_selects(&slot->rule, call) ? slot->rule.error : 0;
}

unsigned long uttm_fault_calls(const struct uttm_fault *fault,
			       enum uttm_fault_point point)
{
	if (!fault || (unsigned int)point >= UTTM_FAULT_NR_POINTS)
		return 0;
	return atomic_load_explicit(&fault->slots[point].calls,
				    memory_order_relaxed);
}

static int parse_point(const char *name, size_t len)
{
	for (int i = 0; i < UTTM_FAULT_NR_POINTS; i++)
		if (strlen(point_names[i]) == len &&
		    !strncmp(point_names[i], name, len))
			return i;
	return -EINVAL;
}

/* The errno called @name in the C library, or 0. */
static int errno_by_name(const char *name)
{
	for (int n = 1; n <= MAX_ERRNO; n++) {
		const char *known = strerrorname_np(n);

		if (known && !strcmp(name, known))
			return n;
	}
	for (size_t i = 0; i < ARRAY_SIZE(error_aliases); i++)
		if (!strcmp(name, error_aliases[i].name))
			return error_aliases[i].error;
	return 0;
}

static int parse_error(const char *value, int *error)
{
	char *end;
	long n;

	if (*value == 'E') {
		n = errno_by_name(value);
	} else {
		n = strtol(value, &end, 10);
		if (*end || end == value)
			n = 0;
	}
	if (n <= 0 || n > MAX_ERRNO)
		return -EINVAL;
	*error = -(int)n;
	return 0;
}

static int parse_number(const char *value, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long n;

	if (*value < '0' || *value > '9')
		return -EINVAL;
	errno = 0;
	n = strtoull(value, &end, 0);
	if (*end || errno || n > max)
		return -EINVAL;
	*out = n;
	return 0;
}

/* Parses "key=value" into @rule. @pair is modified. */
static int parse_pair(char *pair, struct uttm_fault_rule *rule)
{
	char *value = strchr(pair, '=');
	uint64_t n;
	int ret;

	if (!value)
		return -EINVAL;
	*value++ = '\0';
	if (!strcmp(pair, "err"))
		return parse_error(value, &rule->error);
	if (!strcmp(pair, "seed"))
		return parse_number(value, UINT64_MAX, &rule->seed);
	if (!strcmp(pair, "ppm")) {
		ret = parse_number(value, 1000000, &n);
		if (!ret)
			rule->ppm = (uint32_t)n;
		return ret;
	}
	ret = parse_number(value, ULONG_MAX, &n);
	if (ret)
		return ret;
	if (!strcmp(pair, "nth"))
		rule->nth = n;
	else if (!strcmp(pair, "times"))
		rule->times = n;
	else
		return -EINVAL;
	return 0;
}

/* Parses "point:key=value,..." into @point and @rule. @clause is modified. */
static int parse_clause(char *clause, int *point, struct uttm_fault_rule *rule)
{
	char *colon = strchr(clause, ':');
	char *pair, *save;
	int ret;

	if (!colon)
		return -EINVAL;
	*point = parse_point(clause, (size_t)(colon - clause));
	if (*point < 0)
		return *point;
	memset(rule, 0, sizeof(*rule));
	for (pair = strtok_r(colon + 1, ",", &save); pair;
	     pair = strtok_r(NULL, ",", &save)) {
		ret = parse_pair(pair, rule);
		if (ret)
			return ret;
	}
	return 0;
}

int uttm_fault_parse(struct uttm_fault *fault, const char *spec)
{
	struct uttm_fault_rule rules[UTTM_FAULT_NR_POINTS], rule;
	bool armed[UTTM_FAULT_NR_POINTS] = { false };
	char *copy, *clause, *save;
	int point, ret = 0;

	if (!fault || !spec)
		return -EINVAL;
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	/* Parse everything first so that a bad string arms nothing. */
	for (clause = strtok_r(copy, ";", &save); clause && !ret;
	     clause = strtok_r(NULL, ";", &save)) {
		ret = parse_clause(clause, &point, &rule);
		if (!ret) {
			rules[point] = rule;
			armed[point] = true;
		}
	}
	free(copy);
	if (ret)
		return ret;
	for (point = 0; point < UTTM_FAULT_NR_POINTS; point++)
		if (armed[point])
			uttm_fault_arm(fault, point, &rules[point]);
	return 0;
}

int uttm_fault_from_env(struct uttm_fault **out)
{
	const char *spec = getenv("UTTM_FAULT");
	struct uttm_fault *fault;
	int ret;

	if (!out)
		return -EINVAL;
	*out = NULL;
	if (!spec || !*spec)
		return 0;
	ret = uttm_fault_create(&fault);
	if (ret)
		return ret;
	ret = uttm_fault_parse(fault, spec);
	if (ret) {
		uttm_fault_destroy(fault);
		return ret;
	}
	*out = fault;
	return 0;
}
