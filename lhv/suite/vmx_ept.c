/* EPT and VPID, on every CPU (SDM 3C chapter 29): guests that run under an
 * identity EPT with the MTRRs' memory types, EPT violations and their exit
 * information, EPTP switches with INVEPT, 2 MiB and execute-only EPT pages,
 * and INVVPID. Each CPU keeps its own EPT roots; a test that changes one
 * puts it back before it returns. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "vmx_test.h"
#include "vmx/ept.h"
#include "x86.h"

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

static struct cpu_ept cpu_ept[LHV_MAX_CPUS];

/* This CPU's EPT state, made on first use (the MTRRs are read on each CPU:
 * they should agree, and each map follows its own CPU's). */
static struct cpu_ept *this_ept(void)
{
    struct cpu_ept *c = &cpu_ept[this_cpu()->index];
    if (c->ready)
        return c;
    mtrr_read(&c->mtrr);
    u64 top = ept_identity_top();
    ept_build_identity(&c->ident, &c->mtrr, top);
    ept_build_identity(&c->other, &c->mtrr, top);
    c->page = alloc_pages(1);
    c->alt[0] = alloc_pages(1);
    c->alt[1] = alloc_pages(1);
    c->code = alloc_pages(1);
    c->in = alloc_pages(1);
    c->out = alloc_pages(1);
    c->ready = true;
    return c;
}

/* EPT state of a CPU that can run these tests, or NULL after a SKIP */
static struct cpu_ept *ept_ready(struct cpu_outcome *o)
{
    const char *why = ept_unsupported();
    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    return this_ept();
}

/* Without 2 MiB EPT pages the identity map fills in as the guest touches
 * pages: an EPT violation on a never-written entry is that, not a test. */
static bool demand_fill(u32 reason)
{
    struct ept *e = cpu_ept[this_cpu()->index].active;
    if (reason != EXIT_REASON_EPT_VIOLATION || !e || !e->demand ||
        !ept_demand_map(e, vmr(GUEST_PHYSICAL_ADDRESS)))
        return false;
    return ept_flush(e) == VMX_OK;
}

static enum exit_action base_hook(struct vcpu *v, u32 reason)
{
    (void)v;
    return demand_fill(reason) ? EXIT_RESUME : EXIT_DEFAULT;
}

/* This CPU's guest with a fresh VMCS running on e (NULL: no EPT) with vpid
 * (0: none), or NULL after a failure. */
static struct vcpu *ept_guest(struct cpu_outcome *o, struct ept *e, u16 vpid, exit_hook hook,
                              void *data)
{
    struct vcpu *v = test_guest_of_this_cpu();

    v->hook = hook ? hook : base_hook;
    v->test_data = data;
    cpu_ept[this_cpu()->index].active = e;
    if (!vcpu_init(v) || !vcpu_use_ept(v, e, vpid)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return NULL;
    }
    return v;
}

