/*
 * rest_status.c — `ferry status`: a worker's connectors and tasks as a
 * table, read from its REST API (GET /connectors?expand=status), as kcctl
 * shows a Connect cluster.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest/rest.h"
#include "util/strutil.h"

#define STATUS_BODY_MAX (16 * 1024 * 1024)

typedef struct body {
    char *data;
    size_t len;
} body_t;

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
    body_t *b = arg;
    size_t add = size * n;
    if (b->len + add > STATUS_BODY_MAX) return 0; /* curl then fails the transfer */
    b->data = xrealloc(b->data, b->len + add + 1);
    memcpy(b->data + b->len, p, add);
    b->len += add;
    b->data[b->len] = '\0';
    return add;
}

/* One line of trace: the first, cut to fit a terminal. */
static void print_trace(FILE *out, const char *trace)
{
    size_t n = strcspn(trace, "\n");
    if (n > 100) n = 100;
    fprintf(out, "      %.*s%s\n", (int)n, trace, strlen(trace) > n ? "…" : "");
}

int rest_status_print(const char *url, const char *token, FILE *out, char *err, size_t errlen)
{
    CURL *h = curl_easy_init();
    if (!h) {
        snprintf(err, errlen, "cannot initialise libcurl");
        return 2;
    }
    char *full = str_printf("%s/connectors?expand=status", url);
    body_t b = {0};
    struct curl_slist *headers = NULL;
    if (token && token[0]) {
        char *auth = str_printf("Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
        free(auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, full);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 15L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    int status = 0;
    json_t *doc = NULL;
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", full, curl_easy_strerror(rc));
        status = 2;
    } else if (!(doc = json_loadb(b.data ? b.data : "", b.len, 0, NULL))) {
        snprintf(err, errlen, "%s: HTTP %ld, not JSON", full, code);
        status = 2;
    } else if (code != 200) {
        const char *msg = json_string_value(json_object_get(doc, "message"));
        snprintf(err, errlen, "%s: HTTP %ld%s%s", full, code, msg ? ": " : "", msg ? msg : "");
        status = 2;
    } else if (!json_is_object(doc)) {
        snprintf(err, errlen, "%s: not a map of connectors", full);
        status = 2;
    }
    free(full);
    free(b.data);
    if (status) {
        json_decref(doc);
        return status;
    }
    fprintf(out, "%-32s %-7s %-10s %-5s %-10s %s\n", "CONNECTOR", "TYPE", "STATE", "TASK", "STATE", "WORKER");
    const char *name;
    json_t *entry;
    json_object_foreach(doc, name, entry) {
        json_t *st = json_object_get(entry, "status");
        const char *type = json_string_value(json_object_get(st, "type"));
        const char *state = json_string_value(json_object_get(json_object_get(st, "connector"), "state"));
        json_t *tasks = json_object_get(st, "tasks");
        if (!json_array_size(tasks)) fprintf(out, "%-32s %-7s %-10s\n", name, type ? type : "?", state ? state : "?");
        if (state && strcmp(state, "FAILED") == 0) {
            status = 1;
            const char *trace = json_string_value(json_object_get(json_object_get(st, "connector"), "trace"));
            if (trace) print_trace(out, trace);
        }
        size_t i;
        json_t *t;
        json_array_foreach(tasks, i, t) {
            const char *ts = json_string_value(json_object_get(t, "state"));
            const char *wid = json_string_value(json_object_get(t, "worker_id"));
            fprintf(out, "%-32s %-7s %-10s %-5lld %-10s %s\n", i ? "" : name, i ? "" : (type ? type : "?"),
                    i ? "" : (state ? state : "?"), (long long)json_integer_value(json_object_get(t, "id")),
                    ts ? ts : "?", wid ? wid : "");
            if (ts && strcmp(ts, "RUNNING") != 0) status = 1;
            const char *trace = json_string_value(json_object_get(t, "trace"));
            if (trace) print_trace(out, trace);
        }
    }
    json_decref(doc);
    return status;
}
