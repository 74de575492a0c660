/*
 * http.c — the `http` plugin's entry point. The connectors live in
 * http_sink.c and http_source.c; client authentication in http_auth.c.
 */
#include <ferry/ferry.h>

#include "http.h"

static const ferry_connector_t *const http_connectors[] = {&http_sink_connector, &http_source_connector,
                                                           NULL};

static const ferry_plugin_t http_plugin = {
    .abi_version = FERRY_ABI_VERSION,
    .struct_size = sizeof(ferry_plugin_t),
    .name = "http",
    .version = "0.1.0",
    .connectors = http_connectors,
};

FERRY_EXPORT const ferry_plugin_t *ferry_plugin_entry(void)
{
    return &http_plugin;
}
