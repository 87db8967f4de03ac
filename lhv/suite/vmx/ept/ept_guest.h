/* What the EPT and VPID tests share (SDM 3C chapter 29): each CPU keeps
 * its own EPT roots (identity maps with the MTRRs' memory types) and test
 * pages; a test that changes a map puts it back before it returns. */
#ifndef LHV_SUITE_VMX_EPT_EPT_GUEST_H
#define LHV_SUITE_VMX_EPT_EPT_GUEST_H

#include "suite/vmx_test.h"
#include "vmx/ept.h"

#define SIZE_2M MiB(2)

struct cpu_ept {
    bool ready;
    struct mtrr_state mtrr;
    struct ept ident;   /* identity map; tests change single pages and restore them */
    struct ept other;   /* a second identity map (EPTP switches) */
    struct ept *active; /* the map the guest runs on now (demand mode) */
    u8 *page;           /* a test page: violations, switches */
    u8 *alt[2];         /* host pages a test page can be redirected to */
    u8 *code;           /* execute-only page */
    u32 *in, *out;      /* data pages of the identity test */
};

/* Each CPU's, indexed by this_cpu()->index */
extern struct cpu_ept cpu_ept[LHV_MAX_CPUS];

/* EPT state of a CPU that can run these tests, or NULL after a SKIP */
struct cpu_ept *ept_ready(struct cpu_outcome *o);

/* Without 2 MiB EPT pages the identity map fills in as the guest touches
 * pages: an EPT violation on a never-written entry is that, not a test
 * (true: filled, resume the guest). */
bool demand_fill(u32 reason);

/* This CPU's guest with a fresh VMCS running on e (NULL: no EPT) with vpid
 * (0: none) and the hook (NULL: only demand_fill), or NULL after a failure. */
struct vcpu *ept_guest(struct cpu_outcome *o, struct ept *e, u16 vpid, exit_hook hook,
                       void *data);

/* INVEPT of e; false after outcome_fail */
bool ept_test_flush(struct cpu_outcome *o, const struct ept *e);

/* Puts the identity page back at gpa */
void restore_page(struct ept *e, u64 gpa);

/* A function the guest calls in a test page: mov $value, %eax; ret */
void put_code(u8 *at, u32 value);
static inline u32 call_code(const u8 *at) { return ((u32(*)(void))(uintptr_t)at)(); }

#endif
