/* Logging with levels to stderr or a file (-D).  A struct log is an
 * instance (per machine), never a global; a NULL log discards everything,
 * which is what unit tests pass unless they check messages.
 *
 * Guest-triggerable messages go through log_rl(), a count-based limiter
 * embedded at the call site's owner: the first few messages are printed,
 * then one in every 1024, with the number suppressed. Count-based so the
 * simulator stays deterministic (no clock involved). */
#ifndef VMM_CORE_LOG_H
#define VMM_CORE_LOG_H

#include <stdint.h>
#include <stdio.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_INFO, LOG_DEBUG };

struct log;

/* path NULL: stderr.  Returns NULL on failure to open (errno set). */
struct log *log_new(const char *path, enum log_level level);
void log_free(struct log *log);
void log_set_level(struct log *log, enum log_level level);
enum log_level log_get_level(const struct log *log);
/* Capture into memory (tests): the text of every message, each ending in
 * '\n', NUL-terminated.  NULL if none. */
struct log *log_new_memory(enum log_level level);
const char *log_memory_text(const struct log *log);

void log_msg(struct log *log, enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define LOG_RL_BURST 8u
struct log_rl {
	uint64_t count;
};
void log_rl(struct log *log, struct log_rl *rl, enum log_level level,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#define log_err(l, ...) log_msg((l), LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...) log_msg((l), LOG_WARN, __VA_ARGS__)
#define log_info(l, ...) log_msg((l), LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) log_msg((l), LOG_DEBUG, __VA_ARGS__)

#endif
