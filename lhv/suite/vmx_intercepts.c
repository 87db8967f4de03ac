/* Timers and intercepts (issue #6), on every CPU: the VMX-preemption timer,
 * TSC offsetting and RDTSC exiting, CR0/CR4 masks and read shadows, CR3
 * load/store exiting with CR3 targets, MOV-DR exiting, the instructions
 * that exit under a control, and the #PF error-code mask and match. Each
 * check runs a short guest whose hook looks at every exit it expects. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"


/* Register numbers in CR and DR exit qualifications, bits 11:8 (SDM 3C
 * 28.2.1 tables 28-3 and 28-4) */


extern char guest_entry[]; /* the guest's first instruction (enter-SUBARCH.S) */


static enum exit_action hook_fail(struct vcpu *v, const char *fmt, unsigned long long a,
                                  unsigned long long b)
{
    return vcpu_fail(v, fmt, a, b);
}

/* ------------------------------------------------------------------------ */
/* vmx/preemption-timer-rate: the VMX-preemption timer (pin-based bit 6)
 * counts down once every 2^X TSC ticks, X = IA32_VMX_MISC bits 4:0, and
 * exits with reason 52 at zero (SDM 3C 26.5.1, 25.6.1, A.6). Loaded with 0
 * it exits before the guest's first instruction (26.7.4). With "save
 * VMX-preemption timer value" (exit control bit 22, 25.7.1) another exit
 * stores the remaining count in the field (28.3.4). */

#define PT_COUNTS_TSC (1u << 20)   /* the rate run: timer set to this many ticks */
#define PT_SPINS (1u << 23)        /* the guest gives up after so many turns */
#define PT_SAVE_START (1u << 30)   /* a count that does not run out here */

struct pt_data {
    volatile u32 stop;
    u32 timer_exits;
    u64 start, exit_tsc, saved;
    uintptr_t first_rip, timer_rip;
    u32 first_reason, timer_activity;
    bool saw_cpuid;
    int saved_status; /* of the VMREAD of the timer value: a probe (vmr_safe) */
};

static void timer_off(void)
{
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_PREEMPTION_TIMER);
    vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) & ~(u64)EXIT_SAVE_PREEMPTION_TIMER);
}

static void timer_on(u32 count, bool save)
{
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) | PIN_PREEMPTION_TIMER);
    if (save)
        vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) | EXIT_SAVE_PREEMPTION_TIMER);
    vmw(VMX_PREEMPTION_TIMER_VALUE, count);
}

static enum exit_action pt_hook(struct vcpu *v, u32 reason)
{
    struct pt_data *d = v->test_data;
    u64 now = rdtsc();
    if (v->exits == 1) {
        d->first_reason = reason;
        d->first_rip = (uintptr_t)vmr(GUEST_RIP);
    }
    if (reason == EXIT_REASON_PREEMPTION_TIMER) {
        d->exit_tsc = now;
        d->timer_exits++;
        d->stop = 1;
        d->timer_rip = (uintptr_t)vmr(GUEST_RIP);
        d->timer_activity = (u32)vmr(GUEST_ACTIVITY_STATE);
        timer_off();
        vmw(GUEST_ACTIVITY_STATE, 0); /* a guest woken from HLT goes on */
        return EXIT_RESUME;
    }
    if (reason == EXIT_REASON_CPUID) {
        d->saved_status = vmr_safe(VMX_PREEMPTION_TIMER_VALUE, &d->saved);
        d->saw_cpuid = true;
    }
    return EXIT_DEFAULT;
}

static void guest_pt_spin(void *arg)
{
    struct pt_data *d = arg;
    d->start = rdtsc();
    for (u32 i = 0; i < PT_SPINS && !d->stop; i++)
        __asm__ volatile("" ::: "memory");
}

static void guest_pt_cpuid(void *arg)
{
    (void)arg;
    (void)cpuid(0, 0);
}

static struct vcpu *pt_guest(struct cpu_outcome *o, struct pt_data *d)
{
    struct vcpu *v = test_guest(o);
    if (v) {
        memset(d, 0, sizeof(*d));
        v->hook = pt_hook;
        v->test_data = d;
    }
    return v;
}

