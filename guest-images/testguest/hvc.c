/* Kata's console: its command line has no serial port and no debug-exit
 * device, only a virtconsole on a legacy virtio-serial-pci whose host side
 * is a socket the runtime may connect to at any time, and "console=hvc0"
 * in the kernel command line.  For that line the test guest keeps a copy
 * of everything it prints and, instead of powering off at the end, replays
 * it on hvc0 round after round, so a reader that connects whenever it
 * likes sees at least one whole report ("hvc round N", then the hello
 * line through "done, N failed").
 *
 * Output goes through the console's emergency write (virtio 1.2 §5.3.4,
 * VIRTIO_CONSOLE_F_EMERG_WRITE: one byte per write to emerg_wr at device
 * config offset 8), which needs no virtqueue.  Legacy interface
 * (§4.1.4.10): status at 18, guest features at 4, and with MSI-X off the
 * device config starts at 20. */
#include "guest.h"

#define HVC_LOG_MAX 16384u
#define L_HOST_FEATURES 0
#define L_GUEST_FEATURES 4
#define L_STATUS 18
#define L_CONFIG 20
#define CONSOLE_EMERG_WR 8
#define CONSOLE_F_EMERG_WRITE (1u << 2)

static char hvc_log[HVC_LOG_MAX];
static unsigned hvc_len;
static uint16_t hvc_io;   /* I/O BAR 0 of the first legacy virtio-serial */

void hvc_capture(char c)
{
	if (hvc_len < HVC_LOG_MAX)
		hvc_log[hvc_len++] = c;
}

void hvc_found(unsigned dev, unsigned fn)
{
	uint32_t bar = pci_read32(dev, fn, 0x10);
	if (hvc_io || !(bar & 1))
		return;                  /* taken, or modern only */
	pci_write16(dev, fn, 4, pci_read16(dev, fn, 4) | 0x1);   /* I/O decode */
	hvc_io = (uint16_t)(bar & ~3u);
}

static void hvc_putc(char c)
{
	outb(hvc_io + L_CONFIG + CONSOLE_EMERG_WR, (uint8_t)c);
}

static void hvc_puts(const char *s)
{
	while (*s)
		hvc_putc(*s++);
}

void hvc_replay_forever(void)
{
	if (!hvc_io)
		return;
	outb(hvc_io + L_STATUS, 0);
	outb(hvc_io + L_STATUS, 1 | 2);          /* ACKNOWLEDGE | DRIVER */
	if (!(inl(hvc_io + L_HOST_FEATURES) & CONSOLE_F_EMERG_WRITE))
		return;
	outl(hvc_io + L_GUEST_FEATURES, CONSOLE_F_EMERG_WRITE);
	for (uint64_t round = 1;; round++) {
		char b[21];
		int i = 20;
		uint64_t v = round;
		b[i] = 0;
		do {
			b[--i] = (char)('0' + v % 10);
			v /= 10;
		} while (v);
		hvc_puts("testguest: hvc round ");
		hvc_puts(&b[i]);
		hvc_puts("\r\n");
		for (unsigned k = 0; k < hvc_len; k++)
			hvc_putc(hvc_log[k]);
	}
}
