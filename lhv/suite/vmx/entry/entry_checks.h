/* The VM-entry check tables (issue #6; controls.c, host_state.c,
 * guest_state.c, msr_load.c), on every CPU: deliberately invalid control,
 * host-state and guest-state settings and VM-entry MSR-load areas, each
 * with the failure the SDM names (3C chapter 27): VMfailValid with
 * VM-instruction error 7 (invalid control fields, 27.2.1) or 8 (invalid
 * host-state fields, 27.2.2-27.2.4), or a VM exit with bit 31 set and basic
 * reason 33 (invalid guest state, 27.3.1) or 34 (MSR loading, 27.4) with the
 * exit qualification of 27.8. Each row starts from a fresh valid test guest,
 * may first set up what the checked rule needs (prepare: I/O bitmaps, an
 * MSR area...), then breaks exactly one thing and attempts the entry. Then
 * the breakage is undone on the same VMCS and its valid twin must enter and
 * reach its VMCALL: a row cannot pass because everything fails. The twin is
 * entered with VMLAUNCH again: a failed entry leaves the VMCS clear (27.8,
 * the VMLAUNCH operation in 31.3). A row whose rule the CPU cannot express
 * (a capability it lacks) is skipped; CPU 0 prints one line naming them.
 * The machinery is entry_table.c. */
#ifndef LHV_SUITE_VMX_ENTRY_ENTRY_CHECKS_H
#define LHV_SUITE_VMX_ENTRY_ENTRY_CHECKS_H

#include "suite/vmx_test.h"
#include "vmx/msr_area.h"

extern char guest_entry[]; /* the guest's first instruction (enter-SUBARCH.S) */

#define EC_PAT_BAD 0x02 /* memory type 2 is reserved (SDM 3A 12.12.2) */

enum ec_expect { EC_VMFAIL, EC_EXIT };

struct ec_run;

/* One row: break one thing, expect one failure (VM-instruction error, or
 * basic exit reason with its qualification). */
struct ec_row {
    const char *name;
    const char *sdm;                         /* section of SDM 3C */
    const char *(*prepare)(struct ec_run *r); /* NULL, or returns a SKIP reason */
    void (*breakit)(struct ec_run *r);
    const void *arg;                         /* what prepare/breakit use */
    enum ec_expect expect;
    u32 code;                                /* error number or basic exit reason */
    u64 qual;                                /* exit qualification (EC_EXIT) */
    const char *bochs_bug;                   /* Bochs misses this check: XFAIL there */
};

#define EC_UNDO_MAX 4

/* One attempt on this CPU: what the guest is entered with, and what the
 * breakage changed (undone for the twin). */
struct ec_run {
    const struct ec_row *row;
    struct vcpu *v;
    uintptr_t rip;
    unsigned long rflags;
    u64 bit;  /* the control bit prepare chose */
    u32 nfields, nwords;
    struct { u32 field; u64 value; } fields[EC_UNDO_MAX];
    struct { u64 *addr; u64 value; } words[EC_UNDO_MAX];
};

struct ec_table {
    const char *what;
    const struct ec_row *rows;
    u32 n;
};

/* Runs every row of the table arg (a struct ec_table) on this CPU: the
 * check of verdict_all_cpus */
void ec_check_table(struct cpu_outcome *o, void *arg);

/* --- small facts --- */

/* An address just beyond the physical-address width (bit N set). */
u64 beyond_phys(void);

#ifdef __x86_64__
/* Bit 62 flipped: bits 63:N differ for any linear-address width N < 63. */
static inline u64 noncanonical(u64 a) { return a ^ (1ull << 62); }
#endif

static inline u64 lowest_bit(u64 mask) { return mask & (~mask + 1); }

/* This CPU's page of *pages, zeroed (allocated on first use) */
u8 *cpu_page(u8 *(*pages)[LHV_MAX_CPUS]);

/* MSR areas of one harmless entry each (IA32_SYSENTER_ESP = 0, what the
 * guest and the host have anyway): this CPU's area `which` (0 VM-entry
 * load, 1 VM-exit store, 2 VM-exit load), reset to that entry */
extern struct vmx_msr_area ec_areas[3][LHV_MAX_CPUS];
struct vmx_msr_area *ec_area(u32 which);

/* --- breaking (undone for the valid twin) --- */

void ec_set(struct ec_run *r, u32 field, u64 value);
static inline void ec_or(struct ec_run *r, u32 field, u64 bits)
{
    ec_set(r, field, vmr(field) | bits);
}
static inline void ec_clear(struct ec_run *r, u32 field, u64 bits)
{
    ec_set(r, field, vmr(field) & ~bits);
}
void ec_poke(struct ec_run *r, u64 *addr, u64 value);
#ifdef __x86_64__
/* The field the row's arg names made non-canonical (vmx_canonical_test) */
static inline void ec_noncanonical(struct ec_run *r)
{
    u32 field = (u32)(uintptr_t)r->row->arg;
    ec_set(r, field, noncanonical(vmr(field)));
}
#define EC_FIELD(f) ((const void *)(uintptr_t)(f))
#endif

/* --- prepare steps more than one table uses (NULL, or a SKIP reason) --- */

/* CR0.NE must be 1 (IA32_VMX_CR0_FIXED0) */
const char *prep_cr0_ne(struct ec_run *r);

/* The lowest bit IA32_VMX_CR4_FIXED1 says must be 0 (within the field) */
const char *prep_cr4_reserved(struct ec_run *r);

#endif
