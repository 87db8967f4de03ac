/* The multiboot info and the target span: see bootinfo.h. */
#include "bootinfo.h"
#include "image.h"
#include "mmap.h"
#include "multiboot.h"
#include "multiboot2.h"
#include "string.h"

#define BROKEN "the boot loader is broken; boot LHV with GRUB 2 or QEMU"
#define FIX_OPTIONS "; fix the command line (docs/options.md lists every option)"

/* The multiboot2 readers, at the end of this file. */
static int mb2_read_options(const struct phys_mem *mem, u32 addr, struct lhv_boot_params *p,
                            struct lhv_options *opts, char *err, size_t errlen);
static int mb2_read_memory(const struct phys_mem *mem, u32 addr, struct lhv_boot_params *p,
                           char *err, size_t errlen);
static int mb2_check_target(const struct lhv_boot_params *p, u64 base, u64 span,
                            u64 init_start, u64 init_end, char *err, size_t errlen);

/* Writes the message and returns -1. */
__attribute__((format(printf, 3, 4)))
static int bootinfo_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *bootinfo_subarch_name(u32 subarch)
{
    if (subarch == LHV_SUBARCH_I386)
        return "i386";
    if (subarch == LHV_SUBARCH_AMD64)
        return "amd64";
    return "SUBARCH";
}

/* True when [addr, addr+len) lies in mem (no sum is formed that could wrap). */
static bool in_mem(const struct phys_mem *mem, u64 addr, u64 len)
{
    return addr <= mem->size && len <= mem->size - addr;
}

/* Where the caller sees physical address addr (which lies in mem). Integer
 * arithmetic: init's base is 0, and a null pointer may not be offset. */
static const void *at(const struct phys_mem *mem, u64 addr)
{
    return (const void *)((uintptr_t)mem->base + (uintptr_t)addr);
}

/* The NUL-terminated string at addr, or NULL when it does not end inside
 * mem. Its length goes to *len when len is not NULL. */
static const char *mem_string(const struct phys_mem *mem, u64 addr, u64 *len)
{
    const char *s;
    u64 n;

    if (addr >= mem->size)
        return NULL;
    s = at(mem, addr);
    for (n = 0; n < mem->size - addr; n++) {
        if (s[(uintptr_t)n] == '\0') {
            if (len)
                *len = n;
            return s;
        }
    }
    return NULL;
}

static int outside(char *err, size_t errlen, const char *what, u64 addr, u64 len)
{
    return bootinfo_fail(err, errlen, "%s (0x%llx, %llu bytes) lies outside memory: " BROKEN, what,
                         addr, len);
}

static int unterminated(char *err, size_t errlen, const char *what, u64 addr)
{
    return bootinfo_fail(err, errlen, "%s at 0x%llx does not end inside memory: " BROKEN, what,
                         addr);
}

static int read_mbi(const struct phys_mem *mem, u32 addr, struct multiboot_info *mbi, char *err,
                    size_t errlen)
{
    if (!in_mem(mem, addr, sizeof(*mbi)))
        return outside(err, errlen, "the multiboot info", addr, sizeof(*mbi));
    memcpy(mbi, at(mem, addr), sizeof(*mbi));
    return 0;
}

/* The command line the loader gave, without QEMU's kernel path, into
 * p->cmdline (multiboot v1 and v2 alike). */
static int store_cmdline(const char *cmdline, const char *loader, struct lhv_boot_params *p,
                         char *err, size_t errlen)
{
    size_t len;

    cmdline = cmdline_skip_loader_path(cmdline, loader);
    len = strnlen(cmdline, LHV_CMDLINE_MAX + 1);
    if (len > LHV_CMDLINE_MAX)
        return bootinfo_fail(err, errlen,
                             "command line is longer than %u bytes: shorten it (docs/options.md)",
                             LHV_CMDLINE_MAX);
    memcpy(p->cmdline, cmdline, len);
    p->cmdline[len] = '\0';
    return 0;
}

