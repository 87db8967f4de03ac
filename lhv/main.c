/* lhv_main: the hypervisor proper. The platform (descriptor tables, PIC,
 * timers, SMP) and VMX come in later; today it runs the app's init hook,
 * prints the SUMMARY and carries out the end action. */
#include "console.h"
#include "end.h"
#include "hypapp.h"
#include "runtime.h"
#include "verdict.h"

void lhv_main(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    if (hypapp.init)
        hypapp.init(p);
    bool ok = verdict_summary();
    end_run(opts->end, !ok);
}
