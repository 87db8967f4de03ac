/* VMX instructions and their outcome (SDM 3C 31.2, 31.4), VMCS field
 * access for both subarchs, and the names of errors and exit reasons. */
#include "end.h"
#include "vmx.h"

#define STATUS(cf, zf) ((cf) ? VMX_FAIL_INVALID : (zf) ? VMX_FAIL_VALID : VMX_OK)

int vmx_vmclear(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmclear %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return STATUS(cf, zf);
}

int vmx_vmptrld(u64 pa)
{
    u8 cf, zf;
    __asm__ volatile("vmptrld %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "m"(pa) : "cc", "memory");
    return STATUS(cf, zf);
}

int vmx_vmptrst(u64 *pa)
{
    __asm__ volatile("vmptrst %0" : "=m"(*pa) : : "memory");
    return VMX_OK;
}

#ifndef __x86_64__
/* Bits 14:13 of an encoding give the width: 0 16-bit, 1 64-bit, 2 32-bit,
 * 3 natural. 32-bit code reaches the upper half of a 64-bit field through
 * the "high" encoding (bit 0 set), appendix B. */
static bool is_64bit_field(u32 field) { return ((field >> 13) & 3) == 1; }
#endif

static int vmread_native(u32 field, unsigned long *value)
{
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "=rm"(*value), "=qm"(cf), "=qm"(zf) : "r"((unsigned long)field)
                     : "cc", "memory");
    return STATUS(cf, zf);
}

static int vmwrite_native(u32 field, unsigned long value)
{
    u8 cf, zf;
    __asm__ volatile("vmwrite %3, %2\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "r"((unsigned long)field), "rm"(value)
                     : "cc", "memory");
    return STATUS(cf, zf);
}

int vmr_safe(u32 field, u64 *value)
{
    unsigned long lo = 0, hi = 0;
    int st = vmread_native(field, &lo);
#ifndef __x86_64__
    if (st == VMX_OK && is_64bit_field(field))
        st = vmread_native(field | 1, &hi);
#endif
    *value = ((u64)hi << 16 << 16) | lo;
    return st;
}

int vmw_safe(u32 field, u64 value)
{
    int st = vmwrite_native(field, (unsigned long)value);
#ifndef __x86_64__
    if (st == VMX_OK && is_64bit_field(field))
        st = vmwrite_native(field | 1, (unsigned long)(value >> 32));
#endif
    return st;
}

/* A VMREAD or VMWRITE that failed where LHV expected it to work: FATAL
 * with the field and the VM-instruction error (a VMfailValid leaves it in
 * the current VMCS; VMfailInvalid means there is none, SDM 3C 31.2). */
static __attribute__((noreturn, cold)) void access_failed(const char *insn, u32 field, int st)
{
    u64 err = 0;
    if (st == VMX_FAIL_VALID)
        vmr_safe(VM_INSTRUCTION_ERROR, &err);
    fatal("%s of field 0x%x failed (%s, error %llu: %s): a bug in LHV, or a probe that "
          "should use vmr_safe()/vmw_safe()", insn, field,
          st == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid", err,
          st == VMX_FAIL_VALID ? vmx_error_text((u32)err) : "no current VMCS");
}

static __attribute__((noreturn, cold)) void vmr_failed(u32 field)
{
    u64 ignored;
    access_failed("VMREAD", field, vmr_safe(field, &ignored)); /* again, for the status */
}

/* VMREAD whose failure (CF or ZF set, SDM 3C 31.2) jumps straight to the
 * report: one JBE on the VM-exit path instead of SETC/SETZ and a compare. */
static inline unsigned long vmread_checked(u32 field)
{
    unsigned long value;
    __asm__ goto("vmread %1, %0\n\tjbe %l[failed]"
                 : "=r"(value) : "r"((unsigned long)field) : "cc" : failed);
    return value;
failed:
    vmr_failed(field);
}

u64 vmr(u32 field)
{
    u64 v = vmread_checked(field);
#ifndef __x86_64__
    if (is_64bit_field(field))
        v |= (u64)vmread_checked(field | 1) << 32;
#endif
    return v;
}

void vmw(u32 field, u64 value)
{
    int st = vmw_safe(field, value);
    if (st != VMX_OK)
        access_failed("VMWRITE", field, st);
}

u64 vmx_current_vmcs(void)
{
    u64 pa = 0;
    vmx_vmptrst(&pa);
    return pa;
}

void vmw_or(u32 field, u64 bits) { vmw(field, vmr(field) | bits); }