static void check_preemption_timer(struct cpu_outcome *o, void *arg)
{
    u32 rate = (u32)(vmx_caps.misc & 0x1f);
    struct pt_data d;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "VMX-preemption timer") ||
        !require_control(o, CTL_EXIT, EXIT_SAVE_PREEMPTION_TIMER,
                         "save VMX-preemption timer value"))
        return;
    /* 0: the exit comes before the guest's first instruction */
    if (!(v = pt_guest(o, &d)))
        return;
    timer_on(0, false);
    if (!test_guest_run(o, v, guest_pt_cpuid, NULL))
        return;
    if (d.first_reason != EXIT_REASON_PREEMPTION_TIMER || d.first_rip != (uintptr_t)guest_entry) {
        outcome_fail(o, "timer 0: first exit reason %u at rip 0x%lx, expected 52 at guest_entry "
                     "0x%lx", d.first_reason, (unsigned long)d.first_rip,
                     (unsigned long)(uintptr_t)guest_entry);
        return;
    }
    /* The rate: from the guest's first RDTSC to the exit */
    if (!(v = pt_guest(o, &d)))
        return;
    u32 count = PT_COUNTS_TSC >> rate;
    if (!count)
        count = 1;
    u64 want = (u64)count << rate;
    timer_on(count, false);
    if (!test_guest_run(o, v, guest_pt_spin, &d))
        return;
    u64 took = d.exit_tsc - d.start;
    if (d.timer_exits != 1) {
        outcome_fail(o, "timer %u: %u timer exits, expected 1", count, d.timer_exits);
        return;
    }
    if (took + (1ull << rate) + 4096 < want || took > want + (want >> 3) + (1ull << rate) + 65536) {
        outcome_fail(o, "timer %u at 2^%u ticks each: exit after %llu TSC ticks, expected %llu",
                     count, rate, took, want);
        return;
    }
    /* Save: a CPUID exit stores what is left of the count */
    if (!(v = pt_guest(o, &d)))
        return;
    timer_on(PT_SAVE_START, true);
    u64 t0 = rdtsc();
    if (!test_guest_run(o, v, guest_pt_cpuid, NULL))
        return;
    u64 spent = (rdtsc() - t0) >> rate;
    if (d.saw_cpuid && d.saved_status != VMX_OK)
        outcome_fail(o, "VMREAD of the preemption-timer value (0x%x) failed at a CPUID exit: "
                     "status %d", VMX_PREEMPTION_TIMER_VALUE, d.saved_status);
    else if (!d.saw_cpuid || d.saved >= PT_SAVE_START || d.saved + spent + 1 < PT_SAVE_START)
        outcome_fail(o, "timer 0x%x saved at a CPUID exit as 0x%llx, expected below it by at "
                     "most %llu", PT_SAVE_START, d.saved, spent + 1);
}

VMX_TEST_ALL_CPUS("vmx/preemption-timer-rate", check_preemption_timer);

/* ------------------------------------------------------------------------ */
/* vmx/preemption-timer-hlt: the VMX-preemption timer counts down while the
 * guest is halted and its expiry wakes the guest with an exit (reason 52),
 * as an NMI would wake it from HLT (SDM 3C 26.2, 26.5.1). The exit saves
 * the HLT activity state (28.3.4): once for a guest entered in the HLT
 * activity state (25.4.2; RIP the entry's), once for a guest that ran HLT
 * itself without HLT exiting (RIP after the HLT). "Save VMX-preemption
 * timer value" keeps the count across other exits (external interrupts).
 * The exit comes no sooner than the count allows: the guest waited. */


__asm__(".text\n"
        ".globl ic_hlt, ic_after_hlt\n"
        "ic_hlt: hlt\n"
        "ic_after_hlt: ret\n");
extern const char ic_hlt[], ic_after_hlt[];


static bool pt_hlt_run(struct cpu_outcome *o, const char *what, bool hlt_state,
                       uintptr_t want_rip)
{
    u32 rate = (u32)(vmx_caps.misc & 0x1f), count = PT_COUNTS_TSC >> rate;
    struct pt_data d;
    struct vcpu *v = pt_guest(o, &d);

    if (!v)
        return false;
    count = count ? count : 1;
    timer_on(count, true);
    vmw(CPU_BASED_VM_EXEC_CONTROL, vmr(CPU_BASED_VM_EXEC_CONTROL) & ~(u64)CPU_HLT_EXITING);
    if (hlt_state)
        vmw(GUEST_ACTIVITY_STATE, ACTIVITY_HLT);
    u64 t0 = rdtsc();
    if (!test_guest_run(o, v, hlt_state ? guest_nothing : (void (*)(void *))(uintptr_t)ic_hlt,
                        NULL))
        return false;
    u64 took = d.exit_tsc - t0, want = (u64)count << rate;
    if (d.timer_exits != 1 || d.timer_activity != ACTIVITY_HLT || d.timer_rip != want_rip) {
        outcome_fail(o, "%s: %u timer exits, the first with activity state %u at guest RIP "
                     "0x%lx; expected one in HLT (1) at 0x%lx", what, d.timer_exits,
                     d.timer_activity, (unsigned long)d.timer_rip, (unsigned long)want_rip);
        return false;
    }
    if (took + (1ull << rate) < want) {
        outcome_fail(o, "%s: the timer exit came %llu TSC ticks after entry, before the %llu "
                     "the count of %u allows", what, took, want, count);
        return false;
    }
    return true;
}

static void check_preemption_timer_hlt(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "VMX-preemption timer") ||
        !require_control(o, CTL_EXIT, EXIT_SAVE_PREEMPTION_TIMER,
                         "save VMX-preemption timer value") ||
        !require_control_clear(o, CTL_PROC, CPU_HLT_EXITING, "HLT exiting"))
        return;
    if (!pt_hlt_run(o, "HLT in the guest", false, (uintptr_t)ic_after_hlt))
        return;
    if (!(vmx_caps.misc & VMX_MISC_ACTIVITY_HLT)) {
        outcome_skip(o, "HLT instruction passed; no HLT activity state (IA32_VMX_MISC bit 6)");
        return;
    }
    pt_hlt_run(o, "entered in the HLT activity state", true, (uintptr_t)guest_entry);
}

