/* Guests that go wrong on purpose, and guests kept out of what the host
 * owns (issue #8), on every CPU. Faults: each guest below fails (triple
 * fault, #UD, an endless loop stopped by the VMX-preemption timer, a VM
 * entry refused), LHV reports how that guest's run ended (struct
 * run_result), and the next guest on the same CPU runs normally. Isolation: under
 * EPT the guest cannot write LHV's image, stacks, page tables or VMCS; the
 * I/O bitmap keeps it off the serial port, the PICs and the PIT; the MSR
 * bitmap keeps its writes off MSRs that hold host state. Which I/O
 * instructions exit under the I/O bitmaps or unconditional I/O exiting, and
 * what their exits report, is vmx/io-bitmaps and vmx/io-unconditional.
 * Hypercalls from the guest's ring 3 are refused: vmx/guest-ring3 checks
 * that. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "runtime.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

/* After a guest failed: a fresh guest on this CPU runs and its hypercall
 * works, so the failure ended that guest, not LHV. */
static void check_next_guest_runs(struct cpu_outcome *o, const char *after)
{
    struct echo e = {0x5150 + this_cpu()->index, 0x70000, 0};
    struct vcpu *v = test_guest(o);

    if (!v)
        return;
    struct run_result r = vcpu_run(v, guest_echo, &e);
    if (r.end != RUN_DONE)
        outcome_fail(o, "after %s the next guest failed: %s", after, r.why);
    else if (e.result != e.a + e.b)
        outcome_fail(o, "after %s the next guest's hypercall returned 0x%lx, expected 0x%lx",
                     after, e.result, e.a + e.b);
}

/* The run must have ended as want (a failure of the guest, not LHV's) */
static bool expect_end(struct cpu_outcome *o, struct vcpu *v, struct run_result r,
                       const char *what, enum run_end want)
{
    if (r.end == want)
        return true;
    if (r.end == RUN_DONE)
        outcome_fail(o, "%s: the guest ran to its end (%u exits), expected %s", what, v->exits,
                     run_end_name(want));
    else
        outcome_fail(o, "%s: the run ended as %s, expected %s: %s", what, run_end_name(r.end),
                     run_end_name(want), r.why);
    return false;
}

/* The run stopped at an unexpected exit with reason want; then the next
 * guest on this CPU runs (check_next_guest_runs). */
static void expect_exit_then_next(struct cpu_outcome *o, struct vcpu *v, struct run_result r,
                                  const char *what, u32 want, const char *after)
{
    if (expect_end(o, v, r, what, RUN_UNEXPECTED_EXIT) && CHECK_EQ(o, r.exit_reason, want))
        check_next_guest_runs(o, after);
}

static void guest_ud2(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

/* ------------------------------------------------------------------------ */
/* vmx/fault-triple-fault: with no exception exiting and an IDT of limit 0,
 * the guest's #UD cannot be delivered (#GP, then #DF, then shutdown): a
 * triple fault exits with reason 2 (SDM 3A 6.15 interrupt 8; 3C 26.2). */

static void check_triple_fault(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    vmw(EXCEPTION_BITMAP, 0);
    vmw(GUEST_IDTR_LIMIT, 0);
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    expect_exit_then_next(o, v, r, "UD2 with an empty IDT", EXIT_REASON_TRIPLE_FAULT,
                          "a triple fault");
}

VMX_TEST_ALL_CPUS("vmx/fault-triple-fault", check_triple_fault);

/* ------------------------------------------------------------------------ */
/* vmx/fault-invalid-opcode: UD2 with every exception exiting: exit reason 0,
 * VM-exit interruption information valid, type 3 (hardware exception),
 * vector 6 (SDM 3C 28.2.2). */


static void check_invalid_opcode(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    /* the run's interruption information is the exit's: 0x80000306 for #UD */
    if (expect_end(o, v, r, "UD2", RUN_UNEXPECTED_EXIT) &&
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_EXCEPTION_NMI) &&
        CHECK_EQ(o, r.intr_info, INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD)) &&
        CHECK_EQ(o, (u32)vmr(VM_EXIT_INTR_INFO), r.intr_info))
        check_next_guest_runs(o, "an invalid opcode");
}

VMX_TEST_ALL_CPUS("vmx/fault-invalid-opcode", check_invalid_opcode);

/* ------------------------------------------------------------------------ */
/* vmx/fault-in-guest-handler: with no exception exiting the guest's UD2
 * goes through the guest's IDT, which is LHV's own (the test guests run
 * LHV's code): its handler finds itself in a guest and hands the report to
 * the host (HC_GUEST_EXCEPTION), which fails that guest and goes on,
 * instead of ending the whole run from inside the guest. */

static void check_fault_in_guest_handler(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    (void)arg;

    if (!v)
        return;
    vmw(EXCEPTION_BITMAP, 0);
    struct run_result r = vcpu_run(v, guest_ud2, NULL);
    /* the handler's report: vector 6 at the UD2, no error code; by its VMCALL */
    if (expect_end(o, v, r, "UD2 through LHV's IDT", RUN_GUEST_EXCEPTION) &&
        CHECK_EQ(o, r.vector, VEC_UD) && CHECK_EQ(o, r.error_code, 0) &&
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_VMCALL))
        check_next_guest_runs(o, "an exception in the guest's handler");
}

VMX_TEST_ALL_CPUS("vmx/fault-in-guest-handler", check_fault_in_guest_handler);

