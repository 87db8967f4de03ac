/* Ring 3 on every CPU: user mode entered with IRET, a system call back
 * through the DPL-3 gate on the TSS's ring-0 stack, and the page protection
 * that keeps ring 3 out of supervisor pages (SDM 3A 4.6, 6.12.1). */
#include "desc.h"
#include "emulator.h"
#include "platform.h"
#include "suite/suite.h"
#include "trap.h"
#include "user.h"
#include "x86.h"

/* QEMU TCG in long mode: the one place whose #GP error code for a refused
 * INT n is known to differ (see check_int_refused). */
static bool long_mode_qemu(void)
{
#ifdef __x86_64__
    return emulator_detect() == EMU_QEMU_TCG;
#else
    return false;
#endif
}

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

TEST_ALL_CPUS("ring3/syscall", check_syscall);

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

TEST_ALL_CPUS("ring3/tss-stack", check_tss_stack);

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

TEST_ALL_CPUS("ring3/supervisor-page-fault", check_supervisor_pf);

/* INT n from ring 3 through a gate of DPL 0 is refused before delivery:
 * #GP at the INT with error code (n << 3) | 2, the IDT bit (SDM 3A
 * 6.12.1.1, 6.13). Every vector but the system call's is such a gate, the
 * exceptions (#BP and #OF included: LHV keeps them from ring 3), the IRQs,
 * the LAPIC vectors and the IPIs. A gate that let ring 3 in shows up as the
 * vector itself, or as the system call that follows INT n in the program. */
static bool int_refused(struct cpu_outcome *o, u32 n, u32 *qemu_code)
{
    struct caught c;
    uintptr_t frame, at = USER_CODE_PAGE + USER_PROG_INT(n);
    u32 want = (n << 3) | 2;
    int v = user_run(USER_PROG_INT(n), 0, &c, &frame);

    if (v == VEC_SYSCALL)
        outcome_fail(o, "int $0x%x from ring 3 went through (its handler returned to ring 3), "
                     "expected #GP error 0x%x", n, want);
    else if (v != VEC_GP)
        outcome_fail(o, "int $0x%x from ring 3 raised vector %d (%s), expected #GP error 0x%x",
                     n, v, v < 0 ? "none" : exception_name((u32)v), want);
    else if (c.ip != at || c.cs != SEL_UCODE)
        outcome_fail(o, "int $0x%x from ring 3: #GP at cs 0x%lx ip 0x%lx, expected 0x%x 0x%lx",
                     n, c.cs, c.ip, SEL_UCODE, (unsigned long)at);
    else if (c.error_code == want)
        return true;
    else if (c.error_code == ((n << 4) | 2) && long_mode_qemu())
        *qemu_code = *qemu_code ? *qemu_code : n; /* the first such vector */
    else
        outcome_fail(o, "int $0x%x from ring 3: #GP error 0x%x, expected 0x%x", n,
                     c.error_code, want);
    return !o->failed;
}

static void check_int_refused(struct cpu_outcome *o, void *arg)
{
    u32 qemu_code = 0;
    (void)arg;

    if (!user_pages_ready(o))
        return;
    for (u32 n = 0; n < 256; n++)
        if (n != VEC_SYSCALL && !int_refused(o, n, &qemu_code))
            return; /* a gate that lets ring 3 in runs kernel code: stop at the first */
    if (qemu_code)
        outcome_xfail(o, "all refused; QEMU TCG (do_interrupt64) gives #GP error (n << 4) | 2 in "
                      "long mode, not (n << 3) | 2 (SDM 3A 6.13): int $0x%x gave 0x%x",
                      qemu_code, (qemu_code << 4) | 2);
}

TEST_ALL_CPUS("ring3/int-kernel-vectors", check_int_refused);
