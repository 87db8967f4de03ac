/* Entering and leaving VMX operation on one CPU (SDM 3C 24.7, 24.8). */
#include "alloc.h"
#include "catch.h"
#include "console.h"
#include "cpu.h"
#include "string.h"
#include "vmx.h"
#include "x86.h"

static void *vmxon_region[LHV_MAX_CPUS];
static bool cpu_on[LHV_MAX_CPUS];
/* A CPU whose IA32_FEATURE_CONTROL was unlocked when LHV came: what VMXON
 * raised then, before LHV locked it (vmx/feature-control-unlocked) */
static struct {
    bool unlocked;
    u64 found;
    int vector;
    u32 error_code;
} fc_probe[LHV_MAX_CPUS];

static void vmx_region_stamp(void *region)
{
    *(u32 *)region = vmx_caps.revision; /* bit 31 clear: not a shadow VMCS */
}

void vmx_region_init(void *region)
{
    memset(region, 0, PAGE_SIZE);
    vmx_region_stamp(region);
}

void *vmx_alloc_region(void)
{
    void *region = alloc_pages(1); /* zeroed */
    vmx_region_stamp(region);
    return region;
}

static int vmxon(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmxon %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

bool vmx_cpu_on(void) { return cpu_on[this_cpu()->index]; }

bool vmx_fc_unlocked_probe(u64 *found, int *vector, u32 *error_code)
{
    u32 i = this_cpu()->index;
    *found = fc_probe[i].found;
    *vector = fc_probe[i].vector;
    *error_code = fc_probe[i].error_code;
    return fc_probe[i].unlocked;
}

static void vmxon_probe(void *arg) { vmxon(*(u64 *)arg); }

/* VMXON with IA32_FEATURE_CONTROL unlocked must raise #GP(0) (31.3 VMXON):
 * tried once, before LHV locks the MSR */
static void fc_try_unlocked(u32 i, u64 fc)
{
    struct caught c;
    u64 pa = (uintptr_t)vmxon_region[i];
    fc_probe[i].unlocked = true;
    fc_probe[i].found = fc;
    fc_probe[i].vector = catch_exception(vmxon_probe, &pa, &c);
    fc_probe[i].error_code = (u32)c.error_code;
    if (fc_probe[i].vector == NO_EXCEPTION) /* it entered VMX operation: leave it */
        __asm__ volatile("vmxoff" : : : "cc", "memory");
}

u64 vmx_vmxon_pointer(void) { return (uintptr_t)vmxon_region[this_cpu()->index]; }

const char *vmx_enable_cpu(void)
{
    static char why[LHV_MAX_CPUS][120];
    u32 i = this_cpu()->index;
    u64 fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

    if (!vmx_caps.present)
        return vmx_caps.absent;
    if (cpu_on[i])
        return NULL;
    enum fc_action act = feature_control_decide(fc);
    if (act == FC_REFUSE) {
        snprintf(why[i], sizeof(why[i]),
                 "VMX is disabled and locked in IA32_FEATURE_CONTROL (0x%llx): enable Intel "
                 "Virtualization Technology (VT-x) in the firmware setup", fc);
        return why[i];
    }
    /* CR0 and CR4 must satisfy the fixed bits in VMX operation (24.8):
     * CR0.NE and CR4.VMXE are the ones usually missing. */
    write_cr0((read_cr0() | (unsigned long)vmx_caps.cr0_fixed0) & (unsigned long)vmx_caps.cr0_fixed1);
    write_cr4((read_cr4() | CR4_VMXE | (unsigned long)vmx_caps.cr4_fixed0) &
              (unsigned long)vmx_caps.cr4_fixed1);
    if (!vmxon_region[i])
        vmxon_region[i] = vmx_alloc_region();
    if (act == FC_ENABLE_AND_LOCK) {
        if (!fc_probe[i].unlocked)
            fc_try_unlocked(i, fc);
        wrmsr(MSR_IA32_FEATURE_CONTROL,
              fc | FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
    }
    int st = vmxon((uintptr_t)vmxon_region[i]);
    if (st != VMX_OK) {
        snprintf(why[i], sizeof(why[i]), "VMXON failed (%s)",
                 st == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid");
        return why[i];
    }
    cpu_on[i] = true;
    return NULL;
}

void vmx_disable_cpu(void)
{
    u32 i = this_cpu()->index;
    if (!cpu_on[i])
        return;
    __asm__ volatile("vmxoff" : : : "cc", "memory");
    write_cr4(read_cr4() & ~(unsigned long)CR4_VMXE);
    cpu_on[i] = false;
}

const char *vmx_unavailable(void)
{
    if (!vmx_caps.present)
        return vmx_caps.absent;
    return vmx_cpu_on() ? NULL : "VMX operation could not be entered on this CPU";
}