static bool flush(struct cpu_outcome *o, const struct ept *e)
{
    int st = ept_flush(e);
    if (st == VMX_OK)
        return true;
    outcome_fail(o, "INVEPT %s-context failed (status %d, error %llu)",
                 (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? "single" : "all", st,
                 vmr(VM_INSTRUCTION_ERROR));
    return false;
}

/* Puts the identity page back at gpa */
static void restore_page(struct ept *e, u64 gpa)
{
    ept_map_4k(e, gpa, gpa, EPT_RWX, ept_type_for(e, gpa, PAGE_SIZE));
}

/* A function the guest calls in a test page: mov $value, %eax; ret */
static void put_code(u8 *at, u32 value)
{
    at[0] = 0xb8;
    memcpy(at + 1, &value, 4);
    at[5] = 0xc3;
}

static u32 call_code(const u8 *at) { return ((u32(*)(void))(uintptr_t)at)(); }

static u32 pattern(u32 i, u32 seed) { return (0x9e3779b9u * (i + 1)) ^ (seed << 24) ^ seed; }

/* ------------------------------------------------------------------------ */
/* vmx/ept-identity */

#define ROM_TOP 0xfffffff0u /* the reset vector: firmware ROM (MMIO) */

struct identity_data {
    const u32 *in;
    u32 *out;
    u32 seed;
    u32 bad_in, first_bad;
    u8 rom[16];
    uintptr_t apic_version_reg; /* 0 in x2APIC mode */
    u32 apic_version;
    uintptr_t stack;
};

static void guest_identity(void *arg)
{
    struct identity_data *d = arg;
    volatile u32 local = 0;

    d->stack = (uintptr_t)&local;
    for (u32 i = 0; i < PAGE_SIZE / 4; i++)
        if (d->in[i] != pattern(i, d->seed) && d->bad_in++ == 0)
            d->first_bad = i;
    for (u32 i = 0; i < PAGE_SIZE / 4; i++)
        d->out[i] = pattern(i, ~d->seed);
    for (u32 i = 0; i < sizeof(d->rom); i++)
        d->rom[i] = ((const volatile u8 *)(uintptr_t)ROM_TOP)[i];
    if (d->apic_version_reg)
        d->apic_version = *(const volatile u32 *)d->apic_version_reg;
}

/* The EPT entry for addr maps it to itself, RWX, PAT not ignored, with the
 * type the MTRRs give each of its 4 KiB pages. */
static bool check_leaf(struct cpu_outcome *o, struct cpu_ept *c, u64 addr, const char *what)
{
    int level;
    u64 *entry = ept_entry(&c->ident, addr, &level);
    u64 size = level == 2 ? SIZE_2M : PAGE_SIZE, base = addr & ~(size - 1);
    u8 type = (u8)((*entry & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT);

    if (!(*entry & EPT_RWX) || level > 2) {
        if (c->ident.demand)
            return true; /* never touched: nothing to check */
        outcome_fail(o, "%s (0x%llx): no EPT page (level %d entry 0x%llx)", what, addr, level,
                     *entry);
        return false;
    }
    if ((*entry & EPT_ADDR_MASK) != base || (*entry & EPT_RWX) != EPT_RWX ||
        (*entry & EPT_IGNORE_PAT)) {
        outcome_fail(o, "%s (0x%llx): level-%d entry 0x%llx is not an RWX identity page", what,
                     addr, level, *entry);
        return false;
    }
    for (u64 p = base; p < base + size; p += PAGE_SIZE) {
        u8 want = mtrr_type_at(&c->mtrr, p);
        if (want != MTRR_TYPE_WC && want != MTRR_TYPE_WT && want != MTRR_TYPE_WP &&
            want != MTRR_TYPE_WB)
            want = MTRR_TYPE_UC;
        if (type != want) {
            outcome_fail(o, "%s (0x%llx): EPT type %s for the %s page, the MTRRs give 0x%llx %s",
                         what, addr, mtrr_type_name(type), level == 2 ? "2 MiB" : "4 KiB", p,
                         mtrr_type_name(want));
            return false;
        }
    }
    return true;
}

static void print_map(const struct cpu_ept *c)
{
    const struct ept *e = &c->ident;
    if (e->demand) {
        printf("ept: no 2 MiB EPT pages: identity map of [0, 0x%llx) filled on demand\n", e->top);
        return;
    }
    printf("ept: identity map of [0, 0x%llx): %u 2-MiB and %u 4-KiB pages in %u tables; "
           "UC %u WC %u WT %u WP %u WB %u; MTRRs %s, default %s, %u variable, fixed %s\n",
           e->top, e->leaves_2m, e->leaves_4k, e->tables, e->by_type[MTRR_TYPE_UC],
           e->by_type[MTRR_TYPE_WC], e->by_type[MTRR_TYPE_WT], e->by_type[MTRR_TYPE_WP],
           e->by_type[MTRR_TYPE_WB], c->mtrr.enabled ? "on" : "off",
           mtrr_type_name(c->mtrr.default_type), c->mtrr.var_count,
           c->mtrr.fixed_enabled ? "on" : "off");
}

static void check_identity(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct identity_data d;
    struct vcpu *v;
    u8 rom[16];
    (void)arg;

    if (!c)
        return;
    if (this_cpu()->index == 0)
        print_map(c);
    memset(&d, 0, sizeof(d));
    d.in = c->in;
    d.out = c->out;
    d.seed = 0x5a00 + this_cpu()->index;
    for (u32 i = 0; i < PAGE_SIZE / 4; i++) {
        c->in[i] = pattern(i, d.seed);
        c->out[i] = 0;
    }
    if (!lapic_x2apic())
        d.apic_version_reg =
            (uintptr_t)(rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_ADDR_MASK) + LAPIC_REG_VERSION;
    v = ept_guest(o, &c->ident, 0, NULL, NULL);
    if (!v || !test_guest_run(o, v, guest_identity, &d))
        return;
    if (!(vmr(SECONDARY_VM_EXEC_CONTROL) & CPU2_ENABLE_EPT) || vmr(EPT_POINTER) != c->ident.eptp) {
        outcome_fail(o, "EPT not on: secondary controls 0x%llx, EPTP 0x%llx",
                     vmr(SECONDARY_VM_EXEC_CONTROL), vmr(EPT_POINTER));
        return;
    }
    if (d.bad_in) {
        outcome_fail(o,
                     "the guest read %u wrong words of the host's page 0x%lx, first "
                     "at word %u",
                     d.bad_in, (unsigned long)(uintptr_t)c->in, d.first_bad);
        return;
    }
    for (u32 i = 0; i < PAGE_SIZE / 4; i++)
        if (c->out[i] != pattern(i, ~d.seed)) {
            outcome_fail(o, "word %u the guest wrote to 0x%lx reads 0x%x, expected 0x%x", i,
                         (unsigned long)(uintptr_t)c->out, c->out[i], pattern(i, ~d.seed));
            return;
        }
    for (u32 i = 0; i < sizeof(rom); i++)
        rom[i] = ((const volatile u8 *)(uintptr_t)ROM_TOP)[i];
    if (memcmp(rom, d.rom, sizeof(rom))) {
        outcome_fail(o, "the guest read other bytes at MMIO 0x%x (ROM) than the host", ROM_TOP);
        return;
    }
    if (d.apic_version_reg && d.apic_version != lapic_read(LAPIC_REG_VERSION)) {
        outcome_fail(o, "the guest read LAPIC version 0x%x through MMIO, the host 0x%x",
                     d.apic_version, lapic_read(LAPIC_REG_VERSION));
        return;
    }
    /* Memory types of the pages the guest used, and of the legacy video
     * memory and the first page (fixed MTRRs) */
    if (!check_leaf(o, c, (uintptr_t)c->in, "data page") ||
        !check_leaf(o, c, d.stack, "guest stack") ||
        !check_leaf(o, c, (uintptr_t)guest_identity, "guest code") ||
        !check_leaf(o, c, ROM_TOP, "firmware ROM") ||
        (d.apic_version_reg && !check_leaf(o, c, d.apic_version_reg, "LAPIC")) ||
        !check_leaf(o, c, 0xb8000, "VGA memory") || !check_leaf(o, c, 0, "page 0"))
        return;
    /* The VGA page's type straight from its fixed-range MSR (12.11.2.2):
     * 0xb8000 is sub-range 6 of IA32_MTRR_FIX16K_A0000 */
    if (c->mtrr.enabled && c->mtrr.fixed_enabled && !c->ident.demand) {
        int level;
        u8 raw = (u8)(rdmsr(MSR_IA32_MTRR_FIX16K_A0000) >> 48);
        u8 type = (u8)((*ept_entry(&c->ident, 0xb8000, &level) & EPT_TYPE_MASK) >> EPT_TYPE_SHIFT);
        if (raw <= MTRR_TYPE_WB && raw != 2 && raw != 3 && type != raw)
            outcome_fail(o, "EPT type %s at 0xb8000, IA32_MTRR_FIX16K_A0000 byte 6 says %s",
                         mtrr_type_name(type), mtrr_type_name(raw));
    }
}

VMX_TEST_ALL_CPUS("vmx/ept-identity", check_identity);

/* ------------------------------------------------------------------------ */
/* vmx/ept-violation */

#define VIOL_READ_OFF 0x10
#define VIOL_WRITE_OFF 0x24
#define VIOL_CODE_OFF 0x800

/* The violations the guest meets in turn on a page that starts not
 * present: a read, a write to it read-only, a fetch from it read/write */
static const struct viol_step {
    u32 offset;
    u64 qual; /* bits 5:0: the access, and what the entries allowed */
    u64 grant;
    const char *what;
} viol_steps[] = {
    {VIOL_READ_OFF, EPT_QUAL_READ, EPT_READ, "read of a not-present page"},
    {VIOL_WRITE_OFF, EPT_QUAL_WRITE | EPT_QUAL_READABLE, EPT_READ | EPT_WRITE,
     "write to a read-only page"},
    {VIOL_CODE_OFF, EPT_QUAL_FETCH | EPT_QUAL_READABLE | EPT_QUAL_WRITABLE, EPT_RWX,
     "fetch from a non-executable page"},
};

struct viol_data {
    struct ept *e;
    u8 *page;
    u32 step;
    u32 magic, store, code_value;
    u32 read_value, fn_value;
};


static enum exit_action violation_hook(struct vcpu *v, u32 reason)
{
    struct viol_data *d = v->test_data;
    if (demand_fill(reason))
        return EXIT_RESUME;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;

    u64 gpa = vmr(GUEST_PHYSICAL_ADDRESS), gla = vmr(GUEST_LINEAR_ADDRESS), q = v->exit_qual;
    if (d->step >= ARRAY_SIZE(viol_steps))
        return vcpu_fail(v, "EPT violation %u (one too many): GPA 0x%llx, qualification 0x%llx",
                         d->step + 1, gpa, q);
    const struct viol_step *s = &viol_steps[d->step];
    u64 want = (uintptr_t)d->page + s->offset;
    if ((q & 0x3f) != s->qual)
        return vcpu_fail(v, "%s: qualification 0x%llx, expected bits 5:0 = 0x%llx", s->what, q,
                         s->qual);
    if (!(q & EPT_QUAL_LINEAR_VALID) || !(q & EPT_QUAL_TRANSLATION))
        return vcpu_fail(v, "%s: qualification 0x%llx, expected bits 7 and 8 set", s->what, q);
    if (gpa != want || gla != want)
        return vcpu_fail(v, "%s: guest-physical 0x%llx, guest-linear 0x%llx, expected 0x%llx",
                         s->what, gpa, gla, want);
    ept_protect_4k(d->e, (uintptr_t)d->page, s->grant);
    if (ept_flush(d->e) != VMX_OK)
        return vcpu_fail(v, "INVEPT failed after a permission change");
    d->step++;
    return EXIT_RESUME;
}

static void guest_violation(void *arg)
{
    struct viol_data *d = arg;
    d->read_value = *(volatile u32 *)(d->page + VIOL_READ_OFF);
    *(volatile u32 *)(d->page + VIOL_WRITE_OFF) = d->store;
    d->fn_value = call_code(d->page + VIOL_CODE_OFF);
}

static void check_violation(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct viol_data d;
    struct vcpu *v;
    (void)arg;

    if (!c)
        return;
    memset(&d, 0, sizeof(d));
    d.e = &c->ident;
    d.page = c->page;
    d.magic = 0x7ead0000 + this_cpu()->index;
    d.store = 0x3717e000 + this_cpu()->index;
    d.code_value = 0xc0de0000 + this_cpu()->index;
    memset(c->page, 0, PAGE_SIZE);
    memcpy(c->page + VIOL_READ_OFF, &d.magic, 4);
    put_code(c->page + VIOL_CODE_OFF, d.code_value);
    ept_protect_4k(d.e, (uintptr_t)c->page, 0);
    v = ept_guest(o, d.e, 0, violation_hook, &d);
    if (v && flush(o, d.e) && test_guest_run(o, v, guest_violation, &d)) {
        u32 stored;
        memcpy(&stored, c->page + VIOL_WRITE_OFF, 4);
        /* each violation handled once; then the read, the write and the fetch went through */
        (void)(CHECK_EQ(o, d.step, ARRAY_SIZE(viol_steps)) &&
               CHECK_EQ(o, d.read_value, d.magic) && CHECK_EQ(o, stored, d.store) &&
               CHECK_EQ(o, d.fn_value, d.code_value));
    }
    restore_page(d.e, (uintptr_t)c->page);
    ept_flush(d.e);
}

VMX_TEST_ALL_CPUS("vmx/ept-violation", check_violation);

/* ------------------------------------------------------------------------ */
/* vmx/ept-switch-invept */

struct switch_data {
    volatile u32 *word;
    u32 seen, store;
};

static void guest_switch(void *arg)
{
    struct switch_data *d = arg;
    d->seen = d->word[0];
    d->word[1] = d->store;
}

/* INVEPT of one type, as the CPU has it: single-context (of e) or
 * all-context */
static bool invept_as(struct cpu_outcome *o, u32 type, const struct ept *e)
{
    int st = invept(type, type == INVEPT_SINGLE ? e->eptp : 0);
    if (st == VMX_OK)
        return true;
    outcome_fail(o, "INVEPT %s-context failed (status %d, error %llu)",
                 type == INVEPT_SINGLE ? "single" : "all", st, vmr(VM_INSTRUCTION_ERROR));
    return false;
}

/* One run on EPTP `e` after an INVEPT of `type`: the guest reads the test
 * page's word 0 (expects want) and writes word 1, which must land in host
 * page `lands`. */
static bool switch_run(struct cpu_outcome *o, struct vcpu *v, struct ept *e, u32 type,
                       u32 *lands, u32 want, const char *what)
{
    struct cpu_ept *c = &cpu_ept[this_cpu()->index];
    struct switch_data d = {(volatile u32 *)c->page, 0, want ^ 0xffff0000u};

    ((u32 *)c->alt[0])[1] = ((u32 *)c->alt[1])[1] = 0;
    vmw(EPT_POINTER, e->eptp);
    c->active = e;
    if (!invept_as(o, type, e) || !test_guest_run(o, v, guest_switch, &d))
        return false;
    if (d.seen != want) {
        outcome_fail(o, "%s: the guest read 0x%x, expected 0x%x", what, d.seen, want);
        return false;
    }
    if (lands[1] != d.store) {
        outcome_fail(o, "%s: the guest's write did not reach host page 0x%lx", what,
                     (unsigned long)(uintptr_t)lands);
        return false;
    }
    return true;
}

static void check_switch(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct vcpu *v;
    u32 *own, *p1, *p2, cpu = this_cpu()->index;
    (void)arg;

    if (!c)
        return;
    own = (u32 *)c->page;
    p1 = (u32 *)c->alt[0];
    p2 = (u32 *)c->alt[1];
    own[0] = 0x0e0e0000 + cpu;
    own[1] = p1[1] = p2[1] = 0;
    p1[0] = 0x11110000 + cpu;
    p2[0] = 0x22220000 + cpu;
    /* Two roots: the test page is host page p1 in one, p2 in the other */
    u64 gpa = (uintptr_t)c->page;
    ept_map_4k(&c->ident, gpa, (uintptr_t)p1, EPT_RWX,
               ept_type_for(&c->ident, (uintptr_t)p1, PAGE_SIZE));
    ept_map_4k(&c->other, gpa, (uintptr_t)p2, EPT_RWX,
               ept_type_for(&c->other, (uintptr_t)p2, PAGE_SIZE));
    /* Switches use single-context INVEPT when the CPU has it (bit 25),
     * the change in place all-context when it has that (bit 26) */
    u32 single = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_SINGLE) ? INVEPT_SINGLE : INVEPT_ALL;
    u32 all = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL) ? INVEPT_ALL : INVEPT_SINGLE;
    v = ept_guest(o, &c->ident, 0, NULL, NULL);
    if (v && switch_run(o, v, &c->ident, single, p1, p1[0], "root A") &&
        switch_run(o, v, &c->other, single, p2, p2[0], "after the switch to root B") &&
        switch_run(o, v, &c->ident, single, p1, p1[0], "after the switch back to root A")) {
        /* The same root changed in place: INVEPT makes the change seen */
        ept_map_4k(&c->ident, gpa, (uintptr_t)p2, EPT_RWX,
                   ept_type_for(&c->ident, (uintptr_t)p2, PAGE_SIZE));
        if (switch_run(o, v, &c->ident, all, p2, p2[0], "root A changed in place") &&
            own[1] != 0)
            outcome_fail(o, "the guest's writes reached the test page's own host page");
    }
    restore_page(&c->ident, gpa);
    restore_page(&c->other, gpa);
    ept_flush(&c->ident);
    ept_flush(&c->other);
}

