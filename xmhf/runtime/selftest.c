/* Boot self-checks (issue: "verdicts already now"): each compares what the
 * earlier stages promised with what the runtime finds. */
#include "console.h"
#include "image.h"
#include "mmap.h"
#include "multiboot.h"
#include "multiboot2.h"
#include "pagetable.h"
#include "runtime.h"
#include "string.h"
#include "verdict.h"
#include "x86.h"

/* Compares the parameter block with the multiboot info it came from.
 * Returns NULL when they agree, else what differs. */
static const char *params_vs_multiboot(const struct lhv_boot_params *p, char *buf, size_t len)
{
    const struct multiboot_info *mbi = (const void *)(uintptr_t)p->multiboot_info;

    if (p->magic != LHV_PARAMS_MAGIC || p->version != LHV_PARAMS_VERSION ||
        p->size != sizeof(*p) || p->subarch != LHV_SUBARCH)
        return "magic, version, size or subarch";
    if (mbi->flags != p->multiboot_flags)
        return "multiboot flags";
    if (mbi->flags & MBI_MMAP) {
        uintptr_t e = mbi->mmap_addr, end = e + mbi->mmap_length;
        u32 i = 0;
        for (; e + sizeof(struct multiboot_mmap_entry) <= end; i++) {
            const struct multiboot_mmap_entry *m = (const void *)e;
            if (i >= p->mmap_count || m->addr != p->mmap[i].base || m->len != p->mmap[i].length ||
                m->type != p->mmap[i].type) {
                snprintf(buf, len, "memory map entry %u", i);
                return buf;
            }
            e += m->size + sizeof(m->size);
        }
        if (i != p->mmap_count)
            return "memory map entry count";
    }
    if (mbi->mods_count != p->module_count)
        return "module count";
    const struct multiboot_module *m = (const void *)(uintptr_t)mbi->mods_addr;
    for (u32 i = 0; i < p->module_count; i++) {
        if (m[i].mod_start != p->modules[i].start || m[i].mod_end != p->modules[i].end ||
            strncmp((const char *)(uintptr_t)m[i].string, p->modules[i].string,
                    LHV_MODSTR_MAX - 1) != 0) {
            snprintf(buf, len, "module %u", i);
            return buf;
        }
    }
    const char *loader = (mbi->flags & MBI_LOADER_NAME)
                             ? (const char *)(uintptr_t)mbi->boot_loader_name : NULL;
    const char *cmdline = (mbi->flags & MBI_CMDLINE) ? (const char *)(uintptr_t)mbi->cmdline : "";
    if (strcmp(cmdline_skip_loader_path(cmdline, loader), p->cmdline) != 0)
        return "command line";
    return NULL;
}

/* The same for a multiboot2 boot (GRUB EFI): walks the tags again, on its
 * own, within the total_size init checked. Memory types other than 1, 3, 4
 * and 5 became reserved (2); the RSDP is the copy inside tag 15, else 14. */
static const char *params_vs_multiboot2(const struct lhv_boot_params *p, char *buf, size_t len)
{
    uintptr_t info = (uintptr_t)p->multiboot_info, t = info + 8;
    const struct mb2_info_header *h = (const void *)info;
    const char *loader = NULL, *cmdline = "";
    u64 rsdp_old = 0, rsdp_new = 0;
    u32 nmap = 0, nmod = 0;

    if (h->total_size != p->multiboot_flags)
        return "multiboot2 total_size";
    while (t + 8 <= info + h->total_size) {
        const struct mb2_tag *tag = (const void *)t;
        if (tag->type == MB2_TAG_END)
            break;
        if (tag->type == MB2_TAG_CMDLINE)
            cmdline = (const char *)(t + 8);
        else if (tag->type == MB2_TAG_LOADER_NAME)
            loader = (const char *)(t + 8);
        else if (tag->type == MB2_TAG_ACPI_OLD)
            rsdp_old = t + 8;
        else if (tag->type == MB2_TAG_ACPI_NEW)
            rsdp_new = t + 8;
        else if (tag->type == MB2_TAG_MMAP && nmap == 0) {
            const struct mb2_tag_mmap *m = (const void *)t;
            for (uintptr_t e = t + sizeof(*m); e + m->entry_size <= t + m->size;
                 e += m->entry_size, nmap++) {
                const struct mb2_mmap_entry *me = (const void *)e;
                u32 type = me->type >= 3 && me->type <= 5 ? me->type
                           : me->type == 1 ? 1 : LHV_MEM_RESERVED;
                if (nmap >= p->mmap_count || me->base_addr != p->mmap[nmap].base ||
                    me->length != p->mmap[nmap].length || type != p->mmap[nmap].type) {
                    snprintf(buf, len, "memory map entry %u", nmap);
                    return buf;
                }
            }
            if (nmap != p->mmap_count)
                return "memory map entry count";
        } else if (tag->type == MB2_TAG_MODULE) {
            const struct mb2_tag_module *m = (const void *)t;
            if (nmod >= p->module_count || m->mod_start != p->modules[nmod].start ||
                m->mod_end != p->modules[nmod].end ||
                strncmp((const char *)(m + 1), p->modules[nmod].string, LHV_MODSTR_MAX - 1)) {
                snprintf(buf, len, "module %u", nmod);
                return buf;
            }
            nmod++;
        }
        t += (tag->size + 7) & ~7u;
    }
    if (nmod != p->module_count)
        return "module count";
    if ((rsdp_new || rsdp_old) && (rsdp_new ? rsdp_new : rsdp_old) != p->acpi_rsdp)
        return "ACPI RSDP (tag 15, else 14)";
    if (strcmp(cmdline_skip_loader_path(cmdline, loader), p->cmdline) != 0)
        return "command line";
    return NULL;
}

