/*
 * offsets_tracker.c — which source offsets are safe to commit.
 *
 * A record's offset may be committed once it and every earlier record of the
 * same source partition were acknowledged by Kafka. Delivery reports arrive
 * in any order (retries, several brokers), so we keep:
 *
 *   - a ring of slots indexed by handle (handle & mask), covering the live
 *     window [base, next). Handles are consecutive from 1, so this is the
 *     handle → record map with no hashing. base advances past records that
 *     are finished, so the ring holds at most the in-flight window;
 *   - per source partition, a FIFO of its pending handles in add order. An
 *     ack pops the FIFO while its head is acked; the last popped offset is
 *     the partition's new committable offset.
 *
 * Every record is pushed and popped once on each structure: O(1) amortized
 * per add/ack, on the produce hot path.
 *
 * Partitions are compared byte-wise: batch_add has already brought them
 * into canonical form (ferry.h), once per distinct string, so that
 * {"f": "x"} and {"f":"x"} are one partition here as in the offset store.
 *
 * Thread: one tracker per task, used from that task's thread only.
 */
#include "offsets.h"

#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

enum { SLOT_PENDING = 0, SLOT_ACKED = 1, SLOT_DONE = 2 };

typedef struct tpart {
    char *name; /* source partition JSON, as given to add() */
    uint32_t hash;
    struct tpart *next; /* hash chain */
    uint64_t *fifo;     /* pending handles in add order; ring of fcap (power of two) */
    size_t fhead, fcount, fcap;
    char *committed; /* committable offset newer than the last take(), or NULL */
    char *taken;     /* what the last take() returned for this partition */
    int dirty;       /* on tr->dirty */
} tpart_t;

typedef struct slot {
    tpart_t *part; /* NULL: a record without a source partition */
    char *offset;  /* owned until it becomes part->committed; may be NULL */
    int state;
    int holds;    /* further acks it waits for (copies of the record) */
} slot_t;

struct offset_tracker {
    slot_t *slots; /* ring of cap (power of two) slots, live for [base, next) */
    size_t cap;
    uint64_t base, next; /* handles: base = oldest not finished, next = next to hand out */
    size_t pending;      /* added and not yet acked */

    tpart_t **buckets; /* hash table of partitions, nbuckets a power of two */
    size_t nbuckets, nparts;
    tpart_t *last; /* the partition of the previous add(): usually the next one's too */

    tpart_t **dirty; /* partitions whose committed changed since take() */
    size_t ndirty, dirtycap;
    ferry_offset_t *out; /* take()'s result, valid until the next take() */
    size_t outcap;
};

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

offset_tracker_t *offset_tracker_new(void)
{
    offset_tracker_t *tr = xcalloc(1, sizeof(*tr));
    tr->cap = 1024;
    tr->slots = xcalloc(tr->cap, sizeof(*tr->slots));
    tr->base = tr->next = 1; /* 0 is never a handle */
    tr->nbuckets = 16;
    tr->buckets = xcalloc(tr->nbuckets, sizeof(*tr->buckets));
    return tr;
}

void offset_tracker_free(offset_tracker_t *tr)
{
    if (!tr) return;
    for (uint64_t h = tr->base; h < tr->next; h++) free(tr->slots[h & (tr->cap - 1)].offset);
    for (size_t i = 0; i < tr->nbuckets; i++) {
        tpart_t *p = tr->buckets[i];
        while (p) {
            tpart_t *next = p->next;
            free(p->name);
            free(p->fifo);
            free(p->committed);
            free(p->taken);
            free(p);
            p = next;
        }
    }
    free(tr->buckets);
    free(tr->slots);
    free(tr->dirty);
    free(tr->out);
    free(tr);
}

static void grow_parts(offset_tracker_t *tr)
{
    size_t n = tr->nbuckets * 2;
    tpart_t **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < tr->nbuckets; i++) {
        tpart_t *p = tr->buckets[i];
        while (p) {
            tpart_t *next = p->next;
            p->next = b[p->hash & (n - 1)];
            b[p->hash & (n - 1)] = p;
            p = next;
        }
    }
    free(tr->buckets);
    tr->buckets = b;
    tr->nbuckets = n;
}

static tpart_t *part_get(offset_tracker_t *tr, const char *name)
{
    if (tr->last && strcmp(tr->last->name, name) == 0) return tr->last;
    uint32_t hash = name_hash(name);
    tpart_t *p = tr->buckets[hash & (tr->nbuckets - 1)];
    while (p && (p->hash != hash || strcmp(p->name, name) != 0)) p = p->next;
    if (!p) {
        p = xcalloc(1, sizeof(*p));
        p->name = str_dup(name);
        p->hash = hash;
        p->fcap = 16;
        p->fifo = xmalloc(p->fcap * sizeof(*p->fifo));
        p->next = tr->buckets[hash & (tr->nbuckets - 1)];
        tr->buckets[hash & (tr->nbuckets - 1)] = p;
        if (++tr->nparts > tr->nbuckets) grow_parts(tr);
    }
    tr->last = p;
    return p;
}

