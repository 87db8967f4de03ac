/* VM-entry checks of the guest-state area, on every CPU (entry_checks.h). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "entry_checks.h"

/* Guest state: exit reason 33 with bit 31 (27.3.1), qualification 0 but
 * for the PDPTEs (2) and the VMCS link pointer (4) (27.8). */

static void brk_guest_cr0_ne(struct ec_run *r) { ec_clear(r, GUEST_CR0, CR0_NE); }
static void brk_guest_cr4_vmxe(struct ec_run *r) { ec_clear(r, GUEST_CR4, CR4_VMXE); }
static void brk_guest_cr4_reserved(struct ec_run *r) { ec_or(r, GUEST_CR4, r->bit); }

/* IA32_PAT loaded on entry (the host's own value) */
static const char *prep_guest_pat(struct ec_run *r)
{
    (void)r;
    if (!(cpuid(1, 0).edx & CPUID1_EDX_PAT))
        return "no IA32_PAT (CPUID.01H:EDX bit 16)";
    if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_PAT))
        return "IA32_VMX_ENTRY_CTLS bit 14 (load IA32_PAT) may not be 1";
    vmw(GUEST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmw(VM_ENTRY_CONTROLS, vmr(VM_ENTRY_CONTROLS) | ENTRY_LOAD_IA32_PAT);
    return NULL;
}

static void brk_guest_pat(struct ec_run *r)
{
    ec_set(r, GUEST_IA32_PAT, (vmr(GUEST_IA32_PAT) & ~0xffull) | EC_PAT_BAD);
}

static void brk_seg_ar(struct ec_run *r, u32 ar_field, u32 clear, u32 set)
{
    ec_set(r, ar_field, (vmr(ar_field) & ~(u64)clear) | set);
}

static void brk_cs_data(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0xf, 0x3); }
static void brk_cs_dpl(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0, AR_DPL3); }
static void brk_ss_code(struct ec_run *r) { brk_seg_ar(r, GUEST_SS_AR_BYTES, 0xf, 0xb); }
static void brk_ds_unaccessed(struct ec_run *r) { brk_seg_ar(r, GUEST_DS_AR_BYTES, 1, 0); }
static void brk_ds_granularity(struct ec_run *r) { brk_seg_ar(r, GUEST_DS_AR_BYTES, AR_G, 0); }
static void brk_tr_unusable(struct ec_run *r)
{
    brk_seg_ar(r, GUEST_TR_AR_BYTES, 0, AR_UNUSABLE);
}
static void brk_tr_available(struct ec_run *r) { brk_seg_ar(r, GUEST_TR_AR_BYTES, 0xf, 0x9); }
/* LDTR usable (present system segment) with type 3 instead of 2 */
static void brk_ldtr_type(struct ec_run *r) { ec_set(r, GUEST_LDTR_AR_BYTES, 0x83); }
static void brk_gdtr_limit(struct ec_run *r) { ec_set(r, GUEST_GDTR_LIMIT, 0x10000); }
static void brk_rflags_reserved(struct ec_run *r) { r->rflags = EFLAGS_RESERVED_15; }
static void brk_rflags_vm(struct ec_run *r) { r->rflags = EFLAGS_VM; }
static void brk_activity(struct ec_run *r) { ec_set(r, GUEST_ACTIVITY_STATE, 4); }
static void brk_sti_movss(struct ec_run *r) { ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 3); }
/* Blocking by STI with RFLAGS.IF = 0 (the run enters with IF clear) */
static void brk_sti_if0(struct ec_run *r) { ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 1); }
static void brk_interruptibility_reserved(struct ec_run *r)
{
    ec_set(r, GUEST_INTERRUPTIBILITY_INFO, 1u << 5);
}
static void brk_pending_dbg(struct ec_run *r) { ec_set(r, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4); }

static u8 *link_pages[LHV_MAX_CPUS];

/* A page that is no VMCS: its first word (revision) is 0 */
static void brk_link_zero_page(struct ec_run *r)
{
    ec_set(r, VMCS_LINK_POINTER, (uintptr_t)cpu_page(&link_pages));
}

static void brk_link_unaligned(struct ec_run *r)
{
    ec_set(r, VMCS_LINK_POINTER, (uintptr_t)r->v->vmcs + 0x800);
}

