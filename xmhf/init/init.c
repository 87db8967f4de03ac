/* init: stage 1 of the boot chain (docs/design.md §2). Loaded by a multiboot v1 or
 * multiboot2 loader, it reads the command line, memory map and modules (the logic is in
 * xmhf/lib/bootinfo.c), checks module 0 (the SL + runtime image) and the
 * memory it will occupy, copies the SL to its link base and unpacks the
 * runtime after it, zeroes the rest of the span (bss, SL area), fills the
 * boot parameters and jumps to the SL. Every problem ends in
 * one FATAL line naming what to do. */
#include "acpi.h"
#include "bootinfo.h"
#include "console.h"
#include "end.h"
#include "image.h"
#include "init.h"
#include "lz.h"
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
/* Physical memory as init sees it: identity-addressed, the 32-bit space. */
static const struct phys_mem phys = { .base = NULL, .size = GiB(4) };

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

/* Checking and unpacking the image are most of init's work. Where the CPU
 * has SSE2 they use it (the CRC-32 PCLMULQDQ too, where it has that: 3.7
 * instructions a byte from tables, ~0.45 with it; crc32.c): SSE is on
 * (CR4.OSFXSR; CR0.EM and TS clear, else SSE faults) from fast_begin to
 * fast_end, and CR0 and CR4 are then as they were. */
static struct {
    bool on;
    unsigned long cr0, cr4;
} fast;

static void fast_begin(void)
{
    struct cpuid_regs r = cpuid(1, 0);
    u32 sse = CPUID1_EDX_FXSR | CPUID1_EDX_SSE | CPUID1_EDX_SSE2;

    fast.on = (r.edx & sse) == sse;
    if (!fast.on)
        return;
    fast.cr0 = read_cr0();
    fast.cr4 = read_cr4();
    write_cr4(fast.cr4 | CR4_OSFXSR);
    write_cr0(fast.cr0 & ~(unsigned long)(CR0_EM | CR0_TS));
    crc32_set_clmul(r.ecx & CPUID1_ECX_PCLMULQDQ);
    lz_set_sse(true);
}

static void fast_end(void)
{
    if (!fast.on)
        return;
    crc32_set_clmul(false);
    lz_set_sse(false);
    write_cr0(fast.cr0);
    write_cr4(fast.cr4);
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

/* Lays the image out at its link base (image.h): the header and SL as they
 * are, the runtime unpacked from the module, zeros everywhere else. The
 * span overlaps neither the module nor init (bootinfo_check_target). */
static void place_image(const struct lhv_image_header *h, const u8 *module)
{
    u8 *base = (u8 *)(uintptr_t)h->link_base;
    u32 sl_end = h->sl_offset + h->sl_size, rt_end = h->runtime_offset + h->runtime_size;
    size_t at;

    memcpy(base, module, sl_end);
    memset(base + sl_end, 0, h->runtime_offset - sl_end);
    int err = lz_unpack(base + h->runtime_offset, h->runtime_size, module + h->packed_offset,
                        h->packed_size, &at);
    if (err)
        fatal("module 0: packed runtime: %s (the sequence at byte %zu of %u); use "
              "hypervisor-x86-" SUBARCH_NAME ".bin from the build of this init (rebuild it)",
              lz_error_name(err), at, h->packed_size);
    u32 crc = crc32_update(0, base + h->runtime_offset, h->runtime_size);
    if (crc != h->runtime_crc32)
        fatal("module 0: packed runtime: unpacked to crc32 0x%08x, the image says 0x%08x; "
              "init's unpacking is wrong or the RAM at 0x%llx is: try another base "
              "(build.sh --sl-base)",
              crc, h->runtime_crc32, h->link_base + h->runtime_offset);
    memset(base + rt_end, 0, image_span(h) - rt_end);
}

static void fill_params(const struct lhv_image_header *h)
{
    params.magic = LHV_PARAMS_MAGIC;
    params.version = LHV_PARAMS_VERSION;
    params.size = sizeof(params);
    params.image_base = h->link_base;
    params.image_span = image_span(h);
    params.sl_area = h->link_base + h->sl_area_offset;
    params.sl_area_size = h->sl_area_size;
    /* no VGA text mode under UEFI (multiboot2): serial only unless asked */
    u32 console = opts.console ? opts.console
                  : params.multiboot_version == 2 ? LHV_CONSOLE_SERIAL
                                                  : LHV_CONSOLE_SERIAL | LHV_CONSOLE_VGA;
    params.flags = (opts.e9 ? LHV_PARAMS_FLAG_E9 : 0) | ((u32)opts.end << LHV_PARAMS_END_SHIFT) |
                   (console << LHV_PARAMS_CONSOLE_SHIFT);
    if (!params.acpi_rsdp) /* multiboot2 gives it in a tag; v1: search the BIOS areas */
        params.acpi_rsdp = acpi_find_rsdp(&phys);
    params.serial = opts.serial;
}

/* Called from entry.S with the loader's EAX and EBX; bootinfo dispatches on
 * the magic (multiboot v1 or v2). */
void init_main(u32 magic, u32 mbi)
{
    char err[256];

    params.init_tsc = rdtsc();
    params.subarch = LHV_SUBARCH; /* bootinfo's messages name this subarch's files */
    console_init_default();
    if (bootinfo_read_options(&phys, magic, mbi, &params, &opts, err, sizeof(err)))
        fatal("%s", err);
    console_init(&opts.serial, opts.e9);
    end_set_action(opts.end);
    printf("init: LHV init (" SUBARCH_NAME "), loaded by %s\n",
           params.loader_name[0] ? params.loader_name : "an unnamed loader");
    check_cpu();
    if (bootinfo_read_memory(&phys, mbi, &params, err, sizeof(err)))
        fatal("%s", err);

    fast_begin();
    struct lhv_image_header h = check_image();
    u64 base = h.link_base, span = image_span(&h);
    if (bootinfo_check_target(&phys, mbi, &params, base, span, (uintptr_t)__init_start,
                              (uintptr_t)__init_end, err, sizeof(err)))
        fatal("%s", err);

    place_image(&h, (const u8 *)(uintptr_t)params.modules[0].start);
    fast_end();
    fill_params(&h);
    memcpy((void *)(uintptr_t)params.sl_area, &params, sizeof(params));
    printf("init: image ok (%u bytes, crc32 0x%08x; runtime %u bytes from %u), at 0x%llx, "
           "span %llu KiB\n",
           h.file_size, h.crc32, h.runtime_size, h.packed_size, base, span >> 10);
    init_jump_to_sl((u32)(base + h.sl_entry), (u32)params.sl_area);
}