static void fifo_push(tpart_t *p, uint64_t handle)
{
    if (p->fcount == p->fcap) {
        /* Unroll the ring into a buffer twice the size. */
        uint64_t *f = xmalloc(p->fcap * 2 * sizeof(*f));
        for (size_t i = 0; i < p->fcount; i++) f[i] = p->fifo[(p->fhead + i) & (p->fcap - 1)];
        free(p->fifo);
        p->fifo = f;
        p->fhead = 0;
        p->fcap *= 2;
    }
    p->fifo[(p->fhead + p->fcount) & (p->fcap - 1)] = handle;
    p->fcount++;
}

static void grow_slots(offset_tracker_t *tr)
{
    size_t cap = tr->cap * 2;
    slot_t *s = xcalloc(cap, sizeof(*s));
    for (uint64_t h = tr->base; h < tr->next; h++) s[h & (cap - 1)] = tr->slots[h & (tr->cap - 1)];
    free(tr->slots);
    tr->slots = s;
    tr->cap = cap;
}

uint64_t offset_tracker_add(offset_tracker_t *tr, const char *partition_json,
                            const char *offset_json)
{
    if (!tr) return 0;
    if (tr->next - tr->base == tr->cap) grow_slots(tr);
    uint64_t h = tr->next++;
    slot_t *s = &tr->slots[h & (tr->cap - 1)];
    s->state = SLOT_PENDING;
    s->holds = 0;
    s->part = NULL;
    s->offset = NULL;
    if (partition_json) {
        /* A record with a partition but no offset still orders that
         * partition: a later offset must not be committed before it lands. */
        s->part = part_get(tr, partition_json);
        s->offset = str_dup(offset_json);
        fifo_push(s->part, h);
    }
    tr->pending++;
    return h;
}

static void mark_dirty(offset_tracker_t *tr, tpart_t *p)
{
    if (p->dirty) return;
    if (tr->ndirty == tr->dirtycap) {
        tr->dirtycap = tr->dirtycap ? tr->dirtycap * 2 : 16;
        tr->dirty = xrealloc(tr->dirty, tr->dirtycap * sizeof(*tr->dirty));
    }
    tr->dirty[tr->ndirty++] = p;
    p->dirty = 1;
}

void offset_tracker_ack(offset_tracker_t *tr, uint64_t handle)
{
    /* Unknown, already finished or duplicate reports are ignored. */
    if (!tr || handle < tr->base || handle >= tr->next) return;
    const size_t mask = tr->cap - 1;
    slot_t *s = &tr->slots[handle & mask];
    if (s->state != SLOT_PENDING) return;
    if (s->holds > 0) { /* another copy of the record is still on its way */
        s->holds--;
        return;
    }
    tr->pending--;
    if (!s->part) {
        s->state = SLOT_DONE;
    } else {
        tpart_t *p = s->part;
        s->state = SLOT_ACKED;
        /* Pop the contiguous acked prefix of this partition. */
        while (p->fcount) {
            slot_t *head = &tr->slots[p->fifo[p->fhead] & mask];
            if (head->state != SLOT_ACKED) break;
            if (head->offset) {
                free(p->committed);
                p->committed = head->offset;
                head->offset = NULL;
                mark_dirty(tr, p);
            }
            head->state = SLOT_DONE;
            p->fhead = (p->fhead + 1) & (p->fcap - 1);
            p->fcount--;
        }
    }
    while (tr->base < tr->next && tr->slots[tr->base & mask].state == SLOT_DONE) tr->base++;
}

void offset_tracker_hold(offset_tracker_t *tr, uint64_t handle)
{
    if (!tr || handle < tr->base || handle >= tr->next) return;
    slot_t *s = &tr->slots[handle & (tr->cap - 1)];
    if (s->state == SLOT_PENDING) s->holds++;
}

int offset_tracker_get(const offset_tracker_t *tr, uint64_t handle, const char **partition_json,
                       const char **offset_json)
{
    if (!tr || handle < tr->base || handle >= tr->next) return -1;
    const slot_t *s = &tr->slots[handle & (tr->cap - 1)];
    if (s->state != SLOT_PENDING) return -1;
    *partition_json = s->part ? s->part->name : NULL;
    *offset_json = s->offset;
    return 0;
}

size_t offset_tracker_pending(const offset_tracker_t *tr)
{
    return tr ? tr->pending : 0;
}

size_t offset_tracker_take(offset_tracker_t *tr, const ferry_offset_t **out)
{
    size_t n = 0;
    if (!tr) {
        if (out) *out = NULL;
        return 0;
    }
    if (tr->ndirty > tr->outcap) {
        tr->outcap = tr->ndirty;
        tr->out = xrealloc(tr->out, tr->outcap * sizeof(*tr->out));
    }
    for (size_t i = 0; i < tr->ndirty; i++) {
        tpart_t *p = tr->dirty[i];
        p->dirty = 0;
        if (!p->committed) continue;
        if (p->taken && strcmp(p->taken, p->committed) == 0) {
            free(p->committed); /* same offset again: nothing new to commit */
        } else {
            /* The previous taken string may still be referenced by the
             * previous result, which is valid until this call: free it now. */
            free(p->taken);
            p->taken = p->committed;
            tr->out[n].source_partition = p->name;
            tr->out[n].source_offset = p->taken;
            n++;
        }
        p->committed = NULL;
    }
    tr->ndirty = 0;
    if (out) *out = n ? tr->out : NULL;
    return n;
}
