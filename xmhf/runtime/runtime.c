/* Runtime: stage 3 (docs/design.md §2). Console from the boot parameters, banner,
 * memory map, self-checks of the boot, then lhv_main. */
#include "console.h"
#include "emulator.h"
#include "end.h"
#include "hypapp.h"
#include "mmap.h"
#include "runtime.h"
#include "string.h"
#include "verdict.h"
#include "buildinfo.h"

static struct lhv_options options;
u32 runtime_checks_run;

static void print_banner(const struct lhv_boot_params *p)
{
    printf("LHV %s, %s, %s build, app %s, base 0x%llx\n", LHV_VERSION, LHV_SUBARCH_NAME,
           LHV_DEBUG ? "debug" : "release", hypapp.name, p->image_base);
    printf("build: %s\n", LHV_BUILD_CONFIG);
    printf("loader: %s; emulator: %s\n", p->loader_name[0] ? p->loader_name : "unnamed",
           emulator_name(emulator_detect()));
    printf("cmdline: ");
    console_write(p->cmdline, strlen(p->cmdline));
    printf("\n");
}

static void print_memory_map(const struct lhv_boot_params *p)
{
    u64 usable = 0;
    for (u32 i = 0; i < p->mmap_count; i++) {
        const struct lhv_mmap_entry *e = &p->mmap[i];
        printf("mem: 0x%016llx-0x%016llx %s\n", e->base, e->base + e->length - 1,
               mmap_type_name(e->type));
        if (e->type == LHV_MEM_USABLE)
            usable += e->length;
    }
    printf("mem: %llu MiB usable; LHV at 0x%llx-0x%llx\n", usable >> 20, p->image_base,
           p->image_base + p->image_span - 1);
}

STACK_ARGS void runtime_main(const struct lhv_boot_params *p); /* entry-SUBARCH.S */
STACK_ARGS void runtime_main(const struct lhv_boot_params *p)
{
    char err[200];

    console_init(&p->serial, p->flags & LHV_PARAMS_FLAG_E9);
    options_default(&options);
    if (options_parse(p->cmdline, &options, err, sizeof(err)) != 0)
        fatal("runtime: %s: init accepted a command line the runtime refuses; "
              "use init and image from the same build", err);
    end_set_action(options.end);
    /* LHV as L0 shares the console with its guest: its lines say "L0: " */
    if (options.l0)
        console_set_prefix("L0: ");
    emulator_set_bochs_version(options.bochs);
    verdict_select(options.tests);
    print_banner(p);
    print_memory_map(p);
    runtime_checks_run = runtime_self_checks(p);
    lhv_main(p, &options);
}
