/* vmx/fuzz-entry (fuzz.h): one trial. The case written into the VMCS and
 * the image, the model asked, the gate (what may be entered), the L0 asked
 * with one VMLAUNCH/VMRESUME, the state after entry compared, everything
 * put back; a disagreement printed and minimised. */
#include "console.h"
#include "cpu.h"
#include "spinlock.h"
#include "string.h"
#include "x86.h"
#include "fuzz.h"

/* --- one trial ------------------------------------------------------------ */

/* The guest's code: a jump to itself. The timer at 0 exits before its first
 * instruction; an L0 that lets the guest run anyway (or a mutation that
 * stops the timer) finds nothing to break in it */
__asm__(".pushsection .text.fz_spin, \"ax\"\n"
        ".globl fz_spin\n"
        "fz_spin: jmp fz_spin\n"
        ".popsection");

enum exit_action fz_stop(struct vcpu *v, u32 reason)
{
    (void)v;
    (void)reason;
    return EXIT_STOP;
}

/* Whether the state may be entered: what a VM exit does not undo stays
 * out of the guest (see the top) */
/* Bochs' VM entry, its checks passed, loads guest CR4 through check_CR4
 * (cpu/crregs.cc), MOV to CR4's rules: from a 64-bit host, a CR4.LA57 other
 * than the host's is refused, and VMenterLoadCheckGuestState (cpu/vmx.cc)
 * ends the emulation ("VMENTER CR4 is broken", a BX_PANIC). 27.3.1.1 checks
 * only CR4's fixed bits; entry loads the field (27.3.2.1). Seen on Bochs
 * 3.0 sapphire_rapids, the model with LA57 (sweep trial 5132 on amd64). */
static bool fz_bochs_panics(void)
{
    return sizeof(long) == 8 && l0_bochs_deviates(BOCHS_2_7_AND_3_0) &&
           ((ecm_get(&fz.img, GUEST_CR4) ^ read_cr4()) & CR4_LA57);
}

/* Bochs 2.7 and 3.0 take an injected event of type 7 (other event) on a
 * CPU without the "monitor trap flag" control: VMenterLoadCheckVmControls'
 * `case 7` checks the vector only where MTF is supported and lets any
 * other through (27.2.1.3: VMfailValid 7; Bochs fixed it after 3.0, commit
 * 4ef9eec7e), then VMenterInjectEvents ends the emulation ("unsupported
 * event injection type 7", a BX_PANIC) once the guest state has passed.
 * Seen on tigerlake (no MTF): seed 1 trial 151 took the L1 down. Such a
 * trial is entered only where the checks Bochs makes fail it. */
static bool fz_bochs_injects_other(void)
{
    static struct ecm_result skip; /* off the stack */

    if (!fz_bochs_other_unchecked(&fz.img) || !l0_bochs_deviates(BOCHS_2_7_AND_3_0))
        return false;
    if (!fz_bochs_predict(&fz.img, &skip))
        return false; /* the model lets it through as well: not this */
    for (u32 i = 0; i < skip.nalt; i++)
        if (skip.alt[i].kind == ECM_ENTRY || skip.alt[i].kind == ECM_UNDEFINED)
            return true;
    return false;
}

static bool fz_gate(const struct fz_case *c, const struct ecm_result *r)
{
    if (fz.blind)
        return false;
    if (fz_bochs_injects_other()) {
        fz.bochs_injects_other++;
        return false;
    }
    u32 cls = 0;
    for (u32 i = 0; i < c->n; i++)
        cls |= c->m[i].field & FZ_MEM ? 0 : fz_cls(c->m[i].field);
    if (r->outcome.kind == ECM_VMFAIL && (cls & FZ_HOST) &&
        l0_bochs_deviates(BOCHS_2_7_AND_3_0)) {
        /* a VMfail that rests on a check Bochs skips: Bochs would load the
         * broken host state (a 32-bit host without CR4.PAE triple-faults) */
        static struct ecm_result skip; /* off the stack */
        if (fz_bochs_predict(&fz.img, &skip) && skip.outcome.kind != ECM_VMFAIL) {
            fz.known_skips++;
            return false;
        }
    }
    if (r->outcome.kind == ECM_VMFAIL)
        return true; /* nothing is loaded */
    if (fz_bochs_panics()) {
        fz.bochs_panics++;
        return false;
    }
    if (cls & FZ_HOST)
        return false; /* the exit (a failure exit too) loads the host state */
    if (r->outcome.kind == ECM_EXIT_FAIL && r->outcome.code == EXIT_REASON_INVALID_GUEST_STATE &&
        r->nalt == 1)
        return true; /* 27.3 fails before any guest state is loaded */
    if (cls & (FZ_ADDR | FZ_LINGER))
        return false;
    if (ecm_get(&fz.img, GUEST_ACTIVITY_STATE) == 3 ||
        !(ecm_get(&fz.img, PIN_BASED_VM_EXEC_CONTROL) & PIN_PREEMPTION_TIMER))
        return false; /* no timer exit: wait-for-SIPI (it does not count there), or no timer */
    return !(ecm_get(&fz.img, VM_ENTRY_INTR_INFO_FIELD) >> 31) || !(cls & FZ_GUEST);
}

