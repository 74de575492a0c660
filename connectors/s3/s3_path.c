/*
 * s3_path.c — the partitioners and object names of s3_path.h.
 */
#include "s3_path.h"

#include <jansson.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int s3_partitioner_parse(const char *name)
{
    if (strcmp(name, "default") == 0 ||
        strcmp(name, "io.confluent.connect.storage.partitioner.DefaultPartitioner") == 0)
        return S3_PART_DEFAULT;
    if (strcmp(name, "field") == 0 ||
        strcmp(name, "io.confluent.connect.storage.partitioner.FieldPartitioner") == 0)
        return S3_PART_FIELD;
    if (strcmp(name, "time") == 0 ||
        strcmp(name, "io.confluent.connect.storage.partitioner.TimeBasedPartitioner") == 0)
        return S3_PART_TIME;
    return -1;
}

int s3_extractor_parse(const char *name)
{
    if (strcmp(name, "Record") == 0) return S3_TS_RECORD;
    if (strcmp(name, "RecordField") == 0) return S3_TS_RECORD_FIELD;
    if (strcmp(name, "Wallclock") == 0) return S3_TS_WALLCLOCK;
    return -1;
}

int s3_timezone_parse(const char *tz, int64_t *offset_s)
{
    if (strcmp(tz, "UTC") == 0 || strcmp(tz, "Z") == 0 || strcmp(tz, "GMT") == 0 ||
        strcmp(tz, "Etc/UTC") == 0) {
        *offset_s = 0;
        return 0;
    }
    const char *p = tz;
    if (strncmp(p, "UTC", 3) == 0) p += 3;
    if (*p != '+' && *p != '-') return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1])) return -1;
    int h = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p == ':') p++;
    int m = 0;
    if (*p) {
        if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]) || p[2]) return -1;
        m = (p[0] - '0') * 10 + (p[1] - '0');
    }
    if (h > 14 || m > 59) return -1;
    *offset_s = sign * (h * 3600 + m * 60);
    return 0;
}

/* Walks a path.format: literals in single quotes, the tokens YYYY yyyy MM dd
 * HH mm ss, and '/', '=', '-', '_' as they are. With tm NULL it only checks. */
static int format_time(const char *fmt, const struct tm *tm, char *out, size_t outlen, char *err, size_t errlen)
{
    static const struct {
        const char *tok;
        int width;
    } toks[] = {{"YYYY", 4}, {"yyyy", 4}, {"MM", 2}, {"dd", 2}, {"HH", 2}, {"mm", 2}, {"ss", 2}};
    size_t o = 0;
    for (const char *p = fmt; *p;) {
        if (*p == '\'') {
            const char *q = strchr(p + 1, '\'');
            if (q == NULL) {
                snprintf(err, errlen, "path.format %s: a quote is not closed", fmt);
                return -1;
            }
            size_t n = (size_t)(q - p - 1);
            if (o + n >= outlen) goto toolong;
            memcpy(out + o, p + 1, n);
            o += n;
            p = q + 1;
            continue;
        }
        int matched = 0;
        for (size_t t = 0; t < sizeof(toks) / sizeof(toks[0]); t++) {
            size_t tl = strlen(toks[t].tok);
            if (strncmp(p, toks[t].tok, tl) == 0) {
                int v = 0;
                if (tm) {
                    switch (toks[t].tok[0]) {
                    case 'Y': case 'y': v = tm->tm_year + 1900; break;
                    case 'M': v = tm->tm_mon + 1; break;
                    case 'd': v = tm->tm_mday; break;
                    case 'H': v = tm->tm_hour; break;
                    case 'm': v = tm->tm_min; break;
                    default: v = tm->tm_sec; break;
                    }
                }
                if (o + 5 >= outlen) goto toolong;
                o += (size_t)snprintf(out + o, outlen - o, "%0*d", toks[t].width, v);
                p += tl;
                matched = 1;
                break;
            }
        }
        if (matched) continue;
        if (*p == '/' || *p == '=' || *p == '-' || *p == '_' || *p == '.') {
            if (o + 1 >= outlen) goto toolong;
            out[o++] = *p++;
            continue;
        }
        snprintf(err, errlen,
                 "path.format %s: unexpected '%c' (tokens: YYYY MM dd HH mm ss; quote literal text as 'year')",
                 fmt, *p);
        return -1;
    }
    out[o] = '\0';
    return 0;
toolong:
    snprintf(err, errlen, "path.format %s: the path is too long", fmt);
    return -1;
}

