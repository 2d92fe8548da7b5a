/* PCI function state in a snapshot (docs/snapshot.md "PCI"): the whole
 * configuration space, the INTx pin, and an MSI-X table with its PBA.
 *
 * A loaded config space must be the same function: identity, header type,
 * capability list and the BARs' read-only bits (size and kind, §6.2.5.1)
 * are compared with the function the restoring board built; a BAR that
 * decodes must sit inside the host bridge's window for its kind. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core/snapshot.h"
#include "msix.h"
#include "pci.h"
#include "pci_snap.h"

/* Type 0/1 header bytes that identify a function (PCI 3.0 §6.2.1):
 * vendor/device, revision/class, header type, capabilities pointer. */
static const struct { uint16_t off, len; const char *what; } ident[] = {
	{ 0x00, 4, "vendor/device id" },
	{ 0x08, 4, "class code or revision" },
	{ 0x0e, 1, "header type" },
	{ 0x34, 1, "capabilities pointer" },
};

void pci_dev_save(const struct pci_dev *d, struct snap_w *w)
{
	snap_w_begin(w, "pci", 1);
	snap_w_bytes(w, "cfg", d->cfg, PCI_CFG_SIZE);
	snap_w_bool(w, "intx_asserted", d->intx_asserted);
	snap_w_end(w);
}

/* The capability list, walked in both spaces: same ids at the same
 * offsets (PCI 3.0 §6.7), at most 48 hops (a loop in a hostile stream). */
static bool caps_same(const uint8_t *a, const uint8_t *b)
{
	uint8_t pa = a[0x34] & 0xfc, pb = b[0x34] & 0xfc;
	for (unsigned hops = 0; hops < 48; hops++) {
		if (pa != pb)
			return false;
		if (pa == 0)
			return true;
		if (a[pa] != b[pb])
			return false;
		pa = a[pa + 1] & 0xfc;
		pb = b[pb + 1] & 0xfc;
	}
	return false;
}

int pci_dev_load(struct pci_dev *d, struct snap_r *r)
{
	uint8_t c[PCI_CFG_SIZE];
	bool intx = false;
	char f[32];
	snap_r_begin(r, "pci", 1, NULL);
	snap_r_bytes(r, "cfg", c, PCI_CFG_SIZE);
	snap_r_bool(r, "intx_asserted", &intx);
	if (snap_r_failed(r))
		return snap_r_failed(r);
	for (size_t i = 0; i < sizeof(ident) / sizeof(ident[0]); i++) {
		snprintf(f, sizeof(f), "cfg[0x%02x]", ident[i].off);
		snap_r_check(r, !memcmp(c + ident[i].off, d->cfg + ident[i].off,
					ident[i].len), f, ident[i].what);
	}
	snap_r_check(r, caps_same(c, d->cfg), "cfg[0x34]",
		     "another capability list");
	/* BAR registers: only the bits the guest may write may differ
	 * (address bits above the size; kind, width and prefetch are
	 * read-only), and a decoding BAR must be in its window. */
	bool type1 = (d->cfg[0x0e] & 0x7f) == 1;
	for (unsigned i = 0; i < (type1 ? 2u : PCI_NUM_BARS); i++) {
		uint32_t off = 0x10 + 4 * i;
		bool ok = true;
		for (unsigned k = 0; k < 4; k++)
			ok &= ((c[off + k] ^ d->cfg[off + k]) &
			       (uint8_t)~d->wmask[off + k]) == 0;
		snprintf(f, sizeof(f), "bar%u", i);
		snap_r_check(r, ok, f, "read-only bits differ (another BAR size or kind)");
	}
	if (snap_r_failed(r))
		return snap_r_failed(r);
	/* Window check on the loaded values, without touching d. */
	if (d->host) {
		for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
			const struct pci_bar *b = &d->bars[i];
			if (b->kind == PCI_BAR_NONE || b->size == 0)
				continue;
			uint64_t a = (uint64_t)c[0x10 + 4 * i] |
				     (uint64_t)c[0x11 + 4 * i] << 8 |
				     (uint64_t)c[0x12 + 4 * i] << 16 |
				     (uint64_t)c[0x13 + 4 * i] << 24;
			if (b->kind == PCI_BAR_MEM64 && i + 1 < PCI_NUM_BARS) {
				uint32_t hi = (uint32_t)c[0x14 + 4 * i] |
					      (uint32_t)c[0x15 + 4 * i] << 8 |
					      (uint32_t)c[0x16 + 4 * i] << 16 |
					      (uint32_t)c[0x17 + 4 * i] << 24;
				a |= (uint64_t)hi << 32;
			}
			a &= b->kind == PCI_BAR_IO ? ~3ull : ~15ull;
			uint16_t cmd = (uint16_t)(c[4] | c[5] << 8);
			bool decodes = b->kind == PCI_BAR_IO ? (cmd & 1) : (cmd & 2);
			snprintf(f, sizeof(f), "bar%u", i);
			snap_r_check(r, !decodes || a == 0 ||
				     pci_host_window_ok(d->host, b->kind == PCI_BAR_IO,
							b->kind == PCI_BAR_MEM64,
							a, b->size),
				     f, "decodes outside the host bridge's window");
		}
	}
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	memcpy(d->cfg, c, PCI_CFG_SIZE);
	d->intx_asserted = intx;
	return 0;
}

void msix_save(const struct msix *m, struct snap_w *w)
{
	uint8_t t[MSIX_MAX_VECTORS * 16];
	for (unsigned v = 0; v < m->nvec; v++) {
		const uint32_t e[4] = { m->table[v].addr_lo, m->table[v].addr_hi,
					m->table[v].data, m->table[v].ctrl };
		for (unsigned k = 0; k < 16; k++)
			t[v * 16 + k] = (uint8_t)(e[k / 4] >> (8 * (k % 4)));
	}
	snap_w_begin(w, "msix", 1);
	snap_w_u32(w, "nvec", m->nvec);
	snap_w_bytes(w, "table", t, 16u * m->nvec);
	snap_w_u64(w, "pba", m->pending);
	snap_w_end(w);
}

int msix_load(struct msix *m, struct snap_r *r)
{
	uint8_t t[MSIX_MAX_VECTORS * 16];
	uint32_t nvec = 0;
	uint64_t pba = 0;
	snap_r_begin(r, "msix", 1, NULL);
	snap_r_u32(r, "nvec", &nvec);
	snap_r_check(r, nvec == m->nvec, "nvec", "another table size");
	if (!snap_r_failed(r))
		snap_r_bytes(r, "table", t, 16u * nvec);
	snap_r_u64(r, "pba", &pba);
	/* PCI 3.0 §6.8.2.10: one pending bit per vector, none beyond. */
	snap_r_check(r, nvec >= 64 || (pba >> nvec) == 0, "pba",
		     "pending bits beyond the table");
	int rc = snap_r_end(r);
	if (rc)
		return rc;
	for (unsigned v = 0; v < nvec; v++) {
		uint32_t e[4] = { 0 };
		for (unsigned k = 0; k < 16; k++)
			e[k / 4] |= (uint32_t)t[v * 16 + k] << (8 * (k % 4));
		m->table[v].addr_lo = e[0];
		m->table[v].addr_hi = e[1];
		m->table[v].data = e[2];
		/* Only the mask bit of Vector Control is defined (§6.8.2.9). */
		m->table[v].ctrl = e[3] & 1u;
	}
	m->pending = pba;
	return 0;
}
