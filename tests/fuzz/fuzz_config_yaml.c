/*
 * fuzz_config_yaml.c — fuzz target for pipeline files (runtime/config).
 *
 * The input is a YAML pipeline file. It goes through:
 *   1. cfg_yaml_load_buffer() (libyaml events → tree, ${env:}/${file:}
 *      substitution, aliases, duplicate keys);
 *   2. when that succeeds, worker_config_load() on the same bytes written to
 *      a scratch file (the worker section with its substitution policy, and
 *      the raw connector entries; it fails only where the policy refuses), and
 *      connector_config_build() for every connector against a small option
 *      table with every option type (fuzz-source, fuzz-sink, or no table);
 *   3. connector_config_from_kv() with the connector's scalars flattened
 *      into strings, and with the raw input read as "key=value" lines.
 * Built configs are read through every getter, overlaid and printed as JSON.
 *
 * Checks beyond "no crash, no leak, no UB": a load returns a tree exactly
 * when it reported no error; config_to_json() output is valid JSON; a
 * secret never appears in a validation message, and secret options are
 * "[hidden]" in config_to_json() output.
 */
#include "config/config.h"
#include "engine/host.h"
#include "fuzz_common.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SECRET_ENV "FERRY_FUZZ_SECRET"
#define SECRET_ENV_VALUE "s3cr3t-from-env"

static const char *g_path; /* scratch file for worker_config_load */

/* ---- the connectors the configs are validated against ---- */

static const char *const modes[] = {"fast", "safe", "slow", NULL};

static const ferry_option_t source_opts[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL,
     "Input file."},
    {"mode", FERRY_OPT_ENUM, "safe", 0, 0, 0, modes, "Mode."},
    {"poll.interval", FERRY_OPT_DURATION, "1s",
     FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 10, 3600000, NULL,
     "Poll interval."},
    {"max.size", FERRY_OPT_SIZE, "16MiB", FERRY_OPT_HAS_MAX, 0, 1073741824.0,
     NULL, "Max size."},
    {"count", FERRY_OPT_INT, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, -5,
     100, NULL, "Count."},
    {"ratio", FERRY_OPT_DOUBLE, "0.5", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0,
     1, NULL, "Ratio."},
    {"enabled", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL, "Enabled."},
    {"tables", FERRY_OPT_LIST, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1,
     3, NULL, "Tables."},
    {"props", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL, "Properties."},
    {"password", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "Password."},
    FERRY_OPTIONS_END};

/* Fails for mode "slow", echoing the password: the host must scrub it. */
static ferry_status_t source_validate(const ferry_host_t *host,
                                      const ferry_config_t *cfg,
                                      ferry_error_t *err) {
  const char *mode = host->cfg_string(cfg, "mode");
  if (mode && strcmp(mode, "slow") == 0) {
    const char *pw = host->cfg_string(cfg, "password");
    return ferry_error_set(err, FERRY_ERROR,
                           "mode slow is not allowed with password %s",
                           pw ? pw : "(none)");
  }
  return FERRY_OK;
}

static const ferry_connector_t fuzz_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "fuzz-source",
    .version = "1",
    .options = source_opts,
    .validate = source_validate,
};

static const ferry_option_t sink_opts[] = {
    {"target", FERRY_OPT_STRING, "out", 0, 0, 0, NULL, "Target."},
    {"flush.interval", FERRY_OPT_DURATION, "30s", 0, 0, 0, NULL,
     "Redefined flush interval."},
    {"token", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "Token."},
    FERRY_OPTIONS_END};

static const ferry_connector_t fuzz_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "fuzz-sink",
    .version = "1",
    .options = sink_opts,
};


int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  /* Seeds use ${env:FERRY_FUZZ_SECRET} and ${file:/proc/self/comm}; stdin
   * is closed off so that no ${file:} reference can ever block on it. */
  setenv(SECRET_ENV, SECRET_ENV_VALUE, 1);
  if (!freopen("/dev/null", "r", stdin))
    abort();
  g_path = fuzz_scratch_new("config");
  return 0;
}

