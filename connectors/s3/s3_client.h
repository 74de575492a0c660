/*
 * s3_client.h — a small S3 client on libcurl: SigV4 signing is curl's own
 * (CURLOPT_AWS_SIGV4), one easy handle per client so connections are reused.
 *
 * Every call retries what is transient (5xx, 429/SlowDown, 408, timeouts,
 * connection errors) with exponential backoff and jitter, up to the client's
 * retry budget, and returns S3_RETRY only when that budget is spent or the
 * caller asked to stop. Permanent failures (403, 404, bad credentials, a
 * missing bucket) return S3_ERROR at once with one message that names the
 * bucket, the endpoint and where the credentials came from, never the
 * secret.
 */
#ifndef FERRY_S3_CLIENT_H
#define FERRY_S3_CLIENT_H

#include <stddef.h>
#include <stdint.h>

typedef enum s3_status {
    S3_OK = 0,
    S3_RETRY = 1,    /* transient failure and the retry budget is spent (or stop was asked) */
    S3_ERROR = 2,    /* permanent: wrong credentials, missing bucket or key, bad request */
    S3_EXISTS = 3,   /* put with if_none_match: an object already has that key (412) */
    S3_NOTFOUND = 4, /* get/head: no such key (404 NoSuchKey) */
} s3_status_t;

typedef struct s3_settings {
    const char *endpoint;       /* "http://127.0.0.1:9000"; NULL/"" = AWS for region */
    const char *region;         /* e.g. "us-east-1" */
    const char *bucket;
    int path_style;             /* 1: endpoint/bucket/key; 0: bucket.endpoint/key */
    const char *access_key;
    const char *secret_key;
    const char *session_token;  /* may be NULL */
    const char *credentials_from; /* for messages: "aws.access.key.id" or "AWS_ACCESS_KEY_ID" */
    int tls_verify;             /* 1 by default */
    const char *ca_file;        /* may be NULL */
    int64_t timeout_ms;         /* per request */
    int retry_max;              /* attempts after the first */
    int64_t backoff_initial_ms;
    int64_t backoff_max_ms;
    /* Asked between attempts and during backoff: nonzero = give up with S3_RETRY. */
    int (*should_stop)(void *arg);
    void *stop_arg;
} s3_settings_t;

typedef struct s3_client s3_client_t;

/* A growable byte buffer, used for bodies read from S3. */
typedef struct s3_buf {
    char *data;
    size_t len, cap;
} s3_buf_t;
int s3_buf_append(s3_buf_t *b, const void *p, size_t n); /* 0 or -1 (out of memory) */
void s3_buf_free(s3_buf_t *b);

/* Fills the credentials of s from the environment: AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN (may be unset), and says so in
 * credentials_from. The strings are the environment's (getenv). 0, or -1
 * when the key pair is unset or empty. */
int s3_settings_from_env(s3_settings_t *s);

/* Copies the strings of s. NULL on out of memory or a bad endpoint (err says). */
s3_client_t *s3_client_new(const s3_settings_t *s, char *err, size_t errlen);
void s3_client_free(s3_client_t *c);
/* A client of its own (another connection) with c's settings, for another
 * thread; c's owned argument stays c's, so c must outlive the copy. */
s3_client_t *s3_client_dup(const s3_client_t *c, char *err, size_t errlen);

/* Hands arg (e.g. the should_stop argument) to the client: s3_client_free
 * calls free_fn(arg). */
void s3_client_set_owned_arg(s3_client_t *c, void *arg, void (*free_fn)(void *));

/* The last error message (valid until the next call). */
const char *s3_client_error(const s3_client_t *c);

/* The bucket, for messages ("s3://<bucket>/<key>"). Owned by the client. */
const char *s3_client_bucket(const s3_client_t *c);

/* HEAD the bucket: checks endpoint, credentials and bucket in one request. */
s3_status_t s3_check_bucket(s3_client_t *c);

/* PUT one object. if_none_match: send If-None-Match: * (S3_EXISTS when taken). */
s3_status_t s3_put(s3_client_t *c, const char *key, const void *data, size_t len,
                   const char *content_type, int if_none_match);

/* GET one object into out (appended). */
s3_status_t s3_get(s3_client_t *c, const char *key, s3_buf_t *out);

/* HEAD one object: its size and ETag (without quotes; may be NULL). */
s3_status_t s3_head(s3_client_t *c, const char *key, int64_t *size, char *etag, size_t etag_len);

/* Multipart upload. upload_id is filled by create (at most 1024 bytes). Parts
 * are numbered from 1; etags[i] is the ETag of part i+1 (kept by the caller,
 * at most 128 bytes each). complete with if_none_match as s3_put. */
s3_status_t s3_mpu_create(s3_client_t *c, const char *key, const char *content_type,
                          char *upload_id, size_t upload_id_len);
s3_status_t s3_mpu_part(s3_client_t *c, const char *key, const char *upload_id, int part_number,
                        const void *data, size_t len, char *etag, size_t etag_len);
s3_status_t s3_mpu_complete(s3_client_t *c, const char *key, const char *upload_id,
                            char (*etags)[128], int parts, int if_none_match);
s3_status_t s3_mpu_abort(s3_client_t *c, const char *key, const char *upload_id);

/* ListObjectsV2 of prefix, all pages: calls fn for every key in the
 * server's order (lexicographic). fn returns nonzero to stop early. */
typedef int (*s3_list_fn)(void *arg, const char *key, int64_t size);
s3_status_t s3_list(s3_client_t *c, const char *prefix, s3_list_fn fn, void *arg);

/* Sets up curl's SigV4 signing on a curl easy handle exactly as every
 * request of this client is signed: provider "aws:amz:<region>:<service>",
 * the key pair as user:password, and X-Amz-Security-Token when a session
 * token is given (headers is the caller's curl_slist*, appended to). Exposed
 * for the SigV4 test vectors. Returns 0, or -1 on out of memory. */
int s3_curl_sign(void *curl, void **headers, const char *region, const char *service,
                 const char *access_key, const char *secret_key, const char *session_token);

#endif /* FERRY_S3_CLIENT_H */
