/* vmm-replay: check a trace recorded with `vmm -trace-record FILE` by
 * running the device models against it in the simulator.
 *
 *   vmm-replay FILE              replay; exit 0 on a match, 1 on a divergence
 *   vmm-replay --dump-dtb FILE OUT   write the machine description (dtc -I dtb)
 *   vmm-replay --list FILE       print every record: number, @offset, what
 *
 * Exit 2: bad usage, or a trace that is unreadable or malformed (the
 * message says what and where), or a machine that cannot be rebuilt. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/trace.h"
#include "sim/replay.h"

static int rm_usage(void)
{
	fprintf(stderr, "usage: vmm-replay FILE\n"
		"       vmm-replay --dump-dtb FILE OUT\n"
		"       vmm-replay --list FILE\n");
	return 2;
}

static int rm_dump_dtb(const struct trace_reader *r, const char *out)
{
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "vmm-replay: cannot create '%s': %s\n", out,
			strerror(errno));
		return 1;
	}
	const uint8_t *p = r->dtb;
	size_t left = r->dtb_size;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "vmm-replay: writing '%s': %s\n", out,
				strerror(n < 0 ? errno : EIO));
			close(fd);
			return 1;
		}
		p += n;
		left -= (size_t)n;
	}
	if (close(fd) < 0) {
		fprintf(stderr, "vmm-replay: writing '%s': %s\n", out, strerror(errno));
		return 1;
	}
	return 0;
}

/* One line per record: number, file offset of its header (the payload
 * follows the 40-byte header), description. */
static void rm_list(const struct trace_reader *r)
{
	char buf[300];
	size_t off = sizeof(struct trace_file_hdr) + ((r->dtb_size + 7u) & ~7u);
	for (size_t i = 0; i < r->nev; i++) {
		replay_describe(r, i, buf, sizeof(buf));
		printf("%zu @%zu %s\n", i, off, buf);
		off += sizeof(struct trace_ev) + ((r->ev[i].size + 7u) & ~7u);
	}
}

int main(int argc, char **argv)
{
	const char *file, *out = NULL;
	bool list = false;
	if (argc == 2 && argv[1][0] != '-') {
		file = argv[1];
	} else if (argc == 4 && !strcmp(argv[1], "--dump-dtb")) {
		file = argv[2];
		out = argv[3];
	} else if (argc == 3 && !strcmp(argv[1], "--list")) {
		file = argv[2];
		list = true;
	} else {
		return rm_usage();
	}
	char err[512] = "";
	struct trace_reader r;
	if (trace_reader_open(&r, file, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 2;
	}
	int rc;
	if (out) {
		rc = rm_dump_dtb(&r, out);
	} else if (list) {
		rm_list(&r);
		rc = 0;
	} else {
		struct log *log = log_new(NULL, LOG_ERROR);
		struct replay_result res;
		if (replay_run(&r, log, &res, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			rc = 2;
		} else if (res.diverged) {
			printf("vmm-replay: divergence at event %zu: %s\n", res.event,
			       res.msg);
			rc = 1;
		} else {
			char end[96] = "";
			if (res.cpu_end)
				snprintf(end, sizeof(end), "; the guest CPU ended the "
					 "run (machine request %llu status %lld)",
					 (unsigned long long)res.cpu_event,
					 (long long)res.cpu_status);
			char boots[64] = "";
			if (res.resets)
				snprintf(boots, sizeof(boots), ", %zu boots (%zu "
					 "resets)", res.resets + 1, res.resets);
			printf("vmm-replay: match: %zu events replayed (%zu bus accesses, "
			       "%zu timer firings and backend deliveries%s)%s%s\n",
			       res.events, res.accesses, res.deliveries, boots, res.partial ?
			       "; the recording stopped early, checked up to there" : "",
			       end);
			rc = 0;
		}
		log_free(log);
	}
	trace_reader_close(&r);
	return rc;
}
