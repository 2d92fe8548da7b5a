/* PCI Standard Hot-Plug Controller on a pci-bridge: see shpc.h.  Register
 * layout from SHPC 1.0 §5.2, commands from §4.3, the capability from
 * §5.1; the slot and interrupt behaviour follows QEMU's hw/pci/shpc.c,
 * which is what Linux's shpchp has been tested against. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "shpc.h"

#define EV_ALL (SHPC_EV_PRESENCE | SHPC_EV_ISO_FAULT | SHPC_EV_BUTTON | \
		SHPC_EV_MRL | SHPC_EV_CONN_FAULT)

struct shpc {
	struct pci_bridge *br;
	struct pci_dev *dev;
	unsigned cap;
	/* The working register set and how guest writes act on it. */
	uint8_t regs[SHPC_REGS_SIZE];
	uint8_t wmask[SHPC_REGS_SIZE];
	uint8_t w1c[SHPC_REGS_SIZE];
	struct pci_dev *child[SHPC_NSLOTS];
	bool pending[SHPC_NSLOTS];
	shpc_removed_fn removed;
	void *removed_opaque;
};

static uint32_t rd(const struct shpc *s, unsigned off, unsigned len)
{
	uint32_t v = 0;
	for (unsigned i = 0; i < len && off + i < SHPC_REGS_SIZE; i++)
		v |= (uint32_t)s->regs[off + i] << (8 * i);
	return v;
}

static void wr_raw(struct shpc *s, unsigned off, unsigned len, uint32_t v)
{
	for (unsigned i = 0; i < len && off + i < SHPC_REGS_SIZE; i++)
		s->regs[off + i] = (uint8_t)(v >> (8 * i));
}

static uint16_t sts(const struct shpc *s, unsigned i)
{
	return (uint16_t)rd(s, SHPC_SLOT(i), 2);
}

static unsigned sts_field(const struct shpc *s, unsigned i, unsigned shift)
{
	return (sts(s, i) >> shift) & 3u;
}

static void sts_update(struct shpc *s, unsigned i, uint16_t clear, uint16_t set)
{
	wr_raw(s, SHPC_SLOT(i), 2, (uint16_t)((sts(s, i) & ~clear) | set));
}

static void sts_set_field(struct shpc *s, unsigned i, unsigned shift, unsigned v)
{
	sts_update(s, i, (uint16_t)(3u << shift), (uint16_t)(v << shift));
}

static void latch(struct shpc *s, unsigned i, uint8_t ev)
{
	s->regs[SHPC_SLOT(i) + SHPC_SLOT_EVENTS] |= ev;
}

/* §5.2.7: the Interrupt Locator shows which sources have an unmasked
 * event pending; the controller interrupt is asserted while any does and
 * the global mask (Controller SERR-INT bit 0) is clear.  INTx is a level. */
static void update(struct shpc *s)
{
	uint32_t loc = 0;
	for (unsigned i = 0; i < SHPC_NSLOTS; i++) {
		uint8_t ev = s->regs[SHPC_SLOT(i) + SHPC_SLOT_EVENTS];
		uint8_t mask = s->regs[SHPC_SLOT(i) + SHPC_SLOT_MASK];
		if (ev & ~mask & EV_ALL)
			loc |= 1u << (i + 1);
	}
	uint32_t si = rd(s, SHPC_SERR_INT, 4);
	if ((si & SHPC_SERRINT_CMD_DETECTED) && !(si & SHPC_SERRINT_CMD_INT_MASK))
		loc |= SHPC_INT_CMD;
	wr_raw(s, SHPC_INT_LOCATOR, 4, loc);
	pci_set_irq(s->dev, loc && !(si & SHPC_SERRINT_INT_MASK));
	/* Keep the capability's DWORD Data showing the selected register. */
	unsigned sel = pci_cfg_get8(s->dev, s->cap + SHPC_CAP_SELECT);
	pci_cfg_set32(s->dev, s->cap + SHPC_CAP_DATA,
		      sel * 4u < SHPC_REGS_SIZE ? rd(s, sel * 4u, 4) : 0);
}

/* The slot empties: the device goes to the owner, the MRL reads open and
 * the slot empty, the guest is told (§4.2.4: the latches for what
 * changed). */
static void slot_release(struct shpc *s, unsigned i)
{
	struct pci_dev *c = s->child[i];
	pci_bridge_detach(s->br, c);
	s->child[i] = NULL;
	s->pending[i] = false;
	sts_update(s, i, SHPC_STS_PRSNT_MASK, SHPC_STS_MRL_OPEN | SHPC_STS_PRSNT_EMPTY);
	latch(s, i, SHPC_EV_MRL | SHPC_EV_PRESENCE);
	if (s->removed)
		s->removed(s->removed_opaque, s, i + 1, c);
}

