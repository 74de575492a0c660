/*
 * fuzz_driver.c — a deterministic stand-in for libFuzzer's main(), so that
 * every fuzz target also runs as an ordinary test under gcc + ASan/UBSan.
 *
 * It runs each file of the seed corpus once, then a fixed number of mutated
 * inputs derived from the seeds (bit flips, interesting values, byte inserts
 * and deletes, copies, splices between seeds, truncations, dictionary tokens)
 * with a fixed PRNG seed, so a failure in CI reproduces exactly with the same
 * command line. It is not coverage-guided: real fuzzing sessions use the
 * libFuzzer build (-DFERRY_LIBFUZZER=ON, see README.md).
 *
 *   fuzz_<name> [-n MUTATIONS] [-s SEED] [-d DICT] [-o OUTDIR] PATH...
 *
 * PATH is a corpus directory (every regular file in it, in name order) or a
 * single file; with only files and -n 0 it replays them (e.g. a crash input).
 * When an input makes the process die (ASan/UBSan report, abort, signal,
 * timeout) or leaks, it is written to OUTDIR/crash-<name>-<n> (or leak-...)
 * before the process exits, so it can be replayed and minimized.
 *
 * Leaks: like libFuzzer, the driver counts mallocs and frees during each
 * call through the sanitizer allocator hooks; when an input leaves more
 * allocations than it freed, LeakSanitizer checks right away, so the report
 * names the input instead of surfacing at exit.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Sanitizer runtime entry points; weak so the driver also links without ASan.
 */
int __sanitizer_install_malloc_and_free_hooks(
    void (*malloc_hook)(const volatile void *, size_t),
    void (*free_hook)(const volatile void *)) __attribute__((weak));
void __sanitizer_set_death_callback(void (*callback)(void))
    __attribute__((weak));
int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#define FUZZ_MAX_INPUT (64 * 1024)
#define INPUT_TIMEOUT_S 25

typedef struct blob {
  uint8_t *data;
  size_t len;
  char *name;
} blob_t;

static blob_t *g_seeds, *g_dict;
static size_t g_nseeds, g_ndict;
static const char *g_outdir = ".";
static const char *g_prog = "fuzz";

/* The input being run, for the death callback and signal handlers. */
static const uint8_t *volatile g_cur;
static volatile size_t g_cur_len;
static volatile unsigned long g_exec;

/* ---- PRNG: splitmix64, so a (seed, count) pair always yields the same inputs
 * ---- */

static uint64_t g_rng;

static uint64_t rnd(void) {
  uint64_t z = (g_rng += UINT64_C(0x9e3779b97f4a7c15));
  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static size_t rnd_below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

/* ---- saving the current input (async-signal-safe: open/write only) ---- */

static void put_ulong(char *buf, size_t *pos, unsigned long v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  while (n)
    buf[(*pos)++] = tmp[--n];
}

static void save_current(const char *kind) {
  const uint8_t *data = g_cur;
  if (!data && g_cur_len)
    return;
  char path[4096];
  size_t pos = 0;
  const char *parts[] = {g_outdir, "/", kind, "-", g_prog, "-"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    size_t n = strlen(parts[i]);
    if (pos + n + 32 >= sizeof path)
      return;
    memcpy(path + pos, parts[i], n);
    pos += n;
  }
  put_ulong(path, &pos, g_exec);
  path[pos] = '\0';
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return;
  size_t off = 0;
  while (off < g_cur_len) {
    ssize_t w = write(fd, data + off, g_cur_len - off);
    if (w <= 0)
      break;
    off += (size_t)w;
  }
  close(fd);
  static const char msg[] = "fuzz_driver: input written to ";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  ignored = write(2, path, pos);
  ignored = write(2, "\n", 1);
  (void)ignored;
}

static void on_death(void) { save_current("crash"); }

static void on_signal(int sig) {
  save_current(sig == SIGALRM ? "timeout" : "crash");
  signal(sig, SIG_DFL);
  raise(sig == SIGALRM ? SIGABRT : sig);
}

/* ---- leak detection around each call ---- */

static volatile int g_tracing;
static volatile long g_mallocs, g_frees;

static void malloc_hook(const volatile void *ptr, size_t size) {
  (void)ptr;
  (void)size;
  if (g_tracing)
    g_mallocs++;
}

static void free_hook(const volatile void *ptr) {
  (void)ptr;
  if (g_tracing)
    g_frees++;
}

static void run_one(const uint8_t *data, size_t len) {
  /* A private copy of exactly len bytes, so ASan catches any over-read. */
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy)
    abort();
  if (len)
    memcpy(copy, data, len);
  g_cur = copy;
  g_cur_len = len;
  g_mallocs = g_frees = 0;
  alarm(INPUT_TIMEOUT_S);
  g_tracing = 1;
  LLVMFuzzerTestOneInput(copy, len);
  g_tracing = 0;
  alarm(0);
  if (g_mallocs > g_frees && __lsan_do_recoverable_leak_check &&
      __lsan_do_recoverable_leak_check()) {
    save_current("leak");
    fprintf(stderr, "%s: input %lu leaks memory (see the report above)\n",
            g_prog, g_exec);
    _exit(1);
  }
  g_exec++;
  g_cur = NULL;
  g_cur_len = 0;
  free(copy);
}

