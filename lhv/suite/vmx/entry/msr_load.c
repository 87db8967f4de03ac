/* VM-entry MSR loading, on every CPU (entry_checks.h). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "entry_checks.h"

/* MSR loading: exit reason 34 with bit 31, the qualification the 1-based
 * index of the failing entry (27.4, 27.8). The VM-entry MSR-load area holds
 * `count` harmless entries (IA32_SYSENTER_ESP = 0); entry `pos` is replaced
 * by the bad one; the twin puts the harmless one back. */

struct ec_bad_msr {
    u32 count; /* entries in the area; the bad one at the row's qualification */
    u32 index, reserved;
    u64 value;
};

static const char *prep_entry_load(struct ec_run *r)
{
    const struct ec_bad_msr *b = r->row->arg;
    struct vmx_msr_area *a = &ec_areas[0][this_cpu()->index];

    msr_area_reset(a);
    for (u32 i = 0; i < b->count; i++)
        msr_area_add(a, MSR_IA32_SYSENTER_ESP, 0);
    vmx_set_msr_areas(a, NULL, NULL);
    return NULL;
}

static const char *prep_entry_load_lm(struct ec_run *r)
{
    if (!(cpuid(0x80000001, 0).edx & CPUID80000001_EDX_LM))
        return "no IA32_KERNEL_GS_BASE (CPUID.80000001H:EDX bit 29)";
    return prep_entry_load(r);
}

/* Entry number row->qual (1-based) becomes the bad one */
static void brk_entry_load(struct ec_run *r)
{
    const struct ec_bad_msr *b = r->row->arg;
    struct vmx_msr_entry *e = &ec_areas[0][this_cpu()->index].entries[r->row->qual - 1];

    /* An entry is two quadwords: index and reserved bits, then the value */
    ec_poke(r, (u64 *)e, b->index | (u64)b->reserved << 32);
    ec_poke(r, &e->value, b->value);
}

static const struct ec_bad_msr bad_fs_base = {3, MSR_IA32_FS_BASE, 0, 0};
static const struct ec_bad_msr bad_smbase = {2, MSR_IA32_SMBASE, 0, 0x30000};
static const struct ec_bad_msr bad_x2apic = {3, MSR_X2APIC_TPR, 0, 0};
static const struct ec_bad_msr bad_reserved = {2, MSR_IA32_SYSENTER_ESP, 1, 0};
static const struct ec_bad_msr bad_kernel_gs = {1, MSR_IA32_KERNEL_GS_BASE, 0, 1ull << 62};

#define EC_MSR_ROW(name, prep, bad, pos) \
    {name, "27.4", prep, brk_entry_load, &bad, EC_EXIT, EXIT_REASON_MSR_LOADING, pos, NULL}

static const struct ec_row msr_rows[] = {
    EC_MSR_ROW("IA32_FS_BASE as entry 2 of 3", prep_entry_load, bad_fs_base, 2),
    EC_MSR_ROW("IA32_SMBASE (SMM only) as entry 1 of 2", prep_entry_load, bad_smbase, 1),
    EC_MSR_ROW("x2APIC TPR (0x808) as entry 3 of 3", prep_entry_load, bad_x2apic, 3),
    EC_MSR_ROW("entry 2 of 2 with reserved bits 63:32 set", prep_entry_load, bad_reserved, 2),
    EC_MSR_ROW("IA32_KERNEL_GS_BASE not canonical (WRMSR would #GP) as entry 1 of 1",
            prep_entry_load_lm, bad_kernel_gs, 1),
};

static const struct ec_table msr_table = {"entry-checks-msr-load", msr_rows,
                                          ARRAY_SIZE(msr_rows)};

VMX_TEST("vmx/entry-checks-msr-load", test_entry_msr_load);
static void test_entry_msr_load(const char *name)
{
    verdict_all_cpus(name, ec_check_table, (void *)&msr_table);
}
