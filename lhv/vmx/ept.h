/* Extended page tables and VPIDs (SDM 3C chapter 29): 4-level EPT that
 * maps guest-physical addresses identically to host-physical ones with the
 * memory types of the MTRRs, changes of single pages, the EPT pointer,
 * INVEPT and INVVPID, and the controls that turn EPT and VPID on. */
#ifndef LHV_VMX_EPT_H
#define LHV_VMX_EPT_H

#include "mtrr.h"
#include "vmx.h"

/* EPT paging-structure entries (29.3.2, tables 29-1 to 29-6) */
#define EPT_READ (1ull << 0)
#define EPT_WRITE (1ull << 1)
#define EPT_EXEC (1ull << 2) /* supervisor-mode execute with mode-based control */
#define EPT_RWX (EPT_READ | EPT_WRITE | EPT_EXEC)
#define EPT_TYPE_SHIFT 3     /* bits 5:3 of a leaf: memory type */
#define EPT_TYPE_MASK (7ull << EPT_TYPE_SHIFT)
#define EPT_IGNORE_PAT (1ull << 6)
#define EPT_LARGE (1ull << 7) /* a PDE (2 MiB) or PDPTE (1 GiB) that maps a page */
#define EPT_ACCESSED (1ull << 8)
#define EPT_DIRTY (1ull << 9)
#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define EPT_USER_EXEC (1ull << 10) /* user-mode execute, with mode-based control */
#define EPT_SUPPRESS_VE (1ull << 63)

/* EPT pointer (25.6.11) */
#define EPTP_TYPE_UC 0ull
#define EPTP_TYPE_WB 6ull
#define EPTP_WALK_4 (3ull << 3) /* page-walk length - 1 */
#define EPTP_AD (1ull << 6)     /* accessed and dirty flags on */

/* IA32_VMX_EPT_VPID_CAP (SDM 3D A.10) */
#define EPT_CAP_EXEC_ONLY (1ull << 0)
#define EPT_CAP_WALK_4 (1ull << 6)
#define EPT_CAP_UC (1ull << 8)
#define EPT_CAP_WB (1ull << 14)
#define EPT_CAP_2M (1ull << 16)
#define EPT_CAP_1G (1ull << 17)
#define EPT_CAP_INVEPT (1ull << 20)
#define EPT_CAP_AD (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL (1ull << 26)
#define VPID_CAP_INVVPID (1ull << 32)
#define VPID_CAP_INDIVIDUAL (1ull << 40)
#define VPID_CAP_SINGLE (1ull << 41)
#define VPID_CAP_ALL (1ull << 42)
#define VPID_CAP_SINGLE_GLOBALS (1ull << 43)

/* INVEPT and INVVPID types (31.3) */
#define INVEPT_SINGLE 1u
#define INVEPT_ALL 2u
#define INVVPID_ADDRESS 0u
#define INVVPID_SINGLE 1u
#define INVVPID_ALL 2u
#define INVVPID_SINGLE_GLOBALS 3u

/* VM-instruction error of INVEPT/INVVPID with an invalid operand (31.4) */
#define VMX_ERROR_INVALID_INV_OPERAND 28u

/* EPT violation exit qualification (28.2.1, table 28-7) */
#define EPT_QUAL_READ (1ull << 0)
#define EPT_QUAL_WRITE (1ull << 1)
#define EPT_QUAL_FETCH (1ull << 2)
#define EPT_QUAL_READABLE (1ull << 3)
#define EPT_QUAL_WRITABLE (1ull << 4)
#define EPT_QUAL_EXECUTABLE (1ull << 5)
#define EPT_QUAL_LINEAR_VALID (1ull << 7)
#define EPT_QUAL_TRANSLATION (1ull << 8) /* with bit 7: the access's own address */