static void invalid(struct shpc *s, uint16_t why)
{
	wr_raw(s, SHPC_CMD_STATUS, 2, rd(s, SHPC_CMD_STATUS, 2) | why);
}

/* Slot Operation (§4.3.1): each field 0 means "no change". */
static void slot_op(struct shpc *s, unsigned target, unsigned state,
		    unsigned pwr, unsigned attn)
{
	if (target < 1 || target > SHPC_NSLOTS) {
		invalid(s, SHPC_CMDSTA_INVALID_CMD);
		return;
	}
	unsigned i = target - 1, old = sts(s, i) & SHPC_STATE_MASK;
	/* Enabled -> power-only is not a transition the spec allows. */
	if (old == SHPC_STATE_ENABLED && state == SHPC_STATE_PWRONLY) {
		invalid(s, SHPC_CMDSTA_INVALID_CMD);
		return;
	}
	/* Powering a slot whose MRL is open fails (§4.3.1, MRL Open). */
	if ((state == SHPC_STATE_ENABLED || state == SHPC_STATE_PWRONLY) &&
	    (sts(s, i) & SHPC_STS_MRL_OPEN)) {
		invalid(s, SHPC_CMDSTA_MRL_OPEN);
		return;
	}
	if (pwr)
		sts_set_field(s, i, SHPC_PWR_LED_SHIFT, pwr);
	if (attn)
		sts_set_field(s, i, SHPC_ATTN_LED_SHIFT, attn);
	if (state)
		sts_update(s, i, SHPC_STATE_MASK, (uint16_t)state);
	/* The guest turned a live slot off with its Power Indicator off:
	 * shpchp's answer to the button (disable_slot, then the indicator),
	 * and the point where QEMU takes the device away. */
	if ((old == SHPC_STATE_ENABLED || old == SHPC_STATE_PWRONLY) &&
	    state == SHPC_STATE_DISABLED &&
	    sts_field(s, i, SHPC_PWR_LED_SHIFT) == SHPC_LED_OFF && s->child[i])
		slot_release(s, i);
}

/* §4.3: the command in Command Code / Target, run to completion at once
 * (Busy never reads set), then Command Detected. */
static void command(struct shpc *s)
{
	uint8_t code = s->regs[SHPC_CMD], target = s->regs[SHPC_CMD + 1] & 0x1f;
	wr_raw(s, SHPC_CMD_STATUS, 2, 0);
	if (code <= 0x3f) {
		slot_op(s, target, code & 3u, (code >> 2) & 3u, (code >> 4) & 3u);
	} else if (code <= 0x47) {
		/* Set Bus Segment Speed/Mode: only 33 MHz conventional. */
		if ((code & 7u) == 0)
			s->regs[SHPC_SEC_BUS] &= (uint8_t)~7u;
		else
			invalid(s, SHPC_CMDSTA_INVALID_MODE);
	} else if (code == 0x48 || code == 0x49) {
		/* Power-Only / Enable All Slots: refused while any slot is
		 * enabled; slots with the MRL open get their indicator off. */
		unsigned st = code == 0x48 ? SHPC_STATE_PWRONLY : SHPC_STATE_ENABLED;
		bool any = false;
		for (unsigned i = 0; i < SHPC_NSLOTS; i++)
			any |= (sts(s, i) & SHPC_STATE_MASK) == SHPC_STATE_ENABLED;
		if (any) {
			invalid(s, SHPC_CMDSTA_INVALID_CMD);
		} else {
			for (unsigned i = 0; i < SHPC_NSLOTS; i++) {
				bool mrl_open = sts(s, i) & SHPC_STS_MRL_OPEN;
				slot_op(s, i + 1, mrl_open ? 0 : st,
					mrl_open ? SHPC_LED_OFF : SHPC_LED_ON, 0);
			}
			/* The per-slot MRL refusals above are not this
			 * command's result. */
			wr_raw(s, SHPC_CMD_STATUS, 2, 0);
		}
	} else {
		invalid(s, SHPC_CMDSTA_INVALID_CMD);
	}
	wr_raw(s, SHPC_SERR_INT, 4, rd(s, SHPC_SERR_INT, 4) | SHPC_SERRINT_CMD_DETECTED);
}

/* A guest write of len bytes at off of the working register set, through
 * BAR 0 or the DWORD Data window: the masks decide, a write touching the
 * Command register runs it. */
static void shpc_write(struct shpc *s, unsigned off, unsigned len, uint32_t v)
{
	if (off >= SHPC_REGS_SIZE)
		return;
	for (unsigned k = 0; k < len && off + k < SHPC_REGS_SIZE; k++) {
		unsigned a = off + k;
		uint8_t b = (uint8_t)(v >> (8 * k));
		s->regs[a] = (uint8_t)((s->regs[a] & ~s->wmask[a]) | (b & s->wmask[a]));
		s->regs[a] &= (uint8_t)~(b & s->w1c[a]);
	}
	if (off < SHPC_CMD + 2 && off + len > SHPC_CMD)
		command(s);
	update(s);
}