/* The command line of the multiboot v1 info. */
static int read_cmdline(const struct phys_mem *mem, const struct multiboot_info *mbi,
                        const char *loader, struct lhv_boot_params *p, char *err, size_t errlen)
{
    const char *cmdline = "";

    if (mbi->flags & MBI_CMDLINE) {
        cmdline = mem_string(mem, mbi->cmdline, NULL);
        if (!cmdline)
            return unterminated(err, errlen, "the command line", mbi->cmdline);
    }
    return store_cmdline(cmdline, loader, p, err, errlen);
}

/* options_parse's message, with room kept for what to do. */
static int parse_options(const char *cmdline, struct lhv_options *o, char *err, size_t errlen)
{
    size_t fix = sizeof(FIX_OPTIONS) - 1, n;

    options_default(o);
    if (options_parse(cmdline, o, err, errlen > fix ? errlen - fix : 1) == 0)
        return 0;
    n = strlen(err);
    strlcpy(err + n, FIX_OPTIONS, errlen - n);
    return -1;
}

/* See bootinfo.h. */
int bootinfo_read_options(const struct phys_mem *mem, u32 magic, u32 mbi_addr,
                          struct lhv_boot_params *p, struct lhv_options *opts, char *err,
                          size_t errlen)
{
    struct multiboot_info mbi;
    const char *loader = NULL;

    if (magic == MULTIBOOT2_BOOTLOADER_MAGIC)
        return mb2_read_options(mem, mbi_addr, p, opts, err, errlen);
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return bootinfo_fail(err, errlen,
                             "not started by a multiboot loader (EAX=0x%x): boot init-x86-%s.bin "
                             "with GRUB's 'multiboot' or 'multiboot2' command or QEMU -kernel",
                             magic, bootinfo_subarch_name(p->subarch));
    if (read_mbi(mem, mbi_addr, &mbi, err, errlen))
        return -1;
    p->loader_name[0] = '\0';
    if (mbi.flags & MBI_LOADER_NAME) {
        loader = mem_string(mem, mbi.boot_loader_name, NULL);
        if (!loader)
            return unterminated(err, errlen, "the boot loader name", mbi.boot_loader_name);
        strlcpy(p->loader_name, loader, sizeof(p->loader_name));
    }
    if (read_cmdline(mem, &mbi, loader, p, err, errlen) ||
        parse_options(p->cmdline, opts, err, errlen))
        return -1;
    p->multiboot_version = 1;
    p->multiboot_info = mbi_addr;
    p->multiboot_flags = mbi.flags;
    p->boot_drive = 0xffffffffu;
    if (opts->boot_drive != 0xffffffffu)
        p->boot_drive = opts->boot_drive;
    else if (mbi.flags & MBI_BOOTDEV)
        p->boot_drive = mbi.boot_device >> 24;
    return 0;
}

static int add_mmap_entry(struct lhv_boot_params *p, u64 base, u64 length, u32 type, char *err,
                          size_t errlen)
{
    if (p->mmap_count == LHV_MMAP_MAX)
        return bootinfo_fail(err, errlen,
                             "memory map has more than %u entries: LHV cannot hold it; raise "
                             "LHV_MMAP_MAX in xmhf/include/boot_params.h and rebuild",
                             LHV_MMAP_MAX);
    p->mmap[p->mmap_count++] =
        (struct lhv_mmap_entry){ .base = base, .length = length, .type = type };
    return 0;
}

/* The loader's full map: entries of size + 4 bytes each (size >= 20); bytes
 * at the end too few for an entry are ignored. */
static int read_loader_map(const struct phys_mem *mem, const struct multiboot_info *mbi,
                           struct lhv_boot_params *p, char *err, size_t errlen)
{
    struct multiboot_mmap_entry e;
    u64 addr = mbi->mmap_addr, end = addr + mbi->mmap_length;

    if (!in_mem(mem, addr, mbi->mmap_length))
        return outside(err, errlen, "the memory map", addr, mbi->mmap_length);
    for (; addr + sizeof(e) <= end; addr += (u64)e.size + sizeof(e.size)) {
        memcpy(&e, at(mem, addr), sizeof(e));
        if (e.size < sizeof(e) - sizeof(e.size))
            return bootinfo_fail(err, errlen,
                                 "memory map entry at 0x%llx has size %u, less than %u: " BROKEN,
                                 addr, e.size, (u32)(sizeof(e) - sizeof(e.size)));
        if (add_mmap_entry(p, e.addr, e.len, e.type, err, errlen))
            return -1;
    }
    return 0;
}

