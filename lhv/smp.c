/* SMP bring-up and cross-calls.
 *
 * Start-up (SDM Vol. 3A, 9.4.4.1 and 11.6.1): the BSP sends INIT to every
 * AP (smp_init, before the LAPIC timer calibration, so that its 300 ms are
 * the 10 ms to wait); later (smp_start) it copies the real-mode trampoline
 * (trampoline-SUBARCH.S) to a free page below 1 MiB, waits what is left of
 * the 10 ms, sends a STARTUP IPI to every AP, waits 200 us and sends the
 * second STARTUP to those that have not checked in.
 * Each AP climbs to the BSP's paging mode, draws a ticket that gives it a
 * stack, and runs ap_main: it finds its slot in cpus[] by its initial APIC
 * ID (once; afterwards this_cpu() is the CPU-local pointer), loads its own
 * GDT, TSS and IDT, enables its LAPIC, prints its line and goes idle in
 * hlt. The BSP waits, bounded, first for every AP to check in, then for
 * those that did to come online.
 *
 * Cross-calls: every CPU has a work slot (function, argument, caller). The
 * caller fills the target's slot and sends VEC_SMP_CALL; the target runs the
 * function in that IPI's handler, clears the slot and sends VEC_SMP_CALL back
 * to wake the caller, who sleeps in hlt meanwhile when its interrupts are on. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "deadline.h"
#include "div64.h"
#include "lapic.h"
#include "mmap.h"
#include "pit.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "timer.h"
#include "trap.h"
#include "user.h"
#include "x86.h"

STATIC_ASSERT(SMP_AP_STACK_SIZE == LHV_STACK_SIZE, "AP stacks are as large as the BSP's");

#define CR4_PCIDE (1u << 17)   /* may be set only in IA-32e mode: never on the way up */
#define CPUID80000001_EDX_NX (1u << 20)

#define INIT_DELAY_US 10000    /* after INIT (SDM 3A 9.4.4.1: 10 ms) */
#define SIPI_DELAY_US 200      /* between the two STARTUP IPIs */
/* How long the BSP waits, in emulated time: for an AP to check in after
 * the STARTUP IPIs (real CPUs take microseconds, a QEMU vCPU thread on a
 * busy host some milliseconds), and for one that checked in to finish its
 * start-up, which includes waiting its turn at the console (at 115200 baud
 * 64 lines take 0.25 s). Bochs runs its CPUs round-robin in one thread but
 * advances emulated time for all of them together, so it needs no more. */
#define CHECK_IN_TIMEOUT_MS 1000
#define ONLINE_TIMEOUT_MS 5000
#define CALL_WARN_MS 1000      /* a cross-call running this long gets a line */
#define CALL_LOST_MS 5000      /* ... and after this long its CPU counts as lost */

/* Where an AP stands; the AP and the BSP move it with compare-and-swap, so
 * a late AP and a BSP that gives up on it cannot both win. */
enum ap_state {
    AP_NONE = 0,  /* not a CPU smp_start tries to run */
    AP_WAITING,   /* sent INIT/STARTUP, not checked in */
    AP_STARTED,   /* checked in (in ap_main) */
    AP_ONLINE,    /* descriptor tables and LAPIC up, idle */
    AP_GIVEN_UP,  /* did not check in in time; turned away if it ever does */
};

/* Read by trampoline-SUBARCH.S: the BSP's control registers and EFER (low
 * half), the ticket counter, and the stack top for each ticket. */
u32 smp_ap_cr0, smp_ap_cr3, smp_ap_cr4, smp_ap_efer;
u32 smp_ap_ticket;
uintptr_t smp_ap_stack_top[LHV_MAX_CPUS]; /* 0 ends the list */

extern const char smp_trampoline[], smp_trampoline_end[];

static volatile u32 ap_state[LHV_MAX_CPUS];
static u32 ncpus = 1;                 /* CPUs tried, BSP included */
static u32 listed = 1;                /* distinct APIC IDs in the MADT's list (and the BSP) */
static u32 cpu_limit;                 /* lhv.cpus= (0: none) */
static u32 init_ticks;                /* timer_pit_ticks() when INIT went out */
static volatile u32 started_count = 1; /* BSP included */
static volatile u32 online_count = 1;
static volatile u32 turned_away;       /* late or unknown CPUs parked in ap_main */
static u64 tsc_per_ms;

struct work {
    struct spinlock lock; /* held by the caller from posting until done */
    void (*fn)(void *);
    void *arg;
    u32 caller;           /* index of the CPU to wake when done */
    bool detached;        /* on_cpu_detached: the caller goes on when fn starts */
    volatile u32 pending;
};
static struct work work[LHV_MAX_CPUS];

