/* The guest kernel, loaded as a multiboot (v1) loader would (Multiboot
 * Specification 0.6.96, 3.1 and 3.3): module 1 carries a multiboot header in
 * its first 8 KiB; its sections are placed by the header's a.out-kludge
 * addresses (flags bit 16) or, as init-x86-*.bin has it, by the ELF32
 * program headers (PT_LOAD at p_paddr, bss zeroed). The multiboot
 * information gives the guest its command line (module 1's string), the
 * memory map without the L0's memory (memory.c), the modules 2.. as its
 * modules 0.. and the loader's name. Everything that cannot work is one
 * FATAL line saying what to give instead. */
#include "end.h"
#include "l0/l0.h"
#include "multiboot.h"
#include "string.h"

#define GUEST_HELP "module 1 must be the guest's multiboot kernel (its module string its command " \
                   "line), modules 2.. the guest's modules; docs/l0.md"

#ifdef __x86_64__
#include "mmap.h"

struct l0_guest_image l0_image;

#define MB_HEADER_SEARCH 8192
#define MB_FLAG_AOUT_KLUDGE (1u << 16)
#define MB_FLAGS_KNOWN (MULTIBOOT_PAGE_ALIGN | MULTIBOOT_MEMORY_INFO)
#define MB_FLAGS_REQUIRED 0xffffu /* bits 0-15: a loader that lacks one must refuse */

