/* Binary min-heap of timer pointers keyed by (deadline, seq).  Each timer
 * stores its own heap index so cancel and re-arm are O(log n) without a
 * search.  seq is a fresh number on every arm, so equal deadlines fire in
 * arm order: the determinism the simulator promises. */
#include "timerq.h"

#include <errno.h>
#include <stdlib.h>

void timerq_init(struct timerq *q)
{
	q->heap = NULL;
	q->len = 0;
	q->cap = 0;
	q->next_seq = 0;
}

void timerq_destroy(struct timerq *q)
{
	for (size_t i = 0; i < q->len; i++)
		q->heap[i]->heap_idx = -1;
	free(q->heap);
	timerq_init(q);
}

static bool timerq_less(const struct clk_timer *a, const struct clk_timer *b)
{
	if (a->deadline != b->deadline)
		return a->deadline < b->deadline;
	return a->seq < b->seq;
}

static void timerq_place(struct timerq *q, size_t i, struct clk_timer *t)
{
	q->heap[i] = t;
	t->heap_idx = (int)i;
}

static void timerq_sift_up(struct timerq *q, size_t i)
{
	struct clk_timer *t = q->heap[i];
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!timerq_less(t, q->heap[parent]))
			break;
		timerq_place(q, i, q->heap[parent]);
		i = parent;
	}
	timerq_place(q, i, t);
}

static void timerq_sift_down(struct timerq *q, size_t i)
{
	struct clk_timer *t = q->heap[i];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		const struct clk_timer *best = t;
		if (l < q->len && timerq_less(q->heap[l], best)) {
			m = l;
			best = q->heap[l];
		}
		if (r < q->len && timerq_less(q->heap[r], best))
			m = r;
		if (m == i)
			break;
		timerq_place(q, i, q->heap[m]);
		i = m;
	}
	timerq_place(q, i, t);
}

static void timerq_remove_at(struct timerq *q, size_t i)
{
	struct clk_timer *t = q->heap[i];
	q->len--;
	if (i != q->len) {
		/* Fill the hole with the last element; it may belong above or
		 * below this spot, so try both directions. */
		struct clk_timer *m = q->heap[q->len];
		timerq_place(q, i, m);
		timerq_sift_up(q, i);
		timerq_sift_down(q, (size_t)m->heap_idx);
	}
	t->heap_idx = -1;
}

int timerq_arm(struct timerq *q, struct clk_timer *t, uint64_t deadline)
{
	return timerq_arm_seq(q, t, deadline, q->next_seq);
}

int timerq_arm_seq(struct timerq *q, struct clk_timer *t, uint64_t deadline,
		   uint64_t seq)
{
	if (t->heap_idx >= 0)
		timerq_remove_at(q, (size_t)t->heap_idx);
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 16;
		struct clk_timer **h = realloc(q->heap, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		q->heap = h;
		q->cap = cap;
	}
	t->deadline = deadline;
	t->seq = seq;
	if (seq >= q->next_seq)
		q->next_seq = seq + 1;
	timerq_place(q, q->len, t);
	q->len++;
	timerq_sift_up(q, q->len - 1);
	return 0;
}

void timerq_cancel(struct timerq *q, struct clk_timer *t)
{
	if (t->heap_idx < 0 || (size_t)t->heap_idx >= q->len ||
	    q->heap[t->heap_idx] != t)
		return;
	timerq_remove_at(q, (size_t)t->heap_idx);
}

struct clk_timer *timerq_peek(const struct timerq *q)
{
	return q->len ? q->heap[0] : NULL;
}

struct clk_timer *timerq_pop_due(struct timerq *q, uint64_t now)
{
	if (!q->len || q->heap[0]->deadline > now)
		return NULL;
	struct clk_timer *t = q->heap[0];
	timerq_remove_at(q, 0);
	return t;
}
