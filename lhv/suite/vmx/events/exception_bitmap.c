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
 * mode (i386). #NP and #SS: MOV to DS and to SS of a not-present data
 * segment, in a copy of the GDT the guest gets (error code the selector;
 * SDM 3A 6.15 int 11, 12). #TS: on amd64 INT 2, whose gate (LHV's NMI gate)
 * has an IST slot beyond the guest's TR limit (6.14.5; error code the TSS
 * selector), on i386 IRET with RFLAGS.NT whose TSS back link has TI = 1
 * (IRET "TASK-RETURN"; error code the link). #XM: DIVSS by 0 with MXCSR's
 * #Z unmasked and CR4.OSFXSR and OSXMMEXCPT (6.15 int 19). #AC: a guest
 * entered at CPL 3 in the user page (user.h) with CR0.AM and RFLAGS.AC
 * reads a misaligned dword (6.15 int 17, error code 0); its own TSS gives
 * the handler a ring-0 stack. #CP: with CR4.CET and IA32_S_CET.ENDBR_EN
 * (the guest writes it) a JMP through a register to an instruction that
 * is not ENDBR (SDM 1 17.3.1, 3A 6.15 int 21, error code 3 ENDBRANCH); the
 * delivery is tracked as well, so the guest's IDT (LHV's first 22 gates)
 * sends #CP to a stub that starts with ENDBR and clears IA32_S_CET before
 * LHV's handler. Not raised here: NMI (2, not an
 * exception-bitmap vector), #VE (vmx/ept-violation-ve) and #MC. The guest
 * runs without external-interrupt exiting (IF clear): with 2+ CPUs Bochs
 * saves a stale RIP at an external-interrupt exit right after it delivered
 * an exception to the guest's handler (docs/l0-deviations.md, as in
 * vmx/exit-after-delivery): the #AC program ran again at CPL 0 and its UD2
 * exited (seen on Bochs 3.0, tigerlake, 2 CPUs, about one run in ten). */
#include "cpu.h"
#include "desc.h"
#include "platform.h"
#include "user.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "string.h"
#include "x86.h"

#define EB_GP_SELECTOR 0xfff8 /* beyond the GDT limit: #GP(selector) */
#define EB_PF_ADDRESS 0x10    /* page 0 is not present */
#define EB_NP_SELECTOR 0x50   /* the not-present data segment after the GDT's entries */
_Static_assert(EB_NP_SELECTOR == GDT_ENTRIES << 3, "EB_NP_SELECTOR in the raisers");
#define EB_TS_LINK 0x54       /* i386: the TSS back link, TI = 1: #TS(link) */
#define EB_TS_TR_LIMIT 0x1f   /* amd64: TR limit below IST slot IST_NMI */
#define EB_AC_PROG 0xd00      /* the #AC program's offset in the user page */
#define EB_AC_SP (USER_STACK_PAGE + 0x800)

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
EB_RAISER(eb_np, eb_np_at, "mov $0x50, %%eax\n\t.globl eb_np_at\neb_np_at: mov %%eax, %%ds")
EB_RAISER(eb_ss, eb_ss_at, "mov $0x50, %%eax\n\t.globl eb_ss_at\neb_ss_at: mov %%eax, %%ss")
#ifdef __x86_64__
#define EB_SP "%%rsp"
#define EB_AX "rax"
EB_RAISER(eb_ts, eb_ts_at, ".globl eb_ts_at\neb_ts_at: int $2")
#else
#define EB_SP "%%esp"
#define EB_AX "eax"
EB_RAISER(eb_ts, eb_ts_at, "pushf\n\torl $0x4000, (%%esp)\n\tpopf\n\t"
                           ".globl eb_ts_at\neb_ts_at: iret")
