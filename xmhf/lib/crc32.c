/* CRC-32 with the zlib polynomial (reflected 0xedb88320), a byte at a time
 * from a table made on first use: init checks a module of ~200 KB with it,
 * and in Bochs every instruction counts (four bits a step cost 16 per byte). */
#include "image.h"

#define CRC32_POLY 0xedb88320u

/* crc_table[i]: the CRC register after shifting the byte i out of it. */
static u32 crc_table[256];

static void crc_table_fill(void)
{
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int bit = 0; bit < 8; bit++)
            c = (c >> 1) ^ (CRC32_POLY & -(c & 1));
        crc_table[i] = c;
    }
}

/* See image.h: crc is the value returned for the bytes before buf (0 at
 * the start), as with zlib's crc32(). */
u32 crc32_update(u32 crc, const void *buf, size_t len)
{
    const u8 *p = buf;

    if (!crc_table[1])
        crc_table_fill();
    crc = ~crc;
    while (len--)
        crc = (crc >> 8) ^ crc_table[(crc ^ *p++) & 0xff];
    return ~crc;
}
