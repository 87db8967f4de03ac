/* VM-entry checks of the host-state area, on every CPU (entry_checks.h). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "entry_checks.h"

/* Host state: VMfailValid, error 8 (27.2.2 control registers and MSRs,
 * 27.2.3 segment and descriptor-table registers, 27.2.4 address-space
 * size). */

static void brk_host_cr0_ne(struct ec_run *r) { ec_clear(r, HOST_CR0, CR0_NE); }
static void brk_host_cr4_vmxe(struct ec_run *r) { ec_clear(r, HOST_CR4, CR4_VMXE); }
static void brk_host_cr4_reserved(struct ec_run *r) { ec_or(r, HOST_CR4, r->bit); }
static void brk_host_cs_zero(struct ec_run *r) { ec_set(r, HOST_CS_SELECTOR, 0); }
static void brk_host_cs_rpl(struct ec_run *r) { ec_or(r, HOST_CS_SELECTOR, 1); }
static void brk_host_ds_ti(struct ec_run *r) { ec_or(r, HOST_DS_SELECTOR, 4); }
static void brk_host_tr_zero(struct ec_run *r) { ec_set(r, HOST_TR_SELECTOR, 0); }

/* IA32_PAT loaded on exit (the host's own value) */
static const char *prep_host_pat(struct ec_run *r)
{
    (void)r;
    if (!(cpuid(1, 0).edx & CPUID1_EDX_PAT))
        return "no IA32_PAT (CPUID.01H:EDX bit 16)";
    if (!(vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_PAT))
        return "IA32_VMX_EXIT_CTLS bit 19 (load IA32_PAT) may not be 1";
    vmw(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) | EXIT_LOAD_IA32_PAT);
    return NULL;
}

static void brk_host_pat(struct ec_run *r)
{
    ec_set(r, HOST_IA32_PAT, (vmr(HOST_IA32_PAT) & ~0xffull) | EC_PAT_BAD);
}

#ifdef __x86_64__
static void brk_host_cr3_beyond(struct ec_run *r) { ec_or(r, HOST_CR3, beyond_phys()); }
static void brk_host_address_space(struct ec_run *r)
{
    ec_clear(r, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE);
}
static void brk_host_fs_base(struct ec_run *r) { ec_set(r, HOST_FS_BASE, noncanonical(0)); }
static void brk_host_gdtr_base(struct ec_run *r)
{
    ec_set(r, HOST_GDTR_BASE, noncanonical(vmr(HOST_GDTR_BASE)));
}
static void brk_host_tr_base(struct ec_run *r)
{
    ec_set(r, HOST_TR_BASE, noncanonical(vmr(HOST_TR_BASE)));
}
static void brk_host_rip(struct ec_run *r) { ec_set(r, HOST_RIP, noncanonical(vmr(HOST_RIP))); }

/* The VM-exit control "load CET state" with the host's CET fields 0 */
static const char *prep_host_cet(struct ec_run *r)
{
    (void)r;
    if (!(vmx_caps.exit.allowed1 & EXIT_LOAD_CET_STATE))
        return "IA32_VMX_EXIT_CTLS bit 28 (load CET state) may not be 1";
    vmw(HOST_S_CET, 0);
    vmw(HOST_SSP, 0);
    vmw(HOST_INTR_SSP_TABLE_ADDR, 0);
    vmw_or(VM_EXIT_CONTROLS, EXIT_LOAD_CET_STATE);
    return NULL;
}
#define HOST_NC(name, sdm, prep, field)                                                   \
    {name, "27.2." sdm, prep, ec_noncanonical, EC_FIELD(field), EC_VMFAIL, 8, 0, NULL}
static void brk_host_sysenter_eip(struct ec_run *r)
{
    ec_set(r, HOST_IA32_SYSENTER_EIP, noncanonical(0));
}

static const char *prep_host_efer(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER)
               ? NULL : "IA32_VMX_EXIT_CTLS bit 21 (load IA32_EFER) may not be 1";
}

static void brk_host_efer_lma(struct ec_run *r) { ec_clear(r, HOST_IA32_EFER, EFER_LMA); }
#else
static void brk_host_ss_zero(struct ec_run *r) { ec_set(r, HOST_SS_SELECTOR, 0); }