/* BAR 0.  The 1.0 spec allows any size; wider than a dword is split by
 * the bus, so len is 1, 2 or 4 here (anything else reads 0). */
static int shpc_mmio(void *opaque, uint64_t off, void *data, unsigned len,
		     bool is_write)
{
	struct shpc *s = opaque;
	uint8_t *p = data;
	if (len > 4 || off >= SHPC_BAR_SIZE) {
		if (!is_write)
			memset(data, 0, len);
		return 0;
	}
	if (is_write) {
		uint32_t v = 0;
		for (unsigned k = 0; k < len; k++)
			v |= (uint32_t)p[k] << (8 * k);
		shpc_write(s, (unsigned)off, len, v);
		return 0;
	}
	uint32_t v = off < SHPC_REGS_SIZE ? rd(s, (unsigned)off, len) : 0;
	for (unsigned k = 0; k < len; k++)
		p[k] = (uint8_t)(v >> (8 * k));
	return 0;
}

/* After a guest config write (the bridge already applied it through the
 * masks: the Select byte and the Data bytes are plain read/write). */
static void shpc_cfg_written(void *ext, uint32_t off, unsigned len)
{
	struct shpc *s = ext;
	uint32_t data = s->cap + SHPC_CAP_DATA;
	if (off < data + 4 && off + len > data) {
		uint32_t lo = off > data ? off : data;
		uint32_t hi = off + len < data + 4 ? off + len : data + 4;
		unsigned sel = pci_cfg_get8(s->dev, s->cap + SHPC_CAP_SELECT);
		uint32_t v = pci_cfg_get32(s->dev, data) >> (8 * (lo - data));
		shpc_write(s, sel * 4u + (lo - data), hi - lo, v);
	}
	update(s);
}

static void shpc_reset(struct shpc *s)
{
	memset(s->regs, 0, sizeof(s->regs));
	/* §5.2.2-5: 31 conventional 33 MHz slots, first device number 1,
	 * physical slot numbers 1 up, MRL sensors and attention buttons. */
	wr_raw(s, SHPC_SLOTS_AVAIL1, 4, SHPC_NSLOTS);
	wr_raw(s, SHPC_SLOT_CONFIG, 4, SHPC_NSLOTS | 1u << 8 | 1u << 16 |
	       1u << 29 | 1u << 30 | 1u << 31);
	s->regs[SHPC_PROG_IFC] = 1;
	/* Everything masked until the driver says otherwise (§5.2.9). */
	wr_raw(s, SHPC_SERR_INT, 4, SHPC_SERRINT_INT_MASK | SHPC_SERRINT_SERR_MASK |
	       SHPC_SERRINT_CMD_INT_MASK | SHPC_SERRINT_ARB_SERR_MASK);
	for (unsigned i = 0; i < SHPC_NSLOTS; i++) {
		s->regs[SHPC_SLOT(i) + SHPC_SLOT_MASK] = EV_ALL | SHPC_EV_MRL_SERR_MASK |
							 SHPC_EV_CONN_FAULT_SERR_MASK;
		/* An occupied slot is enabled and lit, as firmware leaves a
		 * cold-plugged card; an empty one disabled, dark, MRL open. */
		uint16_t v = s->child[i]
			? SHPC_STATE_ENABLED | SHPC_LED_ON << SHPC_PWR_LED_SHIFT
			: SHPC_STATE_DISABLED | SHPC_LED_OFF << SHPC_PWR_LED_SHIFT |
			  SHPC_STS_MRL_OPEN | SHPC_STS_PRSNT_EMPTY;
		wr_raw(s, SHPC_SLOT(i), 2, v | SHPC_LED_OFF << SHPC_ATTN_LED_SHIFT);
		s->pending[i] = false;
	}
	update(s);
}

