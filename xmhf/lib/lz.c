/* lz_unpack: init's unpacker of the runtime (the format is in lz.h). Every
 * count is checked before it is used, so a bad stream ends in an error. */
#include "lz.h"

static bool use_sse;

void lz_set_sse(bool on)
{
    use_sse = on;
}

/* Copies 16 bytes. In Bochs a memory access costs ~10 plain instructions
 * of wall time: one SSE load and store beat four of each. */
static inline __attribute__((always_inline)) void copy16(u8 *d, const u8 *s, bool sse)
{
    if (sse) {
#ifdef LHV_HOST_TEST
        for (int i = 0; i < 16; i++) /* the same bytes; the sanitizers see them */
            d[i] = s[i];
#else
        /* no XMM clobber: built -mgeneral-regs-only, no C keeps a value in
         * one (and GCC refuses the clobber) */
        __asm__ volatile("movdqu (%1), %%xmm0\n\tmovdqu %%xmm0, (%0)" : : "r"(d), "r"(s) : "memory");
#endif
    } else {
        u32 a, b, c, e;
        __builtin_memcpy(&a, s, 4);
        __builtin_memcpy(&b, s + 4, 4);
        __builtin_memcpy(&c, s + 8, 4);
        __builtin_memcpy(&e, s + 12, 4);
        __builtin_memcpy(d, &a, 4);
        __builtin_memcpy(d + 4, &b, 4);
        __builtin_memcpy(d + 8, &c, 4);
        __builtin_memcpy(d + 12, &e, 4);
    }
}

/* Copies n bytes from s to d, lower addresses first; the caller keeps the
 * two from overlapping. 16 bytes a step, then rep movsb for the rest (in
 * Bochs a string instruction costs a memory access per byte). */
static void copy_bytes(u8 *d, const u8 *s, size_t n)
{
    for (; n >= 16; n -= 16, d += 16, s += 16)
        copy16(d, s, use_sse);
#ifdef LHV_HOST_TEST
    while (n--) /* plain C, so the host tests' sanitizers see every byte */
        *d++ = *s++;
#else
    __asm__ volatile("rep movsb" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
#endif
}

/* Adds the extension bytes that follow a 4-bit count of 15. False when the
 * stream ends first. */
static bool read_count(const u8 **pp, const u8 *end, size_t *n)
{
    const u8 *p = *pp;
    u8 b;

    do {
        if (p == end)
            return false;
        b = *p++;
        *n += b;
    } while (b == 255);
    *pp = p;
    return true;
}

/* A match of n bytes from offset back: its source [s, d) and what it
 * writes overlap when offset < n. The output is then periodic with period
 * offset, so a block of d - s bytes copied from s continues it; the block
 * doubles each time and no copy overlaps itself. */
static void copy_match(u8 *d, size_t offset, size_t n)
{
    const u8 *s = d - offset;

    while (n) {
        size_t c = (size_t)(d - s) < n ? (size_t)(d - s) : n;
        copy_bytes(d, s, c);
        d += c;
        n -= c;
    }
}

/* Runs the common sequences while they come: at most 14 literals and a
 * match of at most 18 bytes from 16 or more back, away from both ends.
 * Copies 16 bytes at a time, so writes up to 30 bytes past a sequence's
 * end, which later sequences overwrite; hence the room it leaves (48
 * bytes of output, 17 of input). Stops at the first other sequence. */
#define FAST_OUT_ROOM 48
#define FAST_IN_ROOM 17

static inline __attribute__((always_inline)) void
fast_run(const u8 **pp, u8 **outp, const u8 *in_last, const u8 *out_last, const u8 *dst, bool sse)
{
    const u8 *p = *pp;
    u8 *out = *outp;

    while (p <= in_last && out <= out_last) {
        u32 token = p[0], lit = token >> 4, len = token & 15;
        if (lit == 15 || len == 15)
            break;
        u32 offset = p[1 + lit] | (u32)p[2 + lit] << 8;
        if (offset < 16 || offset > (u32)(out + lit - dst))
            break;
        copy16(out, p + 1, sse);
        out += lit;
        copy16(out, out - offset, sse);
        if (len > 16 - LZ_MIN_MATCH)
            copy16(out + 16, out - offset + 16, sse);
        out += len + LZ_MIN_MATCH;
        p += 3 + lit;
    }
    *pp = p;
    *outp = out;
}

int lz_unpack(void *dst, size_t dst_len, const void *src, size_t src_len, size_t *at)
{
    u8 *out = dst, *const out_end = out + dst_len;
    const u8 *p = src, *const end = p + src_len;

    while (p < end) {
        if (src_len >= FAST_IN_ROOM && dst_len >= FAST_OUT_ROOM) {
            if (use_sse)
                fast_run(&p, &out, end - FAST_IN_ROOM, out_end - FAST_OUT_ROOM, dst, true);
            else
                fast_run(&p, &out, end - FAST_IN_ROOM, out_end - FAST_OUT_ROOM, dst, false);
            if (p == end)
                break;
        }
        const u8 *seq = p;
        u8 token = *p++;
        size_t lit = token >> 4, len = (size_t)(token & 15) + LZ_MIN_MATCH;

        *at = (size_t)(seq - (const u8 *)src);
        if (lit == 15 && !read_count(&p, end, &lit))
            return LZ_E_TRUNCATED;
        if (lit > (size_t)(end - p))
            return LZ_E_TRUNCATED;
        if (lit > (size_t)(out_end - out))
            return LZ_E_OVERRUN;
        copy_bytes(out, p, lit);
        out += lit;
        p += lit;
        if (out == out_end)
            return p == end ? LZ_OK : LZ_E_TRAILING;
        if (end - p < 2)
            return LZ_E_TRUNCATED;
        size_t offset = p[0] | (size_t)p[1] << 8;
        p += 2;
        if (len == 15 + LZ_MIN_MATCH && !read_count(&p, end, &len))
            return LZ_E_TRUNCATED;
        if (!offset || offset > (size_t)(out - (u8 *)dst))
            return LZ_E_OFFSET;
        if (len > (size_t)(out_end - out))
            return LZ_E_OVERRUN;
        copy_match(out, offset, len);
        out += len;
    }
    *at = src_len;
    return dst_len ? LZ_E_SHORT : LZ_OK;
}

const char *lz_error_name(int err)
{
    switch (err) {
    case LZ_OK:
        return "ok";
    case LZ_E_TRUNCATED:
        return "the stream ends inside a sequence";
    case LZ_E_OFFSET:
        return "a match reaches before the start";
    case LZ_E_OVERRUN:
        return "a sequence runs past the runtime's size";
    case LZ_E_SHORT:
        return "the stream ends before the runtime is whole";
    case LZ_E_TRAILING:
        return "bytes follow the last sequence";
    }
    return "unknown error";
}