/* Writes the case into the VMCS and the image, its fields into fz.fields */
static void fz_apply(const struct fz_case *c)
{
    fz.nf = 0;
    fz.mem = false;
    for (u32 i = 0; i < c->n; i++) {
        u32 f = c->m[i].field;
        if (f & FZ_MEM) {
            *fz_word(f & 0xff) = (u32)c->m[i].value;
            fz.mem = true;
            continue;
        }
        vmw_safe(f, c->m[i].value);
        ecm_put(&fz.img, f, c->m[i].value);
        fz.fields[fz.nf++] = f;
    }
}

static void fz_unapply(const struct fz_case *c, bool entered)
{
    for (u32 i = 0; i < c->n; i++)
        if (!(c->m[i].field & FZ_MEM))
            vmw_safe(c->m[i].field, ecm_get(&fz.b->base, c->m[i].field));
    fz_unmutate_image(c);
    if (entered) {
        for (u32 i = 0; i < fz_nsaved; i++)
            vmw_safe(fz_saved_field[i], fz.b->saved[i]);
        wrmsr(MSR_IA32_KERNEL_GS_BASE, fz_kgs); /* the MSR-load area may have changed it */
    }
}

/* The stages whose checks fail (bit per enum ecm_stage) */
static u32 fz_stages(const struct ecm_result *r)
{
    u32 st = 0;
    for (u32 w = 0; w < ECM_WORDS; w++)
        for (u32 f = r->failed[w]; f; f &= f - 1)
            st |= 1u << ecm_checks[w * 32 + __builtin_ctz(f)].stage;
    return st;
}

/* One VMLAUNCH/VMRESUME of the current VMCS, back at the first exit
 * (vmx_enter: none of the run loop's reporting, which would cost more than
 * the trial) */
int vmx_enter(struct guest_regs *regs, int launched);
static struct ecm_outcome fz_enter(void)
{
    struct vcpu *v = fz.v;
    unsigned long flags = irq_save();
    u64 x = 0;

    this_cpu()->in_guest = true;
    int st = vmx_enter(&v->regs, v->launched);
    this_cpu()->in_guest = false;
    irq_restore(flags);
    if (st == VMX_FAIL_VALID) {
        vmr_safe(VM_INSTRUCTION_ERROR, &x);
        return (struct ecm_outcome){ECM_VMFAIL, (u32)x, 0};
    }
    if (st != VMX_OK)
        return (struct ecm_outcome){ECM_VMFAIL, 0, 0};
    u32 reason = (u32)vmr(VM_EXIT_REASON);
    if (reason & EXIT_REASON_ENTRY_FAILURE) /* the launch state stays (27.8) */
        return (struct ecm_outcome){ECM_EXIT_FAIL, reason & 0xffff, vmr(EXIT_QUALIFICATION)};
    v->launched = true;
    fz.timer_exit = (reason & 0xffff) == EXIT_REASON_PREEMPTION_TIMER;
    if (!fz.timer_exit) {
        fz.other_exits++;
        fz.other_reason = reason & 0xffff;
    }
    return (struct ecm_outcome){ECM_ENTRY, 0, 0};
}

/* Bochs' known deviation in the state an entry into a real-mode guest
 * leaves (unrestricted guest, CR0.PE 0): BX_CPU_C::handleCpuModeChange
 * (cpu/proc_ctrl.cc) makes CS a read/write data segment (type 3) in real
 * mode, so the exit saves that type where entry loaded the field's code
 * type (27.3.2.2 loads CS's access rights, 28.3.2 saves them) */