VMX_TEST_ALL_CPUS("vmx/preemption-timer-hlt", check_preemption_timer_hlt);

/* ------------------------------------------------------------------------ */
/* vmx/tsc-offsetting: with "use TSC offsetting" (processor-based bit 3)
 * and RDTSC exiting clear, the guest's RDTSC returns the TSC plus
 * TSC_OFFSET (SDM 3C 25.6.5, 26.3). The guest's value must lie between
 * the host's readings before and after the run, each plus the offset. */

#define TSC_BIG_OFFSET (1ull << 56)

static void guest_rdtsc(void *arg) { *(u64 *)arg = rdtsc(); }

static void check_tsc_offsetting(struct cpu_outcome *o, void *arg)
{
    u64 off = TSC_BIG_OFFSET + ((u64)this_cpu()->index << 40), got = 0;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_TSC_OFFSETTING, "use TSC offsetting") ||
        !require_control_clear(o, CTL_PROC, CPU_RDTSC_EXITING, "RDTSC exiting") ||
        !(v = test_guest(o)))
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TSC_OFFSETTING);
    vmw(TSC_OFFSET, off);
    u64 t0 = rdtsc();
    if (!test_guest_run(o, v, guest_rdtsc, &got))
        return;
    u64 t1 = rdtsc();
    if (got < t0 + off || got > t1 + off)
        outcome_fail(o, "the guest's RDTSC read 0x%llx, expected host TSC + 0x%llx in "
                     "[0x%llx, 0x%llx]", got, off, t0 + off, t1 + off);
}

VMX_TEST_ALL_CPUS("vmx/tsc-offsetting", check_tsc_offsetting);

/* vmx/rdtsc-exiting: with RDTSC exiting (processor-based bit 12) the
 * guest's RDTSC exits with reason 16 (SDM 3C 26.1.3) and what the host
 * puts in EDX:EAX is what the guest reads. */

#define RDTSC_ANSWER 0x0123456789abcdefull

struct rdtsc_data {
    u32 exits;
};

static enum exit_action rdtsc_hook(struct vcpu *v, u32 reason)
{
    struct rdtsc_data *d = v->test_data;
    if (reason != EXIT_REASON_RDTSC)
        return EXIT_DEFAULT;
    u64 answer = RDTSC_ANSWER + this_cpu()->index;
    d->exits++;
    REG_AX(v) = (u32)answer;
    REG_DX(v) = (u32)(answer >> 32);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_rdtsc_exiting(struct cpu_outcome *o, void *arg)
{
    struct rdtsc_data d = {0};
    u64 got = 0, answer = RDTSC_ANSWER + this_cpu()->index;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_RDTSC_EXITING, "RDTSC exiting") ||
        !(v = test_guest(o)))
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_RDTSC_EXITING);
    v->hook = rdtsc_hook;
    v->test_data = &d;
    if (!test_guest_run(o, v, guest_rdtsc, &got))
        return;
    if (d.exits != 1 || got != answer)
        outcome_fail(o, "%u RDTSC exits, the guest read 0x%llx; expected 1 exit and the host's "
                     "0x%llx", d.exits, got, answer);
}

VMX_TEST_ALL_CPUS("vmx/rdtsc-exiting", check_rdtsc_exiting);

/* ------------------------------------------------------------------------ */
/* vmx/cr-masks-shadows: bits set in the CR0/CR4 guest/host masks belong to
 * the host: the guest's MOV from CR0/CR4 reads them from the read shadow,
 * a MOV to CR0 that writes them as the shadow has them does not exit (and
 * leaves them), one that changes one exits with reason 28 (SDM 3C 25.6.6,
 * 26.1.3). The qualification: bits 3:0 the CR number, 5:4 the access type
 * (0 = MOV to CR, 1 = MOV from CR), 11:8 the general register (28.2.1
 * table 28-3). Masked here: CR0.TS (shadow 1, real 0) and CR4.TSD (shadow
 * 1, real 0), with CR4.VMXE that LHV always hides. The host emulates the
 * write by updating the shadow: the guest reads TS clear afterwards. */

struct cr_data {
    unsigned long cr0_a, cr4_a, cr0_b, wrote;
    u32 exits;
    u64 qual;
};

static void guest_cr(void *arg)
{
    struct cr_data *d = arg;
    unsigned long cr0 = read_cr0();
    d->cr4_a = read_cr4();
    d->cr0_a = cr0;
    __asm__ volatile("mov %0, %%cr0" : : "d"(cr0) : "memory"); /* as the shadow: no exit */
    d->wrote = cr0 & ~(unsigned long)CR0_TS;
    __asm__ volatile("mov %0, %%cr0" : : "d"(d->wrote) : "memory"); /* TS changed: exits */
    d->cr0_b = read_cr0();
}

