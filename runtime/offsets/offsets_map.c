/*
 * offsets_map.c — the in-memory offset store: (connector, partition) → offset.
 *
 * Entries are found through a chained hash table on (connector, canonical
 * partition), so a partition written with another field order or spacing
 * (e.g. by Kafka Connect itself) lands on the same entry. Iteration follows
 * insertion order through a separate array of entry pointers; removing shifts
 * that array, which is O(n) but only happens on resets, and keeps indexes
 * dense for offset_map_entry().
 *
 * Not thread-safe: the owner serializes access.
 */
#include "offsets.h"
#include "offsets_internal.h"

#include "util/log.h"
#include "util/strutil.h"

#include <stdlib.h>
#include <string.h>

typedef struct map_entry {
    char *connector;
    char *partition; /* compact, field order as last written */
    char *canonical; /* compact, sorted keys: the lookup key */
    char *offset;    /* compact, field order as written */
    uint32_t hash;
    size_t index;           /* position in map->order */
    struct map_entry *next; /* hash chain */
} map_entry_t;

struct offset_map {
    map_entry_t **buckets; /* nbuckets, a power of two */
    size_t nbuckets;
    map_entry_t **order; /* insertion order, count entries */
    size_t count, cap;
};

static uint32_t entry_hash(const char *connector, const char *canonical)
{
    /* murmur2 over "connector\0canonical", done in two steps to avoid a copy:
     * any decent mix works here, it only has to be deterministic. */
    uint32_t h = offsets_murmur2(connector, strlen(connector) + 1);
    return h ^ (offsets_murmur2(canonical, strlen(canonical)) * 0x9e3779b1u);
}

offset_map_t *offset_map_new(void)
{
    offset_map_t *map = xcalloc(1, sizeof(*map));
    map->nbuckets = 16;
    map->buckets = xcalloc(map->nbuckets, sizeof(*map->buckets));
    return map;
}

static void entry_free(map_entry_t *e)
{
    free(e->connector);
    free(e->partition);
    free(e->canonical);
    free(e->offset);
    free(e);
}

void offset_map_free(offset_map_t *map)
{
    if (!map) return;
    for (size_t i = 0; i < map->count; i++) entry_free(map->order[i]);
    free(map->order);
    free(map->buckets);
    free(map);
}

static map_entry_t **find_slot(const offset_map_t *map, const char *connector,
                               const char *canonical, uint32_t hash)
{
    map_entry_t **pp = &map->buckets[hash & (map->nbuckets - 1)];
    for (; *pp; pp = &(*pp)->next) {
        map_entry_t *e = *pp;
        if (e->hash == hash && strcmp(e->canonical, canonical) == 0 &&
            strcmp(e->connector, connector) == 0)
            return pp;
    }
    return pp;
}

static void grow_buckets(offset_map_t *map)
{
    size_t n = map->nbuckets * 2;
    map_entry_t **b = xcalloc(n, sizeof(*b));
    for (size_t i = 0; i < map->count; i++) {
        map_entry_t *e = map->order[i];
        e->next = b[e->hash & (n - 1)];
        b[e->hash & (n - 1)] = e;
    }
    free(map->buckets);
    map->buckets = b;
    map->nbuckets = n;
}

static void remove_entry(offset_map_t *map, map_entry_t **slot)
{
    map_entry_t *e = *slot;
    *slot = e->next;
    memmove(&map->order[e->index], &map->order[e->index + 1],
            (map->count - e->index - 1) * sizeof(*map->order));
    map->count--;
    for (size_t i = e->index; i < map->count; i++) map->order[i]->index = i;
    entry_free(e);
}

/* The core of put/apply. Takes ownership of every string argument; offset
 * NULL removes. partition is the compact as-written form. */
static void map_set(offset_map_t *map, char *connector, char *partition, char *canonical,
                    char *offset)
{
    uint32_t hash = entry_hash(connector, canonical);
    map_entry_t **slot = find_slot(map, connector, canonical, hash);
    if (*slot) {
        if (!offset) {
            remove_entry(map, slot);
        } else {
            /* Keep the insertion position; the latest writer's field order wins. */
            free((*slot)->partition);
            free((*slot)->offset);
            (*slot)->partition = partition;
            (*slot)->offset = offset;
            partition = NULL;
        }
        free(connector);
        free(canonical);
        free(partition);
        return;
    }
    if (!offset) {
        free(connector);
        free(partition);
        free(canonical);
        return;
    }
    map_entry_t *e = xcalloc(1, sizeof(*e));
    e->connector = connector;
    e->partition = partition;
    e->canonical = canonical;
    e->offset = offset;
    e->hash = hash;
    e->index = map->count;
    e->next = *slot;
    *slot = e;
    if (map->count == map->cap) {
        map->cap = map->cap ? map->cap * 2 : 16;
        map->order = xrealloc(map->order, map->cap * sizeof(*map->order));
    }
    map->order[map->count++] = e;
    if (map->count > map->nbuckets) grow_buckets(map);
}

