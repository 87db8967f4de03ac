/* Physical pages for VMX structures and tables, and the APs' stacks: zeroed, 4 KiB aligned,
 * identity-mapped (address = physical address), never freed. They come
 * from usable RAM right after LHV's span. */
#ifndef LHV_ALLOC_H
#define LHV_ALLOC_H

#include "boot_params.h"

#define ALLOC_POOL_SIZE (16u << 20) /* 16 MiB */

/* Finds the pool; returns false (and allocation fails) when there is not
 * ALLOC_POOL_SIZE of usable RAM after the span below 4 GiB. */
bool alloc_init(const struct lhv_boot_params *p);

/* n zeroed pages, or FATAL when the pool is exhausted. */
void *alloc_pages(u32 n);

#endif
