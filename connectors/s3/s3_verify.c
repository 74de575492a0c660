/*
 * s3_verify.c — `ferry archive verify`: reads every object of an archive and
 * checks what replay relies on. Every object under the prefix decodes; each
 * record's topic and partition are those of its object's name, and its
 * first record's offset is the start offset in the name; offsets per
 * partition strictly increase, within objects and from one object to the
 * next, so none appears twice. Gaps are allowed (compaction, transaction
 * markers) and counted. Prints one line per topic/partition and every
 * problem with the object's key.
 *
 * Credentials come from the environment (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), never from the command line.
 */
#include "s3_verify.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_client.h"
#include "s3_format.h"
#include "s3_path.h"

typedef struct v_obj {
    char *key;
    char topic[256];
    int32_t partition;
    int64_t start;
} v_obj_t;

typedef struct v_list {
    v_obj_t *objs;
    size_t n, cap;
    size_t skipped; /* keys that are not archive objects */
    int oom;
} v_list_t;

static int v_on_key(void *arg, const char *key, int64_t size)
{
    (void)size;
    v_list_t *l = arg;
    v_obj_t o;
    memset(&o, 0, sizeof(o));
    s3_format_kind_t fmt;
    s3_compression_t comp;
    if (s3_archive_key_parse(key, o.topic, sizeof(o.topic), &o.partition, &o.start, &fmt, &comp) != 0) {
        l->skipped++;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        v_obj_t *n = realloc(l->objs, cap * sizeof(*n));
        if (n == NULL) {
            l->oom = 1;
            return 1;
        }
        l->objs = n;
        l->cap = cap;
    }
    o.key = strdup(key);
    if (o.key == NULL) {
        l->oom = 1;
        return 1;
    }
    l->objs[l->n++] = o;
    return 0;
}

static int v_cmp(const void *a, const void *b)
{
    const v_obj_t *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    if (c) return c;
    if (x->partition != y->partition) return x->partition < y->partition ? -1 : 1;
    return s3_object_order(x->start, x->key, y->start, y->key);
}

/* The walk over one object's records. */
typedef struct v_walk {
    const v_obj_t *obj;
    int64_t last;   /* highest offset seen in this partition; -1 none */
    int64_t records, gaps;
    long problems;
    FILE *out;
} v_walk_t;

static void v_problem(v_walk_t *w, const char *msg)
{
    w->problems++;
    if (w->problems <= 20) fprintf(w->out, "PROBLEM %s: %s\n", w->obj->key, msg);
}

static int v_on_rec(void *arg, const s3_rec_t *r, size_t index)
{
    v_walk_t *w = arg;
    char msg[300];
    if (index == 0 && r->offset != w->obj->start) {
        snprintf(msg, sizeof(msg), "first record has offset %lld, the name says %lld", (long long)r->offset,
                  (long long)w->obj->start);
        v_problem(w, msg);
    }
    if (r->partition != w->obj->partition || strcmp(r->topic, w->obj->topic) != 0) {
        snprintf(msg, sizeof(msg), "record at offset %lld belongs to partition %lld of another topic or partition", (long long)r->offset, (long long)r->partition);
        v_problem(w, msg);
    }
    if (w->last >= 0 && r->offset <= w->last) {
        snprintf(msg, sizeof(msg), "offset %lld appears after %lld (duplicate or out of order)", (long long)r->offset,
                  (long long)w->last);
        v_problem(w, msg);
    } else {
        if (w->last >= 0 && r->offset > w->last + 1) w->gaps++;
        w->last = r->offset;
    }
    w->records++;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ferry archive verify --bucket NAME [--prefix DIR] [--endpoint URL] [--region R]\n"
               "                            [--virtual-hosted] [--insecure]\n"
               "  Reads every object under s3://NAME/DIR (default topics) and checks that it decodes and\n"
               "  that offsets per topic/partition strictly increase across objects. Credentials come from\n"
               "  AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN.\n"
               "  Exit status: 0 the archive is sound, 1 problems were found, 2 it could not be read.\n");
}

