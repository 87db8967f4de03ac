/* init: stage 1 of the boot chain (docs/design.md §2). Loaded by a multiboot v1 or
 * multiboot2 loader, it reads the command line, memory map and modules (the logic is in
 * xmhf/lib/bootinfo.c), checks module 0 (the SL + runtime image) and the
 * memory it will occupy, copies it to its link base, zeroes its bss and SL
 * area, fills the boot parameters and jumps to the SL. Every problem ends in
 * one FATAL line naming what to do. */
#include "acpi.h"
#include "bootinfo.h"
#include "console.h"
#include "end.h"
#include "image.h"
#include "init.h"
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

/* The image's CRC-32 is most of init's work (3.7 instructions a byte from
 * tables; ~0.45 with PCLMULQDQ, crc32.c): where the CPU has it, SSE is on
 * for the check (CR4.OSFXSR; CR0.EM and TS clear, else SSE faults), then
 * CR0 and CR4 are as they were. */
static int image_check_fast(const struct lhv_module *m0, char *msg, size_t msglen)
{
    struct cpuid_regs r = cpuid(1, 0);
    u32 sse = CPUID1_EDX_FXSR | CPUID1_EDX_SSE | CPUID1_EDX_SSE2;
    bool clmul = (r.ecx & CPUID1_ECX_PCLMULQDQ) && (r.edx & sse) == sse;
    unsigned long cr0 = read_cr0(), cr4 = read_cr4();

    if (clmul) {
        write_cr4(cr4 | CR4_OSFXSR);
        write_cr0(cr0 & ~(unsigned long)(CR0_EM | CR0_TS));
        crc32_set_clmul(true);
    }
    int err = image_check((const void *)(uintptr_t)m0->start, m0->end - m0->start, LHV_SUBARCH,
                          msg, msglen);
    if (clmul) {
        crc32_set_clmul(false);
        write_cr0(cr0);
        write_cr4(cr4);
    }
    return err;
}

/* Module 0 must be an image of this subarch, whole and uncorrupted. */
static struct lhv_image_header check_image(void)
{
    const struct lhv_module *m0 = &params.modules[0];
    char msg[200];
    int err = image_check_fast(m0, msg, sizeof(msg));

    if (err == LHV_IMAGE_E_GZIP)
        fatal("module 0 %s", msg);
    if (err == LHV_IMAGE_E_TRUNCATED)
        fatal("module 0 %s; rebuild or re-copy hypervisor-x86-" SUBARCH_NAME ".bin", msg);
    if (err != LHV_IMAGE_OK)
        fatal("module 0: %s; use hypervisor-x86-" SUBARCH_NAME ".bin from the build of this "
              "init (rebuild or re-copy it)", msg);
    return *(const struct lhv_image_header *)(uintptr_t)m0->start;
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

    struct lhv_image_header h = check_image();
    u64 base = h.link_base, span = image_span(&h);
    if (bootinfo_check_target(&phys, mbi, &params, base, span, (uintptr_t)__init_start,
                              (uintptr_t)__init_end, err, sizeof(err)))
        fatal("%s", err);

    memmove((void *)(uintptr_t)base, (const void *)(uintptr_t)params.modules[0].start,
            h.file_size);
    memset((void *)(uintptr_t)(base + h.file_size), 0, span - h.file_size);
    fill_params(&h);
    memcpy((void *)(uintptr_t)params.sl_area, &params, sizeof(params));
    printf("init: image ok (%u bytes, crc32 0x%08x), at 0x%llx, span %llu KiB\n", h.file_size,
           h.crc32, base, span >> 10);
    init_jump_to_sl((u32)(base + h.sl_entry), (u32)params.sl_area);
}