/* ------------------------------------------------------------------------ */
/* vmx/fault-endless-loop: a guest that never gives the CPU back is stopped
 * by the VMX-preemption timer (pin-based control bit 6): it counts down
 * once every 2^X TSC ticks, X = IA32_VMX_MISC bits 4:0, and exits with
 * reason 52 at zero (SDM 3C 26.5.1, 25.6.1, A.6). With "save VMX-preemption
 * timer value" the count goes on across other exits (external interrupts)
 * instead of starting again. The loop is long but not endless (2^28 turns),
 * so a timer that never fires ends as a FAIL, not a hang. */

#define LOOP_TSC_TICKS (1u << 20) /* when the timer should fire */
#define LOOP_TURNS (1u << 28)

static void guest_loop(void *arg)
{
    unsigned long n = LOOP_TURNS;
    (void)arg;
    __asm__ volatile("1: dec %0\n\tjnz 1b" : "+r"(n));
}

static void check_endless_loop(struct cpu_outcome *o, void *arg)
{
    u32 rate = (u32)(vmx_caps.misc & 0x1f), pin;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PIN, PIN_PREEMPTION_TIMER, "VMX-preemption timer") ||
        !(v = test_guest(o)))
        return;
    pin = (u32)vmr(PIN_BASED_VM_EXEC_CONTROL) | PIN_PREEMPTION_TIMER;
    vmw(PIN_BASED_VM_EXEC_CONTROL, pin);
    if (vmx_caps.exit.allowed1 & EXIT_SAVE_PREEMPTION_TIMER)
        vmw(VM_EXIT_CONTROLS, vmr(VM_EXIT_CONTROLS) | EXIT_SAVE_PREEMPTION_TIMER);
    u32 count = LOOP_TSC_TICKS >> rate;
    vmw(VMX_PREEMPTION_TIMER_VALUE, count ? count : 1);
    if (this_cpu()->index == 0)
        printf("vmx: preemption timer: 1 count per 2^%u TSC ticks, %u counts, save on exit %s\n",
               rate, count ? count : 1,
               (vmx_caps.exit.allowed1 & EXIT_SAVE_PREEMPTION_TIMER) ? "on" : "not offered");
    struct run_result r = vcpu_run(v, guest_loop, NULL);
    expect_exit_then_next(o, v, r, "the endless loop", EXIT_REASON_PREEMPTION_TIMER,
                          "the preemption timer stopped a loop");
}

VMX_TEST_ALL_CPUS("vmx/fault-endless-loop", check_endless_loop);

/* ------------------------------------------------------------------------ */
/* vmx/fault-entry-failure: guest state that VM entry refuses, checked after
 * the guest-state checks started (SDM 3C 27.3.1: exit reason 33 with bit
 * 31 set): CR0.PG set with CR0.PE clear (27.3.1.1), and a CS whose type is
 * a data segment (27.3.1.2: without unrestricted guest it must be code
 * type 9, 11, 13 or 15). An unusable CS (AR bit 16) alone is no such
 * failure: Bochs 2.7 enters the guest with it. And a control it refuses
 * earlier (27.2.1.1: CR3-target count above IA32_VMX_MISC bits 24:16),
 * VMfailValid with error 7. */

/* The entry fails as want: a VM-entry failure with basic exit reason
 * code, or VMfailValid with VM-instruction error code */
static bool entry_fails_with(struct cpu_outcome *o, const char *what, enum run_end want,
                             u32 code, void (*breakit)(void))
{
    struct vcpu *v = test_guest(o);
    if (!v)
        return false;
    breakit();
    struct run_result r = vcpu_run(v, guest_echo, NULL);
    if (!expect_end(o, v, r, what, want))
        return false;
    if (want == RUN_VMFAIL)
        return CHECK_EQ(o, r.vmfail, VMX_FAIL_VALID) && CHECK_EQ(o, r.vm_error, code);
    return CHECK_EQ(o, r.exit_reason, code);
}

static void break_cr0(void) { vmw(GUEST_CR0, vmr(GUEST_CR0) & ~(u64)CR0_PE); }
/* CS type 3: a read/write data segment (bit 3 clear), not code */
static void break_cs(void) { vmw(GUEST_CS_AR_BYTES, (vmr(GUEST_CS_AR_BYTES) & ~0xfull) | 0x3); }
static void break_cr3_targets(void)
{
    vmw(CR3_TARGET_COUNT, ((vmx_caps.misc >> 16) & 0x1ff) + 1);
}

static void check_entry_failure(struct cpu_outcome *o, void *arg)
{
    (void)arg;
    /* error 7: VM entry with invalid control field(s) (SDM 3C 31.4) */
    if (entry_fails_with(o, "guest CR0.PE clear with PG set", RUN_ENTRY_FAILURE,
                         EXIT_REASON_INVALID_GUEST_STATE, break_cr0) &&
        entry_fails_with(o, "guest CS of data type 3", RUN_ENTRY_FAILURE,
                         EXIT_REASON_INVALID_GUEST_STATE, break_cs) &&
        entry_fails_with(o, "CR3-target count too large", RUN_VMFAIL, 7, break_cr3_targets))
        check_next_guest_runs(o, "refused VM entries");
}

VMX_TEST_ALL_CPUS("vmx/fault-entry-failure", check_entry_failure);

