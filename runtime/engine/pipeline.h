/*
 * pipeline.h — a task's transforms and converters (pipeline.c).
 */
#ifndef FERRY_PIPELINE_H
#define FERRY_PIPELINE_H

#include <librdkafka/rdkafka.h>

#include "errors/errors.h"
#include "ferry/ferry.h"
#include "transform/transform.h"

typedef struct task_rt task_rt_t;

typedef struct pipeline {
    xf_chain_t *chain;          /* owned, or NULL */
    xf_converter_t key_conv, value_conv;
    int active;                 /* there is something to do */
} pipeline_t;

/* From the task's config (already validated). 0, or -1 with err. */
int pipeline_init(pipeline_t *p, const task_rt_t *t, char *err, size_t errlen);
void pipeline_free(pipeline_t *p);

/* A source record on its way out: the topic, partition and timestamp are
 * rec's; key, value and headers what to produce (pointers valid until
 * pipeline_out_clear). */
typedef struct pipeline_out {
    xf_record_t rec;
    const void *key, *value;
    size_t key_len, value_len;
    char *key_owned, *value_owned;
    rd_kafka_headers_t *headers; /* owned, or NULL */
    char *fanout;                /* owned: route's further topics ("t2|t3"), or NULL */
} pipeline_out_t;

/* XF_KEEP (o filled), XF_DROP (a transform dropped it), XF_FAIL (err, and
 * the stage that failed). Clear o in every case. */
xf_result_t pipeline_source(pipeline_t *p, const task_rt_t *t, const ferry_record_t *in, pipeline_out_t *o,
                            errors_stage_t *stage, char *err, size_t errlen);
void pipeline_out_clear(pipeline_out_t *o);

/* Converts and transforms the sink batch's record at index in place
 * (copies in the batch's arena). */
xf_result_t pipeline_sink(pipeline_t *p, ferry_batch_t *batch, size_t index, errors_stage_t *stage, char *err,
                          size_t errlen);

#endif