/* One EPT hierarchy. Levels: 4 PML4, 3 PDPT, 2 PD, 1 PT. */
struct ept {
    u64 *pml4;
    u64 eptp;
    u64 top;                        /* [0, top) identity-mapped when built */
    const struct mtrr_state *mtrr;  /* types of identity pages */
    bool demand;                    /* no 2 MiB pages: identity pages on first use */
    /* What the identity map is made of */
    u32 tables, leaves_2m, leaves_4k;
    u32 by_type[8];                 /* leaves by memory type */
};

/* SKIP reasons (the MSR and the bit), NULL when the feature is usable:
 * EPT with 4-level walks, a WB or UC EPTP and INVEPT; VPID with INVVPID. */
const char *ept_unsupported(void);
const char *vpid_unsupported(void);

/* Snapshot of this CPU's MTRRs (CPUID.01H:EDX.MTRR, IA32_MTRRCAP,
 * IA32_MTRR_DEF_TYPE, fixed and variable ranges). */
void mtrr_read(struct mtrr_state *s);

/* Where the identity map should end: the end of what the host's own page
 * tables map (at least 4 GiB), within MAXPHYADDR. */
u64 ept_identity_top(void);

/* Builds an identity map of [0, top) with 2 MiB pages where the MTRRs
 * give the whole 2 MiB one type and 4 KiB pages elsewhere, every page
 * readable, writable and executable; without 2 MiB EPT pages
 * (IA32_VMX_EPT_VPID_CAP bit 16) it starts empty and ept_demand_map adds
 * 4 KiB pages as the guest touches them. m must outlive e. */
void ept_build_identity(struct ept *e, const struct mtrr_state *m, u64 top);

/* The entry that maps gpa (*level 1 = 4 KiB page, 2 = 2 MiB page) or, when
 * a level has no present entry, that entry (*level its level). NULL when
 * the walk leaves the tables. */
u64 *ept_entry(const struct ept *e, u64 gpa, int *level);

/* Maps the 4 KiB page at gpa to hpa with perms (EPT_READ/WRITE/EXEC) and
 * a memory type, splitting a 2 MiB page and adding tables as needed. */
void ept_map_4k(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type);
/* Maps the 2 MiB page at gpa to hpa (both 2 MiB aligned); any 4 KiB table
 * that was there is dropped (its page is not reused). */
void ept_map_2m(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type);
/* Maps the 1 GiB page at gpa to hpa (both 1 GiB aligned; needs
 * IA32_VMX_EPT_VPID_CAP bit 17); the tables below are dropped. */
void ept_map_1g(struct ept *e, u64 gpa, u64 hpa, u64 perms, u8 type);
/* Changes the permissions of the 4 KiB page at gpa, keeping its address
 * and type (0: not present); splits a 2 MiB page. */
void ept_protect_4k(struct ept *e, u64 gpa, u64 perms);
/* Puts the identity mapping of the 2 MiB region at gpa back as the build
 * made it. */
void ept_restore_identity_2m(struct ept *e, u64 gpa);
/* In a demand-mode map, adds the identity page for gpa when its entry was
 * never written (an EPT violation there is not a test's doing). */
bool ept_demand_map(struct ept *e, u64 gpa);

/* The memory type for a page of host memory: the MTRR type, UC if mixed. */
u8 ept_type_for(const struct ept *e, u64 hpa, u64 size);

/* INVEPT / INVVPID: VMX_OK, VMX_FAIL_INVALID or VMX_FAIL_VALID */
int invept(u32 type, u64 eptp);
int invvpid(unsigned long type, u16 vpid, u64 linear);
/* Invalidates e's mappings: single-context when the CPU has it, else
 * all-context. */
int ept_flush(const struct ept *e);

/* Turns EPT (e, may be NULL) and VPID (vpid, 0 = off) on for the current
 * VMCS (after vcpu_init): the secondary controls (exactly these two of
 * them, whatever an earlier user of the VMCS left), EPT pointer, VPID, and
 * for a PAE guest its PDPTEs (27.3.2.4 / 28.3.2.2). False with v->why when
 * the CPU does not allow the controls. */
bool vcpu_use_ept(struct vcpu *v, const struct ept *e, u16 vpid);

#endif
