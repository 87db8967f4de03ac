/* vmx/invvpid-operands: INVVPID's operands checked in the order of its
 * operation section (SDM 3C 31.3 INVVPID): the type in the register
 * first (an unsupported one VMfails before the descriptor is read), then
 * the descriptor's reserved bits 63:16, then for individual-address the
 * linear address (canonical, bits 127:64). A descriptor the instruction
 * cannot read faults (#PF not present; amd64: #GP(0) at a non-canonical
 * address, #SS(0) for one through RSP) with RFLAGS untouched. Before
 * all that: INVVPID at CPL 3 in VMX root operation raises #GP(0), and (amd64)
 * in compatibility mode #UD, even in a guest, where the #UD comes before
 * the VM exit that a 64-bit guest gets (reason 53). Which types and VPID 0
 * succeed is vmx/vpid-invvpid. */
#include "catch.h"
#include "cpu.h"
#include "desc.h"
#include "platform.h"
#include "string.h"
#include "user.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "x86.h"

#define IO_NOT_PRESENT 0x20u /* in page 0, which LHV keeps not present */
#define IO_TYPE_UNDEFINED 4u /* no capability bit says it exists (A.10) */

struct io_probe {
    unsigned long type, flags_in, flags_out;
    const void *desc;     /* the descriptor's address (base register) */
    unsigned long index;  /* added to it (amd64: through RSP instead when rsp_based) */
    bool rsp_based;
};

static void io_invvpid(void *arg)
{
    struct io_probe *p = arg;
    if (!p->rsp_based)
        __asm__ volatile("push %1\n\tpopf\n\tinvvpid (%3,%4,1), %2\n\tpushf\n\tpop %0"
                         : "=r"(p->flags_out)
                         : "r"(p->flags_in), "r"(p->type), "r"(p->desc), "r"(p->index)
                         : "cc", "memory");
#ifdef __x86_64__
    else /* SS is the segment of an RSP-based address (SDM 3A 3.7.4) */
        __asm__ volatile("push %1\n\tpopf\n\tinvvpid (%%rsp,%3,1), %2\n\tpushf\n\tpop %0"
                         : "=r"(p->flags_out)
                         : "r"(p->flags_in), "r"(p->type), "r"(p->index)
                         : "cc", "memory");
#endif
}

/* One INVVPID (descriptor at AX, type in CX), the same bytes in 64-bit and
 * 32-bit code: for ring 3 (copied to IO_USER_PROG) and a compatibility-mode
 * guest */
#define IO_USER_PROG 0xc00
#ifdef __x86_64__
#define IO_AX "rax"
#define IO_CX "rcx"
#else
#define IO_AX "eax"
#define IO_CX "ecx"
#endif
extern const char io_insn[], io_insn_end[];
__asm__(".pushsection .text\n"
        "io_insn: invvpid (%" IO_AX "), %" IO_CX "\n"
        "io_insn_end: .popsection");

/* The ring-3 INVVPID: #GP(0) at the instruction (SDM 3C 31.3, CPL > 0) */
static bool io_cpl3(struct cpu_outcome *o)
{
    struct caught c;
    uintptr_t frame;

    if (!platform.user_pages)
        return true; /* no ring 3 here (ring3/ tests SKIP) */
    memcpy((void *)(USER_CODE_PAGE + IO_USER_PROG), io_insn, (size_t)(io_insn_end - io_insn));
    int vector = user_run(IO_USER_PROG, USER_STACK_PAGE, &c, &frame);
    return CHECK_EQ(o, vector, VEC_GP) && CHECK_EQ(o, c.error_code, 0) &&
           CHECK_EQ(o, c.ip, USER_CODE_PAGE + IO_USER_PROG);
}

