/* MSI-X capability, vector table and Pending Bit Array (PCI Local Bus 3.0
 * §6.8.2). */
#include <errno.h>
#include <string.h>
#include "msix.h"
#include "pci.h"

uint32_t msix_table_size(unsigned nvec)
{
	return nvec * PCI_MSIX_ENTRY_SIZE;
}

/* One bit per vector in qwords (§6.8.2.10). */
uint32_t msix_pba_size(unsigned nvec)
{
	return ((nvec + 63) / 64) * 8;
}

static bool ranges_overlap(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
	return a < b + blen && b < a + alen;
}

int msix_init(struct msix *m, struct pci_dev *d, struct irq_chip *chip,
	      unsigned nvec, unsigned bar, uint32_t table_off, uint32_t pba_off)
{
	if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS ||
	    (table_off & 7) || (pba_off & 7) ||
	    ranges_overlap(table_off, msix_table_size(nvec), pba_off,
			   msix_pba_size(nvec)))
		return -EINVAL;
	int cap = pci_dev_add_cap(d, PCI_CAP_ID_MSIX, PCI_CAP_MSIX_SIZEOF);
	if (cap < 0)
		return cap;
	memset(m, 0, sizeof(*m));
	m->pci = d;
	m->chip = chip;
	m->nvec = nvec;
	m->cap = (uint8_t)cap;
	m->bar = bar;
	m->table_off = table_off;
	m->pba_off = pba_off;
	/* Table Size is N-1, read-only; only Function Mask and Enable are
	 * writable in Message Control (§6.8.2.3). */
	pci_cfg_set16(d, cap + PCI_MSIX_FLAGS, (uint16_t)(nvec - 1));
	pci_cfg_set_wmask(d, cap + PCI_MSIX_FLAGS, 2,
			  PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);
	pci_cfg_set32(d, cap + PCI_MSIX_TABLE, table_off | bar);
	pci_cfg_set32(d, cap + PCI_MSIX_PBA, pba_off | bar);
	d->msix = m;
	msix_reset(m);
	return 0;
}

static uint16_t control(const struct msix *m)
{
	/* A zeroed struct msix (a function without the capability, e.g.
	 * virtio-pci vectors=0) is simply never enabled. */
	if (!m->pci)
		return 0;
	return pci_cfg_get16(m->pci, m->cap + PCI_MSIX_FLAGS);
}

bool msix_enabled(const struct msix *m)
{
	return control(m) & PCI_MSIX_FLAGS_ENABLE;
}

static bool function_masked(const struct msix *m)
{
	return control(m) & PCI_MSIX_FLAGS_MASKALL;
}

bool msix_vector_masked(const struct msix *m, unsigned vec)
{
	return vec >= m->nvec ||
	       (m->table[vec].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT) ||
	       function_masked(m);
}

bool msix_pending(const struct msix *m, unsigned vec)
{
	return vec < m->nvec && ((m->pending >> vec) & 1);
}

int msix_vector_message(const struct msix *m, unsigned vec, uint64_t *addr,
			uint32_t *data)
{
	if (vec >= m->nvec || !msix_enabled(m) || msix_vector_masked(m, vec) ||
	    !pci_dma_allowed(m->pci))
		return -1;
	*addr = (uint64_t)m->table[vec].addr_hi << 32 | m->table[vec].addr_lo;
	*data = m->table[vec].data;
	return 0;
}

