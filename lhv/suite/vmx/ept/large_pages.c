/* 2 MiB EPT pages, on every CPU (SDM 3C chapter 29). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "string.h"
#include "x86.h"
#include "ept_guest.h"

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
    } else if (v && ept_test_flush(o, &c->ident) && test_guest_run(o, v, guest_big, &d)) {
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