#endif
/* The ring-3 #AC program (copied to the user page): a misaligned read */
extern const char eb_ac_prog[], eb_ac_end[];
#ifdef __x86_64__
__asm__(".pushsection .text\neb_ac_prog: mov 1(%rsp), %eax\n\tud2\neb_ac_end: .popsection");
#else
__asm__(".pushsection .text\neb_ac_prog: mov 1(%esp), %eax\n\tud2\neb_ac_end: .popsection");
#endif
static void eb_ac(void *arg) { (void)arg; } /* the raiser's tag: eb_run enters the program */

/* #CP: IA32_S_CET.ENDBR_EN, then an indirect JMP to a NOP */
extern const char eb_cp_at[];
static __attribute__((noinline, noclone)) void eb_cp(void *arg)
{
    (void)arg;
    __asm__ volatile("wrmsr\n\tmov $eb_cp_at, %%" EB_AX "\n\tjmp *%%" EB_AX "\n\t"
                     ".globl eb_cp_at\neb_cp_at: nop"
                     : : "c"(MSR_IA32_S_CET), "a"(S_CET_ENDBR_EN), "d"(0) : "memory");
}
#define EB_CP_ENDBRANCH 3 /* the #CP error code (SDM 3A 6.15 int 21) */
#define EB_STR(x) #x
#define EB_XSTR(x) EB_STR(x)
extern const char eb_cp_stub[];
#ifdef __x86_64__
__asm__(".pushsection .text\neb_cp_stub: endbr64\n\tpush %rax\n\tpush %rcx\n\tpush %rdx\n\t"
        "mov $" EB_XSTR(MSR_IA32_S_CET) ", %ecx\n\txor %eax, %eax\n\txor %edx, %edx\n\twrmsr\n\t"
        "pop %rdx\n\tpop %rcx\n\tpop %rax\n\tjmp isr_stubs + " EB_XSTR(VEC_CP) " * 16\n"
        ".popsection");
#else
__asm__(".pushsection .text\neb_cp_stub: endbr32\n\tpush %eax\n\tpush %ecx\n\tpush %edx\n\t"
        "mov $" EB_XSTR(MSR_IA32_S_CET) ", %ecx\n\txor %eax, %eax\n\txor %edx, %edx\n\twrmsr\n\t"
        "pop %edx\n\tpop %ecx\n\tpop %eax\n\tjmp isr_stubs + " EB_XSTR(VEC_CP) " * 16\n"
        ".popsection");
#endif
static u8 eb_idt[LHV_MAX_CPUS][(VEC_CP + 1) * IDT_GATE_SIZE]; /* the #CP guest's IDT */

/* MXCSR 1D80H: every SIMD exception masked but #Z (bit 9) */
EB_RAISER(eb_xm, eb_xm_at, "sub $16, " EB_SP "\n\tmovl $0x1d80, (" EB_SP ")\n\t"
                           "ldmxcsr (" EB_SP ")\n\tadd $16, " EB_SP "\n\txorps %%xmm0, %%xmm0\n\t"
                           "mov $1, %%eax\n\tcvtsi2ss %%eax, %%xmm1\n\t"
                           ".globl eb_xm_at\neb_xm_at: divss %%xmm0, %%xmm1")
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
#ifdef __x86_64__
    {VEC_TS, INTR_TYPE_HW_EXCEPTION, true, SEL_TSS, eb_ts, eb_ts_at},
#else
    {VEC_TS, INTR_TYPE_HW_EXCEPTION, true, EB_TS_LINK, eb_ts, eb_ts_at},
#endif
    {VEC_NP, INTR_TYPE_HW_EXCEPTION, true, EB_NP_SELECTOR, eb_np, eb_np_at},
    {VEC_SS, INTR_TYPE_HW_EXCEPTION, true, EB_NP_SELECTOR, eb_ss, eb_ss_at},
    {VEC_GP, INTR_TYPE_HW_EXCEPTION, true, EB_GP_SELECTOR, eb_gp, eb_gp_at},
    {VEC_PF, INTR_TYPE_HW_EXCEPTION, true, 0, eb_pf, eb_pf_at},
    {VEC_MF, INTR_TYPE_HW_EXCEPTION, false, 0, eb_mf, eb_mf_at},
    {VEC_AC, INTR_TYPE_HW_EXCEPTION, true, 0, eb_ac, NULL},
    {VEC_XM, INTR_TYPE_HW_EXCEPTION, false, 0, eb_xm, eb_xm_at},
    {VEC_CP, INTR_TYPE_HW_EXCEPTION, true, EB_CP_ENDBRANCH, eb_cp, eb_cp_at},
};