static int read_memory_map(const struct phys_mem *mem, const struct multiboot_info *mbi,
                           struct lhv_boot_params *p, char *err, size_t errlen)
{
    p->mmap_count = 0;
    if (mbi->flags & MBI_MMAP) {
        if (read_loader_map(mem, mbi, p, err, errlen))
            return -1;
    } else if (mbi->flags & MBI_MEMORY) { /* room for two: cannot fail */
        add_mmap_entry(p, 0, KiB(mbi->mem_lower), LHV_MEM_USABLE, err, errlen);
        add_mmap_entry(p, MiB(1), KiB(mbi->mem_upper), LHV_MEM_USABLE, err, errlen);
    }
    if (p->mmap_count == 0)
        return bootinfo_fail(err, errlen,
                             "the boot loader gave no memory map: boot LHV with GRUB 2 or QEMU");
    return 0;
}

static int read_module(const struct phys_mem *mem, u32 i, const struct multiboot_module *m,
                       struct lhv_module *out, char *err, size_t errlen)
{
    const char *s;

    if (m->mod_end < m->mod_start)
        return bootinfo_fail(err, errlen, "module %u ends (0x%x) before it starts (0x%x): " BROKEN,
                             i, m->mod_end, m->mod_start);
    if (!in_mem(mem, m->mod_start, m->mod_end - m->mod_start))
        return bootinfo_fail(err, errlen, "module %u (0x%x-0x%x) lies outside memory: " BROKEN, i,
                             m->mod_start, m->mod_end);
    out->start = m->mod_start;
    out->end = m->mod_end;
    out->string[0] = '\0';
    if (m->string) {
        s = mem_string(mem, m->string, NULL);
        if (!s)
            return bootinfo_fail(err, errlen,
                                 "the string of module %u at 0x%x does not end inside "
                                 "memory: " BROKEN,
                                 i, m->string);
        strlcpy(out->string, s, sizeof(out->string));
    }
    return 0;
}

static int read_modules(const struct phys_mem *mem, const struct multiboot_info *mbi,
                        struct lhv_boot_params *p, char *err, size_t errlen)
{
    struct multiboot_module m;
    u32 n = mbi->mods_count, i;
    const char *sub = bootinfo_subarch_name(p->subarch);

    p->module_count = 0;
    if (!(mbi->flags & MBI_MODS) || n == 0)
        return bootinfo_fail(err, errlen,
                             "no module: module 0 must be the hypervisor image; add "
                             "'module /boot/hypervisor-x86-%s.bin.gz' to the GRUB entry or "
                             "'-initrd hypervisor-x86-%s.bin' to QEMU",
                             sub, sub);
    if (n > LHV_MODULES_MAX)
        return bootinfo_fail(err, errlen,
                             "%u modules: LHV takes at most %u; drop the extra modules "
                             "from the boot entry",
                             n, LHV_MODULES_MAX);
    if (!in_mem(mem, mbi->mods_addr, (u64)n * sizeof(m)))
        return outside(err, errlen, "the module list", mbi->mods_addr, (u64)n * sizeof(m));
    for (i = 0; i < n; i++) {
        memcpy(&m, at(mem, mbi->mods_addr + (u64)i * sizeof(m)), sizeof(m));
        if (read_module(mem, i, &m, &p->modules[i], err, errlen))
            return -1;
    }
    p->module_count = n;
    return 0;
}

/* See bootinfo.h. */
int bootinfo_read_memory(const struct phys_mem *mem, u32 mbi_addr, struct lhv_boot_params *p,
                         char *err, size_t errlen)
{
    struct multiboot_info mbi;

    if (p->multiboot_version == 2)
        return mb2_read_memory(mem, mbi_addr, p, err, errlen);
    if (read_mbi(mem, mbi_addr, &mbi, err, errlen) ||
        read_memory_map(mem, &mbi, p, err, errlen) || read_modules(mem, &mbi, p, err, errlen))
        return -1;
    return 0;
}

