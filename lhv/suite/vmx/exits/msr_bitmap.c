/* MSR bitmaps (SDM 3C 25.6.9, 26.1.3): which RDMSR/WRMSR exit. The guest
 * shares the host's CPU, so an MSR it really writes changes the host's: only
 * MSRs LHV does not use are written, and the test puts them back. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/msr_area.h"
#include "vmx/vmx.h"
#include "x86.h"

/* --- vmx/msr-bitmap ----------------------------------------------------- */

#define OPS_MAX 32

struct msr_op {
    bool write;
    bool exits;  /* expected */
    u32 msr;
    u64 value;   /* written, or expected to be read when not intercepted */
    u64 got;     /* read by the guest */
};

struct exit_record {
    u32 reason, msr;
    u64 value;
};

struct bitmap_run {
    u32 n, logged;
    struct msr_op ops[OPS_MAX];
    struct exit_record log[OPS_MAX];
};

static struct bitmap_run bitmap_runs[LHV_MAX_CPUS];
static u8 *bitmaps[LHV_MAX_CPUS];

/* Values the guest writes through to IA32_KERNEL_GS_BASE and IA32_FS_BASE */
#define KGS_VALUE(cpu) TEST_ADDR(0x7770000 + (cpu) * 0x1000)
#define FS_VALUE(cpu) TEST_ADDR(0x8880000 + (cpu) * 0x1000)

/* What the host answers to an intercepted RDMSR. */
static u64 sentinel(u32 msr) { return 0x5e17e10000000000ull | msr; }

static void guest_msr_ops(void *arg)
{
    struct bitmap_run *r = arg;
    for (u32 i = 0; i < r->n; i++) {
        struct msr_op *op = &r->ops[i];
        if (op->write)
            wrmsr(op->msr, op->value);
        else
            op->got = rdmsr(op->msr);
    }
}

/* Intercepted RDMSR/WRMSR: log reason, ECX and EDX:EAX, emulate. */
static enum exit_action msr_hook(struct vcpu *v, u32 reason)
{
    struct bitmap_run *r = v->test_data;
    u32 msr = (u32)REG_CX(v);

