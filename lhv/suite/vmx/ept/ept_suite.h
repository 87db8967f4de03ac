/* What the EPT feature tests share (lhv/suite/vmx/ept/): per CPU, two
 * identity EPT maps of their own and a few test pages, a guest on one of
 * them, and the A/D flags of a whole map (SDM 3C chapter 29). */
#ifndef LHV_SUITE_VMX_EPT_SUITE_H
#define LHV_SUITE_VMX_EPT_SUITE_H

#include "suite/vmx_test.h"
#include "vmx/ept.h"

#define EPT_TEST_PAGES 6

/* A guest-physical window no guest uses: 1 GiB up, in the host's identity
 * paging on both subarchs, below any EPT identity top (4 GiB and up) */
#define EPT_WINDOW GiB(1)

struct ept_cpu {
    bool ready;
    struct mtrr_state mtrr;
    struct ept map, alt;            /* identity maps; tests change pages and restore them */
    u8 *page[EPT_TEST_PAGES];       /* zeroed test pages (host memory) */
};

/* This CPU's maps and pages (made on first use), or NULL after a SKIP:
 * EPT as ept_unsupported() wants it, and 2 MiB EPT pages (a whole identity
 * map at once, no pages on demand). */
struct ept_cpu *ept_cpu(struct cpu_outcome *o);

/* This CPU's test guest with a fresh VMCS on EPT e (with the EPTP bits in
 * eptp_bits, e.g. EPTP_AD), the hook and its data, and the secondary
 * controls in proc2 besides EPT (the caller has checked them with
 * require_control); NULL after outcome_fail. */
struct vcpu *ept_cpu_guest(struct cpu_outcome *o, struct ept *e, u64 eptp_bits, u32 proc2,
                           exit_hook hook, void *data);

/* INVEPT of e's context (single when the CPU has it, else all); false
 * after outcome_fail. */
bool ept_cpu_flush(struct cpu_outcome *o, const struct ept *e);

/* The identity 4 KiB page back at gpa (its permissions, type, no flags) */
void ept_identity_4k(struct ept *e, u64 gpa);

/* Sets (or clears) the accessed flag of every present entry of e and the
 * dirty flag of every leaf (29.3.5). */
void ept_all_ad(struct ept *e, bool set);

/* The leaf entry that maps gpa (any level) */
u64 *ept_leaf(struct ept *e, u64 gpa);
/* The entry at `level` (4 PML4 .. 1 PT) on gpa's path, or the leaf or
 * non-present entry where the walk ends above it */
u64 *ept_at_level(struct ept *e, u64 gpa, int level);

/* A hook that counts EPT violations and misconfigurations (with the
 * qualification and guest-physical address of the last) and lets the
 * access through: *entry = restore, then INVEPT of e */
struct ept_exits {
    const struct ept *e;
    u64 *entry, restore;
    u32 violations, misconfigs;
    u64 qual, gpa;
};
enum exit_action ept_exits_hook(struct vcpu *v, u32 reason);

/* A guest program: one 32-bit read (or write of value) at addr */
struct ept_access {
    uintptr_t addr;
    bool write;
    u32 value;
};
void ept_access_guest(void *arg);

/* Compares n values with what they should be; at the first that differs,
 * outcome_fail "<name>: got G, expected W" with its name from `names`
 * (separated by ';', in order) and false. One call for a test's last
 * checks, where CHECK_EQ each would cost more code. */
bool ept_expect(struct cpu_outcome *o, const char *names, const u64 *got, const u64 *want,
                u32 n);

/* A function the guest calls in a test page: mov $value, %eax; ret */
void ept_put_code(u8 *at, u32 value);
u32 ept_call_code(const u8 *at);

#endif
