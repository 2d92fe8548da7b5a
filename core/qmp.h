/* QMP, the QEMU Machine Protocol, as Kata's runtime (govmm), libvirt and
 * qmp-shell speak it to QEMU 7.2 (docs/interop/qmp-spec.txt; our subset
 * and the exact replies are in docs/qmp.md).
 *
 * Two layers:
 *  - struct qmp_session: the protocol, transport-free.  Bytes in
 *    (qmp_session_input), bytes out (qmp_session_output/consume).  It
 *    frames JSON messages the way QEMU's json-streamer does (by balancing
 *    braces, not by lines), enforces capabilities negotiation, dispatches
 *    commands to the machine ops and formats replies and events.  It never
 *    reads a clock: event timestamps are passed in.  Unit tests and the
 *    fuzzer drive it directly.
 *  - struct qmp_server: the unix listening socket (-qmp unix:PATH,server,
 *    nowait) on the machine's evloop, one session per connected client.
 *
 * Events come from the machine, not from the commands: the machine's stop
 * op (or a guest shutdown on a vCPU thread) calls qmp_server_emit_event()
 * with "STOP", "SHUTDOWN", ...  Called synchronously from inside an op, the
 * event is sent before the command's reply, which is QEMU's order.
 *
 * Threads: everything runs on the evloop thread or with the machine's big
 * lock held (the lock the evloop was created with).  Ops are called from
 * the loop's fd callback, so with that lock held; an op must not free the
 * server (quit: evloop_stop(), then free after evloop_run returns).
 *
 * Wiring (vmm_main):
 *     struct qmp_machine_ops ops = { .name = cfg->name, .uuid = ...,
 *         .ncpus = ..., .kvm_enabled = true, .stop = vm_stop, ... };
 *     if (cfg->qmp_path[0] &&
 *         !(srv = qmp_server_new(loop, cfg->qmp_path, &ops, vm, log,
 *                                err, sizeof(err))))
 *             fail(err);
 *     ... evloop_run(loop) ...; qmp_server_free(srv);
 * and the machine calls qmp_server_emit_event(srv, "SHUTDOWN", "{...}")
 * etc. where QEMU would (docs/qmp.md lists them). */
#ifndef VMM_CORE_QMP_H
#define VMM_CORE_QMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct evloop;
struct log;

/* What we claim to be: QEMU 7.2.0, the QMP dialect we implement. */
#define QMP_QEMU_MAJOR 7
#define QMP_QEMU_MINOR 2
#define QMP_QEMU_MICRO 0

/* One message (one JSON value) may be at most this long; a longer one
 * gets an error reply and the client is disconnected, since there is no
 * safe place to resynchronise inside a half-read value. */
#define QMP_MAX_MESSAGE (64u * 1024)
/* Replies and events queued for a client that does not read: past this
 * the client is dropped rather than buffered without bound. */
#define QMP_MAX_OUTPUT (1u << 20)
/* Connected clients at once; more wait in the listen backlog. */
#define QMP_MAX_CLIENTS 8
/* Named descriptors a monitor holds (getfd), and the longest name. */
#define QMP_MAX_FDS 64
#define QMP_FD_NAME_MAX 63
/* Descriptors received (SCM_RIGHTS) but not yet claimed by a getfd in
 * the message they came with; more are closed on arrival. */
#define QMP_MAX_PENDING_FDS 16
/* query-cpus-fast lists at most this many CPUs. */
#define QMP_MAX_CPUS 1024

struct qmp_cpu_info {
	int64_t thread_id; /* host TID of the vCPU thread */
	unsigned socket_id, core_id, thread_id_in_core;
	/* Where the CPU sits in QEMU's QOM tree ("" : the -smp CPUs'
	 * /machine/unattached/device[N]); device_add'ed ones are
	 * /machine/peripheral/ID. */
	char qom_path[96];
};

/* A failed device operation: QEMU's error class ("GenericError",
 * "DeviceNotFound") and description. */
struct qmp_err {
	const char *cls;
	char desc[256];
};

struct json;

/* blockdev-add's arguments once checked (QEMU 7.2 qapi/block-core.json
 * BlockdevOptions, the subset we implement): driver raw over a protocol
 * node given inline ({"driver": "file", "filename": ...}) or by name, or
 * a protocol node (file / host_device) alone. */
