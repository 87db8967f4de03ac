/* Changes to the identity map the SL built. */
#ifndef LHV_PAGING_H
#define LHV_PAGING_H

#include "types.h"

/* Makes the page at address 0 not present, so that a null pointer
 * dereference faults (#PF with CR2 < 4096) instead of reading the IVT. */
void paging_unmap_null_page(void);

/* Makes the 4 KiB page at addr (below 2 MiB) accessible from ring 3. */
void paging_make_user_page(uintptr_t addr);

#endif
