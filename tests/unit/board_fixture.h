/* Shared by the whole-board simulator tests (test_determinism.c,
 * test_snapshot_equiv.c): a command line built up one printf-formatted
 * argument at a time, as config_parse() takes it, and a fresh directory
 * holding the backing files their machine descriptions name.  Each test
 * keeps its own machines: they differ on purpose.  static inline helpers
 * only; include after <cmocka.h>. */
#ifndef VMM_TESTS_BOARD_FIXTURE_H
#define VMM_TESTS_BOARD_FIXTURE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_ARGS 96

struct args {
	int argc;
	char *argv[MAX_ARGS];   /* NULL-terminated */
	char buf[8192];
	size_t used;
};

/* Append one argument; a description that outgrows the buffers is a bug
 * in the test (abort, also in a child process without cmocka). */
static inline __attribute__((format(printf, 2, 3)))
void arg(struct args *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = a->buf + a->used;
	int n = vsnprintf(p, sizeof(a->buf) - a->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(a->buf) - a->used || a->argc + 1 >= MAX_ARGS)
		abort();
	a->used += (size_t)n + 1;
	a->argv[a->argc++] = p;
	a->argv[a->argc] = NULL;
}

static inline void boardfx_put_file(const char *dir, const char *name,
				    const char *text, off_t size)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(ftruncate(fd, size), 0);
	close(fd);
}

/* dir (a mkdtemp template, rewritten) is created with disk.img (1 MiB)
 * and pmem.img, pmem2.img (2 MiB each), each starting with
 * "<tag>-DISK", "<tag>-PMEM", "<tag>-PMEM2".  -1 if mkdtemp fails. */
static inline int boardfx_dir_make(char *dir, const char *tag)
{
	char text[64];
	if (!mkdtemp(dir))
		return -1;
	snprintf(text, sizeof(text), "%s-DISK", tag);
	boardfx_put_file(dir, "disk.img", text, 1 << 20);
	snprintf(text, sizeof(text), "%s-PMEM", tag);
	boardfx_put_file(dir, "pmem.img", text, 2 << 20);
	snprintf(text, sizeof(text), "%s-PMEM2", tag);
	boardfx_put_file(dir, "pmem2.img", text, 2 << 20);
	return 0;
}

/* Remove the backing files, what the machines write there (COM2's file
 * and the console's), the test's own names (NULL-terminated), then dir. */
static inline void boardfx_dir_remove(const char *dir, const char *const *own)
{
	static const char *const board[] = { "disk.img", "pmem.img", "pmem2.img",
					     "com2.txt", "console.txt", NULL };
	char p[128];
	for (const char *const *n = board; *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *n);
		unlink(p);
	}
	for (const char *const *n = own; n && *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *n);
		unlink(p);
	}
	rmdir(dir);
}

#endif
