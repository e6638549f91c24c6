// SPDX-License-Identifier: MIT
/*
 * The content of `uttm run`: a page reads back as written; any byte
 * changed, in any page, object or version, is caught, for every kind of
 * content; text compresses as source and logs do; the share of
 * same-filled pages is what was asked.
 */
#include <errno.h>
#include <string.h>

#include <lz4.h>

#include "helpers.h"
#include "support/pattern.h"

/* Pages of each test's sample, for the figures that are shares. */
#define SAMPLE 1024

static const struct {
	const char *what;
	enum pattern_content content;
	double same_filled;
} kinds[] = {
	{"random", PATTERN_RANDOM, 0},
	{"text", PATTERN_TEXT, 0},
	{"same-filled", PATTERN_RANDOM, 1},
};

static void init_kind(struct pattern *p, unsigned int kind, uint64_t seed)
{
	pattern_init(p, seed, kinds[kind].content, kinds[kind].same_filled);
}

static void a_page_checks_out_as_written(void **state)
{
	uint64_t page[512];
	struct pattern p;

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
		init_kind(&p, k, 1);
		for (uint64_t index = 0; index < 64; index++) {
			pattern_fill(&p, page, 2, 3, index);
			assert_int_equal(pattern_check(&p, page, 2, 3, index),
					 0);
		}
	}
}

static void every_changed_byte_is_caught(void **state)
{
	unsigned char page[4096];
	struct pattern p;

	for (unsigned int k = 0; k < ARRAY_SIZE(kinds); k++) {
		print_message("%s\n", kinds[k].what);
		init_kind(&p, k, 7);
		pattern_fill(&p, page, 1, 0, 0);
		for (unsigned int i = 0; i < sizeof(page); i++) {
			page[i] ^= 1u << (i % 8);
			assert_int_equal(pattern_check(&p, page, 1, 0, 0), 1);
			page[i] ^= 1u << (i % 8);
		}
		memset(page + 100, 0x55, 200);
		assert_true(pattern_check(&p, page, 1, 0, 0) >= 190);
	}
}

static void other_seeds_objects_versions_and_pages_differ(void **state)
{
	/* Text tokens share characters, so fewer of their bytes differ. */
	static const unsigned int at_least[] = {4000, 2800};
	uint64_t page[512];
	struct pattern p, q;

	for (unsigned int k = 0; k < ARRAY_SIZE(at_least); k++) {
		print_message("%s\n", kinds[k].what);
		init_kind(&p, k, 7);
		init_kind(&q, k, 8);
		for (uint64_t n = 0; n < 64; n++) {
			pattern_fill(&p, page, n, (uint32_t)n, n);
			assert_true(pattern_check(&q, page, n, (uint32_t)n, n) >
				    at_least[k]);
			assert_true(pattern_check(&p, page, n + 1, (uint32_t)n,
						  n) > at_least[k]);
			assert_true(pattern_check(&p, page, n, (uint32_t)n + 1,
						  n) > at_least[k]);
			assert_true(pattern_check(&p, page, n, (uint32_t)n,
						  n + 1) > at_least[k]);
		}
	}
}

/*
 * A same-filled page is told from another of the same byte only by its
 * place, but an object's old version or another object is caught by the
 * pages around it, and most same-filled pages change byte with the
 * version.
 */
static void mixed_content_catches_a_stale_object(void **state)
{
	static unsigned char object[64][4096];
	unsigned int bad = 0, stale_same = 0;
	struct pattern p;

	pattern_init(&p, 3, PATTERN_TEXT, 0.5);
	for (unsigned int i = 0; i < 64; i++)
		pattern_fill(&p, object[i], 9, 1, i);
	for (unsigned int i = 0; i < 64; i++) {
		unsigned int n = pattern_check(&p, object[i], 9, 2, i);

		bad += n;
		stale_same += !n;
		assert_int_equal(pattern_check(&p, object[i], 9, 1, i), 0);
	}
	assert_true(bad > 64 * 2048);
	assert_true(stale_same < 16);
}

static double lz4_ratio(const struct pattern *p)
{
	char page[4096], out[LZ4_COMPRESSBOUND(4096)];
	uint64_t packed = 0;

	for (uint64_t i = 0; i < SAMPLE; i++) {
		pattern_fill(p, page, 1, 0, i);
		packed += (uint64_t)LZ4_compress_default(
			page, out, sizeof(page), sizeof(out));
	}
	return (double)(SAMPLE * sizeof(page)) / (double)packed;
}

static void text_is_words_lz4_packs_2_to_3x_random_not(void **state)
{
	unsigned char page[4096];
	struct pattern p;
	double ratio;

	pattern_init(&p, 5, PATTERN_TEXT, 0);
	pattern_fill(&p, page, 1, 2, 3);
	for (unsigned int i = 0; i < sizeof(page); i++)
		assert_true(
			(page[i] >= 'a' && page[i] <= 'p') ||
			(i % 8 == 7 && (page[i] == ' ' || page[i] == '\n')));
	ratio = lz4_ratio(&p);
	print_message("text: LZ4 %.2fx\n", ratio);
	assert_true(ratio >= 2 && ratio <= 3);
	pattern_init(&p, 5, PATTERN_RANDOM, 0);
	ratio = lz4_ratio(&p);
	print_message("random: LZ4 %.3fx\n", ratio);
	assert_true(ratio < 1.01);
}

static bool page_same_filled(const unsigned char *page)
{
	return !memcmp(page, page + 1, 4095);
}

static void same_filled_share_is_as_asked_half_of_them_zero(void **state)
{
	static const double shares[] = {0, 0.1, 0.5, 1};
	unsigned char page[4096];
	struct pattern p;

	for (unsigned int s = 0; s < ARRAY_SIZE(shares); s++) {
		unsigned int same = 0, zero = 0;

		pattern_init(&p, 11, PATTERN_TEXT, shares[s]);
		for (uint64_t i = 0; i < SAMPLE; i++) {
			pattern_fill(&p, page, i / 64, 0, i % 64);
			same += page_same_filled(page);
			zero += page_same_filled(page) && !page[0];
		}
		print_message("share %.2f: %u same-filled, %u zero of %u\n",
			      shares[s], same, zero, SAMPLE);
		assert_true(same >= (shares[s] - 0.05) * SAMPLE &&
			    same <= (shares[s] + 0.05) * SAMPLE);
		assert_true(zero >= same * 0.4 && zero <= same * 0.6 + 1);
	}
}

static void content_names_read_back(void **state)
{
	enum pattern_content c;

	assert_int_equal(pattern_content_parse("text", &c), 0);
	assert_int_equal(c, PATTERN_TEXT);
	assert_string_equal(pattern_content_name(c), "text");
	assert_int_equal(pattern_content_parse("random", &c), 0);
	assert_int_equal(c, PATTERN_RANDOM);
	assert_int_equal(pattern_content_parse("Text", &c), -EINVAL);
	assert_int_equal(pattern_content_parse("", &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_page_checks_out_as_written),
		cmocka_unit_test(every_changed_byte_is_caught),
		cmocka_unit_test(other_seeds_objects_versions_and_pages_differ),
		cmocka_unit_test(mixed_content_catches_a_stale_object),
		cmocka_unit_test(text_is_words_lz4_packs_2_to_3x_random_not),
		cmocka_unit_test(
			same_filled_share_is_as_asked_half_of_them_zero),
		cmocka_unit_test(content_names_read_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
