/* The exception bitmap on every vector the guest can raise by itself
 * (SDM 3C 25.6.3, 26.2): with only bit v set, the exception exits (reason
 * 0) with vector v, its interruption type (hardware exception; software
 * exception for INT3 and INTO; privileged software exception for INT1),
 * its error code where it has one, and RIP at the instruction that raised
 * it (28.2.2; for #PF the address as qualification, 28.2.1); with every
 * bit but v set, it goes through the guest's IDT instead (LHV's handlers,
 * which report the vector). #DF comes from a #GP while delivering a #GP
 * (IDT limit 0, bits 6 and 13 clear); it is only checked as an exit. #MF
 * is the x87 divide by zero (unmasked in the control word) reported at the
 * next FWAIT, with CR0.TS and EM clear and CR0.NE set (SDM 3A 6.15 int 16);
 * the host's x87 is reset after it. #OF and #BR exist only outside 64-bit
 * mode (i386). Not raised: NMI (2, not an exception-bitmap vector),
 * #TS/#NP/#SS/#AC/#MC/#XM/#VE/#CP, which need state the shared test guest
 * does not have. */
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

#define EB_GP_SELECTOR 0xfff8 /* beyond the GDT limit: #GP(selector) */
#define EB_PF_ADDRESS 0x10    /* page 0 is not present */

#define EB_RAISER(fn, label, body)                                              \
    extern const char label[];                                                  \
    static __attribute__((noinline, noclone)) void fn(void *arg)                \
    {                                                                           \
        (void)arg;                                                              \
        __asm__ volatile(body : : : "eax", "ecx", "edx", "memory", "cc");       \
    }

EB_RAISER(eb_de, eb_de_at, "xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t"
                           ".globl eb_de_at\neb_de_at: div %%ecx")
EB_RAISER(eb_db, eb_db_at, ".globl eb_db_at\neb_db_at: .byte 0xf1") /* INT1 (ICEBP) */
EB_RAISER(eb_bp, eb_bp_at, ".globl eb_bp_at\neb_bp_at: int3")
EB_RAISER(eb_ud, eb_ud_at, ".globl eb_ud_at\neb_ud_at: ud2")
EB_RAISER(eb_nm, eb_nm_at, ".globl eb_nm_at\neb_nm_at: fnop") /* CR0.TS set for it */
EB_RAISER(eb_gp, eb_gp_at, "mov $0xfff8, %%eax\n\t.globl eb_gp_at\neb_gp_at: mov %%eax, %%ds")
EB_RAISER(eb_pf, eb_pf_at, ".globl eb_pf_at\neb_pf_at: mov 0x10, %%eax")
#ifdef __x86_64__
#define EB_SP "%%rsp"
#else
#define EB_SP "%%esp"
#endif
/* control word 37BH: every x87 exception masked but #Z (bit 2) */
EB_RAISER(eb_mf, eb_mf_at, "sub $16, " EB_SP "\n\tmovw $0x37b, (" EB_SP ")\n\tfninit\n\t"
                           "fldcw (" EB_SP ")\n\tadd $16, " EB_SP "\n\tfldz\n\tfld1\n\tfdivp\n\t"
                           ".globl eb_mf_at\neb_mf_at: fwait")
#ifndef __x86_64__
EB_RAISER(eb_of, eb_of_at, "mov $0x7fffffff, %%eax\n\tadd $1, %%eax\n\t"
                           ".globl eb_of_at\neb_of_at: into")
static const u32 eb_bounds[2] __attribute__((used)) = {0x10, 0x20};
EB_RAISER(eb_br, eb_br_at, "mov $0x30, %%eax\n\t.globl eb_br_at\neb_br_at: bound %%eax, eb_bounds")
#endif

struct eb_raiser {
    u32 vector, type;
    bool error_valid;
    u32 error;
    void (*fn)(void *);
    const char *at;
};

