/*
 * log.h — one line per event on stderr: "2026-11-24T05:13:00.123Z INFO [conn/0] message".
 * Thread-safe: each line is written with one write(2).
 */
#ifndef FERRY_UTIL_LOG_H
#define FERRY_UTIL_LOG_H

#include <ferry/ferry.h>
#include <stdarg.h>

/* Current threshold; lines above it are skipped before formatting. */
extern int log_level_current;

void log_set_level(ferry_log_level_t level);
/* The level names, lowest first, NULL-terminated: what --log-level and
 * worker.log.level accept (in any case). */
extern const char *const log_level_names[];
/* Parses one of log_level_names; returns -1 when unknown. */
int log_level_parse(const char *name);
/* prefix may be NULL ("" = no brackets). */
void log_write(ferry_log_level_t level, const char *prefix, const char *fmt, ...) FERRY_PRINTF(3, 4);
void log_vwrite(ferry_log_level_t level, const char *prefix, const char *fmt, va_list ap) FERRY_PRINTF(3, 0);

#define LOG_AT(lvl, prefix, ...)                                                                   \
    do {                                                                                           \
        if ((int)(lvl) <= log_level_current) log_write((lvl), (prefix), __VA_ARGS__);             \
    } while (0)
#define log_error(...) LOG_AT(FERRY_LOG_ERROR, NULL, __VA_ARGS__)
#define log_warn(...) LOG_AT(FERRY_LOG_WARN, NULL, __VA_ARGS__)
#define log_info(...) LOG_AT(FERRY_LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) LOG_AT(FERRY_LOG_DEBUG, NULL, __VA_ARGS__)

#endif
