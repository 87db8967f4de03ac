/* vmx/vpid-stale-translations: what must not survive of a guest's
 * translation after its page-table entry changed without INVLPG (SDM 3C
 * 29.1, 29.4.3; 3A 4.10.4). The guest runs on its own copy of the host's
 * paging structures down to a page table of its own for page A, and reads
 * linear address X (A's address) once per run; between runs the host
 * points X's PTE at page B or back at A, without INVLPG. With VPID the
 * translation may survive a VM exit and entry (the CPU may also drop it,
 * as Bochs does at every entry and exit); after INVVPID single-context,
 * individual-address (X) and all-context it must not: the next run reads
 * the page the PTE names. Without VPID, VM entry flushes VPID 0's
 * mappings (29.4.3.3): every run reads the page the PTE names. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "pagetable.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "suite/vmx/guest/ring3.h"
#include "user.h"
#include "vmx/guest_modes.h"
#include "vmx/ept.h"
#include "x86.h"

#define VS_WORD_A 0x5a5a0a0au
#define VS_WORD_B 0x5a5a0b0bu

#ifdef __x86_64__
#define VS_LEVELS 4 /* PML4, PDPT, PD, then the new PT */
#else
#define VS_LEVELS 3 /* PDPT, PD, PT */
#endif

struct vs_cpu {
    u64 root;      /* the guest's CR3 */
    u64 *pte;      /* X's PTE in the guest's own page table */
    u64 *pde, pd_pt; /* the PDE above it, and its value (our PT) */
    u32 *a, *b;    /* the two pages; X is a's address */
};

/* The index of addr at a level (top = VS_LEVELS - 1 ... 0 = PT) */
static u32 vs_index(uintptr_t addr, int level)
{
#ifdef __x86_64__
    return (u32)(((u64)addr >> (12 + 9 * level)) & 511);
#else
    return level == 2 ? (u32)(addr >> 30) : (u32)((addr >> (12 + 9 * level)) & 511);
#endif
}

/* Copies the host's structures on X's path, the PD's entry for X's 2 MiB
 * page replaced by a new PT of the same 512 pages in 4 KiB (the host maps
 * beyond 2 MiB with 2 MiB pages: pagetable.h); the path's entries allow
 * user mode (the PTEs decide; PAE PDPTEs have no U/S bit) */
static void vs_build(struct vs_cpu *c)
{
    uintptr_t x = (uintptr_t)c->a;
    u64 *host = (u64 *)(uintptr_t)(read_cr3() & PTE_ADDR_MASK & ~0x1full);
    u64 *copy = alloc_pages(VS_LEVELS + 1);

    c->root = (uintptr_t)copy;
    for (int level = VS_LEVELS - 1; level >= 1; level--) {
        u64 *table = copy + (VS_LEVELS - 1 - level) * 512;
        memcpy(table, host, level == 2 && VS_LEVELS == 3 ? 32 : PAGE_SIZE);
        u64 *next = table + 512; /* the next page of the copy */
        u32 i = vs_index(x, level);
        u64 entry = host[i] | (VS_LEVELS == 4 || level < 2 ? PTE_US : 0);
        if (level == 1) { /* the PD: a 2 MiB page or a PT, made a PT of ours */
            u64 base = entry & PTE_ADDR_MASK & ~0x1fffffull;
            for (u32 k = 0; k < 512; k++)
                next[k] = (entry & PTE_PS) ? (base + k * PAGE_SIZE) | PTE_P | PTE_RW
                                           : ((u64 *)(uintptr_t)(entry & PTE_ADDR_MASK))[k];
            table[i] = c->pd_pt = (uintptr_t)next | (entry & (PTE_P | PTE_RW | PTE_US));
            c->pde = &table[i];
            c->pte = &next[vs_index(x, 0)];
        } else {
            table[i] = (uintptr_t)next | (entry & ~PTE_ADDR_MASK);
            host = (u64 *)(uintptr_t)(entry & PTE_ADDR_MASK);
        }
    }
}