/* #CP needs CET's indirect-branch tracking, CR4.CET allowed (the guest
 * gets CR0.WP with it, 2.5) and the MSR bitmaps, so that the guest's WRMSR
 * reaches IA32_S_CET */
static bool eb_has_ibt(void)
{
    return (cpuid(7, 0).edx & CPUID7_EDX_CET_IBT) && (vmx_caps.cr4_fixed1 & CR4_CET) &&
           (vmx_caps.cr0_fixed1 & CR0_WP) && (vmx_caps.proc.allowed1 & CPU_USE_MSR_BITMAPS);
}

/* The #AC guest's TSS: LHV's, with the ring-0 stack at the top of the
 * guest's own stack */
static struct tss eb_tss[LHV_MAX_CPUS];

/* Enters the ring-3 #AC program */
static struct run_result eb_run_ac(struct vcpu *v)
{
    struct tss *t = &eb_tss[this_cpu()->index];
    uintptr_t top = (uintptr_t)v->stack + PAGE_SIZE;

    memcpy((void *)(USER_CODE_PAGE + EB_AC_PROG), eb_ac_prog, (size_t)(eb_ac_end - eb_ac_prog));
    *t = this_cpu()->tss;
#ifdef __x86_64__
    t->rsp[0] = top;
#else
    t->esp0 = top;
    t->ss0 = SEL_KDATA;
#endif
    vmw(GUEST_TR_BASE, (uintptr_t)t);
    vmcs_guest_segment(GUEST_CS_SELECTOR, SEL_UCODE, 0, 0xffffffff,
                       (u32)vmr(GUEST_CS_AR_BYTES) | AR_DPL3);
    vmcs_guest_segment(GUEST_SS_SELECTOR, SEL_UDATA, 0, 0xffffffff,
                       (u32)vmr(GUEST_SS_AR_BYTES) | AR_DPL3);
    vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_AM);
    return vcpu_run_at(v, USER_CODE_PAGE + EB_AC_PROG, EB_AC_SP, 0x2 | EFLAGS_AC);
}

/* The guest's GDT: LHV's, then a not-present data segment (#NP, #SS) */
static u64 eb_gdt[LHV_MAX_CPUS][GDT_ENTRIES + 1];

/* #XM needs SSE and CR4 bits the guest may set */
static bool eb_has_sse(void)
{
    const u64 need = CR4_OSFXSR | CR4_OSXMMEXCPT;
    return (cpuid(1, 0).edx & CPUID1_EDX_SSE) && (vmx_caps.cr4_fixed1 & need) == need;
}

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
    vmw(PIN_BASED_VM_EXEC_CONTROL,
        vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    vmw(EXCEPTION_BITMAP, bitmap);
    if (r->fn == eb_nm)
        vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_TS);
    if (r->fn == eb_mf || r->fn == eb_xm)
        vmw(GUEST_CR0, vmr(GUEST_CR0) & ~(u64)(CR0_TS | CR0_EM));
    if (r->vector == VEC_DF)
        vmw(GUEST_IDTR_LIMIT, 0);
    if (r->vector == VEC_NP || r->vector == VEC_SS) {
        u64 *gdt = eb_gdt[this_cpu()->index];
        memcpy(gdt, (const void *)(uintptr_t)vmr(GUEST_GDTR_BASE), GDT_ENTRIES * 8);
        gdt[GDT_ENTRIES] = gdt[GDT_KDATA] & ~((u64)AR_PRESENT << 40);
        vmw(GUEST_GDTR_BASE, (uintptr_t)gdt);
        vmw(GUEST_GDTR_LIMIT, sizeof(eb_gdt[0]) - 1);
    }
