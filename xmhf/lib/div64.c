/* 64-bit division: native in 64-bit code; shift-and-subtract (64 steps) in
 * 32-bit code, fast enough for the few divisions of calibration and
 * reports. */
#include "div64.h"

u64 udiv64(u64 n, u64 d, u64 *rem)
{
#ifdef __x86_64__
    if (rem)
        *rem = n % d;
    return n / d;
#else
    u64 q = 0, r = 0;
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | ((n >> bit) & 1);
        if (r >= d) {
            r -= d;
            q |= 1ull << bit;
        }
    }
    if (rem)
        *rem = r;
    return q;
#endif
}