VMX_TEST_ALL_CPUS("vmx/ept-switch-invept", check_switch);

/* ------------------------------------------------------------------------ */
/* vmx/ept-2mb-pages */

/* Known words in the host's 2 MiB region the test maps */
static const u32 big_marker[4] __attribute__((aligned(16))) = {
    0x4c485632, 0x4d425047, 0x2d4d6962, 0x7f00ff00};

#define BIG_READS 10

struct big_data {
    uintptr_t gpa;
    u32 off[BIG_READS];
    u32 val[BIG_READS];
};

static void guest_big(void *arg)
{
    struct big_data *d = arg;
    for (u32 i = 0; i < BIG_READS; i++)
        d->val[i] = *(const volatile u32 *)(d->gpa + d->off[i]);
}

static void check_2mb(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct big_data d;
    struct vcpu *v;
    int level;
    (void)arg;

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & EPT_CAP_2M)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit 16 (2-MiB EPT pages) clear");
        return;
    }
    /* Host region: LHV's own 2 MiB with the marker. Guest-physical window:
     * past the allocation pool (it starts at or below c->page), where the
     * guest has nothing of its own; the host's paging maps it (< 4 GiB). */
    u64 host = (uintptr_t)big_marker & ~(SIZE_2M - 1);
    u64 window = ALIGN_UP((uintptr_t)c->page + ALLOC_POOL_SIZE, SIZE_2M);
    u32 mark = (u32)((uintptr_t)big_marker - host);
    const u32 offs[BIG_READS] = {0,        0xffc, 0x1000,   0x12340,  0x100000,
                                 0x1ffffc, mark,  mark + 4, mark + 8, mark + 12};

    if (window + SIZE_2M > GiB(4) || window + SIZE_2M > c->ident.top) {
        outcome_fail(o, "no guest-physical window below 4 GiB (0x%llx)", window);
        return;
    }
    memset(&d, 0, sizeof(d));
    d.gpa = (uintptr_t)window;
    memcpy(d.off, offs, sizeof(offs));
    ept_map_2m(&c->ident, window, host, EPT_READ, ept_type_for(&c->ident, host, SIZE_2M));
    u64 pde = *ept_entry(&c->ident, window, &level);
    v = ept_guest(o, &c->ident, 0, NULL, NULL);
    if (level != 2 || !(pde & EPT_LARGE)) {
        outcome_fail(o, "the window's entry 0x%llx (level %d) is no 2 MiB page", pde, level);
    } else if (v && flush(o, &c->ident) && test_guest_run(o, v, guest_big, &d)) {
        for (u32 i = 0; i < BIG_READS; i++) {
            /* The marker's words are known; elsewhere the host reads */
            u32 want = i >= BIG_READS - 4 ? big_marker[i - (BIG_READS - 4)]
                                          : *(const volatile u32 *)(uintptr_t)(host + d.off[i]);
            if (d.val[i] != want) {
                outcome_fail(o,
                             "guest-physical 0x%llx (2 MiB page -> 0x%llx) read 0x%x, "
                             "expected 0x%x",
                             window + d.off[i], host, d.val[i], want);
                break;
            }
        }
    }
    ept_restore_identity_2m(&c->ident, window);
    ept_flush(&c->ident);
}

