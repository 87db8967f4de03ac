/* lhv_main: the hypervisor proper. Brings the platform up, runs the app's
 * init hook and the test suite, prints the SUMMARY and carries out the end
 * action. */
#include "end.h"
#include "hypapp.h"
#include "platform.h"
#include "runtime.h"
#include "suite/suite.h"
#include "verdict.h"

void lhv_main(const struct lhv_boot_params *p, const struct lhv_options *opts)
{
    platform_init_bsp(p, opts);
    if (hypapp.init)
        hypapp.init(p);
    suite_run();
    bool ok = verdict_summary();
    end_run(opts->end, !ok);
}
