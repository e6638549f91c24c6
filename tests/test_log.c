// SPDX-License-Identifier: MIT
/*
 * The log hook: messages go to stderr by default, to the hook a program
 * sets with its data and level, nowhere with a NULL hook, and back to
 * stderr with uttm_log_stderr().
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uttm/log.h>
#include <uttm/shrinker.h>

#include "helpers.h"

struct captured {
	unsigned int calls;
	enum uttm_log_level level;
	char message[256];
};

static void capture(enum uttm_log_level level, const char *message,
		    void *data)
{
	struct captured *c = data;

	c->calls++;
	c->level = level;
	snprintf(c->message, sizeof(c->message), "%s", message);
}

/* Misuse the API once: a NULL context is warned about and refused. */
static void misuse(void)
{
	assert_int_equal(uttm_shrinker_count(NULL), 0);
}

/* What misuse() writes to stderr, read back through a pipe. */
static size_t stderr_of_misuse(char *buf, size_t size)
{
	int fds[2], saved = dup(STDERR_FILENO);
	ssize_t n;

	assert_int_equal(pipe(fds), 0);
	fflush(stderr);
	dup2(fds[1], STDERR_FILENO);
	misuse();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, size - 1);
	close(fds[0]);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

static void messages_go_to_stderr_by_default(void **state)
{
	char out[512];

	assert_true(stderr_of_misuse(out, sizeof(out)) > 0);
	assert_non_null(strstr(out, "uttm: warning at "));
	assert_non_null(strstr(out, "!ctx"));
}

static void a_hook_gets_each_message_with_its_data(void **state)
{
	struct captured c = { 0 };
	char out[512];

	uttm_set_log(capture, &c);
	assert_int_equal(stderr_of_misuse(out, sizeof(out)), 0);
	assert_int_equal(c.calls, 1);
	assert_int_equal(c.level, UTTM_LOG_WARNING);
	assert_non_null(strstr(c.message, "!ctx"));
	assert_null(strchr(c.message, '\n'));
	uttm_set_log(uttm_log_stderr, NULL);
}

static void null_hook_silences_and_stderr_comes_back(void **state)
{
	char out[512];

	uttm_set_log(NULL, NULL);
	assert_int_equal(stderr_of_misuse(out, sizeof(out)), 0);
	uttm_set_log(uttm_log_stderr, NULL);
	assert_true(stderr_of_misuse(out, sizeof(out)) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(messages_go_to_stderr_by_default),
		cmocka_unit_test(a_hook_gets_each_message_with_its_data),
		cmocka_unit_test(null_hook_silences_and_stderr_comes_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
