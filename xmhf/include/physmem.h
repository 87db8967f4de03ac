/* Physical memory as a reader sees it: address A is at base + A, for A in
 * [0, size). The boot code passes base 0 (identity-addressed memory); the
 * host tests pass a buffer. Readers check every access against size. */
#ifndef XMHF_PHYSMEM_H
#define XMHF_PHYSMEM_H

#include "types.h"

struct phys_mem {
    const u8 *base;
    u64 size;
};

#endif
