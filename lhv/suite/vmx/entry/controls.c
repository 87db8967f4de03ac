/* VM-entry checks of the VMX controls, on every CPU (entry_checks.h). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "entry_checks.h"

/* Controls: VMfailValid, error 7 (27.2.1). */

/* A control field and the capability MSR that rules it */
struct ec_ctl {
    u32 field;
    const struct vmx_ctl_caps *caps;
    const char *msr;
    bool secondary;
};

static const struct ec_ctl ctl_pin = {PIN_BASED_VM_EXEC_CONTROL, &vmx_caps.pin,
                                      "PINBASED_CTLS", false};
static const struct ec_ctl ctl_proc = {CPU_BASED_VM_EXEC_CONTROL, &vmx_caps.proc,
                                       "PROCBASED_CTLS", false};
static const struct ec_ctl ctl_proc2 = {SECONDARY_VM_EXEC_CONTROL, &vmx_caps.proc2,
                                        "PROCBASED_CTLS2", true};
static const struct ec_ctl ctl_exit = {VM_EXIT_CONTROLS, &vmx_caps.exit, "EXIT_CTLS", false};
static const struct ec_ctl ctl_entry = {VM_ENTRY_CONTROLS, &vmx_caps.entry, "ENTRY_CTLS",
                                        false};

static const char *need_proc(u32 bit, const char *why)
{
    return (vmx_caps.proc.allowed1 & bit) ? NULL : why;
}

static const char *prep_secondary(void)
{
    if (!(vmx_caps.proc.allowed1 & CPU_ACTIVATE_SECONDARY_CONTROLS))
        return "IA32_VMX_PROCBASED_CTLS bit 31 (activate secondary controls) may not be 1";
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, vmx_caps.proc2.allowed0);
    return NULL;
}

/* A bit the capability MSR says must be 1 (allowed 0-settings) */
static const char *prep_must_be_1(struct ec_run *r)
{
    const struct ec_ctl *c = r->row->arg;
    r->bit = lowest_bit(c->caps->allowed0);
    if (!r->bit)
        return c->secondary ? "no secondary control must be 1"
               : vmx_caps.true_ctls ? "the TRUE capability MSR has no must-be-1 bit"
                                    : "the capability MSR has no must-be-1 bit";
    return c->secondary ? prep_secondary() : NULL;
}

/* A bit the capability MSR says must be 0 (not an allowed 1-setting) */
static const char *prep_must_be_0(struct ec_run *r)
{
    const struct ec_ctl *c = r->row->arg;
    r->bit = lowest_bit((u32)~c->caps->allowed1);
    if (!r->bit)
        return "the capability MSR allows every bit to be 1";
    return c->secondary ? prep_secondary() : NULL;
}

static void brk_clear_bit(struct ec_run *r)
{
    ec_clear(r, ((const struct ec_ctl *)r->row->arg)->field, r->bit);
}

static void brk_set_bit(struct ec_run *r)
{
    ec_or(r, ((const struct ec_ctl *)r->row->arg)->field, r->bit);
}

static void brk_cr3_targets(struct ec_run *r)
{
    ec_set(r, CR3_TARGET_COUNT, ((vmx_caps.misc >> 16) & 0x1ff) + 1);
}

static u8 *io_pages[2][LHV_MAX_CPUS], *apic_pages[LHV_MAX_CPUS];

static const char *prep_io_bitmaps(struct ec_run *r)
{
    (void)r;
    const char *skip = need_proc(CPU_USE_IO_BITMAPS,
                                 "IA32_VMX_PROCBASED_CTLS bit 25 (use I/O bitmaps) may not be 1");
    if (skip)
        return skip;
    vmw(IO_BITMAP_A, (uintptr_t)cpu_page(&io_pages[0]));
    vmw(IO_BITMAP_B, (uintptr_t)cpu_page(&io_pages[1]));
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_IO_BITMAPS);
    return NULL;
}

static void brk_io_a_unaligned(struct ec_run *r) { ec_or(r, IO_BITMAP_A, 0x800); }
static void brk_io_b_beyond(struct ec_run *r) { ec_set(r, IO_BITMAP_B, beyond_phys()); }

static const char *prep_msr_bitmap(struct ec_run *r)
{
    (void)r;
    return need_proc(CPU_USE_MSR_BITMAPS,
                     "IA32_VMX_PROCBASED_CTLS bit 28 (use MSR bitmaps) may not be 1");
}