enum qmp_aio { QMP_AIO_THREADS, QMP_AIO_NATIVE, QMP_AIO_IO_URING };
struct qmp_blockdev {
	const char *node_name;
	const char *driver;     /* "raw", "file" or "host_device" */
	const char *file_ref;   /* raw: "file": "NODE" (filename NULL) */
	const char *proto;      /* inline protocol driver (or = driver) */
	const char *filename;   /* the protocol node's file */
	bool read_only, direct, no_flush;
	enum qmp_aio aio;
};

/* chardev-add of a unix socket (qapi/char.json ChardevSocket). */
struct qmp_chardev {
	const char *id, *path;
	bool server, wait;
};

/* Migration capabilities vmm implements (migrate-set-capabilities). */
#define QMP_MIG_CAP_EVENTS (1u << 0)         /* "events": MIGRATION events */
#define QMP_MIG_CAP_IGNORE_SHARED (1u << 1)  /* "x-ignore-shared" */

/* query-migrate (QEMU 7.2 qapi/migration.json MigrationInfo).  status
 * NULL: no migration has run (the reply is {}). */
struct qmp_migrate_info {
	const char *status;  /* "setup", "active", "completed", "failed" */
	uint64_t setup_ms, total_ms, downtime_ms;
	uint64_t ram_total, ram_transferred, ram_remaining;
	uint64_t ram_normal_pages, ram_duplicate_pages;
	double mbps;
	char error[256];     /* "failed": error-desc */
};

/* Filled in by the machine.  Any op may be NULL: the command then fails
 * with a GenericError "... not supported" (balloon ops: QEMU's
 * DeviceNotActive "No balloon device has been activated").  Ops return 0
 * or a negative errno.  The struct and its strings must outlive every
 * session/server using them. */
struct qmp_machine_ops {
	/* Identity. */
	const char *name;    /* -name; NULL: query-name returns {} */
	const char *uuid;    /* -uuid; NULL: the all-zero UUID */
	unsigned ncpus;      /* boot vCPUs, for query-cpus-fast */
	bool kvm_enabled;    /* accel=kvm (query-kvm "enabled") */
	bool kvm_present;    /* /dev/kvm usable (query-kvm "present") */

