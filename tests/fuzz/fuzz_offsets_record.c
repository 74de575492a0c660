/*
 * fuzz_offsets_record.c — fuzz target for offset records (runtime/offsets).
 *
 * Input layout: the first byte is the key length K (clamped to what is
 * left); the next K bytes are a record key, the rest its value, as read from
 * the offsets topic. The key and value go through offsets_key_decode(),
 * offsets_json_canonical(), offsets_json_compact() and offset_map_apply().
 * Independently, the whole input (first byte included) is loaded as an
 * offsets FILE with offsets_file_load().
 *
 * Checks beyond "no crash, no leak, no UB":
 *   - canonical and compact forms are idempotent and agree with each other;
 *   - a decoded key re-encodes to a key that decodes the same;
 *   - an applied record can be read back with offset_map_get();
 *   - offsets_record_encode() of what was read gives a record that applies
 *     to the same entry;
 *   - a loaded file saved and loaded again gives the same map, in order;
 *   - offset_map_to_json() is valid JSON.
 */
#include "fuzz_common.h"
#include "offsets/offsets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *g_load_path, *g_save_path;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  g_load_path = fuzz_scratch_new("offsets-in");
  g_save_path = fuzz_scratch_new("offsets-out");
  return 0;
}

static int streq(const char *a, const char *b) {
  return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Canonical and compact forms of one JSON text, and their fixed points. */
static void check_json_forms(const uint8_t *s, size_t len) {
  char *canon = offsets_json_canonical((const char *)s, len);
  char *compact = offsets_json_compact((const char *)s, len);
  FUZZ_CHECK(!canon == !compact, "canonical %s but compact %s",
             canon ? "ok" : "NULL", compact ? "ok" : "NULL");
  if (canon) {
    char *again = offsets_json_canonical(canon, strlen(canon));
    FUZZ_CHECK(streq(again, canon), "canonical is not idempotent: %s -> %s",
               canon, again ? again : "NULL");
    free(again);
    again = offsets_json_compact(compact, strlen(compact));
    FUZZ_CHECK(streq(again, compact), "compact is not idempotent: %s -> %s",
               compact, again ? again : "NULL");
    free(again);
    again = offsets_json_canonical(compact, strlen(compact));
    FUZZ_CHECK(streq(again, canon),
               "canonical(compact(x)) %s != canonical(x) %s",
               again ? again : "NULL", canon);
    free(again);
    FUZZ_CHECK(!strchr(canon, '\n') && !strchr(canon, '\t'),
               "raw newline/tab in %s", canon);
  }
  free(canon);
  free(compact);
}

static void check_record(const uint8_t *key, size_t klen, const uint8_t *value,
                         size_t vlen) {
  char *connector = NULL, *partition = NULL;
  if (offsets_key_decode(key, klen, &connector, &partition) == 0) {
    FUZZ_CHECK(connector && partition, "decode succeeded without results");
    char *key2 = offsets_key_encode(connector, partition);
    FUZZ_CHECK(key2 != NULL, "a decoded partition %s does not encode",
               partition);
    char *connector2 = NULL, *partition2 = NULL;
    FUZZ_CHECK(
        offsets_key_decode(key2, strlen(key2), &connector2, &partition2) == 0,
        "re-encoded key %s does not decode", key2);
    FUZZ_CHECK(streq(connector, connector2) && streq(partition, partition2),
               "key round trip changed it: %s", key2);
    free(connector2);
    free(partition2);
    free(key2);
  }

  offset_map_t *map = offset_map_new();
  int rc = offset_map_apply(map, key, klen, value, vlen);
  if (rc == 0 && offset_map_count(map) == 1) {
    const char *c, *p, *o;
    FUZZ_CHECK(offset_map_entry(map, 0, &c, &p, &o), "entry 0 missing");
    FUZZ_CHECK(connector && streq(c, connector), "connector changed");
    const char *got = offset_map_get(map, c, p);
    FUZZ_CHECK(got && streq(got, o),
               "offset_map_get does not find the entry just applied");
    /* Encode it again as the engine would and apply to a fresh map. */
    char *k2, *v2;
    size_t k2len, v2len;
    int32_t part;
    FUZZ_CHECK(offsets_record_encode(c, p, o, 25, &k2, &k2len, &v2, &v2len,
                                     &part) == 0,
               "stored entry does not encode: %s / %s", p, o);
    FUZZ_CHECK(part >= 0 && part < 25, "partition %d out of range", part);
    offset_map_t *map2 = offset_map_new();
    FUZZ_CHECK(offset_map_apply(map2, k2, k2len, v2, v2len) == 0,
               "encoded record rejected");
    FUZZ_CHECK(streq(offset_map_get(map2, connector, partition), o),
               "encoded record differs");
    /* A reset removes it again. */
    FUZZ_CHECK(offset_map_apply(map2, k2, k2len, NULL, 0) == 0,
               "reset rejected");
    FUZZ_CHECK(offset_map_count(map2) == 0, "reset left %zu entries",
               offset_map_count(map2));
    offset_map_free(map2);
    free(k2);
    free(v2);
  }
  char *json = offset_map_to_json(map, NULL);
  char why[256];
  FUZZ_CHECK(fuzz_json_valid(json, strlen(json), why, sizeof why),
             "map JSON invalid (%s): %s", why, json);
  free(json);
  offset_map_free(map);
  free(connector);
  free(partition);
}

static void check_file(const uint8_t *data, size_t size) {
  char err[512];
  fuzz_write_file(g_load_path, data, size);
  offset_map_t *map = offset_map_new();
  (void)offsets_file_load(g_load_path, map, err, sizeof err);
  /* Whatever loaded (all of it, or the records before a bad line) must
   * survive a save and a load unchanged. */
  if (offset_map_count(map) > 0) {
    FUZZ_CHECK(offsets_file_save(g_save_path, map, err, sizeof err) == 0,
               "save failed: %s", err);
    offset_map_t *map2 = offset_map_new();
    FUZZ_CHECK(offsets_file_load(g_save_path, map2, err, sizeof err) == 0,
               "a saved file does not load: %s", err);
    FUZZ_CHECK(offset_map_count(map2) == offset_map_count(map),
               "%zu entries saved, %zu loaded", offset_map_count(map),
               offset_map_count(map2));
    for (size_t i = 0; i < offset_map_count(map); i++) {
      const char *c1, *p1, *o1, *c2, *p2, *o2;
      offset_map_entry(map, i, &c1, &p1, &o1);
      offset_map_entry(map2, i, &c2, &p2, &o2);
      FUZZ_CHECK(streq(c1, c2) && streq(p1, p2) && streq(o1, o2),
                 "entry %zu changed through save/load: %s %s %s -> %s %s %s", i,
                 c1, p1, o1, c2, p2, o2);
    }
    char *json = offset_map_to_json(map, NULL);
    char why[256];
    FUZZ_CHECK(fuzz_json_valid(json, strlen(json), why, sizeof why),
               "map JSON invalid (%s): %s", why, json);
    free(json);
    const char *c;
    offset_map_entry(map, 0, &c, NULL, NULL);
    json = offset_map_to_json(map, c);
    free(json);
    offset_map_free(map2);
  }
  offset_map_free(map);
  fuzz_scratch_remove(g_load_path);
  fuzz_scratch_remove(g_save_path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_load_path)
    LLVMFuzzerInitialize(NULL, NULL);
  if (size == 0 || size > 64 * 1024)
    return 0;
  size_t klen = data[0];
  if (klen > size - 1)
    klen = size - 1;
  const uint8_t *key = data + 1, *value = data + 1 + klen;
  size_t vlen = size - 1 - klen;

  check_json_forms(key, klen);
  check_json_forms(value, vlen);
  check_record(key, klen, value, vlen);
  (void)offsets_murmur2(data, size);
  check_file(data, size);
  return 0;
}