/* The target span [base, base+span) and one thing that must stay out of it. */
static int clear_of(u64 base, u64 span, u64 start, u64 len, const char *what, char *err,
                    size_t errlen)
{
    if (!ranges_overlap(base, span, start, len))
        return 0;
    return bootinfo_fail(err, errlen,
                         "%s (0x%llx-0x%llx) lies in LHV's target span 0x%llx-0x%llx: "
                         "rebuild with another --sl-base",
                         what, start, start + len - 1, base, base + span - 1);
}

/* Modules 1 and up (module 0, the image, is copied away before LHV runs). */
static int modules_clear_of(const struct lhv_boot_params *p, u64 base, u64 span, char *err,
                            size_t errlen)
{
    char what[24];

    for (u32 i = 1; i < p->module_count; i++) {
        snprintf(what, sizeof(what), "module %u", i);
        if (clear_of(base, span, p->modules[i].start, p->modules[i].end - p->modules[i].start,
                     what, err, errlen))
            return -1;
    }
    return 0;
}

/* Bytes of the command line the loader gave, its NUL included (0: none). */
static int cmdline_size(const struct phys_mem *mem, const struct multiboot_info *mbi, u64 *size,
                        char *err, size_t errlen)
{
    u64 len;

    *size = 0;
    if (!(mbi->flags & MBI_CMDLINE))
        return 0;
    if (!mem_string(mem, mbi->cmdline, &len))
        return unterminated(err, errlen, "the command line", mbi->cmdline);
    *size = len + 1;
    return 0;
}

/* See bootinfo.h. */
int bootinfo_check_target(const struct phys_mem *mem, u32 mbi_addr,
                          const struct lhv_boot_params *p, u64 base, u64 span, u64 init_start,
                          u64 init_end, char *err, size_t errlen)
{
    struct multiboot_info mbi;
    u64 cmdline_len;
    u32 i;

    if (!mmap_range_usable(p->mmap, p->mmap_count, base, span))
        return bootinfo_fail(
            err, errlen,
            "not enough RAM: LHV needs usable RAM at 0x%llx-0x%llx (%llu KiB "
            "at its base, %llu MiB in all); give the machine more memory or rebuild "
            "with a lower --sl-base",
            base, base + span - 1, span >> 10, (base + span + MiB(1) - 1) >> 20);
    if (p->multiboot_version == 2)
        return mb2_check_target(p, base, span, init_start, init_end, err, errlen);
    if (read_mbi(mem, mbi_addr, &mbi, err, errlen) ||
        cmdline_size(mem, &mbi, &cmdline_len, err, errlen))
        return -1;
    const struct { u64 start, len; const char *what; } loader[] = {
        { init_start, init_end - init_start, "init" },
        { mbi_addr, sizeof(mbi), "the multiboot info" },
        { mbi.mmap_addr, (mbi.flags & MBI_MMAP) ? mbi.mmap_length : 0, "the memory map" },
        { mbi.cmdline, cmdline_len, "the command line" },
        { mbi.mods_addr, (u64)p->module_count * sizeof(struct multiboot_module),
          "the module list" },
    };
    for (i = 0; i < ARRAY_SIZE(loader); i++)
        if (clear_of(base, span, loader[i].start, loader[i].len, loader[i].what, err, errlen))
            return -1;
    return modules_clear_of(p, base, span, err, errlen);
}

/* ------------------------------------------------------------------------
 * Multiboot2 (GRUB's EFI build): the information is one block, total_size
 * bytes at an 8-byte aligned address: a header, then tags (type, size, data),
 * each starting 8-byte aligned, up to an end tag. Every tag is checked to
 * lie inside the block, and every string to end inside its tag. */

#define ALIGN8(x) (((x) + 7) & ~(u64)7)

/* Walks the tags of the block at addr (checked by mb2_block). */
struct mb2_iter {
    const struct phys_mem *mem;
    u64 pos; /* the next tag */
    u64 end; /* the first byte after the block */
};

