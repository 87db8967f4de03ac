/* The packer of xmhf/include/lz.h's format (host code: tools/mkimage.c and
 * the host unit tests). */
#ifndef LHV_TOOLS_LZ_PACK_H
#define LHV_TOOLS_LZ_PACK_H

#include "lz.h"

/* Largest stream lz_pack writes for n bytes. */
size_t lz_pack_bound(size_t n);
/* Packs in[0, n) into out (lz_pack_bound(n) bytes); returns the stream's
 * length. Aborts when memory runs out. */
size_t lz_pack(const u8 *in, size_t n, u8 *out);

#endif