VMX_TEST_ALL_CPUS("vmx/ept-2mb-pages", check_2mb);

/* ------------------------------------------------------------------------ */
/* vmx/ept-execute-only */

#define XO_OFF 0x100

struct xo_data {
    struct ept *e;
    u8 *code;
    u32 violations;
    u64 qual, gpa;
    u32 fn_value, read_value;
};

/* A read of the execute-only page: note it, make the page readable */
static enum exit_action xo_hook(struct vcpu *v, u32 reason)
{
    struct xo_data *d = v->test_data;
    if (demand_fill(reason))
        return EXIT_RESUME;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;
    d->gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    d->qual = v->exit_qual;
    if (d->violations++ || (d->gpa & ~0xfffull) != (uintptr_t)d->code)
        return vcpu_fail(v, "unexpected EPT violation: GPA 0x%llx, qualification 0x%llx",
                         d->gpa, d->qual);
    ept_protect_4k(d->e, (uintptr_t)d->code, EPT_READ | EPT_EXEC);
    if (ept_flush(d->e) != VMX_OK)
        return vcpu_fail(v, "INVEPT failed after a permission change");
    return EXIT_RESUME;
}

static void guest_xo(void *arg)
{
    struct xo_data *d = arg;
    d->fn_value = call_code(d->code + XO_OFF);
    d->read_value = *(const volatile u32 *)(d->code + XO_OFF);
}

