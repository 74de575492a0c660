/*
 * http.c — the `http` plugin's entry point. The connectors live in
 * http_sink.c and http_source.c; client authentication in http_auth.c.
 */
#include <ferry/ferry.h>

#include "http.h"

/* Built at the first call: a connector whose required callbacks are not
 * there yet (a placeholder while the plugin is being written) is left out,
 * since the host refuses a plugin with such a connector as a whole. */
static const ferry_connector_t *http_connectors[3];

static ferry_plugin_t http_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "http",
    .version = "0.1.0",
    .connectors = http_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    size_t n = 0;
    if (http_sink_connector.put && http_sink_connector.flush) http_connectors[n++] = &http_sink_connector;
    http_connectors[n++] = &http_source_connector;
    http_connectors[n] = NULL;
    return &http_plugin;
}
