/*
 * config_internal.h — shared between the files of runtime/config only.
 *
 * A ferry_config_t is a flat, ordered list of entries. Declared entries come
 * from an option table and carry a parsed value of the table's type; extra
 * entries (producer.override.*, overlay keys nobody declared) are raw
 * strings. Entries keep their own copy of the type so that a config never
 * points into a plugin's option table (the plugin may be unloaded first).
 */
#ifndef FERRY_CONFIG_INTERNAL_H
#define FERRY_CONFIG_INTERNAL_H

#include "config/config.h"

typedef struct cfg_entry {
    char *name;            /* owned */
    ferry_opt_type_t type; /* FERRY_OPT_STRING for extra entries */
    int declared;          /* 1 = from an option table */
    int is_set;            /* the user gave a value (not the default) */
    int subst;             /* the value came (partly) from ${..} substitution */
    char *text;            /* owned; string form, NULL = no value at all */
    int64_t num;           /* int, bool, duration (ms), size (bytes) */
    double dbl;            /* double (and int, converted) */
    char **items;          /* owned; list items, or map keys */
    char **values;         /* owned; map values */
    size_t count;          /* number of items / map entries */
} cfg_entry_t;

struct ferry_config {
    char *name; /* owned */
    ferry_kind_t kind;
    cfg_entry_t *entries; /* owned, in option order, then extras in input order */
    size_t count, cap;
    /* Scratch arrays behind config_prefixed(); the one mutable part of a
     * built config, which is why that getter is not thread-safe. */
    const char **scratch_keys, **scratch_values;
    size_t scratch_cap;
};

/* ---- config_store.c ---- */
ferry_config_t *cfg_config_new(const char *name, ferry_kind_t kind);
/* Appends an empty entry named `name` and returns it (stable until the next append). */
cfg_entry_t *cfg_config_add(ferry_config_t *cfg, const char *name);
cfg_entry_t *cfg_config_find(const ferry_config_t *cfg, const char *name);
void cfg_entry_clear_value(cfg_entry_t *e);
/* Replaces e's value with a copy of src's value (not its name). */
void cfg_entry_copy_value(cfg_entry_t *e, const cfg_entry_t *src);
/* 1 when a value must never appear in messages or unredacted output. */
int cfg_entry_is_secret(const cfg_entry_t *e);
/* Replaces every occurrence of a secret or substituted value of cfg inside
 * msg with "[hidden]" (values shorter than 3 bytes are left: they would
 * mangle the message and cannot be meaningfully protected). malloc'd. */
char *cfg_config_scrub(const ferry_config_t *cfg, const char *msg);

/* ---- config_values.c ---- */
/* Parses a value for opt into e (which must have no value). The value is a
 * node (YAML) or, when node is NULL, the string str (kv input). On error
 * returns -1 and writes a message that never contains the value itself. */
int cfg_value_parse(const ferry_option_t *opt, const cfg_node_t *node, const char *str,
                    cfg_entry_t *e, char *err, size_t errlen);
/* Checks FERRY_OPT_HAS_MIN/HAS_MAX; the message shows the value only when show. */
int cfg_value_check_bounds(const ferry_option_t *opt, const cfg_entry_t *e, int show, char *err,
                           size_t errlen);
int cfg_parse_int(const char *s, int64_t *out);
int cfg_parse_double(const char *s, double *out);
/* Splits a comma-separated string: items trimmed, empty ones dropped. */
size_t cfg_split_list(const char *s, char ***items);

/* ---- config_connector.c: the validation engine, shared with the worker ---- */

typedef struct cfg_input {
    const char *key;
    const cfg_node_t *node; /* YAML value, or NULL for kv input */
    const char *str;        /* kv value when node is NULL; NULL = unset */
    int subst;              /* kv: str came from ${..} substitution (a secret) */
    int line, col;          /* key position, 0 when unknown */
} cfg_input_t;

typedef struct cfg_build_ctx {
    const char *file;    /* for positions; NULL = no positions (kv input) */
    const char *label;   /* message prefix after the position, e.g. "connector x: " */
    const char *noun;    /* "option" or "worker option" */
    int line, col;       /* where to report errors that have no key (missing required) */
    cfg_errors_t *errs;
    size_t errors;       /* errors added by this build */
    const char *override_prefix; /* "producer.override." / "consumer.override." / NULL */
    const char *wrong_override_prefix; /* the other kind's prefix, for a better message */
} cfg_build_ctx_t;

/* Validates inputs against tables (earlier tables win on duplicate names;
 * entries are ordered by the LAST table first, so framework options, passed
 * last, come first). Returns the config even when errors were added. */
ferry_config_t *cfg_build(cfg_build_ctx_t *ctx, const char *name, ferry_kind_t kind,
                          const ferry_option_t *const *tables, size_t ntables,
                          const cfg_input_t *inputs, size_t ninputs);
void cfg_build_error(cfg_build_ctx_t *ctx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
