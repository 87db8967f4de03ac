/* helloworld: the smallest hypapp. It says hello once the platform is up
 * and answers one hypercall: HELLO_HYPERCALL returns its argument plus one,
 * so a guest can check that arguments travel both ways. */
#include "console.h"
#include "hypapp.h"

#define HELLO_HYPERCALL (HYPERCALL_APP_FIRST + 0)

static void hello_init(const struct lhv_boot_params *params)
{
    (void)params;
    printf("helloworld: hello from the hypapp\n");
}

static bool hello_hypercall(u32 cpu, u64 nr, u64 arg1, u64 arg2, u64 arg3, u64 *result)
{
    (void)cpu, (void)arg2, (void)arg3;
    if (nr != HELLO_HYPERCALL)
        return false;
    *result = arg1 + 1;
    return true;
}

const struct hypapp hypapp = {
    .name = "helloworld",
    .init = hello_init,
    .hypercall = hello_hypercall,
};