static enum exit_action cr_hook(struct vcpu *v, u32 reason)
{
    struct cr_data *d = v->test_data;
    if (reason != EXIT_REASON_CR_ACCESS)
        return EXIT_DEFAULT;
    d->exits++;
    d->qual = v->exit_qual;
    if (v->exit_qual != MOV_QUAL(0, 0, GPR_DX) || (unsigned long)REG_DX(v) != d->wrote)
        return hook_fail(v, "MOV to CR0: qualification 0x%llx, RDX 0x%llx, expected 0x200 "
                         "(CR0, MOV to CR, RDX) and the guest's value",
                         v->exit_qual, (u64)REG_DX(v));
    u64 mask = vmr(CR0_GUEST_HOST_MASK), value = REG_DX(v);
    vmw(CR0_READ_SHADOW, (vmr(CR0_READ_SHADOW) & ~mask) | (value & mask));
    vmw(GUEST_CR0, (vmr(GUEST_CR0) & mask) | (value & ~mask));
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_cr_masks(struct cpu_outcome *o, void *arg)
{
    struct cr_data d;
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest(o)))
        return;
    memset(&d, 0, sizeof(d));
    u64 cr0 = vmr(GUEST_CR0) & ~(u64)CR0_TS, cr4 = vmr(GUEST_CR4) & ~(u64)CR4_TSD;
    vmw(GUEST_CR0, cr0);
    vmw(GUEST_CR4, cr4);
    vmw(CR0_GUEST_HOST_MASK, CR0_TS);
    vmw(CR0_READ_SHADOW, CR0_TS);
    vmw(CR4_GUEST_HOST_MASK, CR4_VMXE | CR4_TSD);
    vmw(CR4_READ_SHADOW, CR4_TSD);
    v->hook = cr_hook;
    v->test_data = &d;
    if (!test_guest_run(o, v, guest_cr, &d))
        return;
    unsigned long want0 = (unsigned long)cr0 | CR0_TS;
    unsigned long want4 = ((unsigned long)cr4 & ~(unsigned long)CR4_VMXE) | CR4_TSD;
    if (d.cr0_a != want0 || d.cr4_a != want4)
        outcome_fail(o, "the guest read CR0 0x%lx, CR4 0x%lx; expected 0x%lx, 0x%lx (TS, TSD "
                     "from the shadows, VMXE hidden)", d.cr0_a, d.cr4_a, want0, want4);
    else if (d.exits != 1)
        outcome_fail(o, "%u CR-access exits, expected 1 (only the write that changes TS)",
                     d.exits);
    else if (d.cr0_b != (unsigned long)cr0)
        outcome_fail(o, "after the emulated write the guest read CR0 0x%lx, expected 0x%lx",
                     d.cr0_b, (unsigned long)cr0);
    else if ((vmr(GUEST_CR0) & CR0_TS) != 0)
        outcome_fail(o, "the guest's real CR0.TS is set: the masked bit was written");
}

VMX_TEST_ALL_CPUS("vmx/cr-masks-shadows", check_cr_masks);

/* ------------------------------------------------------------------------ */
/* vmx/cr3-exiting: with CR3-load exiting (processor-based bit 15) a MOV
 * to CR3 exits unless its value is one of the first CR3_TARGET_COUNT
 * target values (SDM 3C 25.6.7, 26.1.3); with CR3-store exiting (bit 16) a
 * MOV from CR3 exits. Both give reason 28 with CR number 3 and access type
 * 0 or 1 (28.2.1 table 28-3). The other value written differs from the
 * target in PWT (bit 3) only: the same page tables, were it loaded. The
 * host answers the store with its own value. */

#define CR3_ANSWER 0x5a5a5000ul

struct cr3_data {
    unsigned long target, other, stored;
    u32 exits;
    bool store;
};

static void guest_cr3_load(void *arg)
{
    struct cr3_data *d = arg;
    __asm__ volatile("mov %0, %%cr3" : : "d"(d->target) : "memory");
    __asm__ volatile("mov %0, %%cr3" : : "d"(d->other) : "memory");
}

static void guest_cr3_store(void *arg)
{
    struct cr3_data *d = arg;
    unsigned long cr3;
    __asm__ volatile("mov %%cr3, %0" : "=d"(cr3));
    d->stored = cr3;
}

static enum exit_action cr3_hook(struct vcpu *v, u32 reason)
{
    struct cr3_data *d = v->test_data;
    if (reason != EXIT_REASON_CR_ACCESS)
        return EXIT_DEFAULT;
    d->exits++;
    if (d->store) {
        if (v->exit_qual != MOV_QUAL(3, MOV_QUAL_FROM, GPR_DX))
            return hook_fail(v, "MOV from CR3: qualification 0x%llx, expected 0x%llx",
                             v->exit_qual, MOV_QUAL(3, MOV_QUAL_FROM, GPR_DX));
        REG_DX(v) = CR3_ANSWER;
    } else if (v->exit_qual != MOV_QUAL(3, 0, GPR_DX) || (unsigned long)REG_DX(v) != d->other) {
        return hook_fail(v, "MOV to CR3: qualification 0x%llx, RDX 0x%llx, expected 0x203 and "
                         "the non-target value", v->exit_qual, (u64)REG_DX(v));
    }
    vcpu_skip_instruction(); /* the load is dropped */
    return EXIT_RESUME;
}