#ifdef __x86_64__
static void brk_guest_cr3_beyond(struct ec_run *r) { ec_or(r, GUEST_CR3, beyond_phys()); }
static void brk_cs_l_db(struct ec_run *r) { brk_seg_ar(r, GUEST_CS_AR_BYTES, 0, AR_DB); }
static void brk_fs_base(struct ec_run *r) { ec_set(r, GUEST_FS_BASE, noncanonical(0)); }
static void brk_gdtr_base(struct ec_run *r)
{
    ec_set(r, GUEST_GDTR_BASE, noncanonical(vmr(GUEST_GDTR_BASE)));
}
static void brk_guest_sysenter_esp(struct ec_run *r)
{
    ec_set(r, GUEST_SYSENTER_ESP, noncanonical(0));
}
static void brk_rip(struct ec_run *r) { r->rip = (uintptr_t)noncanonical(r->rip); }

/* A usable LDTR (its base is checked only then, 27.3.1.2) */
static const char *prep_ldtr_usable(struct ec_run *r)
{
    (void)r;
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, GDT_ENTRIES << 3, 0, 0, AR_PRESENT | AR_TYPE_LDT);
    return NULL;
}

/* "load CET state" with the guest's CET fields 0 */
static const char *prep_guest_cet(struct ec_run *r)
{
    (void)r;
    if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_CET_STATE))
        return "IA32_VMX_ENTRY_CTLS bit 20 (load CET state) may not be 1";
    vmw(GUEST_S_CET, 0);
    vmw(GUEST_SSP, 0);
    vmw(GUEST_INTR_SSP_TABLE_ADDR, 0);
    vmw_or(VM_ENTRY_CONTROLS, ENTRY_LOAD_CET_STATE);
    return NULL;
}
#define GUEST_NC(name, sdm, prep, field)                                                 \
    {name, "27.3.1." sdm, prep, ec_noncanonical, EC_FIELD(field), EC_EXIT,                \
     EXIT_REASON_INVALID_GUEST_STATE, 0, NULL}

static const char *prep_load_debug(struct ec_run *r)
{
    (void)r;
    if (!(vmx_caps.entry.allowed1 & ENTRY_LOAD_DEBUG_CONTROLS))
        return "IA32_VMX_ENTRY_CTLS bit 2 (load debug controls) may not be 1";
    vmw(VM_ENTRY_CONTROLS, vmr(VM_ENTRY_CONTROLS) | ENTRY_LOAD_DEBUG_CONTROLS);
    return NULL;
}

static void brk_dr7_high(struct ec_run *r) { ec_or(r, GUEST_DR7, 1ull << 32); }

static const char *prep_guest_efer(struct ec_run *r)
{
    (void)r;
    return (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER)
               ? NULL : "IA32_VMX_ENTRY_CTLS bit 15 (load IA32_EFER) may not be 1";
}

static void brk_guest_efer_lma(struct ec_run *r) { ec_clear(r, GUEST_IA32_EFER, EFER_LMA); }
#else
/* The guest's CR3 names a copy of the host's PDPT (PAE paging without
 * EPT: entry loads the four PDPTEs from it, 27.3.1.6) */
static u8 *pdpt_pages[LHV_MAX_CPUS];

static const char *prep_pdpt(struct ec_run *r)
{
    u64 *copy = (u64 *)cpu_page(&pdpt_pages);
    (void)r;
    memcpy(copy, (void *)(read_cr3() & ~0x1ful), 4 * sizeof(u64));
    if (!(copy[3] & 1))
        return "the host's PDPTE 3 is not present";
    vmw(GUEST_CR3, (uintptr_t)copy);
    return NULL;
}

/* Bit 1 of a present PDPTE is reserved (SDM 3A 4.4.1) */
static void brk_pdpte(struct ec_run *r)
{
    u64 *pdpt = (u64 *)(uintptr_t)vmr(GUEST_CR3);
    ec_poke(r, &pdpt[3], pdpt[3] | 2);
}
#endif

#define GUEST(name, sdm, prep, brk) \
    {name, "27.3.1." sdm, prep, brk, NULL, EC_EXIT, EXIT_REASON_INVALID_GUEST_STATE, 0, NULL}

