/* Guests under an identity EPT with the MTRRs' memory types, on every CPU
 * (SDM 3C chapter 29). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "x86.h"
#include "ept_guest.h"
#include "ept_suite.h"

static u32 pattern(u32 i, u32 seed) { return (0x9e3779b9u * (i + 1)) ^ (seed << 24) ^ seed; }

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

/* MMIO through EPT: the I/O APIC's page not present, a write of its
 * register select (1: the version register) and a read of its window
 * each exit once (qualification write or read, bits 5:3 clear, at the
 * register's guest-physical address) and then reach the device: the guest
 * reads the version the host reads (SDM 3C 29.3.3.2, 28.2.1) */
struct mmio_run {
    bool write;
    u32 version;
};

static void guest_mmio(void *arg)
{
    struct mmio_run *r = arg;
    if (r->write)
        *(volatile u32 *)(uintptr_t)IOAPIC_DEFAULT_BASE = 1;
    r->version = *(volatile u32 *)(uintptr_t)(IOAPIC_DEFAULT_BASE + 0x10);
}

static bool check_mmio(struct cpu_outcome *o, struct cpu_ept *c)
{
    struct ept_exits x = {.e = &c->ident};
    bool ok = true;

    *(volatile u32 *)(uintptr_t)IOAPIC_DEFAULT_BASE = 1;
    u32 version = *(volatile u32 *)(uintptr_t)(IOAPIC_DEFAULT_BASE + 0x10);
    for (u32 write = 1; ok && write <= 1; write--) {
        struct mmio_run r = {write, 0};
        ept_protect_4k(&c->ident, IOAPIC_DEFAULT_BASE, 0);
        x.entry = ept_leaf(&c->ident, IOAPIC_DEFAULT_BASE);
        x.restore = *x.entry | EPT_RWX;
        x.violations = x.misconfigs = 0;
        struct vcpu *v = ept_guest(o, &c->ident, 0, ept_exits_hook, &x);
        ok = v && ept_test_flush(o, &c->ident) && test_guest_run(o, v, guest_mmio, &r);
        u64 want[] = {1, write ? EPT_QUAL_WRITE : EPT_QUAL_READ,
                      IOAPIC_DEFAULT_BASE + (write ? 0 : 0x10), version};
        u64 got[] = {x.violations + x.misconfigs, x.qual & 0x3f, x.gpa, r.version};
        ok = ok && ept_expect(o, "EPT exits at MMIO;MMIO qualification;MMIO address;"
                              "I/O APIC version", got, want, 4);
    }
    ept_restore_identity_2m(&c->ident, IOAPIC_DEFAULT_BASE & ~(SIZE_2M - 1));
    ept_flush(&c->ident);
    return ok;
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
    if (!v || !test_guest_run(o, v, guest_identity, &d) ||
        (!c->ident.demand && !check_mmio(o, c)))
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
