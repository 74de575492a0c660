/*
 * config_yaml.c — YAML text → cfg_node_t tree, with ${env:..}/${file:..}
 * substitution, and the error list every config function reports into.
 *
 * We read libyaml's event stream rather than its document API because the
 * events carry the position of every key, which the document API loses once
 * it has built a mapping, and because we want to reject duplicate keys as
 * they are seen. Aliases are expanded by copying the anchored node; a node
 * budget keeps a "billion laughs" document from exhausting memory.
 * Scalars are substituted as they are read (config_subst.c), so an alias
 * copies the substituted value and a bad reference is reported once.
 */
#include "config/config_internal.h"
#include "util/strutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

#define YAML_MAX_DEPTH 64
#define YAML_MAX_NODES 200000

/* ---- error list ---------------------------------------------------------- */

void cfg_errors_add(cfg_errors_t *errs, const char *fmt, ...)
{
    if (!errs) return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    errs->items = xrealloc(errs->items, (errs->count + 1) * sizeof(*errs->items));
    errs->items[errs->count++] = msg;
}

void cfg_errors_add_at(cfg_errors_t *errs, const char *file, int line, int col, const char *label,
                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    if (!label) label = "";
    if (!file)
        cfg_errors_add(errs, "%s%s", label, msg);
    else if (line > 0)
        cfg_errors_add(errs, "%s:%d:%d: %s%s", file, line, col, label, msg);
    else
        cfg_errors_add(errs, "%s: %s%s", file, label, msg);
    free(msg);
}

void cfg_errors_clear(cfg_errors_t *errs)
{
    if (!errs) return;
    for (size_t i = 0; i < errs->count; i++) free(errs->items[i]);
    free(errs->items);
    errs->items = NULL;
    errs->count = 0;
}

/* ---- tree ----------------------------------------------------------------- */

void cfg_node_free(cfg_node_t *node)
{
    if (!node) return;
    for (size_t i = 0; i < node->count; i++) {
        if (node->keys) free(node->keys[i]);
        cfg_node_free(node->items[i]);
    }
    free(node->keys);
    free(node->key_lines);
    free(node->key_cols);
    free(node->items);
    free(node->scalar);
    free(node);
}

int cfg_node_equal(const cfg_node_t *a, const cfg_node_t *b)
{
    if (!a || !b) return a == b;
    if (a->kind != b->kind || a->count != b->count) return 0;
    if (a->kind == CFG_SCALAR) return (!a->scalar && !b->scalar) || (a->scalar && b->scalar && strcmp(a->scalar, b->scalar) == 0);
    for (size_t i = 0; i < a->count; i++) {
        if (a->kind == CFG_MAP && strcmp(a->keys[i], b->keys[i]) != 0) return 0;
        if (!cfg_node_equal(a->items[i], b->items[i])) return 0;
    }
    return 1;
}

const cfg_node_t *cfg_node_get(const cfg_node_t *map, const char *key)
{
    if (!map || map->kind != CFG_MAP || !key) return NULL;
    for (size_t i = 0; i < map->count; i++)
        if (strcmp(map->keys[i], key) == 0) return map->items[i];
    return NULL;
}

static cfg_node_t *node_new(cfg_node_kind_t kind, int line, int col)
{
    cfg_node_t *node = xcalloc(1, sizeof(*node));
    node->kind = kind;
    node->line = line;
    node->col = col;
    return node;
}

static void node_append(cfg_node_t *parent, const char *key, int kline, int kcol, cfg_node_t *child)
{
    size_t n = parent->count + 1;
    parent->items = xrealloc(parent->items, n * sizeof(*parent->items));
    parent->items[parent->count] = child;
    if (parent->kind == CFG_MAP) {
        parent->keys = xrealloc(parent->keys, n * sizeof(*parent->keys));
        parent->key_lines = xrealloc(parent->key_lines, n * sizeof(*parent->key_lines));
        parent->key_cols = xrealloc(parent->key_cols, n * sizeof(*parent->key_cols));
        parent->keys[parent->count] = str_dup(key);
        parent->key_lines[parent->count] = kline;
        parent->key_cols[parent->count] = kcol;
    }
    parent->count = n;
}

/* ---- parser state ----------------------------------------------------------- */

typedef struct anchor {
    char *name;
    cfg_node_t *node; /* borrowed: owned by the tree */
} anchor_t;