u32 smp_online_count(void) { return online_count; }
u32 smp_cpu_count(void) { return ncpus; }

static bool cas(volatile u32 *p, u32 from, u32 to)
{
    return __atomic_compare_exchange_n(p, &from, to, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

u64 smp_tsc_per_ms(void)
{
    if (!tsc_per_ms) /* deadline_init measured it over 20 ms */
        tsc_per_ms = udiv64(deadline_tsc_hz(), 1000, NULL);
    if (!tsc_per_ms) {
        u64 t0 = rdtsc();
        udelay(2000);
        tsc_per_ms = udiv64(rdtsc() - t0, 2, NULL);
    }
    return tsc_per_ms;
}

/* Waits until done(arg) or timeout_ms (0: no limit) have passed; returns
 * done(arg). With `sleep`, waits in hlt (interrupts must be on, and
 * something must interrupt: an IPI from the awaited CPU, or the PIT tick),
 * checking with interrupts off so that a wake-up between the check and
 * the hlt is not lost (STI delays interrupts by one instruction). */
static bool wait_for(bool (*done)(void *), void *arg, u32 timeout_ms, bool sleep)
{
    u64 start = rdtsc(), limit = timeout_ms ? timeout_ms * smp_tsc_per_ms() : 0;

    for (;;) {
        if (sleep)
            __asm__ volatile("cli" : : : "memory");
        bool ok = done(arg);
        if (ok || (timeout_ms && rdtsc() - start >= limit)) {
            if (sleep)
                __asm__ volatile("sti" : : : "memory");
            return ok;
        }
        if (sleep)
            __asm__ volatile("sti; hlt" : : : "memory");
        else
            cpu_relax();
    }
}

/* --- cross-calls ---------------------------------------------------------- */

/* Interrupts off around it: an xAPIC IPI is two register writes, and an
 * interrupt handler that sends one in between would change the first. */
static void wake(u32 index)
{
    unsigned long flags = irq_save();
    lapic_send_ipi(cpus[index].apic_id, VEC_SMP_CALL);
    irq_restore(flags);
}

/* VEC_SMP_CALL: run this CPU's pending call, if any (a wake-up has none). */
static void call_interrupt(struct trap_frame *f)
{
    struct work *w = &work[this_cpu()->index];

    (void)f;
    lapic_eoi();
    if (!w->pending)
        return;
    if (w->detached) {
        void (*fn)(void *) = w->fn;
        void *arg = w->arg;
        __atomic_store_n(&w->pending, 0, __ATOMIC_RELEASE);
        wake(w->caller);
        fn(arg);
        return;
    }
    w->fn(w->arg);
    u32 caller = w->caller;
    __atomic_store_n(&w->pending, 0, __ATOMIC_RELEASE);
    wake(caller);
}

static void post(u32 index, void (*fn)(void *), void *arg, u32 caller, bool detached)
{
    struct work *w = &work[index];

    spin_lock(&w->lock);
    w->fn = fn;
    w->arg = arg;
    w->caller = caller;
    w->detached = detached;
    __atomic_store_n(&w->pending, 1, __ATOMIC_RELEASE);
    wake(index);
}

static bool call_done(void *w) { return !((struct work *)w)->pending; }

/* The watchdog: a CPU that does not finish a cross-call within
 * CALL_LOST_MS stopped answering. It is reported by APIC ID and left out
 * of the rest of the run (its work slot stays locked: nothing is sent to it
 * again); verdict_all_cpus fails the test during which it got lost. */
static void wait_call(u32 index)
{
    struct work *w = &work[index];
    bool sleep = irqs_enabled();

    if (!wait_for(call_done, w, CALL_WARN_MS, sleep)) {
        printf("smp: CPU %u has not finished a cross-call after %u ms; still waiting\n", index,
               CALL_WARN_MS);
        if (!wait_for(call_done, w, CALL_LOST_MS - CALL_WARN_MS, sleep)) {
            cpus[index].online = false;
            cpus[index].lost = true;
            printf("smp: CPU %u (APIC ID %u) stopped answering: lost; the run goes on "
                   "without it\n", index, cpus[index].apic_id);
            return;
        }
    }
    spin_unlock(&w->lock);
}

static bool is_target(u32 index)
{
    if (index < ncpus && cpus[index].online)
        return true;
    printf("smp: cross-call to CPU %u, which is not online: not run\n", index);
    return false;
}

void on_cpu(u32 index, void (*fn)(void *), void *arg)
{
    u32 me = this_cpu()->index;

    if (index == me) {
        fn(arg);
        return;
    }
    if (!is_target(index))
        return;
    post(index, fn, arg, me, false);
    wait_call(index);
}

void on_cpu_detached(u32 index, void (*fn)(void *), void *arg)
{
    u32 me = this_cpu()->index;

    if (index == me || !is_target(index))
        return;
    post(index, fn, arg, me, true);
    wait_call(index);
}

void on_all_cpus(void (*fn)(void *), void *arg)
{
    u32 me = this_cpu()->index;

    for (u32 i = 0; i < ncpus; i++)
        if (i != me && cpus[i].online)
            post(i, fn, arg, me, false);
    fn(arg);
    for (u32 i = 0; i < ncpus; i++)
        if (i != me && cpus[i].online)
            wait_call(i);
}

/* --- barrier ------------------------------------------------------------- */

void smp_barrier_init(struct smp_barrier *b, u32 count)
{
    memset(b, 0, sizeof(*b));
    b->count = count;
}

void smp_barrier_init_sleeping(struct smp_barrier *b, u32 count)
{
    smp_barrier_init(b, count);
    b->sleeping = true;
}

/* The LAPIC timer, one-shot on VEC_SMP_WAKE, to end a halt after `ms` */
static void arm_alarm(u64 ms)
{
    u64 count = udiv64(timer_lapic_hz() * ms, 1000, NULL) + 1;
    lapic_timer_start(VEC_SMP_WAKE, count > 0xffffffffu ? 0xffffffffu : (u32)count, false);
}

/* Halts until the barrier's generation moves on or the timeout (limit TSC
 * ticks from start; 0: none) has passed; returns whether it moved on. The
 * flag in asleep[] is set before the generation is read again and the last
 * CPU sets the generation before it reads the flags (both sequentially
 * consistent), so either this CPU sees the new generation or it is woken;
 * a wake-up that comes between the check and the hlt waits out STI's
 * one-instruction shadow and ends the hlt. */
static bool sleep_in_barrier(struct smp_barrier *b, u32 generation, u64 start, u64 limit)
{
    u32 me = this_cpu()->index;
    unsigned long flags = irq_save();
    bool released;

    __atomic_store_n(&b->asleep[me], 1, __ATOMIC_SEQ_CST);
    for (;;) {
        released = __atomic_load_n(&b->generation, __ATOMIC_SEQ_CST) != generation;
        u64 spent = rdtsc() - start;
        if (released || (limit && spent >= limit))
            break;
        if (limit)
            arm_alarm(udiv64(limit - spent, smp_tsc_per_ms(), NULL) + 1);
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
    if (limit)
        lapic_timer_stop();
    b->asleep[me] = 0;
    irq_restore(flags);
    return released;
}

static void wake_interrupt(struct trap_frame *f)
{
    (void)f;
    lapic_eoi();
}

/* The last CPU to arrive wakes those asleep. When that is every other CPU
 * of the machine (all those in the MADT were started), one broadcast IPI
 * does it: QEMU TCG then starts their threads at once, where one IPI each
 * starts them one after the other, so that the CPUs of smp/spinlock ran
 * their rounds in turn instead of racing. */
static void wake_sleepers(struct smp_barrier *b)
{
    u32 asleep = 0;

    for (u32 i = 0; i < ncpus; i++)
        asleep += __atomic_load_n(&b->asleep[i], __ATOMIC_SEQ_CST);
    if (listed == ncpus && asleep == ncpus - 1) {
        lapic_send_ipi(0, ICR_ALL_EXCLUDING_SELF | VEC_SMP_WAKE);
        return;
    }
    for (u32 i = 0; i < ncpus; i++)
        if (b->asleep[i])
            lapic_send_ipi(cpus[i].apic_id, VEC_SMP_WAKE);
}

bool smp_barrier_wait(struct smp_barrier *b, u32 timeout_ms)
{
    /* Read before arriving: this round cannot end without this CPU. */
    u32 generation = b->generation;

    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_SEQ_CST) == b->count) {
        b->arrived = 0;
        __atomic_store_n(&b->generation, generation + 1, __ATOMIC_SEQ_CST);
        if (b->sleeping)
            wake_sleepers(b);
        return true;
    }
    u64 start = rdtsc(), limit = timeout_ms ? timeout_ms * smp_tsc_per_ms() : 0;
    /* the alarm needs the calibrated rate and a timer no one else runs */
    if (b->sleeping && (!limit || (timer_lapic_hz() && !lapic_timer_current())))
        return sleep_in_barrier(b, generation, start, limit);
    while (b->generation == generation) {
        if (timeout_ms && rdtsc() - start >= limit)
            return false;
        cpu_relax();
    }
    return true;
}

/* --- start-up ------------------------------------------------------------- */

static u32 console_cpu(void) { return this_cpu()->index; }

/* The APIC ID this CPU came out of reset with: the x2APIC ID from CPUID
 * leaf 0BH when the CPU has that leaf, else CPUID.01H:EBX[31:24]. */
static u32 initial_apic_id(void)
{
    if (cpuid(0, 0).eax >= 0xb) {
        struct cpuid_regs r = cpuid(0xb, 0);
        if (r.ebx)
            return r.edx;
    }
    return cpuid(1, 0).ebx >> 24;
}

static __attribute__((noreturn)) void idle(void)
{
    for (;;)
        __asm__ volatile("sti; hlt; cli" : : : "memory");
}

/* A CPU that is not (or no longer) expected: it stays out of the way. */
static __attribute__((noreturn)) void park(void)
{
    __atomic_add_fetch(&turned_away, 1, __ATOMIC_SEQ_CST);
    halt_forever();
}

/* The first C code of an AP (trampoline-SUBARCH.S), on the stack of its
 * ticket, interrupts off, on the trampoline's GDT. */
__attribute__((noreturn)) void ap_main(void);
void ap_main(void)
{
    u32 apic_id = initial_apic_id(), i;

    for (i = 1; i < ncpus && cpus[i].apic_id != apic_id; i++)
        ;
    if (i == ncpus || !cas(&ap_state[i], AP_WAITING, AP_STARTED))
        park();
    __atomic_add_fetch(&started_count, 1, __ATOMIC_SEQ_CST);

    struct lhv_cpu *c = &cpus[i];
    desc_init_cpu(c); /* from here on this_cpu() is c */
    lapic_enable();
    printf("CPU(%u): online, APIC ID %u\n", i, c->apic_id);
    c->online = true;
    ap_state[i] = AP_ONLINE;
    __atomic_add_fetch(&online_count, 1, __ATOMIC_SEQ_CST);
    wake(0); /* the BSP may be asleep in wait_for */
    idle();
}

/* A usable page below 1 MiB for the trampoline: 0x8000 if it is free, else
 * the lowest one. Not page 0 (real-mode IVT and BIOS data, and unmapped),
 * not the user-mode pages, not the page of the multiboot information. */
static uintptr_t trampoline_page(const struct lhv_boot_params *p)
{
    static struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);
    u64 mbi_page = p->multiboot_info & ~(u64)(PAGE_SIZE - 1);

    for (uintptr_t page = 0x8000, next = 0x1000; page < 0xa0000; page = next, next += PAGE_SIZE) {
        bool user = page == USER_CODE_PAGE || page == USER_STACK_PAGE;
        if (n > 0 && !user && page != mbi_page &&
            mmap_range_usable(map, (u32)n, page, PAGE_SIZE))
            return page;
    }
    return 0;
}