/* ------------------------------------------------------------------------ */
/* vmx/isolation-ept: the guest shares LHV's address space, but its EPT maps
 * LHV's image (code, data, bss with the host stacks) read/execute-only, the
 * host's top-level page table read-only and this CPU's VMCS region not at
 * all. The guest writes one word into each of them: every write is an EPT
 * violation (reason 48, qualification bit 1 = write, bits 7 and 8 = a
 * linear address's own access; SDM 3C 29.3.3, 28.2.1) that the host
 * reports and answers by giving the guest a scratch copy of that page, so
 * the write is retried into the copy, the guest goes on, and LHV's memory
 * is unchanged. The guest's own code runs from the image (it stays mapped for
 * reads and fetches) and its stack and data are pool pages it owns. */

enum { ISO_CODE, ISO_DATA, ISO_STACK, ISO_PAGE_TABLE, ISO_VMCS, ISO_TARGETS };
static const char *const iso_names[ISO_TARGETS] = {"LHV's code", "LHV's data", "the host stack",
                                                   "the host page table", "the VMCS region"};
#define ISO_MAGIC 0x6e6f4e4fu

struct iso_cpu {
    bool ready;
    struct mtrr_state mtrr;
    struct ept ept;
    u8 *scratch[ISO_TARGETS];
    struct iso_data *data; /* a pool page the guest may write */
};

struct iso_data {
    uintptr_t addr[ISO_TARGETS]; /* where the guest writes */
    volatile u32 written;        /* targets the guest got past */
    u32 hits[ISO_TARGETS];       /* violations per target */
    u64 qual[ISO_TARGETS];
    struct ept *e;
    struct iso_cpu *c;
};

static struct iso_cpu iso_cpus[LHV_MAX_CPUS];
extern char guest_entry[]; /* the guest's first instruction (enter-SUBARCH.S) */

static u64 page_of(uintptr_t a) { return (u64)a & ~(u64)(PAGE_SIZE - 1); }

static void iso_map(struct ept *e, u64 gpa, u64 perms)
{
    ept_map_4k(e, gpa, gpa, perms, ept_type_for(e, gpa, PAGE_SIZE));
}

static enum exit_action iso_fail(struct vcpu *v, const char *what, u64 gpa)
{
    return vcpu_fail(v, "%s: EPT violation at 0x%llx, qualification 0x%llx, rip 0x%llx", what,
                     gpa, v->exit_qual, vmr(GUEST_RIP));
}

static enum exit_action iso_hook(struct vcpu *v, u32 reason)
{
    struct iso_data *d = v->test_data;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;
    u64 gpa = vmr(GUEST_PHYSICAL_ADDRESS), q = v->exit_qual;
    /* Without 2 MiB EPT pages the map fills in as the guest goes */
    if (d->e->demand && ept_demand_map(d->e, gpa))
        return ept_flush(d->e) == VMX_OK ? EXIT_RESUME : iso_fail(v, "INVEPT", gpa);
    for (u32 i = 0; i < ISO_TARGETS; i++) {
        if (page_of(d->addr[i]) != page_of((uintptr_t)gpa))
            continue;
        if (gpa != d->addr[i] || !(q & EPT_QUAL_WRITE) || !(q & EPT_QUAL_LINEAR_VALID) ||
            !(q & EPT_QUAL_TRANSLATION) || d->hits[i]++)
            return iso_fail(v, iso_names[i], gpa);
        d->qual[i] = q;
        /* The guest's write lands in scratch: readable and writable, not
         * executable. Scratch starts as a copy of the page (the VMCS
         * region is not read: only VMREAD may): the guest goes on
         * walking its page table there. */
        if (i != ISO_VMCS)
            memcpy(d->c->scratch[i], (void *)(uintptr_t)page_of(d->addr[i]), PAGE_SIZE);
        ept_map_4k(d->e, page_of(d->addr[i]), (uintptr_t)d->c->scratch[i], EPT_READ | EPT_WRITE,
                   ept_type_for(d->e, (uintptr_t)d->c->scratch[i], PAGE_SIZE));
        return ept_flush(d->e) == VMX_OK ? EXIT_RESUME : iso_fail(v, "INVEPT", gpa);
    }
    return iso_fail(v, "an access outside the targets", gpa);
}

static void guest_iso(void *arg)
{
    struct iso_data *d = arg;
    for (u32 i = 0; i < ISO_TARGETS; i++) {
        *(volatile u32 *)d->addr[i] = ISO_MAGIC ^ i;
        d->written = i + 1;
    }
}

/* This CPU's EPT: identity, LHV's image read/execute-only */
static struct iso_cpu *iso_ready(struct cpu_outcome *o)
{
    struct iso_cpu *c = &iso_cpus[this_cpu()->index];
    const char *why = ept_unsupported();
    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    if (c->ready)
        return c;
    mtrr_read(&c->mtrr);
    ept_build_identity(&c->ept, &c->mtrr, ept_identity_top());
    for (u64 a = page_of((uintptr_t)__image_base); a < (uintptr_t)__bss_end; a += PAGE_SIZE)
        iso_map(&c->ept, a, EPT_READ | EPT_EXEC);
    for (u32 i = 0; i < ISO_TARGETS; i++)
        c->scratch[i] = alloc_pages(1);
    c->data = alloc_pages(1);
    c->ready = true;
    return c;
}