static void check_cr3_exiting(struct cpu_outcome *o, void *arg)
{
    u32 targets = (u32)(vmx_caps.misc >> 16) & 0x1ff;
    struct cr3_data d;
    struct vcpu *v;
    bool load, store;
    (void)arg;

    if (vmx_unavailable()) {
        outcome_skip(o, "%s", vmx_unavailable());
        return;
    }
    load = (vmx_caps.proc.allowed1 & CPU_CR3_LOAD_EXITING) && targets > 0;
    store = vmx_caps.proc.allowed1 & CPU_CR3_STORE_EXITING;
    if (!load && !store) {
        outcome_skip(o, "%s bits 15 and 16 (CR3-load/store exiting) may not be 1, or "
                     "IA32_VMX_MISC bits 24:16 (CR3 targets) are 0", control_msr(CTL_PROC));
        return;
    }
    if (load) {
        if (!(v = test_guest(o)))
            return;
        memset(&d, 0, sizeof(d));
        d.target = read_cr3();
        d.other = d.target ^ 0x8;
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_CR3_LOAD_EXITING);
        vmw(CR3_TARGET_COUNT, 1);
        vmw(CR3_TARGET_VALUE0, d.target);
        v->hook = cr3_hook;
        v->test_data = &d;
        if (!test_guest_run(o, v, guest_cr3_load, &d))
            return;
        if (d.exits != 1) {
            outcome_fail(o, "%u CR3-load exits, expected 1 (the target value does not exit)",
                         d.exits);
            return;
        }
    }
    if (store) {
        if (!(v = test_guest(o)))
            return;
        memset(&d, 0, sizeof(d));
        d.store = true;
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_CR3_STORE_EXITING);
        v->hook = cr3_hook;
        v->test_data = &d;
        if (!test_guest_run(o, v, guest_cr3_store, &d))
            return;
        if (d.exits != 1 || d.stored != CR3_ANSWER)
            outcome_fail(o, "%u CR3-store exits, the guest read 0x%lx; expected 1 and 0x%lx",
                         d.exits, d.stored, CR3_ANSWER);
    }
}

VMX_TEST_ALL_CPUS("vmx/cr3-exiting", check_cr3_exiting);

/* ------------------------------------------------------------------------ */
/* vmx/mov-dr-exiting: with MOV-DR exiting (processor-based bit 23) every
 * MOV to or from a debug register exits with reason 29 (SDM 3C 26.1.3);
 * the qualification holds the DR number (bits 2:0), the direction (bit 4:
 * 0 = to DR, 1 = from DR) and the register (bits 11:8) (28.2.1 table
 * 28-4). The guest writes DR1 from RDX and reads DR3 into RCX; the host
 * drops the write and answers the read. */

#define DR_WRITTEN 0x7000d1ul
#define DR_ANSWER 0x7000d3ul

struct dr_data {
    unsigned long read;
    u32 exits;
};

static void guest_dr(void *arg)
{
    struct dr_data *d = arg;
    unsigned long r;
    __asm__ volatile("mov %0, %%dr1" : : "d"(DR_WRITTEN));
    __asm__ volatile("mov %%dr3, %0" : "=c"(r));
    d->read = r;
}

static enum exit_action dr_hook(struct vcpu *v, u32 reason)
{
    struct dr_data *d = v->test_data;
    if (reason != EXIT_REASON_DR_ACCESS)
        return EXIT_DEFAULT;
    if (d->exits == 0 && (v->exit_qual != MOV_QUAL(1, 0, GPR_DX) ||
                          (unsigned long)REG_DX(v) != DR_WRITTEN))
        return hook_fail(v, "MOV to DR1: qualification 0x%llx, RDX 0x%llx, expected 0x201",
                         v->exit_qual, (u64)REG_DX(v));
    if (d->exits == 1 && v->exit_qual != MOV_QUAL(3, MOV_QUAL_FROM, GPR_CX))
        return hook_fail(v, "MOV from DR3: qualification 0x%llx, expected 0x%llx", v->exit_qual,
                         MOV_QUAL(3, MOV_QUAL_FROM, GPR_CX));
    if (d->exits == 1)
        REG_CX(v) = DR_ANSWER;
    d->exits++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void check_mov_dr(struct cpu_outcome *o, void *arg)
{
    struct dr_data d = {0, 0};
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_MOV_DR_EXITING, "MOV-DR exiting") ||
        !(v = test_guest(o)))
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_MOV_DR_EXITING);
    v->hook = dr_hook;
    v->test_data = &d;
    if (!test_guest_run(o, v, guest_dr, &d))
        return;
    if (d.exits != 2 || d.read != DR_ANSWER)
        outcome_fail(o, "%u MOV-DR exits, the guest read DR3 as 0x%lx; expected 2 and 0x%lx",
                     d.exits, d.read, DR_ANSWER);
}

VMX_TEST_ALL_CPUS("vmx/mov-dr-exiting", check_mov_dr);