/* Checks the block's header and starts a walk over its tags. */
static int mb2_block(const struct phys_mem *mem, u64 addr, struct mb2_iter *it, char *err,
                     size_t errlen)
{
    struct mb2_info_header h;

    if (addr & 7)
        return bootinfo_fail(err, errlen,
                             "the multiboot2 information at 0x%llx is not 8-byte aligned: " BROKEN,
                             addr);
    if (!in_mem(mem, addr, sizeof(h)))
        return outside(err, errlen, "the multiboot2 information", addr, sizeof(h));
    memcpy(&h, at(mem, addr), sizeof(h));
    if (h.total_size < sizeof(h) + sizeof(struct mb2_tag))
        return bootinfo_fail(err, errlen,
                             "the multiboot2 information at 0x%llx has total_size %u, "
                             "less than %u: " BROKEN,
                             addr, h.total_size, (u32)(sizeof(h) + sizeof(struct mb2_tag)));
    if (!in_mem(mem, addr, h.total_size))
        return outside(err, errlen, "the multiboot2 information", addr, h.total_size);
    *it = (struct mb2_iter){ .mem = mem, .pos = addr + sizeof(h), .end = addr + h.total_size };
    return 0;
}

/* The next tag: 1 with its address in *tag_addr and its header in *t, 0 at
 * the end tag, -1 when the tags do not stay inside the block. */
static int mb2_next(struct mb2_iter *it, u64 *tag_addr, struct mb2_tag *t, char *err,
                    size_t errlen)
{
    if (it->pos > it->end || it->end - it->pos < sizeof(*t))
        return bootinfo_fail(err, errlen,
                             "the multiboot2 information ends at 0x%llx without an end "
                             "tag: " BROKEN,
                             it->end);
    memcpy(t, at(it->mem, it->pos), sizeof(*t));
    if (t->size < sizeof(*t) || t->size > it->end - it->pos)
        return bootinfo_fail(err, errlen,
                             "multiboot2 tag %u at 0x%llx has size %u, outside its "
                             "information block (8..%llu bytes): " BROKEN,
                             t->type, it->pos, t->size, it->end - it->pos);
    if (t->type == MB2_TAG_END)
        return 0;
    *tag_addr = it->pos;
    it->pos += ALIGN8((u64)t->size);
    return 1;
}

/* The NUL-terminated string at offset off of the tag at tag_addr (size
 * bytes), or NULL when it does not end inside the tag. */
static const char *mb2_string(const struct phys_mem *mem, u64 tag_addr, u32 size, u32 off)
{
    const char *s;

    if (off >= size)
        return NULL;
    s = at(mem, tag_addr + off);
    for (u32 n = 0; n < size - off; n++)
        if (s[n] == '\0')
            return s;
    return NULL;
}

static int mb2_unterminated(char *err, size_t errlen, const char *what, u64 tag_addr)
{
    return bootinfo_fail(err, errlen,
                         "the %s in the multiboot2 tag at 0x%llx does not end inside the "
                         "tag: " BROKEN,
                         what, tag_addr);
}

/* The RSDP copy of tag 14 (ACPI 1.0: 20 bytes) or 15 (2.0+: 36 bytes). */
static int mb2_rsdp(u64 tag_addr, const struct mb2_tag *t, u64 *rsdp, char *err, size_t errlen)
{
    u32 need = t->type == MB2_TAG_ACPI_NEW ? 36 : 20;

    if (t->size < sizeof(*t) + need)
        return bootinfo_fail(err, errlen,
                             "multiboot2 ACPI tag %u at 0x%llx holds %u bytes, an RSDP "
                             "needs %u: " BROKEN,
                             t->type, tag_addr, t->size - (u32)sizeof(*t), need);
    *rsdp = tag_addr + sizeof(*t);
    return 0;
}

/* bootinfo_read_options for a multiboot2 loader. */
static int mb2_read_options(const struct phys_mem *mem, u32 addr, struct lhv_boot_params *p,
                            struct lhv_options *opts, char *err, size_t errlen)
{
    const char *loader = NULL, *cmdline = "";
    u64 tag_addr = 0, rsdp_old = 0, rsdp_new = 0;
    u32 biosdev = 0xffffffffu;
    struct mb2_iter it;
    struct mb2_tag t;
    int r;