static void check_isolation_ept(struct cpu_outcome *o, void *arg)
{
    struct iso_cpu *c = iso_ready(o);
    struct vcpu *v;
    volatile u32 stack_word = 0x57ac0000 + this_cpu()->index;
    u32 before[ISO_TARGETS];
    u64 perms[ISO_TARGETS];
    (void)arg;

    if (!c)
        return;
    v = test_guest_of_this_cpu();
    v->hook = iso_hook;
    struct iso_data *d = c->data;
    memset(d, 0, sizeof(*d));
    d->e = &c->ept;
    d->c = c;
    d->addr[ISO_CODE] = (uintptr_t)vcpu_run;
    d->addr[ISO_DATA] = (uintptr_t)&vmx_caps.misc;
    d->addr[ISO_STACK] = (uintptr_t)&stack_word;
    d->addr[ISO_PAGE_TABLE] = (uintptr_t)page_of(read_cr3()) + PAGE_SIZE - 8; /* last entry */
    v->test_data = d;
    if (!vcpu_init(v) || !vcpu_use_ept(v, &c->ept, 0)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return;
    }
    d->addr[ISO_VMCS] = (uintptr_t)v->vmcs + PAGE_SIZE - 4;
    /* The guest's code must not share a page with a target */
    for (u32 i = 0; i < ISO_TARGETS; i++)
        if (page_of(d->addr[i]) == page_of((uintptr_t)guest_iso) ||
            page_of(d->addr[i]) == page_of((uintptr_t)guest_entry)) {
            outcome_fail(o, "%s (0x%lx) shares a page with the guest's code", iso_names[i],
                         (unsigned long)d->addr[i]);
            return;
        }
    for (u32 i = 0; i < ISO_TARGETS; i++) {
        int level;
        u64 *entry = ept_entry(&c->ept, page_of(d->addr[i]), &level);
        perms[i] = entry && level <= 2 ? *entry & EPT_RWX : EPT_RWX;
    }
    /* The image pages are read/execute-only since iso_ready; the stack (in
     * the image or not) and the page table become read-only (the guest
     * walks the table), the VMCS not mapped */
    iso_map(&c->ept, page_of(d->addr[ISO_STACK]), perms[ISO_STACK] & ~EPT_WRITE);
    iso_map(&c->ept, page_of(d->addr[ISO_PAGE_TABLE]), EPT_READ);
    iso_map(&c->ept, page_of(d->addr[ISO_VMCS]), 0);
    for (u32 i = 0; i < ISO_TARGETS; i++) {
        before[i] = *(volatile u32 *)d->addr[i];
        /* The write's dirty bit in the host's paging entries is set now,
         * so the guest's walk has nothing to write into the read-only
         * page tables (a write of the same value) */
        if (i != ISO_VMCS)
            *(volatile u32 *)d->addr[i] = before[i];
    }
    if (ept_flush(&c->ept) != VMX_OK) {
        outcome_fail(o, "INVEPT failed");
        return;
    }
    struct run_result r = vcpu_run(v, guest_iso, d);
    /* Put the targets' pages back as they were before the run */
    for (u32 i = 0; i < ISO_TARGETS; i++)
        iso_map(&c->ept, page_of(d->addr[i]), perms[i]);
    ept_flush(&c->ept);
    if (r.end != RUN_DONE) {
        outcome_fail(o, "after %u of %u writes: %s", d->written, ISO_TARGETS, r.why);
        return;
    }
    for (u32 i = 0; i < ISO_TARGETS; i++) {
        u32 now = *(volatile u32 *)d->addr[i];
        u32 got = *(volatile u32 *)(c->scratch[i] + (d->addr[i] & (PAGE_SIZE - 1)));
        if (d->hits[i] != 1) {
            outcome_fail(o, "the guest's write to %s (0x%lx) caused %u EPT violations, expected 1",
                         iso_names[i], (unsigned long)d->addr[i], d->hits[i]);
            return;
        }
        if (now != before[i]) {
            outcome_fail(o, "the guest changed %s at 0x%lx: 0x%x, was 0x%x", iso_names[i],
                         (unsigned long)d->addr[i], now, before[i]);
            return;
        }
        if (got != (ISO_MAGIC ^ i)) {
            outcome_fail(o, "the guest's retried write to %s did not reach the scratch page",
                         iso_names[i]);
            return;
        }
    }
    if (stack_word != 0x57ac0000 + this_cpu()->index)
        outcome_fail(o, "the host stack word changed");
}

VMX_TEST_ALL_CPUS("vmx/isolation-ept", check_isolation_ept);

/* ------------------------------------------------------------------------ */
/* vmx/isolation-io-bitmap: with "use I/O bitmaps" (processor-based control
 * bit 25) a set bit in bitmap A (ports 0-0x7fff) or B (0x8000-0xffff)
 * makes IN/OUT of that port exit with reason 30; the qualification holds
 * the size - 1 (bits 2:0), the direction (bit 3, 1 = IN), the immediate
 * operand form (bit 6) and the port (bits 31:16) (SDM 3C 26.1.3, 25.6.4,
 * 28.2.1 table 28-5). The host owns the serial port 0x3f8-0x3ff, the PICs
 * 0x20/0x21/0xa0/0xa1 and the PIT 0x40-0x43: the guest reads each and
 * writes some (values that would do no harm had they passed: the UART's
 * scratch register, the masks the PICs hold, a PIT latch command); each
 * access exits and the host answers reads with 0xff itself. Port 0x80 (POST
 * codes) is not the host's: the guest's OUT and IN there do not exit. */