struct shpc *shpc_new(uint8_t chassis_nr, const char *name, struct log *log)
{
	struct shpc *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->br = pci_bridge_new(chassis_nr, true, name ? name : "pci-bridge", log);
	if (!s->br) {
		free(s);
		return NULL;
	}
	s->dev = pci_bridge_dev(s->br);
	struct pci_dev *d = s->dev;
	int cap = pci_dev_add_cap(d, PCI_CAP_ID_SHPC, SHPC_CAP_LEN);
	if (cap < 0 || pci_dev_set_bar(d, 0, PCI_BAR_MEM32, SHPC_BAR_SIZE, false,
				       shpc_mmio, s, "shpc") < 0) {
		pci_bridge_free(s->br);
		free(s);
		return NULL;
	}
	s->cap = (unsigned)cap;
	pci_cfg_set_wmask(d, s->cap + SHPC_CAP_SELECT, 1, 0xff);
	pci_cfg_set_wmask(d, s->cap + SHPC_CAP_DATA, 4, 0xffffffffu);
	pci_cfg_set8(d, PCI_INTERRUPT_PIN, 1);
	pci_cfg_set_wmask(d, PCI_INTERRUPT_LINE, 1, 0xff);
	/* Guest-writable: Command Code and Target, the SERR-INT masks
	 * (detected bits are RW1C), per slot the event latches (RW1C) and
	 * their masks (§5.2). */
	s->wmask[SHPC_CMD] = 0xff;
	s->wmask[SHPC_CMD + 1] = 0x1f;
	s->wmask[SHPC_SERR_INT] = SHPC_SERRINT_INT_MASK | SHPC_SERRINT_SERR_MASK |
				  SHPC_SERRINT_CMD_INT_MASK | SHPC_SERRINT_ARB_SERR_MASK;
	s->w1c[SHPC_SERR_INT + 2] = (SHPC_SERRINT_CMD_DETECTED | SHPC_SERRINT_ARB_DETECTED) >> 16;
	for (unsigned i = 0; i < SHPC_NSLOTS; i++) {
		s->w1c[SHPC_SLOT(i) + SHPC_SLOT_EVENTS] = EV_ALL;
		s->wmask[SHPC_SLOT(i) + SHPC_SLOT_MASK] = EV_ALL | SHPC_EV_MRL_SERR_MASK |
							  SHPC_EV_CONN_FAULT_SERR_MASK;
	}
	shpc_reset(s);
	pci_bridge_set_ext(s->br, shpc_cfg_written, s);
	pci_bridge_set_reserve(s->br, SHPC_RSV_IO, SHPC_RSV_MEM, SHPC_RSV_PREF);
	return s;
}

void shpc_free(struct shpc *s)
{
	if (!s)
		return;
	pci_bridge_free(s->br);
	free(s);
}

struct pci_bridge *shpc_bridge(struct shpc *s) { return s->br; }
unsigned shpc_cap_off(const struct shpc *s) { return s->cap; }

void shpc_set_removed(struct shpc *s, shpc_removed_fn fn, void *opaque)
{
	s->removed = fn;
	s->removed_opaque = opaque;
}

struct pci_dev *shpc_child(const struct shpc *s, unsigned slot)
{
	return slot >= 1 && slot <= SHPC_NSLOTS ? s->child[slot - 1] : NULL;
}

bool shpc_unplug_pending(const struct shpc *s, unsigned slot)
{
	return slot >= 1 && slot <= SHPC_NSLOTS && s->pending[slot - 1];
}

int shpc_plug(struct shpc *s, struct pci_dev *dev, unsigned slot, bool hot)
{
	if (slot < 1 || slot > SHPC_NSLOTS)
		return -EINVAL;
	unsigned i = slot - 1;
	if (s->child[i])
		return -EBUSY;
	int r = pci_bridge_attach(s->br, dev, slot, 0);
	if (r < 0)
		return r;
	s->child[i] = dev;
	if (!hot) {
		sts_update(s, i, SHPC_STATE_MASK | (3u << SHPC_PWR_LED_SHIFT) |
			   SHPC_STS_MRL_OPEN | SHPC_STS_PRSNT_MASK,
			   SHPC_STATE_ENABLED | SHPC_LED_ON << SHPC_PWR_LED_SHIFT);
		update(s);
		return 0;
	}
	/* The card goes in, the MRL closes: presence and MRL changed, and
	 * the button is pressed so that shpchp powers the slot on. */
	sts_update(s, i, SHPC_STS_MRL_OPEN | SHPC_STS_PRSNT_MASK | SHPC_STS_66, 0);
	latch(s, i, SHPC_EV_PRESENCE | SHPC_EV_MRL | SHPC_EV_BUTTON);
	update(s);
	return 0;
}

int shpc_request_unplug(struct shpc *s, unsigned slot)
{
	if (slot < 1 || slot > SHPC_NSLOTS || !s->child[slot - 1])
		return -ENODEV;
	unsigned i = slot - 1;
	unsigned led = sts_field(s, i, SHPC_PWR_LED_SHIFT);
	if (led == SHPC_LED_BLINK)
		return -EBUSY;
	/* A slot the guest never enabled (or already disabled) has no
	 * driver on it: the card can go now, as QEMU's SHPC lets it. */
	if ((sts(s, i) & SHPC_STATE_MASK) == SHPC_STATE_DISABLED && led == SHPC_LED_OFF) {
		slot_release(s, i);
		update(s);
		return 1;
	}
	s->pending[i] = true;
	/* §4.2.3: the press is latched until software clears it. */
	latch(s, i, SHPC_EV_BUTTON);
	update(s);
	return 0;
}
