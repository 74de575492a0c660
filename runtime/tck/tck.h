/*
 * tck.h — `ferry tck`: the technology compatibility kit for plugins. It
 * loads one plugin file with the loader's checks and drives each of its
 * connectors through the host contract in process, without Kafka, printing
 * one line per rule: "PASS|FAIL|SKIP CONNECTOR RULE: reason". The rules are
 * listed in tck_source.c, tck_sink.c and tck_lifecycle.c; docs/plugin-guide.md
 * explains them to plugin authors.
 *
 * Threads: main thread only (the TCK starts and joins its own task threads).
 */
#ifndef FERRY_TCK_H
#define FERRY_TCK_H

typedef struct tck_opts {
    const char *plugin;    /* the .so file */
    const char *config;    /* --config FILE, or NULL */
    const char *connector; /* --connector NAME, or NULL: every connector of the plugin */
} tck_opts_t;

/* 0 when no rule failed, 1 when one did, 2 on bad usage or an unreadable
 * --config (printed to stderr). */
int tck_main(const tck_opts_t *opts);

#endif
