/* SL: stage 2 of the boot chain (docs/design.md §2). Builds the runtime's
 * identity-mapped page tables in the SL area the image header declared,
 * records them in the boot parameters and enters the runtime (through long
 * mode on amd64). */
#include "boot_params.h"
#include "console.h"
#include "end.h"
#include "image.h"
#include "mmap.h"
#include "pagetable.h"
#include "x86.h"

void sl_enter_runtime(u32 root, u32 entry, u32 params) __attribute__((noreturn));

extern const struct lhv_image_header sl_image_header; /* at the link base */

static void check_params(u32 magic, const struct lhv_boot_params *p)
{
    if (magic != LHV_PARAMS_MAGIC || p->magic != LHV_PARAMS_MAGIC ||
        p->version != LHV_PARAMS_VERSION || p->size != sizeof(*p))
        fatal("SL: boot parameters at 0x%lx are not in this build's format "
              "(magic 0x%x, version %u): use init and image from the same build",
              (unsigned long)(uintptr_t)p, p->magic, p->version);
}

static u64 build_page_tables(struct pt_arena *a, const struct lhv_boot_params *p)
{
#if LHV_SUBARCH == LHV_SUBARCH_AMD64
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);
    u64 ram_top = n > 0 ? mmap_usable_top(map, (u32)n) : 0;
    bool gb_pages = cpuid(0x80000000, 0).eax >= 0x80000001 &&
                    (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_PAGE1GB);
    u64 root = pt_build_amd64(a, ram_top, gb_pages);

    if (!root)
        fatal("SL: page tables for RAM up to 0x%llx need %llu KiB, the SL area holds %llu KiB: "
              "rebuild with a larger SL area (LHV_SL_AREA_SIZE in the Makefile)",
              ram_top, pt_size_amd64(ram_top, gb_pages) >> 10, a->size >> 10);
    printf("sl: 4-level page tables, RAM mapped up to 0x%llx with %s pages above 4 GiB\n",
           ram_top, gb_pages ? "1 GiB" : "2 MiB");
#else
    (void)p;
    u64 root = pt_build_pae(a);

    if (!root)
        fatal("SL: the SL area (%llu KiB) is too small for PAE page tables: rebuild LHV",
              a->size >> 10);
    printf("sl: PAE page tables, 0-4 GiB mapped\n");
#endif
    return root;
}

void sl_main(u32 magic, struct lhv_boot_params *p)
{
    console_init(&p->serial, p->flags & LHV_PARAMS_FLAG_E9);
    end_set_action((u8)(p->flags >> LHV_PARAMS_END_SHIFT));
    check_params(magic, p);

    struct pt_arena arena = {
        .mem = (u8 *)(uintptr_t)(p->sl_area + LHV_SL_AREA_TABLES),
        .phys = p->sl_area + LHV_SL_AREA_TABLES,
        .size = p->sl_area_size - LHV_SL_AREA_TABLES,
    };
    u64 root = build_page_tables(&arena, p);
    p->page_table_root = root;
    p->page_table_end = arena.phys + arena.used;

    const struct lhv_image_header *h = &sl_image_header;
    sl_enter_runtime((u32)root, (u32)(h->link_base + h->runtime_entry), (u32)(uintptr_t)p);
}