    if (mb2_block(mem, addr, &it, err, errlen))
        return -1;
    while ((r = mb2_next(&it, &tag_addr, &t, err, errlen)) == 1) {
        if (t.type == MB2_TAG_LOADER_NAME || t.type == MB2_TAG_CMDLINE) {
            const char *s = mb2_string(mem, tag_addr, t.size, sizeof(t));
            if (!s)
                return mb2_unterminated(err, errlen, t.type == MB2_TAG_CMDLINE ?
                                        "command line" : "boot loader name", tag_addr);
            *(t.type == MB2_TAG_CMDLINE ? &cmdline : &loader) = s;
        } else if (t.type == MB2_TAG_BOOTDEV && t.size >= sizeof(struct mb2_tag_bootdev)) {
            biosdev = ((const struct mb2_tag_bootdev *)at(mem, tag_addr))->biosdev;
        } else if (t.type == MB2_TAG_ACPI_OLD || t.type == MB2_TAG_ACPI_NEW) {
            if (mb2_rsdp(tag_addr, &t, t.type == MB2_TAG_ACPI_NEW ? &rsdp_new : &rsdp_old,
                         err, errlen))
                return -1;
        }
    }
    if (r < 0)
        return -1;
    p->loader_name[0] = '\0';
    if (loader)
        strlcpy(p->loader_name, loader, sizeof(p->loader_name));
    if (store_cmdline(cmdline, loader, p, err, errlen))
        return -1;
    if (parse_options(p->cmdline, opts, err, errlen))
        return -1;
    p->multiboot_version = 2;
    p->multiboot_info = addr;
    p->multiboot_flags = (u32)(it.end - addr);
    p->acpi_rsdp = rsdp_new ? rsdp_new : rsdp_old;
    p->boot_drive = 0xffffffffu;
    if (opts->boot_drive != 0xffffffffu)
        p->boot_drive = opts->boot_drive;
    else if (biosdev != 0xffffffffu)
        p->boot_drive = biosdev & 0xff;
    return 0;
}

/* Multiboot2 memory types into LHV's (boot_params.h): 1, 3, 4 and 5 keep
 * their meaning, every other type is reserved. */
static u32 mb2_mem_type(u32 type)
{
    if (type == 1 || type == 3 || type == 4 || type == 5)
        return type;
    return LHV_MEM_RESERVED;
}

static int mb2_read_map(const struct phys_mem *mem, u64 tag_addr, const struct mb2_tag *t,
                        struct lhv_boot_params *p, char *err, size_t errlen)
{
    struct mb2_tag_mmap m;
    struct mb2_mmap_entry e;
    u64 pos;

    if (t->size < sizeof(m))
        return bootinfo_fail(err, errlen,
                             "the multiboot2 memory map tag at 0x%llx has size %u, less "
                             "than %u: " BROKEN,
                             tag_addr, t->size, (u32)sizeof(m));
    memcpy(&m, at(mem, tag_addr), sizeof(m));
    if (m.entry_size < sizeof(e) || (m.entry_size & 7))
        return bootinfo_fail(err, errlen,
                             "the multiboot2 memory map at 0x%llx has entry_size %u, not a "
                             "multiple of 8 of at least %u: " BROKEN,
                             tag_addr, m.entry_size, (u32)sizeof(e));
    for (pos = sizeof(m); pos + m.entry_size <= t->size; pos += m.entry_size) {
        memcpy(&e, at(mem, tag_addr + pos), sizeof(e));
        if (add_mmap_entry(p, e.base_addr, e.length, mb2_mem_type(e.type), err, errlen))
            return -1;
    }
    return 0;
}

static int mb2_read_module(const struct phys_mem *mem, u64 tag_addr, const struct mb2_tag *t,
                           struct lhv_boot_params *p, char *err, size_t errlen)
{
    struct mb2_tag_module m;
    struct lhv_module *out;
    const char *s;
    u32 i = p->module_count;

