/* vsnprintf and snprintf: the subset of printf documented in string.h.
 * Freestanding and free of 64-bit division, so the i386 build needs no
 * libgcc: decimal digits come from div10(), which uses 32-bit operations. */
#include <stdarg.h>
#include "string.h"

/* The output buffer: len counts every character, stored or not. */
struct out {
    char *buf;
    size_t size;
    size_t len;
};

/* One conversion specification. */
struct spec {
    bool left; /* '-' */
    bool zero; /* '0' */
    int width;
    int prec; /* -1: none */
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_n(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

static void put_str(struct out *o, const char *s, size_t n)
{
    while (n--)
        put(o, *s++);
}

/* Returns n / 10 and stores n % 10 in *rem, by long division in 16-bit
 * steps so that every intermediate value fits in 32 bits. */
static u64 div10(u64 n, u32 *rem)
{
    u32 hi = (u32)(n >> 32), lo = (u32)n;
    u32 qhi = hi / 10, r = hi % 10;
    u32 x = (r << 16) | (lo >> 16);
    u32 q1 = x / 10;

    x = ((x % 10) << 16) | (lo & 0xffff);
    *rem = x % 10;
    return ((u64)qhi << 32) | (q1 << 16) | (x / 10);
}

/* Writes the digits of v in base 10 or 16 to the end of tmp (24 bytes);
 * returns the number of digits. */
static int digits(u64 v, unsigned base, bool upper, char *tmp)
{
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    u32 d;

    do {
        if (base == 16) {
            d = v & 15;
            v >>= 4;
        } else {
            v = div10(v, &d);
        }
        tmp[23 - n++] = set[d];
    } while (v);
    return n;
}

/* Formats a number with its sign or prefix, precision and padding. */
static void put_number(struct out *o, const struct spec *s, u64 v, unsigned base,
                       bool upper, const char *prefix)
{
    char tmp[24];
    int nd = digits(v, base, upper, tmp);
    int plen = (int)strlen(prefix);
    int zeros = 0, body;

    if (s->prec == 0 && v == 0)
        nd = 0;
    if (s->prec > nd)
        zeros = s->prec - nd;
    body = plen + zeros + nd;
    if (!s->left && s->zero && s->prec < 0 && s->width > body) {
        zeros += s->width - body;
        body = s->width;
    }
    if (!s->left)
        put_n(o, ' ', s->width - body);
    put_str(o, prefix, (size_t)plen);
    put_n(o, '0', zeros);
    put_str(o, tmp + 24 - nd, (size_t)nd);
    if (s->left)
        put_n(o, ' ', s->width - body);
}

/* Formats a string cut to the precision, padded with spaces. */
static void put_padded(struct out *o, const struct spec *s, const char *str)
{
    size_t n = s->prec >= 0 ? strnlen(str, (size_t)s->prec) : strlen(str);
    int pad = s->width > (int)n ? s->width - (int)n : 0;

    if (!s->left)
        put_n(o, ' ', pad);
    put_str(o, str, n);
    if (s->left)
        put_n(o, ' ', pad);
}

/* Reads a decimal field width or precision, saturating at a large value. */
static int read_int(const char **fmt)
{
    int v = 0;

    while (**fmt >= '0' && **fmt <= '9') {
        if (v < 1000000)
            v = v * 10 + (**fmt - '0');
        (*fmt)++;
    }
    return v;
}

/* Parses flags, width and precision after the '%'. */
static void read_spec(const char **fmt, struct spec *s, va_list *ap)
{
    s->left = s->zero = false;
    s->prec = -1;
    for (;; (*fmt)++) {
        if (**fmt == '-')
            s->left = true;
        else if (**fmt == '0')
            s->zero = true;
        else
            break;
    }
    if (**fmt == '*') {
        (*fmt)++;
        s->width = va_arg(*ap, int);
        if (s->width < 0) {
            s->left = true;
            s->width = s->width < -1000000 ? 1000000 : -s->width;
        }
    } else {
        s->width = read_int(fmt);
    }
    if (**fmt == '.') {
        (*fmt)++;
        if (**fmt == '*') {
            (*fmt)++;
            s->prec = va_arg(*ap, int);
            if (s->prec < 0)
                s->prec = -1;
        } else {
            s->prec = read_int(fmt);
        }
    }
}

/* The length modifiers: hh h (none) l ll z. */
enum length { LEN_HH, LEN_H, LEN_NONE, LEN_L, LEN_LL, LEN_Z };

static enum length read_length(const char **fmt)
{
    const char *f = *fmt;
    enum length len = LEN_NONE;

    if (f[0] == 'h' && f[1] == 'h')
        len = LEN_HH, f += 2;
    else if (f[0] == 'h')
        len = LEN_H, f++;
    else if (f[0] == 'l' && f[1] == 'l')
        len = LEN_LL, f += 2;
    else if (f[0] == 'l')
        len = LEN_L, f++;
    else if (f[0] == 'z')
        len = LEN_Z, f++;
    *fmt = f;
    return len;
}

static s64 arg_signed(enum length len, va_list *ap)
{
    switch (len) {
    case LEN_HH: return (signed char)va_arg(*ap, int);
    case LEN_H: return (short)va_arg(*ap, int);
    case LEN_L: return va_arg(*ap, long);
    case LEN_LL: return va_arg(*ap, long long);
    case LEN_Z: return va_arg(*ap, ptrdiff_t);
    default: return va_arg(*ap, int);
    }
}

static u64 arg_unsigned(enum length len, va_list *ap)
{
    switch (len) {
    case LEN_HH: return (unsigned char)va_arg(*ap, unsigned);
    case LEN_H: return (unsigned short)va_arg(*ap, unsigned);
    case LEN_L: return va_arg(*ap, unsigned long);
    case LEN_LL: return va_arg(*ap, unsigned long long);
    case LEN_Z: return va_arg(*ap, size_t);
    default: return va_arg(*ap, unsigned);
    }
}

/* Formats one conversion; fmt points at the conversion character. An
 * unknown conversion is copied as it stands, from start on. */
static void convert(struct out *o, const struct spec *s, enum length len, const char *start,
                    const char *fmt, va_list *ap)
{
    const char *str;
    s64 v;

    switch (*fmt) {
    case 'd':
    case 'i':
        v = arg_signed(len, ap);
        put_number(o, s, v < 0 ? 0 - (u64)v : (u64)v, 10, false, v < 0 ? "-" : "");
        break;
    case 'u':
        put_number(o, s, arg_unsigned(len, ap), 10, false, "");
        break;
    case 'x':
    case 'X':
        put_number(o, s, arg_unsigned(len, ap), 16, *fmt == 'X', "");
        break;
    case 'p':
        put_number(o, s, (uintptr_t)va_arg(*ap, void *), 16, false, "0x");
        break;
    case 's':
        str = va_arg(*ap, const char *);
        put_padded(o, s, str ? str : "(null)");
        break;
    case 'c':
        put_n(o, ' ', s->left ? 0 : s->width - 1);
        put(o, (char)va_arg(*ap, int));
        put_n(o, ' ', s->left ? s->width - 1 : 0);
        break;
    case '%':
        put(o, '%');
        break;
    default:
        put_str(o, start, (size_t)(fmt - start) + (*fmt != '\0'));
        break;
    }
}

/* See string.h. Precision also works for integers (minimum digits, as in C);
 * %p prints 0x and the address in lower-case hex; a NULL %s prints (null);
 * an unsupported conversion is copied to the output as it stands. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct out o = { buf, size, 0 };
    struct spec s;
    const char *start;
    enum length len;
    va_list aq;

    va_copy(aq, ap);
    while (*fmt) {
        if (*fmt != '%') {
            put(&o, *fmt++);
            continue;
        }
        start = fmt++;
        read_spec(&fmt, &s, &aq);
        len = read_length(&fmt);
        convert(&o, &s, len, start, fmt, &aq);
        if (*fmt)
            fmt++;
    }
    va_end(aq);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
