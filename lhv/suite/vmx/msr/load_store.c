/* MSRs across VM entry and VM exit, on every CPU: the VM-entry MSR-load,
 * VM-exit MSR-store and VM-exit MSR-load areas (SDM 3C 25.7.2, 25.8.2,
 * 27.4, 28.4, 28.6). The guest shares the host's CPU, so an MSR it really
 * writes changes the host's: only MSRs LHV does not use are written, and
 * the tests put them back. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/msr_area.h"
#include "vmx/vmx.h"
#include "x86.h"

/* --- vmx/msr-load-store ------------------------------------------------ */

#define LS_MAX 3

struct ls_msr {
    u32 msr;
    const char *name;
    u64 original;  /* the host's value before the test */
    u64 entry_val; /* in the VM-entry MSR-load area */
    u64 guest_val; /* what the guest writes */
    u64 exit_val;  /* in the VM-exit MSR-load area */
    u64 seen;      /* what the guest read first */
};

struct ls_run {
    u32 n;
    struct ls_msr m[LS_MAX];
};

static struct ls_run ls_runs[LHV_MAX_CPUS];
static struct vmx_msr_area entry_load[LHV_MAX_CPUS], exit_store[LHV_MAX_CPUS],
    exit_load[LHV_MAX_CPUS];

/* Guest: reads each MSR (passed through: the MSR bitmap is all zero),
 * then writes its own value. */
static void guest_load_store(void *arg)
{
    struct ls_run *r = arg;
    for (u32 i = 0; i < r->n; i++) {
        r->m[i].seen = rdmsr(r->m[i].msr);
        wrmsr(r->m[i].msr, r->m[i].guest_val);
    }
}

static void ls_add(struct ls_run *r, u32 msr, const char *name, u64 entry_val, u64 guest_val,
                   u64 exit_val)
{
    struct ls_msr *m = &r->m[r->n++];
    m->msr = msr;
    m->name = name;
    m->original = rdmsr(msr);
    m->entry_val = entry_val;
    m->guest_val = guest_val;
    m->exit_val = exit_val;
    m->seen = 0;
}

static void ls_restore(const struct ls_run *r)
{
    for (u32 i = 0; i < r->n; i++)
        wrmsr(r->m[i].msr, r->m[i].original);
}

/* The loaded value reaches the guest; the exit stores the guest's latest
 * value; the exit loads the host's. IA32_SYSENTER_ESP also has a guest-
 * state field: the area is processed after it on entry (27.4 after 27.3.2),
 * and after the host-state field on exit (28.6 after 28.5). */
