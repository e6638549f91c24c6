// SPDX-License-Identifier: MIT
/*
 * The content checks of `uttm run`: a page reads back as written, and any
 * byte changed, in any page, object or version, is caught.
 */
#include <string.h>

#include "helpers.h"
#include "support/pattern.h"

static void a_page_checks_out_as_written(void **state)
{
	uint64_t page[512];

	pattern_fill(page, 1, 2, 3, 4);
	assert_int_equal(pattern_check(page, 1, 2, 3, 4), 0);
}

static void every_changed_byte_is_caught(void **state)
{
	unsigned char page[4096];

	pattern_fill(page, 7, 1, 0, 0);
	for (unsigned int i = 0; i < sizeof(page); i += 97) {
		page[i] ^= 0x40;
		assert_int_equal(pattern_check(page, 7, 1, 0, 0), 1);
		page[i] ^= 0x40;
	}
	memset(page + 100, 0, 200);
	assert_true(pattern_check(page, 7, 1, 0, 0) >= 190);
}

static void other_objects_versions_and_pages_differ(void **state)
{
	uint64_t page[512];

	pattern_fill(page, 7, 1, 0, 0);
	assert_true(pattern_check(page, 8, 1, 0, 0) > 4000);
	assert_true(pattern_check(page, 7, 2, 0, 0) > 4000);
	assert_true(pattern_check(page, 7, 1, 1, 0) > 4000);
	assert_true(pattern_check(page, 7, 1, 0, 1) > 4000);
}

static void compressible_pages_check_out_and_catch_changes(void **state)
{
	unsigned char page[4096];

	pattern_fill_compressible(page, 3, 1, 2, 5);
	assert_int_equal(pattern_check_compressible(page, 3, 1, 2, 5), 0);
	/* Three quarters zero, the quarter before them not. */
	for (unsigned int i = 1024; i < sizeof(page); i++)
		assert_int_equal(page[i], 0);
	assert_true(pattern_check(page, 3, 1, 2, 5) > 2000);
	page[3000] = 1;
	assert_int_equal(pattern_check_compressible(page, 3, 1, 2, 5), 1);
	page[3000] = 0;
	page[10] ^= 1;
	assert_int_equal(pattern_check_compressible(page, 3, 1, 2, 5), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_page_checks_out_as_written),
		cmocka_unit_test(every_changed_byte_is_caught),
		cmocka_unit_test(other_objects_versions_and_pages_differ),
		cmocka_unit_test(compressible_pages_check_out_and_catch_changes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
