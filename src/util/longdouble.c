/* Long-double arithmetic for INCRBYFLOAT / HINCRBYFLOAT.
 * Redis adds in `long double` and prints with "%.17Lf" (trailing zeros trimmed);
 * Rust has no long double, so this tiny C shim does the add and the formatting.
 * Returns 0 on success, -1 if the operands or the result are not finite. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <ctype.h>
#include <errno.h>

/* Redis's string2ld: at most 5*1024-1 chars, no leading space, whole string consumed,
 * overflow/underflow to inf or zero rejected, NaN rejected. */
static int parse_ld(const char *s, size_t len, long double *out) {
    char buf[5 * 1024];
    char *end;
    if (len == 0 || len >= sizeof(buf)) return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return -1;
    errno = 0;
    long double v = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(v)) return -1;
    if (errno == ERANGE && (isinf(v) || v == 0)) return -1;
    *out = v;
    return 0;
}

int ferrodis_ld_parse_ok(const char *s, size_t len) {
    long double v;
    return parse_ld(s, len, &v);
}

/* Format v like Redis's ld2string(LD_STR_HUMAN). Returns length or -1. */
static int fmt_ld(long double v, char *out, size_t cap) {
    if (isinf(v) || isnan(v)) return -1;
    int n = snprintf(out, cap, "%.17Lf", v);
    if (n < 0 || (size_t)n >= cap) return -1;
    if (strchr(out, '.') != NULL) {
        char *p = out + n - 1;
        while (*p == '0') { p--; n--; }
        if (*p == '.') n--;
        out[n] = '\0';
    }
    if (n == 2 && out[0] == '-' && out[1] == '0') { out[0] = '0'; out[1] = '\0'; n = 1; }
    return n;
}

int ferrodis_ld_add(const char *a, size_t alen, const char *b, size_t blen, char *out, size_t cap) {
    long double x, y;
    if (parse_ld(a, alen, &x) || parse_ld(b, blen, &y)) return -2;
    long double r = x + y;
    if (isinf(r) || isnan(r)) return -1;
    return fmt_ld(r, out, cap);
}
