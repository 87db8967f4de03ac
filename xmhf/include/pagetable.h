/* Construction of the identity-mapped page tables the SL hands the runtime.
 * Pure logic: the tables are built in a caller-given buffer whose physical
 * address may differ from its address here (host unit tests walk them). */
#ifndef XMHF_PAGETABLE_H
#define XMHF_PAGETABLE_H

#include "types.h"

/* Page-table entry bits (SDM Vol. 3A, 4.4.2 PAE and 4.5 4-level paging) */
#define PTE_P (1ull << 0)   /* present */
#define PTE_RW (1ull << 1)  /* writable (not in PAE PDPTEs) */
#define PTE_US (1ull << 2)  /* user (not in PAE PDPTEs) */
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)  /* large page in a PDPTE (1 GiB) or PDE (2 MiB) */
#define PTE_G (1ull << 8)
#define PTE_XD (1ull << 63) /* execute-disable, with IA32_EFER.NXE */
#define PTE_PKEY_SHIFT 59   /* bits 62:59: the protection key (IA-32e paging) */
#define PTE_ADDR_MASK 0x000ffffffffff000ull

/* Pages come from a bump allocator over [phys, phys + size). */
struct pt_arena {
    u8 *mem;   /* where the arena is reachable from the builder */
    u64 phys;  /* its physical address (what entries hold) */
    u64 size;  /* bytes; a multiple of 4 KiB */
    u64 used;  /* bytes handed out so far */
};

/* amd64: 4-level identity map of [0, 4 GiB) (MMIO included) and of RAM from
 * 4 GiB up to ram_top, 2 MiB pages, except the first 2 MiB which uses 4 KiB
 * pages; above 4 GiB, 1 GiB pages when use_1g_pages (the CPU has
 * CPUID.80000001H:EDX.Page1GB). The builder zeroes each page it takes.
 * Returns the physical address of the PML4 (for CR3), or 0 when the arena
 * is too small. */
u64 pt_build_amd64(struct pt_arena *a, u64 ram_top, bool use_1g_pages);

/* i386 PAE: identity map of [0, 4 GiB): a 4-entry PDPT, four page
 * directories of 2 MiB pages, 4 KiB pages in the first 2 MiB. Returns the
 * physical address of the PDPT (for CR3), or 0 when the arena is too small. */
u64 pt_build_pae(struct pt_arena *a);

/* Walks tables built above (or any 4-level / PAE tables in the arena) and
 * translates a linear address. Returns true and sets *phys and *flags (the
 * leaf entry's low 12 bits plus PS) when it is mapped present. */
bool pt_translate_amd64(const struct pt_arena *a, u64 root, u64 linear, u64 *phys, u64 *flags);
bool pt_translate_pae(const struct pt_arena *a, u64 root, u32 linear, u64 *phys, u64 *flags);

/* Bytes of arena pt_build_amd64 needs for a given ram_top. */
u64 pt_size_amd64(u64 ram_top, bool use_1g_pages);

#endif
