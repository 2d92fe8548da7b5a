/* The QMP protocol engine for one client: framing, negotiation, dispatch,
 * replies and events (docs/interop/qmp-spec.txt, QEMU 7.2 behaviour).
 *
 * Framing follows QEMU's json-streamer: a message ends when its braces and
 * brackets balance (outside strings), so clients may send several commands
 * in one write, split one over many writes, or span lines.  A top-level
 * scalar ends at the next delimiter; a stray '}' or ']' is a message of its
 * own (and a parse error), as in QEMU. */
#include "qmp_priv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"

struct qmp_session {
	const struct qmp_machine_ops *ops;
	void *opaque;
	bool negotiated;
	bool closing;
	/* Framer state over the current, partial message in `in`. */
	struct json_buf in;
	long depth;
	bool in_str, esc, in_scalar;
	struct json_buf out;
	struct qmp_fdtab *fds;
	bool own_fds;
	int pending[QMP_MAX_PENDING_FDS];
	unsigned npending;
};

static void qmp_close_pending(struct qmp_session *s)
{
	for (unsigned i = 0; i < s->npending; i++)
		close(s->pending[i]);
	s->npending = 0;
}

static int qmp_take_pending_fd(struct qmp_session *s)
{
	if (!s->npending)
		return -1;
	return s->pending[--s->npending];
}

static void qmp_out(struct qmp_session *s, const struct json_buf *msg)
{
	if (s->closing)
		return;
	if (msg->oom || s->out.len + msg->len + 2 > QMP_MAX_OUTPUT) {
		/* The client stopped reading (or we are out of memory): dropping
		 * a reply would desynchronise it, so drop the client instead. */
		s->closing = true;
		return;
	}
	json_buf_put(&s->out, msg->data, msg->len);
	json_buf_puts(&s->out, "\r\n");
	if (s->out.oom)
		s->closing = true;
}

static void qmp_greeting(struct qmp_session *s)
{
	struct json_buf b;
	json_buf_init(&b);
	json_buf_printf(&b, "{\"QMP\": {\"version\": {\"qemu\": {\"micro\": %d, "
			"\"minor\": %d, \"major\": %d}, \"package\": \"vmm %s\"}, "
			"\"capabilities\": []}}",
			QMP_QEMU_MICRO, QMP_QEMU_MINOR, QMP_QEMU_MAJOR, VMM_VERSION);
	qmp_out(s, &b);
	json_buf_free(&b);
}

struct qmp_session *qmp_session_new(const struct qmp_machine_ops *ops, void *opaque)
{
	struct qmp_session *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->ops = ops;
	s->opaque = opaque;
	json_buf_init(&s->in);
	json_buf_init(&s->out);
	s->fds = qmp_fdtab_new();
	s->own_fds = true;
	if (!s->fds) {
		free(s);
		return NULL;
	}
	qmp_greeting(s);
	if (s->closing) {
		qmp_session_free(s);
		return NULL;
	}
	return s;
}

void qmp_session_free(struct qmp_session *s)
{
	if (!s)
		return;
	json_buf_free(&s->in);
	json_buf_free(&s->out);
	qmp_close_pending(s);
	if (s->own_fds)
		qmp_fdtab_free(s->fds);
	free(s);
}

void qmp_session_share_fdtab(struct qmp_session *s, struct qmp_fdtab *t)
{
	if (s->own_fds)
		qmp_fdtab_free(s->fds);
	s->fds = t;
	s->own_fds = false;
}

struct qmp_fdtab *qmp_session_fdtab(const struct qmp_session *s) { return s->fds; }
unsigned qmp_session_pending_fds(const struct qmp_session *s) { return s->npending; }

const char *qmp_session_output(const struct qmp_session *s, size_t *len)
{
	*len = s->out.len;
	return s->out.len ? s->out.data : "";
}

void qmp_session_consume(struct qmp_session *s, size_t n)
{
	json_buf_consume(&s->out, n);
}

bool qmp_session_closing(const struct qmp_session *s) { return s->closing; }
bool qmp_session_negotiated(const struct qmp_session *s) { return s->negotiated; }

/* {"id": ID, "error": {...}} -- QEMU puts the id first on errors and last
 * on success; clients do not care, but diffs against QEMU read easier. */
