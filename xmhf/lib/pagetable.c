/* Identity-mapped page tables for the runtime (see pagetable.h).
 *
 * This is 32-bit code even for an amd64 runtime: the SL builds the 4-level
 * tables before it enters long mode. So 64-bit values are only shifted,
 * masked, added and compared here (no 64-bit division, no libgcc). */
#include "pagetable.h"
#include "string.h"

#define ENTRIES 512u          /* 8-byte entries in a 4 KiB table */
#define INDEX_MASK (ENTRIES - 1)
#define TABLE (PTE_P | PTE_RW) /* non-leaf entry: present, writable, supervisor */
#define PAGE_4K (PTE_P | PTE_RW)
#define PAGE_LARGE (PTE_P | PTE_RW | PTE_PS)

/* 4-level paging translates 48-bit linear addresses, but those from 2^47
 * up are not canonical (bits 63:47 must be equal, SDM Vol. 1, 3.3.7.1): an
 * identity map reaches 128 TiB, PML4 entries 0-255. */
#define AMD64_MAX_TOP (1ull << 47)

/* PAE PDPTEs are loaded from the PDPT by MOV CR3; bits 2:1 and 8:5 are
 * reserved there and setting any of them makes the load #GP
 * (SDM Vol. 3A, 4.4.1). */
#define PAE_PDPTE_RESERVED (PTE_RW | PTE_US | PTE_A | PTE_D | PTE_PS | PTE_G)
/* Bit 7 of a PML4E is reserved: there are no 512 GiB pages (4.5). */
#define PML4E_RESERVED PTE_PS

/* True when need more bytes can be handed out from the arena. Checked once
 * up front so that a build either completes or takes nothing. */
static bool arena_has(const struct pt_arena *a, u64 need)
{
    return IS_ALIGNED(a->phys, PAGE_SIZE) && IS_ALIGNED(a->used, PAGE_SIZE) &&
           a->used <= a->size && a->size - a->used >= need;
}

/* Hands out the next page of the arena, zeroed; *phys gets its address. */
static u64 *take_page(struct pt_arena *a, u64 *phys)
{
    u64 *page = (u64 *)(void *)(a->mem + (size_t)a->used);

    *phys = a->phys + a->used;
    a->used += PAGE_SIZE;
    memset(page, 0, PAGE_SIZE);
    return page;
}

/* Maps n 2 MiB pages from base in a page directory. */
static void fill_pd(u64 *pd, u64 base, u32 n)
{
    for (u32 i = 0; i < n; i++)
        pd[i] = (base + ((u64)i << 21)) | PAGE_LARGE;
}

/* A page table mapping [0, 2 MiB) with 4 KiB pages, where the fixed MTRRs
 * may give different memory types inside one 2 MiB page. Returns the entry
 * that replaces the first 2 MiB page of a directory. */
static u64 low_page_table(struct pt_arena *a)
{
    u64 phys;
    u64 *pt = take_page(a, &phys);

    for (u32 i = 0; i < ENTRIES; i++)
        pt[i] = ((u64)i << 12) | PAGE_4K;
    return phys | TABLE;
}

/* The end of the amd64 map: at least 4 GiB, ram_top rounded up to the page
 * size used above 4 GiB. 0 when ram_top is beyond 4-level paging. */
static u64 amd64_top(u64 ram_top, bool use_1g_pages)
{
    u64 top;

    if (ram_top > AMD64_MAX_TOP)
        return 0;
    top = ALIGN_UP(ram_top, use_1g_pages ? GiB(1) : MiB(2));
    return top < GiB(4) ? GiB(4) : top;
}

u64 pt_size_amd64(u64 ram_top, bool use_1g_pages)
{
    u64 top = amd64_top(ram_top, use_1g_pages);
    u64 gibs = (top + GiB(1) - 1) >> 30;      /* PDPTEs in use */
    u64 pdpts = (top + GiB(512) - 1) >> 39;   /* PML4Es in use */
    u64 pds = use_1g_pages ? 4 : gibs;        /* 1 GiB pages need no PD */

    if (top == 0)
        return 0;
    /* PML4, PDPTs, page directories, the page table of the first 2 MiB */
    return (1 + pdpts + pds + 1) * PAGE_SIZE;
}

