/* Control-register access exits, on every CPU: CR0/CR4 guest/host masks
 * and read shadows, CR3-load exiting with the CR3-target values, CR3-store
 * exiting. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"

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
        return vcpu_fail(v, "MOV to CR0: qualification 0x%llx, RDX 0x%llx, expected 0x200 "
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
            return vcpu_fail(v, "MOV from CR3: qualification 0x%llx, expected 0x%llx",
                             v->exit_qual, (u64)MOV_QUAL(3, MOV_QUAL_FROM, GPR_DX));
        REG_DX(v) = CR3_ANSWER;
    } else if (v->exit_qual != MOV_QUAL(3, 0, GPR_DX) || (unsigned long)REG_DX(v) != d->other) {
        return vcpu_fail(v, "MOV to CR3: qualification 0x%llx, RDX 0x%llx, expected 0x203 and "
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
