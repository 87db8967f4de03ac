/* The other CPUs: all came up, each is the CPU it was started as, has its
 * own descriptor tables and CPU-local pointer, takes exceptions on its own,
 * runs cross-calls exactly once and in parallel, and the spinlock keeps
 * them apart. Each check runs on every CPU; a failure names the CPUs. */
#include "catch.h"
#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "suite/suite.h"
#include "x86.h"

#define BARRIER_TIMEOUT_MS 2000
/* Lock hand-overs in all: each CPU takes its share. More CPUs than host
 * cores (QEMU TCG) make each hand-over slow: a holder's thread gets
 * preempted while the others spin. */
#define SPINLOCK_TOTAL 8000

/* What went wrong, CPU by CPU, for one FAIL line. */
struct problems {
    char text[240];
    u32 count;
};

static void note(struct problems *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct problems *p, const char *fmt, ...)
{
    size_t used = strlen(p->text);
    va_list ap;

    if (p->count++ && used + 2 < sizeof(p->text)) {
        memcpy(p->text + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    vsnprintf(p->text + used, sizeof(p->text) - used, fmt, ap);
    va_end(ap);
}

static void report_problems(const char *name, const struct problems *p)
{
    verdict(p->count == 0, name, "%s", p->text);
}

/* The APIC ID the CPU came out of reset with (CPUID 0BH or 01H). */
static u32 cpuid_apic_id(void)
{
    if (cpuid(0, 0).eax >= 0xb) {
        struct cpuid_regs r = cpuid(0xb, 0);
        if (r.ebx)
            return r.edx;
    }
    return cpuid(1, 0).ebx >> 24;
}

TEST("smp/all-cpus-online", test_all_online);
static void test_all_online(const char *name)
{
    struct problems p = {{0}, 0};
    u32 online = 0;

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        if (cpus[i].online)
            online++;
        else
            note(&p, "APIC ID %u did not come online", cpus[i].apic_id);
    }
    if (online != smp_online_count())
        note(&p, "%u CPUs marked online, but smp_online_count() says %u", online,
             smp_online_count());
    report_problems(name, &p);
}

/* What a CPU says about itself, written to the caller's slot (not found
 * through this_cpu(), which is under test). */
struct identity {
    u32 lapic_id, cpuid_id;
    struct lhv_cpu *local;
    bool ran;
};

static void read_identity(void *arg)
{
    struct identity *id = arg;
    id->lapic_id = lapic_id();
    id->cpuid_id = cpuid_apic_id();
    id->local = this_cpu();
    id->ran = true;
}

TEST("smp/apic-ids", test_apic_ids);
static void test_apic_ids(const char *name)
{
    struct problems p = {{0}, 0};

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        struct identity id = {0, 0, NULL, false};
        if (!cpus[i].online)
            continue;
        on_cpu(i, read_identity, &id);
        if (!id.ran)
            note(&p, "cpu %u: the cross-call did not run", i);
        else if (id.lapic_id != cpus[i].apic_id || id.cpuid_id != cpus[i].apic_id)
            note(&p, "cpu %u: LAPIC ID %u, CPUID APIC ID %u, started as %u", i, id.lapic_id,
                 id.cpuid_id, cpus[i].apic_id);
        else if (id.local != &cpus[i])
            note(&p, "cpu %u: this_cpu() is %p, not its own %p", i, (void *)id.local,
                 (void *)&cpus[i]);
    }
    report_problems(name, &p);
}

/* The CPU-local pointer and the descriptor tables as the CPU itself has
 * them loaded. */
struct local_view {
    struct lhv_cpu *local, *self;
    uintptr_t gs_base; /* amd64: IA32_GS_BASE; i386: the GS descriptor's base */
    uintptr_t gdt_base, idt_base;
    u16 tr, gs;
    u32 index;
};

struct __attribute__((packed)) table_reg {
    u16 limit;
    uintptr_t base;
};

static void read_local_view(void *arg)
{
    struct local_view *v = arg;
    struct table_reg gdtr, idtr;

    __asm__ volatile("sgdt %0\n\tsidt %1" : "=m"(gdtr), "=m"(idtr));
    __asm__ volatile("str %0\n\tmov %%gs, %1" : "=r"(v->tr), "=r"(v->gs));
    v->gdt_base = gdtr.base;
    v->idt_base = idtr.base;
    v->local = this_cpu();
    v->self = v->local->self;
    v->index = v->local->index;
#ifdef __x86_64__
    v->gs_base = (uintptr_t)rdmsr(MSR_IA32_GS_BASE);
#else
    u64 d = ((const u64 *)gdtr.base)[v->gs >> 3];
    v->gs_base = (uintptr_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000));
#endif
}

TEST("smp/cpu-local-pointer", test_local_pointer);
static void test_local_pointer(const char *name)
{
    struct problems p = {{0}, 0};

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        struct local_view v;
        if (!cpus[i].online)
            continue;
        memset(&v, 0, sizeof(v));
        on_cpu(i, read_local_view, &v);
        if (v.local != &cpus[i] || v.self != &cpus[i] || v.index != i)
            note(&p, "cpu %u: this_cpu() %p (self %p, index %u), expected %p", i,
                 (void *)v.local, (void *)v.self, v.index, (void *)&cpus[i]);
        else if (v.gs_base != (uintptr_t)&cpus[i])
            note(&p, "cpu %u: GS base 0x%lx, expected %p", i, (unsigned long)v.gs_base,
                 (void *)&cpus[i]);
    }
    report_problems(name, &p);
}

