/* The multiboot info and the target span: see bootinfo.h. */
#include "bootinfo.h"
#include "image.h"
#include "mmap.h"
#include "multiboot.h"
#include "string.h"

#define BROKEN "the boot loader is broken; boot LHV with GRUB 2 or QEMU"
#define FIX_OPTIONS "; fix the command line (docs/options.md lists every option)"

/* Writes the message and returns -1. */
__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *subarch_name(u32 subarch)
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
    return fail(err, errlen, "%s (0x%llx, %llu bytes) lies outside memory: " BROKEN, what, addr,
                len);
}

static int unterminated(char *err, size_t errlen, const char *what, u64 addr)
{
    return fail(err, errlen, "%s at 0x%llx does not end inside memory: " BROKEN, what, addr);
}

static int read_mbi(const struct phys_mem *mem, u32 addr, struct multiboot_info *mbi, char *err,
                    size_t errlen)
{
    if (!in_mem(mem, addr, sizeof(*mbi)))
        return outside(err, errlen, "the multiboot info", addr, sizeof(*mbi));
    memcpy(mbi, at(mem, addr), sizeof(*mbi));
    return 0;
}

/* The command line without QEMU's kernel path, into p->cmdline. */
static int read_cmdline(const struct phys_mem *mem, const struct multiboot_info *mbi,
                        const char *loader, struct lhv_boot_params *p, char *err, size_t errlen)
{
    const char *cmdline = "";
    size_t len;

    if (mbi->flags & MBI_CMDLINE) {
        cmdline = mem_string(mem, mbi->cmdline, NULL);
        if (!cmdline)
            return unterminated(err, errlen, "the command line", mbi->cmdline);
    }
    cmdline = cmdline_skip_loader_path(cmdline, loader);
    len = strnlen(cmdline, LHV_CMDLINE_MAX + 1);
    if (len > LHV_CMDLINE_MAX)
        return fail(err, errlen,
                    "command line is longer than %u bytes: shorten it (docs/options.md)",
                    LHV_CMDLINE_MAX);
    memcpy(p->cmdline, cmdline, len);
    p->cmdline[len] = '\0';
    return 0;
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

    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        return fail(err, errlen,
                    "not started by a multiboot v1 loader (EAX=0x%x): boot init-x86-%s.bin "
                    "with GRUB's 'multiboot' command or QEMU -kernel",
                    magic, subarch_name(p->subarch));
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
        return fail(err, errlen,
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
            return fail(err, errlen, "memory map entry at 0x%llx has size %u, less than %u: "
                        BROKEN, addr, e.size, (u32)(sizeof(e) - sizeof(e.size)));
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
        return fail(err, errlen,
                    "the boot loader gave no memory map: boot LHV with GRUB 2 or QEMU");
    return 0;
}

static int read_module(const struct phys_mem *mem, u32 i, const struct multiboot_module *m,
                       struct lhv_module *out, char *err, size_t errlen)
{
    const char *s;

    if (m->mod_end < m->mod_start)
        return fail(err, errlen, "module %u ends (0x%x) before it starts (0x%x): " BROKEN, i,
                    m->mod_end, m->mod_start);
    if (!in_mem(mem, m->mod_start, m->mod_end - m->mod_start))
        return fail(err, errlen, "module %u (0x%x-0x%x) lies outside memory: " BROKEN, i,
                    m->mod_start, m->mod_end);
    out->start = m->mod_start;
    out->end = m->mod_end;
    out->string[0] = '\0';
    if (m->string) {
        s = mem_string(mem, m->string, NULL);
        if (!s)
            return fail(err, errlen, "the string of module %u at 0x%x does not end inside "
                        "memory: " BROKEN, i, m->string);
        strlcpy(out->string, s, sizeof(out->string));
    }
    return 0;
}

static int read_modules(const struct phys_mem *mem, const struct multiboot_info *mbi,
                        struct lhv_boot_params *p, char *err, size_t errlen)
{
    struct multiboot_module m;
    u32 n = mbi->mods_count, i;
    const char *sub = subarch_name(p->subarch);

    p->module_count = 0;
    if (!(mbi->flags & MBI_MODS) || n == 0)
        return fail(err, errlen, "no module: module 0 must be the hypervisor image; add "
                    "'module /boot/hypervisor-x86-%s.bin.gz' to the GRUB entry or "
                    "'-initrd hypervisor-x86-%s.bin' to QEMU", sub, sub);
    if (n > LHV_MODULES_MAX)
        return fail(err, errlen, "%u modules: LHV takes at most %u; drop the extra modules "
                    "from the boot entry", n, LHV_MODULES_MAX);
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
    return fail(err, errlen, "%s (0x%llx-0x%llx) lies in LHV's target span 0x%llx-0x%llx: "
                "rebuild with another --sl-base", what, start, start + len - 1, base,
                base + span - 1);
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
    char what[24];
    u32 i;

    if (!mmap_range_usable(p->mmap, p->mmap_count, base, span))
        return fail(err, errlen, "not enough RAM: LHV needs usable RAM at 0x%llx-0x%llx (%llu KiB "
                    "at its base, %llu MiB in all); give the machine more memory or rebuild "
                    "with a lower --sl-base", base, base + span - 1, span >> 10,
                    (base + span + MiB(1) - 1) >> 20);
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
    for (i = 1; i < p->module_count; i++) {
        snprintf(what, sizeof(what), "module %u", i);
        if (clear_of(base, span, p->modules[i].start, p->modules[i].end - p->modules[i].start,
                     what, err, errlen))
            return -1;
    }
    return 0;
}
