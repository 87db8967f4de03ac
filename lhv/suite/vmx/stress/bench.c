/* What a VM exit costs, measured on CPU 0 by the guest itself: RDTSC
 * around each of BENCH_SAMPLES CPUID exits, RDMSR exits that the MSR
 * bitmap intercepts, and EPT violations the host resolves by emulating the
 * load. Printed as "bench: ..." lines for tools/bench; the verdict only
 * says whether the figures were measured. In Bochs with one CPU TSC ticks
 * are instructions (the exit path's length); under KVM they are time.
 *
 * Each measurement is one asm block, so that the window between the two
 * RDTSCs holds the same few guest instructions on both subarchs whatever
 * the compiler makes of the loop: the first RDTSC, a move of its result,
 * the exiting instruction and a move of its result (CPUID also loads its
 * leaf, RDMSR also moves EDX). Everything else counted is the exit's round
 * trip through LHV and the test's hook. The low 32 bits of the TSC suffice
 * for a difference. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

#define BENCH_SAMPLES 201

/* CPUID leaf the host answers itself, and the MSR the bitmap intercepts
 * (IA32_SYSENTER_CS: present on every VMX CPU). */
#define BENCH_CPUID_LEAF 0x4c485642u
#define BENCH_CPUID_ANSWER 0x00be7c40u
#define BENCH_MSR MSR_IA32_SYSENTER_CS
#define BENCH_MSR_ANSWER 0xbe7c0174u
#define BENCH_MMIO_ANSWER 0x5eed1234u

static u64 samples[BENCH_SAMPLES];

struct bench_run {
    u32 exits;      /* exits the hook handled */
    u32 bad;        /* wrong answers seen by the guest */
    u64 page;       /* EPT: the not-present page */
};

static void sort_samples(void)
{
    for (int i = 1; i < BENCH_SAMPLES; i++)
        for (int j = i; j > 0 && samples[j - 1] > samples[j]; j--) {
            u64 t = samples[j];
            samples[j] = samples[j - 1];
            samples[j - 1] = t;
        }
}

static void print_figure(const char *what)
{
    sort_samples();
    printf("bench: %s round trip on CPU %u: min %llu, median %llu, max %llu TSC ticks "
           "(%d exits)\n",
           what, this_cpu()->index, samples[0], samples[BENCH_SAMPLES / 2],
           samples[BENCH_SAMPLES - 1], BENCH_SAMPLES);
}

/* --- CPUID ---------------------------------------------------------------- */

