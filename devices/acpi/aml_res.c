/* Resource template descriptors, ACPI 6.4 §6.4 (small and large resource
 * data types), as _CRS buffers carry them. */
#include "aml.h"

/* Small item tags (§6.4.2): bits 6-3 item name, bits 2-0 length. */
#define RT_SMALL(name, len) ((uint8_t)(((name) << 3) | (len)))
#define RT_SMALL_IRQ 0x04
#define RT_SMALL_IO 0x08
#define RT_SMALL_END 0x0f
/* Large item tags (§6.4.3): bit 7 set, bits 6-0 item name. */
#define RT_LARGE_MEM32_FIXED 0x86
#define RT_LARGE_DWORD_SPACE 0x87
#define RT_LARGE_WORD_SPACE 0x88
#define RT_LARGE_EXT_IRQ 0x89
#define RT_LARGE_QWORD_SPACE 0x8a

void aml_rt_io(struct aml *rt, uint16_t min, uint16_t max, uint8_t align,
	       uint8_t len)
{
	/* §6.4.2.5 I/O Port Descriptor; information bit 0: 16-bit decode. */
	aml_byte(rt, RT_SMALL(RT_SMALL_IO, 7));
	aml_byte(rt, 0x01);
	aml_le16(rt, min);
	aml_le16(rt, max);
	aml_byte(rt, align);
	aml_byte(rt, len);
}

void aml_rt_irq_noflags(struct aml *rt, unsigned irq)
{
	/* §6.4.2.1 IRQ Descriptor, 2-byte form: ISA edge, active high. */
	if (irq > 15) {
		rt->err = true;
		return;
	}
	aml_byte(rt, RT_SMALL(RT_SMALL_IRQ, 2));
	aml_le16(rt, (uint16_t)(1u << irq));
}

void aml_rt_memory32_fixed(struct aml *rt, uint32_t base, uint32_t len,
			   bool rw)
{
	/* §6.4.3.4 32-Bit Fixed Memory Range Descriptor. */
	aml_byte(rt, RT_LARGE_MEM32_FIXED);
	aml_le16(rt, 9);
	aml_byte(rt, rw ? 0x01 : 0x00);
	aml_le32(rt, base);
	aml_le32(rt, len);
}

void aml_rt_interrupt(struct aml *rt, uint32_t gsi, bool consumer,
		      bool edge, bool active_low, bool shared)
{
	/* §6.4.3.6 Extended Interrupt Descriptor: flags bit 0 consumer,
	 * bit 1 edge, bit 2 active low, bit 3 shared; one interrupt. */
	uint8_t flags = (uint8_t)((consumer ? 1 : 0) | (edge ? 2 : 0) |
				  (active_low ? 4 : 0) | (shared ? 8 : 0));
	aml_byte(rt, RT_LARGE_EXT_IRQ);
	aml_le16(rt, 2 + 4);
	aml_byte(rt, flags);
	aml_byte(rt, 1);
	aml_le32(rt, gsi);
}

/* General flags (§6.4.3.5.1 Table 6.47): bit 0 consumer, bit 1 _DEC
 * subtractive, bit 2 _MIF, bit 3 _MAF.  A bridge window: producer,
 * positive decode, min and max fixed. */
#define RT_GFLAGS_WINDOW 0x0c

void aml_rt_word_space(struct aml *rt, uint8_t type, uint16_t min,
		       uint16_t max)
{
	/* §6.4.3.5.3 Word Address Space Descriptor.  Type-specific flags:
	 * I/O 0x03 (ISA and non-ISA ranges), bus number 0. */
	if (max < min) {
		rt->err = true;
		return;
	}
	aml_byte(rt, RT_LARGE_WORD_SPACE);
	aml_le16(rt, 13);
	aml_byte(rt, type);
	aml_byte(rt, RT_GFLAGS_WINDOW);
	aml_byte(rt, type == AML_RT_SPACE_IO ? 0x03 : 0x00);
	aml_le16(rt, 0);                        /* granularity */
	aml_le16(rt, min);
	aml_le16(rt, max);
	aml_le16(rt, 0);                        /* translation offset */
	aml_le16(rt, (uint16_t)(max - min + 1));
}

void aml_rt_qword_memory(struct aml *rt, uint64_t min, uint64_t max,
			 bool cacheable)
{
	/* §6.4.3.5.1 QWord Address Space Descriptor, memory range.
	 * Type-specific flags (Table 6.50): bit 0 read-write, bits 2-1
	 * _MEM (0 non-cacheable, 1 cacheable). */
	if (max < min || (min == 0 && max == UINT64_MAX)) {
		rt->err = true;
		return;
	}
	aml_byte(rt, RT_LARGE_QWORD_SPACE);
	aml_le16(rt, 43);
	aml_byte(rt, AML_RT_SPACE_MEMORY);
	aml_byte(rt, RT_GFLAGS_WINDOW);
	aml_byte(rt, (uint8_t)(0x01 | (cacheable ? 0x02 : 0x00)));
	aml_le64(rt, 0);                        /* granularity */
	aml_le64(rt, min);
	aml_le64(rt, max);
	aml_le64(rt, 0);                        /* translation offset */
	aml_le64(rt, max - min + 1);
}

void aml_rt_end_tag(struct aml *rt)
{
	/* §6.4.2.9 End Tag; a zero checksum means "treat as valid". */
	aml_byte(rt, RT_SMALL(RT_SMALL_END, 1));
	aml_byte(rt, 0x00);
}
