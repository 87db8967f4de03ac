/* init: stage 1 of the boot chain (DESIGN §2). Loaded by a multiboot v1
 * loader, it reads the command line, memory map and modules, checks module 0
 * (the SL + runtime image) and the memory it will occupy, copies it to its
 * link base, zeroes its bss and SL area, fills the boot parameters and jumps
 * to the SL. Every problem ends in one FATAL line naming what to do. */
#include "console.h"
#include "end.h"
#include "image.h"
#include "init.h"
#include "mmap.h"
#include "options.h"
#include "string.h"
#include "x86.h"

#if LHV_SUBARCH == LHV_SUBARCH_AMD64
#define SUBARCH_NAME "amd64"
#else
#define SUBARCH_NAME "i386"
#endif

static struct lhv_boot_params params; /* copied into the SL area at the end */
static struct lhv_options opts;

static const char *mb_string(u32 addr) { return (const char *)(uintptr_t)addr; }

static void read_command_line(const struct multiboot_info *mbi)
{
    const char *raw = (mbi->flags & MBI_CMDLINE) ? mb_string(mbi->cmdline) : "";
    const char *loader = NULL;
    char err[200];

    if (mbi->flags & MBI_LOADER_NAME) {
        loader = mb_string(mbi->boot_loader_name);
        strlcpy(params.loader_name, loader, sizeof(params.loader_name));
    }
    const char *cmdline = cmdline_skip_loader_path(raw, loader);
    size_t len = strnlen(cmdline, LHV_CMDLINE_MAX + 1);
    if (len > LHV_CMDLINE_MAX)
        fatal("command line is longer than %u bytes: shorten it (docs/options.md)",
              LHV_CMDLINE_MAX);
    memcpy(params.cmdline, cmdline, len);
    options_default(&opts);
    if (options_parse(params.cmdline, &opts, err, sizeof(err)) != 0)
        fatal("%s; fix the command line (docs/options.md lists every option)", err);
}

static void check_cpu(void)
{
    u32 edx = cpuid(1, 0).edx;

    if (!(edx & CPUID1_EDX_PAE))
        fatal("CPU lacks PAE (CPUID.01H:EDX bit 6): LHV's page tables need it; "
              "use a CPU (or emulator model) with PAE");
    if (!(edx & CPUID1_EDX_MSR))
        fatal("CPU lacks RDMSR/WRMSR (CPUID.01H:EDX bit 5): use a newer CPU model");
#if LHV_SUBARCH == LHV_SUBARCH_AMD64
    if (cpuid(0x80000000, 0).eax < 0x80000001 ||
        !(cpuid(0x80000001, 0).edx & CPUID80000001_EDX_LM))
        fatal("CPU has no long mode (CPUID.80000001H:EDX bit 29): "
              "boot init-x86-i386.bin with hypervisor-x86-i386.bin instead");
#endif
}

static void add_mmap_entry(u64 base, u64 length, u32 type)
{
    if (params.mmap_count == LHV_MMAP_MAX)
        fatal("memory map has more than %u entries: LHV cannot hold it", LHV_MMAP_MAX);
    struct lhv_mmap_entry *e = &params.mmap[params.mmap_count++];
    e->base = base;
    e->length = length;
    e->type = type;
}

/* The loader's memory map, in its order; a map made of mem_lower/mem_upper
 * when the loader gives no full map. */
static void read_memory_map(const struct multiboot_info *mbi)
{
    if (mbi->flags & MBI_MMAP) {
        uintptr_t p = mbi->mmap_addr, end = p + mbi->mmap_length;
        while (p + sizeof(struct multiboot_mmap_entry) <= end) {
            const struct multiboot_mmap_entry *e = (const void *)p;
            add_mmap_entry(e->addr, e->len, e->type);
            p += e->size + sizeof(e->size);
        }
    } else if (mbi->flags & MBI_MEMORY) {
        add_mmap_entry(0, KiB(mbi->mem_lower), LHV_MEM_USABLE);
        add_mmap_entry(MiB(1), KiB(mbi->mem_upper), LHV_MEM_USABLE);
    }
    if (params.mmap_count == 0)
        fatal("the boot loader gave no memory map: boot LHV with GRUB 2 or QEMU");
}

static void read_modules(const struct multiboot_info *mbi)
{
    if (!(mbi->flags & MBI_MODS) || mbi->mods_count == 0)
        fatal("no module: module 0 must be the hypervisor image; add "
              "'module /boot/hypervisor-x86-" SUBARCH_NAME ".bin.gz' to the GRUB entry "
              "or '-initrd hypervisor-x86-" SUBARCH_NAME ".bin' to QEMU");
    if (mbi->mods_count > LHV_MODULES_MAX)
        fatal("%u modules: LHV takes at most %u", mbi->mods_count, LHV_MODULES_MAX);
    const struct multiboot_module *m = (const void *)(uintptr_t)mbi->mods_addr;
    for (u32 i = 0; i < mbi->mods_count; i++) {
        if (m[i].mod_end < m[i].mod_start)
            fatal("module %u ends (0x%x) before it starts (0x%x): the boot loader is broken",
                  i, m[i].mod_end, m[i].mod_start);
        params.modules[i].start = m[i].mod_start;
        params.modules[i].end = m[i].mod_end;
        if (m[i].string)
            strlcpy(params.modules[i].string, mb_string(m[i].string), LHV_MODSTR_MAX);
    }
    params.module_count = mbi->mods_count;
}

