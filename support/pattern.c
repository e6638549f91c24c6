// SPDX-License-Identifier: MIT
/*
 * Verifiable content; see pattern.h.
 *
 * A page's 64-bit key mixes (seed, object, version, index) one after the
 * other, so that no two of them share a key but by a 64-bit collision.
 * What a page holds is then a counter-based generator, as Philox and
 * Squares are: 32-bit word j is a keyed bijection of j alone, two rounds
 * of multiply and xorshift with one half of the key in each.  No word
 * depends on the one before, so filling and checking are loops the
 * compiler vectorises, where a serial generator (xorshift64*, 1.2 GB/s)
 * made the checker the bottleneck of every run it measured.  Within a
 * page the words are distinct; across keys a word matches by chance, so
 * a page from anywhere else differs in nearly every byte.
 *
 * The check compares all words and only counts the bytes that differ
 * when some do, by making the expected page.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include <uttm/page.h>

#include "support/pattern.h"

#define LANES (UTTM_PAGE_SIZE / sizeof(uint32_t))
#define WORDS (UTTM_PAGE_SIZE / 8)

/*
 * x86-64's baseline (SSE2) has no 32-bit vector multiply: the loops are
 * also built for AVX2, and the loader picks what the CPU has.
 */
#if defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTORISED __attribute__((target_clones("avx2", "default")))
#endif
#endif
#ifndef VECTORISED
#define VECTORISED
#endif

static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t page_key(const struct pattern *p, uint64_t object,
			 uint32_t version, uint64_t index)
{
	return mix64(mix64(mix64(mix64(p->seed) ^ object) ^ version) ^ index);
}

/* Word @j of the page whose key halves are @a and @b. */
static inline uint32_t lane(uint32_t j, uint32_t a, uint32_t b)
{
	uint32_t x = (j ^ a) * 0x7feb352du;

	x ^= x >> 15;
	x = (x ^ b) * 0x846ca68bu;
	return x ^ (x >> 16);
}

/*
 * Text is words of seven letters and a space or a line break, 32 words in
 * all, computed rather than looked up so that the loops stay vectors.
 * Repeated 8-byte words are what LZ4 finds in source and logs: it
 * compresses a page of them about 2.5x, as it does a page of those.
 * Word @word is the two 32-bit halves below.
 */
static inline uint32_t letters(uint32_t bits)
{
	return (bits & 0x0f0f0f0fu) + 0x61616161u; /* 'a' to 'p' */
}

static inline uint32_t word_start(uint32_t word)
{
	return letters((word + 1) * 0x9e3779b1u);
}

static inline uint32_t word_end(uint32_t word)
{
	uint32_t space = word < 4 ? '\n' : ' ';

	return (letters(((word + 1) * 0x9e3779b1u) >> 4) & 0x00ffffffu) |
	       space << 24;
}

VECTORISED static void fill_random(uint32_t *w, uint32_t a, uint32_t b)
{
	for (uint32_t j = 0; j < LANES; j++)
		w[j] = lane(j, a, b);
}

/* The bits that differ from the random page, folded into one word. */
VECTORISED static uint32_t diff_random(const uint32_t *w, uint32_t a,
				       uint32_t b)
{
	uint32_t diff = 0;

	for (uint32_t j = 0; j < LANES; j++)
		diff |= w[j] ^ lane(j, a, b);
	return diff;
}

VECTORISED static void fill_text(uint32_t *w, uint32_t a, uint32_t b)
{
	for (uint32_t j = 0; j < WORDS; j++) {
		uint32_t word = lane(j, a, b) >> 27;

		w[2 * j] = word_start(word);
		w[2 * j + 1] = word_end(word);
	}
}

VECTORISED static uint32_t diff_text(const uint32_t *w, uint32_t a, uint32_t b)
{
	uint32_t diff = 0;

	for (uint32_t j = 0; j < WORDS; j++) {
		uint32_t word = lane(j, a, b) >> 27;

		diff |= (w[2 * j] ^ word_start(word)) |
			(w[2 * j + 1] ^ word_end(word));
	}
	return diff;
}

VECTORISED static uint32_t diff_same(const uint32_t *w, uint32_t fill)
{
	uint32_t diff = 0;

	for (uint32_t j = 0; j < LANES; j++)
		diff |= w[j] ^ fill;
	return diff;
}

void pattern_init(struct pattern *p, uint64_t seed,
		  enum pattern_content content, double same_filled)
{
	p->seed = seed;
	p->content = content;
	p->same_below = (uint64_t)(same_filled * 4294967296.0);
}

static bool same_filled(const struct pattern *p, uint64_t key)
{
	return (key >> 32) < p->same_below;
}

/* The byte a same-filled page repeats: zero for half of them. */
static unsigned char same_byte(uint64_t key)
{
	return key & 1 ? 0 : (unsigned char)(key >> 8);
}

static void fill_key(const struct pattern *p, void *page, uint64_t key)
{
	uint32_t a = (uint32_t)key, b = (uint32_t)(key >> 32);

	if (same_filled(p, key))
		memset(page, same_byte(key), UTTM_PAGE_SIZE);
	else if (p->content == PATTERN_TEXT)
		fill_text(page, a, b);
	else
		fill_random(page, a, b);
}

void pattern_fill(const struct pattern *p, void *page, uint64_t object,
		  uint32_t version, uint64_t index)
{
	fill_key(p, page, page_key(p, object, version, index));
}

static bool differs(const struct pattern *p, const void *page, uint64_t key)
{
	uint32_t a = (uint32_t)key, b = (uint32_t)(key >> 32);

	if (same_filled(p, key))
		return diff_same(page, 0x01010101u * same_byte(key));
	if (p->content == PATTERN_TEXT)
		return diff_text(page, a, b);
	return diff_random(page, a, b);
}

unsigned int pattern_check(const struct pattern *p, const void *page,
			   uint64_t object, uint32_t version, uint64_t index)
{
	uint64_t key = page_key(p, object, version, index);
	unsigned char expected[UTTM_PAGE_SIZE];
	const unsigned char *got = page;
	unsigned int bad = 0;

	if (!differs(p, page, key))
		return 0;
	fill_key(p, expected, key);
	for (unsigned int i = 0; i < UTTM_PAGE_SIZE; i++)
		bad += got[i] != expected[i];
	return bad;
}

static const char *const content_names[] = {
	[PATTERN_RANDOM] = "random",
	[PATTERN_TEXT] = "text",
};

const char *pattern_content_name(enum pattern_content content)
{
	return content_names[content];
}

int pattern_content_parse(const char *name, enum pattern_content *content)
{
	for (unsigned int i = 0;
	     i < sizeof(content_names) / sizeof(*content_names); i++) {
		if (!strcmp(name, content_names[i])) {
			*content = (enum pattern_content)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *pattern_content_names(void)
{
	return "random|text";
}
