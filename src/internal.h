/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the library's source files and never exported.
 */
#ifndef UTTM_INTERNAL_H
#define UTTM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define DIV_ROUND_UP(n, d) (((n) + (d) - 1) / (d))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * API misuse is reported on stderr, with the place that caught it, and
 * then refused (usually with -EINVAL) instead of crashing the caller.
 */
void __uttm_warn(const char *file, int line, const char *cond);

#define UTTM_WARN_ON(cond)                                              \
	({                                                              \
		bool __warn = !!(cond);                                 \
		if (unlikely(__warn))                                   \
			__uttm_warn(__FILE__, __LINE__, #cond);           \
		unlikely(__warn);                                       \
	})

/* Index of the highest set bit of a non-zero value, as the kernel's __fls(). */
static inline unsigned int uttm_fls(unsigned long x)
{
	return (unsigned int)(8 * sizeof(x) - 1 - (unsigned int)__builtin_clzl(x));
}

#endif /* UTTM_INTERNAL_H */