static const char *prep_exit_64bit(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.exit.allowed1 & EXIT_HOST_ADDRESS_SPACE_SIZE)
               ? NULL : "IA32_VMX_EXIT_CTLS bit 9 (host address-space size) may not be 1";
}

static void brk_host_address_space(struct ec_run *r)
{
    ec_or(r, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE);
}

static const char *prep_entry_64bit(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.entry.allowed1 & ENTRY_IA32E_MODE_GUEST)
               ? NULL : "IA32_VMX_ENTRY_CTLS bit 9 (IA-32e mode guest) may not be 1";
}

static void brk_ia32e_guest(struct ec_run *r)
{
    ec_or(r, VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
}

static const char *prep_pcide(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.cr4_fixed1 & CR4_PCIDE) ? NULL : "IA32_VMX_CR4_FIXED1 lacks CR4.PCIDE";
}

static void brk_host_pcide(struct ec_run *r) { ec_or(r, HOST_CR4, CR4_PCIDE); }
#endif

#define HOST(name, sdm, prep, brk) {name, "27.2." sdm, prep, brk, NULL, EC_VMFAIL, 8, 0, NULL}

static const struct ec_row host_rows[] = {
    HOST("host CR0.NE clear (IA32_VMX_CR0_FIXED0)", "2", prep_cr0_ne, brk_host_cr0_ne),
    HOST("host CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", "2", NULL, brk_host_cr4_vmxe),
    HOST("host CR4 bit outside IA32_VMX_CR4_FIXED1 set", "2", prep_cr4_reserved,
         brk_host_cr4_reserved),
    HOST("host IA32_PAT with reserved memory type 2", "2", prep_host_pat, brk_host_pat),
    HOST("host CS selector 0", "3", NULL, brk_host_cs_zero),
    HOST("host CS selector RPL 1", "3", NULL, brk_host_cs_rpl),
    HOST("host DS selector TI set", "3", NULL, brk_host_ds_ti),
    HOST("host TR selector 0", "3", NULL, brk_host_tr_zero),
#ifdef __x86_64__
    HOST("host CR3 beyond the physical-address width", "2", NULL, brk_host_cr3_beyond),
    HOST("host IA32_EFER.LMA clear with a 64-bit host", "2", prep_host_efer, brk_host_efer_lma),
    HOST("host FS base not canonical", "3", NULL, brk_host_fs_base),
    HOST("host GDTR base not canonical", "3", NULL, brk_host_gdtr_base),
    HOST("host TR base not canonical", "3", NULL, brk_host_tr_base),
    HOST("host IA32_SYSENTER_EIP not canonical", "2", NULL, brk_host_sysenter_eip),
    HOST_NC("host IA32_SYSENTER_ESP not canonical", "2", NULL, HOST_IA32_SYSENTER_ESP),
    HOST_NC("host IA32_S_CET not canonical with load CET state", "2", prep_host_cet,
            HOST_S_CET),
    HOST_NC("host SSP not canonical with load CET state", "2", prep_host_cet, HOST_SSP),
    HOST_NC("host IA32_INTERRUPT_SSP_TABLE_ADDR not canonical with load CET state", "2",
            prep_host_cet, HOST_INTR_SSP_TABLE_ADDR),
    HOST_NC("host GS base not canonical", "3", NULL, HOST_GS_BASE),
    HOST_NC("host IDTR base not canonical", "3", NULL, HOST_IDTR_BASE),
    HOST("host address-space size 0 in IA-32e mode", "4", NULL, brk_host_address_space),
    HOST("host RIP not canonical", "4", NULL, brk_host_rip),
#else
    HOST("host SS selector 0 with host address-space size 0", "3", NULL, brk_host_ss_zero),
    HOST("host address-space size 1 outside IA-32e mode", "4", prep_exit_64bit,
         brk_host_address_space),
    HOST("IA-32e mode guest outside IA-32e mode", "4", prep_entry_64bit, brk_ia32e_guest),
    HOST("host CR4.PCIDE with host address-space size 0", "4", prep_pcide, brk_host_pcide),
#endif
};

static const struct ec_table host_table = {"entry-checks-host-state", host_rows,
                                           ARRAY_SIZE(host_rows)};

VMX_TEST("vmx/entry-checks-host-state", test_entry_host);
static void test_entry_host(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&host_table);
}
