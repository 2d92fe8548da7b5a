/* A simulator board with in-memory backends (sim/sim_board.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blockdev.h"
#include "core/chardev.h"
#include "core/config.h"
#include "core/entropy.h"
#include "core/layout.h"
#include "core/netdev.h"
#include "core/trace.h"
#include "machine/board.h"
#include "sim/sim.h"
#include "sim/sim_board.h"

#define SB_MAX_BK 64
#define SB_DISK_SIZE (1u << 20)

struct sb_priv {
	struct machine_config cfg;
	struct layout l;
	struct board_host host;
	struct { int kind; char id[CFG_ID_MAX]; void *obj; } bk[SB_MAX_BK];
	unsigned nbk;
};

static int sb_backend(void *opaque, int kind, const char *id, void *opened,
		      void **out, char *err, size_t errlen)
{
	struct sb_priv *p = opaque;
	(void)opened;
	for (unsigned i = 0; i < p->nbk; i++)
		if (p->bk[i].kind == kind && !strcmp(p->bk[i].id, id)) {
			*out = p->bk[i].obj;
			return 0;
		}
	if (p->nbk == SB_MAX_BK) {
		snprintf(err, errlen, "sim board: too many backends");
		return -1;
	}
	void *o = NULL;
	switch (kind) {
	case TRACE_BK_BLOCK: {
		const struct cfg_drive *d = config_drive(&p->cfg, id);
		o = blockdev_mem_new(id, SB_DISK_SIZE, d && d->readonly);
		break;
	}
	case TRACE_BK_NET: o = netdev_loop_new(id, false); break;
	case TRACE_BK_ENTROPY: o = entropy_prng_new(id, 1); break;
	case TRACE_BK_CHR: o = chr_mem_new(id, 4096); break;
	default: break;
	}
	if (!o) {
		snprintf(err, errlen, "sim board: backend '%s' kind %d", id, kind);
		return -1;
	}
	p->bk[p->nbk].kind = kind;
	snprintf(p->bk[p->nbk].id, sizeof(p->bk[p->nbk].id), "%s", id);
	p->bk[p->nbk].obj = o;
	p->nbk++;
	*out = o;
	return 0;
}

static void sb_close_backends(struct sb_priv *p)
{
	while (p->nbk) {
		void *o = p->bk[--p->nbk].obj;
		switch (p->bk[p->nbk].kind) {
		case TRACE_BK_BLOCK: blockdev_close(o); break;
		case TRACE_BK_NET: netdev_close(o); break;
		case TRACE_BK_ENTROPY: entropy_close(o); break;
		case TRACE_BK_CHR: chr_close(o); break;
		default: break;
		}
	}
}

struct sim_board *sim_board_new(int argc, char **argv, char *err, size_t errlen)
{
	struct sim_board *sb = calloc(1, sizeof(*sb));
	struct sb_priv *p = calloc(1, sizeof(*p));
	if (!sb || !p) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	sb->priv = p;
	if (config_parse(&p->cfg, argc, argv, err, errlen) != 0 ||
	    layout_build(&p->l, &p->cfg, err, errlen) != 0)
		goto fail;
	struct sim_config sc = { .ram_size = p->l.ram[0].size, .seed = p->cfg.seed };
	sb->s = sim_new(&sc);
	if (!sb->s) {
		snprintf(err, errlen, "sim board: no simulator");
		goto fail;
	}
	p->host = (struct board_host){
		.wall_epoch = 1767225600ll, .backend = sb_backend,
		.backend_opaque = p, .backend_replace = true, .no_host_paths = true,
	};
	if (board_build(&sb->s->m, &p->cfg, &p->l, &p->host, &sb->b, err, errlen) < 0)
		goto fail;
	return sb;
fail:
	sim_board_free(sb);
	return NULL;
}

void sim_board_free(struct sim_board *sb)
{
	if (!sb)
		return;
	board_free(sb->b);
	sim_free(sb->s);
	if (sb->priv) {
		sb_close_backends(sb->priv);
		free(sb->priv);
	}
	free(sb);
}
