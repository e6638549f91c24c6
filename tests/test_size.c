// SPDX-License-Identifier: MIT
/*
 * Sizes in human units, as the tool's options take them: read as
 * util-linux reads them, and written back in binary units.
 */
#include <errno.h>

#include "helpers.h"
#include "support/size.h"

static void binary_and_decimal_units_read_as_util_linux(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{ "4096", 4096 }, { "0", 0 },
		{ "8G", 8ULL << 30 }, { "8g", 8ULL << 30 },
		{ "256m", 256 * MiB }, { "512M", 512 * MiB },
		{ "1K", 1024 }, { "1k", 1024 }, { "1KiB", 1024 },
		{ "1KB", 1000 }, { "1kB", 1000 }, { "1MB", 1000000 },
		{ "2MiB", 2 * MiB }, { "3T", 3ULL << 40 }, { "1E", 1ULL << 60 },
		{ "1EB", 1000000000000000000ULL },
		{ "1.5G", 3ULL << 29 }, { "0.5K", 512 }, { "1.5MB", 1500000 },
		{ "1.0009765625K", 1025 },
		{ "18446744073709551615", UINT64_MAX },
	};

	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		uint64_t bytes = 1;

		assert_int_equal(parse_size(good[i].text, &bytes), 0);
		assert_int_equal(bytes, good[i].bytes);
	}
}

static void anything_else_is_refused(void **state)
{
	static const char *const invalid[] = {
		"", "G", "8X", "8GG", "-1", "+1", "8 G", " 8G", "8G ", "1.5",
		"1.", ".5G", "1.5.5G", "8Gi", "8GIB", "8Gb", "8gb", "1b",
		"0x10", "1e3",
	};
	static const char *const too_big[] = {
		"99999999999999999999", "18446744073709551616", "16E",
		"20000000T", "16.0E", "17179869184G",
	};
	uint64_t bytes = 7;

	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++)
		assert_int_equal(parse_size(invalid[i], &bytes), -EINVAL);
	for (size_t i = 0; i < ARRAY_SIZE(too_big); i++)
		assert_int_equal(parse_size(too_big[i], &bytes), -ERANGE);
	assert_int_equal(parse_size(NULL, &bytes), -EINVAL);
	assert_int_equal(bytes, 7);
}

static void sizes_are_written_in_binary_units(void **state)
{
	static const struct {
		uint64_t bytes;
		const char *text;
	} cases[] = {
		{ 0, "0 B" }, { 512, "512 B" }, { 1024, "1 KiB" },
		{ 256 * MiB, "256 MiB" }, { 3ULL << 29, "1.50 GiB" },
		{ 268435456ULL + 5 * MiB, "261 MiB" },
		{ 12345678, "11.8 MiB" },
	};
	char buf[32];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		assert_string_equal(format_size(buf, sizeof(buf),
						cases[i].bytes),
				    cases[i].text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(binary_and_decimal_units_read_as_util_linux),
		cmocka_unit_test(anything_else_is_refused),
		cmocka_unit_test(sizes_are_written_in_binary_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
