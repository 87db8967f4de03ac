/* 64-bit division for code that also runs as i386, where the compiler
 * would call libgcc's __udivdi3 (not linked into LHV). */
#ifndef XMHF_DIV64_H
#define XMHF_DIV64_H

#include "types.h"

/* n / d and, when rem is not NULL, n % d. d must not be 0. */
u64 udiv64(u64 n, u64 d, u64 *rem);

#endif
