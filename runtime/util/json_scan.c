/* json_scan.c — see json_scan.h. A recursive-descent checker over a cursor;
 * every function advances past what it accepted or returns -1. */
#include "util/json_scan.h"

#include <string.h>

typedef struct scan {
    const char *s;
    size_t len, pos;
    char *out;    /* compact copy, or NULL */
    size_t olen;
    int depth;
} scan_t;

static int peek(const scan_t *sc) { return sc->pos < sc->len ? (unsigned char)sc->s[sc->pos] : -1; }

static void emit(scan_t *sc, const char *p, size_t n)
{
    if (sc->out) memcpy(sc->out + sc->olen, p, n);
    sc->olen += n;
}

static void skip_ws(scan_t *sc)
{
    while (sc->pos < sc->len) {
        char c = sc->s[sc->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        sc->pos++;
    }
}

static int is_hex(int c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
static int is_digit(int c) { return c >= '0' && c <= '9'; }

static int scan_string(scan_t *sc)
{
    size_t start = sc->pos;
    if (peek(sc) != '"') return -1;
    sc->pos++;
    for (;;) {
        int c = peek(sc);
        if (c < 0 || c < 0x20) return -1; /* end of input or a raw control character */
        sc->pos++;
        if (c == '"') break;
        if (c != '\\') continue;
        c = peek(sc);
        sc->pos++;
        if (c == 'u') {
            for (int i = 0; i < 4; i++, sc->pos++)
                if (!is_hex(peek(sc))) return -1;
        } else if (!c || !strchr("\"\\/bfnrt", c)) {
            return -1;
        }
    }
    emit(sc, sc->s + start, sc->pos - start);
    return 0;
}

static int scan_digits(scan_t *sc)
{
    if (!is_digit(peek(sc))) return -1;
    while (is_digit(peek(sc))) sc->pos++;
    return 0;
}

static int scan_number(scan_t *sc)
{
    size_t start = sc->pos;
    if (peek(sc) == '-') sc->pos++;
    if (peek(sc) == '0') {
        sc->pos++;
    } else if (scan_digits(sc) != 0) {
        return -1;
    }
    if (peek(sc) == '.') {
        sc->pos++;
        if (scan_digits(sc) != 0) return -1;
    }
    if (peek(sc) == 'e' || peek(sc) == 'E') {
        sc->pos++;
        if (peek(sc) == '+' || peek(sc) == '-') sc->pos++;
        if (scan_digits(sc) != 0) return -1;
    }
    emit(sc, sc->s + start, sc->pos - start);
    return 0;
}

static int scan_literal(scan_t *sc, const char *word)
{
    size_t n = strlen(word);
    if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0) return -1;
    emit(sc, word, n);
    sc->pos += n;
    return 0;
}

static int scan_value(scan_t *sc);

/* Objects and arrays: open, members separated by commas, close. */
static int scan_container(scan_t *sc, char open, char close)
{
    if (peek(sc) != open || ++sc->depth > JSON_SCAN_MAX_DEPTH) return -1;
    sc->pos++;
    emit(sc, &open, 1);
    skip_ws(sc);
    if (peek(sc) == close) {
        sc->pos++;
        emit(sc, &close, 1);
        sc->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (open == '{') {
            if (scan_string(sc) != 0) return -1;
            skip_ws(sc);
            if (peek(sc) != ':') return -1;
            sc->pos++;
            emit(sc, ":", 1);
            skip_ws(sc);
        }
        if (scan_value(sc) != 0) return -1;
        skip_ws(sc);
        int c = peek(sc);
        sc->pos++;
        if (c == close) break;
        if (c != ',') return -1;
        emit(sc, ",", 1);
    }
    emit(sc, &close, 1);
    sc->depth--;
    return 0;
}

static int scan_value(scan_t *sc)
{
    switch (peek(sc)) {
    case '{': return scan_container(sc, '{', '}');
    case '[': return scan_container(sc, '[', ']');
    case '"': return scan_string(sc);
    case 't': return scan_literal(sc, "true");
    case 'f': return scan_literal(sc, "false");
    case 'n': return scan_literal(sc, "null");
    default: return scan_number(sc);
    }
}

long json_scan_object(const char *s, size_t len, char *out, int *already_compact)
{
    if (!s) return -1;
    scan_t sc = {.s = s, .len = len, .out = out};
    skip_ws(&sc);
    if (scan_container(&sc, '{', '}') != 0) return -1;
    skip_ws(&sc);
    if (sc.pos != len) return -1;
    if (already_compact) *already_compact = sc.olen == len;
    return (long)sc.olen;
}