static const u16 host_ports[] = {0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
                                 0x20,  0x21,  0xa0,  0xa1,  0x40,  0x41,  0x42,  0x43};
#define FREE_PORT 0x80

struct io_data {
    u32 step;             /* index of the access the guest makes next */
    u8 pic1_mask, pic2_mask;
    u8 read[ARRAY_SIZE(host_ports)];
    u32 exits;
    char bad[120];        /* what went wrong in the hook */
};

/* The guest's accesses in order: reads of every host port, then writes */
struct io_access {
    u16 port;
    bool in;
};
#define IO_WRITES 5
static struct io_access io_access_at(const struct io_data *d, u32 i, u8 *value)
{
    static const u16 writes[IO_WRITES] = {0x3ff, 0x21, 0xa1, 0x43, 0};
    if (i < ARRAY_SIZE(host_ports))
        return (struct io_access){host_ports[i], true};
    i -= ARRAY_SIZE(host_ports);
    *value = writes[i] == 0x21 ? d->pic1_mask : writes[i] == 0xa1 ? d->pic2_mask
             : writes[i] == 0x3ff ? 0xa5 : 0x00;
    return (struct io_access){writes[i], false};
}
#define IO_ACCESSES (ARRAY_SIZE(host_ports) + IO_WRITES - 1)

