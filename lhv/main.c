/* lhv_main: the hypervisor proper. Brings the platform up on the bootstrap
 * processor (DESIGN §3 order), runs the test suite and the app's init hook,
 * prints the SUMMARY and carries out the end action. */
#include "console.h"
#include "cpu.h"
#include "end.h"
#include "hypapp.h"
#include "paging.h"
#include "runtime.h"
#include "suite/suite.h"
#include "verdict.h"

static void platform_init_bsp(void)
{
    struct lhv_cpu *bsp = &cpus[0];

    bsp->index = 0;
    bsp->apic_id = percpu[0].apic_id;
    idt_init();
    desc_init_cpu(bsp);
    bsp->online = true;
    paging_unmap_null_page();
}

void lhv_main(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    platform_init_bsp();
    if (hypapp.init)
        hypapp.init(p);
    suite_run();
    bool ok = verdict_summary();
    end_run(opts->end, !ok);
}
