/* libFuzzer target: the vhost-user frontend's parser of what a backend
 * sends.  The input is the backend's whole side of the conversation: it
 * is written into one end of a real socketpair, and the frontend runs its
 * handshake, GET_CONFIG and a device start against it (the backend end
 * shut for writing, so every read ends at once, by data or EOF).  Every
 * outcome is fine except a crash, a hang or a leak; a broken connection
 * must refuse every later request.  The message-level checks are also fed
 * the input directly.  Seeds: fuzz/corpus/vhost_user. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "core/gm.h"
#include "core/log.h"
#include "core/vhost_user.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void direct(const uint8_t *data, size_t size)
{
	static const uint32_t reqs[] = { VHU_GET_FEATURES, VHU_GET_VRING_BASE,
					 VHU_GET_CONFIG, VHU_SET_MEM_TABLE };
	struct vhu_msg m;
	const char *why;
	uint8_t cfg[VHU_CONFIG_MAX];
	if (size < VHU_HDR_SIZE || vhu_msg_parse_hdr(data, &m) < 0)
		return;
	size_t n = size - VHU_HDR_SIZE;
	if (n > m.size)
		n = m.size;
	memcpy(m.payload, data + VHU_HDR_SIZE, n);
	for (unsigned i = 0; i < 4; i++) {
		uint64_t v = 0;
		uint32_t len = (uint32_t)(size % (VHU_CONFIG_MAX + 8));
		if (vhu_msg_check_reply(&m, reqs[i], i == 3, &v, cfg, len, &why) == 0 &&
		    reqs[i] == VHU_GET_CONFIG && len > VHU_CONFIG_MAX)
			abort();   /* an oversized config was accepted */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (size > 32768)
		return 0;
	direct(data, size);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return 0;
	if (size && write(sv[1], data, size) != (ssize_t)size) {
		close(sv[0]);
		close(sv[1]);
		return 0;
	}
	shutdown(sv[1], SHUT_WR);
	struct log *log = log_new_memory(LOG_ERROR);
	struct gm *gm = gm_new();
	struct gm_mmap_spec spec = { .kind = GM_MMAP_MEMFD };
	struct vhu *c = vhu_new_fd(sv[0], "fuzz", log);
	if (!c || !gm || gm_add_mmap(gm, 0, 1 << 16, &spec, 0, "ram") < 0)
		abort();
	vhu_set_timeout(c, 50);
	uint8_t cfg[64];
	if (vhu_handshake(c) == 0) {
		vhu_get_config(c, 0, cfg, sizeof(cfg));
		struct vhu_vring r = { 16, 0x1000, 0x2000, 0x3000, 0 };
		vhu_start(c, gm, 1ull << 32, 1, &r);
		vhu_stop(c);
	}
	if (vhu_is_broken(c) && vhu_get_config(c, 0, cfg, 8) != -1)
		abort();
	vhu_free(c);
	gm_free(gm);
	log_free(log);
	close(sv[1]);
	return 0;
}