typedef struct yaml_state {
    yaml_parser_t parser;
    const char *name; /* file name for messages */
    const char *buf;  /* the input, for positions of reader errors */
    size_t len;
    cfg_errors_t *errs;
    size_t errors;    /* errors added by this load */
    int fatal;        /* stop: the event stream can no longer be trusted */
    size_t nodes;     /* node budget, see YAML_MAX_NODES */
    anchor_t *anchors;
    size_t anchor_count;
    /* Nodes dropped from the tree (duplicate keys, ...) live here until the
     * end of the load, because an anchor may still point into them. */
    cfg_node_t *trash;
    const cfg_subst_ctx_t *subst; /* NULL = keep ${..} references as written */
} yaml_state_t;

static void node_discard(yaml_state_t *st, cfg_node_t *node)
{
    if (!st->trash) st->trash = node_new(CFG_SEQ, 0, 0);
    node_append(st->trash, NULL, 0, 0, node);
}

static void yaml_error(yaml_state_t *st, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void yaml_error(yaml_state_t *st, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = str_vprintf(fmt, ap);
    va_end(ap);
    cfg_errors_add_at(st->errs, st->name, line, col, NULL, "%s", msg);
    free(msg);
    st->errors++;
}

/* 1-based line and column (in characters, as libyaml counts them) of byte
 * `offset` of the input. */
static void yaml_offset_position(const yaml_state_t *st, size_t offset, int *line, int *col)
{
    static const char bom[] = "\xef\xbb\xbf";
    size_t start = st->len >= 3 && memcmp(st->buf, bom, 3) == 0 ? 3 : 0;
    *line = 1;
    *col = 1;
    for (size_t i = start; i < offset && i < st->len; i++) {
        unsigned char c = (unsigned char)st->buf[i];
        if (c == '\n' || (c == '\r' && (i + 1 >= st->len || st->buf[i + 1] != '\n'))) {
            (*line)++;
            *col = 1;
        } else if ((c & 0xC0) != 0x80 && c != '\r') {
            (*col)++; /* a character starts here (not a UTF-8 continuation byte) */
        }
    }
}

/* Reports libyaml's own diagnosis, e.g. "mapping values are not allowed in
 * this context", at the position libyaml blames (0-based there). The reader
 * (bad UTF-8, control characters) gives a byte offset instead. */
static void yaml_parser_failed(yaml_state_t *st)
{
    yaml_parser_t *p = &st->parser;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;
    if (p->error == YAML_READER_ERROR) {
        yaml_offset_position(st, p->problem_offset, &line, &col);
        if (strstr(problem, "octet") && p->problem_value >= 0)
            yaml_error(st, line, col, "invalid YAML: %s (byte 0x%02x): the file must be UTF-8 text", problem,
                       (unsigned)p->problem_value);
        else if (p->problem_value >= 0)
            yaml_error(st, line, col, "invalid YAML: %s (U+%04X)", problem, (unsigned)p->problem_value);
        else
            yaml_error(st, line, col, "invalid YAML: %s", problem);
    } else if (p->context)
        yaml_error(st, line, col, "invalid YAML: %s %s (at %d:%d)", problem, p->context,
                   (int)p->context_mark.line + 1, (int)p->context_mark.column + 1);
    else
        yaml_error(st, line, col, "invalid YAML: %s", problem);
    st->fatal = 1;
}

static int yaml_next(yaml_state_t *st, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&st->parser, ev)) {
        yaml_parser_failed(st);
        return -1;
    }
    return 0;
}

/* ---- events → tree ----------------------------------------------------------- */

static int scalar_is_null(const yaml_event_t *ev)
{
    if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) return 0;
    const char *v = (const char *)ev->data.scalar.value;
    return !*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static cfg_node_t *node_clone(yaml_state_t *st, const cfg_node_t *src)
{
    if (++st->nodes > YAML_MAX_NODES) return NULL;
    cfg_node_t *node = node_new(src->kind, src->line, src->col);
    node->scalar = str_dup(src->scalar);
    node->secret_subst = src->secret_subst;
    for (size_t i = 0; i < src->count; i++) {
        cfg_node_t *child = node_clone(st, src->items[i]);
        if (!child) {
            cfg_node_free(node);
            return NULL;
        }
        node_append(node, src->keys ? src->keys[i] : NULL, src->key_lines ? src->key_lines[i] : 0,
                    src->key_cols ? src->key_cols[i] : 0, child);
    }
    return node;
}

static void anchor_remember(yaml_state_t *st, const yaml_char_t *name, cfg_node_t *node)
{
    if (!name) return;
    st->anchors = xrealloc(st->anchors, (st->anchor_count + 1) * sizeof(*st->anchors));
    st->anchors[st->anchor_count].name = str_dup((const char *)name);
    st->anchors[st->anchor_count].node = node;
    st->anchor_count++;
}