	int (*stop)(void *opaque);      /* pause vCPUs; emit STOP */
	int (*cont)(void *opaque);      /* resume; emit RESUME */
	int (*powerdown)(void *opaque); /* ACPI power button; emit POWERDOWN */
	int (*reset)(void *opaque);     /* emit RESET {guest:false,...} */
	int (*quit)(void *opaque);      /* emit SHUTDOWN, stop the loop */
	/* Balloon target in bytes (> 0).  err gets a reason on failure.
	 * Both return -ENODEV when the machine has no balloon device: the
	 * reply is then DeviceNotActive, as with NULL ops. */
	int (*balloon_set)(void *opaque, uint64_t bytes, char *err, size_t errlen);
	int (*balloon_get)(void *opaque, uint64_t *actual);
	/* QEMU RunState name: "running", "paused", "shutdown", ...  NULL op:
	 * "running". */
	const char *(*status)(void *opaque);
	/* CPU index < ncpus (< max_cpus with hot-plug).  NULL op: thread-id
	 * 0, core-id = index.  -ENOENT: a hot-plug slot with no CPU in it
	 * (the topology ids are filled in all the same). */
	int (*cpu_info)(void *opaque, unsigned index, struct qmp_cpu_info *out);
	/* -smp maxcpus (0: ncpus), and QEMU's QOM type of the CPUs, for
	 * query-hotpluggable-cpus (qmp_cpu.c).  NULL type: "host-x86_64-cpu". */
	unsigned max_cpus;
	const char *cpu_type;
	/* Wall-clock time for event timestamps (the server's; sessions get
	 * it as an argument).  NULL: CLOCK_REALTIME. */
	uint64_t (*realtime_ns)(void *opaque);
	/* device_add: opts is the arguments as a -device option string
	 * ("driver=virtio-blk-pci,id=v0,bus=rp0,addr=0x0,drive=d0"), driver
	 * and id (NULL when absent) split out.  0, or -1 with e filled. */
	int (*device_add)(void *opaque, const char *driver, const char *id,
			  const char *opts, struct qmp_err *e);
	/* device_del: ask the guest to release the device; DEVICE_DELETED
	 * comes when it is gone.  0, or -1 with e filled. */
	int (*device_del)(void *opaque, const char *id, struct qmp_err *e);
	/* qom-get of a device property: *out gets the value (the caller
	 * frees it).  0, or -1 with e filled. */
	int (*qom_get)(void *opaque, const char *path, const char *property,
		       struct json **out, struct qmp_err *e);
	/* netdev_add (core/qmp_netdev.c), called twice.  First with check
	 * set: opts names placeholder fd numbers, nothing is taken yet; the
	 * machine checks what QEMU checks before it takes a descriptor (a
	 * duplicate id, which options go together) and changes nothing.
	 * Then with the real numbers, taken from getfd: on success the
	 * machine owns them, on failure the caller closes them.  0, or -1
	 * with e filled. */
	int (*netdev_add)(void *opaque, const char *id, const char *opts,
			  bool check, struct qmp_err *e);
	/* netdev_del: drop the netdev and close its backend.  0, or -1. */
	int (*netdev_del)(void *opaque, const char *id, struct qmp_err *e);
	/* blockdev-add / blockdev-del, chardev-add / chardev-remove: the
	 * arguments are checked (core/qmp_block.c, qmp_chardev.c); the
	 * machine checks names, files and use.  0, or -1 with e filled. */
	int (*blockdev_add)(void *opaque, const struct qmp_blockdev *b,
			    struct qmp_err *e);
	int (*blockdev_del)(void *opaque, const char *node_name, struct qmp_err *e);
	int (*chardev_add)(void *opaque, const struct qmp_chardev *c,
			   struct qmp_err *e);
	int (*chardev_remove)(void *opaque, const char *id, struct qmp_err *e);
	/* query-pci, query-block, query-chardev (what is the command name):
	 * *out gets the reply value (the caller frees it).  NULL op: []. */
	int (*query)(void *opaque, const char *what, struct json **out,
		     struct qmp_err *e);
	/* migrate: start saving to uri ("exec:CMD", "file:PATH"; the op
	 * refuses other protocols, with QEMU's events and wording).  The
	 * save runs on after the reply; query-migrate follows it.  0, or -1
	 * with e filled. */
	int (*migrate)(void *opaque, const char *uri, struct qmp_err *e);
	/* migrate-incoming under -incoming defer.  0, or -1 with e. */
	int (*migrate_incoming)(void *opaque, const char *uri, struct qmp_err *e);
	void (*migrate_query)(void *opaque, struct qmp_migrate_info *out);
	/* The QMP_MIG_CAP_* set; setting may fail (a migration is running). */
	unsigned (*migrate_caps)(void *opaque);
	int (*migrate_set_caps)(void *opaque, unsigned caps, struct qmp_err *e);
	/* Memory hot-plug (issue 17, core/qmp_mem.c).  object-add of a
	 * memory backend: opts is a -object option string
	 * ("memory-backend-ram,id=m1,size=134217728"), checked for QEMU's
	 * argument types already.  object-del: refused while in use.
	 * query-memory-devices: *out gets the reply list.  qom-set of a
	 * device property (virtio-mem requested-size).  0, or -1 with e. */
	int (*object_add)(void *opaque, const char *qom_type, const char *id,
			  const char *opts, struct qmp_err *e);
	int (*object_del)(void *opaque, const char *id, struct qmp_err *e);
	int (*query_memory_devices)(void *opaque, struct json **out,
				    struct qmp_err *e);
	int (*qom_set)(void *opaque, const char *path, const char *property,
		       const struct json *value, struct qmp_err *e);
};

/* ---- named descriptors (getfd/closefd) -------------------------------- */

/* One per monitor (QEMU keeps them per -qmp, across client
 * reconnections: govmm may getfd on one connection and netdev_add on the
 * next).  Free closes every descriptor still held. */