struct mb_header {
    u32 magic, flags, checksum;
    u32 header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

/* ELF32 (System V ABI, i386 supplement): the parts a loader reads */
struct elf32_ehdr {
    u8 ident[16];
    u16 type, machine;
    u32 version, entry, phoff, shoff, flags;
    u16 ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};
struct elf32_phdr {
    u32 type, offset, vaddr, paddr, filesz, memsz, flags, align;
};
#define ELF_TYPE_EXEC 2
#define ELF_MACHINE_386 3
#define ELF_PT_LOAD 1

#define MAX_SEGMENTS 8
struct segment {
    u32 addr, file_off, filesz, memsz;
};
static struct segment segs[MAX_SEGMENTS];
static u32 nsegs;

/* Copies len bytes to guest-physical gpa (through memory.c's map, so the
 * footprint's range lands in its backing); src NULL writes zeros. */
static void guest_write(u64 gpa, const void *src, u64 len)
{
    while (len) {
        u64 chunk = MiB(2) - (gpa & (MiB(2) - 1));
        if (chunk > len)
            chunk = len;
        void *dst = (void *)(uintptr_t)l0_gpa_to_hpa(gpa);
        if (src) {
            memmove(dst, src, chunk);
            src = (const u8 *)src + chunk;
        } else {
            memset(dst, 0, chunk);
        }
        gpa += chunk;
        len -= chunk;
    }
}

static const struct mb_header *find_header(const u8 *file, u64 size, u32 *offset)
{
    for (u32 off = 0; off + 12 <= size && off < MB_HEADER_SEARCH; off += 4) {
        const struct mb_header *h = (const void *)(file + off);
        if (h->magic == MULTIBOOT_HEADER_MAGIC && h->magic + h->flags + h->checksum == 0) {
            *offset = off;
            return h;
        }
    }
    return NULL;
}

static void read_aout(const struct mb_header *h, u32 hoff, u64 size)
{
    if (hoff + sizeof(*h) > size || h->header_addr < h->load_addr ||
        h->header_addr - h->load_addr > hoff)
        fatal("lhv.l0=1: module 1's multiboot header (a.out kludge) has addresses that do not "
              "fit its file: " GUEST_HELP);
    u32 file_off = hoff - (h->header_addr - h->load_addr);
    u32 filesz = h->load_end_addr ? h->load_end_addr - h->load_addr : (u32)size - file_off;
    u32 memsz = h->bss_end_addr > h->load_addr + filesz ? h->bss_end_addr - h->load_addr : filesz;
    if (file_off + (u64)filesz > size)
        fatal("lhv.l0=1: module 1 is shorter (%llu bytes) than its multiboot header says: "
              "re-copy the guest kernel", size);
    segs[0] = (struct segment){h->load_addr, file_off, filesz, memsz};
    nsegs = 1;
    l0_image.entry = h->entry_addr;
    strlcpy(l0_image.kind, "a.out", sizeof(l0_image.kind));
}

static void read_elf(const u8 *file, u64 size)
{
    const struct elf32_ehdr *e = (const void *)file;
    if (size < sizeof(*e) || memcmp(e->ident, "\177ELF", 4) != 0 || e->ident[4] != 1 ||
        e->ident[5] != 1 || e->type != ELF_TYPE_EXEC || e->machine != ELF_MACHINE_386)
        fatal("lhv.l0=1: module 1 has a multiboot header without the a.out kludge but is no "
              "ELF32 i386 executable: " GUEST_HELP);
    if (e->phentsize != sizeof(struct elf32_phdr) ||
        e->phoff + (u64)e->phnum * sizeof(struct elf32_phdr) > size)
        fatal("lhv.l0=1: module 1's ELF program headers lie outside its %llu bytes: re-copy the "
              "guest kernel", size);
    nsegs = 0;
    for (u32 i = 0; i < e->phnum; i++) {
        const struct elf32_phdr *ph = (const void *)(file + e->phoff + i * sizeof(*ph));
        if (ph->type != ELF_PT_LOAD || ph->memsz == 0)
            continue;
        if (nsegs == MAX_SEGMENTS || ph->filesz > ph->memsz || ph->offset + (u64)ph->filesz > size)
            fatal("lhv.l0=1: module 1's ELF segment %u is malformed (or more than %u segments): "
                  "re-copy the guest kernel", i, MAX_SEGMENTS);
        segs[nsegs++] = (struct segment){ph->paddr, ph->offset, ph->filesz, ph->memsz};
    }
    if (!nsegs)
        fatal("lhv.l0=1: module 1 (ELF) has nothing to load: " GUEST_HELP);
    l0_image.entry = e->entry;
    strlcpy(l0_image.kind, "ELF", sizeof(l0_image.kind));
}

/* The full string of module i: multiboot v1 keeps it in the loader's
 * information (the boot parameters hold it cut to LHV_MODSTR_MAX). */
static void module_string(const struct lhv_boot_params *p, u32 i, char *buf, size_t n)
{
    strlcpy(buf, p->modules[i].string, n);
    if (p->multiboot_version != 1 || !(p->multiboot_flags & MBI_MODS))
        return;
    const struct multiboot_info *mbi = (const void *)(uintptr_t)p->multiboot_info;
    if (i >= mbi->mods_count)
        return;
    const struct multiboot_module *m = (const void *)(uintptr_t)mbi->mods_addr;
    if (m[i].string)
        strlcpy(buf, (const char *)(uintptr_t)m[i].string, n);
}

/* Where the multiboot information goes: the first page after the kernel
 * and every module, below the footprint's range (where the guest puts
 * its own image). */
#define MBI_AREA_SIZE (LHV_CMDLINE_MAX + 2 * 4096)
static u64 mbi_area(const struct lhv_boot_params *p)
{
    u64 at = l0_image.load_hi;
    for (u32 i = 0; i < p->module_count; i++)
        if (p->modules[i].end > at)
            at = p->modules[i].end;
    return ALIGN_UP(at, 4096);
}

static char cmdline[LHV_CMDLINE_MAX + 1];
static char modstr[LHV_MODULES_MAX][LHV_CMDLINE_MAX / 8];
static u8 info[MBI_AREA_SIZE];

static u32 build_mbi(const struct lhv_boot_params *p, u64 base)
{
    struct multiboot_info *mbi = (void *)info;
    u32 used = ALIGN_UP(sizeof(*mbi), 16), nmods = p->module_count - 2;
    memset(info, 0, sizeof(info));
#define PLACE(len) (used += ALIGN_UP((u32)(len), 16), (u32)base + used - ALIGN_UP((u32)(len), 16))
    mbi->flags = MBI_MEMORY | MBI_CMDLINE | MBI_MODS | MBI_MMAP | MBI_LOADER_NAME;
    for (u32 i = 0; i < l0_mem.map_count; i++) {
        const struct lhv_mmap_entry *e = &l0_mem.map[i];
        if (e->type == LHV_MEM_USABLE && e->base == 0)
            mbi->mem_lower = (u32)(e->length >> 10);
        if (e->type == LHV_MEM_USABLE && e->base <= MiB(1) && e->base + e->length > MiB(1))
            mbi->mem_upper = (u32)((e->base + e->length - MiB(1)) >> 10);
    }
    u32 at = PLACE(strlen(cmdline) + 1);
    memcpy(info + (at - base), cmdline, strlen(cmdline) + 1);
    mbi->cmdline = at;
    char name[LHV_LOADER_NAME_MAX + 16];
    snprintf(name, sizeof(name), "%s via LHV L0", p->loader_name[0] ? p->loader_name : "a loader");
    at = PLACE(strlen(name) + 1);
    memcpy(info + (at - base), name, strlen(name) + 1);
    mbi->boot_loader_name = at;
    struct multiboot_module *mods = (void *)(info + (PLACE(nmods * sizeof(*mods)) - base));
    mbi->mods_addr = (u32)((u8 *)mods - info + base);
    mbi->mods_count = nmods;
    for (u32 i = 0; i < nmods; i++) {
        const char *s = modstr[i + 2];
        at = PLACE(strlen(s) + 1);
        memcpy(info + (at - base), s, strlen(s) + 1);
        mods[i] = (struct multiboot_module){(u32)p->modules[i + 2].start,
                                            (u32)p->modules[i + 2].end, at, 0};
    }
    struct multiboot_mmap_entry *mm = (void *)(info + (PLACE(l0_mem.map_count * sizeof(*mm)) - base));
    mbi->mmap_addr = (u32)((u8 *)mm - info + base);
    mbi->mmap_length = l0_mem.map_count * sizeof(*mm);
    for (u32 i = 0; i < l0_mem.map_count; i++)
        mm[i] = (struct multiboot_mmap_entry){sizeof(*mm) - 4, l0_mem.map[i].base,
                                              l0_mem.map[i].length, l0_mem.map[i].type};
#undef PLACE
    return used;
}

void l0_loader(const struct lhv_boot_params *p, bool load)
{
    if (p->module_count < 2)
        fatal("lhv.l0=1: no guest kernel (%u module%s): %s", p->module_count,
              p->module_count == 1 ? "" : "s", GUEST_HELP);
    if (p->module_count > LHV_MODULES_MAX)
        fatal("lhv.l0=1: more than %u modules: give the guest fewer", LHV_MODULES_MAX);
    const struct lhv_module *m1 = &p->modules[1];
    const u8 *file = (const u8 *)(uintptr_t)m1->start;
    u64 size = m1->end - m1->start;
    u32 hoff;
    const struct mb_header *h = find_header(file, size, &hoff);
    if (!h)
        fatal("lhv.l0=1: module 1 (%llu bytes) is not a multiboot kernel: no multiboot header "
              "in its first 8 KiB; %s", size, GUEST_HELP);
    if (h->flags & MB_FLAGS_REQUIRED & ~MB_FLAGS_KNOWN)
        fatal("lhv.l0=1: module 1's multiboot header asks for what this L0 does not give "
              "(flags 0x%x, it gives 0x%x): give a guest kernel that needs less",
              h->flags & MB_FLAGS_REQUIRED, MB_FLAGS_KNOWN);
    if (h->flags & MB_FLAG_AOUT_KLUDGE)
        read_aout(h, hoff, size);
    else
        read_elf(file, size);

    l0_image.load_lo = ~0ull;
    l0_image.load_hi = 0;
    for (u32 i = 0; i < nsegs; i++) {
        u64 lo = segs[i].addr, hi = lo + segs[i].memsz;
        if (lo < l0_image.load_lo)
            l0_image.load_lo = lo;
        if (hi > l0_image.load_hi)
            l0_image.load_hi = hi;
        if (!l0_guest_ram(lo, segs[i].memsz))
            fatal("lhv.l0=1: the guest kernel does not fit: its segment at 0x%llx-0x%llx is "
                  "not in the guest's RAM; give the machine more RAM or a guest linked lower",
                  lo, hi - 1);
        for (u32 j = 2; j < p->module_count; j++)
            if (ranges_overlap(lo, segs[i].memsz, p->modules[j].start,
                               p->modules[j].end - p->modules[j].start))
                fatal("lhv.l0=1: the guest kernel does not fit: its segment at 0x%llx-0x%llx "
                      "overlaps module %u, which the loader put there; load the modules "
                      "higher or give a smaller guest kernel", lo, hi - 1, j);
    }
    u64 mbi = mbi_area(p);
    if (mbi + MBI_AREA_SIZE > l0_mem.own_base || !l0_guest_ram(mbi, MBI_AREA_SIZE))
        fatal("lhv.l0=1: the guest does not fit: no RAM for its multiboot information after "
              "0x%llx below 0x%llx; give the machine more RAM", mbi, l0_mem.own_base);
    if (!load)
        return;

    /* Strings first: the kernel may land on the loader's information. */
    module_string(p, 1, cmdline, sizeof(cmdline));
    for (u32 i = 2; i < p->module_count; i++)
        module_string(p, i, modstr[i], sizeof(modstr[i]));
    /* The kernel's source may overlap where it goes: work from a copy in
     * the backing RAM (hidden from the guest, not yet in use). */
    const u8 *src = file;
    if (ranges_overlap(l0_image.load_lo, l0_image.load_hi - l0_image.load_lo, m1->start, size) &&
        size <= l0_mem.own_end - l0_mem.own_base) {
        memmove((void *)(uintptr_t)l0_mem.backing, file, size);
        src = (const u8 *)(uintptr_t)l0_mem.backing;
    }
    for (u32 i = 0; i < nsegs; i++) {
        guest_write(segs[i].addr, src + segs[i].file_off, segs[i].filesz);
        guest_write(segs[i].addr + segs[i].filesz, NULL, segs[i].memsz - segs[i].filesz);
    }
    u32 used = build_mbi(p, mbi);
    guest_write(mbi, info, used);
    l0_image.mbi = (u32)mbi;
}
#endif

void l0_check(const struct lhv_boot_params *p)
{
#ifdef __x86_64__
    const char *why = l0_memory_plan(p);
    if (why)
        fatal("lhv.l0=1: the guest does not fit: %s; give the machine more RAM", why);
    l0_loader(p, false);
#else
    (void)p;
    fatal("lhv.l0=1: the L0 is amd64 only; boot init-x86-amd64.bin with "
          "hypervisor-x86-amd64.bin as the L0 (its guest, module 1, may be the i386 build)");
#endif
}
