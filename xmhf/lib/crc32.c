/* CRC-32 with the zlib polynomial (reflected 0xedb88320), eight bytes a
 * step ("slicing by 8") from tables made on first use: init checks a module
 * of ~350 KB with it, and in Bochs every instruction counts (a byte a step
 * cost 10 TSC ticks a byte, 3.3 M for the i386 image; this ~3). */
#include "image.h"

#define CRC32_POLY 0xedb88320u

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

/* See image.h: crc is the value returned for the bytes before buf (0 at
 * the start), as with zlib's crc32(). */
u32 crc32_update(u32 crc, const void *buf, size_t len)
{
    const u8 *p = buf;

    if (!crc_table[0][1])
        crc_table_fill();
    crc = ~crc;
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
    return ~crc;
}
