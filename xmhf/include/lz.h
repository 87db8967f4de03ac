/* The runtime is stored packed in the image (image.h): an LZ77 stream of
 * byte-aligned sequences, made by tools/lz_pack.c and unpacked by init
 * (xmhf/lib/lz.c) straight to its link address.
 *
 * A stream is a series of sequences. Each is:
 *
 *   token     1 byte: bits 7:4 the literal count L, bits 3:0 the match
 *             length M minus 4
 *   L ext     only when bits 7:4 are 15: bytes added to L, each 255 meaning
 *             another byte follows
 *   literals  L bytes, copied to the output
 *             -- the stream ends here exactly when the output is full --
 *   offset    2 bytes, little-endian, 1 to 65535: the match starts that
 *             many bytes before the end of the output so far
 *   M ext     only when bits 3:0 are 15: bytes added to M, as for L
 *
 * The match is M bytes, copied forward one byte after another, so it may
 * overlap its own output (offset 1 repeats one byte M times).
 *
 * No checksum of its own: the image's CRC-32 covers the stream, and the
 * unpacker checks every count and offset against both buffers, so a stream
 * that is wrong anyway stops with an error instead of writing out of bounds.
 */
#ifndef XMHF_LZ_H
#define XMHF_LZ_H

#include "types.h"

#define LZ_MIN_MATCH 4
#define LZ_MAX_OFFSET 65535u

enum lz_error {
    LZ_OK = 0,
    LZ_E_TRUNCATED, /* the stream ends inside a sequence */
    LZ_E_OFFSET,    /* offset 0, or before the start of the output */
    LZ_E_OVERRUN,   /* a sequence would write past the end of the output */
    LZ_E_SHORT,     /* the stream ends before the output is full */
    LZ_E_TRAILING,  /* bytes after the sequence that filled the output */
};

/* Unpacks src[0, src_len) into dst[0, dst_len), which must not overlap it.
 * Returns LZ_OK when the stream fills dst exactly and ends there; otherwise
 * the error, with *at the offset in src of the sequence that failed. */
int lz_unpack(void *dst, size_t dst_len, const void *src, size_t src_len, size_t *at);

/* lz_unpack copies with SSE (on) or general registers only (off, the
 * default). On only where SSE is enabled: init, around its unpacking. */
void lz_set_sse(bool on);

/* What an lz_error means, in a few words. */
const char *lz_error_name(int err);

#endif
