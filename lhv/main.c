/* lhv_main: the hypervisor proper. Brings the platform up, runs the app's
 * init hook and the test suite, prints the platform report (lhv/report.c)
 * and the SUMMARY and carries out the end action. */
#include "console.h"
#include "end.h"
#include "hypapp.h"
#include "inject.h"
#include "lapic.h"
#include "l0/l0.h"
#include "platform.h"
#include "report.h"
#include "runtime.h"
#include "smp.h"
#include "cpu.h"
#include "suite/suite.h"
#include "verdict.h"
#include "vmx/vmx.h"

static void app_cpu_init(void *arg)
{
    (void)arg;
    hypapp.cpu_init(this_cpu()->index);
}

/* VMX operation on every CPU (a CPU that cannot enter it says why; its
 * VMX tests then SKIP or FAIL with that reason). */
static void vmx_start_cpu(void *arg)
{
    u32 *on = arg;
    const char *why = vmx_enable_cpu();
    if (why)
        printf("vmx: CPU %u: %s\n", this_cpu()->index, why);
    else
        __atomic_add_fetch(on, 1, __ATOMIC_SEQ_CST);
}

static void vmx_start_all_cpus(void)
{
    u32 on = 0;
    vmx_caps_init();
    if (!vmx_caps.present) {
        printf("vmx: not used: %s\n", vmx_caps.absent);
        return;
    }
    on_all_cpus(vmx_start_cpu, &on);
    printf("vmx: %u of %u CPUs in VMX operation\n", on, smp_online_count());
}

void lhv_main(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    if (opts->l0) { /* LHV as L0 (docs/l0.md): the module list first, then the platform */
        l0_check(p);
        lapic_use_xapic(); /* its guest gets the APICs in xAPIC mode (lapic.h) */
    }
    if (!opts->l0 && opts->tests[0] && runtime_checks_run + suite_selected_count() == 0)
        fatal("lhv.tests=%s names no test: docs/tests.md lists them (globs: * and ?)",
              opts->tests);
    platform_init_bsp(p, opts);
    vmx_start_all_cpus();
    if (opts->l0)
        l0_run(p, opts);
    inject_fault(opts);
    vmx_inject_fault(opts);
    if (hypapp.init)
        hypapp.init(p);
    if (hypapp.cpu_init)
        on_all_cpus(app_cpu_init, NULL);
    suite_set_soak(opts->soak);
    suite_set_fuzz(opts->fuzz, opts->fuzz_seed, opts->fuzz_replay);
    suite_set_fuzz_break(opts->fuzz_break);
    for (u32 i = 1; i <= opts->iterations; i++) {
        if (opts->iterations > 1)
            printf("suite: iteration %u of %u\n", i, opts->iterations);
        suite_run();
    }
    report_platform(opts->table);
    bool ok = verdict_summary();
    end_run(opts->end, !ok);
}