/* ------------------------------------------------------------------------ */
/* vmx/instruction-exits: each instruction whose exit control this CPU
 * allows exits with its reason (SDM 3C 26.1.2-26.1.3, appendix C): INVLPG
 * (bit 9, reason 14, qualification = the linear address, 28.2.1), RDPMC
 * (bit 11, 15), PAUSE (bit 30, 40), WBINVD (secondary bit 6, 54), MONITOR
 * (bit 29, 39) and MWAIT (bit 10, 36) when CPUID.01H:ECX.MONITOR, XSETBV
 * (always exits, 55) when CPUID.01H:ECX.XSAVE (the guest gets CR4.OSXSAVE),
 * and descriptor-table exiting (secondary bit 2): SGDT reason 46, SLDT and
 * STR reason 47 with the instruction identity in VM-exit instruction
 * information bits 29:28 (28.2.5). The host skips each instruction. */

enum ie_op { IE_INVLPG, IE_RDPMC, IE_PAUSE, IE_WBINVD, IE_MONITOR, IE_MWAIT, IE_XSETBV,
             IE_SGDT, IE_SLDT, IE_STR, IE_OPS };

static const struct {
    const char *name;
    u32 reason;
    int identity; /* instruction information bits 29:28, or -1 */
} ie_ops[IE_OPS] = {
    [IE_INVLPG] = {"INVLPG", EXIT_REASON_INVLPG, -1},
    [IE_RDPMC] = {"RDPMC", EXIT_REASON_RDPMC, -1},
    [IE_PAUSE] = {"PAUSE", EXIT_REASON_PAUSE, -1},
    [IE_WBINVD] = {"WBINVD", EXIT_REASON_WBINVD, -1},
    [IE_MONITOR] = {"MONITOR", EXIT_REASON_MONITOR, -1},
    [IE_MWAIT] = {"MWAIT", EXIT_REASON_MWAIT, -1},
    [IE_XSETBV] = {"XSETBV", EXIT_REASON_XSETBV, -1},
    [IE_SGDT] = {"SGDT", EXIT_REASON_GDTR_IDTR, 0},
    [IE_SLDT] = {"SLDT", EXIT_REASON_LDTR_TR, 0},
    [IE_STR] = {"STR", EXIT_REASON_LDTR_TR, 1},
};

struct ie_data {
    u32 ops[IE_OPS], n, step;
    u8 table[16]; /* SGDT's operand (not written: the exit comes first) */
    char bad[120];
};

static void guest_ie(void *arg)
{
    struct ie_data *d = arg;
    for (u32 i = 0; i < d->n; i++) {
        switch (d->ops[i]) {
        case IE_INVLPG:
            __asm__ volatile("invlpg (%0)" : : "r"(d->table) : "memory");
            break;
        case IE_RDPMC:
            __asm__ volatile("rdpmc" : : "c"(0) : "eax", "edx");
            break;
        case IE_PAUSE:
            __asm__ volatile("pause");
            break;
        case IE_WBINVD:
            __asm__ volatile("wbinvd" ::: "memory");
            break;
        case IE_MONITOR:
            __asm__ volatile("monitor" : : "a"(d->table), "c"(0), "d"(0));
            break;
        case IE_MWAIT:
            __asm__ volatile("mwait" : : "a"(0), "c"(0));
            break;
        case IE_XSETBV:
            __asm__ volatile("xsetbv" : : "a"(1), "c"(0), "d"(0));
            break;
        case IE_SGDT:
            __asm__ volatile("sgdt %0" : "=m"(d->table));
            break;
        case IE_SLDT:
            __asm__ volatile("sldt %%dx" ::: "edx");
            break;
        case IE_STR:
            __asm__ volatile("str %%dx" ::: "edx");
            break;
        }
    }
}

