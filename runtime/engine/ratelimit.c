/*
 * ratelimit.c — rate.limit.records and rate.limit.bytes: a token bucket per
 * connector, shared by its tasks on this worker. A task takes what a batch
 * needs and is told how long to wait for it; the bucket may go into debt,
 * so a batch larger than a second's allowance waits once, in proportion, and
 * nobody spins.
 */
#include <stdlib.h>

#include "engine/engine_internal.h"
#include "util/strutil.h"

struct rate_limit {
    pthread_mutex_t lock;
    double records_per_s, bytes_per_s; /* 0 = no limit */
    double records, bytes;             /* tokens now (negative: owed) */
    int64_t at_us;                     /* when they were counted */
    _Atomic int64_t waited_us;         /* for /metrics */
};

rate_limit_t *rate_limit_new(const ferry_config_t *cfg)
{
    int64_t r = config_int(cfg, "rate.limit.records"), b = config_size(cfg, "rate.limit.bytes");
    if (r <= 0 && b <= 0) return NULL;
    rate_limit_t *rl = xcalloc(1, sizeof(*rl));
    pthread_mutex_init(&rl->lock, NULL);
    rl->records_per_s = r > 0 ? (double)r : 0;
    rl->bytes_per_s = b > 0 ? (double)b : 0;
    /* Starts full: a second's worth at once, then the rate. */
    rl->records = rl->records_per_s;
    rl->bytes = rl->bytes_per_s;
    rl->at_us = engine_now_us();
    atomic_init(&rl->waited_us, 0);
    return rl;
}

void rate_limit_free(rate_limit_t *rl)
{
    if (!rl) return;
    pthread_mutex_destroy(&rl->lock);
    free(rl);
}

/* Tokens of one kind after refilling for elapsed seconds, capped at a second's worth. */
static double refill(double tokens, double rate, double elapsed)
{
    if (rate <= 0) return 0;
    tokens += rate * elapsed;
    return tokens > rate ? rate : tokens;
}

int64_t rate_limit_take(rate_limit_t *rl, size_t records, size_t bytes)
{
    if (!rl || (records == 0 && bytes == 0)) return 0;
    pthread_mutex_lock(&rl->lock);
    int64_t now = engine_now_us();
    double elapsed = (double)(now - rl->at_us) / 1e6;
    rl->at_us = now;
    rl->records = refill(rl->records, rl->records_per_s, elapsed);
    rl->bytes = refill(rl->bytes, rl->bytes_per_s, elapsed);
    double wait_s = 0;
    if (rl->records_per_s > 0) {
        rl->records -= (double)records;
        if (rl->records < 0) wait_s = -rl->records / rl->records_per_s;
    }
    if (rl->bytes_per_s > 0) {
        rl->bytes -= (double)bytes;
        if (rl->bytes < 0 && -rl->bytes / rl->bytes_per_s > wait_s) wait_s = -rl->bytes / rl->bytes_per_s;
    }
    pthread_mutex_unlock(&rl->lock);
    int64_t wait_ms = (int64_t)(wait_s * 1000.0 + 0.5);
    if (wait_ms > 0) atomic_fetch_add(&rl->waited_us, wait_ms * 1000);
    return wait_ms;
}

double rate_limit_waited_s(const rate_limit_t *rl) { return rl ? (double)atomic_load(&rl->waited_us) / 1e6 : 0; }