static cfg_node_t *parse_node(yaml_state_t *st, yaml_event_t *ev, int depth);

static cfg_node_t *parse_alias(yaml_state_t *st, yaml_event_t *ev, int line, int col)
{
    const char *name = (const char *)ev->data.alias.anchor;
    /* Search backwards: a later anchor with the same name shadows an earlier one. */
    for (size_t i = st->anchor_count; i-- > 0;) {
        if (strcmp(st->anchors[i].name, name) != 0) continue;
        cfg_node_t *copy = node_clone(st, st->anchors[i].node);
        if (!copy) {
            yaml_error(st, line, col, "document too large after expanding aliases (more than %d nodes)",
                       YAML_MAX_NODES);
            st->fatal = 1;
        }
        return copy;
    }
    yaml_error(st, line, col, "unknown alias '*%s'", name);
    st->fatal = 1;
    return NULL;
}

static cfg_node_t *parse_scalar(yaml_state_t *st, yaml_event_t *ev, int line, int col)
{
    cfg_node_t *node = node_new(CFG_SCALAR, line, col);
    if (!scalar_is_null(ev)) {
        const char *text = (const char *)ev->data.scalar.value;
        int substituted = 0;
        node->scalar = st->subst ? cfg_subst_string(st->subst, text, st->name, line, col, &substituted, st->errs)
                                 : str_dup(text);
        node->secret_subst = substituted;
        /* A failed substitution is reported; keep an empty string so the
         * rest of the file is still checked. */
        if (!node->scalar) {
            st->errors++;
            node->scalar = str_dup("");
        }
    }
    anchor_remember(st, ev->data.scalar.anchor, node);
    return node;
}

static cfg_node_t *parse_sequence(yaml_state_t *st, yaml_event_t *ev, int line, int col, int depth)
{
    cfg_node_t *node = node_new(CFG_SEQ, line, col);
    anchor_remember(st, ev->data.sequence_start.anchor, node);
    for (;;) {
        yaml_event_t child_ev;
        if (yaml_next(st, &child_ev) < 0) break;
        if (child_ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&child_ev);
            return node;
        }
        cfg_node_t *child = parse_node(st, &child_ev, depth + 1);
        yaml_event_delete(&child_ev);
        if (!child) break;
        node_append(node, NULL, 0, 0, child);
    }
    return node; /* st->fatal is set; the caller frees the whole tree */
}

static cfg_node_t *parse_mapping(yaml_state_t *st, yaml_event_t *ev, int line, int col, int depth)
{
    cfg_node_t *node = node_new(CFG_MAP, line, col);
    anchor_remember(st, ev->data.mapping_start.anchor, node);
    for (;;) {
        yaml_event_t key_ev;
        if (yaml_next(st, &key_ev) < 0) break;
        if (key_ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&key_ev);
            return node;
        }
        int kline = (int)key_ev.start_mark.line + 1, kcol = (int)key_ev.start_mark.column + 1;
        if (key_ev.type != YAML_SCALAR_EVENT) {
            yaml_error(st, kline, kcol, "mapping keys must be plain strings, not %s",
                       key_ev.type == YAML_ALIAS_EVENT ? "aliases" : "lists or mappings");
            yaml_event_delete(&key_ev);
            st->fatal = 1;
            break;
        }
        char *key = str_dup((const char *)key_ev.data.scalar.value);
        int is_null_key = scalar_is_null(&key_ev);
        yaml_event_delete(&key_ev);

        yaml_event_t val_ev;
        if (yaml_next(st, &val_ev) < 0) {
            free(key);
            break;
        }
        cfg_node_t *child = parse_node(st, &val_ev, depth + 1);
        yaml_event_delete(&val_ev);
        if (!child) {
            free(key);
            break;
        }
        if (is_null_key) {
            yaml_error(st, kline, kcol, "empty mapping key");
            node_discard(st, child);
        } else if (strcmp(key, "<<") == 0) {
            yaml_error(st, kline, kcol, "merge keys ('<<') are not supported; repeat the options instead");
            node_discard(st, child);
        } else {
            size_t i;
            for (i = 0; i < node->count; i++)
                if (strcmp(node->keys[i], key) == 0) break;
            if (i < node->count) {
                yaml_error(st, kline, kcol, "duplicate key '%s' (first at %d:%d)", key,
                           node->key_lines[i], node->key_cols[i]);
                node_discard(st, child);
            } else {
                node_append(node, key, kline, kcol, child);
            }
        }
        free(key);
    }
    return node;
}

/* Builds the node that starts with ev (not consumed here: the caller deletes
 * it). Returns NULL only together with st->fatal. */
