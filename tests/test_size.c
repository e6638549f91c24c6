// SPDX-License-Identifier: MIT
/*
 * Sizes in human units, as the tool's options take them.
 */
#include <errno.h>

#include "helpers.h"
#include "support/size.h"

static void sizes_in_human_units(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{ "4096", 4096 }, { "8G", 8ULL << 30 }, { "512M", 512 * MiB },
		{ "1KiB", 1024 }, { "2MB", 2 * MiB }, { "3T", 3ULL << 40 },
	};
	static const char *const bad[] = {
		"", "G", "8X", "8GG", "-1", "8 G", "99999999999999999999",
		"20000000T",
	};
	uint64_t bytes;

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		assert_int_equal(parse_size(good[i].text, &bytes), 0);
		assert_int_equal(bytes, good[i].bytes);
	}
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		assert_int_equal(parse_size(bad[i], &bytes), -EINVAL);
	assert_int_equal(parse_size(NULL, &bytes), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_in_human_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