static void vs_guest(void *arg)
{
    volatile u32 *x = arg;
    *(volatile u32 *)&x[1] = *x; /* the word, written back beside it */
}

/* One run on c's tables with vpid (0: VPID off): the word the guest read */
static bool vs_run(struct cpu_outcome *o, struct vs_cpu *c, u16 vpid, u32 *word)
{
    struct vcpu *v = test_guest_of_this_cpu();

    if (!vcpu_use_ept(v, NULL, vpid)) {
        outcome_fail(o, "VPID: %s", v->why);
        return false;
    }
    vmw(GUEST_CR3, c->root);
    c->b[1] = c->a[1] = 0;
    if (!test_guest_run(o, v, vs_guest, c->a))
        return false;
    *word = c->a[1] | c->b[1];
    return true;
}

/* The PTE of X at page p, then one run: it must read want (any, when
 * want is 0: a stale translation may or may not be left) */
static bool vs_step(struct cpu_outcome *o, struct vs_cpu *c, u32 *page, u16 vpid, u32 want,
                    const char *after)
{
    u32 word = 0;

    *c->pte = (*c->pte & ~PTE_ADDR_MASK) | (uintptr_t)page;
    if (!vs_run(o, c, vpid, &word))
        return false;
    if (word == VS_WORD_A || word == VS_WORD_B) {
        if (!want || word == want)
            return true;
    }
    outcome_fail(o, "%s: the guest read 0x%x at X, expected 0x%x", after, word, want);
    return false;
}

/* With VPID: the PTE changed without invalidation, then INVVPID of type */
static bool vs_invvpid(struct cpu_outcome *o, struct vs_cpu *c, u16 vpid, unsigned long type,
                       u32 *from, u32 *to, u32 want, const char *what)
{
    if (!(vmx_caps.ept_vpid & (VPID_CAP_INDIVIDUAL << type)))
        return true;
    if (!vs_step(o, c, from, vpid, 0, "fill") || !vs_step(o, c, to, vpid, 0, "stale?"))
        return false;
    if (invvpid(type, vpid, (uintptr_t)c->a) != VMX_OK) {
        outcome_fail(o, "INVVPID %s failed", what);
        return false;
    }
    u32 word = 0;
    if (!vs_run(o, c, vpid, &word))
        return false;
    if (word == want)
        return true;
    outcome_fail(o, "after INVVPID %s the guest read 0x%x at X, expected 0x%x", what, word, want);
    return false;
}

static void check_vpid_stale(struct cpu_outcome *o, void *arg)
{
    static struct vs_cpu cpus[LHV_MAX_CPUS];
    struct vs_cpu *c = &cpus[this_cpu()->index];
    const char *why = vpid_unsupported();
    u16 vpid = (u16)(0x100 + this_cpu()->index);
    (void)arg;

    if (why)
        return outcome_skip(o, "%s", why);
    if (!test_guest(o))
        return;
    if (!c->root) {
        c->a = alloc_pages(1);
        c->b = alloc_pages(1);
        vs_build(c);
    }
    *c->a = VS_WORD_A;
    *c->b = VS_WORD_B;
    /* Without VPID each entry flushes: every change shows at once */
    if (!vs_step(o, c, c->a, 0, VS_WORD_A, "VPID off, PTE at A") ||
        !vs_step(o, c, c->b, 0, VS_WORD_B, "VPID off, PTE changed to B") ||
        !vs_step(o, c, c->a, 0, VS_WORD_A, "VPID off, PTE back at A"))
        return;
    if (!vs_invvpid(o, c, vpid, INVVPID_SINGLE, c->a, c->b, VS_WORD_B, "single-context") ||
        !vs_invvpid(o, c, vpid, INVVPID_ADDRESS, c->b, c->a, VS_WORD_A, "individual-address") ||
        !vs_invvpid(o, c, vpid, INVVPID_ALL, c->a, c->b, VS_WORD_B, "all-context"))
        return;
    *c->pte = (*c->pte & ~PTE_ADDR_MASK) | (uintptr_t)c->a;
    invvpid(INVVPID_ALL, 0, 0); /* nothing of ours left in any VPID */
}
VMX_TEST_ALL_CPUS("vmx/vpid-stale-translations", check_vpid_stale);