static cfg_node_t *parse_node(yaml_state_t *st, yaml_event_t *ev, int depth)
{
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    if (depth > YAML_MAX_DEPTH) {
        yaml_error(st, line, col, "nesting deeper than %d levels", YAML_MAX_DEPTH);
        st->fatal = 1;
        return NULL;
    }
    if (++st->nodes > YAML_MAX_NODES) {
        yaml_error(st, line, col, "document too large (more than %d nodes)", YAML_MAX_NODES);
        st->fatal = 1;
        return NULL;
    }
    cfg_node_t *node = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: return parse_scalar(st, ev, line, col);
    case YAML_ALIAS_EVENT: return parse_alias(st, ev, line, col);
    case YAML_SEQUENCE_START_EVENT: node = parse_sequence(st, ev, line, col, depth); break;
    case YAML_MAPPING_START_EVENT: node = parse_mapping(st, ev, line, col, depth); break;
    default:
        yaml_error(st, line, col, "unexpected YAML event");
        st->fatal = 1;
        return NULL;
    }
    if (st->fatal) {
        cfg_node_free(node);
        return NULL;
    }
    return node;
}

/* Stream → exactly one document (an empty stream is an empty mapping). */
static cfg_node_t *parse_stream(yaml_state_t *st)
{
    yaml_event_t ev;
    cfg_node_t *root = NULL;
    int docs = 0;
    for (;;) {
        if (yaml_next(st, &ev) < 0) break;
        yaml_event_type_t type = ev.type;
        if (type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (type == YAML_DOCUMENT_START_EVENT && ++docs > 1) {
            yaml_error(st, (int)ev.start_mark.line + 1, (int)ev.start_mark.column + 1,
                       "more than one YAML document in the file");
            yaml_event_delete(&ev);
            st->fatal = 1;
            break;
        }
        if (type == YAML_SCALAR_EVENT || type == YAML_ALIAS_EVENT ||
            type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT) {
            root = parse_node(st, &ev, 0);
        }
        yaml_event_delete(&ev);
        if (st->fatal) break;
    }
    if (st->fatal) {
        cfg_node_free(root);
        return NULL;
    }
    if (!root) root = node_new(CFG_MAP, 1, 1);
    return root;
}

cfg_node_t *cfg_yaml_load_buffer(const char *name, const char *buf, size_t len, cfg_errors_t *errs)
{
    return cfg_yaml_load_buffer_with(name, buf, len, &CFG_SUBST_OPERATOR, errs);
}

cfg_node_t *cfg_yaml_load_buffer_with(const char *name, const char *buf, size_t len,
                                      const cfg_subst_ctx_t *subst, cfg_errors_t *errs)
{
    yaml_state_t st;
    memset(&st, 0, sizeof(st));
    st.name = name ? name : "<config>";
    st.errs = errs;
    st.subst = subst;
    st.buf = buf;
    st.len = len;
    if (!yaml_parser_initialize(&st.parser)) {
        cfg_errors_add(errs, "%s: cannot initialize the YAML parser", st.name);
        return NULL;
    }
    yaml_parser_set_input_string(&st.parser, (const unsigned char *)buf, len);
    cfg_node_t *root = parse_stream(&st);
    yaml_parser_delete(&st.parser);
    for (size_t i = 0; i < st.anchor_count; i++) free(st.anchors[i].name);
    free(st.anchors);
    cfg_node_free(st.trash);
    if (st.errors) {
        cfg_node_free(root);
        return NULL;
    }
    return root;
}

cfg_node_t *cfg_yaml_load_file(const char *path, cfg_errors_t *errs)
{
    return cfg_yaml_load_file_with(path, &CFG_SUBST_OPERATOR, errs);
}

cfg_node_t *cfg_yaml_load_file_with(const char *path, const cfg_subst_ctx_t *subst, cfg_errors_t *errs)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        cfg_errors_add(errs, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat sbuf;
    if (fstat(fileno(f), &sbuf) == 0 && S_ISDIR(sbuf.st_mode)) {
        cfg_errors_add(errs, "%s: is a directory, not a pipeline file", path);
        fclose(f);
        return NULL;
    }
    strbuf_t sb = {0};
    char chunk[8192];
    size_t n;
    strbuf_add(&sb, "", 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) strbuf_add(&sb, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        cfg_errors_add(errs, "%s: read error", path);
        free(sb.s);
        return NULL;
    }
    cfg_node_t *root = cfg_yaml_load_buffer_with(path, sb.s, sb.len, subst, errs);
    free(sb.s);
    return root;
}
