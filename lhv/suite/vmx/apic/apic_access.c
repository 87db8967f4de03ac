/* The APIC-access page (SDM 3C 29.4; secondary processor-based control
 * bit 0 "virtualize APIC accesses", APIC_ACCESS_ADDR) and APIC-register
 * virtualization (secondary bit 8; 29.4.2, 29.4.3). The guest (which
 * shares the host's identity map, so its linear address is the physical
 * one) runs a script of 32-bit reads and writes of the page; the hook
 * answers APIC-access exits (reason 44, fault-like: RIP at the access, the
 * qualification holding the offset in bits 11:0 and the access type in
 * 15:12, 28.2.1 Table 28-6) and records APIC-write exits (reason 56,
 * trap-like: RIP past the write, the offset as qualification, 29.4.3.3).
 * Instruction fetches from the page are not tried: Bochs panics on them
 * ("prefetch: getHostMemAddr vetoed direct read", cpu/cpu.cc). */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "lapic.h"
#include "string.h"
#include "vapic.h"
#include "vmx/vmx.h"
#include "x86.h"

#define AA_ANSWER 0x5eed0044u /* what the host answers an exiting read with */
#define AA_OPS 128             /* a read, then a write, at each offset 000H-3F0H */
#define AA_PRESET(off) (0xa5000000u | (off))        /* in the virtual-APIC page */
#define AA_WRITTEN(off) (0x3c000060u | (off) << 8)  /* what the guest writes */

/* The xAPIC register table as APIC-register virtualization sees it, one bit
 * per offset / 16 (SDM 3C 29.4.2, 29.4.3.1, 29.4.3.2): the reads the
 * virtual-APIC page answers (ID, version, TPR, EOI, LDR, DFR, SVR, ISR, TMR,
 * IRR, ESR, ICR, LVT timer to error, initial count, divide configuration),
 * the writes it takes with an APIC-write exit after them, and the two it
 * takes without one (the TPR: TPR virtualization, bytes 3:1 cleared; ICR
 * high: bits 23:0 cleared). Every other access exits 44 before it is done. */
#define AA_BIT(off) (1ull << ((off) / 16))
static const u64 aa_reads = AA_BIT(0x20) | AA_BIT(0x30) | AA_BIT(0x80) | AA_BIT(0xb0) |
                            AA_BIT(0xd0) | AA_BIT(0xe0) | AA_BIT(0xf0) | 0xffffffull << 16 |
                            AA_BIT(0x280) | 0xffull << 48 | AA_BIT(0x380) | AA_BIT(0x3e0);
static const u64 aa_traps = AA_BIT(0x20) | AA_BIT(0xb0) | AA_BIT(0xd0) | AA_BIT(0xe0) |
                            AA_BIT(0xf0) | AA_BIT(0x280) | AA_BIT(0x300) | 0x3full << 50 |
                            AA_BIT(0x380) | AA_BIT(0x3e0);
static const u64 aa_silent = AA_BIT(0x80) | AA_BIT(0x310);

/* Three configurations: the APIC-access page alone (every access exits),
 * with "use TPR shadow" (the TPR's read and write are virtualized), with
 * APIC-register virtualization as well (the table above) */
enum { AA_ALONE, AA_TPR_SHADOW, AA_REGISTERS };

struct aa_run {
    volatile u32 op;          /* the guest's access: offset / 16 * 2, +1 for a write */
    uintptr_t read_end, write_end; /* where vapic_guest_read's and _write's access ends */
    u32 read[AA_OPS / 2];     /* what each read gave */
    u8 exit[AA_OPS];          /* each access's exit reason (0: none) */
};

/* The exit op should make: 44, 56 or 0 */
static u32 aa_expected(u32 cfg, u32 op)
{
    u32 off = op / 2 * 16;
    u64 bit = AA_BIT(off);

    if (cfg == AA_REGISTERS)
        return !(op & 1) ? (aa_reads & bit ? 0 : EXIT_REASON_APIC_ACCESS)
               : aa_traps & bit ? EXIT_REASON_APIC_WRITE
               : aa_silent & bit ? 0 : EXIT_REASON_APIC_ACCESS;
    return cfg == AA_TPR_SHADOW && off == LAPIC_REG_TPR ? 0 : EXIT_REASON_APIC_ACCESS;
}