static void qmp_reply_error(struct qmp_session *s, const struct json *id,
			    const char *cls, const char *desc)
{
	struct json_buf b;
	json_buf_init(&b);
	json_buf_puts(&b, "{");
	if (id) {
		json_buf_puts(&b, "\"id\": ");
		json_write(&b, id); /* depth-bounded by the parser */
		json_buf_puts(&b, ", ");
	}
	json_buf_puts(&b, "\"error\": {\"class\": ");
	json_write_str(&b, cls);
	json_buf_puts(&b, ", \"desc\": ");
	json_write_str(&b, desc);
	json_buf_puts(&b, "}}");
	qmp_out(s, &b);
	json_buf_free(&b);
}

static void qmp_reply_return(struct qmp_session *s, const struct json *id,
			     const struct json *ret)
{
	struct json_buf b;
	json_buf_init(&b);
	json_buf_puts(&b, "{\"return\": ");
	if (!ret)
		json_buf_puts(&b, "{}");
	else if (json_write(&b, ret) != 0)
		b.oom = true; /* a handler built something unwritable: host bug */
	if (id) {
		json_buf_puts(&b, ", \"id\": ");
		json_write(&b, id);
	}
	json_buf_puts(&b, "}");
	if (b.oom) {
		json_buf_free(&b);
		qmp_reply_error(s, id, QMP_ERR_GENERIC, "reply could not be formatted");
		return;
	}
	qmp_out(s, &b);
	json_buf_free(&b);
}

/* The request envelope (qmp_dispatch_check_obj in QEMU): members execute,
 * arguments and id; exec-oob is refused because we do not offer the oob
 * capability.  Returns the command name or NULL after replying. */
static const char *qmp_check_envelope(struct qmp_session *s, const struct json *req,
				      const struct json *id, const struct json **args)
{
	const char *cmd = NULL;
	char desc[160];
	*args = NULL;
	for (size_t i = 0; i < json_len(req); i++) {
		const char *key = json_key_at(req, i);
		const struct json *v = json_at(req, i);
		if (strcmp(key, "execute") == 0) {
			if (json_type(v) != JSON_STRING) {
				qmp_reply_error(s, id, QMP_ERR_GENERIC,
						"QMP input member 'execute' must be a string");
				return NULL;
			}
			cmd = json_get_str(v);
		} else if (strcmp(key, "arguments") == 0) {
			if (json_type(v) != JSON_OBJECT) {
				qmp_reply_error(s, id, QMP_ERR_GENERIC,
						"QMP input member 'arguments' must be an object");
				return NULL;
			}
			*args = v;
		} else if (strcmp(key, "id") != 0) {
			snprintf(desc, sizeof(desc), "QMP input member '%.100s' is unexpected", key);
			qmp_reply_error(s, id, QMP_ERR_GENERIC, desc);
			return NULL;
		}
	}
	if (!cmd)
		qmp_reply_error(s, id, QMP_ERR_GENERIC, "QMP input lacks member 'execute'");
	return cmd;
}

static void qmp_dispatch(struct qmp_session *s, const char *text, size_t len)
{
	char perr[128], desc[256];
	struct json *req = json_parse(text, len, perr, sizeof(perr));
	if (!req) {
		snprintf(desc, sizeof(desc), "JSON parse error, %s", perr);
		qmp_reply_error(s, NULL, QMP_ERR_GENERIC, desc);
		return;
	}
	if (json_type(req) != JSON_OBJECT) {
		qmp_reply_error(s, NULL, QMP_ERR_GENERIC, "QMP input must be a JSON object");
		json_free(req);
		return;
	}
	const struct json *id = json_get(req, "id");
	const struct json *args;
	const char *name = qmp_check_envelope(s, req, id, &args);
	if (!name)
		goto out;
	bool is_caps = strcmp(name, "qmp_capabilities") == 0;
	/* qmp-spec.txt §4: until qmp_capabilities, nothing else exists. */
	if (!s->negotiated && !is_caps) {
		qmp_reply_error(s, id, QMP_ERR_NOT_FOUND,
				"Expecting capabilities negotiation with 'qmp_capabilities'");
		goto out;
	}
	if (s->negotiated && is_caps) {
		qmp_reply_error(s, id, QMP_ERR_NOT_FOUND,
				"Capabilities negotiation is already complete, command ignored");
		goto out;
	}
	const struct qmp_cmd *cmd = qmp_cmd_find(name);
	if (!cmd) {
		snprintf(desc, sizeof(desc), "The command %.200s has not been found", name);
		qmp_reply_error(s, id, QMP_ERR_NOT_FOUND, desc);
		goto out;
	}
	struct qmp_call c = {
		.ops = s->ops, .opaque = s->opaque, .negotiated = &s->negotiated,
		.args = args, .fds = s->fds, .sess = s,
		.take_pending_fd = qmp_take_pending_fd,
	};
	qmp_cmd_run(cmd, &c);
	if (c.err_class)
		qmp_reply_error(s, id, c.err_class, c.desc);
	else
		qmp_reply_return(s, id, c.ret);
	json_free(c.ret);
out:
	json_free(req);
}