static enum exit_action ie_hook(struct vcpu *v, u32 reason)
{
    struct ie_data *d = v->test_data;
    if (reason == EXIT_REASON_CPUID || reason == EXIT_REASON_VMCALL ||
        reason == EXIT_REASON_EXTERNAL_INTERRUPT)
        return EXIT_DEFAULT;
    if (d->step >= d->n) {
        snprintf(d->bad, sizeof(d->bad), "exit %u after the last instruction", reason);
        return vcpu_fail(v, "%s", d->bad);
    }
    u32 op = d->ops[d->step];
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    bool ok = reason == ie_ops[op].reason;
    if (ok && op == IE_INVLPG && v->exit_qual != (uintptr_t)d->table)
        ok = false;
    if (ok && op == IE_XSETBV && ((u32)REG_CX(v) != 0 || (u32)REG_AX(v) != 1))
        ok = false;
    if (ok && ie_ops[op].identity >= 0 && (int)((info >> 28) & 3) != ie_ops[op].identity)
        ok = false;
    if (!ok) {
        snprintf(d->bad, sizeof(d->bad), "%s: exit reason %u, qualification 0x%llx, "
                 "instruction information 0x%x; expected reason %u", ie_ops[op].name, reason,
                 v->exit_qual, info, ie_ops[op].reason);
        return vcpu_fail(v, "%s", d->bad);
    }
    d->step++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The instructions this CPU lets exit, with the controls they need */
static void ie_plan(struct ie_data *d, u32 *proc, u32 *proc2, bool *osxsave)
{
    struct cpuid_regs c1 = cpuid(1, 0);
    bool sec = vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS;
    *proc = *proc2 = 0;
    *osxsave = false;
    d->n = 0;
#define IE_ADD(op) (d->ops[d->n++] = (op))
    if (vmx_caps.proc.allowed1 & CPU_INVLPG_EXITING) {
        *proc |= CPU_INVLPG_EXITING;
        IE_ADD(IE_INVLPG);
    }
    if (vmx_caps.proc.allowed1 & CPU_RDPMC_EXITING) {
        *proc |= CPU_RDPMC_EXITING;
        IE_ADD(IE_RDPMC);
    }
    if (vmx_caps.proc.allowed1 & CPU_PAUSE_EXITING) {
        *proc |= CPU_PAUSE_EXITING;
        IE_ADD(IE_PAUSE);
    }
    if (sec && (vmx_caps.proc2.allowed1 & CPU2_WBINVD_EXITING)) {
        *proc2 |= CPU2_WBINVD_EXITING;
        IE_ADD(IE_WBINVD);
    }
    if ((c1.ecx & CPUID1_ECX_MONITOR) &&
        (vmx_caps.proc.allowed1 & (CPU_MONITOR_EXITING | CPU_MWAIT_EXITING)) ==
            (CPU_MONITOR_EXITING | CPU_MWAIT_EXITING)) {
        *proc |= CPU_MONITOR_EXITING | CPU_MWAIT_EXITING;
        IE_ADD(IE_MONITOR);
        IE_ADD(IE_MWAIT);
    }
    if ((c1.ecx & CPUID1_ECX_XSAVE) && (vmx_caps.cr4_fixed1 & CR4_OSXSAVE)) {
        *osxsave = true;
        IE_ADD(IE_XSETBV);
    }
    if (sec && (vmx_caps.proc2.allowed1 & CPU2_DESCRIPTOR_TABLE_EXITING)) {
        *proc2 |= CPU2_DESCRIPTOR_TABLE_EXITING;
        IE_ADD(IE_SGDT);
        IE_ADD(IE_SLDT);
        IE_ADD(IE_STR);
    }
#undef IE_ADD
    if (*proc2)
        *proc |= CPU_ACTIVATE_SECONDARY_CONTROLS;
}

static void check_instruction_exits(struct cpu_outcome *o, void *arg)
{
    struct ie_data d;
    u32 proc, proc2, value, missing;
    bool osxsave;
    struct vcpu *v;
    (void)arg;

    if (!(v = test_guest(o)))
        return;
    memset(&d, 0, sizeof(d));
    ie_plan(&d, &proc, &proc2, &osxsave);
    if (!d.n) {
        outcome_skip(o, "%s allows none of INVLPG/RDPMC/PAUSE/MONITOR exiting, and no XSAVE",
                     control_msr(CTL_PROC));
        return;
    }
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | proc, &value,
                    &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, value);
    if (proc & CPU_ACTIVATE_SECONDARY_CONTROLS) {
        if (!vmx_adjust(&vmx_caps.proc2, proc2, &value, &missing)) {
            outcome_fail(o, "secondary controls: bits 0x%x not allowed", missing);
            return;
        }
        vmw(SECONDARY_VM_EXEC_CONTROL, value);
    }
    if (osxsave)
        vmw(GUEST_CR4, vmr(GUEST_CR4) | CR4_OSXSAVE);
    v->hook = ie_hook;
    v->test_data = &d;
    bool ran = vcpu_run(v, guest_ie, &d).end == RUN_DONE;
    if (d.bad[0])
        outcome_fail(o, "%s", d.bad);
    else if (!ran)
        outcome_fail(o, "at %s: %s", d.step < d.n ? ie_ops[d.ops[d.step]].name : "the end",
                     v->why);
    else if (d.step != d.n)
        outcome_fail(o, "%s did not exit", ie_ops[d.ops[d.step]].name);
}

VMX_TEST("vmx/instruction-exits", test_instruction_exits);
static void test_instruction_exits(const char *name)
{
    if (vmx_caps.present && !vmx_unavailable()) {
        struct ie_data d;
        u32 proc, proc2;
        bool osxsave;
        ie_plan(&d, &proc, &proc2, &osxsave);
        printf("vmx: instruction-exits on CPU 0:");
        for (u32 i = 0; i < d.n; i++)
            printf(" %s", ie_ops[d.ops[i]].name);
        printf("\n");
    }
    verdict_all_cpus(name, check_instruction_exits, NULL);
}

/* ------------------------------------------------------------------------ */
/* vmx/exception-bitmap-pf-mask-match: with bit 14 set in the exception
 * bitmap a #PF exits only when (error code AND PAGE_FAULT_ERROR_CODE_MASK)
 * equals PAGE_FAULT_ERROR_CODE_MATCH; otherwise it is delivered to the
 * guest (SDM 3C 26.2, 25.6.3). The guest reads address 0x10 (page 0 is
 * not present: error code 0). Mask P (bit 0), match 0: the #PF exits with
 * reason 0, vector 14, the error code, and CR2's address as the
 * qualification (28.2.1). Mask P, match P: the guest's own IDT handler
 * takes it. The faulting instruction is MOV (xAX), ECX, 2 bytes: the host
 * or the guest's handler steps over it and puts the error code in EDX.
 * The guest runs without external-interrupt exiting (IF clear): with 2+
 * CPUs Bochs saves a stale RIP at an external-interrupt exit right after
 * it delivered the #PF to the guest's handler (vmx/exit-after-delivery,
 * docs/l0-deviations.md), and the guest later returns to address 0. */

