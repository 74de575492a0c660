/*
 * gw_cold_dump — test helper: reads one partition back from an s3-sink
 * archive through the gateway's cold path (connectors/gateway/gw_cold.c)
 * and prints each record as one JSON line, keys and values in base64:
 *   {"offset":..,"timestamp":..,"key":"<base64>"|null,"value":"<base64>"|null}
 * Usage: gw_cold_dump ENDPOINT BUCKET REGION PREFIX TOPIC PARTITION FROM_OFFSET
 * ENDPOINT is path-style (http://127.0.0.1:PORT); credentials come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (/ AWS_SESSION_TOKEN).
 * Exit status 0, or 1 with the error on stderr (2 for bad usage).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_cold.h"
#include "s3_client.h"
#include "s3_format.h"

static int put_span(s3_buf_t *line, const char *name, const void *p, size_t n)
{
    if (s3_buf_append(line, name, strlen(name)) != 0) return -1;
    if (p == NULL) return s3_buf_append(line, "null", 4);
    return s3_buf_append(line, "\"", 1) || s3_b64(line, p, n) || s3_buf_append(line, "\"", 1) ? -1 : 0;
}

static int print_rec(s3_buf_t *line, const gw_cold_rec_t *rec)
{
    char head[96];
    int n = snprintf(head, sizeof(head), "{\"offset\":%lld,\"timestamp\":%lld", (long long)rec->offset,
                     (long long)rec->timestamp_ms);
    line->len = 0;
    if (s3_buf_append(line, head, (size_t)n) || put_span(line, ",\"key\":", rec->key, rec->key_len) ||
        put_span(line, ",\"value\":", rec->value, rec->value_len) || s3_buf_append(line, "}\n", 2))
        return -1;
    return fwrite(line->data, 1, line->len, stdout) == line->len ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: gw_cold_dump ENDPOINT BUCKET REGION PREFIX TOPIC PARTITION FROM_OFFSET\n");
        return 2;
    }
    char *end;
    long partition = strtol(argv[6], &end, 10);
    if (*end || end == argv[6] || partition < 0 || partition > INT32_MAX) {
        fprintf(stderr, "gw_cold_dump: partition %s: expected a number >= 0\n", argv[6]);
        return 2;
    }
    long long from = strtoll(argv[7], &end, 10);
    if (*end || end == argv[7]) {
        fprintf(stderr, "gw_cold_dump: from offset %s: expected a number\n", argv[7]);
        return 2;
    }
    s3_settings_t s = {.endpoint = argv[1], .bucket = argv[2], .region = argv[3], .path_style = 1, .tls_verify = 1,
                       .retry_max = 3};
    if (s3_settings_from_env(&s) != 0) {
        fprintf(stderr, "gw_cold_dump: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
        return 1;
    }
    char err[1024];
    s3_client_t *cli = s3_client_new(&s, err, sizeof(err));
    if (cli == NULL) {
        fprintf(stderr, "gw_cold_dump: %s\n", err);
        return 1;
    }
    int rc = 1;
    s3_buf_t line = {0};
    gw_cold_t *g = gw_cold_open(cli, argv[4], argv[5], (int32_t)partition, from, err, sizeof(err));
    if (g == NULL) {
        fprintf(stderr, "gw_cold_dump: %s\n", err);
        goto done;
    }
    gw_cold_rec_t rec;
    int got;
    while ((got = gw_cold_next(g, &rec, err, sizeof(err))) == 1) {
        if (print_rec(&line, &rec) != 0) {
            snprintf(err, sizeof(err), "writing the record at offset %lld failed", (long long)rec.offset);
            got = -1;
            break;
        }
    }
    if (got < 0) {
        fprintf(stderr, "gw_cold_dump: %s\n", err);
        goto done;
    }
    rc = fflush(stdout) == 0 ? 0 : 1;
done:
    s3_buf_free(&line);
    gw_cold_free(g);
    s3_client_free(cli);
    return rc;
}
