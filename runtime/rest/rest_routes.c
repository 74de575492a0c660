/*
 * rest_routes.c — the admin REST API's routes, as Kafka Connect's: what
 * concerns the worker runs on its main thread (worker_call, view_run); the
 * plugin registry is immutable and read here directly.
 */
#include <jansson.h>
#include <microhttpd.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "build_info.h"
#include "engine/admin.h"
#include "engine/host.h"
#include "rest/rest_internal.h"
#include "util/log.h"
#include "util/strutil.h"

/* ---- views through the main thread -------------------------------------------------------- */

typedef enum view_kind {
    VIEW_NAMES,
    VIEW_EXPANDED,
    VIEW_INFO,
    VIEW_CONFIG,
    VIEW_STATUS,
    VIEW_TASKS,
    VIEW_TASK_STATUS,
    VIEW_READY,
    VIEW_METRICS,
    VIEW_RESTART,
    VIEW_TASK_RESTART,
    VIEW_TARGET,
    VIEW_PUT,
    VIEW_GIVEN,
    VIEW_DELETE,
    VIEW_OFFSETS,
    VIEW_OFFSETS_ALTER,
    VIEW_TOPICS,
} view_kind_t;

typedef struct view {
    view_kind_t kind;
    const char *name;
    int task;
    int expand_status, expand_info;
    int include_tasks, only_failed; /* VIEW_RESTART */
    int rc;
    /* VIEW_PUT and other changes */
    const ferry_connector_t *desc;
    ferry_config_t *cfg;       /* taken by the call */
    json_t *body;              /* the config as given */
    int create_only;
    conn_target_t target;
    admin_rc_t arc;
    char err[512];
    /* results */
    json_t *out;
    char *text;
    int ready;
    char why[256];
} view_t;

static void view_run(worker_t *w, void *arg)
{
    view_t *v = arg;
    switch (v->kind) {
    case VIEW_NAMES:
        v->out = admin_connector_names(w);
        break;
    case VIEW_EXPANDED: {
        json_t *names = admin_connector_names(w), *o = json_object();
        size_t i;
        json_t *n;
        json_array_foreach(names, i, n) {
            const char *name = json_string_value(n);
            json_t *e = json_object();
            if (v->expand_status) json_object_set_new(e, "status", admin_connector_status(w, name));
            if (v->expand_info) json_object_set_new(e, "info", admin_connector_info(w, name));
            json_object_set_new(o, name, e);
        }
        json_decref(names);
        v->out = o;
        break;
    }
    case VIEW_INFO:
        v->out = admin_connector_info(w, v->name);
        break;
    case VIEW_CONFIG:
        v->out = admin_connector_config(w, v->name);
        break;
    case VIEW_STATUS:
        v->out = admin_connector_status(w, v->name);
        break;
    case VIEW_TASKS:
        v->out = admin_connector_tasks(w, v->name);
        break;
    case VIEW_TASK_STATUS:
        v->ready = admin_connector_exists(w, v->name);
        v->out = admin_task_status(w, v->name, v->task);
        break;
    case VIEW_READY:
        v->ready = admin_ready(w, v->why, sizeof(v->why));
        break;
    case VIEW_METRICS:
        v->text = admin_metrics(w);
        break;
    case VIEW_RESTART:
        v->rc = admin_connector_restart(w, v->name, v->include_tasks, v->only_failed);
        if (v->rc == 0 && v->include_tasks) v->out = admin_connector_status(w, v->name);
        break;
    case VIEW_TASK_RESTART:
        v->rc = admin_task_restart(w, v->name, v->task);
        break;
    case VIEW_TARGET:
        v->arc = admin_connector_target(w, v->name, v->target, v->err, sizeof(v->err));
        break;
    case VIEW_PUT:
        v->arc = admin_connector_put(w, v->name, v->desc, v->cfg, v->body, v->create_only, v->err, sizeof(v->err));
        v->cfg = NULL;
        if (v->arc == ADMIN_OK || v->arc == ADMIN_CREATED) v->out = admin_connector_info(w, v->name);
        break;
    case VIEW_GIVEN:
        v->out = admin_connector_given(w, v->name, v->err, sizeof(v->err));
        break;
    case VIEW_DELETE:
        v->arc = admin_connector_delete(w, v->name, v->err, sizeof(v->err));
        break;
    case VIEW_OFFSETS:
        v->out = admin_offsets_get(w, v->name, v->err, sizeof(v->err));
        break;
    case VIEW_OFFSETS_ALTER:
        v->arc = admin_offsets_alter(w, v->name, v->body, v->err, sizeof(v->err));
        break;
    case VIEW_TOPICS:
        v->out = admin_connector_topics(w, v->name);
        break;
    }
}