/* vmx/guest-page-fault-sequence: the guest's own page faults, handled by
 * its IDT (LHV's, whose handler reports the vector and error code), in a
 * sequence that changes X's PTE in the guest's own page table and runs
 * INVLPG X before each access (SDM 3A 4.7, 4.8, 4.10.4.1): present and
 * writable, a read sets the accessed flag only, a write the dirty flag
 * too; not present, a read and a write fault with error codes 0 and W;
 * read-only, a read passes and a write faults with P|W (CR0.WP); a
 * reserved address bit faults with P|RSVD; CR2 holds X each time. Four
 * ways, as the SDM's flush rules give them: INVLPG run by the guest
 * itself; with "INVLPG exiting" and no VPID (VM entry flushes, 29.4.3.3,
 * the host does nothing); with VPID and the host's INVVPID of X (31.3);
 * with VPID and a new VPID at each INVLPG exit. A mapping the flush
 * missed would let an access through that must fault. */
enum { PS_NATIVE, PS_NO_VPID, PS_INVVPID, PS_NEW_VPID };

struct ps_run {
    struct vs_cpu *c;
    u64 pte;          /* the guest writes it (flags on A's address) */
    bool write;
    u32 mode, invlpgs;
    u16 vpid;
    bool bad_qual;
};

static void ps_guest(void *arg)
{
    struct ps_run *r = arg;
    volatile u32 *x = (volatile u32 *)r->c->a;
    *r->c->pte = r->pte;
    invlpg((uintptr_t)r->c->a);
    if (r->write)
        *x = VS_WORD_B;
    else
        (void)*x;
}

