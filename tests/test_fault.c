// SPDX-License-Identifier: MIT
/*
 * The fault injector: rules by call number and by probability, the rule
 * string syntax and the UTTM_FAULT environment variable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

static void nth_and_times_select_consecutive_calls(void **state)
{
	struct uttm_fault_rule rule = { .nth = 3, .times = 2, .error = -EIO };
	struct uttm_fault *f;
	int got[6];

	assert_int_equal(uttm_fault_create(&f), 0);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_BACKUP), 0);
	assert_int_equal(uttm_fault_calls(f, UTTM_FAULT_BACKUP), 0);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_BACKUP, &rule), 0);
	for (int i = 0; i < 6; i++)
		got[i] = uttm_fault_check(f, UTTM_FAULT_BACKUP);
	assert_int_equal(got[0], 0);
	assert_int_equal(got[1], 0);
	assert_int_equal(got[2], -EIO);
	assert_int_equal(got[3], -EIO);
	assert_int_equal(got[4], 0);
	assert_int_equal(uttm_fault_calls(f, UTTM_FAULT_BACKUP), 6);
	/* Other points are untouched; disarming stops failures. */
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_RESTORE), 0);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_BACKUP, &rule), 0);
	uttm_fault_disarm(f, UTTM_FAULT_BACKUP);
	for (int i = 0; i < 4; i++)
		assert_int_equal(uttm_fault_check(f, UTTM_FAULT_BACKUP), 0);
	uttm_fault_destroy(f);
	assert_int_equal(uttm_fault_check(NULL, UTTM_FAULT_BACKUP), 0);
}

static unsigned int count_failures(struct uttm_fault *f, unsigned int calls)
{
	unsigned int failed = 0;

	for (unsigned int i = 0; i < calls; i++)
		failed += uttm_fault_check(f, UTTM_FAULT_RESTORE) != 0;
	return failed;
}

static void probability_is_seeded_and_replayable(void **state)
{
	struct uttm_fault_rule rule = { .ppm = 100000, .seed = 42 };
	struct uttm_fault *f;
	unsigned int a, b;

	assert_int_equal(uttm_fault_create(&f), 0);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_RESTORE, &rule), 0);
	a = count_failures(f, 10000);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_RESTORE, &rule), 0);
	b = count_failures(f, 10000);
	assert_int_equal(a, b);
	assert_in_range(a, 800, 1200);
	uttm_fault_destroy(f);
}

static void rule_string_arms_points(void **state)
{
	struct uttm_fault *f;

	assert_int_equal(uttm_fault_create(&f), 0);
	assert_int_equal(uttm_fault_parse(f, "alloc:nth=2;restore:nth=1,times=2,err=EINTR;backup:err=5,nth=1"), 0);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_PAGE_ALLOC), 0);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_PAGE_ALLOC), -ENOMEM);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_RESTORE), -EINTR);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_RESTORE), -EINTR);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_RESTORE), 0);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_BACKUP), -EIO);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_INSERT), 0);
	uttm_fault_destroy(f);
}

static void malformed_strings_arm_nothing(void **state)
{
	static const char *const bad[] = {
		"alloc", "nope:nth=1", "alloc:nth", "alloc:nth=x", "alloc:zz=1",
		"alloc:err=EWHAT", "alloc:ppm=2000000", "alloc:nth=1;backup",
		"alloc:err=-5", "alloc:nth=-1", "alloc:ppm=x", "alloc:ppm=",
	};
	struct uttm_fault *f;

	assert_int_equal(uttm_fault_create(&f), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(uttm_fault_parse(f, bad[i]), -EINVAL);
		assert_int_equal(uttm_fault_check(f, UTTM_FAULT_PAGE_ALLOC), 0);
	}
	assert_int_equal(uttm_fault_parse(NULL, "alloc:nth=1"), -EINVAL);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_NR_POINTS,
					&(struct uttm_fault_rule){ 0 }),
			 -EINVAL);
	assert_int_equal(uttm_fault_arm(f, UTTM_FAULT_BACKUP,
					&(struct uttm_fault_rule){ .error = 5 }),
			 -EINVAL);
	uttm_fault_destroy(f);
	assert_int_equal(uttm_fault_create(NULL), -EINVAL);
}

/* Arms "restore" to fail with @err and returns what its first call gets. */
static int injected(struct uttm_fault *f, const char *err)
{
	char spec[64];

	snprintf(spec, sizeof(spec), "restore:nth=1,err=%s", err);
	assert_int_equal(uttm_fault_parse(f, spec), 0);
	return uttm_fault_check(f, UTTM_FAULT_RESTORE);
}

static void every_errno_name_of_the_c_library_parses(void **state)
{
	struct uttm_fault *f;
	int names = 0;

	assert_int_equal(uttm_fault_create(&f), 0);
	for (int n = 1; n <= 4095; n++) {
		const char *name = strerrorname_np(n);

		if (!name)
			continue;
		assert_int_equal(injected(f, name), -n);
		names++;
	}
	assert_true(names > 100);
	assert_int_equal(injected(f, "EPERM"), -EPERM);
	assert_int_equal(injected(f, "E2BIG"), -E2BIG);
	assert_int_equal(injected(f, "EWOULDBLOCK"), -EAGAIN);
	assert_int_equal(injected(f, "ENOTSUP"), -EOPNOTSUPP);
	assert_int_equal(injected(f, "4095"), -4095);
	assert_int_equal(uttm_fault_parse(f, "restore:err=4096"), -EINVAL);
	assert_int_equal(uttm_fault_parse(f, "restore:err=E"), -EINVAL);
	assert_int_equal(uttm_fault_parse(f, "restore:err=eperm"), -EINVAL);
	uttm_fault_destroy(f);
}

static void unknown_point_is_refused(void **state)
{
	struct uttm_fault *f;

	assert_int_equal(uttm_fault_create(&f), 0);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_NR_POINTS), -EINVAL);
	assert_int_equal(uttm_fault_check(f, (enum uttm_fault_point)-1),
			 -EINVAL);
	assert_int_equal(uttm_fault_calls(f, UTTM_FAULT_NR_POINTS), 0);
	uttm_fault_destroy(f);
}

static void environment_variable_creates_an_injector(void **state)
{
	struct uttm_fault *f;

	unsetenv("UTTM_FAULT");
	assert_int_equal(uttm_fault_from_env(&f), 0);
	assert_null(f);
	setenv("UTTM_FAULT", "insert:nth=1", 1);
	assert_int_equal(uttm_fault_from_env(&f), 0);
	assert_non_null(f);
	assert_int_equal(uttm_fault_check(f, UTTM_FAULT_INSERT), -ENOMEM);
	uttm_fault_destroy(f);
	setenv("UTTM_FAULT", "insert:bogus", 1);
	assert_int_equal(uttm_fault_from_env(&f), -EINVAL);
	assert_null(f);
	unsetenv("UTTM_FAULT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(nth_and_times_select_consecutive_calls),
		cmocka_unit_test(probability_is_seeded_and_replayable),
		cmocka_unit_test(rule_string_arms_points),
		cmocka_unit_test(malformed_strings_arm_nothing),
		cmocka_unit_test(every_errno_name_of_the_c_library_parses),
		cmocka_unit_test(unknown_point_is_refused),
		cmocka_unit_test(environment_variable_creates_an_injector),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
