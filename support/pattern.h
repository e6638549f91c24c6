/* SPDX-License-Identifier: MIT */
/*
 * Verifiable content: every page of every object version is a function of
 * (seed, object, version, page) alone, as the kernel's xe shrink test
 * makes its content, so any byte can be checked without keeping a copy,
 * and a page that comes back from the wrong place, object or version
 * fails its check.  Three kinds of page, mixed as asked:
 *
 * - random: incompressible, like media or encrypted data;
 * - text: words of seven letters from a vocabulary of 32, which LZ4
 *   compresses 2-3x page by page, as it does source code and logs;
 * - same-filled: one byte repeated (zero for half of them), the pages
 *   zram, zswap and the compressed store keep without compressing.
 *
 * Filling and checking run at memory speed (the loops vectorise); the
 * check still compares every byte.
 */
#ifndef UTTM_PATTERN_H
#define UTTM_PATTERN_H

#include <stdint.h>

/* What the pages that are not same-filled hold. */
enum pattern_content {
	PATTERN_RANDOM,
	PATTERN_TEXT,
};

/**
 * struct pattern - the content of a run
 * @seed: seed of every page.
 * @content: what pages hold.
 * @same_below: pages whose key's upper half is below it are same-filled;
 * set by pattern_init().
 */
struct pattern {
	uint64_t seed;
	enum pattern_content content;
	uint64_t same_below;
};

/*
 * Content @content from @seed, with a share @same_filled (0 to 1) of the
 * pages same-filled.
 */
void pattern_init(struct pattern *p, uint64_t seed,
		  enum pattern_content content, double same_filled);

/* Fills page @page (UTTM_PAGE_SIZE bytes) of @object, version @version. */
void pattern_fill(const struct pattern *p, void *page, uint64_t object,
		  uint32_t version, uint64_t index);

/* Bytes of the page that differ from what pattern_fill() wrote. */
unsigned int pattern_check(const struct pattern *p, const void *page,
			   uint64_t object, uint32_t version, uint64_t index);

/* "random", "text"; pattern_content_parse() reads them, 0 or -EINVAL. */
const char *pattern_content_name(enum pattern_content content);
int pattern_content_parse(const char *name, enum pattern_content *content);

/* The names, separated by '|', for usage messages. */
const char *pattern_content_names(void);

#endif /* UTTM_PATTERN_H */