/* The BSP's CR0, CR3, CR4 and EFER, for the APs to load on their way up. */
static bool save_paging_state(void)
{
    unsigned long cr3 = read_cr3();

    if ((u64)cr3 >> 32) {
        printf("smp: page tables at 0x%llx, above 4 GiB: a 32-bit AP cannot load them\n",
               (u64)cr3);
        return false;
    }
    smp_ap_cr0 = (u32)read_cr0();
    smp_ap_cr3 = (u32)cr3;
    smp_ap_cr4 = (u32)read_cr4() & ~CR4_PCIDE;
#ifdef __x86_64__
    smp_ap_efer = (u32)rdmsr(MSR_IA32_EFER) & ~EFER_LMA; /* LMA follows from LME + PG */
#else
    /* EFER exists when the CPU has NX or long mode; the SL leaves it alone */
    bool has_efer = cpuid(0x80000000, 0).eax >= 0x80000001 &&
                    (cpuid(0x80000001, 0).edx & (CPUID80000001_EDX_NX | CPUID80000001_EDX_LM));
    smp_ap_efer = has_efer ? (u32)rdmsr(MSR_IA32_EFER) : 0;
#endif
    return true;
}

static bool all_checked_in(void *arg)
{
    (void)arg;
    return started_count == ncpus;
}