static const struct eb_raiser eb_raisers[] = {
    {VEC_DE, INTR_TYPE_HW_EXCEPTION, false, 0, eb_de, eb_de_at},
    {VEC_DB, INTR_TYPE_PRIV_SOFT_EXCEPTION, false, 0, eb_db, eb_db_at},
    {VEC_BP, INTR_TYPE_SOFT_EXCEPTION, false, 0, eb_bp, eb_bp_at},
#ifndef __x86_64__
    {VEC_OF, INTR_TYPE_SOFT_EXCEPTION, false, 0, eb_of, eb_of_at},
    {VEC_BR, INTR_TYPE_HW_EXCEPTION, false, 0, eb_br, eb_br_at},
#endif
    {VEC_UD, INTR_TYPE_HW_EXCEPTION, false, 0, eb_ud, eb_ud_at},
    {VEC_NM, INTR_TYPE_HW_EXCEPTION, false, 0, eb_nm, eb_nm_at},
    {VEC_DF, INTR_TYPE_HW_EXCEPTION, true, 0, eb_ud, eb_ud_at}, /* #UD, #GP, #GP: #DF */
    {VEC_GP, INTR_TYPE_HW_EXCEPTION, true, EB_GP_SELECTOR, eb_gp, eb_gp_at},
    {VEC_PF, INTR_TYPE_HW_EXCEPTION, true, 0, eb_pf, eb_pf_at},
    {VEC_MF, INTR_TYPE_HW_EXCEPTION, false, 0, eb_mf, eb_mf_at},
};

struct eb_exit {
    u32 exits, info, error;
    uintptr_t rip;
    u64 qual;
};

static enum exit_action eb_hook(struct vcpu *v, u32 reason)
{
    struct eb_exit *e = v->test_data;

    if (reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    e->exits++;
    e->info = (u32)vmr(VM_EXIT_INTR_INFO);
    e->error = (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
    e->rip = (uintptr_t)vmr(GUEST_RIP);
    e->qual = v->exit_qual;
    return vcpu_finish(v); /* the guest stops where it faulted */
}

/* One run of r's raiser with the given bitmap */
static struct run_result eb_run(struct cpu_outcome *o, const struct eb_raiser *r, u32 bitmap,
                                struct eb_exit *e, bool *ok)
{
    struct vcpu *v = test_guest(o);
    struct run_result none = {0};

    *e = (struct eb_exit){0};
    if (!(*ok = v != NULL))
        return none;
    vmw(EXCEPTION_BITMAP, bitmap);
    if (r->fn == eb_nm)
        vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_TS);
    if (r->fn == eb_mf)
        vmw(GUEST_CR0, vmr(GUEST_CR0) & ~(u64)(CR0_TS | CR0_EM));
    if (r->vector == VEC_DF)
        vmw(GUEST_IDTR_LIMIT, 0);
    v->hook = eb_hook;
    v->test_data = e;
    struct run_result res = vcpu_run(v, r->fn, NULL);
    unsigned long cr0 = read_cr0(); /* the guest's #MF stays pending in the x87: cleared */
    __asm__ volatile("mov %0, %%cr0\n\tfninit\n\tmov %1, %%cr0"
                     : : "r"(cr0 & ~(unsigned long)(CR0_TS | CR0_EM)), "r"(cr0));
    return res;
}

static bool eb_exits(struct cpu_outcome *o, const struct eb_raiser *r)
{
    struct eb_exit e;
    bool ok;
    struct run_result res = eb_run(o, r, 1u << r->vector, &e, &ok);
    u32 info = INTR_INFO(r->type, r->vector) | (r->error_valid ? INTR_INFO_DELIVER_CODE : 0);

    if (!ok || !CHECK_EQ(o, res.end, RUN_DONE) || !CHECK_EQ(o, e.exits, 1) ||
        !CHECK_EQ(o, e.info & ~INTR_INFO_NMI_UNBLOCKING, info))
        return false;
    if (r->error_valid && !CHECK_EQ(o, e.error, r->error))
        return false;
    if (r->vector == VEC_PF && !CHECK_EQ(o, e.qual, EB_PF_ADDRESS))
        return false;
    return r->vector == VEC_DF || CHECK_EQ(o, e.rip, (uintptr_t)r->at);
}

static bool eb_delivered(struct cpu_outcome *o, const struct eb_raiser *r)
{
    struct eb_exit e;
    bool ok;
    struct run_result res = eb_run(o, r, ~(1u << r->vector), &e, &ok);

    return ok && CHECK_EQ(o, res.end, RUN_GUEST_EXCEPTION) && CHECK_EQ(o, e.exits, 0) &&
           CHECK_EQ(o, res.vector, r->vector);
}

static void check_exception_bitmap(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    for (u32 i = 0; i < ARRAY_SIZE(eb_raisers); i++) {
        const struct eb_raiser *r = &eb_raisers[i];
        if (!eb_exits(o, r) || (r->vector != VEC_DF && !eb_delivered(o, r)))
            return;
    }
}
VMX_TEST_ALL_CPUS("vmx/exception-bitmap-all-vectors", check_exception_bitmap);
