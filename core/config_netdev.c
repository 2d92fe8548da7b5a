/* -netdev tap|loop: the host side of a virtio-net.
 *
 * A tap comes either by name (ifname=, vmm opens /dev/net/tun; queues=N
 * opens N queues of one IFF_MULTI_QUEUE tap) or as descriptors the
 * launcher opened and let vmm inherit (fd=N, or fds=A:B:... with one tap
 * queue per virtio-net queue pair, the way Kata passes them).  QEMU 7.2's
 * net/tap.c rules for which keys go together are kept, in its words, so a
 * line QEMU refuses is refused here too.  Whether each fd really is a tap
 * is checked when the machine opens it (core/netdev_tap.c): parsing never
 * touches a descriptor. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config_priv.h"

/* "A[:B...]" -> out[], at most CFG_NET_MAX_QUEUES distinct fd numbers. */
static int parse_fd_list(struct cfg_ctx *c, const struct cfg_kv *kv, int *out,
			 unsigned *n)
{
	const char *p = kv->val ? kv->val : "";
	char num[16];

	*n = 0;
	for (;;) {
		size_t len = strcspn(p, ":");
		uint64_t v;

		if (*n == CFG_NET_MAX_QUEUES)
			return cfg_error(c, "%s='%s': at most %d descriptors (vmm's virtio-net has at most %d queue pairs)",
					 kv->key, kv->val, CFG_NET_MAX_QUEUES,
					 CFG_NET_MAX_QUEUES);
		if (len == 0 || len >= sizeof(num))
			return cfg_error(c, "%s='%s' is not a list of fd numbers (accepted: N or N:M:...)",
					 kv->key, kv->val ? kv->val : "");
		memcpy(num, p, len);
		num[len] = '\0';
		if (cfg_uint(c, kv->key, num, 0, 0x7fffffff, &v))
			return -1;
		for (unsigned i = 0; i < *n; i++)
			if (out[i] == (int)v)
				return cfg_error(c, "%s='%s': fd %d is given twice",
						 kv->key, kv->val, (int)v);
		out[(*n)++] = (int)v;
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_one_fd(struct cfg_ctx *c, const struct cfg_kv *kv, int *out)
{
	uint64_t v;

	if (kv->val && strchr(kv->val, ':'))
		return cfg_error(c, "%s='%s': a single fd number (use %ss= for several queues)",
				 kv->key, kv->val, kv->key);
	if (cfg_uint(c, kv->key, kv->val, 0, 0x7fffffff, &v))
		return -1;
	*out = (int)v;
	return 0;
}

struct netdev_seen {
	bool ifname, fd, fds, queues, vhost, vhostfd, vhostfds;
	unsigned nfds;
};

/* QEMU 7.2 net_init_tap's combinations. */
static int check_tap(struct cfg_ctx *c, struct cfg_netdev *n,
		     const struct netdev_seen *s)
{
	if (s->fd && (s->ifname || s->queues || s->fds || s->vhostfds))
		return cfg_error(c, "'%s': ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, fds=, and vhostfds= are invalid with fd=",
				 n->id);
	if (s->fds && (s->ifname || s->queues || s->vhostfd))
		return cfg_error(c, "'%s': ifname=, script=, downscript=, vnet_hdr=, helper=, queues=, and vhostfd= are invalid with fds=",
				 n->id);
	if (s->fds && s->vhostfds && n->nvhostfds != s->nfds)
		return cfg_error(c, "'%s': The number of fds passed does not match the number of vhostfds passed",
				 n->id);
	if (!s->fd && !s->fds && (s->vhostfd || s->vhostfds))
		return cfg_error(c, "'%s': vhostfd=/vhostfds= are invalid if fd=/fds= wasn't specified",
				 n->id);
	if (!n->ifname[0] && n->fd < 0)
		return cfg_error(c, "'%s': tap needs ifname= or fds=", n->id);
	/* QEMU takes vhost=off with a vhostfd and leaves the fd unused; an
	 * accepted option must do what it says, so that is refused. */
	if (s->vhost && !n->vhost && (s->vhostfd || s->vhostfds))
		return cfg_error(c, "'%s': %s= needs vhost=on (vhost=off was given)",
				 n->id, s->vhostfd ? "vhostfd" : "vhostfds");
	if (s->vhostfd || s->vhostfds)
		n->vhost = true;
	if (s->fds)
		n->queues = s->nfds;
	return 0;
}

static int tap_key(struct cfg_ctx *c, struct cfg_netdev *n,
		   const struct cfg_kv *kv, struct netdev_seen *s)
{
	const char *k = kv->key;
	uint64_t v;

	if (!strcmp(k, "ifname")) {
		s->ifname = true;
		return cfg_str(c, "ifname", kv->val, n->ifname, sizeof(n->ifname));
	}
	if (!strcmp(k, "fd")) {
		s->fd = true;
		if (parse_one_fd(c, kv, &n->fd))
			return -1;
		n->fds[0] = n->fd;
		return 0;
	}
	if (!strcmp(k, "fds")) {
		s->fds = true;
		n->fd_list = true;
		if (parse_fd_list(c, kv, n->fds, &s->nfds))
			return -1;
		n->fd = n->fds[0];
		return 0;
	}
	if (!strcmp(k, "vhostfd")) {
		s->vhostfd = true;
		if (parse_one_fd(c, kv, &n->vhostfd))
			return -1;
		n->vhostfds[0] = n->vhostfd;
		n->nvhostfds = 1;
		return 0;
	}
	if (!strcmp(k, "vhostfds")) {
		s->vhostfds = true;
		if (parse_fd_list(c, kv, n->vhostfds, &n->nvhostfds))
			return -1;
		n->vhostfd = n->vhostfds[0];
		return 0;
	}
	if (!strcmp(k, "queues")) {
		s->queues = true;
		if (cfg_uint(c, "queues", kv->val, 1, CFG_NET_MAX_QUEUES, &v))
			return -1;
		n->queues = (unsigned)v;
		return 0;
	}
	if (!strcmp(k, "vhost")) {
		s->vhost = true;
		return cfg_bool(c, kv, &n->vhost);
	}
	if (!strcmp(k, "script") || !strcmp(k, "downscript")) {
		/* vmm runs no helper scripts; "no" is what Kata passes. */
		return kv->val && !strcmp(kv->val, "no") ? 0 :
		       cfg_error(c, "%s='%s' is not supported (accepted: no)",
				 k, kv->val ? kv->val : "");
	}
	return cfg_unknown_key(c, kv,
		"id, ifname, fd, fds, queues, vhost, vhostfd, vhostfds, script, downscript");
}

int cfg_opt_netdev(struct cfg_ctx *c, const char *arg)
{
	struct machine_config *cfg = c->cfg;
	struct netdev_seen seen;
	struct cfg_netdev *n;
	struct cfg_kvlist l;
	const char *type = "";

	if (cfg_kv_split(c, &l, arg, "type"))
		return -1;
	for (unsigned i = 0; i < l.n; i++)
		if (!strcmp(l.kv[i].key, "type") && l.kv[i].val)
			type = l.kv[i].val;
	if (cfg->nnetdevs == CFG_MAX_ITEMS)
		return cfg_error(c, "too many netdevs (at most %d)", CFG_MAX_ITEMS);
	n = &cfg->netdevs[cfg->nnetdevs];
	memset(n, 0, sizeof(*n));
	memset(&seen, 0, sizeof(seen));
	n->fd = -1;
	n->vhostfd = -1;
	n->queues = 1;
	for (unsigned q = 0; q < CFG_NET_MAX_QUEUES; q++)
		n->fds[q] = n->vhostfds[q] = -1;
	if (!strcmp(type, "tap"))
		n->type = CFG_NETDEV_TAP;
	else if (!strcmp(type, "loop"))
		n->type = CFG_NETDEV_LOOP;
	else
		return cfg_error(c, "netdev type '%s' is not supported (accepted: tap, loop)",
				 type);
	for (unsigned i = 0; i < l.n; i++) {
		const struct cfg_kv *kv = &l.kv[i];
		int r;

		if (!strcmp(kv->key, "type"))
			r = 0;
		else if (!strcmp(kv->key, "id"))
			r = cfg_id(c, "id", kv->val, n->id);
		else if (n->type == CFG_NETDEV_TAP)
			r = tap_key(c, n, kv, &seen);
		else
			r = cfg_unknown_key(c, kv, "id");
		if (r)
			return -1;
	}
	if (!n->id[0])
		return cfg_error(c, "'%s': id= is required", type);
	if (n->type == CFG_NETDEV_TAP && check_tap(c, n, &seen))
		return -1;
	cfg->nnetdevs++;
	return 0;
}

int config_add_netdev(struct machine_config *cfg, const char *arg, char *err,
		      size_t errlen)
{
	/* Duplicate ids are among the checks cfg_add_one runs. */
	return cfg_add_one(cfg, "-netdev", cfg_opt_netdev,
			   offsetof(struct machine_config, nnetdevs), "netdev", arg,
			   err, errlen);
}

int config_remove_netdev(struct machine_config *cfg, const char *id)
{
	const struct cfg_netdev *n = id && *id ? config_netdev(cfg, id) : NULL;
	if (!n)
		return -1;
	unsigned k = (unsigned)(n - cfg->netdevs);
	memmove(&cfg->netdevs[k], &cfg->netdevs[k + 1],
		(cfg->nnetdevs - k - 1) * sizeof(cfg->netdevs[0]));
	cfg->nnetdevs--;
	return (int)k;
}