u64 pt_build_amd64(struct pt_arena *a, u64 ram_top, bool use_1g_pages)
{
    u64 need = pt_size_amd64(ram_top, use_1g_pages);
    u64 top = amd64_top(ram_top, use_1g_pages);
    u64 root, phys;
    u64 *pml4, *pdpt = NULL;

    if (need == 0 || !arena_has(a, need))
        return 0;
    pml4 = take_page(a, &root);
    /* One PDPTE per GiB; a new PDPT every 512 GiB. */
    for (u32 gib = 0; ((u64)gib << 30) < top; gib++) {
        u64 base = (u64)gib << 30;
        u64 left = (top - base) >> 21;  /* 2 MiB pages still to map */
        u64 *pd;

        if ((gib & INDEX_MASK) == 0) {
            pdpt = take_page(a, &phys);
            pml4[gib >> 9] = phys | TABLE;
        }
        if (use_1g_pages && base >= GiB(4)) {
            pdpt[gib & INDEX_MASK] = base | PAGE_LARGE;
            continue;
        }
        pd = take_page(a, &phys);
        pdpt[gib & INDEX_MASK] = phys | TABLE;
        fill_pd(pd, base, left < ENTRIES ? (u32)left : ENTRIES);
        if (gib == 0)
            pd[0] = low_page_table(a);
    }
    return root;
}

u64 pt_build_pae(struct pt_arena *a)
{
    u64 root, phys;
    u64 *pdpt;

    /* PDPT (needs only 32-byte alignment: a page is simplest), 4 page
     * directories, the page table of the first 2 MiB. */
    if (!arena_has(a, 6 * PAGE_SIZE))
        return 0;
    pdpt = take_page(a, &root);
    for (u32 i = 0; i < 4; i++) {
        u64 *pd = take_page(a, &phys);

        pdpt[i] = phys | PTE_P;  /* P only: see PAE_PDPTE_RESERVED */
        fill_pd(pd, GiB(i), ENTRIES);
        if (i == 0)
            pd[0] = low_page_table(a);
    }
    return root;
}

/* Where the table at physical address addr, len bytes long, is reachable;
 * NULL when it is not wholly inside the arena. */
static const u64 *table_at(const struct pt_arena *a, u64 addr, u64 len)
{
    u64 off = addr - a->phys;

    if (addr < a->phys || a->size < len || off > a->size - len)
        return NULL;
    return (const u64 *)(const void *)(a->mem + (size_t)off);
}

/* Walks levels tables from root. shift is the bit position the top level
 * indexes (39 for 4-level, 30 for PAE), each level below takes 9 bits.
 * Large pages (PS) are leaves below the top level, whose entries must not
 * have any of top_reserved set. */
static bool walk(const struct pt_arena *a, u64 root, u64 root_len, u32 shift,
                 u64 top_reserved, u64 linear, u64 *phys, u64 *flags)
{
    u64 table = root, len = root_len;

    for (u32 level = 0;; level++, shift -= 9) {
        const u64 *t = table_at(a, table, len);
        u64 e, page_mask;

        if (t == NULL)
            return false;
        e = t[(linear >> shift) & INDEX_MASK];
        if (!(e & PTE_P) || (level == 0 && (e & top_reserved)))
            return false;
        if (shift == 12 || (level > 0 && (e & PTE_PS))) {
            page_mask = (1ull << shift) - 1;
            *phys = (e & PTE_ADDR_MASK & ~page_mask) | (linear & page_mask);
            *flags = e & 0xfff;
            return true;
        }
        table = e & PTE_ADDR_MASK;
        len = PAGE_SIZE;
    }
}

bool pt_translate_amd64(const struct pt_arena *a, u64 root, u64 linear, u64 *phys, u64 *flags)
{
    /* Bits 63:47 must all be equal (canonical address) */
    u64 high = linear >> 47;

    if (high != 0 && high != 0x1ffff)
        return false;
    return walk(a, root & PTE_ADDR_MASK, PAGE_SIZE, 39, PML4E_RESERVED, linear, phys, flags);
}

bool pt_translate_pae(const struct pt_arena *a, u64 root, u32 linear, u64 *phys, u64 *flags)
{
    /* In PAE mode CR3 holds a 32-byte aligned PDPT of 4 entries (4.4.1) */
    /* QEMU TCG sets the accessed bit in PDPTEs it walks (hardware loads them
     * into registers and leaves them alone): do not count it as reserved. */
    return walk(a, root & ~0x1full, 32, 30, PAE_PDPTE_RESERVED & ~PTE_A, linear, phys, flags);
}
