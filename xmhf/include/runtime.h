/* The runtime's interface to the app it hands off to. */
#ifndef XMHF_RUNTIME_H
#define XMHF_RUNTIME_H

#include "boot_params.h"
#include "options.h"

/* Boot self-checks: verdicts on the state the earlier stages left.
 * Returns how many ran (lhv.tests= may select none). */
u32 runtime_self_checks(const struct lhv_boot_params *p);

/* How many boot self-checks ran (for lhv's "lhv.tests= names no test"). */
extern u32 runtime_checks_run;

/* Defined by lhv: the one call from the runtime into the hypervisor. */
__attribute__((noreturn)) void lhv_main(const struct lhv_boot_params *p,
                                        const struct lhv_options *opts);

/* Layout symbols from runtime.ld */
extern char __image_base[], __runtime_start[], __bss_start[], __bss_end[];
extern char runtime_entry[];

#endif