/* ---- checks on a built config ---- */

/* The secret, or its first 16 bytes (what a message cut at its buffer size
 * would still show), must not appear in s. Skipped when the check could not
 * tell it from the "[hidden]" marker or it is too short to be scrubbed
 * (< 3 bytes). */
static void check_no_secret(const char *what, const char *s,
                            const char *secret) {
  if (!s || !secret || strlen(secret) < 3)
    return;
  for (const char *p = secret; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9')))
      return;
  if (strstr("[hidden]", secret))
    return;
  size_t n = strlen(secret) < 16 ? strlen(secret) : 16;
  for (const char *p = s; (p = strchr(p, secret[0])) != NULL; p++)
    FUZZ_CHECK(strncmp(p, secret, n) != 0,
               "%s contains (the start of) the secret '%.40s%s': %s", what,
               secret, strlen(secret) > 40 ? "..." : "", s);
}

/* Every secret option in config_to_json() output (redacted or not) is the
 * "[hidden]" marker. */
static void check_secrets_hidden(const char *json,
                                 const ferry_connector_t *desc) {
  json_t *obj = json_loads(json, 0, NULL);
  FUZZ_CHECK(json_is_object(obj), "config JSON is not an object: %s", json);
  for (const ferry_option_t *o = desc ? desc->options : NULL; o && o->name;
       o++) {
    if (o->type != FERRY_OPT_SECRET)
      continue;
    json_t *v = json_object_get(obj, o->name);
    FUZZ_CHECK(!v || (json_is_string(v) &&
                      strcmp(json_string_value(v), "[hidden]") == 0),
               "secret option %s is not hidden in %s", o->name, json);
  }
  json_decref(obj);
}

static void exercise_config(ferry_config_t *cfg,
                            const ferry_connector_t *desc) {
  const ferry_option_t *tables[2] = {
      config_framework_options(desc ? desc->kind : FERRY_SOURCE),
      desc ? desc->options : NULL};
  for (size_t t = 0; t < 2; t++) {
    for (const ferry_option_t *o = tables[t]; o && o->name; o++) {
      const char *const *items, *const *keys, *const *values;
      (void)config_string(cfg, o->name);
      (void)config_int(cfg, o->name);
      (void)config_bool(cfg, o->name);
      (void)config_double(cfg, o->name);
      (void)config_duration_ms(cfg, o->name);
      (void)config_size(cfg, o->name);
      size_t n = config_list(cfg, o->name, &items);
      for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(items[i] != NULL, "list item %zu is NULL", i);
      n = config_map(cfg, o->name, &keys, &values);
      for (size_t i = 0; i < n; i++)
        FUZZ_CHECK(keys[i] && values[i], "map entry %zu has a NULL", i);
      (void)config_is_set(cfg, o->name);
    }
  }
  const char *const *keys, *const *values;
  size_t n = config_prefixed(cfg, "producer.override.", &keys, &values);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(keys[i] && values[i], "prefixed entry %zu", i);
  n = config_prefixed(cfg, "consumer.override.", &keys, &values);
  for (size_t i = 0; i < n; i++)
    FUZZ_CHECK(keys[i] && values[i], "prefixed entry %zu", i);

  char why[256];
  for (int redact = 0; redact < 2; redact++) {
    char *json = config_to_json(cfg, redact);
    FUZZ_CHECK(json && fuzz_json_valid(json, strlen(json), why, sizeof why),
               "config_to_json(%d) is not JSON (%s): %s", redact, why,
               json ? json : "NULL");
    check_secrets_hidden(json, desc);
    free(json);
  }

  /* Task overrides: a declared key parsed by its type, an unknown one kept. */
  const char *okeys[] = {"tasks.max", "task.slot", "count"};
  const char *ovalues[] = {"3", "7", "abc"};
  ferry_config_t *over = config_overlay(cfg, okeys, ovalues, 3);
  if (over) {
    (void)config_int(over, "tasks.max");
    (void)config_string(over, "task.slot");
    (void)config_int(over, "count");
    char *json = config_to_json(over, 1);
    free(json);
    config_free(over);
  }
}

/* After a failed build, the message from validate() (which echoes the
 * password) must have had the password scrubbed. */
static void check_errors_scrubbed(const cfg_errors_t *errs, size_t from,
                                  const char *secret) {
  for (size_t i = from; i < errs->count; i++) {
    const char *msg =
        strstr(errs->items[i], "mode slow is not allowed with password ");
    if (msg)
      check_no_secret("validation message", msg, secret);
  }
}

static const ferry_connector_t *pick_desc(const connector_spec_t *spec,
                                          size_t index) {
  if (spec->connector && strcmp(spec->connector, "fuzz-source") == 0)
    return &fuzz_source;
  if (spec->connector && strcmp(spec->connector, "fuzz-sink") == 0)
    return &fuzz_sink;
  /* Unknown names: still validate, against each table in turn. */
  switch (index % 3) {
  case 0:
    return &fuzz_source;
  case 1:
    return &fuzz_sink;
  default:
    return NULL;
  }
}

/* The raw password the user wrote (scalar), for the scrub check. */
static const char *spec_password(const connector_spec_t *spec) {
  const cfg_node_t *pw = cfg_node_get(spec->node, "password");
  return pw && pw->kind == CFG_SCALAR ? pw->scalar : NULL;
}

static void build_from_kv(const char *name, const char *const *keys,
                          const char *const *values, size_t n,
                          const ferry_connector_t *desc) {
  cfg_errors_t errs = {0};
  ferry_config_t *cfg =
      connector_config_from_kv(name, keys, values, NULL, n, desc, host_api(), &errs);
  FUZZ_CHECK(!cfg == (errs.count > 0), "from_kv returned %p with %zu errors",
             (void *)cfg, errs.count);
  for (size_t i = 0; i < n; i++)
    if (keys[i] && strcmp(keys[i], "password") == 0)
      check_errors_scrubbed(&errs, 0, values[i]);
  if (cfg) {
    exercise_config(cfg, desc);
    config_free(cfg);
  }
  cfg_errors_clear(&errs);
}

/* The connector's mapping as flat strings, the way REST hands them over:
 * lists joined with ',', maps as k=v pairs, nested values dropped. */
static void spec_to_kv(const connector_spec_t *spec,
                       const ferry_connector_t *desc) {
  const cfg_node_t *map = spec->node;
  size_t n = map->count;
  const char **keys = calloc(n ? n : 1, sizeof *keys);
  const char **values = calloc(n ? n : 1, sizeof *values);
  char **owned = calloc(n ? n : 1, sizeof *owned);
  if (!keys || !values || !owned)
    abort();
  for (size_t i = 0; i < n; i++) {
    const cfg_node_t *v = map->items[i];
    keys[i] = map->keys[i];
    if (v->kind == CFG_SCALAR) {
      values[i] = v->scalar;
      continue;
    }
    size_t cap = 1;
    for (size_t j = 0; j < v->count; j++) {
      const cfg_node_t *c = v->items[j];
      cap += (v->keys ? strlen(v->keys[j]) + 1 : 0) +
             (c->scalar ? strlen(c->scalar) : 0) + 1;
    }
    char *s = calloc(cap, 1);
    if (!s)
      abort();
    for (size_t j = 0; j < v->count; j++) {
      const cfg_node_t *c = v->items[j];
      if (j)
        strcat(s, ",");
      if (v->keys) {
        strcat(s, v->keys[j]);
        strcat(s, "=");
      }
      if (c->scalar)
        strcat(s, c->scalar);
    }
    owned[i] = s;
    values[i] = s;
  }
  build_from_kv(spec->name, keys, values, n, desc);
  for (size_t i = 0; i < n; i++)
    free(owned[i]);
  free(owned);
  free(keys);
  free(values);
}

/* The raw input as "key=value" lines ("key" alone = unset). At most 16
 * lines, for one kind picked by the input: unknown keys cost an edit
 * distance against every option, which would otherwise dominate the run. */
static void raw_to_kv(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    abort();
  memcpy(text, data, size);
  text[size] = '\0';
  const char *keys[16], *values[16];
  size_t n = 0;
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line && n < 16;
       line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (eq)
      *eq = '\0';
    keys[n] = line;
    values[n] = eq ? eq + 1 : NULL;
    n++;
  }
  build_from_kv("kv", keys, values, n, size % 2 ? &fuzz_sink : &fuzz_source);
  free(text);
}