/* 0, or -1 when the worker did not answer (then an error was sent). */
static int view(rest_t *r, request_t *q, struct MHD_Connection *c, view_t *v)
{
    if (worker_call(r->w, view_run, v, REST_CALL_TIMEOUT_MS) == 0) return 0;
    send_error(q, c, MHD_HTTP_SERVICE_UNAVAILABLE, "the worker is not taking requests (starting, stopping or busy)");
    return -1;
}

/* ---- plugins ---------------------------------------------------------------------------- */

static const char *connect_type(ferry_opt_type_t t)
{
    switch (t) {
    case FERRY_OPT_INT:
        return "LONG";
    case FERRY_OPT_BOOL:
        return "BOOLEAN";
    case FERRY_OPT_DOUBLE:
        return "DOUBLE";
    case FERRY_OPT_LIST:
        return "LIST";
    case FERRY_OPT_SECRET:
        return "PASSWORD";
    default:
        return "STRING";
    }
}

static json_t *option_definition(const ferry_option_t *o, const char *group, int order)
{
    const char *def = o->type == FERRY_OPT_SECRET && o->default_value ? "[hidden]" : o->default_value;
    json_t *d = json_pack("{s:s, s:s, s:b, s:s?, s:s, s:s?, s:s, s:i, s:s, s:s, s:[]}", "name", o->name, "type",
                          connect_type(o->type), "required", (o->flags & FERRY_OPT_REQUIRED) != 0, "default_value",
                          def, "importance", (o->flags & FERRY_OPT_REQUIRED) ? "HIGH" : "MEDIUM", "documentation",
                          o->description, "group", group, "order_in_group", order, "width", "NONE", "display_name",
                          o->name, "dependents");
    return d ? d : json_pack("{s:s}", "name", o->name);
}

/* Every option of a connector, framework options first, each once. */
typedef void (*option_fn)(const ferry_option_t *o, const char *group, int order, void *arg);
static void each_option(const ferry_connector_t *desc, option_fn fn, void *arg)
{
    const ferry_option_t *fw = config_framework_options(desc->kind);
    int order = 0;
    for (const ferry_option_t *o = fw; o && o->name; o++) fn(o, "Common", ++order, arg);
    order = 0;
    for (const ferry_option_t *o = desc->options; o && o->name; o++) {
        int dup = 0;
        for (const ferry_option_t *f = fw; f && f->name && !dup; f++) dup = strcmp(f->name, o->name) == 0;
        if (!dup) fn(o, desc->name, ++order, arg);
    }
}

static void add_definition(const ferry_option_t *o, const char *group, int order, void *arg)
{
    json_array_append_new(arg, option_definition(o, group, order));
}

static json_t *plugin_list(const plugin_registry_t *reg)
{
    json_t *a = json_array();
    for (size_t i = 0; i < plugin_registry_count(reg); i++) {
        const ferry_connector_t *d = plugin_registry_get(reg, i, NULL, NULL);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "class", d->name, "type",
                                           d->kind == FERRY_SOURCE ? "source" : "sink", "version",
                                           d->version ? d->version : FERRY_VERSION));
    }
    return a;
}

/* ---- validate ---------------------------------------------------------------------------- */

typedef struct validate_ctx {
    json_t *configs;   /* array of {definition, value} */
    json_t *body;
    const cfg_errors_t *errs;
    int *used;         /* which error messages found their field */
    int (*names)(const char *msg, const char *option); /* does msg speak of option? */
} validate_ctx_t;

/* The first 'quoted' word of a message: the option it is about. */
static int message_names(const char *msg, const char *name)
{
    const char *q = strchr(msg, '\'');
    if (!q) return 0;
    size_t n = strlen(name);
    return strncmp(q + 1, name, n) == 0 && q[1 + n] == '\'';
}

/* A transform's or predicate's key, "transforms.NAME.OPT": messages say
 * "transform NAME: ... 'OPT' ..." (OPT "type": any message about NAME). */
static int message_names_step(const char *msg, const char *key)
{
    int pred = strncmp(key, "predicates.", 11) == 0;
    const char *name = key + 11; /* both prefixes are 11 characters */
    const char *dot = strchr(name, '.'); /* NAME has no dot; OPT may */
    if (!dot) return 0;
    char *who = str_printf("%s %.*s", pred ? "predicate" : "transform", (int)(dot - name), name);
    const char *at = strstr(msg, who);
    size_t n = strlen(who);
    free(who);
    if (!at || (at[n] != ':' && at[n] != ' ')) return 0;
    if (strcmp(dot + 1, "type") == 0) return 1;
    char *quoted = str_printf("'%s'", dot + 1);
    int hit = strstr(at, quoted) != NULL;
    free(quoted);
    return hit;
}