static const struct ec_row guest_rows[] = {
    GUEST("guest CR0.NE clear (IA32_VMX_CR0_FIXED0)", "1", prep_cr0_ne, brk_guest_cr0_ne),
    GUEST("guest CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", "1", NULL, brk_guest_cr4_vmxe),
    GUEST("guest CR4 bit outside IA32_VMX_CR4_FIXED1 set", "1", prep_cr4_reserved,
          brk_guest_cr4_reserved),
    GUEST("guest IA32_PAT with reserved memory type 2", "1", prep_guest_pat, brk_guest_pat),
    GUEST("guest CS of data type 3", "2", NULL, brk_cs_data),
    GUEST("guest CS DPL 3 with SS DPL 0", "2", NULL, brk_cs_dpl),
    GUEST("guest SS of code type 11", "2", NULL, brk_ss_code),
    GUEST("guest DS type without the accessed bit", "2", NULL, brk_ds_unaccessed),
    GUEST("guest DS limit 0xffffffff with G clear", "2", NULL, brk_ds_granularity),
    GUEST("guest TR unusable", "2", NULL, brk_tr_unusable),
    GUEST("guest TR of type 9 (TSS not busy)", "2", NULL, brk_tr_available),
    GUEST("guest LDTR usable with type 3", "2", NULL, brk_ldtr_type),
    GUEST("guest GDTR limit above 0xffff", "3", NULL, brk_gdtr_limit),
    GUEST("guest RFLAGS reserved bit 15 set", "4", NULL, brk_rflags_reserved),
    GUEST("guest RFLAGS.VM set", "4", NULL, brk_rflags_vm),
    GUEST("guest activity state 4", "5", NULL, brk_activity),
    GUEST("guest blocking by STI and by MOV SS", "5", NULL, brk_sti_movss),
    GUEST("guest blocking by STI with RFLAGS.IF 0", "5", NULL, brk_sti_if0),
    GUEST("guest interruptibility bit 5 set", "5", NULL, brk_interruptibility_reserved),
    GUEST("guest pending debug exceptions bit 4 set", "5", NULL, brk_pending_dbg),
    {"VMCS link pointer to a page without the VMCS revision", "27.3.1.5", NULL,
     brk_link_zero_page, NULL, EC_EXIT, EXIT_REASON_INVALID_GUEST_STATE, 4, NULL},
    {"VMCS link pointer not page aligned", "27.3.1.5", NULL, brk_link_unaligned, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 4, NULL},
#ifdef __x86_64__
    GUEST("guest CR3 beyond the physical-address width", "1", NULL, brk_guest_cr3_beyond),
    GUEST("guest DR7 bit 32 set with load debug controls", "1", prep_load_debug, brk_dr7_high),
    GUEST("guest IA32_EFER.LMA clear in an IA-32e mode guest", "1", prep_guest_efer,
          brk_guest_efer_lma),
    GUEST("guest IA32_SYSENTER_ESP not canonical", "1", NULL, brk_guest_sysenter_esp),
    GUEST("guest CS with L and D/B set", "2", NULL, brk_cs_l_db),
    GUEST("guest FS base not canonical", "2", NULL, brk_fs_base),
    GUEST("guest GDTR base not canonical", "3", NULL, brk_gdtr_base),
    GUEST_NC("guest IA32_SYSENTER_EIP not canonical", "1", NULL, GUEST_SYSENTER_EIP),
    GUEST_NC("guest IA32_S_CET not canonical with load CET state", "1", prep_guest_cet,
             GUEST_S_CET),
    GUEST_NC("guest SSP not canonical with load CET state", "1", prep_guest_cet, GUEST_SSP),
    GUEST_NC("guest IA32_INTERRUPT_SSP_TABLE_ADDR not canonical with load CET state", "1",
             prep_guest_cet, GUEST_INTR_SSP_TABLE_ADDR),
    GUEST_NC("guest GS base not canonical", "2", NULL, GUEST_GS_BASE),
    GUEST_NC("guest TR base not canonical", "2", NULL, GUEST_TR_BASE),
    GUEST_NC("guest LDTR base not canonical (LDTR usable)", "2", prep_ldtr_usable,
             GUEST_LDTR_BASE),
    GUEST_NC("guest IDTR base not canonical", "3", NULL, GUEST_IDTR_BASE),
    /* Bochs 2.7 and 3.0 check only bits 63:32 of RIP, and only outside
     * 64-bit mode: the log shows the guest entered and "prefetch: #GP(0):
     * RIP crossed canonical boundary", so the exit is 0 (#GP), not 33. */
    {"guest RIP not canonical in 64-bit mode", "27.3.1.4", NULL, brk_rip, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 0, "no such check"},
#else
    {"guest PDPTE 3 with reserved bit 1 set", "27.3.1.6", prep_pdpt, brk_pdpte, NULL, EC_EXIT,
     EXIT_REASON_INVALID_GUEST_STATE, 2, NULL},
#endif
};

static const struct ec_table guest_table = {"entry-checks-guest-state", guest_rows,
                                            ARRAY_SIZE(guest_rows)};

VMX_TEST("vmx/entry-checks-guest-state", test_entry_guest);
static void test_entry_guest(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&guest_table);
}