static bool check_areas(struct cpu_outcome *o, struct vcpu *v, struct ls_run *r, u32 cpu)
{
    u64 field_val = TEST_ADDR(0x5f0000 + cpu * 0x100);
    u32 a = cpu;

    r->n = 0;
    ls_add(r, MSR_IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP", TEST_ADDR(0x110000 + cpu * 0x10),
           TEST_ADDR(0x220000 + cpu * 0x10), TEST_ADDR(0x330000 + cpu * 0x10));
    if (cpu_has_rdtscp())
        ls_add(r, MSR_IA32_TSC_AUX, "IA32_TSC_AUX", 0x1100 + a, 0x2200 + a, 0x3300 + a);
#ifdef __x86_64__
    ls_add(r, MSR_IA32_KERNEL_GS_BASE, "IA32_KERNEL_GS_BASE", TEST_ADDR(0x44400000 + cpu * 0x1000),
           TEST_ADDR(0x55500000 + cpu * 0x1000), TEST_ADDR(0x66600000 + cpu * 0x1000));
#endif
    msr_area_reset(&entry_load[cpu]);
    msr_area_reset(&exit_store[cpu]);
    msr_area_reset(&exit_load[cpu]);
    for (u32 i = 0; i < r->n; i++) {
        msr_area_add(&entry_load[cpu], r->m[i].msr, r->m[i].entry_val);
        msr_area_add(&exit_store[cpu], r->m[i].msr, 0xdead0000 + i);
        msr_area_add(&exit_load[cpu], r->m[i].msr, r->m[i].exit_val);
    }
    vmx_set_msr_areas(&entry_load[cpu], &exit_store[cpu], &exit_load[cpu]);
    vmw(GUEST_SYSENTER_ESP, field_val);

    bool ran = vcpu_run(v, guest_load_store, r).end == RUN_DONE;
    u64 host[LS_MAX];
    for (u32 i = 0; i < r->n; i++)
        host[i] = rdmsr(r->m[i].msr);
    ls_restore(r);
    if (!ran) {
        outcome_fail(o, "guest with %u-entry MSR areas: %s", r->n, v->why);
        return false;
    }
    for (u32 i = 0; i < r->n; i++) {
        const struct ls_msr *m = &r->m[i];
        const struct vmx_msr_entry *st = &exit_store[cpu].entries[i];
        if (m->seen != m->entry_val) {
            outcome_fail(o, "the guest read %s = 0x%llx, the VM-entry MSR-load area held 0x%llx",
                         m->name, m->seen, m->entry_val);
            return false;
        }
        if (st->index != m->msr || st->value != m->guest_val) {
            outcome_fail(o, "VM-exit MSR-store entry %u: MSR 0x%x value 0x%llx, expected %s = "
                         "0x%llx (the guest's last write)", i + 1, st->index, st->value,
                         m->name, m->guest_val);
            return false;
        }
        if (host[i] != m->exit_val) {
            outcome_fail(o, "after the exit the host's %s = 0x%llx, the VM-exit MSR-load area "
                         "held 0x%llx", m->name, host[i], m->exit_val);
            return false;
        }
    }
    u64 saved = vmr(GUEST_SYSENTER_ESP);
    if (saved != r->m[0].guest_val) {
        outcome_fail(o, "the exit saved GUEST_SYSENTER_ESP = 0x%llx, the guest wrote 0x%llx",
                     saved, r->m[0].guest_val);
        return false;
    }
    return true;
}

/* An MSR the VM-entry load may not touch (IA32_FS_BASE, 27.4) fails the
 * entry with basic reason 34 and the entry's 1-based index as the exit
 * qualification (27.8). */
static void check_msr_load_failure(struct cpu_outcome *o, struct vcpu *v, struct ls_run *r, u32 cpu)
{
    r->n = 0;
    ls_add(r, MSR_IA32_SYSENTER_ESP, "IA32_SYSENTER_ESP", TEST_ADDR(0x770000), 0, 0);
    msr_area_reset(&entry_load[cpu]);
    msr_area_add(&entry_load[cpu], MSR_IA32_SYSENTER_ESP, r->m[0].entry_val);
    msr_area_add(&entry_load[cpu], MSR_IA32_FS_BASE, 0);
    vmx_set_msr_areas(&entry_load[cpu], NULL, NULL);

    struct run_result res = vcpu_run(v, guest_load_store, r);
    bool ran = res.end == RUN_DONE;
    ls_restore(r);
    u32 reason = (u32)vmr(VM_EXIT_REASON);
    if (res.end != RUN_ENTRY_FAILURE || res.exit_reason != EXIT_REASON_MSR_LOADING ||
        v->exits != 1 || reason != (EXIT_REASON_ENTRY_FAILURE | EXIT_REASON_MSR_LOADING)) {
        outcome_fail(o, "VM-entry MSR load of IA32_FS_BASE: %s (exit reason 0x%x), expected "
                     "VM-entry failure 34", ran ? "the guest ran" : res.why, reason);
        return;
    }
    CHECK_EQ(o, res.qualification, 2); /* the failing entry's number, from 1 (SDM 3C 27.8) */
}

static void check_load_store(struct cpu_outcome *o, void *arg)
{
    u32 cpu = this_cpu()->index;
    struct vcpu *v = test_guest_with_msr_bitmaps(o);
    (void)arg;

    if (!v || !check_areas(o, v, &ls_runs[cpu], cpu))
        return;
    if ((v = test_guest_with_msr_bitmaps(o)) != NULL)
        check_msr_load_failure(o, v, &ls_runs[cpu], cpu);
}

VMX_TEST_ALL_CPUS("vmx/msr-load-store", check_load_store);