static void check_tree(const cfg_node_t *node, int depth) {
  FUZZ_CHECK(depth <= 200, "tree deeper than the parser's limit");
  if (node->kind == CFG_SCALAR) {
    FUZZ_CHECK(node->count == 0, "scalar with %zu children", node->count);
    return;
  }
  FUZZ_CHECK(node->kind == CFG_SEQ || node->kind == CFG_MAP, "bad node kind %d",
             (int)node->kind);
  for (size_t i = 0; i < node->count; i++) {
    if (node->kind == CFG_MAP) {
      FUZZ_CHECK(node->keys[i] != NULL, "NULL key");
      FUZZ_CHECK(cfg_node_get(node, node->keys[i]) == node->items[i],
                 "key '%s' is not unique in its mapping", node->keys[i]);
    }
    check_tree(node->items[i], depth + 1);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_path)
    LLVMFuzzerInitialize(NULL, NULL);
  if (size > 64 * 1024)
    return 0;

  cfg_errors_t errs = {0};
  cfg_node_t *root =
      cfg_yaml_load_buffer("fuzz.yaml", (const char *)data, size, &errs);
  FUZZ_CHECK(!root == (errs.count > 0),
             "cfg_yaml_load_buffer returned %p with %zu errors", (void *)root,
             errs.count);
  int parsed = root != NULL;
  if (root)
    check_tree(root, 0);
  cfg_node_free(root);
  cfg_errors_clear(&errs);

  if (parsed) {
    fuzz_write_file(g_path, data, size);
    worker_config_t *wc = worker_config_load(g_path, &errs);
    /* The buffer was substituted without a policy; the file under its own
     * worker.config.providers.* options, whose refusals all name them. */
    if (!wc) {
      for (size_t i = 0; i < errs.count; i++)
        FUZZ_CHECK(strstr(errs.items[i], "config.providers.") != NULL,
                   "the buffer parsed but the same file did not: %s",
                   errs.items[i]);
      cfg_errors_clear(&errs);
      fuzz_scratch_remove(g_path);
      raw_to_kv(data, size);
      return 0;
    }
    for (size_t i = 0; i < wc->connector_count; i++) {
      const connector_spec_t *spec = &wc->connectors[i];
      const ferry_connector_t *desc = pick_desc(spec, i);
      size_t before = errs.count;
      ferry_config_t *cfg =
          connector_config_build(wc->path, spec, desc, host_api(), &errs);
      FUZZ_CHECK(!cfg == (errs.count > before),
                 "build returned %p with %zu new errors", (void *)cfg,
                 errs.count - before);
      check_errors_scrubbed(&errs, before, spec_password(spec));
      if (cfg) {
        exercise_config(cfg, desc);
        config_free(cfg);
      }
      spec_to_kv(spec, desc);
    }
    worker_config_free(wc);
    cfg_errors_clear(&errs);
    fuzz_scratch_remove(g_path);
  }
  raw_to_kv(data, size);
  return 0;
}