static bool all_online(void *arg)
{
    (void)arg;
    return online_count == started_count;
}

/* Sends STARTUP twice to the APs cpus[1..ncpus), which smp_init sent INIT;
 * returns with every AP checked in, given up, or (after a long time) still
 * starting. */
static void start_aps(uintptr_t page)
{
    u32 vector = (u32)(page >> 12);

    memcpy((void *)page, smp_trampoline, (size_t)(smp_trampoline_end - smp_trampoline));
    /* The APs' stacks from the page pool, for the CPUs there are: in the
     * bss, 63 of them were a megabyte init zeroed on every boot (in Bochs,
     * a store a tick) */
    uintptr_t stacks = (uintptr_t)alloc_pages((ncpus - 1) * (SMP_AP_STACK_SIZE / PAGE_SIZE));
    for (u32 i = 1; i < ncpus; i++) {
        smp_ap_stack_top[i - 1] = stacks + i * SMP_AP_STACK_SIZE;
        ap_state[i] = AP_WAITING;
    }
    /* The 10 ms after INIT: counted in PIT ticks of ~1 ms, more than 10
     * whole ones; where the PIT has not ticked that often (or not at all),
     * all of it again. */
    if (timer_pit_ticks() - init_ticks <= INIT_DELAY_US / 1000 + 1)
        udelay(INIT_DELAY_US);
    /* Sleep while waiting only when something wakes the BSP for sure: the
     * PIT tick (the APs' wake-ups do not come from one that never starts) */
    bool sleep = irqs_enabled() && timer_pit_ticks() != init_ticks;

    for (u32 i = 1; i < ncpus; i++)
        lapic_send_ipi(cpus[i].apic_id, ICR_STARTUP | vector);
    udelay(SIPI_DELAY_US);
    for (u32 i = 1; i < ncpus; i++)
        if (ap_state[i] == AP_WAITING)
            lapic_send_ipi(cpus[i].apic_id, ICR_STARTUP | vector);

    wait_for(all_checked_in, NULL, CHECK_IN_TIMEOUT_MS, sleep);
    for (u32 i = 1; i < ncpus; i++)
        if (cas(&ap_state[i], AP_WAITING, AP_GIVEN_UP))
            printf("smp: CPU with APIC ID %u did not start\n", cpus[i].apic_id);
    if (!wait_for(all_online, NULL, ONLINE_TIMEOUT_MS, sleep))
        for (u32 i = 1; i < ncpus; i++)
            if (ap_state[i] == AP_STARTED)
                printf("smp: CPU with APIC ID %u started but did not come online in %u ms\n",
                       cpus[i].apic_id, ONLINE_TIMEOUT_MS);
}