static bool fz_bochs_real_cs(u64 loaded, u64 saved)
{
    /* through LHV's L0 too: VMCS02 is entered and exits on Bochs */
    return !(ecm_get(&fz.img, GUEST_CR0) & CR0_PE) &&
           l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0) &&
           (saved & 0xf0ff) != (loaded & 0xf0ff) && (saved & 0xf0ff) == ((loaded & 0xf0f0) | 0x93);
}

struct fz_state_field {
    u32 field;
    u32 seg; /* the segment whose access rights say whether it is usable, or FZ_NO_SEG */
    u64 mask; /* the bits entry loads and the exit saves */
};
#define FZ_NO_SEG 8
#define FZ_STATE_SAME 12 /* the fields of no segment */
#define FZ_STATE_FIELDS (FZ_STATE_SAME + 8 * 4)

/* fz_state_check's fields in its order, with their masks (built once) */
static const struct fz_state_field *fz_state_fields(void)
{
    static const u32 same[FZ_STATE_SAME] = {
        GUEST_RIP, GUEST_RSP, GUEST_RFLAGS, GUEST_CR3, GUEST_GDTR_BASE, GUEST_GDTR_LIMIT,
        GUEST_IDTR_BASE, GUEST_IDTR_LIMIT, GUEST_SYSENTER_ESP, GUEST_SYSENTER_EIP,
        GUEST_ACTIVITY_STATE, GUEST_CR0,
    };
    static struct fz_state_field t[FZ_STATE_FIELDS];
    static bool built;
    const u64 cr0_loaded = 0x8005002full & ~0x10ull; /* PG AM WP NE TS EM MP PE */

    for (u32 i = 0; !built && i < FZ_STATE_FIELDS; i++) {
        struct fz_state_field *e = &t[i];
        e->seg = FZ_NO_SEG;
        e->mask = ~0ull;
        if (i < FZ_STATE_SAME) {
            e->field = same[i];
            if (e->field == GUEST_CR0)
                e->mask = cr0_loaded;
        } else {
            u32 seg = (i - FZ_STATE_SAME) / 4, part = (i - FZ_STATE_SAME) % 4;
            e->seg = seg;
            e->field = (part == 0 ? GUEST_ES_SELECTOR : part == 1 ? GUEST_ES_BASE
                        : part == 2 ? GUEST_ES_LIMIT : GUEST_ES_AR_BYTES) + 2 * seg;
            if (part == 3) /* type S DPL P, AVL L D/B G; L is CS's
                            * alone, a reserved bit of the others (24.4.1,
                            * Table 24-2): Bochs drops TR's (0x208b -> 0x8b) */
                e->mask = seg == 1 ? 0xf0ff : 0xd0ff;
        }
        e->mask &= fz_mask(e->field);
    }
    built = true;
    return t;
}

/* The state after an entry that succeeded and exited at once (the timer
 * at 0, no event injected, active or HLT): a VM exit saves what the entry
 * loaded (27.3.2, 28.3.2), since no instruction ran in between. Compared:
 * RIP, RSP, RFLAGS, CR3, CR0's bits entry loads (27.3.2.1: not ET, CD,
 * NW, the reserved ones), the descriptor-table registers, IA32_SYSENTER_ESP
 * and EIP, the activity state, and each usable segment's selector, base,
 * limit and access rights (an unusable one's may change, 28.3.2). Returns
 * the first field that differs, 0 when none, with what was loaded and saved */
static u32 fz_state_check(u64 *loaded, u64 *saved)
{
    const struct fz_state_field *t = fz_state_fields();

    if (ecm_get(&fz.img, VM_ENTRY_INTR_INFO_FIELD) >> 31 ||
        ecm_get(&fz.img, GUEST_ACTIVITY_STATE) > 1)
        return 0;
    for (u32 i = 0; i < FZ_STATE_FIELDS; i++) {
        const struct fz_state_field *e = &t[i];
        if (e->seg != FZ_NO_SEG && (ecm_get(&fz.img, GUEST_ES_AR_BYTES + 2 * e->seg) & (1u << 16)))
            continue; /* unusable */
        u64 x = 0;
        if (vmr_safe(e->field, &x) != VMX_OK)
            continue;
        if (e->field == GUEST_CS_AR_BYTES && fz_bochs_real_cs(ecm_get(&fz.img, e->field), x)) {
            fz.bochs_real_cs++; /* counted, and the other fields compared */
            continue;
        }
        *loaded = ecm_get(&fz.img, e->field) & e->mask;
        *saved = x & e->mask;
        if (*loaded != *saved)
            return e->field;
    }
    return 0;
}