#define PF_ADDR 0x10ul
#define PF_NOTHING 0xeeeeul
#define PF_FROM_HOST 0x10000ul

#ifdef __x86_64__
__asm__(".text\n"
        ".globl lhv_ic_pf_stub\n"
        "lhv_ic_pf_stub:\n\t"
        "pop %rdx\n\t"
        "addq $2, (%rsp)\n\t"
        "iretq\n");
#else
__asm__(".text\n"
        ".globl lhv_ic_pf_stub\n"
        "lhv_ic_pf_stub:\n\t"
        "pop %edx\n\t"
        "addl $2, (%esp)\n\t"
        "iret\n");
#endif
extern char lhv_ic_pf_stub[];

static void *pf_idt;

struct pf_data {
    unsigned long err;
    u32 exits;
};

static void guest_pf(void *arg)
{
    struct pf_data *d = arg;
    unsigned long err = PF_NOTHING;
    __asm__ volatile("mov (%1), %%ecx" : "+d"(err) : "a"(PF_ADDR) : "ecx", "memory");
    d->err = err;
}

static enum exit_action pf_hook(struct vcpu *v, u32 reason)
{
    struct pf_data *d = v->test_data;
    if (reason != EXIT_REASON_EXCEPTION_NMI)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VM_EXIT_INTR_INFO);
    /* valid, hardware exception, error code valid, vector 14 */
    if ((info & 0x80000fffu) != 0x80000b0eu || v->exit_qual != PF_ADDR)
        return hook_fail(v, "exception exit: interruption info 0x%llx, qualification 0x%llx; "
                         "expected #PF (0x80000b0e) at 0x10", info, v->exit_qual);
    d->exits++;
    REG_DX(v) = PF_FROM_HOST | (u32)vmr(VM_EXIT_INTR_ERROR_CODE);
    vmw(GUEST_RIP, vmr(GUEST_RIP) + 2);
    return EXIT_RESUME;
}

static bool pf_run(struct cpu_outcome *o, u32 match, struct pf_data *d)
{
    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return false;
    struct vcpu *v = test_guest(o);
    if (!v)
        return false;
    vmw(PIN_BASED_VM_EXEC_CONTROL, vmr(PIN_BASED_VM_EXEC_CONTROL) &
                                       ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    memset(d, 0, sizeof(*d));
    vmw(EXCEPTION_BITMAP, 1u << VEC_PF);
    vmw(PAGE_FAULT_ERROR_CODE_MASK, 1);
    vmw(PAGE_FAULT_ERROR_CODE_MATCH, match);
    vmw(GUEST_IDTR_BASE, (uintptr_t)pf_idt);
    vmw(GUEST_IDTR_LIMIT, 256 * IDT_GATE_SIZE - 1);
    v->hook = pf_hook;
    v->test_data = d;
    return test_guest_run(o, v, guest_pf, d);
}

static void check_pf_mask_match(struct cpu_outcome *o, void *arg)
{
    struct pf_data d;
    (void)arg;

    if (!pf_run(o, 0, &d))
        return;
    if (d.exits != 1 || d.err != PF_FROM_HOST) {
        outcome_fail(o, "mask 1, match 0: %u #PF exits, guest EDX 0x%lx; expected 1 exit with "
                     "error code 0 (0x%lx)", d.exits, d.err, PF_FROM_HOST);
        return;
    }
    if (!pf_run(o, 1, &d))
        return;
    if (d.exits != 0 || d.err != 0)
        outcome_fail(o, "mask 1, match 1: %u #PF exits, guest EDX 0x%lx; expected no exit and "
                     "the guest's handler with error code 0", d.exits, d.err);
}

/* An interrupt gate to handler with selector SEL_KCODE (SDM 3A 6.11, 6.14.1) */
static void pf_gate(void *idt, u32 vector, uintptr_t handler)
{
    u32 *g = (u32 *)((u8 *)idt + vector * IDT_GATE_SIZE);
    g[0] = ((u32)SEL_KCODE << 16) | (u32)(handler & 0xffff);
    g[1] = ((u32)handler & 0xffff0000u) | 0x8e00u; /* present, DPL 0, interrupt gate */
#ifdef __x86_64__
    g[2] = (u32)((u64)handler >> 32);
    g[3] = 0;
#endif
}

VMX_TEST("vmx/exception-bitmap-pf-mask-match", test_pf_mask_match);
static void test_pf_mask_match(const char *name)
{
    if (vmx_caps.present && !pf_idt) {
        pf_idt = alloc_pages(1);
        memset(pf_idt, 0, PAGE_SIZE);
        pf_gate(pf_idt, VEC_PF, (uintptr_t)lhv_ic_pf_stub);
    }
    verdict_all_cpus(name, check_pf_mask_match, NULL);
}
