/* PLACEHOLDER of the skeleton branch: replaced by the real http-source. */
#include <ferry/ferry.h>

#include "http.h"

static const ferry_option_t http_source_options[] = {FERRY_OPTIONS_END};

static ferry_status_t http_source_open(ferry_task_t *task, const ferry_host_t *host, const ferry_config_t *cfg,
                                     void **state, ferry_error_t *err)
{
    (void)task, (void)host, (void)cfg, (void)state;
    return ferry_error_set(err, FERRY_ERROR, "http-source: not built yet");
}

static void http_source_close(void *state)
{
    (void)state;
}

const ferry_connector_t http_source_connector = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "http-source",
    .version = "0.1.0",
    .description = "placeholder",
    .options = http_source_options,
    .option_size = sizeof(ferry_option_t),
    .open = http_source_open,
    .close = http_source_close,
};
