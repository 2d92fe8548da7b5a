/* The test guest's console: the 16550 on COM1, polled, every byte also
 * kept for hvc.c (Kata's line has no serial port). */
#include "guest.h"

#define COM1 0x3f8

/* ---- console: 16550 on COM1, polled (LSR bit 5: THR empty) ---- */
void con_init(void)
{
	outb(COM1 + 1, 0x00);   /* no interrupts */
	outb(COM1 + 3, 0x80);   /* DLAB */
	outb(COM1 + 0, 0x01);   /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* 8N1 */
	outb(COM1 + 2, 0x07);   /* FIFOs on, cleared */
}

void con_putc(char c)
{
	for (unsigned i = 0; i < 1000000 && !(inb(COM1 + 5) & 0x20); i++)
		;
	outb(COM1, (uint8_t)c);
	hvc_capture(c);
}

void con_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			con_putc('\r');
		con_putc(*s++);
	}
}

void con_hex(uint64_t v)
{
	char b[19];
	int i = 18;
	b[i] = 0;
	do {
		b[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	b[--i] = 'x';
	b[--i] = '0';
	con_puts(&b[i]);
}

void con_hexn(uint64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--)
		con_putc("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

void con_dec(uint64_t v)
{
	char b[21];
	int i = 20;
	b[i] = 0;
	do {
		b[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	con_puts(&b[i]);
}

void con_dec2(unsigned v)
{
	con_putc((char)('0' + (v / 10) % 10));
	con_putc((char)('0' + v % 10));
}

/* Printable prefix of a buffer, up to n bytes or the first NUL. */
void con_text(const uint8_t *p, unsigned n)
{
	con_putc('\'');
	for (unsigned i = 0; i < n && p[i]; i++)
		con_putc(p[i] >= 0x20 && p[i] < 0x7f && p[i] != '\'' ? (char)p[i] : '.');
	con_putc('\'');
}

void say(const char *s)
{
	con_puts("testguest: ");
	con_puts(s);
}