static void brk_msr_bitmap_unaligned(struct ec_run *r) { ec_or(r, MSR_BITMAP, 0x10); }

static const char *prep_msr_areas(struct ec_run *r)
{
    (void)r;
    vmx_set_msr_areas(ec_area(0), ec_area(1), ec_area(2));
    return NULL;
}

static void brk_entry_load_unaligned(struct ec_run *r) { ec_or(r, VM_ENTRY_MSR_LOAD_ADDR, 8); }
static void brk_exit_store_beyond(struct ec_run *r)
{
    ec_set(r, VM_EXIT_MSR_STORE_ADDR, beyond_phys());
}
static void brk_exit_load_unaligned(struct ec_run *r) { ec_or(r, VM_EXIT_MSR_LOAD_ADDR, 4); }

static const char *prep_nmi_window(struct ec_run *r)
{
    (void)r;
    return need_proc(CPU_NMI_WINDOW_EXITING,
                     "IA32_VMX_PROCBASED_CTLS bit 22 (NMI-window exiting) may not be 1");
}

static void brk_nmi_window(struct ec_run *r)
{
    ec_or(r, CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING);
}

static const char *prep_virtual_nmis(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.pin.allowed1 & PIN_VIRTUAL_NMIS)
               ? NULL : "IA32_VMX_PINBASED_CTLS bit 5 (virtual NMIs) may not be 1";
}

static void brk_virtual_nmis(struct ec_run *r)
{
    ec_or(r, PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS);
}

/* Use TPR shadow with a zeroed virtual-APIC page (VTPR 0), threshold 0 */
static const char *prep_tpr_shadow(struct ec_run *r)
{
    (void)r;
    const char *skip = need_proc(CPU_USE_TPR_SHADOW,
                                 "IA32_VMX_PROCBASED_CTLS bit 21 (use TPR shadow) may not be 1");
    if (skip)
        return skip;
    vmw(VIRTUAL_APIC_PAGE_ADDR, (uintptr_t)cpu_page(&apic_pages));
    vmw(TPR_THRESHOLD, 0);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TPR_SHADOW);
    return NULL;
}

static void brk_vapic_unaligned(struct ec_run *r) { ec_or(r, VIRTUAL_APIC_PAGE_ADDR, 0x400); }
static void brk_tpr_threshold_high(struct ec_run *r) { ec_set(r, TPR_THRESHOLD, 0x10); }
static void brk_tpr_above_vtpr(struct ec_run *r) { ec_set(r, TPR_THRESHOLD, 1); }

/* VM-entry interruption information (25.8.3): valid bit 31, type 10:8,
 * deliver error code 11, vector 7:0 */

static void brk_intr(struct ec_run *r, u32 info) { ec_set(r, VM_ENTRY_INTR_INFO_FIELD, info); }
/* type 1 is reserved */
static void brk_intr_type1(struct ec_run *r) { brk_intr(r, INTR_INFO(1u << 8, 0x20)); }
static void brk_intr_nmi_vector(struct ec_run *r) { brk_intr(r, INTR_INFO(INTR_TYPE_NMI, 3)); }
static void brk_intr_exception_32(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, 32));
}
static void brk_intr_ud_error_code(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD) | INTR_INFO_DELIVER_CODE);
}
static void brk_intr_gp_no_error_code(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP));
}
/* bits 30:12 are reserved */
static void brk_intr_reserved(struct ec_run *r)
{
    brk_intr(r, INTR_INFO(INTR_TYPE_EXT_INTR, 0x20) | (1u << 12));
}
static void brk_intr_error_high(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000);
    brk_intr(r, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE);
}

static const char *prep_error_code_rule(struct ec_run *r)
{
    (void)r;
    /* IA32_VMX_BASIC bit 56 (A.1): a hardware exception of any vector may be
     * injected with or without an error code (tigerlake in Bochs sets it) */
    return (vmx_caps.basic & (1ull << 56))
               ? "IA32_VMX_BASIC bit 56 allows any exception with or without an error code"
               : NULL;
}

static const char *prep_no_zero_length(struct ec_run *r)
{
    (void)r;
    /* IA32_VMX_MISC bit 30: entry may inject software interrupts and
     * exceptions with instruction length 0 (A.6) */
    return (vmx_caps.misc & (1ull << 30)) ? "IA32_VMX_MISC bit 30 allows instruction length 0"
                                          : NULL;
}

