/* CRC-32 with the zlib polynomial (reflected 0xedb88320), eight bytes a
 * step ("slicing by 8") from tables made on first use: init checks a module
 * of ~350 KB with it, and in Bochs every instruction counts (a byte a step
 * cost 10 TSC ticks a byte, 3.3 M for the i386 image; this ~3.7). Where init
 * has turned SSE on and the CPU has PCLMULQDQ (crc32_set_clmul), 16 bytes a
 * step by carry-less multiplication (~0.45 a byte), the tables finishing. */
#include "image.h"

#define CRC32_POLY 0xedb88320u
#define CRC32_POLY_FULL 0x104c11db7ull /* the same, not reflected, with its t^32 */

/* crc_table[0][i]: the CRC register after shifting the byte i out of it;
 * crc_table[k][i]: after shifting i out, then k zero bytes. */
static u32 crc_table[8][256];

static void crc_table_fill(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c >> 1) ^ (CRC32_POLY & -(c & 1));
        crc_table[0][i] = c;
    }
    for (u32 k = 1; k < 8; k++)
        for (u32 i = 0; i < 256; i++) {
            u32 c = crc_table[k - 1][i];
            crc_table[k][i] = (c >> 8) ^ crc_table[0][c & 0xff];
        }
}

/* t^n mod P, not reflected (bit i: the coefficient of t^i) */
static u32 xpow_mod(u32 n)
{
    u64 v = 1;
    while (n--) {
        v <<= 1;
        if (v >> 32)
            v ^= CRC32_POLY_FULL;
    }
    return (u32)v;
}

/* A polynomial of degree < 32 as the 64-bit operand of a reflected
 * carry-less multiplication: the coefficient of t^i in bit 63 - i */
static u64 reflect64(u32 k)
{
    u64 r = 0;
    for (u32 i = 0; i < 32; i++)
        r |= (u64)((k >> i) & 1) << (63 - i);
    return r;
}

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "crc32.c reads four bytes at a time as a little-endian word"
#endif

/* One unaligned 32-bit load (x86 allows it), whatever the optimisation */
static inline __attribute__((always_inline)) u32 load_le32(const u8 *p)
{
    u32 v;
    __builtin_memcpy(&v, p, sizeof(v));
    return v;
}

/* The CRC register over len bytes, eight a step (no inversions) */
static u32 crc_slices(u32 crc, const u8 *p, size_t len)
{
    /* The CRC of 8 bytes is the XOR of each byte's contribution shifted
     * through the zero bytes after it: byte j of the 8 takes table 7 - j. */
    for (; len >= 8; len -= 8, p += 8) {
        u32 lo = load_le32(p) ^ crc, hi = load_le32(p + 4);
        crc = crc_table[7][lo & 0xff] ^ crc_table[6][(lo >> 8) & 0xff] ^
              crc_table[5][(lo >> 16) & 0xff] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xff] ^ crc_table[2][(hi >> 8) & 0xff] ^
              crc_table[1][(hi >> 16) & 0xff] ^ crc_table[0][hi >> 24];
    }
    while (len--)
        crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
    return crc;
}

static bool use_clmul;
static u64 fold_k[2];

void crc32_set_clmul(bool on)
{
    use_clmul = on;
    if (!on || fold_k[0])
        return;
    /* A 16-byte block X (bytes b0..b15, the first bit the highest power)
     * followed by 16 more is X * t^128 + D; X = Xh * t^64 + Xl, and
     * Xh * t^192 + Xl * t^128 is, mod P, Xh * (t^192 mod P) + Xl * (t^128
     * mod P): under 96 bits, a block again. In the register (reflected: bit
     * j of the little-endian 128 bits is the coefficient of t^(127 - j))
     * PCLMULQDQ of reflected 64-bit operands gives the product reflected in
     * 127 bits, one power short: hence t^191 and t^127. */
    fold_k[0] = reflect64(xpow_mod(191)); /* for the low 64 bits, Xh */
    fold_k[1] = reflect64(xpow_mod(127)); /* for the high 64 bits, Xl */
}

/* The firmware is built -mgeneral-regs-only: none of its C keeps a value in
 * an XMM register, and GCC refuses them as clobbers there; the host tests'
 * C may keep one */
#ifdef LHV_HOST_TEST
#define XMM_CLOBBERS "xmm0", "xmm1", "xmm2",
#else
#define XMM_CLOBBERS
#endif

/* Folds blocks (>= 1) of 16 bytes into one that has the same CRC: the
 * register's bits go into the first block's first 32 (as crc_slices XORs
 * them in); returns the register after all of them. */
static u32 crc_fold(u32 crc, const u8 *p, size_t blocks)
{
    u8 last[16]; /* movdqu: init's stack is 4-byte aligned */
    const u8 *start = p;
    size_t bytes = blocks * 16;

    __asm__ volatile("movd %[crc], %%xmm1\n\t"
                     "movdqu (%[p]), %%xmm0\n\t"
                     "pxor %%xmm1, %%xmm0\n\t"
                     "movdqu %[k], %%xmm2\n\t"
                     "jmp 2f\n"
                     "1:\n\t"
                     "add $16, %[p]\n\t"
                     "movdqa %%xmm0, %%xmm1\n\t"
                     "pclmulqdq $0x00, %%xmm2, %%xmm0\n\t" /* low 64 bits x fold_k[0] */
                     "pclmulqdq $0x11, %%xmm2, %%xmm1\n\t" /* high 64 bits x fold_k[1] */
                     "pxor %%xmm1, %%xmm0\n\t"
                     "movdqu (%[p]), %%xmm1\n\t"
                     "pxor %%xmm1, %%xmm0\n"
                     "2:\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     "movdqu %%xmm0, %[last]"
                     : [p] "+r"(p), [n] "+r"(blocks), [last] "=m"(last)
                     : [crc] "r"(crc), [k] "m"(fold_k), "m"(*(const u8(*)[bytes])start)
                     : XMM_CLOBBERS "cc");
    return crc_slices(0, last, sizeof(last));
}

/* See image.h: crc is the value returned for the bytes before buf (0 at
 * the start), as with zlib's crc32(). */
u32 crc32_update(u32 crc, const void *buf, size_t len)
{
    const u8 *p = buf;

    if (!crc_table[0][1])
        crc_table_fill();
    crc = ~crc;
    if (use_clmul && len >= 32) {
        size_t blocks = len / 16;
        crc = crc_fold(crc, p, blocks);
        p += blocks * 16;
        len -= blocks * 16;
    }
    return ~crc_slices(crc, p, len);
}