/* ---- loading seeds and the dictionary ---- */

static int read_file(const char *path, blob_t *out) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: cannot open %s: %s\n", g_prog, path, strerror(errno));
    return -1;
  }
  uint8_t *buf = malloc(FUZZ_MAX_INPUT);
  if (!buf)
    abort();
  size_t n = fread(buf, 1, FUZZ_MAX_INPUT, f);
  fclose(f);
  out->data = buf;
  out->len = n;
  out->name = strdup(path);
  return 0;
}

static void add_blob(blob_t **arr, size_t *n, blob_t b) {
  blob_t *p = realloc(*arr, (*n + 1) * sizeof **arr);
  if (!p)
    abort();
  *arr = p;
  (*arr)[(*n)++] = b;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    fprintf(stderr, "%s: %s: %s\n", g_prog, path, strerror(errno));
    return -1;
  }
  if (!S_ISDIR(st.st_mode)) {
    blob_t b;
    if (read_file(path, &b) < 0)
      return -1;
    add_blob(&g_seeds, &g_nseeds, b);
    return 0;
  }
  DIR *dir = opendir(path);
  if (!dir) {
    fprintf(stderr, "%s: %s: %s\n", g_prog, path, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t count = 0;
  struct dirent *de;
  while ((de = readdir(dir)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char **p = realloc(names, (count + 1) * sizeof *names);
    if (!p)
      abort();
    names = p;
    size_t need = strlen(path) + strlen(de->d_name) + 2;
    names[count] = malloc(need);
    if (!names[count])
      abort();
    snprintf(names[count], need, "%s/%s", path, de->d_name);
    count++;
  }
  closedir(dir);
  qsort(names, count, sizeof *names, cmp_str);
  int rc = 0;
  for (size_t i = 0; i < count; i++) {
    if (stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
      blob_t b;
      if (read_file(names[i], &b) < 0)
        rc = -1;
      else
        add_blob(&g_seeds, &g_nseeds, b);
    }
    free(names[i]);
  }
  free(names);
  return rc;
}

/* libFuzzer dictionary format: one `name="value"` or `"value"` per line,
 * with \\, \" and \xNN escapes; '#' starts a comment line. */
static int load_dict(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "%s: cannot open dictionary %s: %s\n", g_prog, path,
            strerror(errno));
    return -1;
  }
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    char *q = strchr(line, '"');
    if (line[0] == '#' || !q)
      continue;
    uint8_t buf[512];
    size_t n = 0;
    for (char *p = q + 1; *p && *p != '"' && n < sizeof buf; p++) {
      if (*p == '\\' && p[1] == 'x' && p[2] && p[3]) {
        char hex[3] = {p[2], p[3], 0};
        buf[n++] = (uint8_t)strtoul(hex, NULL, 16);
        p += 3;
      } else if (*p == '\\' && p[1]) {
        buf[n++] = (uint8_t) * ++p;
      } else {
        buf[n++] = (uint8_t)*p;
      }
    }
    if (!n)
      continue;
    blob_t b = {.data = malloc(n), .len = n, .name = NULL};
    if (!b.data)
      abort();
    memcpy(b.data, buf, n);
    add_blob(&g_dict, &g_ndict, b);
  }
  fclose(f);
  return 0;
}

