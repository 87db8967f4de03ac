/* CRC-32 with the zlib polynomial, four bits at a time. */
#include "image.h"

/* crc_nibble[i]: the CRC register after shifting the nibble i out of it. */
static const u32 crc_nibble[16] = {
    0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac,
    0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
    0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c,
    0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
};

/* See image.h: crc is the value returned for the bytes before buf (0 at
 * the start), as with zlib's crc32(). */
u32 crc32_update(u32 crc, const void *buf, size_t len)
{
    const u8 *p = buf;

    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
        crc = (crc >> 4) ^ crc_nibble[crc & 15];
    }
    return ~crc;
}