static enum exit_action io_hook(struct vcpu *v, u32 reason)
{
    struct io_data *d = v->test_data;
    u8 value = 0;
    if (reason != EXIT_REASON_IO_INSTRUCTION)
        return EXIT_DEFAULT;
    u64 q = v->exit_qual;
    u16 port = (u16)(q >> 16);
    d->exits++;
    if (d->step >= IO_ACCESSES) {
        snprintf(d->bad, sizeof(d->bad), "an exit for port 0x%x after the host's ports", port);
        return vcpu_fail(v, "%s", d->bad);
    }
    struct io_access a = io_access_at(d, d->step, &value);
    if (port != a.port || !!(q & IO_QUAL_IN) != a.in || (q & 7) != 0 || (q & IO_QUAL_STRING)) {
        return vcpu_fail(v, "access %u: qualification 0x%llx (port 0x%x), expected a 1-byte %s "
                         "of port 0x%x", d->step, q, port, a.in ? "IN" : "OUT", a.port);
    }
    if (a.in)
        REG_AX(v) = (REG_AX(v) & ~0xffull) | 0xff;
    else if ((u8)REG_AX(v) != value) {
        return vcpu_fail(v, "OUT to port 0x%x: AL is not the guest's value 0x%x", port, value);
    }
    d->step++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_io(void *arg)
{
    struct io_data *d = arg;
    u8 value = 0;
    for (u32 i = 0; i < IO_ACCESSES; i++) {
        struct io_access a = io_access_at(d, i, &value);
        if (a.in)
            d->read[i] = inb(a.port);
        else
            outb(a.port, value);
    }
    /* Not the host's: no exit (POST code port) */
    outb(FREE_PORT, 0x88);
    (void)inb(FREE_PORT);
}

/* This CPU's I/O bitmaps A and B, all clear (no port exits) */
static u8 **io_bitmaps_clear(void)
{
    static u8 *bitmaps[LHV_MAX_CPUS][2];
    u8 **bm = bitmaps[this_cpu()->index];
    if (!bm[0]) {
        bm[0] = alloc_pages(1);
        bm[1] = alloc_pages(1);
    }
    memset(bm[0], 0, PAGE_SIZE);
    memset(bm[1], 0, PAGE_SIZE);
    return bm;
}

/* Sets port's bit: bitmap A holds 0-0x7fff, B 0x8000-0xffff (SDM 3C 25.6.4) */
static void io_bitmap_set(u8 **bm, u16 port)
{
    bm[port >> 15][(port & 0x7fff) / 8] |= (u8)(1u << (port % 8));
}

static void check_io_bitmap(struct cpu_outcome *o, void *arg)
{
    u8 **bm;
    struct io_data d;
    u32 proc, missing;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    for (u32 i = 0; i < ARRAY_SIZE(host_ports); i++)
        io_bitmap_set(bm, host_ports[i]);
    memset(&d, 0, sizeof(d));
    d.pic1_mask = inb(0x21);
    d.pic2_mask = inb(0xa1);
    outb(0x3ff, 0x3c);
    v = test_guest(o);
    if (!v)
        return;
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | CPU_USE_IO_BITMAPS,
                    &proc, &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmw(IO_BITMAP_A, (uintptr_t)bm[0]);
    vmw(IO_BITMAP_B, (uintptr_t)bm[1]);
    v->hook = io_hook;
    v->test_data = &d;
    if (!test_guest_run(o, v, guest_io, &d))
        return;
    if (d.step != IO_ACCESSES || d.exits != IO_ACCESSES) {
        outcome_fail(o, "%u I/O exits, expected %u (one per access to the host's ports)", d.exits,
                     (u32)IO_ACCESSES);
        return;
    }
    for (u32 i = 0; i < ARRAY_SIZE(host_ports); i++)
        if (d.read[i] != 0xff) {
            outcome_fail(o, "the guest read 0x%x from port 0x%x, not the host's answer 0xff",
                         d.read[i], host_ports[i]);
            return;
        }
    u8 scratch = inb(0x3ff);
    if (scratch != 0x3c)
        outcome_fail(o, "the UART scratch register holds 0x%x after the guest's OUT, was 0x3c",
                     scratch);
    else if (inb(0x21) != d.pic1_mask || inb(0xa1) != d.pic2_mask)
        outcome_fail(o, "the PIC masks changed");
}

VMX_TEST_ALL_CPUS("vmx/isolation-io-bitmap", check_io_bitmap);

/* ------------------------------------------------------------------------ */
/* vmx/io-bitmaps and vmx/io-unconditional: which IN/OUT/INS/OUTS exit and
 * what the exit says. An I/O exit (reason 30) has the qualification of SDM
 * 3C 28.2.1 table 28-5: size - 1 (bits 2:0), IN (bit 3), string (bit 4),
 * REP (bit 5), immediate port operand (bit 6), the port (bits 31:16), the
 * rest 0. For INS/OUTS the guest-linear address field holds the address of
 * the memory operand (ES:rDI, DS:rSI) and, when IA32_VMX_BASIC bit 54 says
 * so, the instruction information holds the address size (bits 9:7) and,
 * for OUTS, the segment (bits 17:15, DS = 3) (28.2.5 table 28-8). The host
 * skips each exiting instruction (nothing reaches a port). The ports:
 * IOB_PORT (0x84, an unused DMA page register) and IOB_PORT_B (in bitmap
 * B) are the intercepted ones, 0x80 (POST codes) the one that may pass. */

#define IOB_PORT 0x84
#define IOB_PORT_B 0x8a00
#define IOB_EDGE 0x7fff /* a word there touches 0x7fff (bitmap A) and 0x8000 (B) */
#ifdef __x86_64__
#define IOB_ADDR_SIZE 2 /* 64-bit */
#else
#define IOB_ADDR_SIZE 1 /* 32-bit */
#endif

enum iob_op { IOB_IN_IMM, IOB_OUT_WORD, IOB_IN_DWORD_B, IOB_IN_WORD_EDGE, IOB_OUTSB,
              IOB_REP_OUTSB, IOB_REP_INSB, IOB_OUT_FREE, IOB_IN_FREE, IOB_OPS };

static const struct {
    const char *name;
    u32 qual;
    bool string, in;
} iob_ops[IOB_OPS] = {
    [IOB_IN_IMM] = {"IN AL, 0x84", IO_QUAL(IOB_PORT, 1, IO_QUAL_IN | IO_QUAL_IMM), false, true},
    [IOB_OUT_WORD] = {"OUT DX=0x84, AX", IO_QUAL(IOB_PORT, 2, 0), false, false},
    [IOB_IN_DWORD_B] = {"IN EAX, DX=0x8a00", IO_QUAL(IOB_PORT_B, 4, IO_QUAL_IN), false, true},
    [IOB_IN_WORD_EDGE] = {"IN AX, DX=0x7fff", IO_QUAL(IOB_EDGE, 2, IO_QUAL_IN), false, true},
    [IOB_OUTSB] = {"OUTSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_STRING), true, false},
    [IOB_REP_OUTSB] = {"REP OUTSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_STRING | IO_QUAL_REP), true,
                       false},
    [IOB_REP_INSB] = {"REP INSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_IN | IO_QUAL_STRING | IO_QUAL_REP),
                      true, true},
    [IOB_OUT_FREE] = {"OUT 0x80, AL", IO_QUAL(FREE_PORT, 1, IO_QUAL_IMM), false, false},
    [IOB_IN_FREE] = {"IN AL, 0x80", IO_QUAL(FREE_PORT, 1, IO_QUAL_IN | IO_QUAL_IMM), false, true},
};

struct iob_data {
    u32 ops[IOB_OPS], n;
    bool expect[IOB_OPS];    /* whether ops[i] must exit */
    u32 exits[IOB_OPS];
    volatile u32 at;         /* the guest's current op */
    u8 buf[4];               /* INS/OUTS memory operand */
    char bad[150];
};

static void guest_iob_op(struct iob_data *d, u32 op)
{
    void *p = d->buf;
    unsigned long n = 3;
    u32 v;
    switch (op) {
    case IOB_IN_IMM: __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(IOB_PORT)); break;
    case IOB_OUT_WORD: __asm__ volatile("outw %%ax, %%dx" : : "a"(0x5a5a), "d"(IOB_PORT)); break;
    case IOB_IN_DWORD_B: __asm__ volatile("inl %%dx, %%eax" : "=a"(v) : "d"(IOB_PORT_B)); break;
    case IOB_IN_WORD_EDGE: __asm__ volatile("inw %%dx, %%ax" : "=a"(v) : "d"(IOB_EDGE)); break;
    case IOB_OUTSB: __asm__ volatile("outsb" : "+S"(p) : "d"(IOB_PORT) : "memory"); break;
    case IOB_REP_OUTSB:
        __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(IOB_PORT) : "memory");
        break;
    case IOB_REP_INSB:
        __asm__ volatile("rep insb" : "+D"(p), "+c"(n) : "d"(IOB_PORT) : "memory");
        break;
    case IOB_OUT_FREE: __asm__ volatile("outb %%al, %1" : : "a"(0x88), "N"(FREE_PORT)); break;
    case IOB_IN_FREE: __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(FREE_PORT)); break;
    }
    (void)v;
}

static void guest_iob(void *arg)
{
    struct iob_data *d = arg;
    for (u32 i = 0; i < d->n; i++) {
        d->at = i;
        guest_iob_op(d, d->ops[i]);
    }
}