static void check_execute_only(struct cpu_outcome *o, void *arg)
{
    struct cpu_ept *c = ept_ready(o);
    struct xo_data d;
    struct vcpu *v;
    u32 value = 0x0c0de000 + this_cpu()->index, first;
    (void)arg;

    if (!c)
        return;
    if (!(vmx_caps.ept_vpid & EPT_CAP_EXEC_ONLY)) {
        outcome_skip(o, "IA32_VMX_EPT_VPID_CAP bit 0 (execute-only EPT pages) clear");
        return;
    }
    memset(&d, 0, sizeof(d));
    d.e = &c->ident;
    d.code = c->code;
    put_code(c->code + XO_OFF, value);
    memcpy(&first, c->code + XO_OFF, 4);
    ept_protect_4k(d.e, (uintptr_t)c->code, EPT_EXEC);
    v = ept_guest(o, d.e, 0, xo_hook, &d);
    if (v && flush(o, d.e) && test_guest_run(o, v, guest_xo, &d)) {
        u64 want = (uintptr_t)c->code + XO_OFF;
        /* the code ran; its read of its own page made one EPT violation (a read
         * of an executable, unreadable page), then read the first word */
        (void)(CHECK_EQ(o, d.fn_value, value) && CHECK_EQ(o, d.violations, 1) &&
               CHECK_EQ(o, d.qual & 0x3f, EPT_QUAL_READ | EPT_QUAL_EXECUTABLE) &&
               CHECK_EQ(o, d.gpa, want) && CHECK_EQ(o, d.read_value, first));
    }
    restore_page(d.e, (uintptr_t)c->code);
    ept_flush(d.e);
}

