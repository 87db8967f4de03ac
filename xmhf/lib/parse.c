/* Number parsing for the command line. */
#include "string.h"

/* Value of the digit c in base 10 or 16, or -1. */
static int digit_value(char c, unsigned base)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (base == 16 && c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (base == 16 && c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* See string.h. No sign, no spaces; "0x" alone is rejected. The overflow
 * test uses UINT64_MAX / 10 as a constant: no 64-bit division at run time. */
int parse_u64(const char *s, size_t len, u64 *out)
{
    const u64 max10 = UINT64_MAX / 10;
    unsigned base = 10;
    u64 v = 0;
    int d;

    if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        len -= 2;
    }
    if (len == 0)
        return -1;
    for (; len; s++, len--) {
        d = digit_value(*s, base);
        if (d < 0)
            return -1;
        if (base == 16) {
            if (v >> 60)
                return -1;
            v = (v << 4) | (u64)d;
        } else {
            if (v > max10 || (v == max10 && (u64)d > UINT64_MAX % 10))
                return -1;
            v = v * 10 + (u64)d;
        }
    }
    *out = v;
    return 0;
}
