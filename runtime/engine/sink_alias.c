/*
 * sink_alias.c — topics a sink's transforms renamed (RegexRouter,
 * TimestampRouter, route, EventRouter), mapped back to the consumed topic.
 *
 * A sink connector sees a renamed record's new topic, and speaks of it in
 * flush_limit(), sink_rewind() and sink_pause(); the consumer's offsets are
 * per consumed partition. The partition and the offset stay what they were
 * (no transform here changes them), so each (new topic, partition) seen is
 * noted with its consumed topic, and the connector's calls are carried over.
 * Two consumed topics landing in one (new topic, partition) — topics merged
 * by a router — would give the connector two offset sequences under one
 * name: the task fails, saying why. A rename onto a topic that later becomes
 * one of the task's own partitions (a rebalance) is caught when the
 * connector speaks of it: its limits and rewinds there are refused.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/sink_internal.h"
#include "util/log.h"
#include "util/strutil.h"

struct sink_alias {
    char *as;          /* the topic the connector saw */
    int32_t partition;
    char *consumed;    /* the topic it was consumed from */
};

/* The first entry for what the connector calls as/partition (of any
 * consumed topic when consumed is NULL). */
static sink_alias_t *alias_find(sink_ctx_t *ctx, const char *as, int32_t partition, const char *consumed)
{
    if (ctx->alias_last < ctx->naliases) {
        sink_alias_t *a = &ctx->aliases[ctx->alias_last];
        if (a->partition == partition && strcmp(a->as, as) == 0 && (!consumed || strcmp(a->consumed, consumed) == 0))
            return a;
    }
    for (size_t i = 0; i < ctx->naliases; i++) {
        sink_alias_t *a = &ctx->aliases[i];
        if (a->partition == partition && strcmp(a->as, as) == 0 && (!consumed || strcmp(a->consumed, consumed) == 0)) {
            ctx->alias_last = i;
            return a;
        }
    }
    return NULL;
}

int sink_alias_note(sink_ctx_t *ctx, const char *as, int32_t partition, const char *consumed)
{
    if (alias_find(ctx, as, partition, consumed)) return 0;
    sink_alias_t *other = alias_find(ctx, as, partition, NULL);
    /* A second consumed topic renamed onto the same one, or a rename onto a
     * topic this task also consumes: two offset sequences in one
     * topic/partition, which no connector can keep apart (each keeps its
     * positions per topic and partition it sees). */
    const char *with = other ? other->consumed : sink_owns(ctx, as, partition) ? as : NULL;
    if (with) {
        snprintf(ctx->alias_error, sizeof(ctx->alias_error),
                 "transforms merged records of several consumed topics into %s/%d (%s/%d and %s/%d): a sink "
                 "connector sees offsets per topic and partition, so each consumed topic must keep a name of its "
                 "own (make the rename one-to-one)",
                 as, (int)partition, with, (int)partition, consumed, (int)partition);
        return -1;
    }
    ctx->aliases = xrealloc(ctx->aliases, (ctx->naliases + 1) * sizeof(*ctx->aliases));
    ctx->aliases[ctx->naliases] = (sink_alias_t){.as = str_dup(as), .partition = partition, .consumed = str_dup(consumed)};
    ctx->alias_last = ctx->naliases++;
    return 0;
}

const char *sink_alias_consumed(sink_ctx_t *ctx, const char *topic, int32_t partition, int *merged)
{
    *merged = 0;
    if (!ctx->naliases) return topic;
    sink_alias_t *a = alias_find(ctx, topic, partition, NULL);
    if (!a) return topic;
    /* Merged when the new name became a partition of this task after the
     * alias was noted (a rebalance). */
    *merged = sink_owns(ctx, topic, partition);
    return a->consumed;
}

tplist_t *sink_alias_with(sink_ctx_t *ctx, const tplist_t *parts)
{
    tplist_t *all = rd_kafka_topic_partition_list_copy(parts);
    for (size_t i = 0; i < ctx->naliases; i++) {
        const sink_alias_t *a = &ctx->aliases[i];
        if (!rd_kafka_topic_partition_list_find(parts, a->consumed, a->partition) ||
            rd_kafka_topic_partition_list_find(all, a->as, a->partition))
            continue;
        /* Not when the new name is also a partition the task keeps (one
         * consumed partition per new name: merges are refused when noted). */
        if (!sink_owns(ctx, a->as, a->partition) || rd_kafka_topic_partition_list_find(parts, a->as, a->partition))
            rd_kafka_topic_partition_list_add(all, a->as, a->partition);
    }
    return all;
}

void sink_alias_forget(sink_ctx_t *ctx, const tplist_t *parts)
{
    size_t kept = 0;
    for (size_t i = 0; i < ctx->naliases; i++) {
        sink_alias_t *a = &ctx->aliases[i];
        if (rd_kafka_topic_partition_list_find(parts, a->consumed, a->partition)) {
            free(a->as);
            free(a->consumed);
        } else {
            ctx->aliases[kept++] = *a;
        }
    }
    ctx->naliases = kept;
    ctx->alias_last = 0;
}

void sink_alias_free(sink_ctx_t *ctx)
{
    for (size_t i = 0; i < ctx->naliases; i++) {
        free(ctx->aliases[i].as);
        free(ctx->aliases[i].consumed);
    }
    free(ctx->aliases);
    ctx->aliases = NULL;
    ctx->naliases = 0;
}

int sink_alias_limits(sink_ctx_t *ctx, ferry_flush_t *fl, char *err, size_t errlen)
{
    for (size_t i = 0; i < fl->count && ctx->naliases; i++) {
        int merged;
        const char *consumed = sink_alias_consumed(ctx, fl->limits[i].topic, fl->limits[i].partition, &merged);
        if (merged) {
            snprintf(err, errlen,
                     "flush() limited %s/%d, a name transforms gave to another consumed topic while this task "
                     "also consumes %s/%d itself: their offsets cannot be told apart (make the rename "
                     "one-to-one, onto a name no sink task consumes)",
                     fl->limits[i].topic, (int)fl->limits[i].partition, fl->limits[i].topic,
                     (int)fl->limits[i].partition);
            return -1;
        }
        if (consumed != fl->limits[i].topic) {
            char *c = str_dup(consumed);
            free(fl->limits[i].topic);
            fl->limits[i].topic = c;
        }
    }
    return 0;
}