static void aa_guest(void *arg)
{
    struct aa_run *r = arg;
    u8 *page = apic_access_page();
    uintptr_t end;

    for (u32 op = 0; op < AA_OPS; op++) {
        u32 off = op / 2 * 16;
        r->op = op;
        if (op & 1)
            vapic_guest_write(vapic_reg(page, off), AA_WRITTEN(off), &end);
        else
            r->read[op / 2] = vapic_guest_read(vapic_reg(page, off), &end);
    }
}

/* Each exit: the access the guest is at, its qualification (offset, and
 * for exit 44 the access type, 28.2.1 Table 28-6), its RIP (44 is
 * fault-like: at the MOV; 56 trap-like: past it), the written value */
static enum exit_action aa_hook(struct vcpu *v, u32 reason)
{
    struct aa_run *r = v->test_data;
    u32 op = r->op, off = op / 2 * 16, q = (u32)v->exit_qual, w = op & 1;
    uintptr_t rip = (uintptr_t)vmr(GUEST_RIP), end = w ? r->write_end : r->read_end;

    if (reason != EXIT_REASON_APIC_ACCESS && reason != EXIT_REASON_APIC_WRITE)
        return EXIT_DEFAULT;
    if (r->exit[op])
        return vcpu_fail(v, "a second exit (%u) at offset 0x%x", reason, off);
    r->exit[op] = (u8)reason;
    if (reason == EXIT_REASON_APIC_WRITE) {
        if (q != off || rip != end || !w ||
            *vapic_reg(vapic_page(), off) != AA_WRITTEN(off))
            return vcpu_fail(v, "APIC-write exit, qualification 0x%x, RIP %lx, at 0x%x", q,
                             (unsigned long)rip, off);
        return EXIT_RESUME;
    }
    if (q != (off | w << 12) || rip != end - 2 || (w && (u32)REG_AX(v) != AA_WRITTEN(off)))
        return vcpu_fail(v, "APIC-access exit, qualification 0x%x, RIP %lx, at 0x%x", q,
                         (unsigned long)rip, off);
    if (!w)
        REG_AX(v) = AA_ANSWER; /* the host does the access: MOV to or from EAX, 2 bytes */
    vmw(GUEST_RIP, rip + 2);
    return EXIT_RESUME;
}

/* One run of the whole table in configuration cfg: every access made the
 * exit expected, reads gave the page's value or the host's answer, and the
 * page holds what the virtualized writes left (a write that exited 44 did
 * not reach it) */
static bool aa_table(struct cpu_outcome *o, u32 cfg)
{
    static struct aa_run runs[LHV_MAX_CPUS];
    struct aa_run *r = &runs[this_cpu()->index];
    u32 proc2 = CPU2_VIRTUALIZE_APIC_ACCESSES | (cfg == AA_REGISTERS ? CPU2_APIC_REGISTER_VIRT : 0);
    struct vcpu *v;
    u32 scratch = 0;

    memset(r, 0, sizeof(*r));
    vapic_guest_read(&scratch, &r->read_end); /* the same instructions as the guest's */
    vapic_guest_write(&scratch, 0, &r->write_end);
    if (cfg != AA_ALONE) {
        v = vapic_guest(o, proc2);
    } else if ((v = test_guest(o))) {
        vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
        vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
        vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    }
    if (!v)
        return false;
    for (u32 off = 0; off < PAGE_SIZE; off += 16)
        *vapic_reg(vapic_page(), off) = AA_PRESET(off);
    v->hook = aa_hook;
    v->test_data = r;
    if (!test_guest_run(o, v, aa_guest, r))
        return false;
    for (u32 op = 0; op < AA_OPS; op++) {
        u32 off = op / 2 * 16, want = aa_expected(cfg, op);
        u32 page = *vapic_reg(vapic_page(), off), written = AA_WRITTEN(off);
        if (r->exit[op] != want)
            return outcome_fail(o, "%s of 0x%x: exit %u, expected %u", op & 1 ? "write" : "read",
                                off, r->exit[op], want), false;
        if (!(op & 1) && !CHECK_EQ(o, r->read[op / 2], want ? AA_ANSWER : AA_PRESET(off)))
            return false;
        if ((op & 1) && !want &&
            !CHECK_EQ(o, page, off == LAPIC_REG_TPR ? written & 0xff : written & 0xff000000u))
            return false;
        if ((op & 1) && want == EXIT_REASON_APIC_ACCESS && !CHECK_EQ(o, page, AA_PRESET(off)))
            return false;
    }
    return true;
}