/* Bochs' handleAsyncEvent (cpu/event.cc) takes the VMX-preemption timer's
 * expiry among the external interrupts, inside the branch that blocking by
 * STI or MOV SS skips: entered with such blocking and the timer at 0, the
 * guest runs one instruction before the exit. 26.7.4: with the timer at 0
 * the exit comes before any instruction; 25.2 ranks it below debug traps
 * only, and blocking by STI or MOV SS (Table 24-3) does not hold it. Seen
 * where that instruction moves RIP (i386 seed 2 trial 6728: CS base 7, the
 * guest's code fetched 7 bytes on, RIP saved 0) */
static bool fz_bochs_shadow_runs(void)
{
    return l0_bochs_deviates(BOCHS_2_7_AND_3_0 | BOCHS_VIA_L0) &&
           (ecm_get(&fz.img, GUEST_INTERRUPTIBILITY_INFO) & 3);
}

#define FZ_WINDOW 64
/* Asks the model (fz.r) and, when the gate allows, the L0 */
static struct fz_answer fz_try(u32 t, const struct fz_case *c)
{
    struct fz_answer a = {false, {ECM_ENTRY, 0, 0}};
    u64 t0 = rdtsc();

    fz_apply(c);
    fz.p.launched = fz.p.vmresume = fz.v->launched;
    fz.blind = false;
    ecm_predict_delta(&fz.img, &fz.k, &fz.p, &fz.b->deps, fz.fields, fz.nf, fz.mem, &fz.r);
    u64 t1 = rdtsc();
    fz.ticks_model += t1 - t0;
    if (fz_gate(c, &fz.r)) {
        u32 cls = 0;
        for (u32 i = 0; i < fz.nf; i++)
            cls |= fz_cls(fz.fields[i]);
        if ((cls & FZ_HOST) && !(fz_stages(&fz.r) & (1u << ECM_CTL))) {
            /* on the line before VMLAUNCH, so a host the L0 breaks is still
             * known: "fz T", at most once in FZ_WINDOW trials (each line
             * costs the UART's time), so the culprit is among the
             * FZ_WINDOW trials from the last such line */
            if (!fz.risky || t >= fz.announced + FZ_WINDOW) {
                printf("fz %u\n", t);
                console_drain(); /* a line left in the UART's FIFO dies with the L0 */
                fz.announced = t;
            }
            fz.risky++;
        }
        a.entered_vm = true;
        a.got = fz_enter();
    }
    fz.state_field = 0;
    if (a.entered_vm && a.got.kind == ECM_ENTRY && fz.timer_exit)
        fz.state_field = fz_state_check(&fz.state_loaded, &fz.state_saved);
    if (fz.state_field && fz_bochs_shadow_runs()) {
        fz.bochs_shadow_runs++;
        fz.state_field = 0;
    }
    fz_unapply(c, a.entered_vm && a.got.kind == ECM_ENTRY);
    fz.ticks_l0 += rdtsc() - t1;
    return a;
}

static bool fz_disagrees(const struct fz_answer *a, const struct ecm_result *r)
{
    return a->entered_vm && !ecm_acceptable(r, &a->got);
}

static void fz_print_muts(const struct fz_case *c)
{
    for (u32 i = 0; i < c->n; i++)
        if (c->m[i].field & FZ_MEM)
            printf(" msr-load-word%u=0x%llx", c->m[i].field & 0xff, c->m[i].value);
        else
            printf(" 0x%04x=0x%llx", c->m[i].field, c->m[i].value);
}

/* lhv.fuzz.replay: the trial in full, what the model and the L0 said */
/* A replayed trial's case, printed before the L0 is asked: a trial that
 * takes the L0 down (Bochs 3.0 sapphire_rapids panicked on seed 0 trial
 * 5132, guest CR4.LA57) is still named */
