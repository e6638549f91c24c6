/* SPDX-License-Identifier: MIT */
/*
 * Verifiable content: every page of every object version is a stream of a
 * pseudo-random generator seeded by (seed, object, version, page), as the
 * kernel's xe shrink test does, so any byte can be checked without
 * keeping a copy.
 */
#ifndef UTTM_PATTERN_H
#define UTTM_PATTERN_H

#include <stdint.h>

/* Fills page @page (UTTM_PAGE_SIZE bytes) of @object, version @version. */
void pattern_fill(void *page, uint64_t seed, uint64_t object,
		  uint32_t version, uint64_t index);

/* Bytes of the page that differ from what pattern_fill() wrote. */
unsigned int pattern_check(const void *page, uint64_t seed, uint64_t object,
			   uint32_t version, uint64_t index);

/*
 * The same, compressible: the first quarter of each page from the
 * generator, the rest zero, as data with room to spare often is; LZ4
 * keeps little more than that quarter.
 */
void pattern_fill_compressible(void *page, uint64_t seed, uint64_t object,
			       uint32_t version, uint64_t index);
unsigned int pattern_check_compressible(const void *page, uint64_t seed,
					uint64_t object, uint32_t version,
					uint64_t index);

#endif /* UTTM_PATTERN_H */
