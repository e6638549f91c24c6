// SPDX-License-Identifier: MIT
/*
 * Verifiable page content; see pattern.h.  xorshift64* is fast enough to
 * check memory at several GB/s.
 */
#include <uttm/page.h>

#include "support/pattern.h"

#define WORDS (UTTM_PAGE_SIZE / sizeof(uint64_t))

static uint64_t page_seed(uint64_t seed, uint64_t object, uint32_t version,
			  uint64_t index)
{
	uint64_t z = seed ^ (object * 0x9e3779b97f4a7c15ull) ^
		     ((uint64_t)version << 40) ^ (index * 0xbf58476d1ce4e5b9ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31)) | 1;
}

static uint64_t next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

/* The first @random words from the generator, the others zero. */
static void fill(void *page, uint64_t seed, uint64_t object, uint32_t version,
		 uint64_t index, unsigned int random)
{
	uint64_t s = page_seed(seed, object, version, index), *w = page;

	for (unsigned int i = 0; i < WORDS; i++)
		w[i] = i < random ? next(&s) : 0;
}

static unsigned int check(const void *page, uint64_t seed, uint64_t object,
			  uint32_t version, uint64_t index, unsigned int random)
{
	uint64_t s = page_seed(seed, object, version, index);
	const uint64_t *w = page;
	unsigned int bad = 0;

	for (unsigned int i = 0; i < WORDS; i++) {
		uint64_t diff = w[i] ^ (i < random ? next(&s) : 0);

		for (; diff; diff >>= 8)
			bad += (diff & 0xff) != 0;
	}
	return bad;
}

void pattern_fill(void *page, uint64_t seed, uint64_t object,
		  uint32_t version, uint64_t index)
{
	fill(page, seed, object, version, index, WORDS);
}

unsigned int pattern_check(const void *page, uint64_t seed, uint64_t object,
			   uint32_t version, uint64_t index)
{
	return check(page, seed, object, version, index, WORDS);
}

void pattern_fill_compressible(void *page, uint64_t seed, uint64_t object,
			       uint32_t version, uint64_t index)
{
	fill(page, seed, object, version, index, WORDS / 4);
}

unsigned int pattern_check_compressible(const void *page, uint64_t seed,
					uint64_t object, uint32_t version,
					uint64_t index)
{
	return check(page, seed, object, version, index, WORDS / 4);
}
