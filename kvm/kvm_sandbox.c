/* The seccomp filter a KVM machine installs on its first boot, with the
 * exceptions its configuration needs (kvm/seccomp.c holds the lists). */
#include <stdio.h>

#include "core/layout.h"
#include "core/log.h"
#include "machine/board.h"
#include "kvm/kvm_int.h"
#include "kvm/seccomp.h"

/* Does a client chardev socket reconnect while the guest runs? */
static bool kvm_reconnects(const struct machine_config *cfg)
{
	for (unsigned i = 0; i < cfg->nchardevs; i++)
		if (cfg->chardevs[i].type == CFG_CHR_SOCKET &&
		    !cfg->chardevs[i].server && cfg->chardevs[i].reconnect)
			return true;
	for (unsigned i = 0; i < cfg->nserial; i++)
		if (cfg->serial[i].type == CFG_SERIAL_SOCKET &&
		    !cfg->serial[i].server && cfg->serial[i].reconnect)
			return true;
	/* virtio-vsock: a guest connecting to host port P connects to the
	 * unix socket <uds>_P. */
	for (unsigned i = 0; i < cfg->ndevices; i++)
		if (cfg->devices[i].type == CFG_DEV_VIRTIO_VSOCK)
			return true;
	return false;
}

/* First boot only, before any vCPU runs and before the loop serves the
 * guest: from here on the process keeps to the seccomp allowlist. */
int kvm_machine_sandbox(struct kvm_machine *km,
			       const struct machine_config *cfg, char *err,
			       size_t errlen)
{
	if (cfg->disable_seccomp || km->sandboxed) {
		if (!km->sandboxed)
			log_info(km->m.log, "seccomp: disabled (-disable-seccomp)");
		return 0;
	}
	struct kvm_seccomp_opts so = { .allow_rebuild = !cfg->no_reboot,
				       .allow_cpu_hotplug = board_cpu_possible(cfg) >
							    (cfg->smp.cpus ? cfg->smp.cpus : 1),
				       .allow_unix_connect = kvm_reconnects(cfg),
				       .allow_memhp = layout_memhp(cfg) };
	char msg[256] = "";
	int r = kvm_seccomp_install(&so, msg, sizeof(msg));
	if (r < 0) {
		snprintf(err, errlen, "%s", msg);
		return -1;
	}
	km->sandboxed = r == 0;
	log_info(km->m.log, "%s", msg);
	return 0;
}