static void fz_detail_case(u32 t, const struct fz_case *c)
{
    printf("fuzz: replay seed=%u trial=%u: %u mutation(s)", suite_fuzz_seed(), t, c->n);
    for (u32 i = 0; i < c->naims; i++)
        printf("%s%s", i ? ", " : ", aimed at ", ecm_checks[c->aims[i]].id);
    printf("\n");
    for (u32 i = 0; i < c->n; i++)
        if (!(c->m[i].field & FZ_MEM))
            printf("fuzz:   field 0x%04x: 0x%llx -> 0x%llx\n", c->m[i].field,
                   ecm_get(&fz.b->base, c->m[i].field), c->m[i].value);
        else
            printf("fuzz:   MSR-load area word %u -> 0x%llx\n", c->m[i].field & 0xff,
                   c->m[i].value);
    console_drain(); /* out of the UART's FIFO before the L0 may stop */
}

/* And what became of it: the model's failing checks and prediction, the L0 */
static void fz_detail(const struct fz_answer *a)
{
    char s[48] = "";
    const struct ecm_result *r = &fz.r;

    for (u32 i = 0; i < ecm_nchecks; i++)
        if (ecm_failed(r, i))
            printf("fuzz:   check %s (SDM 3C %s) fails\n", ecm_checks[i].id, ecm_checks[i].sdm);
    fz_print(s, sizeof(s), &r->outcome);
    printf("fuzz:   the model predicts: %s (%s)\n", s,
           r->check == ECM_NONE ? "no check fails" : ecm_checks[r->check].id);
    for (u32 i = 0; i < r->nalt; i++) {
        fz_print(s, sizeof(s), &r->alt[i]);
        printf("fuzz:   the SDM allows: %s\n", s);
    }
    fz_print(s, sizeof(s), &a->got);
    printf("fuzz:   the L0: %s\n", a->entered_vm ? s : "not entered (the state would outlive the "
                                                       "trial's exit, or it waits for SIPI)");
}

/* After a disagreement: the mutations whose removal keeps the same
 * disagreement (the model's outcome and the L0's) are dropped, one by one */
static void fz_minimise(u32 t, struct fz_case *c, const struct ecm_outcome *want,
                        const struct ecm_outcome *got)
{
    struct fz_case m = *c;
    u32 before = c->n;

    for (u32 i = 0; i < m.n && m.n > 1;) {
        struct fz_case less = m;
        less.m[i] = less.m[--less.n];
        struct fz_answer a = fz_try(t, &less);
        if (fz_disagrees(&a, &fz.r) && fz.r.outcome.kind == want->kind &&
            fz.r.outcome.code == want->code && a.got.kind == got->kind && a.got.code == got->code)
            m = less;
        else
            i++;
    }
    printf("fuzz: minimised trial=%u (%u of %u mutations):", t, m.n, before);
    fz_print_muts(&m);
    printf("\n");
}

/* Coverage: a check is hit when the trial changed a field it reads (as
 * read, not only the derived values ecm_predict_delta goes by: a check
 * whose derived value stayed was not evaluated, and holds as on the base).
 * The hits and failures are counted bit-sliced (fz.hits, fz.fails: plane
 * b of word w holds bit b of the counts of that word's checks), a few
 * ticks a trial instead of a few per check; fz_counts turns them into
 * fz.pass and fz.fail. 32 planes: a run's at most 10^9 trials never
 * carry out of the last */
static inline __attribute__((always_inline)) void fz_add_planes(u32 *plane, u32 carry)
{
    for (; carry; plane++) {
        u32 t = *plane & carry;
        *plane ^= carry;
        carry = t;
    }
}

static void fz_count(const struct ecm_result *r)
{
    const u32 *rows[FZ_MAX_MUTS + 1];
    u32 n = 0;

    for (u32 j = 0; j < fz.nf; j++)
        rows[n++] = fz.b->deps.reads[ecm_slot(fz.fields[j])];
    if (fz.mem)
        rows[n++] = fz.b->deps.by_slot[ECM_SLOTS];
    for (u32 w = 0; w < ECM_WORDS; w++) {
        u32 hit = r->evaluated[w];
        for (u32 j = 0; j < n; j++)
            hit |= rows[j][w];
        fz_add_planes(fz.hits[w], hit);
        fz_add_planes(fz.fails[w], hit & r->failed[w]);
    }
}