    if (t->size < sizeof(m))
        return bootinfo_fail(err, errlen,
                             "multiboot2 module tag at 0x%llx has size %u, less than %u: " BROKEN,
                             tag_addr, t->size, (u32)sizeof(m));
    if (i == LHV_MODULES_MAX)
        return bootinfo_fail(err, errlen,
                             "more than %u modules: drop the extra module2 lines from the "
                             "boot entry",
                             LHV_MODULES_MAX);
    memcpy(&m, at(mem, tag_addr), sizeof(m));
    s = mb2_string(mem, tag_addr, t->size, sizeof(m));
    if (!s)
        return bootinfo_fail(err, errlen,
                             "the string of module %u in the multiboot2 tag at 0x%llx does "
                             "not end inside the tag: " BROKEN,
                             i, tag_addr);
    if (m.mod_end < m.mod_start)
        return bootinfo_fail(err, errlen, "module %u ends (0x%x) before it starts (0x%x): " BROKEN,
                             i, m.mod_end, m.mod_start);
    if (!in_mem(mem, m.mod_start, m.mod_end - m.mod_start))
        return bootinfo_fail(err, errlen, "module %u (0x%x-0x%x) lies outside memory: " BROKEN, i,
                             m.mod_start, m.mod_end);
    out = &p->modules[i];
    out->start = m.mod_start;
    out->end = m.mod_end;
    strlcpy(out->string, s, sizeof(out->string));
    p->module_count = i + 1;
    return 0;
}

/* bootinfo_read_memory for a multiboot2 loader: the map from tag 6 (or from
 * tag 4's mem_lower and mem_upper), the modules from the tags 3 in order. */
static int mb2_read_memory(const struct phys_mem *mem, u32 addr, struct lhv_boot_params *p,
                           char *err, size_t errlen)
{
    const char *sub = bootinfo_subarch_name(p->subarch);
    u64 tag_addr = 0;
    u32 lower = 0, upper = 0;
    bool have_map = false, have_basic = false;
    struct mb2_iter it;
    struct mb2_tag t;
    int r;

    p->mmap_count = 0;
    p->module_count = 0;
    if (mb2_block(mem, addr, &it, err, errlen))
        return -1;
    while ((r = mb2_next(&it, &tag_addr, &t, err, errlen)) == 1) {
        if (t.type == MB2_TAG_MMAP && !have_map) {
            have_map = true;
            if (mb2_read_map(mem, tag_addr, &t, p, err, errlen))
                return -1;
        } else if (t.type == MB2_TAG_BASIC_MEMINFO && t.size >= sizeof(t) + 8) {
            have_basic = true;
            memcpy(&lower, at(mem, tag_addr + sizeof(t)), 4);
            memcpy(&upper, at(mem, tag_addr + sizeof(t) + 4), 4);
        } else if (t.type == MB2_TAG_MODULE) {
            if (mb2_read_module(mem, tag_addr, &t, p, err, errlen))
                return -1;
        }
    }
    if (r < 0)
        return -1;
    if (!have_map && have_basic) { /* room for two: cannot fail */
        add_mmap_entry(p, 0, KiB(lower), LHV_MEM_USABLE, err, errlen);
        add_mmap_entry(p, MiB(1), KiB(upper), LHV_MEM_USABLE, err, errlen);
    }
    if (p->mmap_count == 0)
        return bootinfo_fail(err, errlen,
                             "the boot loader gave no memory map: boot LHV with GRUB 2 or QEMU");
    if (p->module_count == 0)
        return bootinfo_fail(err, errlen,
                             "no module: module 0 must be the hypervisor image; add "
                             "'module2 /boot/hypervisor-x86-%s.bin.gz' to the GRUB entry",
                             sub);
    return 0;
}

/* bootinfo_check_target for a multiboot2 loader: the information block
 * holds the map, the strings and the module list. */
static int mb2_check_target(const struct lhv_boot_params *p, u64 base, u64 span,
                            u64 init_start, u64 init_end, char *err, size_t errlen)
{
    if (clear_of(base, span, init_start, init_end - init_start, "init", err, errlen) ||
        clear_of(base, span, p->multiboot_info, p->multiboot_flags,
                 "the multiboot2 information", err, errlen))
        return -1;
    return modules_clear_of(p, base, span, err, errlen);
}
