/*
 * reload.c — SIGHUP: the YAML file read again and its connectors compared
 * with the running ones. A changed connector restarts with its new config,
 * a removed one stops, a new one starts, an unchanged one runs on untouched.
 * A file with any error is rejected as a whole: the old configuration
 * keeps running. Where the REST API changed a connector too, the later
 * change wins (conn_store.c): a reload is later than every REST call before
 * it, but only for the entries the reload changed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "kafka/kafka_check.h"
#include "util/log.h"
#include "util/strutil.h"

typedef struct entry {
    const connector_spec_t *spec;
    const ferry_connector_t *desc;
    ferry_config_t *cfg; /* owned until handed over */
    uint64_t hash;
} entry_t;

/* Every connector of the new file, validated as at start-up. */
static entry_t *reload_entries(worker_t *w, const worker_config_t *nwc, cfg_errors_t *errs)
{
    entry_t *e = xcalloc(nwc->connector_count + 1, sizeof(*e));
    int *kinds = xcalloc(nwc->connector_count + 1, sizeof(*kinds));
    for (size_t i = 0; i < nwc->connector_count; i++) {
        const connector_spec_t *spec = &nwc->connectors[i];
        e[i].spec = spec;
        kinds[i] = -1;
        if (!spec->connector) continue; /* reported by worker_config_load */
        e[i].desc = plugin_registry_find(w->reg, spec->connector, NULL);
        if (!e[i].desc) {
            cfg_errors_add(errs, "%s:%d:%d: connector %s: unknown connector '%s' (plugins are loaded at start only)",
                           nwc->path, spec->line, spec->col, spec->name, spec->connector);
            continue;
        }
        kinds[i] = e[i].desc->kind == FERRY_SINK ? KAFKA_CONSUMER : KAFKA_PRODUCER;
        e[i].cfg = connector_config_build(nwc->path, spec, e[i].desc, host_api(), errs);
        if (!e[i].cfg) continue;
        if (conn_check_topics(w->wc, nwc->path, spec->line, spec->col, spec->name, e[i].cfg, e[i].desc, errs) == 0)
            conn_check_tasks(spec->name, e[i].desc, e[i].cfg, errs);
        e[i].hash = conn_config_hash(e[i].cfg);
    }
    kafka_check_config(nwc, kinds, errs);
    free(kinds);
    return e;
}

static void forget(worker_t *w, const char *name)
{
    char err[512];
    if (w->store && json_object_get(conn_store_records(w->store), name) &&
        conn_store_put(w->store, name, NULL, err, sizeof(err)) != 0)
        log_warn("[%s] %s", name, err);
}

/* The worker section is read at start only: say so when it changed. */
static void reload_worker_options(const worker_config_t *old, const worker_config_t *nwc)
{
    if (!cfg_node_equal(cfg_node_get(old->root, "worker"), cfg_node_get(nwc->root, "worker")))
        log_warn("reload: the worker section changed (rest.token, kafka, offsets, ...): worker options take "
                 "effect at the next restart");
}

void worker_reload(worker_t *w)
{
    const char *path = w->wc->path;
    if (w->wc->group_id) {
        log_warn("reload: refused in distributed mode (worker.group.id): change connectors over the REST API "
                 "(every worker of the group follows it), or change every worker's file and restart them one by one");
        return;
    }
    log_info("reload: reading %s", path);
    cfg_errors_t errs = {0};
    worker_config_t *nwc = worker_config_load(path, &errs);
    entry_t *e = nwc ? reload_entries(w, nwc, &errs) : NULL;
    if (!nwc || errs.count) {
        for (size_t i = 0; i < errs.count; i++) log_error("%s", errs.items[i]);
        log_error("reload: %s rejected (%zu error(s)): the running configuration stays", path,
                  errs.count ? errs.count : 1);
        goto out;
    }
    reload_worker_options(w->wc, nwc);
    int changed = 0;
    /* Connectors the file no longer names: stopped and gone (unless the REST
     * API created them, which the file never owned). */
    for (size_t i = 0; i < w->nconns; i++) {
        conn_t *c = w->conns[i];
        if (c->deleting || !c->yaml_hash) continue;
        int named = 0;
        for (size_t j = 0; j < nwc->connector_count && !named; j++) named = strcmp(nwc->connectors[j].name, c->name) == 0;
        if (named) continue;
        log_info("[%s] reload: removed from the file: stopping", c->name);
        c->deleting = 1;
        forget(w, c->name);
        changed++;
    }
    json_t *recs = w->store ? conn_store_records(w->store) : NULL;
    for (size_t i = 0; i < nwc->connector_count; i++) {
        const char *name = e[i].spec->name;
        conn_t *c = conn_find(w, name);
        /* Unchanged: the same entry (secrets compared too); with a REST
         * override, the same entry the override was made over. */
        const ferry_config_t *now = c ? (c->next_cfg ? c->next_cfg : c->cfg) : NULL;
        if (c && c->yaml_hash == e[i].hash && (c->stored || config_equal(now, e[i].cfg))) continue;
        if (!c) {
            json_t *rec = recs ? json_object_get(recs, name) : NULL;
            if (json_is_true(json_object_get(rec, "deleted")) && conn_store_yaml_hash(w->store, name) == e[i].hash)
                continue; /* deleted over REST, and its entry did not change since */
            for (size_t k = 0; k < w->nconns; k++)
                if (w->conns[k]->deleting && strcmp(w->conns[k]->name, name) == 0) {
                    log_warn("[%s] reload: still being deleted: send SIGHUP again once it is gone", name);
                    goto next;
                }
            forget(w, name);
            c = conn_add(w, name, e[i].desc, e[i].cfg);
            e[i].cfg = NULL;
            c->yaml_hash = e[i].hash;
            c->relaunch = 1;
            log_info("[%s] reload: new connector", name);
            changed++;
            continue;
        }
        /* Changed in the file (or first named there): the file's entry is
         * the later change, over any config given over REST. */
        forget(w, name);
        config_free(c->next_cfg);
        json_decref(c->next_stored);
        c->next_cfg = e[i].cfg;
        c->next_desc = e[i].desc;
        c->next_stored = NULL;
        e[i].cfg = NULL;
        c->yaml_hash = e[i].hash;
        /* ... and over a pause or stop asked for over REST, which the store
         * forgot with it (conn_settle starts the new config's tasks). */
        c->target = CONN_STARTED;
        atomic_store(&c->paused, 0);
        log_info("[%s] reload: changed: its tasks restart with the new config", name);
        changed++;
    next:;
    }
    log_info("reload: %s applied (%d connector(s) changed)", path, changed);
out:
    for (size_t i = 0; e && nwc && i < nwc->connector_count; i++) config_free(e[i].cfg);
    free(e);
    worker_config_free(nwc);
    cfg_errors_clear(&errs);
}