static void deliver(struct msix *m, unsigned vec)
{
	const struct msix_entry *e = &m->table[vec];
	m->pending &= ~(1ull << vec);
	m->delivered++;
	irq_msi(m->chip, (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

int msix_notify(struct msix *m, unsigned vec)
{
	if (vec >= m->nvec || !msix_enabled(m))
		return -EINVAL;
	if (msix_vector_masked(m, vec) || !pci_dma_allowed(m->pci)) {
		/* §6.8.2.9: a masked vector's message is held pending and sent
		 * once the vector is unmasked.  A message is a memory write:
		 * without Bus Master Enable it is held the same way and sent
		 * when mastering is back (pci_dev_dma_changed). */
		m->pending |= 1ull << vec;
		return 0;
	}
	deliver(m, vec);
	return 1;
}

static void deliver_unmasked_pending(struct msix *m)
{
	if (!msix_enabled(m) || !pci_dma_allowed(m->pci))
		return;
	for (unsigned v = 0; v < m->nvec; v++)
		if (msix_pending(m, v) && !msix_vector_masked(m, v))
			deliver(m, v);
}

void msix_cfg_written(struct msix *m)
{
	deliver_unmasked_pending(m);
}

void msix_reset(struct msix *m)
{
	/* §6.8.2.9: after reset every vector's Mask bit is set. */
	for (unsigned v = 0; v < MSIX_MAX_VECTORS; v++) {
		memset(&m->table[v], 0, sizeof(m->table[v]));
		m->table[v].ctrl = PCI_MSIX_ENTRY_CTRL_MASKBIT;
	}
	m->pending = 0;
	pci_cfg_set16(m->pci, m->cap + PCI_MSIX_FLAGS, (uint16_t)(m->nvec - 1));
}

static uint32_t *entry_word(struct msix *m, unsigned vec, unsigned field)
{
	struct msix_entry *e = &m->table[vec];
	switch (field) {
	case PCI_MSIX_ENTRY_LOWER_ADDR: return &e->addr_lo;
	case PCI_MSIX_ENTRY_UPPER_ADDR: return &e->addr_hi;
	case PCI_MSIX_ENTRY_DATA: return &e->data;
	default: return &e->ctrl;
	}
}

/* Table accesses are byte-granular here (the spec only requires aligned
 * dword and qword ones, §6.8.2): other sizes are harmless to honour. */
static void table_access(struct msix *m, uint32_t off, uint8_t *p,
			 unsigned len, bool is_write)
{
	bool was_masked[MSIX_MAX_VECTORS];
	for (unsigned v = 0; v < m->nvec; v++)
		was_masked[v] = m->table[v].ctrl & PCI_MSIX_ENTRY_CTRL_MASKBIT;
	for (unsigned i = 0; i < len; i++) {
		uint32_t o = off + i;
		unsigned vec = o / PCI_MSIX_ENTRY_SIZE;
		unsigned field = o % PCI_MSIX_ENTRY_SIZE & ~3u, sh = 8 * (o & 3);
		uint32_t *w = entry_word(m, vec, field);
		if (!is_write) {
			p[i] = (uint8_t)(*w >> sh);
			continue;
		}
		uint32_t wm = 0xffu << sh;
		/* Vector Control bits 31:1 are reserved (read 0). */
		if (field == PCI_MSIX_ENTRY_VECTOR_CTRL)
			wm &= PCI_MSIX_ENTRY_CTRL_MASKBIT;
		*w = (*w & ~wm) | (((uint32_t)p[i] << sh) & wm);
	}
	if (!is_write)
		return;
	for (unsigned v = 0; v < m->nvec; v++)
		if (was_masked[v] && msix_pending(m, v) && !msix_vector_masked(m, v) &&
		    msix_enabled(m) && pci_dma_allowed(m->pci))
			deliver(m, v);
}

int msix_bar_access(struct msix *m, uint64_t off, void *data, unsigned len,
		    bool is_write)
{
	uint8_t *p = data;
	uint32_t tsize = msix_table_size(m->nvec), psize = msix_pba_size(m->nvec);
	if (off >= m->table_off && off - m->table_off < tsize) {
		uint32_t o = (uint32_t)(off - m->table_off);
		if (len > tsize - o) {
			log_rl(m->pci->log, &m->rl, LOG_WARN, "msix: table access past end");
			if (!is_write)
				memset(p, 0, len);
			return 0;
		}
		table_access(m, o, p, len, is_write);
		return 0;
	}
	if (off >= m->pba_off && off - m->pba_off < psize) {
		/* The PBA is read-only (§6.8.2.10); writes are ignored. */
		uint32_t o = (uint32_t)(off - m->pba_off);
		if (!is_write)
			for (unsigned i = 0; i < len; i++)
				p[i] = o + i < psize ?
					(uint8_t)(m->pending >> (8 * ((o + i) % 8))) : 0;
		return 0;
	}
	return -ENOENT;
}
