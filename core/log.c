/* Logging: a per-machine instance writing to stderr, a file (-D) or memory
 * (tests).  Messages are formatted once into a line and written with a
 * single call so concurrent threads never interleave within a line. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct log {
	FILE *f;            /* NULL for memory capture */
	bool own_file;
	enum log_level level;
	pthread_mutex_t mu; /* guards the memory buffer and the stream */
	char *mem;
	size_t mem_len, mem_cap;
};

/* Cap on captured text so a test that logs in a loop cannot eat memory;
 * later messages are dropped once the capture is full. */
#define LOG_MEM_MAX (4u << 20)

static const char *const log_level_names[] = {
	[LOG_ERROR] = "error", [LOG_WARN] = "warn",
	[LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

static struct log *log_alloc(enum log_level level)
{
	struct log *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->level = level;
	pthread_mutex_init(&l->mu, NULL);
	return l;
}

struct log *log_new(const char *path, enum log_level level)
{
	struct log *l = log_alloc(level);
	if (!l)
		return NULL;
	if (!path) {
		l->f = stderr;
		return l;
	}
	l->f = fopen(path, "ae");
	if (!l->f) {
		int e = errno;
		pthread_mutex_destroy(&l->mu);
		free(l);
		errno = e;
		return NULL;
	}
	/* Line buffering: a crash still leaves every complete line on disk. */
	setvbuf(l->f, NULL, _IOLBF, 0);
	l->own_file = true;
	return l;
}

struct log *log_new_memory(enum log_level level)
{
	return log_alloc(level);
}

void log_free(struct log *log)
{
	if (!log)
		return;
	if (log->own_file)
		fclose(log->f);
	free(log->mem);
	pthread_mutex_destroy(&log->mu);
	free(log);
}

void log_set_level(struct log *log, enum log_level level)
{
	if (log)
		log->level = level;
}

enum log_level log_get_level(const struct log *log)
{
	return log ? log->level : LOG_ERROR;
}

const char *log_memory_text(const struct log *log)
{
	if (!log || !log->mem)
		return NULL;
	return log->mem;
}

static void log_mem_append(struct log *l, const char *s, size_t n)
{
	if (l->mem_len + n + 1 > LOG_MEM_MAX)
		return;
	if (l->mem_len + n + 1 > l->mem_cap) {
		size_t cap = l->mem_cap ? l->mem_cap : 1024;
		while (cap < l->mem_len + n + 1)
			cap *= 2;
		char *p = realloc(l->mem, cap);
		if (!p)
			return;
		l->mem = p;
		l->mem_cap = cap;
	}
	memcpy(l->mem + l->mem_len, s, n);
	l->mem_len += n;
	l->mem[l->mem_len] = '\0';
}

__attribute__((format(printf, 4, 0)))
static void log_vmsg(struct log *log, enum log_level level, const char *suffix,
		     const char *fmt, va_list ap)
{
	char line[1024];
	int lvl = (int)level;
	if (lvl < 0 || lvl > LOG_DEBUG)
		lvl = LOG_ERROR;
	int n = snprintf(line, sizeof(line), "vmm: %s: ", log_level_names[lvl]);
	if (n < 0)
		return;
	size_t used = (size_t)n;
	int m = vsnprintf(line + used, sizeof(line) - used, fmt, ap);
	if (m < 0)
		return;
	used += (size_t)m;
	if (used > sizeof(line) - 2)
		used = sizeof(line) - 2; /* truncated */
	if (suffix) {
		int k = snprintf(line + used, sizeof(line) - used, "%s", suffix);
		if (k > 0)
			used += (size_t)k;
		if (used > sizeof(line) - 2)
			used = sizeof(line) - 2;
	}
	/* Strip caller-supplied newlines; we add exactly one. */
	while (used > 0 && line[used - 1] == '\n')
		used--;
	line[used++] = '\n';
	line[used] = '\0';

	pthread_mutex_lock(&log->mu);
	if (log->f) {
		fwrite(line, 1, used, log->f);
		fflush(log->f);
	} else {
		log_mem_append(log, line, used);
	}
	pthread_mutex_unlock(&log->mu);
}

void log_msg(struct log *log, enum log_level level, const char *fmt, ...)
{
	if (!log || level > log->level)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(log, level, NULL, fmt, ap);
	va_end(ap);
}

/* Count-based: print the first LOG_RL_BURST, then one in every 1024 with
 * the number suppressed since the last one printed.  No clock, so the
 * simulator's output stays deterministic. */
#define LOG_RL_PERIOD 1024u

void log_rl(struct log *log, struct log_rl *rl, enum log_level level,
	    const char *fmt, ...)
{
	uint64_t n = rl->count++;
	if (!log || level > log->level)
		return;
	char suffix[64];
	const char *sfx = NULL;
	if (n >= LOG_RL_BURST) {
		uint64_t k = n - LOG_RL_BURST + 1;
		if (k % LOG_RL_PERIOD != 0)
			return;
		snprintf(suffix, sizeof(suffix), " (%u similar suppressed)",
			 LOG_RL_PERIOD - 1);
		sfx = suffix;
	} else if (n == LOG_RL_BURST - 1) {
		sfx = " (further messages rate-limited)";
	}
	va_list ap;
	va_start(ap, fmt);
	log_vmsg(log, level, sfx, fmt, ap);
	va_end(ap);
}
