/* Between kvm_migrate.c (saving and restoring over QMP), kvm_mig_stream.c
 * (what is saved and loaded) and kvm_mig_io.c (the threads that move the
 * bytes).  Not a public interface. */
#ifndef VMM_KVM_KVM_MIG_INT_H
#define VMM_KVM_KVM_MIG_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/clk.h"
#include "core/config.h"

struct kvm_machine;
struct snap_w;
struct spawn;

enum kvm_mig_in {
	KVM_MIG_IN_NONE,     /* no -incoming */
	KVM_MIG_IN_DEFER,    /* waiting for migrate-incoming */
	KVM_MIG_IN_READING,  /* the reader thread runs */
	KVM_MIG_IN_DONE,
};

struct kvm_migrate {
	struct kvm_machine *km;
	struct spawn *spawn;
	unsigned caps;           /* QMP_MIG_CAP_* */
	const char *status;      /* query-migrate's, NULL before the first */
	char uri[CFG_INCOMING_MAX + 8];
	char error[256];
	bool we_paused;          /* the save paused a running VM */
	bool postmigrate;        /* saved, not resumed since */
	bool restoring;          /* this build is loaded from a stream */
	bool autostart;          /* run once loaded (no -S, or cont) */
	bool src_running;        /* the saved VM was running */
	enum kvm_mig_in incoming_state;
	struct clk_timer poll;   /* waiting for the vCPUs to park */
	unsigned polls;
	uint64_t t_start, t_paused, t_setup, t_end;  /* CLOCK_MONOTONIC ns */
	uint64_t ram_total, ram_stream;
	/* Saving: the stream, and how much of it the writer wrote. */
	struct snap_w *w;
	const uint8_t *buf;
	size_t len, len_done;
	atomic_size_t written;
	/* Loading: what the reader read. */
	uint8_t *in_buf;
	size_t in_len;
	/* The I/O thread (writer or reader; one at a time), its result, and
	 * the eventfd it signals the loop with; cancel_fd wakes it. */
	pthread_t thread;
	bool thread_live;
	bool thread_is_reader;
	int efd, cancel_fd;
	int io_rc;
	char io_err[256];
};

uint64_t kvm_mig_now_ns(void);
void kvm_mig_event(struct kvm_migrate *m, const char *status);
uint64_t kvm_mig_ram_bytes(const struct kvm_machine *km);
/* kvm_mig_stream.c: the whole stream for a save (into m->w/buf/len), and
 * loading one into this boot's machine (lock held, no vCPU has run).
 * 0, or -1 with err. */
int kvm_mig_build_stream(struct kvm_migrate *m, char *err, size_t errlen);
int kvm_mig_load_stream(struct kvm_migrate *m, const uint8_t *buf,
			size_t len, char *err, size_t errlen);
/* kvm_mig_io.c */
int kvm_mig_io_init(struct kvm_migrate *m, char *err, size_t errlen);
void kvm_mig_io_stop(struct kvm_migrate *m);
int kvm_mig_writer_start(struct kvm_migrate *m, char *err, size_t errlen);
int kvm_mig_reader_start(struct kvm_migrate *m, char *err, size_t errlen);
size_t kvm_mig_written(struct kvm_migrate *m);
void kvm_mig_release_stream(struct kvm_migrate *m);
/* Called on the loop thread, lock held, when the thread is done. */
void kvm_mig_save_done(struct kvm_migrate *m, int rc, const char *why);
void kvm_mig_load_done(struct kvm_migrate *m, int rc, const char *why);

#endif