static enum exit_action ps_hook(struct vcpu *v, u32 reason)
{
    struct ps_run *r = v->test_data;
    if (reason != EXIT_REASON_INVLPG)
        return EXIT_DEFAULT;
    r->invlpgs++;
    r->bad_qual |= v->exit_qual != (uintptr_t)r->c->a;
    if (r->mode == PS_INVVPID &&
        invvpid((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) ? INVVPID_ADDRESS : INVVPID_SINGLE,
                r->vpid, v->exit_qual) != VMX_OK)
        return vcpu_fail(v, "INVVPID failed");
    if (r->mode == PS_NEW_VPID)
        vmw(VIRTUAL_PROCESSOR_ID, ++r->vpid);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* This CPU's tables of the page-fault tests */
static struct vs_cpu *ps_cpu(void)
{
    static struct vs_cpu cpus[LHV_MAX_CPUS];
    struct vs_cpu *c = &cpus[this_cpu()->index];
    if (!c->root) {
        c->a = alloc_pages(1);
        c->b = alloc_pages(1);
        vs_build(c);
    }
    return c;
}

static void check_pf_sequence(struct cpu_outcome *o, void *arg)
{
    struct vs_cpu *c = ps_cpu();
    /* PTE flags, write, the fault's error code + 1 (0: none), A/D after */
    static const struct { u64 flags; bool write; u32 fault; u64 ad; } steps[] = {
        {PTE_P | PTE_RW, false, 0, PTE_A},
        {0, false, 0 + 1, 0},
        {PTE_P | PTE_RW, true, 0, PTE_A | PTE_D},
        {0, true, PF_ERR_W + 1, 0},
        {PTE_P, false, 0, PTE_A},
        {PTE_P, true, PF_ERR_P + PF_ERR_W + 1, 0},
        {PTE_P | PTE_RW | (1ull << 51), false, PF_ERR_P + PF_ERR_RSVD + 1, 0},
    };
    (void)arg;

    if (!test_guest(o))
        return;
    if ((cpuid(0x80000008, 0).eax & 0xff) > 51) {
        outcome_skip(o, "MAXPHYADDR 52: no reserved address bit (CPUID.80000008H:EAX[7:0])");
        return;
    }
    u64 keep = *c->pte;
    for (u32 mode = PS_NATIVE; mode <= PS_NEW_VPID; mode++) {
        u16 vpid = mode < PS_INVVPID ? 0 : (u16)(0x200 + this_cpu()->index * 0x100);
        if (mode >= PS_INVVPID && vpid_unsupported())
            break; /* the first two ways need no VPID */
        for (u32 i = 0; i < ARRAY_SIZE(steps); i++) {
            struct ps_run r = {c, (keep & PTE_ADDR_MASK) | steps[i].flags, steps[i].write,
                               mode, 0, vpid, false};
            struct vcpu *v = test_guest_of_this_cpu();
            if (!vcpu_use_ept(v, NULL, vpid)) {
                outcome_fail(o, "VPID: %s", v->why);
                return;
            }
            vmw(GUEST_CR3, c->root);
            vmw(EXCEPTION_BITMAP, 0);
            vmw(GUEST_CR0, vmr(GUEST_CR0) | CR0_WP); /* supervisor writes obey R/W */
            if (mode != PS_NATIVE)
                vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INVLPG_EXITING);
            v->hook = ps_hook;
            v->test_data = &r;
            struct run_result res = vcpu_run(v, ps_guest, &r);
            u32 fault = res.end == RUN_GUEST_EXCEPTION && res.vector == VEC_PF
                            ? (u32)res.error_code + 1 : 0;
            unsigned long cr2 = read_cr2();
            /* a faulting access may set the accessed flag, never dirty */
            u64 ad = *c->pte & (steps[i].fault ? PTE_D : PTE_A | PTE_D);
            v->hook = NULL;
            vpid = r.vpid;
            if ((res.end != RUN_DONE && !fault) || fault != steps[i].fault || ad != steps[i].ad ||
                (fault && cr2 != (uintptr_t)c->a) || r.invlpgs != (mode != PS_NATIVE) ||
                r.bad_qual) {
                outcome_fail(o, "way %u step %u: end %u, #PF code+1 %u (want %u), CR2 0x%lx, "
                             "A/D 0x%llx (want 0x%llx), %u INVLPG exits, bad address %u", mode, i,
                             res.end, fault, steps[i].fault, cr2, ad, steps[i].ad, r.invlpgs,
                             r.bad_qual);
                *c->pte = keep;
                return;
            }
        }
    }
    *c->pte = keep;
    invvpid(INVVPID_ALL, 0, 0);
}
VMX_TEST_ALL_CPUS("vmx/guest-page-fault-sequence", check_pf_sequence);

/* vmx/guest-page-fault-access-matrix: the guest's access rights (SDM 3A
 * 4.6, 4.6.2) with its page faults' error codes and CR2 (4.7), in the four
 * flush ways above. X's PTE (or a 2 MiB PDE) takes the case's flags; the
 * guest reads, writes or calls a RET at X in ring 0 or, through a DPL-3
 * gate and its own TSS (ring3.h), in ring 3; CR0.WP, IA32_EFER.NXE,
 * CR4.SMEP, CR4.SMAP with EFLAGS.AC, and CR4.PKE with PKRU (key 1; IA-32e
 * paging only) are the case's. */
#define PM_FETCH 2 /* beside VG_R3_READ and VG_R3_WRITE */
#define PM_XD 0x100 /* the table's bits for PTE_XD and key 1 (a u16 each entry) */
#define PM_K1 0x200
#define PM_CR4 (CR4_SMEP | CR4_SMAP | CR4_PKE)

struct pm_run {
    struct ps_run ps; /* first: ps_hook's */
    struct r3_run r3;
    u64 *at, pde;     /* where the guest writes ps.pte; the PDE above a PTE */
    u32 access, pkru;
    bool user, ac, pk;
};

