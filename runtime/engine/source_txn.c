/*
 * source_txn.c — exactly-once source delivery, as Kafka Connect's KIP-618.
 *
 * With the worker's exactly.once.source.support: enabled, each source task
 * produces through a transactional producer (transactional.id
 * <group.id or "ferry">-<connector>-<task>). A transaction holds the
 * records of one poll() batch (transaction.boundary: poll) or of an
 * interval (transaction.boundary: interval) and, written last, the
 * offsets-topic records that cover them. Committing it makes records and
 * offsets visible together to read_committed consumers — ferry's own offsets
 * reader included — and only then is the connector's commit() called.
 *
 * A restarted task (after kill -9, or on another worker of the group) calls
 * init_transactions first: Kafka aborts what its predecessor left open and
 * fences that producer for good. Then it reads its offsets again, so it
 * resumes exactly after the last committed transaction.
 *
 * A transaction that cannot commit is aborted and the task fails; its
 * records were never visible, and the restart produces them again from the
 * last committed offsets. Inside a transaction a record the broker refuses
 * cannot be dead-lettered (the transaction must abort): the task fails for
 * good, as a restart would meet it again.
 *
 * Task thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "engine/source_internal.h"
#include "util/log.h"
#include "util/strutil.h"

#define TXN_INIT_TIMEOUT_MS 30000
#define TXN_PERIODIC_TIMEOUT_MS 30000

const char *source_txn_unmet(const worker_config_t *wc, int embedded)
{
    return !wc->eos_source                       ? "the worker's exactly.once.source.support is not enabled"
           : wc->offsets_store != OFFSETS_STORE_KAFKA ? "offsets.store is not kafka (a file cannot join a Kafka transaction)"
           : embedded                                 ? "the embedded broker has no real transactions"
                                                      : NULL;
}

int source_txn_required(const ferry_config_t *cfg)
{
    const char *support = config_string(cfg, "exactly.once.support");
    return support && strcmp(support, "required") == 0;
}

int source_txn_wanted(const task_rt_t *t, char *why, size_t whylen)
{
    const worker_t *w = t->conn->worker;
    const char *missing = source_txn_unmet(w->wc, kafka_env_is_embedded(w->kenv));
    if (!missing) return 1;
    if (source_txn_required(t->cfg)) {
        snprintf(why, whylen, "exactly.once.support is required, but %s", missing);
        return -1;
    }
    if (w->wc->eos_source)
        log_warn("[%s] exactly-once delivery is not possible (%s): at-least-once", t->task->prefix, missing);
    return 0;
}

int source_txn_conf(source_ctx_t *ctx, rd_kafka_conf_t *conf, char *why, size_t whylen)
{
    const task_rt_t *t = ctx->t;
    const char *group = ctx->w->wc->group_id ? ctx->w->wc->group_id : "ferry";
    char id[512], rderr[256];
    snprintf(id, sizeof(id), "%s-%s-%d", group, t->task->connector, t->task->id);
    if (rd_kafka_conf_set(conf, "transactional.id", id, rderr, sizeof(rderr)) != RD_KAFKA_CONF_OK) {
        snprintf(why, whylen, "transactional.id=%s: %s", id, rderr);
        return -1;
    }
    const char *boundary = config_string(t->cfg, "transaction.boundary");
    ctx->txn_per_poll = !boundary || strcmp(boundary, "poll") == 0;
    if (!ctx->txn_per_poll && config_string(t->cfg, "transaction.boundary.interval.ms"))
        ctx->flush_ms = config_duration_ms(t->cfg, "transaction.boundary.interval.ms");
    /* A transaction open longer than the producer's transaction.timeout.ms
     * is aborted by the broker: every interval would end in an abort. */
    char tmo[32];
    size_t tmolen = sizeof(tmo);
    long long timeout_ms = 60000;
    if (rd_kafka_conf_get(conf, "transaction.timeout.ms", tmo, &tmolen) == RD_KAFKA_CONF_OK)
        timeout_ms = strtoll(tmo, NULL, 10);
    long long span_ms = ctx->txn_per_poll ? 0 : (long long)ctx->flush_ms;
    if (span_ms >= timeout_ms) {
        snprintf(why, whylen,
                 "transaction.boundary.interval.ms (%lld ms) must be shorter than the producer's "
                 "transaction.timeout.ms (%lld ms), or the broker aborts every transaction: shorten the interval, "
                 "or raise producer.transaction.timeout.ms in the worker's kafka: section",
                 span_ms, timeout_ms);
        return -2;
    }
    log_info("[%s] exactly-once: transactional.id %s, one transaction per %s", t->task->prefix, id,
             ctx->txn_per_poll ? "poll() batch" : "interval");
    return 0;
}

/* Fails the task with a transactional error: fatal ones (fenced: another
 * instance of this task runs) for good, the others to be restarted. */
static void txn_fail(source_ctx_t *ctx, const char *what, rd_kafka_error_t *error)
{
    ferry_error_t err;
    int fatal = rd_kafka_error_is_fatal(error);
    rd_kafka_resp_err_t code = rd_kafka_error_code(error);
    int fenced = code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
                 code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH;
    snprintf(err.msg, sizeof(err.msg), "%s: %s%s", what, rd_kafka_error_string(error),
             fenced ? " (fenced: a newer instance of this task took over its transactional.id)" : "");
    rd_kafka_error_destroy(error);
    engine_task_fail(ctx->t, fatal || fenced ? FERRY_FATAL : FERRY_ERROR, "transaction", &err);
}

