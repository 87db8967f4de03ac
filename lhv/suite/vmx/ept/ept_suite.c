/* The EPT feature tests' shared part (ept_suite.h). */
#include "alloc.h"
#include "cpu.h"
#include "string.h"
#include "ept_suite.h"

static struct ept_cpu ept_cpus[LHV_MAX_CPUS];

struct ept_cpu *ept_cpu(struct cpu_outcome *o)
{
    const char *why = ept_unsupported();
    struct ept_cpu *c = &ept_cpus[this_cpu()->index];

    if (!why && !(vmx_caps.ept_vpid & EPT_CAP_2M))
        why = "IA32_VMX_EPT_VPID_CAP bit 16 (2-MiB EPT pages) clear";
    if (why) {
        outcome_skip(o, "%s", why);
        return NULL;
    }
    if (c->ready)
        return c;
    mtrr_read(&c->mtrr);
    ept_build_identity(&c->map, &c->mtrr, ept_identity_top());
    ept_build_identity(&c->alt, &c->mtrr, ept_identity_top());
    for (u32 i = 0; i < EPT_TEST_PAGES; i++)
        c->page[i] = alloc_pages(1);
    c->ready = true;
    return c;
}

struct vcpu *ept_cpu_guest(struct cpu_outcome *o, struct ept *e, u64 eptp_bits, u32 proc2,
                           exit_hook hook, void *data)
{
    struct vcpu *v = test_guest(o);

    if (!v)
        return NULL;
    v->hook = hook;
    v->test_data = data;
    if (!vcpu_use_ept(v, e, 0)) {
        outcome_fail(o, "guest setup: %s", v->why);
        return NULL;
    }
    vmw_or(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(EPT_POINTER, e->eptp | eptp_bits);
    return v;
}

bool ept_cpu_flush(struct cpu_outcome *o, const struct ept *e)
{
    int st = ept_flush(e);
    if (st != VMX_OK)
        outcome_fail(o, "INVEPT failed (status %d)", st);
    return st == VMX_OK;
}

void ept_identity_4k(struct ept *e, u64 gpa)
{
    gpa &= EPT_ADDR_MASK;
    ept_map_4k(e, gpa, gpa, EPT_RWX, ept_type_for(e, gpa, PAGE_SIZE));
}

/* R/W/X, "large", A and D are bits 0-9 of an entry: its low dword is read
 * and, where the flags change, written (the tests call this on a map of
 * ~3,600 entries, and on i386 each 64-bit access is two) */
static void all_ad(u64 *table, int level, bool set)
{
    u32 *low = (u32 *)table; /* little-endian: entry i's bits 31:0 at low[2 * i] */

    for (u32 i = 0; i < 512; i++) {
        u32 e = low[2 * i];
        if (!(e & EPT_RWX))
            continue;
        bool leaf = level == 1 || (e & EPT_LARGE);
        u32 bits = leaf ? EPT_ACCESSED | EPT_DIRTY : EPT_ACCESSED;
        u32 now = set ? e | bits : e & ~bits;
        if (now != e)
            low[2 * i] = now;
        if (!leaf)
            all_ad((u64 *)(uintptr_t)(table[i] & EPT_ADDR_MASK), level - 1, set);
    }
}

void ept_all_ad(struct ept *e, bool set) { all_ad(e->pml4, 4, set); }

u64 *ept_leaf(struct ept *e, u64 gpa)
{
    int level;
    return ept_entry(e, gpa, &level);
}

u64 *ept_at_level(struct ept *e, u64 gpa, int level)
{
    u64 *t = e->pml4;
    for (int l = 4;; l--) {
        u64 *entry = &t[(gpa >> (12 + 9 * (l - 1))) & 511];
        if (l <= level || (*entry & EPT_LARGE) || !(*entry & EPT_RWX))
            return entry;
        t = (u64 *)(uintptr_t)(*entry & EPT_ADDR_MASK);
    }
}

void ept_put_code(u8 *at, u32 value)
{
    at[0] = 0xb8;
    memcpy(at + 1, &value, 4);
    at[5] = 0xc3;
}

u32 ept_call_code(const u8 *at) { return ((u32(*)(void))(uintptr_t)at)(); }

enum exit_action ept_exits_hook(struct vcpu *v, u32 reason)
{
    struct ept_exits *x = v->test_data;
    if (reason == EXIT_REASON_EPT_VIOLATION)
        x->violations++;
    else if (reason == EXIT_REASON_EPT_MISCONFIG)
        x->misconfigs++;
    else
        return EXIT_DEFAULT;
    x->qual = v->exit_qual;
    x->gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    if (x->violations + x->misconfigs > 4)
        return vcpu_fail(v, "EPT exits go on: reason %u at 0x%llx, qualification 0x%llx, "
                         "entry 0x%llx", reason, x->gpa, x->qual, *x->entry);
    *x->entry = x->restore;
    return ept_flush(x->e) == VMX_OK ? EXIT_RESUME : vcpu_fail(v, "INVEPT failed");
}

void ept_access_guest(void *arg)
{
    struct ept_access *a = arg;
    if (a->write)
        *(volatile u32 *)a->addr = a->value;
    else
        a->value = *(volatile u32 *)a->addr;
}

bool ept_expect(struct cpu_outcome *o, const char *names, const u64 *got, const u64 *want,
                u32 n)
{
    for (u32 i = 0; i < n; i++) {
        const char *end = strchr(names, ';');
        if (got[i] != want[i]) {
            outcome_fail(o, "%.*s: got 0x%llx, expected 0x%llx",
                         end ? (int)(end - names) : 80, names, got[i], want[i]);
            return false;
        }
        names = end ? end + 1 : "?";
    }
    return true;
}
