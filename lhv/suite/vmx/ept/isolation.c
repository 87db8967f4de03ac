/* Guests kept out of what the host owns under EPT (issue #8), on every
 * CPU: writes to LHV's image, stacks, page tables and VMCS are EPT
 * violations and land in scratch copies. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "runtime.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

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