/* What a string instruction's exit must add: the operand's address and,
 * when reported, the address size and (OUTS) DS */
static bool iob_string_ok(struct iob_data *d, u32 op)
{
    u64 addr = vmr(GUEST_LINEAR_ADDRESS);
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    if (addr != (uintptr_t)d->buf) {
        snprintf(d->bad, sizeof(d->bad), "%s: guest-linear address 0x%llx, expected the "
                 "operand 0x%lx", iob_ops[op].name, addr, (unsigned long)(uintptr_t)d->buf);
        return false;
    }
    if (!(vmx_caps.basic & VMX_BASIC_INOUT_INFO))
        return true;
    if (((info >> 7) & 7) != IOB_ADDR_SIZE || (!iob_ops[op].in && ((info >> 15) & 7) != 3)) {
        snprintf(d->bad, sizeof(d->bad), "%s: instruction information 0x%x, expected address "
                 "size %u%s", iob_ops[op].name, info, IOB_ADDR_SIZE,
                 iob_ops[op].in ? "" : " and segment DS (3)");
        return false;
    }
    return true;
}

static enum exit_action iob_hook(struct vcpu *v, u32 reason)
{
    struct iob_data *d = v->test_data;
    if (reason != EXIT_REASON_IO_INSTRUCTION)
        return EXIT_DEFAULT;
    u32 i = d->at, op = d->ops[i];
    d->exits[i]++;
    if (!d->expect[i])
        snprintf(d->bad, sizeof(d->bad), "%s exited (qualification 0x%llx), expected it to "
                 "pass", iob_ops[op].name, v->exit_qual);
    else if (v->exit_qual != iob_ops[op].qual)
        snprintf(d->bad, sizeof(d->bad), "%s: qualification 0x%llx, expected 0x%x",
                 iob_ops[op].name, v->exit_qual, iob_ops[op].qual);
    else if (!iob_ops[op].string || iob_string_ok(d, op)) {
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    return vcpu_fail(v, "%s", d->bad);
}

/* Runs the ops in the guest with proc-based controls proc (adjusted) and
 * the bitmaps bm; each op must exit once when its expect bit is set in
 * exit_mask (1 << op), never otherwise. */
static bool iob_run(struct cpu_outcome *o, const char *what, u32 proc, u8 **bm,
                    const u32 *ops, u32 n, u32 exit_mask)
{
    struct iob_data d;
    u32 value, missing;
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | proc, &value,
                    &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return false;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, value);
    vmw(IO_BITMAP_A, (uintptr_t)bm[0]);
    vmw(IO_BITMAP_B, (uintptr_t)bm[1]);
    memset(&d, 0, sizeof(d));
    memcpy(d.ops, ops, n * sizeof(*ops));
    d.n = n;
    for (u32 i = 0; i < n; i++)
        d.expect[i] = exit_mask & (1u << ops[i]);
    v->hook = iob_hook;
    v->test_data = &d;
    struct run_result r = vcpu_run(v, guest_iob, &d);
    if (r.end != RUN_DONE) {
        outcome_fail(o, "%s: %s", what, r.why);
        return false;
    }
    for (u32 i = 0; i < n; i++)
        if (d.exits[i] != (u32)d.expect[i]) {
            outcome_fail(o, "%s: %s caused %u exits, expected %u", what, iob_ops[ops[i]].name,
                         d.exits[i], (u32)d.expect[i]);
            return false;
        }
    return true;
}

/* vmx/io-bitmaps: with "use I/O bitmaps" (processor-based bit 25) an
 * instruction exits when the bit of any port it touches is set (SDM 3C
 * 26.1.3, 25.6.4): set here are 0x84, 0x8a00 (bitmap B) and 0x8000, which
 * only the second byte of a word access at 0x7fff touches. Port 0x80's bit
 * is clear: OUT and IN there pass. */
static void check_io_bitmaps(struct cpu_outcome *o, void *arg)
{
    static const u32 ops[] = {IOB_IN_IMM, IOB_OUT_WORD, IOB_IN_DWORD_B, IOB_IN_WORD_EDGE,
                              IOB_OUTSB, IOB_REP_OUTSB, IOB_REP_INSB, IOB_OUT_FREE, IOB_IN_FREE};
    u8 **bm;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    io_bitmap_set(bm, IOB_PORT);
    io_bitmap_set(bm, IOB_PORT_B);
    io_bitmap_set(bm, IOB_EDGE + 1);
    iob_run(o, "I/O bitmaps", CPU_USE_IO_BITMAPS, bm, ops, ARRAY_SIZE(ops),
            ~((1u << IOB_OUT_FREE) | (1u << IOB_IN_FREE)));
}

VMX_TEST_ALL_CPUS("vmx/io-bitmaps", check_io_bitmaps);

/* vmx/io-unconditional: with "unconditional I/O exiting" (processor-based
 * bit 24) and no I/O bitmaps every IN, OUT, INS and OUTS exits, port 0x80
 * too; with "use I/O bitmaps" also set the bitmaps decide and the
 * unconditional control is ignored (SDM 3C 25.6.2, 26.1.3): 0x80, its bit
 * clear, passes, 0x84 exits. */