/* EFLAGS.AC: allows supervisor data accesses to user pages under SMAP */
static void pm_ac(bool on)
{
    unsigned long f;
    __asm__ volatile("pushf\n\tpop %0" : "=r"(f));
    f = on ? f | EFLAGS_AC : f & ~(unsigned long)EFLAGS_AC;
    __asm__ volatile("push %0\n\tpopf" : : "r"(f) : "memory", "cc");
}

static void pm_guest(void *arg)
{
    struct pm_run *r = arg;
    volatile u32 *x = (volatile u32 *)r->ps.c->a;
    *r->at = r->ps.pte;
    if (r->pde)
        *r->ps.c->pde = r->pde;
    invlpg((uintptr_t)x);
    if (r->pk)
        wrpkru(r->pkru);
    if (r->user) {
        r->r3.slots[1] = (uintptr_t)r->r3.out;
        vg_ring3_run(USER_CODE_PAGE + VG_R3_ACCESS_OFFSET, r->r3.user_sp, r->r3.slots);
        return;
    }
    if (r->ac)
        pm_ac(true);
    if (r->access == VG_R3_READ)
        (void)*x;
    else if (r->access == VG_R3_WRITE)
        *x = 0;
    else
        ((void (*)(void))(uintptr_t)x)();
    if (r->ac)
        pm_ac(false);
}

/* One case: X's flags (PTE_PS: a 2 MiB PDE), access, CPL 3, EFLAGS.AC,
 * PKRU, the controls (CR0_WP, EFER_NXE, CR4 bits: distinct), error code +
 * 1; the flags of the PDE above X's PTE where pd is not 0 (4.6.1: the
 * rights of every level count). A 2 MiB page or PDE holds the guest's
 * stack too: none of them keeps ring 0 from writing it (CR0.WP 0). */