/* ---- mutations ---- */

static void insert_bytes(uint8_t *buf, size_t *len, size_t at,
                         const uint8_t *src, size_t n) {
  if (*len + n > FUZZ_MAX_INPUT)
    n = FUZZ_MAX_INPUT - *len;
  memmove(buf + at + n, buf + at, *len - at);
  memcpy(buf + at, src, n);
  *len += n;
}

static void mutate_once(uint8_t *buf, size_t *len) {
  static const uint32_t interesting[] = {
      0,      1,      0x7f,   0x80,       0xff,       0x100,
      0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff};
  uint8_t tmp[64];
  size_t n = *len;
  switch (rnd_below(11)) {
  case 0: /* flip one bit */
    if (n)
      buf[rnd_below(n)] ^= (uint8_t)(1u << rnd_below(8));
    break;
  case 1: /* set a random byte */
    if (n)
      buf[rnd_below(n)] = (uint8_t)rnd();
    break;
  case 2: /* add or subtract a little (lengths, digits) */
    if (n)
      buf[rnd_below(n)] += (uint8_t)(rnd_below(9) - 4);
    break;
  case 3: { /* overwrite with an interesting 1, 2 or 4 byte big-endian value */
    uint32_t v =
        interesting[rnd_below(sizeof interesting / sizeof interesting[0])];
    size_t w = (size_t)1 << rnd_below(3);
    if (n < w)
      break;
    size_t at = rnd_below(n - w + 1);
    for (size_t i = 0; i < w; i++)
      buf[at + i] = (uint8_t)(v >> (8 * (w - 1 - i)));
    break;
  }
  case 4: { /* insert random bytes */
    size_t k = 1 + rnd_below(8);
    for (size_t i = 0; i < k; i++)
      tmp[i] = (uint8_t)rnd();
    insert_bytes(buf, len, rnd_below(n + 1), tmp, k);
    break;
  }
  case 5: { /* delete a range */
    if (!n)
      break;
    size_t at = rnd_below(n), k = 1 + rnd_below(n - at < 16 ? n - at : 16);
    memmove(buf + at, buf + at + k, n - at - k);
    *len = n - k;
    break;
  }
  case 6: { /* duplicate a range of the input elsewhere in it */
    if (!n)
      break;
    size_t at = rnd_below(n), k = 1 + rnd_below(n - at < 64 ? n - at : 64);
    memcpy(tmp, buf + at, k);
    insert_bytes(buf, len, rnd_below(n + 1), tmp, k);
    break;
  }
  case 7: { /* splice: a chunk of another seed, inserted or overwriting */
    const blob_t *o = &g_seeds[rnd_below(g_nseeds)];
    if (!o->len)
      break;
    size_t from = rnd_below(o->len), k = 1 + rnd_below(o->len - from);
    size_t at = rnd_below(n + 1);
    if (rnd() & 1) {
      if (n + k > FUZZ_MAX_INPUT)
        k = FUZZ_MAX_INPUT - n;
      memmove(buf + at + k, buf + at, n - at);
      memcpy(buf + at, o->data + from, k);
      *len = n + k;
    } else {
      if (k > FUZZ_MAX_INPUT - at)
        k = FUZZ_MAX_INPUT - at;
      memcpy(buf + at, o->data + from, k);
      if (at + k > n)
        *len = at + k;
    }
    break;
  }
  case 8: /* truncate */
    if (n)
      *len = rnd_below(n);
    break;
  case 9:  /* a dictionary token, inserted */
  case 10: /* or overwriting */
    if (g_ndict) {
      const blob_t *d = &g_dict[rnd_below(g_ndict)];
      size_t at = rnd_below(n + 1);
      if (rnd() & 1) {
        insert_bytes(buf, len, at, d->data, d->len);
      } else {
        size_t k = d->len < FUZZ_MAX_INPUT - at ? d->len : FUZZ_MAX_INPUT - at;
        memcpy(buf + at, d->data, k);
        if (at + k > n)
          *len = at + k;
      }
    } else if (n) {
      buf[rnd_below(n)] = (uint8_t)rnd();
    }
    break;
  }
}