VMX_TEST_ALL_CPUS("vmx/ept-execute-only", check_execute_only);

/* ------------------------------------------------------------------------ */
/* vmx/vpid-invvpid */

static bool echo_run(struct cpu_outcome *o, struct vcpu *v, const char *when)
{
    struct echo e = {0x1000 + this_cpu()->index, 0x20000, 0};
    if (!test_guest_run(o, v, guest_echo, &e))
        return false;
    if (e.result != e.a + e.b) {
        outcome_fail(o, "%s: the guest's hypercall returned 0x%lx, expected 0x%lx", when, e.result,
                     e.a + e.b);
        return false;
    }
    return true;
}

static const char *const invvpid_names[] = {"individual-address", "single-context", "all-context",
                                            "single-context-retaining-globals", "undefined type 4"};

/* INVVPID(type, vpid, linear) should succeed (ok) or fail with VMfailValid
 * error 28 */
static bool expect_invvpid(struct cpu_outcome *o, unsigned long type, u16 vpid, u64 linear, bool ok,
                           const char *why)
{
    int st = invvpid(type, vpid, linear);
    u32 err = st == VMX_FAIL_VALID ? (u32)vmr(VM_INSTRUCTION_ERROR) : 0;

    if (ok && st == VMX_OK)
        return true;
    if (!ok && st == VMX_FAIL_VALID && err == VMX_ERROR_INVALID_INV_OPERAND)
        return true;
    char got[80];
    if (st == VMX_OK)
        snprintf(got, sizeof(got), "succeeded");
    else if (st == VMX_FAIL_VALID)
        snprintf(got, sizeof(got), "VMfailValid, error %u (%s)", err, vmx_error_text(err));
    else
        snprintf(got, sizeof(got), "VMfailInvalid");
    outcome_fail(o, "INVVPID %s, VPID %u, address 0x%llx (%s): %s, expected %s",
                 invvpid_names[type], vpid, linear, why, got,
                 ok ? "success" : "VMfailValid, error 28");
    return false;
}