static const struct pm_case {
    u16 flags;
    u8 access, user, ac, pkru;
    u32 ctl;
    u8 fault;
    u16 pd;
} pm_cases[] = {
#define P PTE_P
#define RW PTE_RW
#define US PTE_US
#define R VG_R3_READ
#define W VG_R3_WRITE
#define X PM_FETCH
#define E(code) ((code) + 1)
    {P | RW | US, R, 1, 0, 0, 0, 0, 0},
    {P | RW, R, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_U), 0},
    {US, R, 1, 0, 0, 0, E(PF_ERR_U), 0},
    {P | RW | US, W, 1, 0, 0, 0, 0, 0},
    {P | US, W, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_W | PF_ERR_U), 0},
    /* D already set where ring 0 writes through R/W 0 (WP 0): Bochs 3.0
     * with CET panics setting it (cpu/paging.cc, update_access_dirty_PAE;
     * SDM 3A 4.8) */
    {P | US | PTE_D, W, 0, 0, 0, 0, 0, 0},
    {P | US, W, 0, 0, 0, CR0_WP, E(PF_ERR_P | PF_ERR_W), 0},
    {P | RW | PM_XD, R, 0, 0, 0, 0, E(PF_ERR_P | PF_ERR_RSVD), 0},
    {P | RW | PM_XD, R, 0, 0, 0, EFER_NXE, 0, 0},
    {P | RW | PM_XD, X, 0, 0, 0, EFER_NXE, E(PF_ERR_P | PF_ERR_I), 0},
    {0, X, 0, 0, 0, EFER_NXE, E(PF_ERR_I), 0},
    {P | RW | US, X, 1, 0, 0, EFER_NXE, 0, 0},
    {P | RW | US | PM_XD, X, 1, 0, 0, EFER_NXE, E(PF_ERR_P | PF_ERR_U | PF_ERR_I), 0},
    {P | RW | US, X, 0, 0, 0, 0, 0, 0},
    {P | RW | US, X, 0, 0, 0, CR4_SMEP, E(PF_ERR_P | PF_ERR_I), 0},
    {P | RW, X, 0, 0, 0, CR4_SMEP, 0, 0},
    {P | RW | US, X, 1, 0, 0, CR4_SMEP, 0, 0},
    {P | RW | US, R, 0, 0, 0, CR4_SMAP, E(PF_ERR_P), 0},
    {P | RW | US, W, 0, 0, 0, CR4_SMAP, E(PF_ERR_P | PF_ERR_W), 0},
    {P | RW | US, W, 0, 1, 0, CR4_SMAP, 0, 0},
    {P | RW | US, R, 1, 0, 0, CR4_SMAP, 0, 0},
    {P | RW | US, X, 0, 0, 0, CR4_SMAP, 0, 0},
    {P | RW | US | PM_K1, R, 1, 0, PKRU_AD(1), CR4_PKE, E(PF_ERR_P | PF_ERR_U | PF_ERR_PK),
     0},
    {P | RW | US | PM_K1, R, 1, 0, PKRU_WD(1), CR4_PKE, 0, 0},
    {P | RW | US | PM_K1, W, 1, 0, PKRU_WD(1), CR4_PKE,
     E(PF_ERR_P | PF_ERR_W | PF_ERR_U | PF_ERR_PK), 0},
    {P | RW | US | PM_K1, X, 1, 0, PKRU_AD(1), CR4_PKE, 0, 0},
    {P | RW | US | PM_K1, R, 0, 0, PKRU_AD(1), CR4_PKE, E(PF_ERR_P | PF_ERR_PK), 0},
    {P | RW | US | PM_K1, W, 0, 0, PKRU_WD(1), CR4_PKE, 0, 0},
    {P | RW | US | PM_K1, W, 0, 0, PKRU_WD(1), CR4_PKE | CR0_WP,
     E(PF_ERR_P | PF_ERR_W | PF_ERR_PK), 0},
    {P | RW | PM_K1, R, 0, 0, PKRU_AD(1), CR4_PKE, 0, 0},
    {P | RW | PM_K1, W, 0, 0, PKRU_WD(1), CR4_PKE | CR0_WP, 0, 0},
    {P | RW | US | PM_K1, R, 1, 0, 0, CR4_PKE, 0, 0}, /* and PKRU 0 again */
    {PTE_PS | P | RW | US, R, 1, 0, 0, 0, 0, 0},
    {PTE_PS | P | RW, R, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_U), 0},
    /* D set: the #PF's frame may be pushed into the same 2 MiB */
    {PTE_PS | P | US | PTE_D, W, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_W | PF_ERR_U), 0},
    {PTE_PS | P | RW | US | PM_XD, X, 1, 0, 0, EFER_NXE, E(PF_ERR_P | PF_ERR_U | PF_ERR_I),
     0},
    {P | RW | US, R, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_U), P | RW},
    {P | RW | US, W, 1, 0, 0, 0, E(PF_ERR_P | PF_ERR_W | PF_ERR_U), P | US},
    {P | RW | US, W, 0, 0, 0, 0, 0, P | US},
    {P | RW | US, X, 1, 0, 0, EFER_NXE, E(PF_ERR_P | PF_ERR_U | PF_ERR_I),
     P | RW | US | PM_XD},
#undef P
#undef RW
#undef US
#undef R
#undef W
#undef X
#undef E
};

/* The controls this CPU lets the guest use, and why not the others */
static u32 pm_usable(const char **why)
{
    struct cpuid_regs l7 = cpuid(7, 0);
    u32 ok = CR0_WP, fx = (u32)vmx_caps.cr4_fixed1;

    *why = "";
    if (cpu_has_efer() && (cpuid(0x80000001, 0).edx & CPUID80000001_EDX_NX) &&
        (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER) &&
        (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER))
        ok |= EFER_NXE;
    else
        *why = "NXE: no CPUID.80000001H:EDX[20] or load IA32_EFER; ";
    if ((l7.ebx & CPUID7_EBX_SMEP) && (fx & CR4_SMEP))
        ok |= CR4_SMEP;
    if ((l7.ebx & CPUID7_EBX_SMAP) && (fx & CR4_SMAP))
        ok |= CR4_SMAP;
#ifdef __x86_64__
    if ((l7.ecx & CPUID7_ECX_PKU) && (fx & CR4_PKE))
        ok |= CR4_PKE;
#endif
    return ok;
}