/* VM-instruction error numbers (SDM 3C 31.4) */
const char *vmx_error_text(u32 error)
{
    static const char *const text[] = {
        [1] = "VMCALL executed in VMX root operation",
        [2] = "VMCLEAR with invalid physical address",
        [3] = "VMCLEAR with VMXON pointer",
        [4] = "VMLAUNCH with non-clear VMCS",
        [5] = "VMRESUME with non-launched VMCS",
        [6] = "VMRESUME after VMXOFF",
        [7] = "VM entry with invalid control field(s)",
        [8] = "VM entry with invalid host-state field(s)",
        [9] = "VMPTRLD with invalid physical address",
        [10] = "VMPTRLD with VMXON pointer",
        [11] = "VMPTRLD with incorrect VMCS revision identifier",
        [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
        [13] = "VMWRITE to read-only VMCS component",
        [15] = "VMXON executed in VMX root operation",
        [16] = "VM entry with invalid executive-VMCS pointer",
        [17] = "VM entry with non-launched executive VMCS",
        [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
        [19] = "VMCALL with non-clear VMCS",
        [20] = "VMCALL with invalid VM-exit control fields",
        [22] = "VMCALL with incorrect MSEG revision identifier",
        [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
        [24] = "VMCALL with invalid SMM-monitor features",
        [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
        [26] = "VM entry with events blocked by MOV SS",
        [28] = "invalid operand to INVEPT/INVVPID",
    };
    if (error < sizeof(text) / sizeof(text[0]) && text[error])
        return text[error];
    return "unknown VM-instruction error";
}

const char *vmx_exit_reason_name(u32 reason)
{
    static const char *const names[EXIT_REASON_MAX] = {
        [EXIT_REASON_EXCEPTION_NMI] = "exception or NMI",
        [EXIT_REASON_EXTERNAL_INTERRUPT] = "external interrupt",
        [EXIT_REASON_TRIPLE_FAULT] = "triple fault",
        [EXIT_REASON_INIT] = "INIT signal",
        [EXIT_REASON_SIPI] = "SIPI",
        [EXIT_REASON_INTERRUPT_WINDOW] = "interrupt window",
        [EXIT_REASON_NMI_WINDOW] = "NMI window",
        [EXIT_REASON_TASK_SWITCH] = "task switch",
        [EXIT_REASON_CPUID] = "CPUID",
        [EXIT_REASON_HLT] = "HLT",
        [EXIT_REASON_INVD] = "INVD",
        [EXIT_REASON_INVLPG] = "INVLPG",
        [EXIT_REASON_RDPMC] = "RDPMC",
        [EXIT_REASON_RDTSC] = "RDTSC",
        [EXIT_REASON_VMCALL] = "VMCALL",
        [19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD", [22] = "VMPTRST",
        [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE", [26] = "VMXOFF", [27] = "VMXON",
        [EXIT_REASON_CR_ACCESS] = "control-register access",
        [EXIT_REASON_DR_ACCESS] = "MOV DR",
        [EXIT_REASON_IO_INSTRUCTION] = "I/O instruction",
        [EXIT_REASON_MSR_READ] = "RDMSR",
        [EXIT_REASON_MSR_WRITE] = "WRMSR",
        [EXIT_REASON_INVALID_GUEST_STATE] = "VM-entry failure: invalid guest state",
        [EXIT_REASON_MSR_LOADING] = "VM-entry failure: MSR loading",
        [EXIT_REASON_MWAIT] = "MWAIT",
        [EXIT_REASON_MONITOR_TRAP_FLAG] = "monitor trap flag",
        [EXIT_REASON_MONITOR] = "MONITOR",
        [EXIT_REASON_PAUSE] = "PAUSE",
        [EXIT_REASON_MACHINE_CHECK] = "VM-entry failure: machine-check event",
        [EXIT_REASON_GDTR_IDTR] = "GDTR/IDTR access",
        [EXIT_REASON_LDTR_TR] = "LDTR/TR access",
        [EXIT_REASON_EPT_VIOLATION] = "EPT violation",
        [EXIT_REASON_EPT_MISCONFIG] = "EPT misconfiguration",
        [EXIT_REASON_INVEPT] = "INVEPT",
        [EXIT_REASON_RDTSCP] = "RDTSCP",
        [EXIT_REASON_PREEMPTION_TIMER] = "VMX-preemption timer expired",
        [EXIT_REASON_INVVPID] = "INVVPID",
        [EXIT_REASON_WBINVD] = "WBINVD",
        [EXIT_REASON_XSETBV] = "XSETBV",
    };
    if (reason < EXIT_REASON_MAX && names[reason])
        return names[reason];
    return "unnamed exit reason";
}
