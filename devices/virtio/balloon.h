/* virtio-balloon (virtio 1.2 §5.5): inflate, deflate and statistics
 * queues, VIRTIO_BALLOON_F_DEFLATE_ON_OOM, and free page reporting
 * (VIRTIO_BALLOON_F_PAGE_REPORTING, §5.5.6.7): the guest hands over
 * ranges of free memory, which go to the host through the same release
 * hook as inflated pages, and gets the buffers back to reuse the pages.
 *
 * Inflated pages are tracked in a bitmap over guest RAM and handed to a
 * host hook: under KVM the board passes one that madvise(MADV_DONTNEED)s
 * the pages; the simulator passes none and the bitmap is the record.  The
 * host sets the target (balloon_set_target), the guest reports `actual`. */
#ifndef VMM_VIRTIO_BALLOON_H
#define VMM_VIRTIO_BALLOON_H

#include <stdbool.h>
#include <stdint.h>

struct vdev;
struct gm;
struct clk;
struct log;

/* §5.5.3 */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST 0
#define VIRTIO_BALLOON_F_STATS_VQ 1
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM 2
#define VIRTIO_BALLOON_F_FREE_PAGE_HINT 3
#define VIRTIO_BALLOON_F_PAGE_POISON 4
#define VIRTIO_BALLOON_F_PAGE_REPORTING 5

#define VIRTIO_BALLOON_PFN_SHIFT 12
#define BALLOON_PAGE_SIZE (1u << VIRTIO_BALLOON_PFN_SHIFT)

/* §5.5.6.3 statistics tags. */
enum {
	VIRTIO_BALLOON_S_SWAP_IN = 0,
	VIRTIO_BALLOON_S_SWAP_OUT = 1,
	VIRTIO_BALLOON_S_MAJFLT = 2,
	VIRTIO_BALLOON_S_MINFLT = 3,
	VIRTIO_BALLOON_S_MEMFREE = 4,
	VIRTIO_BALLOON_S_MEMTOT = 5,
	VIRTIO_BALLOON_S_AVAIL = 6,
	VIRTIO_BALLOON_S_CACHES = 7,
	VIRTIO_BALLOON_S_HTLB_PGALLOC = 8,
	VIRTIO_BALLOON_S_HTLB_PGFAIL = 9,
	BALLOON_NR_STATS = 16, /* tags we keep (later ones are ignored) */
};

struct virtio_balloon_stat {
	uint16_t tag;
	uint64_t val;
} __attribute__((packed));

/* §5.5.4 */
struct virtio_balloon_config {
	uint32_t num_pages;
	uint32_t actual;
} __attribute__((packed));

#define BALLOON_INFLATEQ 0u
#define BALLOON_DEFLATEQ 1u
#define BALLOON_STATSQ 2u
/* The reporting queue follows the queues that exist: 3 after statsq,
 * 2 when STATS_VQ was not negotiated (drivers number only the queues of
 * negotiated features, as Linux's find_vqs and QEMU do). */
#define BALLOON_MAX_QUEUES 4u
#define BALLOON_QUEUE_SIZE 128u
/* Linux sends at most 256 PFNs per buffer; more is a hostile guest. */
#define BALLOON_MAX_PFNS_PER_REQ 4096u

struct balloon_config {
	const struct gm *gm;
	struct log *log;
	bool deflate_on_oom;
	const struct clk *clk; /* for bounded work per entry (NULL: unbounded) */
	bool stats;            /* offer STATS_VQ */
	bool page_reporting;   /* offer PAGE_REPORTING (free-page-reporting=on) */
	/* Host hooks (optional): give pages back to the host / note that the
	 * guest uses them again. */
	void (*release)(void *opaque, uint64_t gpa, uint64_t len);
	void (*reclaim)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
	uint16_t queue_size;   /* 0: BALLOON_QUEUE_SIZE */
};

struct balloon_stats {
	uint64_t inflated, deflated, bad_pfns, stats_updates;
	uint64_t reports;          /* reporting buffers returned */
	uint64_t reported_pages;   /* 4 KiB pages released from reports */
	uint64_t bad_reports;      /* ranges outside RAM or under a page */
};

struct balloon;

struct balloon *balloon_new(const struct balloon_config *cfg);
void balloon_free(struct balloon *b);
struct vdev *balloon_vdev(struct balloon *b);
/* Host: ask the guest to hold `pages` 4 KiB pages (config interrupt). */
void balloon_set_target(struct balloon *b, uint32_t pages);
uint32_t balloon_get_target(const struct balloon *b);
/* What the guest last wrote to `actual`. */
uint32_t balloon_get_actual(const struct balloon *b);
/* Pages currently inflated (from the bitmap). */
uint64_t balloon_inflated_pages(const struct balloon *b);
bool balloon_page_inflated(const struct balloon *b, uint64_t pfn);
/* Ask the guest for fresh statistics (returns its held stats buffer).
 * false when the guest has not given us one. */
bool balloon_request_stats(struct balloon *b);
/* Last reported value of tag; false if never reported. */
bool balloon_get_stat(const struct balloon *b, unsigned tag, uint64_t *val);
const struct balloon_stats *balloon_get_counters(const struct balloon *b);
/* The queue index free page reports arrive on (with the negotiated
 * features), or -1 when PAGE_REPORTING is not negotiated. */
int balloon_report_queue(const struct balloon *b);

#endif
