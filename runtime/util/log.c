/* log.c — stderr logging, one write(2) per line so threads never interleave. */
#include "util/log.h"

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

int log_level_current = FERRY_LOG_INFO;

const char *const log_level_names[] = {"error", "warn", "info", "debug", NULL};
static const char *const level_labels[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void log_set_level(ferry_log_level_t level) { log_level_current = (int)level; }

int log_level_parse(const char *name)
{
    for (int i = 0; log_level_names[i]; i++)
        if (name && strcasecmp(name, log_level_names[i]) == 0) return i;
    return -1;
}

void log_vwrite(ferry_log_level_t level, const char *prefix, const char *fmt, va_list ap)
{
    char line[4096];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int lvl = (int)level;
    if (lvl < 0 || lvl > 3) lvl = 2;
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000),
                     level_labels[lvl]);
    if (prefix && *prefix && n < (int)sizeof(line))
        n += snprintf(line + n, sizeof(line) - (size_t)n, "[%s] ", prefix);
    if (n < (int)sizeof(line)) n += vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    if (n >= (int)sizeof(line) - 1) n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line, (size_t)n);
    (void)ignored;
}

void log_write(ferry_log_level_t level, const char *prefix, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, prefix, fmt, ap);
    va_end(ap);
}