#ifdef __x86_64__
static enum exit_action io_mode_hook(struct vcpu *v, u32 reason)
{
    u32 *got = v->test_data;
    *got = reason ? reason : 0x100 | ((u32)vmr(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK);
    return vcpu_finish(v);
}

/* A guest running the INVVPID in 64-bit mode exits with reason 53; with
 * CS.L = 0 (compatibility mode) it takes #UD (0x100 | 6 here: the
 * exception exits) */
static bool io_guest_mode(struct cpu_outcome *o, bool compat)
{
    u32 got = 0;
    struct vcpu *v = test_guest_hooked(o, io_mode_hook, &got);

    if (!v)
        return false;
    if (compat)
        vmw(GUEST_CS_AR_BYTES, (vmr(GUEST_CS_AR_BYTES) & ~(u64)AR_L) | AR_DB);
    vcpu_run_at(v, (uintptr_t)io_insn, 0, 0x2);
    return CHECK_EQ(o, got, compat ? 0x100u | VEC_UD : EXIT_REASON_INVVPID);
}
#endif

/* INVVPID of (lo, hi) must VMfail with error 28 */
static bool io_refused(struct cpu_outcome *o, unsigned long type, u64 lo, u64 hi)
{
    static u64 desc[LHV_MAX_CPUS][2] __attribute__((aligned(16)));
    u64 *d = desc[this_cpu()->index];
    struct io_probe p = {type, 0x2, 0, d, 0, false};
    struct caught c;

    d[0] = lo;
    d[1] = hi;
    if (!CHECK_EQ(o, catch_exception(io_invvpid, &p, &c), NO_EXCEPTION) ||
        !CHECK_EQ(o, p.flags_out & (EFLAGS_CF | EFLAGS_ZF), EFLAGS_ZF))
        return false;
    return CHECK_EQ(o, vmr(VM_INSTRUCTION_ERROR), VMX_ERROR_INVALID_INV_OPERAND);
}

/* INVVPID with its descriptor at desc + index must fault with vector and
 * error code, every status flag as it went in */
static bool io_faults(struct cpu_outcome *o, unsigned long type, const void *desc,
                      unsigned long index, bool rsp_based, int vector, u32 error_code)
{
    struct io_probe p = {type, 0x2 | EFLAGS_STATUS, 0, desc, index, rsp_based};
    struct caught c;

    if (!CHECK_EQ(o, catch_exception(io_invvpid, &p, &c), vector) ||
        !CHECK_EQ(o, c.error_code, error_code) ||
        !CHECK_EQ(o, c.flags & EFLAGS_STATUS, EFLAGS_STATUS))
        return false;
    return vector != VEC_PF || CHECK_EQ(o, c.cr2, (uintptr_t)desc + index);
}

/* A type the CPU has: the descriptor checks apply to it */
static unsigned long io_supported_type(void)
{
    for (unsigned long t = INVVPID_ADDRESS; t <= INVVPID_SINGLE_GLOBALS; t++)
        if (vmx_caps.ept_vpid & (VPID_CAP_INDIVIDUAL << t))
            return t;
    return IO_TYPE_UNDEFINED;
}

static void check_invvpid_operands(struct cpu_outcome *o, void *arg)
{
    const char *why = vpid_unsupported();
    unsigned long type = io_supported_type();
    u16 vpid = (u16)(1 + this_cpu()->index);
    (void)arg;

    if (why)
        return outcome_skip(o, "%s", why);
    if (!test_guest(o)) /* a current VMCS: VMfailValid needs one (31.2) */
        return;
    if (type == IO_TYPE_UNDEFINED)
        return outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bits 43:40 (INVVPID types) all clear");
    if (!io_cpl3(o))
        return;
#ifdef __x86_64__
    if (!io_guest_mode(o, false) || !io_guest_mode(o, true) || !test_guest(o))
        return;
#endif
    /* Reserved bits 63:16 of the descriptor, each type the CPU has */
    for (unsigned long t = INVVPID_ADDRESS; t <= INVVPID_SINGLE_GLOBALS; t++)
        if ((vmx_caps.ept_vpid & (VPID_CAP_INDIVIDUAL << t)) &&
            !io_refused(o, t, vpid | 1ull << 16, 0))
            return;
    /* A non-canonical linear address, also outside 64-bit mode: bits 127:64
     * are checked whatever the mode */
    if ((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) &&
        !io_refused(o, INVVPID_ADDRESS, vpid, 0x8000000000000000ull))
        return;
    if (!io_faults(o, type, (const void *)(uintptr_t)IO_NOT_PRESENT, 0, false, VEC_PF, 0))
        return;
#ifdef __x86_64__
    static u64 canonical_hole; /* any address: the index makes it non-canonical */
    if (!io_faults(o, type, &canonical_hole, 1ul << 63, false, VEC_GP, 0) ||
        !io_faults(o, type, NULL, 1ul << 63, true, VEC_SS, 0))
        return;
#endif
    /* The type comes first: an undefined one VMfails without reading the
     * descriptor. Bochs reads it first (docs/l0-deviations.md) */
    struct io_probe p = {IO_TYPE_UNDEFINED, 0x2, 0, (const void *)(uintptr_t)IO_NOT_PRESENT, 0,
                         false};
    struct caught c;
    int vector = catch_exception(io_invvpid, &p, &c);
    if (vector == VEC_PF && l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        return outcome_xfail(o, "%s read the INVVPID descriptor before checking the type: "
                             "#PF for type 4, expected VMfailValid 28",
                             l0_bochs_names(BOCHS_2_7_AND_3_0));
    if (CHECK_EQ(o, vector, NO_EXCEPTION) &&
        CHECK_EQ(o, p.flags_out & (EFLAGS_CF | EFLAGS_ZF), EFLAGS_ZF))
        CHECK_EQ(o, vmr(VM_INSTRUCTION_ERROR), VMX_ERROR_INVALID_INV_OPERAND);
}
VMX_TEST_ALL_CPUS("vmx/invvpid-operands", check_invvpid_operands);
