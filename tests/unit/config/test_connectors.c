/* test_connectors.c — see test_connectors.h. */
#include "test_connectors.h"

#include "config/config.h"

#include <string.h>

static const char *const modes[] = {"fast", "safe", "slow", NULL};

static const ferry_option_t source_opts[] = {
    {"path", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Input file."},
    {"topic", FERRY_OPT_STRING, NULL, FERRY_OPT_REQUIRED, 0, 0, NULL, "Target topic."},
    {"mode", FERRY_OPT_ENUM, "safe", 0, 0, 0, modes, "Mode."},
    {"poll.interval", FERRY_OPT_DURATION, "1s", FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 10, 3600000, NULL,
     "Poll interval."},
    {"max.size", FERRY_OPT_SIZE, "16MiB", FERRY_OPT_HAS_MAX, 0, 1073741824.0, NULL, "Max size."},
    {"count", FERRY_OPT_INT, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0, 100, NULL, "Count."},
    {"ratio", FERRY_OPT_DOUBLE, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 0, 1, NULL, "Ratio."},
    {"enabled", FERRY_OPT_BOOL, "true", 0, 0, 0, NULL, "Enabled."},
    {"tables", FERRY_OPT_LIST, NULL, FERRY_OPT_HAS_MIN | FERRY_OPT_HAS_MAX, 1, 3, NULL, "Tables."},
    {"props", FERRY_OPT_MAP, NULL, 0, 0, 0, NULL, "Properties."},
    {"password", FERRY_OPT_SECRET, NULL, 0, 0, 0, NULL, "Password."},
    {"override", FERRY_OPT_LIST, NULL, FERRY_OPT_PREFIX, 0, 0, NULL, "Tables, each with override.<table>."},
    FERRY_OPTIONS_END};

static ferry_status_t source_validate(const ferry_host_t *host, const ferry_config_t *cfg,
                                      ferry_error_t *err)
{
    const char *mode = host->cfg_string(cfg, "mode");
    if (mode && strcmp(mode, "slow") == 0) {
        const char *pw = host->cfg_string(cfg, "password");
        return ferry_error_set(err, FERRY_ERROR, "mode slow is not allowed with password %s",
                               pw ? pw : "(none)");
    }
    return FERRY_OK;
}

const ferry_connector_t test_source = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SOURCE,
    .name = "test-source",
    .version = "1",
    .options = source_opts,
    .validate = source_validate,
};

static const ferry_option_t sink_opts[] = {
    {"target", FERRY_OPT_STRING, "out", 0, 0, 0, NULL, "Target."},
    {"flush.interval", FERRY_OPT_DURATION, "30s", 0, 0, 0, NULL, "Redefined flush interval."},
    FERRY_OPTIONS_END};

const ferry_connector_t test_sink = {
    .struct_size = sizeof(ferry_connector_t),
    .kind = FERRY_SINK,
    .name = "test-sink",
    .version = "1",
    .options = sink_opts,
};