static enum exit_action bench_cpuid_hook(struct vcpu *v, u32 reason)
{
    struct bench_run *r = v->test_data;
    if (reason != EXIT_REASON_CPUID || (u32)REG_AX(v) != BENCH_CPUID_LEAF)
        return EXIT_DEFAULT;
    REG_AX(v) = BENCH_CPUID_ANSWER;
    r->exits++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_bench_cpuid(void *arg)
{
    struct bench_run *r = arg;
    for (int i = 0; i < BENCH_SAMPLES; i++) {
        u32 t0, t1, eax, subleaf = 0;
        __asm__ volatile("rdtsc\n\t"
                         "mov %%eax, %[t0]\n\t"
                         "mov %[leaf], %%eax\n\t"
                         "cpuid\n\t"
                         "mov %%eax, %[eax]\n\t"
                         "rdtsc"
                         : "=&a"(t1), [t0] "=&S"(t0), [eax] "=&D"(eax), "+c"(subleaf)
                         : [leaf] "i"(BENCH_CPUID_LEAF)
                         : "ebx", "edx", "memory");
        samples[i] = t1 - t0;
        if (eax != BENCH_CPUID_ANSWER)
            r->bad++;
    }
}

/* --- RDMSR through the MSR bitmap ----------------------------------------- */

static enum exit_action bench_msr_hook(struct vcpu *v, u32 reason)
{
    struct bench_run *r = v->test_data;
    if (reason != EXIT_REASON_MSR_READ)
        return EXIT_DEFAULT;
    REG_AX(v) = BENCH_MSR_ANSWER;
    REG_DX(v) = 0;
    r->exits++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_bench_rdmsr(void *arg)
{
    struct bench_run *r = arg;
    for (int i = 0; i < BENCH_SAMPLES; i++) {
        u32 t0, t1, lo, hi;
        __asm__ volatile("rdtsc\n\t"
                         "mov %%eax, %[t0]\n\t"
                         "rdmsr\n\t"
                         "mov %%eax, %[lo]\n\t"
                         "mov %%edx, %[hi]\n\t"
                         "rdtsc"
                         : "=&a"(t1), [t0] "=&S"(t0), [lo] "=&D"(lo), [hi] "=&b"(hi)
                         : "c"(BENCH_MSR)
                         : "edx", "memory");
        samples[i] = t1 - t0;
        if (lo != BENCH_MSR_ANSWER || hi != 0)
            r->bad++;
    }
}

/* --- EPT violation ---------------------------------------------------------
 * The guest loads from a page its EPT leaves not present; the host answers
 * as an MMIO emulator would: it puts the value in EAX and steps over the
 * two-byte load (8b 03: mov (%rbx/%ebx), %eax; the exit gives no
 * instruction length for EPT violations). */

static struct ept bench_ept;
static struct mtrr_state bench_mtrr;
static bool bench_ept_ready;

static enum exit_action bench_ept_hook(struct vcpu *v, u32 reason)
{
    struct bench_run *r = v->test_data;
    if (reason != EXIT_REASON_EPT_VIOLATION)
        return EXIT_DEFAULT;
    u64 gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    if ((gpa & ~0xfffull) != r->page) {
        /* a demand-mode map fills in as the guest touches memory */
        if (bench_ept.demand && ept_demand_map(&bench_ept, gpa) && ept_flush(&bench_ept) == VMX_OK)
            return EXIT_RESUME;
        return EXIT_DEFAULT;
    }
    REG_AX(v) = BENCH_MMIO_ANSWER;
    vmw(GUEST_RIP, vmr(GUEST_RIP) + 2);
    r->exits++;
    return EXIT_RESUME;
}

static void guest_bench_ept(void *arg)
{
    struct bench_run *r = arg;
    uintptr_t at = (uintptr_t)r->page + 0x40;
    for (int i = 0; i < BENCH_SAMPLES; i++) {
        u32 t0, t1, value;
        __asm__ volatile("rdtsc\n\t"
                         "mov %%eax, %[t0]\n\t"
                         ".byte 0x8b, 0x03\n\t"
                         "mov %%eax, %[value]\n\t"
                         "rdtsc"
                         : "=&a"(t1), [t0] "=&S"(t0), [value] "=&D"(value)
                         : "b"(at)
                         : "edx", "memory");
        samples[i] = t1 - t0;
        if (value != BENCH_MMIO_ANSWER)
            r->bad++;
    }
}

/* --- the test --------------------------------------------------------------- */

/* One measurement: fn in a guest with hook; false after outcome_fail. */
static bool measure(struct cpu_outcome *o, struct vcpu *v, exit_hook hook,
                    void (*fn)(void *), struct bench_run *r, const char *what)
{
    v->hook = hook;
    v->test_data = r;
    if (!test_guest_run(o, v, fn, r))
        return false;
    if (r->exits != BENCH_SAMPLES || r->bad) {
        outcome_fail(o, "%s: %u exits handled, %u wrong answers (expected %d and 0)", what,
                     r->exits, r->bad, BENCH_SAMPLES);
        return false;
    }
    print_figure(what);
    return true;
}

static void bench_exits(struct cpu_outcome *o)
{
    struct bench_run r;
    struct vcpu *v = test_guest(o);

    if (!v)
        return;
    memset(&r, 0, sizeof(r));
    if (!measure(o, v, bench_cpuid_hook, guest_bench_cpuid, &r, "cpuid"))
        return;

    if (vmx_caps.proc.allowed1 & CPU_USE_MSR_BITMAPS) {
        static u8 *bitmap;
        if (!bitmap)
            bitmap = alloc_pages(1);
        memset(bitmap, 0, PAGE_SIZE);
        msr_bitmap_set(bitmap, BENCH_MSR, MSR_BITMAP_READ, true);
        v = test_guest(o);
        if (!v || !(vmr(CPU_BASED_VM_EXEC_CONTROL) & CPU_USE_MSR_BITMAPS)) {
            if (v)
                outcome_fail(o, "guest setup left \"use MSR bitmaps\" clear");
            return;
        }
        vmw(MSR_BITMAP, (uintptr_t)bitmap);
        memset(&r, 0, sizeof(r));
        if (!measure(o, v, bench_msr_hook, guest_bench_rdmsr, &r, "rdmsr-bitmap-hit"))
            return;
    } else {
        printf("bench: rdmsr-bitmap-hit not measured: no MSR bitmaps\n");
    }

    if (ept_unsupported()) {
        printf("bench: ept-violation not measured: %s\n", ept_unsupported());
        return;
    }
    static u8 *page;
    if (!bench_ept_ready) {
        mtrr_read(&bench_mtrr);
        ept_build_identity(&bench_ept, &bench_mtrr, ept_identity_top());
        page = alloc_pages(1);
        bench_ept_ready = true;
    }
    ept_protect_4k(&bench_ept, (uintptr_t)page, 0);
    v = test_guest(o);
    if (!v)
        return;
    if (!vcpu_use_ept(v, &bench_ept, 0)) {
        outcome_fail(o, "EPT guest setup: %s", v->why);
        return;
    }
    memset(&r, 0, sizeof(r));
    r.page = (uintptr_t)page;
    if (ept_flush(&bench_ept) != VMX_OK)
        outcome_fail(o, "INVEPT failed");
    else
        measure(o, v, bench_ept_hook, guest_bench_ept, &r, "ept-violation");
    ept_map_4k(&bench_ept, (uintptr_t)page, (uintptr_t)page, EPT_RWX,
               ept_type_for(&bench_ept, (uintptr_t)page, PAGE_SIZE));
    ept_flush(&bench_ept);
}

VMX_TEST("bench/vmx-exit-costs", test_bench_exits);
static void test_bench_exits(const char *name)
{
    struct cpu_outcome o;
    memset(&o, 0, sizeof(o));
    bench_exits(&o);
    if (o.failed)
        verdict_fail(name, "%s", o.why);
    else if (o.skipped)
        verdict_skip(name, "%s", o.why);
    else
        verdict_pass(name);
}