int source_txn_init(source_ctx_t *ctx)
{
    rd_kafka_error_t *error = rd_kafka_init_transactions(ctx->rk, TXN_INIT_TIMEOUT_MS);
    if (!error) return 0;
    txn_fail(ctx, "init_transactions (does the broker allow transactions? transaction.state.log.* settings, "
                  "ACLs on the transactional.id)", error);
    return -1;
}

int source_txn_begin(source_ctx_t *ctx)
{
    if (ctx->in_txn) return 0;
    rd_kafka_error_t *error = rd_kafka_begin_transaction(ctx->rk);
    if (error) {
        txn_fail(ctx, "begin_transaction", error);
        return -1;
    }
    ctx->in_txn = 1;
    return 0;
}

/* The offsets taken for a transaction that did not commit are dropped: the
 * connector's commit() must never hear of them. */
static void txn_forget_offsets(source_ctx_t *ctx)
{
    source_offsets_t *o = &ctx->offs;
    for (size_t i = 0; i < o->n; i++) {
        free(o->part[i]);
        free(o->off[i]);
    }
    o->n = 0;
}

static void txn_abort(source_ctx_t *ctx, int64_t deadline)
{
    txn_forget_offsets(ctx);
    int64_t left = deadline - clock_ms();
    rd_kafka_error_t *error = rd_kafka_abort_transaction(ctx->rk, (int)(left > 100 ? left : 100));
    if (error) {
        log_warn("[%s] abort_transaction: %s (the broker aborts it after transaction.timeout.ms, or the next "
                 "instance of the task does)", ctx->t->task->prefix, rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    } else {
        log_warn("[%s] transaction aborted: its records are produced again from the last committed offsets",
                 ctx->t->task->prefix);
    }
    ctx->in_txn = 0;
}

static int source_txn_commit(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen)
{
    task_rt_t *t = ctx->t;
    if (!ctx->in_txn) return 0;
    if (deadline == SOURCE_FLUSH_PERIODIC) deadline = clock_ms() + TXN_PERIODIC_TIMEOUT_MS;
    /* Every record's delivery report first, so that the tracker knows the
     * offsets they reach. */
    int64_t left = deadline - clock_ms();
    rd_kafka_flush(ctx->rk, (int)(left > 0 ? left : 0));
    ferry_error_t err;
    if (ctx->delivery_failed || rd_kafka_outq_len(ctx->rk) > 0) {
        int permanent = ctx->delivery_permanent;
        snprintf(err.msg, sizeof(err.msg), "%s",
                 ctx->delivery_failed ? ctx->delivery_error : "records not acknowledged by the deadline");
        snprintf(why, whylen, "%s", err.msg);
        txn_abort(ctx, deadline);
        if (permanent)
            engine_task_fail_permanent(t, "transaction",
                                       "%s; inside a transaction a refused record cannot be dead-lettered, and a "
                                       "restart would meet it again",
                                       err.msg);
        else
            engine_task_fail(t, FERRY_ERROR, "transaction", &err);
        return -2;
    }
    source_offsets_take(ctx);
    if (source_offsets_write(ctx, deadline, why, whylen) != 0) {
        snprintf(err.msg, sizeof(err.msg), "%s", why);
        txn_abort(ctx, deadline);
        engine_task_fail(t, FERRY_ERROR, "transaction", &err);
        return -2;
    }
    left = deadline - clock_ms();
    rd_kafka_error_t *error = rd_kafka_commit_transaction(ctx->rk, (int)(left > 100 ? left : 100));
    if (error) {
        snprintf(why, whylen, "commit_transaction: %s", rd_kafka_error_string(error));
        if (rd_kafka_error_txn_requires_abort(error)) {
            rd_kafka_error_destroy(error);
            snprintf(err.msg, sizeof(err.msg), "%s", why);
            txn_abort(ctx, deadline);
            engine_task_fail(t, FERRY_ERROR, "transaction", &err);
        } else {
            /* Fatal (fenced), or retriable with the deadline gone: this
             * instance cannot finish it, and whether it committed is not
             * known; the next instance finds out from the offsets topic. */
            ctx->in_txn = 0;
            txn_forget_offsets(ctx);
            txn_fail(ctx, "commit_transaction", error);
        }
        return -2;
    }
    ctx->in_txn = 0;
    source_offsets_t *o = &ctx->offs;
    ferry_offset_t *offs = xcalloc(o->n ? o->n : 1, sizeof(*offs));
    for (size_t i = 0; i < o->n; i++) {
        offs[i].source_partition = o->part[i];
        offs[i].source_offset = o->off[i];
    }
    engine_offsets_update_map(ctx->w, t->task->connector, offs, o->n);
    free(offs);
    return 0;
}

int source_txn_flush(source_ctx_t *ctx, int64_t deadline, char *why, size_t whylen)
{
    /* The transaction holds the records and their offsets; committing it
     * makes both durable at once. */
    int had = ctx->in_txn;
    int rc = source_txn_commit(ctx, deadline, why, whylen);
    if (had) engine_note_commit(ctx->t, rc == 0);
    return rc != 0 ? rc : source_offsets_acknowledge(ctx, deadline);
}
