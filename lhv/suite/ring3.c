/* Ring 3 on every CPU: user mode entered with IRET, a system call back
 * through the DPL-3 gate on the TSS's ring-0 stack, and the page protection
 * that keeps ring 3 out of supervisor pages (SDM 3A 4.6, 6.12.1). */
#include "desc.h"
#include "platform.h"
#include "suite.h"
#include "user.h"

#define PF_PRESENT (1u << 0)
#define PF_USER (1u << 2)

static bool user_pages_ready(struct cpu_outcome *o)
{
    if (!platform.user_pages)
        outcome_skip(o, "0x%x-0x%x is not usable RAM here", USER_CODE_PAGE,
                     USER_STACK_PAGE + 0xfff);
    return platform.user_pages;
}

/* The system call arrives from CPL 3 at the instruction after INT. */
static void check_syscall(struct cpu_outcome *o, void *arg)
{
    struct caught c;
    uintptr_t frame;
    (void)arg;

    if (!user_pages_ready(o))
        return;
    int v = user_run(USER_PROG_SYSCALL, 0, &c, &frame);
    if (v != VEC_SYSCALL)
        outcome_fail(o, "vector %d, expected the system call 0x%x", v, VEC_SYSCALL);
    else if (c.cs != SEL_UCODE || c.ip != USER_CODE_PAGE + USER_PROG_SYSCALL + 2)
        outcome_fail(o, "came from cs 0x%lx ip 0x%lx, expected 0x%x and 0x%x", c.cs, c.ip,
                     SEL_UCODE, USER_CODE_PAGE + USER_PROG_SYSCALL + 2);
}

TEST("ring3/syscall", test_syscall);
static void test_syscall(const char *name) { verdict_all_cpus(name, check_syscall, NULL); }

/* The CPU switched to the ring-0 stack its own TSS names. */
static void check_tss_stack(struct cpu_outcome *o, void *arg)
{
    struct caught c;
    uintptr_t frame;
    struct lhv_cpu *cpu = this_cpu();
    (void)arg;

    if (!user_pages_ready(o))
        return;
    user_run(USER_PROG_SYSCALL, 0, &c, &frame);
    uintptr_t lo = (uintptr_t)cpu->ring0_stack, hi = lo + sizeof(cpu->ring0_stack);
    if (frame < lo || frame >= hi)
        outcome_fail(o, "frame at 0x%lx, the TSS stack is 0x%lx-0x%lx", (unsigned long)frame,
                     (unsigned long)lo, (unsigned long)hi);
}

TEST("ring3/tss-stack", test_tss_stack);
static void test_tss_stack(const char *name) { verdict_all_cpus(name, check_tss_stack, NULL); }

/* Ring 3 reads its own page, then is refused a supervisor page with #PF,
 * error code P|U (a present page, a user-mode read). */
static void check_supervisor_pf(struct cpu_outcome *o, void *arg)
{
    struct caught c;
    uintptr_t frame;
    unsigned long kernel = (uintptr_t)&platform;
    (void)arg;

    if (!user_pages_ready(o))
        return;
    int v = user_run(USER_PROG_READ, USER_CODE_PAGE, &c, &frame);
    if (v != VEC_SYSCALL)
        return outcome_fail(o, "reading its own page raised vector %d", v);
    v = user_run(USER_PROG_READ, kernel, &c, &frame);
    if (v != VEC_PF)
        outcome_fail(o, "reading 0x%lx raised vector %d, expected #PF", kernel, v);
    else if (c.error_code != (PF_PRESENT | PF_USER) || c.cr2 != kernel || c.cs != SEL_UCODE)
        outcome_fail(o, "error code 0x%x cr2 0x%lx cs 0x%lx, expected 0x%x 0x%lx 0x%x",
                     c.error_code, c.cr2, c.cs, PF_PRESENT | PF_USER, kernel, SEL_UCODE);
}

TEST("ring3/supervisor-page-fault", test_supervisor_pf);
static void test_supervisor_pf(const char *name)
{
    verdict_all_cpus(name, check_supervisor_pf, NULL);
}