void fz_counts(void)
{
    for (u32 i = 0; i < ecm_nchecks; i++) {
        u32 h = 0, f = 0;
        for (u32 b = 0; b < FZ_PLANES; b++) {
            h |= ((fz.hits[i / 32][b] >> (i % 32)) & 1) << b;
            f |= ((fz.fails[i / 32][b] >> (i % 32)) & 1) << b;
        }
        fz.pass[i] = h - f;
        fz.fail[i] = f;
    }
}

/* The known disagreements whose DIFF lines were not printed, by check */
void fz_known_quiet_line(void)
{
    bool any = false;
    for (u32 i = 0; i <= ecm_nchecks; i++) {
        if (fz.known_quiet[i] <= FZ_KNOWN_SHOWN)
            continue;
        printf("%s %s %u", any ? "," : "fuzz: known Bochs deviations past their first lines:",
               i < ecm_nchecks ? ecm_checks[i].id : "entry", fz.known_quiet[i] - FZ_KNOWN_SHOWN);
        any = true;
    }
    if (any)
        printf("\n");
}

void fz_trial(u32 t, bool replay)
{
    struct fz_case c;
    char want_s[48], got_s[48];
    u64 t0 = rdtsc();

    u32 ix;
    fz_use_basis(fz_basis_of(t, &ix));
    fz_gen(t, ix, &c);
    fz.ticks_gen += rdtsc() - t0;
    if (!c.n)
        return;
    if (replay)
        fz_detail_case(t, &c);
    struct fz_answer a = fz_try(t, &c);
    fz.trials++;
    fz_count(&fz.r);
    if (replay)
        fz_detail(&a);
    if (!a.entered_vm) {
        fz.not_entered++;
        return;
    }
    fz.entered += a.got.kind == ECM_ENTRY;
    u32 st = fz_stages(&fz.r);
    bool probe = st & (st - 1); /* violations in two stages or more */
    fz.probes += probe;
    u32 state_field = fz.state_field;
    u64 state_loaded = fz.state_loaded, state_saved = fz.state_saved;
    bool known = false, outcome_diff = fz_disagrees(&a, &fz.r);
    if (outcome_diff) {
        struct ecm_result r = fz.r;
        fz.diffs++;
        fz_print(want_s, sizeof(want_s), &r.outcome);
        fz_print(got_s, sizeof(got_s), &a.got);
        const char *id = r.check == ECM_NONE ? "-" : ecm_checks[r.check].id;
        fz_apply(&c);
        fz.r = r;
        known = l0_bochs_deviates(BOCHS_2_7_AND_3_0) && fz_bochs_known(id, &a.got, &fz.img);
        fz_unapply(&c, false);
        fz.explained += known;
        /* a known deviation's lines after its first FZ_KNOWN_SHOWN are
         * counted by deciding check (fz_known_quiet_line): at ~900 ticks a
         * character in Bochs, 120 such lines of a 20,000-trial run were 7 %
         * of its time */
        u32 k = r.check == ECM_NONE ? ecm_nchecks : r.check; /* the last: entry */
        if (known && !replay && ++fz.known_quiet[k] > FZ_KNOWN_SHOWN)
            goto state;
        printf("DIFF: fuzz seed=%u trial=%u", suite_fuzz_seed(), t);
        fz_print_muts(&c);
        /* a known deviation's line is short (the UART's time is the run's:
         * seed and trial are its replay); it is triaged already */
        printf(" model=%s (%s) l0=%s", want_s, id, got_s);
        if (known)
            printf(" [known]\n");
        else {
            printf("; replay: lhv.fuzz.replay=%u:%u\n", suite_fuzz_seed(), t);
            fz_minimise(t, &c, &r.outcome, &a.got);
        }
    } else {
        fz.probes_ok += probe;
    }
state:
    if (state_field) {
        /* silent corruption: the saved state is not what entry loaded; after
         * an entry that a known deviation let through (the state was
         * invalid) it is that deviation's */
        fz.diffs++;
        fz.state_diffs++;
        fz.explained += known;
        printf("DIFF: fuzz seed=%u trial=%u", suite_fuzz_seed(), t);
        fz_print_muts(&c);
        printf(" state after entry: field 0x%04x loaded 0x%llx saved 0x%llx%s; replay: "
               "lhv.fuzz.replay=%u:%u\n", state_field, state_loaded, state_saved,
               known ? " [after a known Bochs deviation]" : "", suite_fuzz_seed(), t);
    }
}