static void check_params(const struct lhv_boot_params *p, const char *name)
{
    char buf[64];
    const char *diff;

    if (p->magic != LHV_PARAMS_MAGIC || p->version != LHV_PARAMS_VERSION ||
        p->size != sizeof(*p) || p->subarch != LHV_SUBARCH)
        diff = "magic, version, size or subarch";
    else if (p->multiboot_version == 2)
        diff = params_vs_multiboot2(p, buf, sizeof(buf));
    else
        diff = params_vs_multiboot(p, buf, sizeof(buf));
    verdict(!diff, name, "the boot parameters differ from the multiboot%s info in %s",
            p->multiboot_version == 2 ? "2" : "", diff);
}

static void check_image_header(const struct lhv_boot_params *p, const char *name)
{
    const struct lhv_image_header *h = (const void *)__image_base;
    u64 base = (uintptr_t)__image_base;

    if (h->magic != LHV_IMAGE_MAGIC || h->subarch != LHV_SUBARCH)
        verdict_fail(name, "no LHV header of this subarch at 0x%llx", base);
    else if (h->link_base != base || p->image_base != base)
        verdict_fail(name, "link base 0x%llx, header 0x%llx, params 0x%llx", base,
                     h->link_base, p->image_base);
    else if (base + h->bss_offset != (uintptr_t)__bss_start ||
             h->bss_size != (u32)(__bss_end - __bss_start) ||
             base + h->runtime_entry != (uintptr_t)runtime_entry ||
             p->sl_area != base + h->sl_area_offset || p->image_span != image_span(h))
        verdict_fail(name, "bss, entry or SL area differ from the linked layout");
    else
        verdict_pass(name);
}

/* The runtime runs where it was linked: the address the CPU fetches from
 * equals the link-time address of the same label. */
static void check_link_address(const struct lhv_boot_params *p, const char *name)
{
    uintptr_t here, linked;
    (void)p;
#ifdef __x86_64__
    __asm__ volatile("lea 1f(%%rip), %0\n1:\n\tmov $1b, %1" : "=r"(here), "=r"(linked));
#else
    __asm__ volatile("call 1f\n1:\tpop %0\n\tmov $1b, %1" : "=r"(here), "=r"(linked));
#endif
    verdict(here == linked, name, "running at 0x%lx, linked at 0x%lx",
            (unsigned long)here, (unsigned long)linked);
}

/* Walks the live page tables: the SL's tables sit in the SL area. */
static bool translate(const struct lhv_boot_params *p, u64 addr, u64 *phys, u64 *flags)
{
    struct pt_arena a = {
        .mem = (u8 *)(uintptr_t)(p->sl_area + LHV_SL_AREA_TABLES),
        .phys = p->sl_area + LHV_SL_AREA_TABLES,
        .size = p->page_table_end - (p->sl_area + LHV_SL_AREA_TABLES),
    };
#ifdef __x86_64__
    return pt_translate_amd64(&a, read_cr3(), addr, phys, flags);
#else
    return pt_translate_pae(&a, read_cr3(), (u32)addr, phys, flags);
#endif
}

static bool identity_mapped(const struct lhv_boot_params *p, u64 addr, char *why, size_t len)
{
    u64 phys, flags;
    if (!translate(p, addr, &phys, &flags))
        snprintf(why, len, "0x%llx is not mapped", addr);
    else if (phys != addr)
        snprintf(why, len, "0x%llx maps to 0x%llx", addr, phys);
    else if (!(flags & PTE_RW))
        snprintf(why, len, "0x%llx is read-only", addr);
    else
        return true;
    return false;
}

/* Why the live paging state is wrong, or NULL. */
static const char *paging_problem(const struct lhv_boot_params *p, char *why, size_t len)
{
    const u64 probes[] = {
        0, 0xb8000, MiB(1), (uintptr_t)__image_base, (uintptr_t)why,
        p->sl_area, IOAPIC_DEFAULT_BASE, LAPIC_DEFAULT_BASE, GiB(4) - PAGE_SIZE,
    };

    if (!(read_cr0() & CR0_PG) || !(read_cr4() & CR4_PAE))
        return "CR0.PG or CR4.PAE is off";
#ifdef __x86_64__
    if (!(rdmsr(MSR_IA32_EFER) & EFER_LMA))
        return "EFER.LMA is off in 64-bit code";
#endif
    if (read_cr3() != p->page_table_root) {
        snprintf(why, len, "CR3 0x%lx is not the SL's root 0x%llx", read_cr3(),
                 p->page_table_root);
        return why;
    }
    for (u32 i = 0; i < ARRAY_SIZE(probes); i++)
        if (!identity_mapped(p, probes[i], why, len))
            return why;
    return NULL;
}