/* Module 0 must be an image of this subarch, whole and uncorrupted. */
static struct lhv_image_header check_image(void)
{
    const struct lhv_module *m0 = &params.modules[0];
    char msg[200];
    int err = image_check((const void *)(uintptr_t)m0->start, m0->end - m0->start, LHV_SUBARCH,
                          msg, sizeof(msg));

    if (err == LHV_IMAGE_E_GZIP)
        fatal("module 0 %s", msg);
    if (err == LHV_IMAGE_E_TRUNCATED)
        fatal("module 0 %s; rebuild or re-copy hypervisor-x86-" SUBARCH_NAME ".bin", msg);
    if (err != LHV_IMAGE_OK)
        fatal("module 0: %s; use hypervisor-x86-" SUBARCH_NAME ".bin from the build of this "
              "init (rebuild or re-copy it)", msg);
    return *(const struct lhv_image_header *)(uintptr_t)m0->start;
}

static void check_clear_of(u64 base, u64 span, u64 start, u64 len, const char *what)
{
    if (ranges_overlap(base, span, start, len))
        fatal("%s (0x%llx-0x%llx) lies in LHV's target span 0x%llx-0x%llx: "
              "rebuild with another --sl-base", what, start, start + len - 1, base,
              base + span - 1);
}

static u64 string_size(u32 addr) { return strlen(mb_string(addr)) + 1; }

/* The target span must be usable RAM and must not hold anything the loader
 * gave us (module 0 itself may: it is moved with memmove). */
static void check_target(const struct multiboot_info *mbi, u64 base, u64 span)
{
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(params.mmap, params.mmap_count, map, LHV_MMAP_MAX);

    if (n < 0 || !mmap_range_usable(map, (u32)n, base, span))
        fatal("not enough RAM: LHV needs usable RAM at 0x%llx-0x%llx (%llu KiB at its base, "
              "%llu MiB in all); give the machine more memory or rebuild with a lower --sl-base",
              base, base + span - 1, span >> 10, (base + span + MiB(1) - 1) >> 20);
    check_clear_of(base, span, (uintptr_t)__init_start, __init_end - __init_start, "init");
    check_clear_of(base, span, (uintptr_t)mbi, sizeof(*mbi), "the multiboot info");
    if (mbi->flags & MBI_MMAP)
        check_clear_of(base, span, mbi->mmap_addr, mbi->mmap_length, "the memory map");
    if (mbi->flags & MBI_CMDLINE)
        check_clear_of(base, span, mbi->cmdline, string_size(mbi->cmdline), "the command line");
    const struct multiboot_module *m = (const void *)(uintptr_t)mbi->mods_addr;
    check_clear_of(base, span, mbi->mods_addr, mbi->mods_count * sizeof(*m), "the module list");
    for (u32 i = 1; i < params.module_count; i++)
        check_clear_of(base, span, params.modules[i].start,
                       params.modules[i].end - params.modules[i].start, "a module");
}

static u32 boot_drive(const struct multiboot_info *mbi)
{
    if (opts.boot_drive != 0xffffffffu)
        return opts.boot_drive;
    if (mbi->flags & MBI_BOOTDEV)
        return mbi->boot_device >> 24;
    return 0xffffffffu;
}

static void fill_params(const struct multiboot_info *mbi, const struct lhv_image_header *h)
{
    params.magic = LHV_PARAMS_MAGIC;
    params.version = LHV_PARAMS_VERSION;
    params.size = sizeof(params);
    params.subarch = LHV_SUBARCH;
    params.image_base = h->link_base;
    params.image_span = image_span(h);
    params.sl_area = h->link_base + h->sl_area_offset;
    params.sl_area_size = h->sl_area_size;
    params.multiboot_info = (uintptr_t)mbi;
    params.multiboot_flags = mbi->flags;
    params.boot_drive = boot_drive(mbi);
    params.flags = (opts.e9 ? LHV_PARAMS_FLAG_E9 : 0) | ((u32)opts.end << LHV_PARAMS_END_SHIFT);
    params.acpi_rsdp = rsdp_find();
    params.serial = opts.serial;
}

void init_main(u32 magic, const struct multiboot_info *mbi)
{
    params.init_tsc = rdtsc();
    console_init_default();
    if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
        fatal("not started by a multiboot v1 loader (EAX=0x%x): boot init-x86-" SUBARCH_NAME
              ".bin with GRUB's 'multiboot' command or QEMU -kernel", magic);
    read_command_line(mbi);
    console_init(&opts.serial, opts.e9);
    end_set_action(opts.end);
    printf("init: LHV init (" SUBARCH_NAME "), loaded by %s\n",
           params.loader_name[0] ? params.loader_name : "an unnamed loader");
    check_cpu();
    read_memory_map(mbi);
    read_modules(mbi);

    struct lhv_image_header h = check_image();
    u64 base = h.link_base, span = image_span(&h);
    check_target(mbi, base, span);

    memmove((void *)(uintptr_t)base, (const void *)(uintptr_t)params.modules[0].start,
            h.file_size);
    memset((void *)(uintptr_t)(base + h.file_size), 0, span - h.file_size);
    fill_params(mbi, &h);
    memcpy((void *)(uintptr_t)params.sl_area, &params, sizeof(params));
    printf("init: image ok (%u bytes, crc32 0x%08x), at 0x%llx, span %llu KiB\n", h.file_size,
           h.crc32, base, span >> 10);
    init_jump_to_sl((u32)(base + h.sl_entry), (u32)params.sl_area);
}