int s3_path_format_check(const char *fmt, char *err, size_t errlen)
{
    char out[512];
    if (fmt == NULL || fmt[0] == '\0') {
        snprintf(err, errlen, "path.format must be set for the time partitioner");
        return -1;
    }
    return format_time(fmt, NULL, out, sizeof(out), err, errlen);
}

/* A JSON field's value as path text; -1 when absent or not a scalar. */
static int field_text(json_t *v, char *out, size_t outlen)
{
    int n;
    if (json_is_string(v)) n = snprintf(out, outlen, "%s", json_string_value(v));
    else if (json_is_integer(v)) n = snprintf(out, outlen, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) n = snprintf(out, outlen, "%.17g", json_real_value(v));
    else if (json_is_boolean(v)) n = snprintf(out, outlen, "%s", json_is_true(v) ? "true" : "false");
    else return -1;
    if (n < 0 || (size_t)n >= outlen) return -1;
    /* '/' would add a level to the path. */
    for (char *c = out; *c; c++)
        if (*c == '/') *c = '_';
    return 0;
}

int s3_iso_ms(const char *s, int64_t *ms)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (rest == NULL) return -1;
    int64_t frac = 0;
    if (*rest == '.') {
        int digits = 0;
        for (rest++; isdigit((unsigned char)*rest); rest++, digits++)
            if (digits < 3) frac = frac * 10 + (*rest - '0');
        for (; digits < 3; digits++) frac *= 10;
    }
    if (strcmp(rest, "Z") != 0) return -1;
    /* strptime takes 2026-02-30: refuse a date that timegm would move. */
    struct tm check = tm;
    time_t t = timegm(&check);
    if (check.tm_mday != tm.tm_mday || check.tm_mon != tm.tm_mon || check.tm_hour != tm.tm_hour) return -1;
    *ms = (int64_t)t * 1000 + frac;
    return 0;
}

/* Milliseconds since the epoch from a JSON field: a number, or an ISO-8601
 * UTC string. */
static int field_ms(json_t *v, int64_t *ms)
{
    if (json_is_integer(v)) {
        *ms = json_integer_value(v);
        return 0;
    }
    return json_is_string(v) ? s3_iso_ms(json_string_value(v), ms) : -1;
}

int s3_partition_encode(const s3_partitioner_t *p, const s3_rec_t *rec, int64_t now_ms, char *out,
                        size_t outlen, char *err, size_t errlen)
{
    if (p->kind == S3_PART_DEFAULT) {
        snprintf(out, outlen, "partition=%d", rec->partition);
        return 0;
    }
    json_t *j = NULL;
    int need_json = p->kind == S3_PART_FIELD || p->extractor == S3_TS_RECORD_FIELD;
    if (need_json) {
        json_error_t jerr;
        j = rec->value ? json_loadb(rec->value, rec->value_len, 0, &jerr) : NULL;
        if (!json_is_object(j)) {
            json_decref(j);
            snprintf(err, errlen, "the value is not a JSON object (the %s partitioner reads its fields)",
                     p->kind == S3_PART_FIELD ? "field" : "time");
            return -1;
        }
    }
    int rc = 0;
    if (p->kind == S3_PART_FIELD) {
        size_t o = 0;
        for (size_t i = 0; i < p->field_count; i++) {
            char val[256];
            if (field_text(json_object_get(j, p->fields[i]), val, sizeof(val)) != 0) {
                snprintf(err, errlen, "field %s is missing or not a string, number or boolean", p->fields[i]);
                rc = -1;
                break;
            }
            int n = snprintf(out + o, outlen - o, "%s%s=%s", i ? "/" : "", p->fields[i], val);
            if (n < 0 || (size_t)n >= outlen - o) {
                snprintf(err, errlen, "the encoded partition is too long");
                rc = -1;
                break;
            }
            o += (size_t)n;
        }
    } else {
        int64_t ms = rec->timestamp;
        if (p->extractor == S3_TS_WALLCLOCK) {
            ms = now_ms;
        } else if (p->extractor == S3_TS_RECORD_FIELD) {
            if (field_ms(json_object_get(j, p->ts_field), &ms) != 0) {
                snprintf(err, errlen, "timestamp.field %s is missing or not milliseconds or an ISO-8601 UTC time",
                         p->ts_field);
                rc = -1;
            }
        } else if (rec->timestamp_type == 0 && rec->timestamp <= 0) {
            snprintf(err, errlen, "the record has no timestamp (timestamp.extractor Record)");
            rc = -1;
        }
        if (rc == 0) {
            int64_t d = p->duration_ms > 0 ? p->duration_ms : 3600000;
            int64_t local = ms + p->tz_offset_s * 1000;
            int64_t floor = local - (((local % d) + d) % d);
            time_t secs = (time_t)(floor >= 0 ? floor / 1000 : -((-floor + 999) / 1000));
            struct tm tm;
            gmtime_r(&secs, &tm);
            rc = format_time(p->path_format, &tm, out, outlen, err, errlen);
        }
    }
    json_decref(j);
    return rc;
}

