/*
 * http.c — the `http` plugin's entry point. The connectors live in
 * http_sink.c and http_source.c; client authentication in http_auth.c.
 */
#include <ferry/ferry.h>

#include "http.h"

/* Filled by the entry function: a connector still being built (a skeleton
 * without its required callbacks) is left out, rather than making the loader
 * refuse the whole plugin, so each connector can land on its own. */
static const ferry_connector_t *http_connectors[3];

static const ferry_plugin_t http_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "http",
    .version = "0.1.0",
    .connectors = (const ferry_connector_t *const *)http_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    size_t n = 0;
    if (http_sink_connector.put && http_sink_connector.flush) http_connectors[n++] = &http_sink_connector;
    if (http_source_connector.poll) http_connectors[n++] = &http_source_connector;
    http_connectors[n] = NULL;
    return &http_plugin;
}
