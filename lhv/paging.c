/* Changes to the identity map the SL built (xmhf/lib/pagetable.c): its
 * first 2 MiB are mapped with 4 KiB pages, so each page there has a PTE of
 * its own, reached through entry 0 of every level above. */
#include "pagetable.h"
#include "paging.h"
#include "x86.h"

#ifdef __x86_64__
#define LEVELS 4 /* PML4, PDPT, PD, PT */
#else
#define LEVELS 3 /* PDPT, PD, PT */
#endif

static u64 *next_table(u64 entry) { return (u64 *)(uintptr_t)(entry & PTE_ADDR_MASK); }

static u64 *first_page_table(void)
{
    u64 *table = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR_MASK);
    for (int level = 1; level < LEVELS; level++)
        table = next_table(table[0]);
    return table;
}

void paging_unmap_null_page(void)
{
    first_page_table()[0] &= ~PTE_P;
    invlpg(0);
}

/* U/S must be set at every level on the way (SDM 3A 4.6.1); the other
 * pages stay supervisor-only because their own entries keep U/S clear. PAE
 * PDPTEs have no U/S bit. */
void paging_make_user_page(uintptr_t addr)
{
    u64 *table = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR_MASK);
    for (int level = 1; level < LEVELS; level++) {
#ifndef __x86_64__
        if (level > 1)
#endif
            table[0] |= PTE_US;
        table = next_table(table[0]);
    }
    table[addr >> 12] |= PTE_US;
    /* A change at an upper level needs the whole TLB flushed: reload CR3 */
    __asm__ volatile("mov %0, %%cr3" : : "r"(read_cr3()) : "memory");
}