static void check_vpid(struct cpu_outcome *o, void *arg)
{
    const char *why = vpid_unsupported();
    u16 vpid = (u16)(1 + this_cpu()->index);
    u64 addr = (uintptr_t)&cpu_ept[this_cpu()->index];
    struct vcpu *v;
    (void)arg;

    if (why) {
        outcome_skip(o, "%s", why);
        return;
    }
    v = ept_guest(o, NULL, vpid, NULL, NULL);
    if (!v || !echo_run(o, v, "with VPID"))
        return;
    if (!(vmr(SECONDARY_VM_EXEC_CONTROL) & CPU2_ENABLE_VPID) || vmr(VIRTUAL_PROCESSOR_ID) != vpid) {
        outcome_fail(o, "VPID not on: secondary controls 0x%llx, VPID %llu",
                     vmr(SECONDARY_VM_EXEC_CONTROL), vmr(VIRTUAL_PROCESSOR_ID));
        return;
    }
    /* Each type as IA32_VMX_EPT_VPID_CAP bits 43:40 say (31.3, INVVPID) */
    for (u32 t = INVVPID_ADDRESS; t <= INVVPID_SINGLE_GLOBALS; t++) {
        bool supported = vmx_caps.ept_vpid & (VPID_CAP_INDIVIDUAL << t);
        if (!expect_invvpid(o, t, vpid, addr, supported, supported ? "supported" : "not supported"))
            return;
    }
    if (!expect_invvpid(o, 4, vpid, addr, false, "no such type"))
        return;
    if ((vmx_caps.ept_vpid & VPID_CAP_SINGLE) &&
        !expect_invvpid(o, INVVPID_SINGLE, 0, 0, false, "VPID 0"))
        return;
    if ((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) &&
        !expect_invvpid(o, INVVPID_ADDRESS, 0, addr, false, "VPID 0"))
        return;
#ifdef __x86_64__
    if ((vmx_caps.ept_vpid & VPID_CAP_INDIVIDUAL) &&
        !expect_invvpid(o, INVVPID_ADDRESS, vpid, 0x0000800000000000ull, false, "non-canonical"))
        return;
#endif
    echo_run(o, v, "after INVVPID");
}

VMX_TEST_ALL_CPUS("vmx/vpid-invvpid", check_vpid);