int s3_object_key(char *out, size_t outlen, const char *topics_dir, const char *topic,
                  const char *encoded, int32_t partition, int64_t start_offset, const char *ext)
{
    int n = snprintf(out, outlen, "%s%s%s/%s/%s+%d+%019lld%s", topics_dir, topics_dir[0] ? "/" : "", topic,
                     encoded, topic, partition, (long long)start_offset, ext);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int s3_object_key_parse(const char *key, char *topic_out, size_t topic_len, int32_t *partition,
                        int64_t *start_offset)
{
    const char *base = strrchr(key, '/');
    base = base ? base + 1 : key;
    /* <topic>+<p>+<19 digits><ext>: the topic may contain '+'? No: Kafka topic
     * names are [a-zA-Z0-9._-], so the last two '+' split it. */
    const char *plus2 = strrchr(base, '+');
    if (plus2 == NULL || plus2 == base) return -1;
    const char *plus1 = plus2 - 1;
    while (plus1 > base && *plus1 != '+') plus1--;
    if (plus1 == base || *plus1 != '+') return -1;
    size_t tl = (size_t)(plus1 - base);
    if (tl == 0 || tl >= topic_len) return -1;
    for (const char *c = plus1 + 1; c < plus2; c++)
        if (!isdigit((unsigned char)*c)) return -1;
    if (plus2 - plus1 < 2) return -1;
    for (int i = 1; i <= 19; i++)
        if (!isdigit((unsigned char)plus2[i])) return -1;
    if (plus2[20] != '.') return -1;
    memcpy(topic_out, base, tl);
    topic_out[tl] = '\0';
    *partition = (int32_t)strtol(plus1 + 1, NULL, 10);
    *start_offset = strtoll(plus2 + 1, NULL, 10);
    return 0;
}

int s3_archive_key_parse(const char *key, char *topic_out, size_t topic_len, int32_t *partition,
                         int64_t *start_offset, s3_format_kind_t *fmt, s3_compression_t *comp)
{
    if (s3_format_from_name(key, fmt, comp) != 0) return -1;
    return s3_object_key_parse(key, topic_out, topic_len, partition, start_offset);
}

int s3_object_order(int64_t a_start, const char *a_key, int64_t b_start, const char *b_key)
{
    if (a_start != b_start) return a_start < b_start ? -1 : 1;
    return strcmp(a_key, b_key);
}

void s3_dir_trim(const char *dir, char *out, size_t outlen)
{
    if (outlen == 0) return;
    if (dir == NULL) dir = "";
    while (*dir == '/') dir++;
    size_t n = strlen(dir);
    while (n > 0 && dir[n - 1] == '/') n--;
    if (n >= outlen) n = outlen - 1;
    memcpy(out, dir, n);
    out[n] = '\0';
}

int s3_topic_prefix(char *out, size_t outlen, const char *topics_dir, const char *topic)
{
    int n = snprintf(out, outlen, "%s%s%s/", topics_dir, topics_dir[0] ? "/" : "", topic);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