struct qmp_fdtab;
struct qmp_fdtab *qmp_fdtab_new(void);
void qmp_fdtab_free(struct qmp_fdtab *t);
/* Remove the fd named name and hand it to the caller, who then owns it
 * (QEMU's monitor_get_fd).  -ENOENT if there is none. */
int qmp_fdtab_take(struct qmp_fdtab *t, const char *name);
bool qmp_fdtab_has(const struct qmp_fdtab *t, const char *name);
unsigned qmp_fdtab_count(const struct qmp_fdtab *t);

/* ---- the protocol, without a transport -------------------------------- */

struct qmp_session;

/* The greeting is queued as the first output.  NULL on allocation
 * failure. */
struct qmp_session *qmp_session_new(const struct qmp_machine_ops *ops, void *opaque);
void qmp_session_free(struct qmp_session *s);
/* A session starts with its own fd table; a server shares one across its
 * sessions.  The table (not owned) must outlive the session. */
void qmp_session_share_fdtab(struct qmp_session *s, struct qmp_fdtab *t);
struct qmp_fdtab *qmp_session_fdtab(const struct qmp_session *s);

/* Feed client bytes (any split: several messages per call, one message
 * across calls).  Every complete message gets exactly one reply (error
 * replies included).  Returns 0, or -1 once the session is closing
 * (oversized message, output overflow): flush the output, then close. */
int qmp_session_input(struct qmp_session *s, const void *data, size_t len);
/* As qmp_session_input, with descriptors that arrived with these bytes
 * (SCM_RIGHTS).  The session owns them from here: a getfd in the message
 * they came with takes one; the others are closed once no partial
 * message is left. */
int qmp_session_input_fds(struct qmp_session *s, const void *data, size_t len,
			  const int *fds, unsigned nfds);
/* Descriptors received and not yet claimed or closed (tests). */
unsigned qmp_session_pending_fds(const struct qmp_session *s);
/* Pending output (NUL-terminated text, lines end in "\r\n" as QEMU's). */
const char *qmp_session_output(const struct qmp_session *s, size_t *len);
void qmp_session_consume(struct qmp_session *s, size_t n);
bool qmp_session_closing(const struct qmp_session *s);
bool qmp_session_negotiated(const struct qmp_session *s);

/* Queue an event: {"timestamp": {...}, "event": name, "data": data}.
 * data_json is a JSON object text or NULL (no "data").  Dropped silently
 * before negotiation, as QEMU does.  -EINVAL for a bad name or data. */
int qmp_session_event(struct qmp_session *s, const char *name,
		      const char *data_json, uint64_t realtime_ns);

/* ---- the unix socket server -------------------------------------------- */

struct qmp_server;

/* Listen on path.  A stale socket file there is replaced; any other kind
 * of file is an error (we never delete a user's regular file).  log may
 * be NULL.  NULL with a message in err on failure. */
struct qmp_server *qmp_server_new(struct evloop *loop, const char *path,
				  const struct qmp_machine_ops *ops, void *opaque,
				  struct log *log, char *err, size_t errlen);
/* Serve on fd, an inherited socket that is already bound and listening
 * (-qmp unix:fd=N,server=on,wait=off, as Kata passes it): checked to be a
 * listening stream socket, made non-blocking and close-on-exec, owned by
 * the server from then on.  Clients connect by whatever path the caller
 * bound; the file is never removed by us.  NULL with err on failure. */
struct qmp_server *qmp_server_new_fd(struct evloop *loop, int fd,
				     const struct qmp_machine_ops *ops,
				     void *opaque, struct log *log, char *err,
				     size_t errlen);
/* Flushes what it can without blocking, closes every client and removes
 * the socket file (if it is still ours). */
void qmp_server_free(struct qmp_server *srv);

/* Send an event to every negotiated client.  BALLOON_CHANGE and
 * RTC_CHANGE are rate-limited like QEMU's (one a second, the latest held
 * back).  -EINVAL on bad arguments (a host programming error: data_json
 * must be an object). */
int qmp_server_emit_event(struct qmp_server *srv, const char *name,
			  const char *data_json);
unsigned qmp_server_nclients(const struct qmp_server *srv);
/* The monitor's named descriptors (netdev_add fds=... take from it). */
struct qmp_fdtab *qmp_server_fdtab(const struct qmp_server *srv);

#endif