#ifdef __x86_64__
    if (r->vector == VEC_TS)
        vmw(GUEST_TR_LIMIT, EB_TS_TR_LIMIT);
#else
    this_cpu()->tss.link = r->vector == VEC_TS ? EB_TS_LINK : 0;
#endif
    if (r->vector == VEC_XM)
        vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSFXSR | CR4_OSXMMEXCPT);
    if (r->vector == VEC_CP) {
        u8 *idt = eb_idt[this_cpu()->index];
        memcpy(idt, (const void *)(uintptr_t)vmr(GUEST_IDTR_BASE), sizeof(eb_idt[0]));
        test_idt_gate(idt, VEC_CP, eb_cp_stub, 0);
        vmw(GUEST_IDTR_BASE, (uintptr_t)idt);
        vmw(GUEST_IDTR_LIMIT, sizeof(eb_idt[0]) - 1);
        vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_WP);
        vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_CET);
    }
    v->hook = eb_hook;
    v->test_data = e;
    struct run_result res = r->fn == eb_ac ? eb_run_ac(v) : vcpu_run(v, r->fn, NULL);
    unsigned long cr0 = read_cr0(); /* the guest's #MF stays pending in the x87: cleared */
    __asm__ volatile("mov %0, %%cr0\n\tfninit" : : "r"(cr0 & ~(unsigned long)(CR0_TS | CR0_EM)));
    if (r->vector == VEC_XM) { /* and its MXCSR, the host's again (CR0.TS clear here) */
        unsigned long cr4 = read_cr4();
        u32 mxcsr = MXCSR_DEFAULT;
        __asm__ volatile("mov %0, %%cr4\n\tldmxcsr %1\n\tmov %2, %%cr4"
                         : : "r"(cr4 | CR4_OSFXSR), "m"(mxcsr), "r"(cr4));
    }
    __asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
#ifndef __x86_64__
    this_cpu()->tss.link = 0;
#endif
    if (r->vector == VEC_CP)
        wrmsr(MSR_IA32_S_CET, 0); /* what the guest wrote, and its tracker */
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
    if (r->vector == VEC_AC)
        return CHECK_EQ(o, e.rip, USER_CODE_PAGE + EB_AC_PROG);
    return r->vector == VEC_DF || CHECK_EQ(o, e.rip, (uintptr_t)r->at);
}

static bool eb_delivered(struct cpu_outcome *o, const struct eb_raiser *r)
{
    struct eb_exit e;
    bool ok;
    struct run_result res = eb_run(o, r, ~(1u << r->vector), &e, &ok);

    if (!ok)
        return false;
    if (res.end == RUN_GUEST_EXCEPTION && !e.exits && res.vector == r->vector)
        return true;
    outcome_fail(o, "vector %u, its bitmap bit clear: the run ended %s (vector %u) after %u "
                 "exception exits (the first: interruption info 0x%x, error code 0x%x, guest "
                 "RIP 0x%lx); expected vector %u in the guest's handler, no exit", r->vector,
                 run_end_name(res.end), res.vector, e.exits, e.info, e.error,
                 (unsigned long)e.rip, r->vector);
    return false;
}

static void check_exception_bitmap(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return;
    for (u32 i = 0; i < ARRAY_SIZE(eb_raisers); i++) {
        const struct eb_raiser *r = &eb_raisers[i];
        if ((r->vector == VEC_XM && !eb_has_sse()) ||
            (r->vector == VEC_AC && !platform.user_pages) || (r->vector == VEC_CP && !eb_has_ibt()))
            continue;
        if (!eb_exits(o, r) || (r->vector != VEC_DF && !eb_delivered(o, r)))
            return;
    }
}
VMX_TEST_ALL_CPUS("vmx/exception-bitmap-all-vectors", check_exception_bitmap);