static void check_io_unconditional(struct cpu_outcome *o, void *arg)
{
    static const u32 ops[] = {IOB_IN_IMM, IOB_OUT_WORD, IOB_OUTSB, IOB_REP_INSB, IOB_OUT_FREE,
                              IOB_IN_FREE};
    u8 **bm;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_UNCONDITIONAL_IO_EXITING,
                         "unconditional I/O exiting") ||
        !require_control_clear(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    if (!iob_run(o, "unconditional I/O exiting", CPU_UNCONDITIONAL_IO_EXITING, bm, ops,
                 ARRAY_SIZE(ops), ~0u))
        return;
    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS,
                         "use I/O bitmaps; unconditional exiting passed"))
        return;
    io_bitmap_set(bm, IOB_PORT);
    iob_run(o, "unconditional I/O exiting under I/O bitmaps",
            CPU_UNCONDITIONAL_IO_EXITING | CPU_USE_IO_BITMAPS, bm, ops, ARRAY_SIZE(ops),
            ~((1u << IOB_OUT_FREE) | (1u << IOB_IN_FREE)));
}

VMX_TEST_ALL_CPUS("vmx/io-unconditional", check_io_unconditional);

/* ------------------------------------------------------------------------ */
/* vmx/isolation-msrs: MSRs that hold the host's state are the host's: with
 * their write bits set in the MSR bitmap (SDM 3C 25.6.9), the guest's WRMSR
 * of IA32_EFER, IA32_LSTAR (amd64), IA32_APIC_BASE and IA32_FEATURE_CONTROL
 * exits with reason 32 (26.1.3) with the MSR in ECX and the value in
 * EDX:EAX, and the host drops it; their reads still pass (no exit) and
 * read the host's values. The guest writes EFER and LSTAR changed (SCE
 * toggled, LSTAR + 0x10), the others unchanged (a leak there would stop
 * the machine): afterwards the host's values are what they were. */


static const u32 host_msrs[] = {
    MSR_IA32_EFER,
#ifdef __x86_64__
    MSR_IA32_LSTAR,
#endif
    MSR_IA32_APIC_BASE, MSR_IA32_FEATURE_CONTROL};
#define HOST_MSRS ARRAY_SIZE(host_msrs)

struct msr_data {
    u64 read[HOST_MSRS];   /* what the guest read */
    u64 wrote[HOST_MSRS];  /* what it then tried to write */
    u32 exits;
};

static u64 msr_change(u32 msr, u64 value)
{
    if (msr == MSR_IA32_EFER)
        return value ^ 1; /* SCE */
#ifdef __x86_64__
    if (msr == MSR_IA32_LSTAR)
        return value + 0x10;
#endif
    return value;
}

static enum exit_action isolation_msr_hook(struct vcpu *v, u32 reason)
{
    struct msr_data *d = v->test_data;
    if (reason != EXIT_REASON_MSR_WRITE)
        return EXIT_DEFAULT;
    u32 msr = (u32)REG_CX(v);
    u64 value = ((u64)(u32)REG_DX(v) << 32) | (u32)REG_AX(v);
    if (d->exits >= HOST_MSRS || msr != host_msrs[d->exits] || value != d->wrote[d->exits]) {
        return vcpu_fail(v, "WRMSR exit %u: MSR 0x%x value 0x%llx, unexpected", d->exits, msr,
                         value);
    }
    d->exits++;
    vcpu_skip_instruction(); /* dropped */
    return EXIT_RESUME;
}

static void guest_msrs(void *arg)
{
    struct msr_data *d = arg;
    for (u32 i = 0; i < HOST_MSRS; i++) {
        d->read[i] = rdmsr(host_msrs[i]);
        d->wrote[i] = msr_change(host_msrs[i], d->read[i]);
        wrmsr(host_msrs[i], d->wrote[i]);
    }
}

static void check_msrs(struct cpu_outcome *o, void *arg)
{
    struct msr_data d;
    u64 host[HOST_MSRS];
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_MSR_BITMAPS, "use MSR bitmaps") ||
        !(v = test_guest(o)))
        return;
    for (u32 i = 0; i < HOST_MSRS; i++) {
        host[i] = rdmsr(host_msrs[i]);
        msr_bitmap_set(v->msr_bitmap, host_msrs[i], MSR_BITMAP_WRITE, true);
    }
    memset(&d, 0, sizeof(d));
    v->hook = isolation_msr_hook;
    v->test_data = &d;
    bool ran = test_guest_run(o, v, guest_msrs, &d);
    memset(v->msr_bitmap, 0, PAGE_SIZE);
    for (u32 i = 0; i < HOST_MSRS; i++) {
        u64 now = rdmsr(host_msrs[i]);
        if (now != host[i]) {
            outcome_fail(o, "the host's MSR 0x%x is 0x%llx after the guest, was 0x%llx",
                         host_msrs[i], now, host[i]);
            wrmsr(host_msrs[i], host[i]);
            return;
        }
    }
    if (!ran)
        return;
    if (d.exits != HOST_MSRS) {
        outcome_fail(o, "%u WRMSR exits, expected %u", d.exits, (u32)HOST_MSRS);
        return;
    }
    for (u32 i = 0; i < HOST_MSRS; i++)
        if (d.read[i] != host[i]) {
            outcome_fail(o, "the guest read MSR 0x%x as 0x%llx, the host has 0x%llx",
                         host_msrs[i], d.read[i], host[i]);
            return;
        }
}

VMX_TEST_ALL_CPUS("vmx/isolation-msrs", check_msrs);
