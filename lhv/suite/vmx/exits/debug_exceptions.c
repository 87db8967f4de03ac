/* vmx/debug-exception-exits: debug exceptions in the guest, each an
 * exception exit through the exception bitmap (SDM 3C 26.2, 28.2.1-28.2.2;
 * 3A 18.2-18.3): ICEBP (INT1, F1) exits as a privileged software exception
 * (type 5) of vector 1 with instruction length 1, INT3 as a software
 * exception (type 6) of vector 3 with length 1, both with RIP at the
 * instruction; a write to a data breakpoint (DR0, DR7 L0, write, 4 bytes)
 * exits after the write as a hardware exception (type 3) of vector 1 whose
 * qualification has B0 while DR6 keeps what the guest put there (a #DB
 * that exits does not update DR6, 28.1). */
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

#define DE_DR6_GUEST 0xffff0ff0ul /* DR6 with no condition bit (its reserved bits) */
#ifdef __x86_64__
#define DE_LEA(label, op) "lea " label "(%%rip), " op "\n\t"
#else
#define DE_LEA(label, op) "lea " label ", " op "\n\t"
#endif

struct de_exit {
    u32 info, length;
    u64 qual;
    unsigned long rip, dr6;
};

struct de_run {
    struct de_exit e[3];
    u32 n;
    unsigned long marks[3]; /* the guest's addresses: ICEBP, INT3, after the write */
    u32 watched;
};

static enum exit_action de_hook(struct vcpu *v, u32 reason)
{
    struct de_run *r = v->test_data;
    unsigned long dr6;

    if (reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr6));
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    if (r->n < 3)
        r->e[r->n++] = (struct de_exit){info, (u32)vmr(VM_EXIT_INSTRUCTION_LEN),
                                        vmr(EXIT_QUALIFICATION), (unsigned long)vmr(GUEST_RIP),
                                        dr6};
    if ((info & INTR_INFO_TYPE_MASK) != INTR_TYPE_HW_EXCEPTION)
        vcpu_skip_instruction(); /* a software exception: RIP at it */
    return EXIT_RESUME;
}

static void de_guest(void *arg)
{
    struct de_run *r = arg;
    unsigned long dr7 = DR7_L0 | DR7_RW0_WRITE | DR7_LEN0_4 | 0x400;

    __asm__ volatile("mov %0, %%dr6" : : "r"(DE_DR6_GUEST));
    __asm__ volatile("mov %0, %%dr0" : : "r"((uintptr_t)&r->watched));
    __asm__ volatile(DE_LEA("1f", "%0")
                     "1: .byte 0xf1\n\t" /* ICEBP */
                     DE_LEA("2f", "%1")
                     "2: int3\n\t"
                     "mov %3, %%dr7\n\t"
                     "movl $1, (%4)\n\t"
                     "3: " DE_LEA("3b", "%2")
                     "mov %5, %%dr7"
                     : "=&r"(r->marks[0]), "=&r"(r->marks[1]), "=&r"(r->marks[2])
                     : "r"(dr7), "r"(&r->watched), "r"(0x400ul)
                     : "memory");
}

static void check_debug_exits(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    struct de_run r = {0};
    (void)arg;

    if (!v)
        return;
    v->hook = de_hook;
    v->test_data = &r;
    if (!test_guest_run(o, v, de_guest, &r) || !CHECK_EQ(o, r.n, 3) ||
        !CHECK_EQ(o, r.e[0].info, INTR_INFO(INTR_TYPE_PRIV_SOFT_EXCEPTION, VEC_DB)) ||
        !CHECK_EQ(o, r.e[0].length, 1) || !CHECK_EQ(o, r.e[0].rip, r.marks[0]) ||
        !CHECK_EQ(o, r.e[1].info, INTR_INFO(INTR_TYPE_SOFT_EXCEPTION, VEC_BP)) ||
        !CHECK_EQ(o, r.e[1].length, 1) || !CHECK_EQ(o, r.e[1].rip, r.marks[1]) ||
        !CHECK_EQ(o, r.e[2].info, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_DB)) ||
        !CHECK_EQ(o, r.e[2].rip, r.marks[2]) || !CHECK_EQ(o, r.e[2].qual & 0xf, DR6_B0))
        return;
    CHECK_EQ(o, r.e[2].dr6, DE_DR6_GUEST);
}
VMX_TEST_ALL_CPUS("vmx/debug-exception-exits", check_debug_exits);