/* A PTE's or PDE's flags from the table's */
static u64 pm_bits(u16 f)
{
    return (f & 0xffu) | (f & PM_XD ? PTE_XD : 0) | (f & PM_K1 ? 1ull << PTE_PKEY_SHIFT : 0);
}

/* Bochs 2.7 and 3.0 (cpu/paging.cc, translate_linear_long_mode and
 * handle_pkeys) apply PKRU by the access's mode, not the page's: a
 * supervisor access never checks AD and checks WD (with CR0.WP) on
 * supervisor pages too. True when fault is theirs for k on such a Bochs. */
static bool pm_bochs_pkeys(const struct pm_case *k, u32 fault)
{
    bool wd = k->access == VG_R3_WRITE && (k->ctl & CR0_WP) && (k->pkru & PKRU_WD(1));
    return (k->ctl & CR4_PKE) && !k->user &&
           fault == (wd ? PF_ERR_P + PF_ERR_W + PF_ERR_PK + 1 : 0) &&
           l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0);
}

/* One case in one way: false after outcome_fail */
static bool pm_step(struct cpu_outcome *o, struct vs_cpu *c, const struct pm_case *k, u32 mode,
                    u16 *vpid)
{
    bool large = k->flags & PTE_PS;
    uintptr_t x = (uintptr_t)c->a;
    struct pm_run r = {.ps = {c, (large ? x & ~0x1fffffull : x) | pm_bits(k->flags), false,
                              mode, 0, *vpid, false}};
    struct vcpu *v = r3_guest(o, ps_hook, &r, &r.r3);

    if (!v)
        return false;
    if (!vcpu_use_ept(v, NULL, *vpid)) {
        outcome_fail(o, "VPID: %s", v->why);
        return false;
    }
    r.at = large ? c->pde : c->pte;
    r.pde = k->pd ? (c->pd_pt & PTE_ADDR_MASK) | pm_bits(k->pd) : 0;
    r.access = k->access;
    r.user = k->user;
    r.ac = k->ac;
    r.pk = k->ctl & CR4_PKE;
    r.pkru = k->pkru;
    ((u32 *)r.r3.user_sp)[-4] = (u32)x; /* below its stack pointer */
    ((u32 *)r.r3.user_sp)[-3] = k->access;
    *(u8 *)x = 0xc3; /* RET */
    vmw(GUEST_CR3, c->root);
    vmw(EXCEPTION_BITMAP, 0);
    vmw(GUEST_CR0, (vmr(GUEST_CR0) & ~CR0_WP) | (k->ctl & CR0_WP));
    vmw(GUEST_CR4, (vmr(GUEST_CR4) & ~PM_CR4) | (k->ctl & PM_CR4));
    if (cpu_has_efer() && (vmx_caps.entry.allowed1 & ENTRY_LOAD_IA32_EFER) &&
        (vmx_caps.exit.allowed1 & EXIT_LOAD_IA32_EFER)) {
        u64 efer = rdmsr(MSR_IA32_EFER);
        vmw_or(VM_ENTRY_CONTROLS, ENTRY_LOAD_IA32_EFER);
        vmw_or(VM_EXIT_CONTROLS, EXIT_LOAD_IA32_EFER);
        vmw(HOST_IA32_EFER, efer);
        vmw(GUEST_IA32_EFER, (efer & ~(u64)EFER_NXE) | (k->ctl & EFER_NXE));
    }
    if (mode != PS_NATIVE)
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_INVLPG_EXITING);
    /* No exit right after the #PF's delivery: Bochs 3.0 with 2+ CPUs saves
     * the faulting RIP there (docs/l0-deviations.md), and the guest would
     * run X in ring 0. Interrupts wait for the run's next exit. */
    vmw(PIN_BASED_VM_EXEC_CONTROL,
        vmr(PIN_BASED_VM_EXEC_CONTROL) & ~(u64)PIN_EXTERNAL_INTERRUPT_EXITING);
    struct run_result res = vcpu_run(v, pm_guest, &r);
    u32 fault = res.end == RUN_GUEST_EXCEPTION && res.vector == VEC_PF
                    ? (u32)res.error_code + 1 : 0;
    unsigned long cr2 = read_cr2();
    v->hook = NULL;
    *r.at = large ? c->pd_pt : (*c->pte & PTE_ADDR_MASK) | PTE_P | PTE_RW;
    *c->pde = c->pd_pt;
    *vpid = r.ps.vpid;
    if ((res.end == RUN_DONE || fault) && fault == k->fault && (!fault || cr2 == x) &&
        r.ps.invlpgs == (mode != PS_NATIVE) && !r.ps.bad_qual &&
        (!k->user || fault || (u32)r.r3.out[2] == SEL_UCODE))
        return true;
    if (r.ps.invlpgs == (mode != PS_NATIVE) && pm_bochs_pkeys(k, fault)) {
        outcome_xfail(o, "%s: PKRU applied by the access's mode, not the page's: case %u "
                      "#PF code+1 %u, expected %u (SDM 3A 4.6.2)",
                      l0_bochs_names(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0), (u32)(k - pm_cases),
                      fault, k->fault);
        return true;
    }
    outcome_fail(o, "way %u case %u: end %u, #PF code+1 %u (want %u), CR2 0x%lx, "
                 "%u INVLPG exits, bad address %u, gate CS 0x%lx", mode, (u32)(k - pm_cases),
                 res.end, fault, k->fault, cr2, r.ps.invlpgs, r.ps.bad_qual, r.r3.out[2]);
    return false;
}