TEST("smp/descriptor-tables", test_descriptor_tables);
static void test_descriptor_tables(const char *name)
{
    struct problems p = {{0}, 0};
    struct local_view bsp;

    read_local_view(&bsp);
    for (u32 i = 0; i < smp_cpu_count(); i++) {
        struct local_view v;
        if (!cpus[i].online)
            continue;
        memset(&v, 0, sizeof(v));
        on_cpu(i, read_local_view, &v);
        if (v.gdt_base != (uintptr_t)cpus[i].gdt)
            note(&p, "cpu %u: GDT at 0x%lx, not its own %p", i, (unsigned long)v.gdt_base,
                 (void *)cpus[i].gdt);
        else if (v.tr != SEL_TSS)
            note(&p, "cpu %u: TR 0x%x, expected 0x%x", i, v.tr, SEL_TSS);
        else if (v.idt_base != bsp.idt_base)
            note(&p, "cpu %u: IDT at 0x%lx, the BSP's at 0x%lx", i, (unsigned long)v.idt_base,
                 (unsigned long)bsp.idt_base);
    }
    report_problems(name, &p);
}

/* An exception on each CPU goes through that CPU's IDT and trap entry and
 * back to that CPU's catch_exception. */
static void ud_on_this_cpu(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

struct caught_on {
    int vector;
    u32 index; /* this_cpu()->index after the exception came back */
};

static void catch_ud(void *arg)
{
    struct caught_on *r = arg;
    struct caught c;
    r->vector = catch_exception(ud_on_this_cpu, NULL, &c);
    r->index = this_cpu()->index;
}

TEST("smp/exceptions", test_exceptions);
static void test_exceptions(const char *name)
{
    struct problems p = {{0}, 0};

    for (u32 i = 0; i < smp_cpu_count(); i++) {
        struct caught_on r = {NO_EXCEPTION, 0xffffffff};
        if (!cpus[i].online)
            continue;
        on_cpu(i, catch_ud, &r);
        if (r.vector != VEC_UD || r.index != i)
            note(&p, "cpu %u: vector %d on cpu %u, expected #UD (6) on cpu %u", i, r.vector,
                 r.index, i);
    }
    report_problems(name, &p);
}

/* on_all_cpus: every online CPU runs the function once, and all run it at
 * the same time (they meet at a barrier inside it). The barrier halts its
 * waiters: spinning ones kept the threads of the CPUs still to come off the
 * host's cores (QEMU TCG, 8 CPUs on 2 cores: 12-20 ms to meet, now ~1-8). */
struct all_cpus_run {
    volatile u32 runs[LHV_MAX_CPUS];
    volatile u32 barrier_missed[LHV_MAX_CPUS];
    struct smp_barrier barrier;
};

static void count_run(void *arg)
{
    struct all_cpus_run *r = arg;
    u32 i = this_cpu()->index;

    __atomic_add_fetch(&r->runs[i], 1, __ATOMIC_SEQ_CST);
    if (!smp_barrier_wait(&r->barrier, BARRIER_TIMEOUT_MS))
        r->barrier_missed[i] = 1;
}

TEST("smp/on-all-cpus", test_on_all_cpus);
static void test_on_all_cpus(const char *name)
{
    static struct all_cpus_run r;
    struct problems p = {{0}, 0};

    memset((void *)&r, 0, sizeof(r));
    smp_barrier_init_sleeping(&r.barrier, smp_online_count());
    on_all_cpus(count_run, &r);
    for (u32 i = 0; i < LHV_MAX_CPUS; i++) {
        u32 expected = i < smp_cpu_count() && cpus[i].online;
        if (r.runs[i] != expected)
            note(&p, "cpu %u: ran %u times, expected %u", i, r.runs[i], expected);
        else if (r.barrier_missed[i])
            note(&p, "cpu %u: the others did not reach the barrier within %u ms", i,
                 BARRIER_TIMEOUT_MS);
    }
    report_problems(name, &p);
}

/* Every CPU adds to one counter under the lock, all at once; the
 * increment is a separate load and store, so any overlap loses counts.
 * They start from a sleeping barrier, whose last CPU wakes the others with
 * one broadcast IPI: a lock without XCHG lost counts as often as with the
 * spinning start (QEMU TCG, 8 CPUs: 13 of 36 boots against 11 of 35; Bochs,
 * 4 CPUs: 3,564 of 8,000 against 3,578), which took 23-42 ms to meet. */
struct lock_race {
    struct spinlock lock;
    volatile u32 counter;
    u32 rounds; /* per CPU */
    struct smp_barrier start;
};

static void add_under_lock(void *arg)
{
    struct lock_race *r = arg;

    smp_barrier_wait(&r->start, BARRIER_TIMEOUT_MS); /* start together */
    for (u32 k = 0; k < r->rounds; k++) {
        spin_lock(&r->lock);
        u32 v = r->counter;
        cpu_relax(); /* widen the window a race would need */
        r->counter = v + 1;
        spin_unlock(&r->lock);
    }
}

TEST("smp/spinlock", test_spinlock);
static void test_spinlock(const char *name)
{
    static struct lock_race r;
    u32 n = smp_online_count();

    if (n < 2)
        return verdict_skip(name, "one CPU online: nothing to race with");
    memset((void *)&r, 0, sizeof(r));
    r.rounds = SPINLOCK_TOTAL / n;
    smp_barrier_init_sleeping(&r.start, n);
    on_all_cpus(add_under_lock, &r);
    verdict(r.counter == n * r.rounds, name, "counter %u after %u CPUs x %u rounds", r.counter,
            n, r.rounds);
}