static void brk_intr_soft_length16(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_INSTRUCTION_LEN, 16);
    brk_intr(r, INTR_INFO(INTR_TYPE_SOFT_INTR, 0x30));
}

static void brk_intr_soft_length0(struct ec_run *r)
{
    ec_set(r, VM_ENTRY_INSTRUCTION_LEN, 0);
    brk_intr(r, INTR_INFO(INTR_TYPE_SOFT_INTR, 0x30));
}

#define CTL(name, sdm, prep, brk, arg) \
    {name, "27.2.1." sdm, prep, brk, arg, EC_VMFAIL, 7, 0, NULL}

static const struct ec_row control_rows[] = {
    CTL("pin-based must-be-1 bit clear", "1", prep_must_be_1, brk_clear_bit, &ctl_pin),
    CTL("pin-based must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_pin),
    CTL("processor-based must-be-1 bit clear", "1", prep_must_be_1, brk_clear_bit, &ctl_proc),
    CTL("processor-based must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_proc),
    CTL("secondary must-be-0 bit set", "1", prep_must_be_0, brk_set_bit, &ctl_proc2),
    CTL("CR3-target count above IA32_VMX_MISC[24:16]", "1", NULL, brk_cr3_targets, NULL),
    CTL("I/O bitmap A not page aligned", "1", prep_io_bitmaps, brk_io_a_unaligned, NULL),
    CTL("I/O bitmap B beyond the physical-address width", "1", prep_io_bitmaps,
        brk_io_b_beyond, NULL),
    CTL("MSR bitmap not page aligned", "1", prep_msr_bitmap, brk_msr_bitmap_unaligned, NULL),
    CTL("NMI-window exiting without virtual NMIs", "1", prep_nmi_window, brk_nmi_window, NULL),
    CTL("virtual NMIs without NMI exiting", "1", prep_virtual_nmis, brk_virtual_nmis, NULL),
    CTL("virtual-APIC address not page aligned", "1", prep_tpr_shadow, brk_vapic_unaligned, NULL),
    CTL("TPR threshold bits 31:4 set", "1", prep_tpr_shadow, brk_tpr_threshold_high, NULL),
    CTL("TPR threshold above VTPR[7:4]", "1", prep_tpr_shadow, brk_tpr_above_vtpr, NULL),
    CTL("VM-exit must-be-1 bit clear", "2", prep_must_be_1, brk_clear_bit, &ctl_exit),
    CTL("VM-exit must-be-0 bit set", "2", prep_must_be_0, brk_set_bit, &ctl_exit),
    CTL("VM-exit MSR-load address not 16-byte aligned", "2", prep_msr_areas,
        brk_exit_load_unaligned, NULL),
    CTL("VM-exit MSR-store address beyond the physical-address width", "2", prep_msr_areas,
        brk_exit_store_beyond, NULL),
    CTL("VM-entry must-be-1 bit clear", "3", prep_must_be_1, brk_clear_bit, &ctl_entry),
    CTL("VM-entry must-be-0 bit set", "3", prep_must_be_0, brk_set_bit, &ctl_entry),
    CTL("VM-entry MSR-load address not 16-byte aligned", "3", prep_msr_areas,
        brk_entry_load_unaligned, NULL),
    CTL("injected event of reserved type 1", "3", NULL, brk_intr_type1, NULL),
    CTL("injected NMI with vector 3", "3", NULL, brk_intr_nmi_vector, NULL),
    CTL("injected hardware exception with vector 32", "3", NULL, brk_intr_exception_32, NULL),
    CTL("injected #UD with deliver-error-code", "3", prep_error_code_rule,
        brk_intr_ud_error_code, NULL),
    CTL("injected #GP without deliver-error-code", "3", prep_error_code_rule,
        brk_intr_gp_no_error_code, NULL),
    CTL("interruption-information bits 30:12 set", "3", NULL, brk_intr_reserved, NULL),
    CTL("injected error code bits 31:16 set", "3", NULL, brk_intr_error_high, NULL),
    CTL("injected software interrupt with instruction length 16", "3", NULL,
        brk_intr_soft_length16, NULL),
    CTL("injected software interrupt with instruction length 0", "3", prep_no_zero_length,
        brk_intr_soft_length0, NULL),
};

static const struct ec_table control_table = {"entry-checks-controls", control_rows,
                                              ARRAY_SIZE(control_rows)};

VMX_TEST("vmx/entry-checks-controls", test_entry_controls);
static void test_entry_controls(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&control_table);
}