static void qmp_frame_done(struct qmp_session *s)
{
	qmp_dispatch(s, s->in.data, s->in.len);
	json_buf_reset(&s->in);
	s->depth = 0;
	s->in_str = s->esc = s->in_scalar = false;
}

static bool qmp_is_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int qmp_session_input(struct qmp_session *s, const void *data, size_t len)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < len && !s->closing; i++) {
		unsigned char c = p[i];
		if (s->in_str) {
			json_buf_put(&s->in, &c, 1);
			if (s->esc)
				s->esc = false;
			else if (c == '\\')
				s->esc = true;
			else if (c == '"') {
				s->in_str = false;
				if (s->depth == 0)
					qmp_frame_done(s);
			}
		} else if (qmp_is_ws(c)) {
			if (s->in_scalar && s->depth == 0)
				qmp_frame_done(s);
			else if (s->depth > 0)
				json_buf_put(&s->in, &c, 1);
			continue; /* whitespace between messages is dropped */
		} else {
			bool opens = c == '{' || c == '[' || c == '"';
			if (s->in_scalar && s->depth == 0 && opens)
				qmp_frame_done(s); /* "1{" is two messages */
			json_buf_put(&s->in, &c, 1);
			if (c == '"') {
				s->in_str = true;
			} else if (c == '{' || c == '[') {
				s->depth++;
			} else if (c == '}' || c == ']') {
				/* depth 0: a stray closer, reported as its own error. */
				if (--s->depth <= 0)
					qmp_frame_done(s);
				continue;
			} else if (s->depth == 0) {
				s->in_scalar = true;
			}
		}
		if (s->in.len >= QMP_MAX_MESSAGE || s->in.oom) {
			struct json_buf b;
			json_buf_init(&b);
			json_buf_puts(&b, "{\"error\": {\"class\": \"GenericError\", "
				      "\"desc\": \"JSON token size limit exceeded\"}}");
			qmp_out(s, &b);
			json_buf_free(&b);
			json_buf_free(&s->in);
			s->closing = true;
		}
	}
	/* Only a message still being read may yet claim pending fds (see
	 * qmp_fds.c); a closing session reads nothing more. */
	if (s->in.len == 0 || s->closing)
		qmp_close_pending(s);
	return s->closing ? -1 : 0;
}

int qmp_session_input_fds(struct qmp_session *s, const void *data, size_t len,
			  const int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++) {
		if (s->npending < QMP_MAX_PENDING_FDS && !s->closing)
			s->pending[s->npending++] = fds[i];
		else
			close(fds[i]);
	}
	return qmp_session_input(s, data, len);
}

static bool qmp_event_name_ok(const char *name)
{
	/* QAPI event names: upper case, digits and '_'. */
	if (!name || !*name || strlen(name) > 64)
		return false;
	for (const char *p = name; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

int qmp_event_validate(const char *name, const char *data_json)
{
	if (!qmp_event_name_ok(name))
		return -EINVAL;
	if (data_json) {
		struct json *data = json_parse(data_json, strlen(data_json), NULL, 0);
		bool ok = data && json_type(data) == JSON_OBJECT;
		json_free(data);
		if (!ok)
			return -EINVAL;
	}
	return 0;
}

int qmp_session_event(struct qmp_session *s, const char *name,
		      const char *data_json, uint64_t realtime_ns)
{
	struct json *data = NULL;
	if (!qmp_event_name_ok(name))
		return -EINVAL;
	if (data_json) {
		data = json_parse(data_json, strlen(data_json), NULL, 0);
		if (!data || json_type(data) != JSON_OBJECT) {
			json_free(data);
			return -EINVAL;
		}
	}
	if (s->negotiated && !s->closing) {
		struct json_buf b;
		json_buf_init(&b);
		/* qmp-spec.txt §2.5: timestamp is wall-clock seconds and µs. */
		json_buf_printf(&b, "{\"timestamp\": {\"seconds\": %llu, \"microseconds\": %llu}, "
				"\"event\": \"%s\"",
				(unsigned long long)(realtime_ns / 1000000000u),
				(unsigned long long)(realtime_ns % 1000000000u / 1000u), name);
		if (data) {
			json_buf_puts(&b, ", \"data\": ");
			json_write(&b, data);
		}
		json_buf_puts(&b, "}");
		qmp_out(s, &b);
		json_buf_free(&b);
	}
	json_free(data);
	return 0;
}
