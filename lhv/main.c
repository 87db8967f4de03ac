/* lhv_main: the hypervisor proper. Brings the platform up, runs the app's
 * init hook and the test suite, prints the SUMMARY and carries out the end
 * action. */
#include "console.h"
#include "end.h"
#include "hypapp.h"
#include "platform.h"
#include "runtime.h"
#include "suite/suite.h"
#include "verdict.h"
#include "vmx/vmx.h"

void lhv_main(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    platform_init_bsp(p, opts);
    vmx_caps_init();
    const char *why = vmx_enable_cpu();
    printf("vmx: %s%s\n", why ? "not used: " : "CPU 0 in VMX operation", why ? why : "");
    if (hypapp.init)
        hypapp.init(p);
    suite_run();
    bool ok = verdict_summary();
    end_run(opts->end, !ok);
}
