/*
 * connector_harness.c — see connector_harness.h.
 */
#include "connector_harness.h"

#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void harness_load(harness_t *h, const char *plugin, const char *name)
{
    memset(h, 0, sizeof(*h));
    const char *dir = getenv("FERRY_PLUGIN_DIR");
    if (dir == NULL) {
        fail_msg("FERRY_PLUGIN_DIR is not set (run the test through ctest)");
    }
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.so", dir, plugin);
    /* Exactly the runtime's flags (see DESIGN.md §3). */
    h->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (h->dl == NULL) {
        fail_msg("dlopen %s: %s", path, dlerror());
    }
    ferry_plugin_entry_fn entry;
    /* POSIX guarantees this conversion works for dlsym results. */
    *(void **)&entry = dlsym(h->dl, FERRY_PLUGIN_ENTRY_SYMBOL);
    assert_non_null(entry);
    const ferry_plugin_t *plugin_desc = entry();
    assert_non_null(plugin_desc);
    assert_int_equal(FERRY_ABI_VERSION_MAJOR(plugin_desc->abi_version), FERRY_ABI_MAJOR);
    assert_true(plugin_desc->struct_size >= sizeof(ferry_plugin_t));
    for (const ferry_connector_t *const *c = plugin_desc->connectors; *c != NULL; c++) {
        if (strcmp((*c)->name, name) == 0) {
            h->desc = *c;
        }
    }
    if (h->desc == NULL) {
        fail_msg("%s has no connector %s", path, name);
    }
    h->host = host_api();
}

void harness_unload(harness_t *h)
{
    harness_close(h);
    if (h->dl != NULL) {
        dlclose(h->dl);
        h->dl = NULL;
    }
}

ferry_config_t *harness_config(harness_t *h, const char *const *kv, char *errbuf, size_t errlen)
{
    const char *keys[32], *values[32];
    size_t n = 0;
    keys[n] = "connector";
    values[n++] = h->desc->name;
    for (size_t i = 0; kv != NULL && kv[i] != NULL; i += 2) {
        assert_true(n < 32);
        keys[n] = kv[i];
        values[n++] = kv[i + 1];
    }
    cfg_errors_t errs = {0};
    ferry_config_t *cfg =
        connector_config_from_kv(HARNESS_NAME, keys, values, NULL, n, h->desc, h->host, &errs);
    if (errbuf != NULL && errlen > 0) {
        errbuf[0] = '\0';
        for (size_t i = 0; i < errs.count; i++) {
            size_t used = strlen(errbuf);
            snprintf(errbuf + used, errlen - used, "%s%s", i ? "\n" : "", errs.items[i]);
        }
    }
    if (errs.count > 0 && cfg != NULL) {
        config_free(cfg);
        cfg = NULL;
    }
    cfg_errors_clear(&errs);
    return cfg;
}

ferry_status_t harness_open(harness_t *h, const offset_map_t *offsets, const char *const *kv,
                            ferry_error_t *err)
{
    char errbuf[2048];
    assert_null(h->cfg);
    h->cfg = harness_config(h, kv, errbuf, sizeof(errbuf));
    if (h->cfg == NULL) {
        fail_msg("invalid config: %s", errbuf);
    }
    h->task = host_task_new(HARNESS_NAME, 0, offsets);
    memset(err, 0, sizeof(*err));
    void *state = NULL;
    ferry_status_t st = h->desc->open(h->task, h->host, h->cfg, &state, err);
    if (st == FERRY_OK) {
        assert_non_null(state);
        h->state = state;
    }
    return st;
}

void harness_close(harness_t *h)
{
    if (h->state != NULL) {
        h->desc->close(h->state);
        h->state = NULL;
    }
    host_task_free(h->task);
    h->task = NULL;
    config_free(h->cfg);
    h->cfg = NULL;
}

ferry_status_t harness_poll(harness_t *h, ferry_batch_t *batch, ferry_error_t *err)
{
    batch_reset(batch);
    memset(err, 0, sizeof(*err));
    return h->desc->poll(h->state, batch, err);
}

void harness_batch_add_value(harness_t *h, ferry_batch_t *batch, const char *value)
{
    ferry_record_t rec = {
        .topic = "in",
        .partition = 0,
        .value = value,
        .value_len = value ? strlen(value) : 0,
    };
    assert_int_equal(h->host->batch_add(batch, &rec), FERRY_OK);
}
