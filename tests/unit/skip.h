/* A cmocka skip that says why.  cmocka's skip() prints only the test's
 * name, so a skipped test would scroll past unexplained; ci/run-tests.sh
 * pairs the "SKIP: reason" line this prints with cmocka's "[  SKIPPED ]"
 * line, counts it and prints it under the closing summary.  Include it
 * after <cmocka.h>. */
#ifndef VMM_TESTS_SKIP_H
#define VMM_TESTS_SKIP_H

#define SKIP_BECAUSE(...)                                   \
	do {                                                \
		print_message("SKIP: " __VA_ARGS__);        \
		print_message("\n");                        \
		skip();                                     \
	} while (0)

#endif
