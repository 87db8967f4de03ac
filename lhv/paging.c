/* Changes to the identity map the SL built (xmhf/lib/pagetable.c): its
 * first 2 MiB are mapped with 4 KiB pages, so page 0 has a PTE of its own,
 * reached through entry 0 at every level. */
#include "pagetable.h"
#include "paging.h"
#include "x86.h"

static u64 *next_table(u64 entry) { return (u64 *)(uintptr_t)(entry & PTE_ADDR_MASK); }

void paging_unmap_null_page(void)
{
    u64 *table = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR_MASK);
#ifdef __x86_64__
    const int levels = 4; /* PML4, PDPT, PD, PT */
#else
    const int levels = 3; /* PDPT, PD, PT */
#endif
    for (int level = 1; level < levels; level++)
        table = next_table(table[0]);
    table[0] &= ~PTE_P;
    __asm__ volatile("invlpg (%0)" : : "r"(0) : "memory");
}