static void add_validated(const ferry_option_t *o, const char *group, int order, void *arg)
{
    validate_ctx_t *v = arg;
    json_t *given = json_object_get(v->body, o->name);
    if (!given && strcmp(o->name, "connector") == 0) given = json_object_get(v->body, "connector.class");
    json_t *errors = json_array();
    for (size_t i = 0; i < v->errs->count; i++)
        if (!v->used[i] && v->names(v->errs->items[i], o->name)) {
            json_array_append_new(errors, json_string(v->errs->items[i]));
            v->used[i] = 1;
        }
    json_t *value;
    if (o->type == FERRY_OPT_SECRET && given)
        value = json_string("[hidden]");
    else if (json_is_string(given))
        value = json_deep_copy(given);
    else if (given && !json_is_null(given)) {
        /* Connect's value is the string the config holds. */
        char *text = json_dumps(given, JSON_ENCODE_ANY | JSON_COMPACT);
        value = json_string(text ? text : "");
        free(text);
    }
    else
        value = o->default_value && o->type != FERRY_OPT_SECRET ? json_string(o->default_value) : json_null();
    json_array_append_new(v->configs, json_pack("{s:o, s:{s:s, s:o, s:[], s:o, s:b}}", "definition",
                                                option_definition(o, group, order), "value", "name", o->name, "value",
                                                value, "recommended_values", "errors", errors, "visible", 1));
}

static json_t *validate_result(rest_t *r, const ferry_connector_t *desc, json_t *body)
{
    cfg_errors_t errs = {0};
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *config = json_deep_copy(body);
    json_object_del(config, "name");
    if (!json_object_get(config, "connector.class") && !json_object_get(config, "connector"))
        json_object_set_new(config, "connector.class", json_string(desc->name));
    const ferry_connector_t *d = NULL;
    ferry_config_t *cfg = conn_config_from_json(r->wc, r->reg, name ? name : "validate", config, &d, &errs);
    config_free(cfg);
    json_decref(config);
    int *used = xcalloc(errs.count + 1, sizeof(int));
    validate_ctx_t v = {.configs = json_array(), .body = body, .errs = &errs, .used = used, .names = message_names};
    each_option(desc, add_validated, &v);
    /* Transforms' and predicates' keys, as Connect lists them (group
     * "Transforms: NAME"): their options first, then each type, which
     * takes the rest of the messages about its transform. */
    v.names = message_names_step;
    for (int pass = 0; pass < 2; pass++) {
        const char *key;
        json_t *val;
        int order = 0;
        json_object_foreach(body, key, val) {
            int step = strncmp(key, "transforms.", 11) == 0 || strncmp(key, "predicates.", 11) == 0;
            const char *step_name = key + 11, *dot = step ? strchr(step_name, '.') : NULL;
            if (!dot || (strcmp(dot, ".type") == 0) != pass) continue;
            char *group = str_printf("%s: %.*s", key[0] == 't' ? "Transforms" : "Predicates", (int)(dot - step_name),
                                     step_name);
            ferry_option_t o = {.name = key, .type = FERRY_OPT_STRING, .description = pass ? "Its class." : "An option of it."};
            add_validated(&o, group, ++order, &v);
            free(group);
        }
    }
    /* Messages about no declared option (an unknown key, a check across
     * options) go with connector.class, as Connect reports them. */
    json_t *rest = json_array();
    for (size_t i = 0; i < errs.count; i++)
        if (!used[i]) json_array_append_new(rest, json_string(errs.items[i]));
    size_t i;
    json_t *c;
    json_array_foreach(v.configs, i, c) {
        json_t *val = json_object_get(c, "value");
        if (strcmp(json_string_value(json_object_get(val, "name")), "connector.class") == 0 ||
            strcmp(json_string_value(json_object_get(val, "name")), "connector") == 0) {
            json_array_extend(json_object_get(val, "errors"), rest);
            break;
        }
    }
    json_decref(rest);
    json_t *out = json_pack("{s:s, s:i, s:[s, s], s:o}", "name", desc->name, "error_count", (int)errs.count, "groups",
                            "Common", desc->name, "configs", v.configs);
    free(used);
    cfg_errors_clear(&errs);
    return out;
}

/* ---- routing ------------------------------------------------------------------------------ */

typedef struct expand_ctx {
    int status, info;
} expand_ctx_t;

static enum MHD_Result on_expand(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    expand_ctx_t *e = cls;
    if (strcmp(key, "expand") == 0 && value) {
        e->status |= strcmp(value, "status") == 0;
        e->info |= strcmp(value, "info") == 0;
    }
    return MHD_YES;
}