    if (reason != EXIT_REASON_MSR_READ && reason != EXIT_REASON_MSR_WRITE)
        return EXIT_DEFAULT;
    if (r->logged < OPS_MAX) {
        struct exit_record *e = &r->log[r->logged];
        e->reason = reason;
        e->msr = msr;
        e->value = reason == EXIT_REASON_MSR_WRITE
                       ? ((u64)(u32)REG_DX(v) << 32) | (u32)REG_AX(v)
                       : 0;
    }
    r->logged++;
    if (reason == EXIT_REASON_MSR_READ) {
        REG_AX(v) = (u32)sentinel(msr);
        REG_DX(v) = (u32)(sentinel(msr) >> 32);
    }
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void op(struct bitmap_run *r, bool write, u32 msr, u64 value, bool exits)
{
    struct msr_op *o = &r->ops[r->n++];
    o->write = write;
    o->msr = msr;
    o->value = value;
    o->exits = exits;
    o->got = 0;
}

/* The operations, in guest order, with the outcome each must have. */
static void build_ops(struct bitmap_run *r, u32 cpu, u64 efer, u64 tsc_aux, u64 sysenter_eip)
{
    r->n = 0;
    /* Low MSRs, each combination of read/write intercepted or not */
    op(r, true, MSR_IA32_SYSENTER_CS, 0x1230 + cpu, false);  /* passes: saved on exit */
    op(r, false, MSR_IA32_SYSENTER_CS, 0, true);
    op(r, true, MSR_IA32_SYSENTER_ESP, TEST_ADDR(0x4567000 + cpu * 0x10), false);
    op(r, false, MSR_IA32_SYSENTER_ESP, TEST_ADDR(0x4567000 + cpu * 0x10), false);
    op(r, true, MSR_IA32_SYSENTER_EIP, TEST_ADDR(0x89ab000 + cpu * 0x10), true);
    op(r, false, MSR_IA32_SYSENTER_EIP, sysenter_eip, false);  /* the write did not land */
    op(r, false, 0x1fff, 0, true);                             /* last bit of each bitmap */
    op(r, true, 0x1fff, 0x1fff, true);
    /* High MSRs */
    if (cpu_has_efer()) {
        op(r, false, MSR_IA32_EFER, efer, false);
        op(r, true, MSR_IA32_EFER, efer, false); /* the same value: harmless */
    }
    if (cpu_has_rdtscp()) {
        op(r, true, MSR_IA32_TSC_AUX, (tsc_aux + 1) & 0xffffffff, true);
        op(r, false, MSR_IA32_TSC_AUX, tsc_aux, false);
    }
    op(r, false, 0xc0001fff, 0, true);
    op(r, true, 0xc0001fff, 0xc0001fff, true);
#ifdef __x86_64__
    op(r, true, MSR_IA32_KERNEL_GS_BASE, KGS_VALUE(cpu), false);
    op(r, false, MSR_IA32_KERNEL_GS_BASE, 0, true);
    op(r, true, MSR_IA32_FS_BASE, FS_VALUE(cpu), false);
    op(r, false, MSR_IA32_FS_BASE, FS_VALUE(cpu), false);
    op(r, false, MSR_IA32_GS_BASE, 0, true);
    op(r, true, MSR_IA32_GS_BASE, TEST_ADDR(0x9990000 + cpu * 0x1000), true);
#endif
    /* Outside both ranges: always exits (26.1.3) */
    op(r, false, 0x2000, 0, true);
    op(r, true, 0x2000, 0x2000, true);
    op(r, false, 0xbfffffff, 0, true);
    op(r, true, 0xc0002000, 0xc0002000, true);
}

/* Fills the bitmap page: `background` for every bit, then each op's bit
 * set as it should be. */
static void fill_bitmap(u8 *bitmap, const struct bitmap_run *r, bool background)
{
    memset(bitmap, background ? 0xff : 0, PAGE_SIZE);
    for (u32 i = 0; i < r->n; i++)
        msr_bitmap_set(bitmap, r->ops[i].msr, r->ops[i].write ? MSR_BITMAP_WRITE : MSR_BITMAP_READ,
                       r->ops[i].exits);
}

static const char *op_name(const struct msr_op *op) { return op->write ? "WRMSR" : "RDMSR"; }

static bool check_ops(struct cpu_outcome *o, const struct bitmap_run *r, const char *variant)
{
    u32 k = 0;

    for (u32 i = 0; i < r->n; i++) {
        const struct msr_op *op = &r->ops[i];
        if (op->exits) {
            const struct exit_record *e = k < r->logged && k < OPS_MAX ? &r->log[k] : NULL;
            u32 want = op->write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ;
            if (!e || e->reason != want || e->msr != op->msr) {
                if (e)
                    outcome_fail(o, "%s: %s of 0x%x should exit (reason %u), exit %u was reason "
                                 "%u with ECX 0x%x", variant, op_name(op), op->msr, want, k + 1,
                                 e->reason, e->msr);
                else
                    outcome_fail(o, "%s: %s of 0x%x did not exit (%u exits in all)", variant,
                                 op_name(op), op->msr, r->logged);
                return false;
            }
            if (op->write && e->value != op->value) {
                outcome_fail(o, "%s: WRMSR 0x%x exit had EDX:EAX 0x%llx, the guest wrote 0x%llx",
                             variant, op->msr, e->value, op->value);
                return false;
            }
            if (!op->write && op->got != sentinel(op->msr)) {
                outcome_fail(o, "%s: intercepted RDMSR 0x%x gave the guest 0x%llx, the host "
                             "answered 0x%llx", variant, op->msr, op->got, sentinel(op->msr));
                return false;
            }
            k++;
        } else {
            /* A passed-through access that exited shows up in the log in
             * place of the next expected one. */
            const struct exit_record *e = k < r->logged && k < OPS_MAX ? &r->log[k] : NULL;
            if (e && e->msr == op->msr &&
                e->reason == (op->write ? EXIT_REASON_MSR_WRITE : EXIT_REASON_MSR_READ)) {
                outcome_fail(o, "%s: %s of 0x%x exited (reason %u) but its bitmap bit is clear",
                             variant, op_name(op), op->msr, e->reason);
                return false;
            }
            if (!op->write && op->got != op->value) {
                outcome_fail(o, "%s: passed-through RDMSR 0x%x read 0x%llx, expected 0x%llx",
                             variant, op->msr, op->got, op->value);
                return false;
            }
        }
    }
    if (r->logged != k) {
        outcome_fail(o, "%s: %u MSR exits, expected %u", variant, r->logged, k);
        return false;
    }
    return true;
}

/* One guest run of the ops with the bitmap drawn on a background of all
 * zeros or all ones; host MSRs the guest may change are put back. */
static bool bitmap_variant(struct cpu_outcome *o, u32 cpu, bool background)
{
    const char *variant = background ? "bitmap of ones" : "bitmap of zeros";
    struct bitmap_run *r = &bitmap_runs[cpu];
    struct vcpu *v = test_guest_with_msr_bitmaps(o);
    u64 sysenter_eip = TEST_ADDR(0x3210000 + cpu * 0x10);
    u64 efer = cpu_has_efer() ? rdmsr(MSR_IA32_EFER) : 0;
    u64 tsc_aux = cpu_has_rdtscp() ? rdmsr(MSR_IA32_TSC_AUX) : 0;
#ifdef __x86_64__
    u64 kernel_gs = rdmsr(MSR_IA32_KERNEL_GS_BASE), guest_gs;
#endif

    if (!v)
        return false;
    if (!bitmaps[cpu])
        bitmaps[cpu] = alloc_pages(1);
    build_ops(r, cpu, efer, tsc_aux, sysenter_eip);
    fill_bitmap(bitmaps[cpu], r, background);
    r->logged = 0;
    vmw(MSR_BITMAP, (uintptr_t)bitmaps[cpu]);
    vmw(GUEST_SYSENTER_EIP, sysenter_eip);
#ifdef __x86_64__
    guest_gs = vmr(GUEST_GS_BASE);
#endif
    v->hook = msr_hook;
    v->test_data = r;

    bool ran = vcpu_run(v, guest_msr_ops, r).end == RUN_DONE;
    u64 efer_after = cpu_has_efer() ? rdmsr(MSR_IA32_EFER) : 0;
    u64 tsc_aux_after = cpu_has_rdtscp() ? rdmsr(MSR_IA32_TSC_AUX) : 0;
    if (cpu_has_rdtscp())
        wrmsr(MSR_IA32_TSC_AUX, tsc_aux);
#ifdef __x86_64__
    u64 kernel_gs_after = rdmsr(MSR_IA32_KERNEL_GS_BASE);
    wrmsr(MSR_IA32_KERNEL_GS_BASE, kernel_gs);
#endif
    if (!ran) {
        outcome_fail(o, "%s: %s", variant, v->why);
        return false;
    }
    if (!check_ops(o, r, variant))
        return false;
    /* Effects on the CPU: passed-through writes landed, intercepted did not */
    u64 cs = vmr(GUEST_SYSENTER_CS);
    if (cs != r->ops[0].value) {
        outcome_fail(o, "%s: passed-through WRMSR IA32_SYSENTER_CS 0x%llx, the exit saved 0x%llx",
                     variant, r->ops[0].value, cs);
        return false;
    }
    if (efer_after != efer || (cpu_has_rdtscp() && tsc_aux_after != tsc_aux)) {
        outcome_fail(o, "%s: host IA32_EFER 0x%llx -> 0x%llx, IA32_TSC_AUX 0x%llx -> 0x%llx",
                     variant, efer, efer_after, tsc_aux, tsc_aux_after);
        return false;
    }
#ifdef __x86_64__
    u64 kgs_written = KGS_VALUE(cpu), fs_written = FS_VALUE(cpu);
    u64 fs = vmr(GUEST_FS_BASE), gs = vmr(GUEST_GS_BASE);
    if (kernel_gs_after != kgs_written) {
        outcome_fail(o, "%s: passed-through WRMSR IA32_KERNEL_GS_BASE 0x%llx, the CPU held 0x%llx",
                     variant, kgs_written, kernel_gs_after);
        return false;
    }
    if (fs != fs_written || gs != guest_gs) {
        outcome_fail(o, "%s: the exit saved FS base 0x%llx (guest wrote 0x%llx, passed through), "
                     "GS base 0x%llx (was 0x%llx, write intercepted)", variant, fs, fs_written,
                     gs, guest_gs);
        return false;
    }
#endif
    return true;
}

/* RDMSR/WRMSR exit exactly when the MSR's bit in its quadrant (read/write
 * x low/high) is set or the MSR is outside both ranges (26.1.3), with ECX
 * naming it (exit reasons 31, 32); passed-through accesses reach the CPU.
 * Run twice: intercepted bits set on a clear page, then passed-through
 * bits cleared on a full one (catches a wrong bit or quadrant either way). */
static void check_bitmap(struct cpu_outcome *o, void *arg)
{
    u32 cpu = this_cpu()->index;
    (void)arg;

    if (bitmap_variant(o, cpu, false))
        bitmap_variant(o, cpu, true);
}

VMX_TEST("vmx/msr-bitmap", test_bitmap);
static void test_bitmap(const char *name)
{
#ifndef __x86_64__
    if (!vmx_unavailable())
        printf("%s: IA32_FS_BASE/IA32_GS_BASE/IA32_KERNEL_GS_BASE left out on i386: they exist "
               "only with Intel 64 (CPUID.80000001H:EDX[29]) and LHV's i386 per-CPU pointer is "
               "its GS segment\n", name);
#endif
    verdict_all_cpus(name, check_bitmap, NULL);
}