static void usage(void) {
  fprintf(stderr,
          "usage: %s [-n MUTATIONS] [-s SEED] [-d DICT] [-o OUTDIR] "
          "CORPUS_DIR_OR_FILE...\n",
          g_prog);
  exit(2);
}

int main(int argc, char **argv) {
  unsigned long mutations = 20000;
  uint64_t seed = 1;
  const char *slash = strrchr(argv[0], '/');
  g_prog = slash ? slash + 1 : argv[0];
  if (LLVMFuzzerInitialize)
    LLVMFuzzerInitialize(&argc, &argv);

  int opt;
  while ((opt = getopt(argc, argv, "n:s:d:o:h")) != -1) {
    switch (opt) {
    case 'n':
      mutations = strtoul(optarg, NULL, 10);
      break;
    case 's':
      seed = strtoull(optarg, NULL, 10);
      break;
    case 'd':
      if (load_dict(optarg) < 0)
        return 2;
      break;
    case 'o':
      g_outdir = optarg;
      break;
    default:
      usage();
    }
  }
  if (optind >= argc)
    usage();
  for (int i = optind; i < argc; i++)
    if (load_path(argv[i]) < 0)
      return 2;
  if (!g_nseeds) {
    fprintf(stderr, "%s: no seed inputs found\n", g_prog);
    return 2;
  }

  if (__sanitizer_set_death_callback)
    __sanitizer_set_death_callback(on_death);
  if (__sanitizer_install_malloc_and_free_hooks)
    __sanitizer_install_malloc_and_free_hooks(malloc_hook, free_hook);
  signal(SIGABRT, on_signal);
  signal(SIGALRM, on_signal);
  signal(SIGFPE, on_signal);

  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (size_t i = 0; i < g_nseeds; i++)
    run_one(g_seeds[i].data, g_seeds[i].len);

  g_rng = seed;
  uint8_t *buf = malloc(FUZZ_MAX_INPUT);
  if (!buf)
    abort();
  size_t len = 0;
  for (unsigned long i = 0; i < mutations; i++) {
    /* Mostly start over from a seed; sometimes keep stacking mutations
     * on the previous input to get further away from the seeds. */
    if (i == 0 || rnd_below(4) != 0) {
      const blob_t *s = &g_seeds[rnd_below(g_nseeds)];
      memcpy(buf, s->data, s->len);
      len = s->len;
    }
    size_t k = 1 + rnd_below(4);
    for (size_t j = 0; j < k; j++)
      mutate_once(buf, &len);
    run_one(buf, len);
  }
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs =
      (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  fprintf(stderr,
          "%s: %zu seeds + %lu mutations = %lu executions in %.1f s (%.0f/s), "
          "seed %llu\n",
          g_prog, g_nseeds, mutations, g_exec, secs,
          secs > 0 ? (double)g_exec / secs : 0.0, (unsigned long long)seed);

  free(buf);
  for (size_t i = 0; i < g_nseeds; i++) {
    free(g_seeds[i].data);
    free(g_seeds[i].name);
  }
  free(g_seeds);
  for (size_t i = 0; i < g_ndict; i++)
    free(g_dict[i].data);
  free(g_dict);
  return 0;
}
