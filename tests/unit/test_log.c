/* log: levels, memory capture, file output, rate limiter. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core/log.h"

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		n += *s == '\n';
	return n;
}

static void test_levels(void **state)
{
	(void)state;
	struct log *l = log_new_memory(LOG_WARN);
	assert_null(log_memory_text(l));
	assert_int_equal(log_get_level(l), LOG_WARN);
	log_info(l, "hidden %d", 1);
	log_debug(l, "hidden");
	assert_null(log_memory_text(l));
	log_err(l, "boom %d", 42);
	log_warn(l, "careful\n");
	assert_string_equal(log_memory_text(l),
			    "vmm: error: boom 42\nvmm: warn: careful\n");
	log_set_level(l, LOG_DEBUG);
	log_debug(l, "now %s", "visible");
	assert_non_null(strstr(log_memory_text(l), "debug: now visible\n"));
	/* A level beyond DEBUG is more verbose than anything: filtered. */
	log_msg(l, (enum log_level)77, "odd level");
	assert_null(strstr(log_memory_text(l), "odd level"));
	/* Over-long messages are truncated, still one line. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	size_t before = count_lines(log_memory_text(l));
	log_err(l, "%s", big);
	assert_int_equal(count_lines(log_memory_text(l)), before + 1);
	log_free(l);
}

static void test_null_log(void **state)
{
	(void)state;
	struct log_rl rl = { 0 };
	log_err(NULL, "nothing %d", 1);
	log_rl(NULL, &rl, LOG_ERROR, "nothing");
	assert_int_equal(rl.count, 1);
	assert_int_equal(log_get_level(NULL), LOG_ERROR);
	log_set_level(NULL, LOG_DEBUG);
	assert_null(log_memory_text(NULL));
	log_free(NULL);
}

static void test_file(void **state)
{
	(void)state;
	char path[] = "/tmp/vmm-test-log-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct log *l = log_new(path, LOG_INFO);
	assert_non_null(l);
	log_info(l, "to file %u", 7u);
	log_debug(l, "not this");
	log_free(l);
	FILE *f = fopen(path, "r");
	char line[128] = { 0 };
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "vmm: info: to file 7\n");
	assert_null(fgets(line, sizeof(line), f));
	fclose(f);
	unlink(path);
	assert_null(log_new("/nonexistent-dir/x/y.log", LOG_INFO));
	struct log *e = log_new(NULL, LOG_ERROR);
	assert_non_null(e);
	log_info(e, "not printed: below level");
	log_free(e);
}

static void test_rate_limit(void **state)
{
	(void)state;
	struct log *l = log_new_memory(LOG_DEBUG);
	struct log_rl rl = { 0 };
	for (unsigned i = 0; i < LOG_RL_BURST; i++)
		log_rl(l, &rl, LOG_WARN, "bad thing %u", i);
	assert_int_equal(count_lines(log_memory_text(l)), LOG_RL_BURST);
	assert_non_null(strstr(log_memory_text(l), "rate-limited"));
	/* The next 1023 are suppressed, the 1024th printed with a count. */
	for (unsigned i = 0; i < 1023; i++)
		log_rl(l, &rl, LOG_WARN, "bad thing");
	assert_int_equal(count_lines(log_memory_text(l)), LOG_RL_BURST);
	log_rl(l, &rl, LOG_WARN, "bad thing again");
	assert_int_equal(count_lines(log_memory_text(l)), LOG_RL_BURST + 1);
	assert_non_null(strstr(log_memory_text(l), "again (1023 similar suppressed)"));
	for (unsigned i = 0; i < 1024 * 10; i++)
		log_rl(l, &rl, LOG_WARN, "flood");
	assert_int_equal(count_lines(log_memory_text(l)), LOG_RL_BURST + 11);
	/* A level the log filters still counts. */
	struct log_rl rl2 = { 0 };
	log_set_level(l, LOG_ERROR);
	log_rl(l, &rl2, LOG_DEBUG, "filtered");
	assert_int_equal(rl2.count, 1);
	log_free(l);
}

static void test_memory_cap(void **state)
{
	(void)state;
	struct log *l = log_new_memory(LOG_DEBUG);
	char msg[900];
	memset(msg, 'y', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	for (int i = 0; i < 6000; i++)
		log_err(l, "%s", msg);
	size_t len = strlen(log_memory_text(l));
	assert_true(len <= (4u << 20));
	assert_true(len > (3u << 20));
	log_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_null_log),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_memory_cap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
