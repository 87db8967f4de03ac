/* Leaving and re-entering VMX operation (SDM 3C 24.7), on every CPU: the
 * instructions that raise #UD outside it, VMXON's failures (31.3). */
#include "alloc.h"
#include "catch.h"
#include "cpu.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"


/* --- VMXOFF, VMXON ---------------------------------------------------- */

static int vmxon_insn(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmxon %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

/* Probes for catch_exception; the argument points to a physical address. */
static void probe_vmptrst(void *arg)
{
    u64 pa;
    (void)arg;
    __asm__ volatile("vmptrst %0" : "=m"(pa) : : "memory");
}

static void probe_vmread(void *arg)
{
    unsigned long field = GUEST_RIP, value;
    (void)arg;
    __asm__ volatile("vmread %1, %0" : "=r"(value) : "r"(field) : "cc");
}

static void probe_vmclear(void *arg)
{
    __asm__ volatile("vmclear %0" : : "m"(*(u64 *)arg) : "cc", "memory");
}

static void probe_vmxoff(void *arg)
{
    (void)arg;
    __asm__ volatile("vmxoff" : : : "cc", "memory");
}

static void probe_vmxon(void *arg)
{
    __asm__ volatile("vmxon %0" : : "m"(*(u64 *)arg) : "cc", "memory");
}

struct probe {
    const char *name;
    void (*fn)(void *);
};

static bool raises_ud(struct cpu_outcome *o, const struct probe *p, void *arg, const char *when)
{
    struct caught c;
    int vector = catch_exception(p->fn, arg, &c);

    if (vector == VEC_UD)
        return true;
    if (vector == NO_EXCEPTION)
        outcome_fail(o, "%s %s: no exception, expected #UD", p->name, when);
    else
        outcome_fail(o, "%s %s: exception %d (error code 0x%x), expected #UD", p->name, when,
                     vector, c.error_code);
    return false;
}

/* Outside VMX operation every VMX instruction raises #UD, with CR4.VMXE
 * clear (VMXON included) or set (31.3, the "not in VMX operation" test). */
static bool outside_vmx(struct cpu_outcome *o, u64 vmcs, u64 vmxon)
{
    static const struct probe clear_probes[] = {
        {"VMPTRST", probe_vmptrst}, {"VMREAD", probe_vmread}, {"VMCLEAR", probe_vmclear},
        {"VMXOFF", probe_vmxoff},   {"VMXON", probe_vmxon},
    };
    /* VMXON is left out here: with CR4.VMXE set it would enter VMX. */
    static const struct probe set_probes[] = {
        {"VMPTRST", probe_vmptrst}, {"VMREAD", probe_vmread}, {"VMCLEAR", probe_vmclear},
        {"VMXOFF", probe_vmxoff},
    };
    bool ok = true;

    if (vmx_cpu_on()) {
        outcome_fail(o, "vmx_disable_cpu left the CPU marked in VMX operation");
        return false;
    }
    if (read_cr4() & CR4_VMXE) {
        outcome_fail(o, "CR4.VMXE still set after vmx_disable_cpu");
        return false;
    }
    for (u32 i = 0; ok && i < sizeof(clear_probes) / sizeof(clear_probes[0]); i++)
        ok = raises_ud(o, &clear_probes[i], clear_probes[i].fn == probe_vmxon ? &vmxon : &vmcs,
                       "after VMXOFF with CR4.VMXE=0");
    write_cr4(read_cr4() | CR4_VMXE);
    for (u32 i = 0; ok && i < sizeof(set_probes) / sizeof(set_probes[0]); i++)
        ok = raises_ud(o, &set_probes[i], &vmcs, "after VMXOFF with CR4.VMXE=1");
    write_cr4(read_cr4() & ~(unsigned long)CR4_VMXE);
    return ok;
}

/* VMXON in VMX root operation fails (error 15 when a VMCS is current,
 * VMfailInvalid when none is); VMXOFF leaves VMX operation, VMX
 * instructions then raise #UD; VMXON enters it again with no current VMCS
 * (24.7, 31.3), and guests run again. */
static void check_vmxoff_vmxon(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    u64 vmxon = vmx_vmxon_pointer(), vmcs, cur;
    (void)arg;

    if (!v)
        return;
    vmcs = (uintptr_t)v->vmcs;
    if (!insn_fails_with(o, "VMXON in VMX root operation with a current VMCS", vmxon_insn(vmxon), 15))
        return;
    if (!insn_succeeds(o, "VMCLEAR before VMXOFF", vmx_vmclear(vmcs)))
        return;
    int st = vmxon_insn(vmxon);
    if (st != VMX_FAIL_INVALID) {
        outcome_fail(o, "VMXON in VMX root operation without a current VMCS: %s, expected "
                     "VMfailInvalid", vmx_status_name(st));
        return;
    }

    vmx_disable_cpu();
    bool ok = outside_vmx(o, vmcs, vmxon);
    const char *why = vmx_enable_cpu();
    if (why) {
        outcome_fail(o, "VMXON after VMXOFF: %s", why);
        return;
    }
    if (!ok)
        return;
    if ((cur = vmx_current_vmcs()) != NO_VMCS) {
        outcome_fail(o, "VMPTRST gave 0x%llx right after VMXON, expected FFFFFFFF_FFFFFFFF", cur);
        return;
    }
    if ((v = test_guest(o)) != NULL)
        test_guest_run_nop(o, v, "a guest after VMXOFF and VMXON");
}

VMX_TEST_ALL_CPUS("vmx/vmxoff-vmxon", check_vmxoff_vmxon);