/* An access while delivering an event: INT3 (not in the exception
 * bitmap) with the guest's stack in the APIC-access page. Pushing the
 * frame exits with type 3 and an offset inside the frame, and the
 * IDT-vectoring information names the #BP (28.2.4). */
#define AA_STACK 0x800
extern const char aa_int3[], aa_never[];
__asm__(".text\n.globl aa_int3, aa_never\naa_int3: int3\naa_never: ud2\n");

static void *aa_idt;

static void aa_prepare(void)
{
    if (!vmx_caps.present || aa_idt)
        return;
    aa_idt = alloc_pages(1);
    test_idt_gate(aa_idt, VEC_BP, aa_never, 0);
}

struct aa_event {
    u32 exits, qual, vectoring;
};

static enum exit_action aa_event_hook(struct vcpu *v, u32 reason)
{
    struct aa_event *e = v->test_data;

    if (reason != EXIT_REASON_APIC_ACCESS)
        return EXIT_DEFAULT;
    e->exits++;
    e->qual = (u32)v->exit_qual;
    e->vectoring = (u32)vmr(IDT_VECTORING_INFO_FIELD);
    return vcpu_finish(v);
}

static void aa_during_event(struct cpu_outcome *o)
{
    struct aa_event e = {0};
    struct vcpu *v = test_guest(o);

    if (!v)
        return;
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, CPU2_VIRTUALIZE_APIC_ACCESSES);
    vmw(APIC_ACCESS_ADDR, (uintptr_t)apic_access_page());
    vmw(EXCEPTION_BITMAP, 0);
    vmw(GUEST_IDTR_BASE, (uintptr_t)aa_idt);
    vmw(GUEST_IDTR_LIMIT, IDT_LIMIT);
    v->hook = aa_event_hook;
    v->test_data = &e;
    vcpu_set_entry(v, (uintptr_t)aa_int3, (uintptr_t)apic_access_page() + AA_STACK, 0);
    v->exits = 0;
    if (vcpu_continue(v).end != RUN_DONE)
        return outcome_fail(o, "%s", v->why);
    if (CHECK_EQ(o, e.exits, 1) && CHECK_EQ(o, APIC_ACCESS_TYPE(e.qual), APIC_ACCESS_EVENT) &&
        CHECK(o, APIC_ACCESS_OFFSET(e.qual) < AA_STACK &&
                     APIC_ACCESS_OFFSET(e.qual) >= AA_STACK - 6 * sizeof(uintptr_t)))
        CHECK_EQ(o, e.vectoring, INTR_INFO(INTR_TYPE_SOFT_EXCEPTION, VEC_BP));
}

/* Without "use TPR shadow" every access of the table exits 44; then one
 * during event delivery */
static void check_apic_access_page(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS, "secondary controls") ||
        !require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_APIC_ACCESSES, "virtualize APIC accesses") ||
        !require_control_clear(o, CTL_PROC, CPU_USE_TPR_SHADOW, "use TPR shadow") ||
        !aa_table(o, AA_ALONE))
        return;
    aa_during_event(o);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/apic-access-page", aa_prepare, check_apic_access_page);

/* The whole table with the TPR shadow alone (only the TPR virtualized),
 * then with APIC-register virtualization */
static void check_apic_register_virt(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    if (!require_control(o, CTL_PROC, CPU_ACTIVATE_SECONDARY_CONTROLS | CPU_USE_TPR_SHADOW,
                         "secondary controls, use TPR shadow") ||
        !require_control(o, CTL_PROC2, CPU2_VIRTUALIZE_APIC_ACCESSES | CPU2_APIC_REGISTER_VIRT,
                         "virtualize APIC accesses, APIC-register virtualization"))
        return;
    if (aa_table(o, AA_TPR_SHADOW))
        aa_table(o, AA_REGISTERS);
}
VMX_TEST_ALL_CPUS("vmx/apic-register-virtualization", check_apic_register_virt);