void smp_init(const u32 *apic_ids, u32 n, u32 max_cpus)
{
    struct lhv_cpu *bsp = this_cpu();
    u32 limit = max_cpus && max_cpus < LHV_MAX_CPUS ? max_cpus : LHV_MAX_CPUS;
    bool bsp_listed = false;

    console_set_cpu_id(console_cpu);
    trap_set_handler(VEC_SMP_CALL, call_interrupt);
    trap_set_handler(VEC_SMP_WAKE, wake_interrupt);
    cpu_limit = max_cpus;
    listed = 0;
    for (u32 k = 0; k < n; k++) {
        u32 id = apic_ids[k], j;
        for (j = 0; j < k && apic_ids[j] != id; j++)
            ;
        if (j < k)
            continue; /* a repeated ID */
        listed++;
        if (id == bsp->apic_id) {
            bsp_listed = true;
        } else if (ncpus < limit) {
            cpus[ncpus].index = ncpus;
            cpus[ncpus].apic_id = id;
            ncpus++;
        }
    }
    if (!bsp_listed)
        listed++; /* it runs all the same */
    if (n && !bsp_listed)
        printf("smp: the BSP's APIC ID %u is not in the MADT's list\n", bsp->apic_id);

    init_ticks = timer_pit_ticks();
    for (u32 i = 1; i < ncpus; i++)
        lapic_send_ipi(cpus[i].apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

u32 smp_start(const struct lhv_boot_params *p)
{
    if (ncpus > 1) {
        uintptr_t page = trampoline_page(p);
        if (!page)
            printf("smp: no usable page below 1 MiB for the AP start-up code; "
                   "the BSP runs alone\n");
        else if (save_paging_state())
            start_aps(page);
    }

    unsigned long token = console_lock();
    printf("smp: %u of %u CPUs online", online_count, ncpus);
    if (listed > ncpus && cpu_limit && cpu_limit <= LHV_MAX_CPUS)
        printf(" (%u in the MADT, lhv.cpus=%u)", listed, cpu_limit);
    else if (listed > ncpus)
        printf(" (%u in the MADT, at most %u supported)", listed, LHV_MAX_CPUS);
    printf("\n");
    if (turned_away)
        printf("smp: %u CPUs that were not expected any more were parked\n", turned_away);
    console_unlock(token);
    return online_count;
}