int s3_verify_main(int argc, char **argv)
{
    static const struct option longopts[] = {{"bucket", required_argument, NULL, 'b'},
                                             {"prefix", required_argument, NULL, 'p'},
                                             {"endpoint", required_argument, NULL, 'e'},
                                             {"region", required_argument, NULL, 'r'},
                                             {"virtual-hosted", no_argument, NULL, 'v'},
                                             {"insecure", no_argument, NULL, 'k'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *bucket = NULL, *prefix = "topics", *endpoint = "", *region = "us-east-1";
    int path_style = 1, verify_tls = 1, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "b:p:e:r:vkh", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': bucket = optarg; break;
        case 'p': prefix = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'r': region = optarg; break;
        case 'v': path_style = 0; break;
        case 'k': verify_tls = 0; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (bucket == NULL || optind != argc) {
        usage(stderr);
        return 2;
    }
    s3_settings_t s = {.endpoint = endpoint,
                       .region = region,
                       .bucket = bucket,
                       .path_style = path_style,
                       .tls_verify = verify_tls,
                       .retry_max = 6};
    if (s3_settings_from_env(&s) != 0) {
        fprintf(stderr, "ferry archive verify: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY\n");
        return 2;
    }
    char err[512];
    s3_client_t *cli = s3_client_new(&s, err, sizeof(err));
    if (cli == NULL) {
        fprintf(stderr, "ferry archive verify: %s\n", err);
        return 2;
    }
    /* The prefix as the sink writes topics.dir, then "/". */
    char dir[1024], pfx[1026];
    s3_dir_trim(prefix, dir, sizeof(dir));
    snprintf(pfx, sizeof(pfx), "%s%s", dir, dir[0] ? "/" : "");
    v_list_t l = {0};
    s3_status_t st = s3_list(cli, pfx, v_on_key, &l);
    int rc = 0;
    if (st != S3_OK || l.oom) {
        fprintf(stderr, "ferry archive verify: %s\n", l.oom ? "out of memory" : s3_client_error(cli));
        rc = 2;
        goto done;
    }
    if (l.n > 1) qsort(l.objs, l.n, sizeof(*l.objs), v_cmp); /* objs is NULL for an empty archive */
    long problems = 0;
    size_t i = 0, unreadable_format = 0;
    printf("%-40s %9s %8s %12s %14s %14s %6s\n", "topic/partition", "objects", "problems", "records", "first",
           "last", "gaps");
    while (i < l.n) {
        size_t j = i;
        v_walk_t w = {.last = -1, .out = stdout};
        int64_t first = -1;
        for (; j < l.n && l.objs[j].partition == l.objs[i].partition &&
               strcmp(l.objs[j].topic, l.objs[i].topic) == 0;
             j++) {
            w.obj = &l.objs[j];
            s3_format_kind_t fmt;
            s3_compression_t comp;
            s3_format_from_name(w.obj->key, &fmt, &comp);
            if (fmt == S3_FMT_JSON || fmt == S3_FMT_BYTES) {
                /* Values only: there are no offsets to check. */
                unreadable_format++;
                continue;
            }
            s3_buf_t raw = {0};
            st = s3_get(cli, w.obj->key, &raw);
            if (st != S3_OK) {
                fprintf(stderr, "ferry archive verify: %s\n", s3_client_error(cli));
                s3_buf_free(&raw);
                rc = 2;
                goto done;
            }
            char why[512];
            int64_t before = w.last;
            if (s3_decode_object(fmt, comp, raw.data ? raw.data : "", raw.len, v_on_rec, &w, why, sizeof(why)) < 0) {
                w.problems++;
                printf("PROBLEM %s: cannot be read: %s\n", w.obj->key, why);
            }
            if (first < 0 && w.last >= 0 && before < 0) first = l.objs[j].start;
            s3_buf_free(&raw);
        }
        char name[300];
        snprintf(name, sizeof(name), "%s/%d", l.objs[i].topic, l.objs[i].partition);
        printf("%-40s %9zu %8ld %12lld %14lld %14lld %6lld\n", name, j - i, w.problems, (long long)w.records,
               (long long)first, (long long)w.last, (long long)w.gaps);
        problems += w.problems;
        i = j;
    }
    printf("%zu object(s) under s3://%s/%s, %ld problem(s)%s\n", l.n, bucket, pfx, problems,
           l.skipped ? " (other keys were skipped)" : "");
    if (unreadable_format)
        printf("%zu object(s) in the json or bytes format were not checked: they hold values only, no offsets\n",
               unreadable_format);
    rc = problems ? 1 : 0;
done:
    for (size_t k = 0; k < l.n; k++) free(l.objs[k].key);
    free(l.objs);
    s3_client_free(cli);
    return rc;
}