void offset_map_put(offset_map_t *map, const char *connector, const char *partition_json,
                    const char *offset_json)
{
    if (!map || !connector || !partition_json) return;
    json_t *part = offsets_json_parse_object(partition_json, strlen(partition_json));
    if (!part) {
        log_warn("offsets: connector %s: partition is not a JSON object: %s", connector,
                 partition_json);
        return;
    }
    char *offset = NULL;
    if (offset_json) {
        offset = offsets_json_compact(offset_json, strlen(offset_json));
        if (!offset) {
            log_warn("offsets: connector %s: offset is not a JSON object: %s", connector,
                     offset_json);
            json_decref(part);
            return;
        }
    }
    char *compact = offsets_json_dump(part, 0), *canonical = offsets_json_dump(part, 1);
    json_decref(part);
    map_set(map, str_dup(connector), compact, canonical, offset);
}

const char *offset_map_get(const offset_map_t *map, const char *connector,
                           const char *partition_json)
{
    if (!map || !connector || !partition_json) return NULL;
    char *canonical = offsets_json_canonical(partition_json, strlen(partition_json));
    if (!canonical) return NULL;
    map_entry_t **slot = find_slot(map, connector, canonical, entry_hash(connector, canonical));
    free(canonical);
    return *slot ? (*slot)->offset : NULL;
}

/* A value that means "reset": absent, empty, or the JSON literal null (what
 * the file store writes, and what a JSON converter reads a tombstone as). */
static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int value_is_reset(const void *value, size_t vlen)
{
    const char *s = value;
    size_t a = 0, b = vlen;
    if (!value || vlen == 0) return 1;
    while (a < b && is_json_space(s[a])) a++;
    while (b > a && is_json_space(s[b - 1])) b--;
    return b - a == 4 && memcmp(s + a, "null", 4) == 0;
}

int offset_map_apply(offset_map_t *map, const void *key, size_t klen, const void *value,
                     size_t vlen)
{
    char *connector = NULL, *partition = NULL, *canonical = NULL, *offset = NULL;
    if (!map) return -1;
    if (offsets_key_parse(key, klen, &connector, &partition, &canonical) != 0) return -1;
    if (!value_is_reset(value, vlen)) {
        json_t *v = offsets_json_parse_object(value, vlen);
        if (!v) {
            free(connector);
            free(partition);
            free(canonical);
            return -1;
        }
        offset = offsets_json_dump(v, 0);
        json_decref(v);
    }
    map_set(map, connector, partition, canonical, offset);
    return 0;
}

size_t offset_map_count(const offset_map_t *map)
{
    return map ? map->count : 0;
}

int offset_map_entry(const offset_map_t *map, size_t index, const char **connector,
                     const char **partition_json, const char **offset_json)
{
    if (!map || index >= map->count) return 0;
    const map_entry_t *e = map->order[index];
    if (connector) *connector = e->connector;
    if (partition_json) *partition_json = e->partition;
    if (offset_json) *offset_json = e->offset;
    return 1;
}

char *offset_map_to_json(const offset_map_t *map, const char *connector)
{
    obuf_t buf = {0};
    int first = 1;
    obuf_append(&buf, "[", 1);
    for (size_t i = 0; map && i < map->count; i++) {
        const map_entry_t *e = map->order[i];
        if (connector && strcmp(connector, e->connector) != 0) continue;
        if (!first) obuf_append(&buf, ",", 1);
        first = 0;
        /* partition and offset are already compact JSON objects: embed as is. */
        obuf_puts(&buf, "{\"connector\":");
        offsets_json_append_string(&buf, e->connector, strlen(e->connector));
        obuf_puts(&buf, ",\"partition\":");
        obuf_puts(&buf, e->partition);
        obuf_puts(&buf, ",\"offset\":");
        obuf_puts(&buf, e->offset);
        obuf_append(&buf, "}", 1);
    }
    obuf_append(&buf, "]", 1);
    return obuf_take(&buf);
}