static void check_paging(const struct lhv_boot_params *p, const char *name)
{
    char why[80];
    const char *problem = paging_problem(p, why, sizeof(why));
    verdict(!problem, name, "%s", problem);
}

/* The local APIC page is mapped and answers: its version register reads as
 * an integrated APIC (SDM 3A 11.4.8: version 0x10-0x1f, max LVT >= 3). */
static void check_lapic(const struct lhv_boot_params *p, const char *name)
{
    char why[80];

    if (!(cpuid(1, 0).edx & CPUID1_EDX_APIC))
        return verdict_skip(name, "CPU has no local APIC (CPUID.01H:EDX bit 9)");
    u64 apic_base = rdmsr(MSR_IA32_APIC_BASE);
    u64 addr = apic_base & APIC_BASE_ADDR_MASK;
    if (!(apic_base & APIC_BASE_ENABLE))
        return verdict_skip(name, "the local APIC is disabled in IA32_APIC_BASE");
    if (!identity_mapped(p, addr, why, sizeof(why)))
        return verdict_fail(name, "%s", why);
    u32 version = mmio_read32((uintptr_t)addr + LAPIC_VERSION);
    u32 max_lvt = (version >> 16) & 0xff;
    verdict((version & 0xff) >= 0x10 && (version & 0xff) <= 0x1f && max_lvt >= 3,
            name, "LAPIC at 0x%llx has version register 0x%08x", addr, version);
}

/* The image span is usable RAM in the loader's map and clear of the other
 * modules (init checked it before copying; this catches a wrong check). */
static void check_memory_map(const struct lhv_boot_params *p, const char *name)
{
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);

    if (n <= 0 || !mmap_range_usable(map, (u32)n, p->image_base, p->image_span))
        return verdict_fail(name, "LHV's span 0x%llx+0x%llx is not usable RAM",
                            p->image_base, p->image_span);
    for (u32 i = 1; i < p->module_count; i++)
        if (ranges_overlap(p->image_base, p->image_span, p->modules[i].start,
                           p->modules[i].end - p->modules[i].start))
            return verdict_fail(name, "module %u overlaps LHV's span", i);
    verdict_pass(name);
}

#ifdef __x86_64__
/* First usable RAM above 4 GiB: identity-mapped, writable and really RAM
 * (a pattern written to its first and last page reads back). */
static void check_high_memory(const struct lhv_boot_params *p, const char *name)
{
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);
    char why[80];

    for (int i = 0; i < n; i++) {
        if (map[i].type != LHV_MEM_USABLE || map[i].base + map[i].length <= GiB(4))
            continue;
        u64 first = map[i].base < GiB(4) ? GiB(4) : ALIGN_UP(map[i].base, PAGE_SIZE);
        u64 last = ((map[i].base + map[i].length) & ~(u64)(PAGE_SIZE - 1)) - PAGE_SIZE;
        const u64 probes[] = {first, last};
        for (u32 j = 0; j < ARRAY_SIZE(probes); j++) {
            if (!identity_mapped(p, probes[j], why, sizeof(why)))
                return verdict_fail(name, "%s", why);
            volatile u64 *w = (volatile u64 *)probes[j];
            u64 saved = *w;
            *w = 0x5a5aa5a5c3c33c3cull ^ probes[j];
            bool ok = *w == (0x5a5aa5a5c3c33c3cull ^ probes[j]);
            *w = saved;
            if (!ok)
                return verdict_fail(name, "write to 0x%llx did not read back",
                                    probes[j]);
        }
        return verdict_pass(name);
    }
    verdict_skip(name, "no RAM above 4 GiB in this machine");
}
#else
static void check_high_memory(const struct lhv_boot_params *p, const char *name)
{
    (void)p;
    verdict_skip(name, "i386 (PAE) maps only 0-4 GiB");
}
#endif

static const struct boot_check {
    const char *name;
    void (*run)(const struct lhv_boot_params *p, const char *name);
} boot_checks[] = {
    {"boot/params", check_params},
    {"boot/image-header", check_image_header},
    {"boot/link-address", check_link_address},
    {"boot/memory-map", check_memory_map},
    {"boot/paging-identity", check_paging},
    {"boot/lapic-mapped", check_lapic},
    {"boot/high-memory", check_high_memory},
};

u32 runtime_self_checks(const struct lhv_boot_params *p)
{
    u32 run = 0;
    for (u32 i = 0; i < ARRAY_SIZE(boot_checks); i++)
        if (test_selected(boot_checks[i].name)) {
            boot_checks[i].run(p, boot_checks[i].name);
            run++;
        }
    return run;
}