static void check_pf_matrix(struct cpu_outcome *o, void *arg)
{
    struct vs_cpu *c = ps_cpu();
    uintptr_t x = (uintptr_t)c->a;
    const char *why;
    u32 usable = pm_usable(&why);
    /* the PDE's 2 MiB must hold neither the user pages nor this code */
    bool pd_ok = (x >> 21) != (USER_CODE_PAGE >> 21) && (x >> 21) != ((uintptr_t)pm_guest >> 21);
    (void)arg;

    if (!require_control_clear(o, CTL_PIN, PIN_EXTERNAL_INTERRUPT_EXITING,
                               "external-interrupt exiting"))
        return;
    for (u32 mode = PS_NATIVE; mode <= PS_NEW_VPID; mode++) {
        u16 vpid = mode < PS_INVVPID ? 0 : (u16)(0x200 + this_cpu()->index * 0x100);
        if (mode >= PS_INVVPID && vpid_unsupported())
            break;
        for (const struct pm_case *k = pm_cases; k < pm_cases + ARRAY_SIZE(pm_cases); k++)
            if (!(k->ctl & ~usable) && (pd_ok || !(k->flags & PTE_PS || k->pd)) &&
                !pm_step(o, c, k, mode, &vpid))
                return;
    }
    invvpid(INVVPID_ALL, 0, 0);
    if (!pd_ok)
        outcome_fail(o, "X 0x%lx shares its 2 MiB with the user pages or the code",
                     (unsigned long)x);
}

VMX_TEST("vmx/guest-page-fault-access-matrix", test_pf_matrix);
static void test_pf_matrix(const char *name)
{
    const char *why;

    if (!r3_prepare(name))
        return;
    u32 left = ~pm_usable(&why) & (EFER_NXE | PM_CR4);
    if (left)
        printf("%s: cases left out: %s%s%s%s\n", name, why,
               left & CR4_SMEP ? "SMEP: no CPUID.(EAX=07H,ECX=0):EBX[7]; " : "",
               left & CR4_SMAP ? "SMAP: no CPUID.(EAX=07H,ECX=0):EBX[20]; " : "",
#ifdef __x86_64__
               left & CR4_PKE ? "PKE: no CPUID.(EAX=07H,ECX=0):ECX[3]" : "");
#else
               "PKE: protection keys are for IA-32e paging only (SDM 3A 4.6.2)");
#endif
    verdict_all_cpus(name, check_pf_matrix, NULL);
}