static int query_has(struct MHD_Connection *c, const char *key, const char *value)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    return v && strcmp(v, value) == 0;
}

static enum MHD_Result not_allowed(request_t *q, struct MHD_Connection *c, const char *method, const char *url)
{
    return send_error(q, c, MHD_HTTP_METHOD_NOT_ALLOWED, "HTTP %s is not allowed on %s", method, url);
}

/* The request body as a JSON object, or NULL after sending 400. */
static json_t *body_object(request_t *q, struct MHD_Connection *c, enum MHD_Result *sent)
{
    json_error_t jerr;
    json_t *body = q->len ? json_loadb(q->body, q->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!body) {
        *sent = send_error(q, c, MHD_HTTP_BAD_REQUEST, "request body: %s",
                           q->len ? jerr.text : "empty (a JSON object is needed)");
        return NULL;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        *sent = send_error(q, c, MHD_HTTP_BAD_REQUEST, "request body: a JSON object is needed");
        return NULL;
    }
    return body;
}

static unsigned admin_status(admin_rc_t rc)
{
    switch (rc) {
    case ADMIN_OK:
        return MHD_HTTP_OK;
    case ADMIN_CREATED:
        return MHD_HTTP_CREATED;
    case ADMIN_UNKNOWN:
        return MHD_HTTP_NOT_FOUND;
    case ADMIN_EXISTS:
    case ADMIN_CONFLICT:
        return MHD_HTTP_CONFLICT;
    default:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* Creates or replaces connector name with config (borrowed): validated
 * here, applied on the main thread. Answers with its info (201 or 200). */
static enum MHD_Result put_connector(rest_t *r, request_t *q, struct MHD_Connection *c, const char *name,
                                     json_t *config, int create_only, int must_exist)
{
    if (!config_connector_name_ok(name))
        return send_error(q, c, MHD_HTTP_BAD_REQUEST,
                          "invalid connector name: use letters, digits, '.', '_' and '-' (and at least one)");
    cfg_errors_t errs = {0};
    const ferry_connector_t *desc = NULL;
    ferry_config_t *cfg = conn_config_from_json(r->wc, r->reg, name, config, &desc, &errs);
    if (!cfg) {
        /* Connect's message, with ferry's errors (which name the options). */
        char *list = NULL;
        size_t len = 0;
        FILE *b = open_memstream(&list, &len);
        for (size_t i = 0; b && i < errs.count; i++) fprintf(b, "\n%s", errs.items[i]);
        if (b) fclose(b);
        enum MHD_Result rc = send_error(
            q, c, MHD_HTTP_BAD_REQUEST,
            "Connector configuration is invalid and contains the following %zu error(s):%s\nYou can also find the "
            "above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`",
            errs.count, list ? list : "");
        free(list);
        cfg_errors_clear(&errs);
        return rc;
    }
    view_t v = {.kind = VIEW_PUT, .name = name, .desc = desc, .cfg = cfg, .body = config, .create_only = create_only};
    if (must_exist) {
        view_t e = {.kind = VIEW_INFO, .name = name};
        if (view(r, q, c, &e) != 0) {
            config_free(cfg);
            return MHD_YES;
        }
        if (!e.out) {
            config_free(cfg);
            return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", name);
        }
        json_decref(e.out);
    }
    if (view(r, q, c, &v) != 0) {
        config_free(v.cfg); /* not taken when the call did not run */
        return MHD_YES;
    }
    if (v.arc != ADMIN_OK && v.arc != ADMIN_CREATED) return send_error(q, c, admin_status(v.arc), "%s", v.err);
    return send_json(q, c, admin_status(v.arc), v.out);
}

static enum MHD_Result route_config(rest_t *r, request_t *q, struct MHD_Connection *c, const char *method,
                                    const char *name)
{
    enum MHD_Result sent;
    json_t *body = body_object(q, c, &sent);
    if (!body) return sent;
    const char *given = json_string_value(json_object_get(body, "name"));
    if (json_object_get(body, "name") && (!given || strcmp(given, name) != 0)) {
        enum MHD_Result rc = send_error(q, c, MHD_HTTP_BAD_REQUEST, "Connector name configuration (%s) doesn't "
                                        "match connector name in the URL (%s)", given ? given : "not a string", name);
        json_decref(body);
        return rc;
    }
    json_object_del(body, "name");
    if (strcmp(method, "PATCH") == 0) {
        view_t g = {.kind = VIEW_GIVEN, .name = name};
        if (view(r, q, c, &g) != 0) {
            json_decref(body);
            return MHD_YES;
        }
        if (!g.out || json_is_null(g.out)) {
            json_decref(body);
            json_decref(g.out);
            return g.out ? send_error(q, c, MHD_HTTP_CONFLICT, "%s", g.err)
                         : send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", name);
        }
        /* Connect's PATCH: given keys replace, null removes. */
        const char *k;
        json_t *val;
        json_object_foreach(body, k, val) {
            if (json_is_null(val))
                json_object_del(g.out, k);
            else
                json_object_set(g.out, k, val);
        }
        json_decref(body);
        body = g.out;
        json_object_foreach(body, k, val)
            if (json_is_null(val)) {
                enum MHD_Result rc = send_error(q, c, MHD_HTTP_CONFLICT, "option '%s' of connector %s is a secret "
                                                "or comes from ${..} in the YAML file: PATCH cannot carry it over; "
                                                "give it in the PATCH body or PUT the whole config", k, name);
                json_decref(body);
                return rc;
            }
    }
    enum MHD_Result rc = put_connector(r, q, c, name, body, 0, strcmp(method, "PATCH") == 0);
    json_decref(body);
    return rc;
}

static enum MHD_Result post_connector(rest_t *r, request_t *q, struct MHD_Connection *c)
{
    enum MHD_Result sent;
    json_t *body = body_object(q, c, &sent);
    if (!body) return sent;
    const char *name = json_string_value(json_object_get(body, "name"));
    json_t *config = json_object_get(body, "config");
    enum MHD_Result rc;
    if (!name || !*name) {
        rc = send_error(q, c, MHD_HTTP_BAD_REQUEST, "Connector name is missing or empty (\"name\" in the body)");
    } else if (!json_is_object(config)) {
        rc = send_error(q, c, MHD_HTTP_BAD_REQUEST, "Connector config is missing (\"config\": an object of strings)");
    } else {
        const char *inner = json_string_value(json_object_get(config, "name"));
        if (json_object_get(config, "name") && (!inner || strcmp(inner, name) != 0))
            rc = send_error(q, c, MHD_HTTP_BAD_REQUEST, "Connector name configuration (%s) doesn't match connector "
                            "name (%s)", inner ? inner : "not a string", name);
        else {
            json_t *copy = json_deep_copy(config);
            json_object_del(copy, "name");
            rc = put_connector(r, q, c, name, copy, 1, 0);
            json_decref(copy);
        }
    }
    json_decref(body);
    return rc;
}

static enum MHD_Result route_offsets(rest_t *r, request_t *q, struct MHD_Connection *c, const char *method,
                                     const char *url, const char *name)
{
    int get = strcmp(method, "GET") == 0, patch = strcmp(method, "PATCH") == 0, del = strcmp(method, "DELETE") == 0;
    if (!get && !patch && !del) return not_allowed(q, c, method, url);
    view_t v = {.kind = get ? VIEW_OFFSETS : VIEW_OFFSETS_ALTER, .name = name};
    json_t *body = NULL;
    if (patch) {
        enum MHD_Result sent;
        if (!(body = body_object(q, c, &sent))) return sent;
        v.body = json_object_get(body, "offsets");
        if (!json_is_array(v.body)) {
            json_decref(body);
            return send_error(q, c, MHD_HTTP_BAD_REQUEST, "request body: {\"offsets\": [{\"partition\": {...}, "
                              "\"offset\": {...} or null}]} is needed");
        }
    }
    int rc = view(r, q, c, &v);
    json_decref(body);
    if (rc != 0) return MHD_YES;
    if (get) {
        if (!v.out) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", name);
        if (json_is_null(v.out)) {
            json_decref(v.out);
            return send_error(q, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", v.err);
        }
        return send_json(q, c, MHD_HTTP_OK, v.out);
    }
    if (v.arc == ADMIN_UNKNOWN) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", name);
    if (v.arc == ADMIN_INVALID) return send_error(q, c, MHD_HTTP_BAD_REQUEST, "%s", v.err);
    if (v.arc != ADMIN_OK) return send_error(q, c, admin_status(v.arc), "%s", v.err);
    return send_json(q, c, MHD_HTTP_OK,
                     json_pack("{s:s}", "message", patch ? "The offsets for this connector have been altered successfully"
                                                         : "The offsets for this connector have been reset successfully"));
}

static enum MHD_Result route_connector(rest_t *r, request_t *q, struct MHD_Connection *c, const char *method,
                                       const char *url, char **seg, int nseg)
{
    int get = strcmp(method, "GET") == 0;
    view_t v = {.name = seg[1]};
    if (nseg == 2) {
        if (strcmp(method, "DELETE") == 0) {
            v.kind = VIEW_DELETE;
            if (view(r, q, c, &v) != 0) return MHD_YES;
            if (v.arc == ADMIN_UNKNOWN) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
            if (v.arc != ADMIN_OK) return send_error(q, c, admin_status(v.arc), "%s", v.err);
            return send_text(q, c, MHD_HTTP_NO_CONTENT, "application/json", "");
        }
        if (!get) return not_allowed(q, c, method, url);
        v.kind = VIEW_INFO;
    } else if (nseg == 3 && strcmp(seg[2], "config") == 0) {
        if (strcmp(method, "PUT") == 0 || strcmp(method, "PATCH") == 0) return route_config(r, q, c, method, seg[1]);
        if (!get) return not_allowed(q, c, method, url);
        v.kind = VIEW_CONFIG;
    } else if (nseg == 3 && strcmp(seg[2], "status") == 0) {
        if (!get) return not_allowed(q, c, method, url);
        v.kind = VIEW_STATUS;
    } else if (nseg == 3 && strcmp(seg[2], "tasks") == 0) {
        if (!get) return not_allowed(q, c, method, url);
        v.kind = VIEW_TASKS;
    } else if (nseg == 5 && strcmp(seg[2], "tasks") == 0 && strcmp(seg[4], "status") == 0) {
        if (!get) return not_allowed(q, c, method, url);
        char *end = NULL;
        long t = strtol(seg[3], &end, 10);
        if (!seg[3][0] || *end || t < 0 || t > 1000000) return send_error(q, c, MHD_HTTP_NOT_FOUND, "no task '%s'", seg[3]);
        v.kind = VIEW_TASK_STATUS;
        v.task = (int)t;
    } else if (nseg == 3 && strcmp(seg[2], "restart") == 0) {
        if (strcmp(method, "POST") != 0) return not_allowed(q, c, method, url);
        v.kind = VIEW_RESTART;
        v.include_tasks = query_has(c, "includeTasks", "true");
        v.only_failed = query_has(c, "onlyFailed", "true");
        if (view(r, q, c, &v) != 0) return MHD_YES;
        if (v.rc != 0) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
        /* Connect: 204 without tasks, 202 with the status showing what restarts. */
        if (!v.include_tasks && !v.only_failed) {
            json_decref(v.out);
            return send_text(q, c, MHD_HTTP_NO_CONTENT, "application/json", "");
        }
        return send_json(q, c, MHD_HTTP_ACCEPTED, v.out);
    } else if (nseg == 5 && strcmp(seg[2], "tasks") == 0 && strcmp(seg[4], "restart") == 0) {
        if (strcmp(method, "POST") != 0) return not_allowed(q, c, method, url);
        char *end = NULL;
        long t = strtol(seg[3], &end, 10);
        if (!seg[3][0] || *end || t < 0 || t > 1000000) return send_error(q, c, MHD_HTTP_NOT_FOUND, "no task '%s'", seg[3]);
        v.kind = VIEW_TASK_RESTART;
        v.task = (int)t;
        if (view(r, q, c, &v) != 0) return MHD_YES;
        if (v.rc == -1) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
        if (v.rc == -2) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Task %s-%d not found", v.name, v.task);
        return send_text(q, c, MHD_HTTP_NO_CONTENT, "application/json", "");
    } else if (nseg == 3 && (strcmp(seg[2], "pause") == 0 || strcmp(seg[2], "resume") == 0 ||
                             strcmp(seg[2], "stop") == 0)) {
        if (strcmp(method, "PUT") != 0) return not_allowed(q, c, method, url);
        v.kind = VIEW_TARGET;
        v.target = seg[2][0] == 'p' ? CONN_PAUSED : seg[2][0] == 'r' ? CONN_STARTED : CONN_STOPPED;
        if (view(r, q, c, &v) != 0) return MHD_YES;
        if (v.arc == ADMIN_UNKNOWN) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
        if (v.arc != ADMIN_OK) return send_error(q, c, admin_status(v.arc), "%s", v.err);
        /* Connect: 202 for pause and resume, 204 for stop. */
        return send_text(q, c, v.target == CONN_STOPPED ? MHD_HTTP_NO_CONTENT : MHD_HTTP_ACCEPTED, "application/json",
                         "");
    } else if (nseg == 3 && strcmp(seg[2], "offsets") == 0) {
        return route_offsets(r, q, c, method, url, seg[1]);
    } else if (nseg == 3 && strcmp(seg[2], "topics") == 0) {
        if (!get) return not_allowed(q, c, method, url);
        v.kind = VIEW_TOPICS;
    } else if (nseg == 4 && strcmp(seg[2], "topics") == 0 && strcmp(seg[3], "reset") == 0) {
        /* ferry's topics are what the config names, not a set it tracks:
         * there is nothing to empty. Connect answers 200. */
        if (strcmp(method, "PUT") != 0) return not_allowed(q, c, method, url);
        v.kind = VIEW_TOPICS;
        if (view(r, q, c, &v) != 0) return MHD_YES;
        if (!v.out) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
        json_decref(v.out);
        return send_text(q, c, MHD_HTTP_OK, "application/json", "");
    } else {
        return send_error(q, c, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    }
    if (view(r, q, c, &v) != 0) return MHD_YES;
    if (!v.out) {
        if (v.kind == VIEW_TASK_STATUS)
            return send_error(q, c, MHD_HTTP_NOT_FOUND, "No status found for task %s-%d", v.name, v.task);
        if (v.kind == VIEW_STATUS) return send_error(q, c, MHD_HTTP_NOT_FOUND, "No status found for connector %s", v.name);
        return send_error(q, c, MHD_HTTP_NOT_FOUND, "Connector %s not found", v.name);
    }
    return send_json(q, c, MHD_HTTP_OK, v.out);
}

static enum MHD_Result route_plugins(rest_t *r, request_t *q, struct MHD_Connection *c, const char *method,
                                     const char *url, char **seg, int nseg)
{
    if (nseg == 1) {
        if (strcmp(method, "GET") != 0) return not_allowed(q, c, method, url);
        return send_json(q, c, MHD_HTTP_OK, plugin_list(r->reg));
    }
    const ferry_connector_t *desc = plugin_registry_find(r->reg, seg[1], NULL);
    int is_config = nseg == 3 && strcmp(seg[2], "config") == 0;
    int is_validate = nseg == 4 && strcmp(seg[2], "config") == 0 && strcmp(seg[3], "validate") == 0;
    if (!is_config && !is_validate) return send_error(q, c, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    if (is_config && strcmp(method, "GET") != 0) return not_allowed(q, c, method, url);
    if (is_validate && strcmp(method, "PUT") != 0) return not_allowed(q, c, method, url);
    if (!desc) return send_error(q, c, MHD_HTTP_NOT_FOUND, "Unknown connector plugin '%s' (see GET /connector-plugins)", seg[1]);
    if (is_config) {
        json_t *a = json_array();
        each_option(desc, add_definition, a);
        return send_json(q, c, MHD_HTTP_OK, a);
    }
    enum MHD_Result sent;
    json_t *body = body_object(q, c, &sent);
    if (!body) return sent;
    const char *cls = json_string_value(json_object_get(body, "connector.class"));
    if (cls && strcmp(cls, desc->name) != 0) {
        enum MHD_Result rc = send_error(q, c, MHD_HTTP_BAD_REQUEST,
                                        "Included connector type %s does not match request type %s", cls, desc->name);
        json_decref(body);
        return rc;
    }
    /* Off the main thread: validation runs plugin code on untrusted input. */
    json_t *out = validate_result(r, desc, body);
    json_decref(body);
    return send_json(q, c, MHD_HTTP_OK, out);
}

/* Connect's loggers, with ferry's one: "root", the worker's log level. */
static int64_t level_modified_ms;

static json_t *logger_json(void)
{
    static const char *const connect_names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    int l = log_level_current;
    return json_pack("{s:s, s:o}", "level", connect_names[l < 0 ? 0 : l > 3 ? 3 : l], "last_modified",
                     level_modified_ms ? json_integer(level_modified_ms) : json_null());
}

static enum MHD_Result route_loggers(request_t *q, struct MHD_Connection *c, const char *method, const char *url,
                                     const char *name)
{
    if (name && strcmp(name, "root") != 0)
        return send_error(q, c, MHD_HTTP_NOT_FOUND, "Logger %s not found (ferry has one: root)", name);
    if (strcmp(method, "GET") == 0)
        return send_json(q, c, MHD_HTTP_OK, name ? logger_json() : json_pack("{s:o}", "root", logger_json()));
    if (strcmp(method, "PUT") != 0 || !name) return not_allowed(q, c, method, url);
    enum MHD_Result sent;
    json_t *body = body_object(q, c, &sent);
    if (!body) return sent;
    const char *level = json_string_value(json_object_get(body, "level"));
    int l = level ? (strcasecmp(level, "TRACE") == 0 ? log_level_parse("debug") : log_level_parse(level)) : -1;
    enum MHD_Result rc;
    if (l < 0) {
        rc = send_error(q, c, MHD_HTTP_BAD_REQUEST, "Invalid log level '%s' (ERROR, WARN, INFO, DEBUG or TRACE)",
                        level ? level : "");
    } else {
        log_set_level((ferry_log_level_t)l);
        level_modified_ms = (int64_t)time(NULL) * 1000;
        log_info("rest: log level set to %s", level);
        rc = send_json(q, c, MHD_HTTP_OK, json_pack("[s]", "root"));
    }
    json_decref(body);
    return rc;
}

enum MHD_Result rest_route(rest_t *r, request_t *q, struct MHD_Connection *c, const char *url, const char *method)
{
    /* Path segments (libmicrohttpd has already percent-decoded the path). */
    char *copy = str_dup(url);
    char *seg[REST_MAX_SEGMENTS + 1];
    int nseg = 0;
    for (char *save = NULL, *s = strtok_r(copy, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (nseg == REST_MAX_SEGMENTS) {
            nseg = -1;
            break;
        }
        seg[nseg++] = s;
    }
    enum MHD_Result rc;
    int get = strcmp(method, "GET") == 0;
    if (nseg < 0) {
        rc = send_error(q, c, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    } else if (nseg == 0) {
        if (!get) {
            rc = not_allowed(q, c, method, url);
        } else {
            char *id = admin_cluster_id(r->w);
            json_t *o = json_pack("{s:s, s:s, s:s?}", "version", FERRY_VERSION, "commit", FERRY_COMMIT,
                                  "kafka_cluster_id", id);
            free(id);
            rc = send_json(q, c, MHD_HTTP_OK, o);
        }
    } else if (strcmp(seg[0], "health") == 0 && nseg == 1) {
        /* The main loop's heartbeat: no call into it, so a probe never
         * waits on a busy worker and never takes a server thread for long. */
        if (!get)
            rc = not_allowed(q, c, method, url);
        else if (admin_alive(r->w, REST_HEALTH_STALE_MS))
            rc = send_json(q, c, MHD_HTTP_OK,
                           json_pack("{s:s, s:s}", "status", "healthy", "message",
                                     "Worker has completed startup and is ready to handle requests."));
        else
            rc = send_json(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           json_pack("{s:s, s:s}", "status", "unhealthy", "message",
                                     "the worker's main loop has not turned for 30 s: it is stopping or stuck"));
    } else if (strcmp(seg[0], "ready") == 0 && nseg == 1) {
        view_t v = {.kind = VIEW_READY};
        if (!get)
            rc = not_allowed(q, c, method, url);
        else if (worker_call(r->w, view_run, &v, REST_PROBE_TIMEOUT_MS) != 0)
            rc = send_json(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           json_pack("{s:s, s:s}", "status", "not ready", "message", "the worker did not answer"));
        else if (!v.ready)
            /* Which task is not running is for those with the token. */
            rc = send_json(q, c, MHD_HTTP_SERVICE_UNAVAILABLE,
                           json_pack("{s:s, s:s}", "status", "not ready", "message",
                                     r->token && !rest_token_ok(r, c) ? "a task is not RUNNING" : v.why));
        else
            rc = send_json(q, c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ready"));
    } else if (strcmp(seg[0], "metrics") == 0 && nseg == 1) {
        view_t v = {.kind = VIEW_METRICS};
        if (!get)
            rc = not_allowed(q, c, method, url);
        else if (view(r, q, c, &v) != 0)
            rc = MHD_YES;
        else
            rc = send_text(q, c, MHD_HTTP_OK, "text/plain; version=0.0.4", v.text ? v.text : "");
        free(v.text);
    } else if (strcmp(seg[0], "connectors") == 0 && nseg == 1) {
        if (strcmp(method, "POST") == 0) {
            rc = post_connector(r, q, c);
        } else if (!get) {
            rc = not_allowed(q, c, method, url);
        } else {
            expand_ctx_t e = {0};
            MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_expand, &e);
            view_t v = {.kind = e.status || e.info ? VIEW_EXPANDED : VIEW_NAMES,
                        .expand_status = e.status,
                        .expand_info = e.info};
            rc = view(r, q, c, &v) != 0 ? MHD_YES : send_json(q, c, MHD_HTTP_OK, v.out);
        }
    } else if (strcmp(seg[0], "connectors") == 0) {
        rc = route_connector(r, q, c, method, url, seg, nseg);
    } else if (strcmp(seg[0], "connector-plugins") == 0) {
        rc = route_plugins(r, q, c, method, url, seg, nseg);
    } else if (strcmp(seg[0], "admin") == 0 && nseg >= 2 && nseg <= 3 && strcmp(seg[1], "loggers") == 0) {
        rc = route_loggers(q, c, method, url, nseg == 3 ? seg[2] : NULL);
    } else {
        rc = send_error(q, c, MHD_HTTP_NOT_FOUND, "no such path: %s", url);
    }
    free(copy);
    return rc;
}

