/* vmx/fuzz-entry (fuzz.h): the trial's random generator, the mutations
 * (edges of the checks, the MSR-load area), the walk of a check to its
 * edge and the search of bits behind it, and a trial's case from its seed
 * and number. The Bochs deviations the fuzzer knows: fuzz_bochs.c. */
#include "cpu.h"
#include "string.h"
#include "x86.h"
#include "fuzz.h"

static u64 fz_rng;

/* Each trial draws from its own generator state, a mix of the seed and the
 * trial number (SplitMix64's finaliser), so lhv.fuzz.replay=S:T rebuilds
 * trial T alone, without the T before it. Never 0 (xorshift's fixed point). */
static void fz_seed_trial(u32 seed, u32 trial)
{
    u64 z = ((u64)seed << 32 | trial) + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    fz_rng = (z ^ (z >> 31)) | 1;
}

static inline __attribute__((always_inline)) u32 fz_next(void)
{
    fz_rng ^= fz_rng << 13;
    fz_rng ^= fz_rng >> 7;
    fz_rng ^= fz_rng << 17;
    return (u32)(fz_rng >> 32);
}

static inline __attribute__((always_inline)) u32 fz_below(u32 n)
{
    return (u32)(((u64)fz_next() * n) >> 32);
}

/* --- mutations ------------------------------------------------------------ */

u32 *fz_word(u32 i) { return (u32 *)fz_load + i; }

/* The base's word i of the MSR-load area's first entry */
static u32 fz_base_word(u32 i)
{
    return i == 0 ? MSR_IA32_KERNEL_GS_BASE : i == 2 ? (u32)fz_kgs : i == 3 ? (u32)(fz_kgs >> 32) : 0;
}

/* Adds (or updates) a mutation; the image follows */
static void fz_add(struct fz_case *c, u32 field, u64 value)
{
    u32 i = 0;
    while (i < c->n && c->m[i].field != field)
        i++;
    if (i == FZ_MAX_MUTS)
        return;
    c->m[i] = (struct fz_mut){field, value};
    c->n += i == c->n;
    if (!(field & FZ_MEM))
        ecm_put(&fz.img, field, value);
    else
        *fz_word(field & 0xff) = (u32)value;
}

/* Puts the image and the MSR-load area back to the base */
void fz_unmutate_image(const struct fz_case *c)
{
    for (u32 i = 0; i < c->n; i++) {
        u32 f = c->m[i].field;
        if (f & FZ_MEM)
            *fz_word(f & 0xff) = fz_base_word(f & 0xff);
        else
            ecm_put(&fz.img, f, ecm_get(&fz.b->base, f));
    }
}

/* Set bits of a word (no libgcc here: SWAR) */
static inline __attribute__((always_inline)) u32 fz_popcount(u32 x)
{
    x -= (x >> 1) & 0x55555555u;
    x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
    return (((x + (x >> 4)) & 0x0f0f0f0fu) * 0x01010101u) >> 24;
}

/* The k-th set bit (from 0, lowest first) of the bitmap m (it has more
 * than k) */
static u32 fz_nth_bit(const u32 *m, u32 k)
{
    for (u32 w = 0;; w++) {
        u32 b = m[w], c = b ? fz_popcount(b) : 0;
        if (k < c) {
            while (k--)
                b &= b - 1;
            return w * 32 + (u32)__builtin_ctz(b);
        }
        k -= c;
    }
}

/* A random set bit of a nonzero mask */
static u32 fz_pick_bit(u32 mask) { return fz_nth_bit(&mask, fz_below(fz_popcount(mask))); }

/* A well-formed event to inject (24.8.3): valid, each type with a vector
 * it is given with (NMI 2, a hardware exception with its error code where
 * the vector has one), so the checks behind "valid and type NMI" open in
 * one step (a bit at a time, the walks left guest.intr.virtual_nmi holding) */
static u32 fz_event(void)
{
    static const u8 vector[8] = {32, 2, 2, 14, 0x80, 1, 3, 0};
    u32 type = fz_below(8), v = vector[type];

    if (type == 0)
        v += fz_below(224);
    else if (type == 3)
        v = fz_below(32);
    bool code = type == 3 && v < 32 && ((1u << v) & 0x00227d00u); /* 8, 10-14, 17, 21 */
    return 1u << 31 | (type == 1 ? 2 : type) << 8 | code << 11 | v;
}

/* The bits of a control field its capability MSR fixes (0 for other fields) */
static u32 fz_fixed_bits(u32 f)
{
    const struct vmx_caps *k = &vmx_caps;

    switch (f) {
    case PIN_BASED_VM_EXEC_CONTROL: return k->pin.allowed0 | ~k->pin.allowed1;
    case CPU_BASED_VM_EXEC_CONTROL: return k->proc.allowed0 | ~k->proc.allowed1;
    case SECONDARY_VM_EXEC_CONTROL: return k->proc2.allowed0 | ~k->proc2.allowed1;
    case VM_EXIT_CONTROLS: return k->exit.allowed0 | ~k->exit.allowed1;
    case VM_ENTRY_CONTROLS: return k->entry.allowed0 | ~k->entry.allowed1;
    }
    return 0;
}

/* A new value for field f at one of the checks' edges */
static u64 fz_edge(u32 f, u64 x)
{
    static const u8 edges[] = {0, 1, 2, 3, 4, 11, 12, 16, 31, 32, 47, 48, 56, 57, 63};
    u32 bits = fz_bits(f), fixed = fz_fixed_bits(f), free;

    if (fz_cls(f) & FZ_COUNT)
        return fz_below(5);
    if (f == VM_ENTRY_INTR_INFO_FIELD && fz_below(2))
        return fz_event();
    if (f == GUEST_INTERRUPTIBILITY_INFO && fz_below(2)) /* STI, MOV SS, SMI, NMI, enclave */
        return x ^ (1u << fz_below(5));
    free = ~fixed;
    if (fixed && free && fz_below(2)) /* a control the CPU lets change: the gates of checks */
        return x ^ (1u << fz_pick_bit(free));
    switch (fz_below(9)) {
    case 0:
        return 0;
    case 1:
        return ~0ull & fz_mask(f);
    case 2:
        return fz_below(8);
    case 3: { /* a MAXPHYADDR or canonical edge, or a low bit */
        u32 b = fz_below(2) ? fz.p.maxphyaddr - 1 + fz_below(2) : edges[fz_below(sizeof(edges))];
        return (x ^ (1ull << (b & (bits - 1)))) & fz_mask(f); /* bits: a power of 2 */
    }
    case 4: /* a bit the capability MSR fixes, or one it leaves free */
        if (fixed)
            return x ^ (1u << fz_pick_bit(fixed));
        /* fall through */
    case 5:
        return (x ^ (1ull << fz_below(bits)) ^ (1ull << fz_below(bits))) & fz_mask(f);
    default:
        return (x ^ (1ull << fz_below(bits))) & fz_mask(f);
    }
}

/* A word of the MSR-load area aimed at the MSR checks (27.4): the index of
 * a forbidden MSR, a reserved bit, a value WRMSR refuses. Aimed at one
 * check, the word that check reads: the forbidden indexes drawn from all
 * of them left msr.fs_gs_base holding after a walk's 48 draws (seed 1). */
static void fz_mutate_mem(struct fz_case *c, u32 aim)
{
    static const u32 bad[] = {0xc0000100u, 0xc0000101u, 0x800, 0x8ff, 0x9b, 0x9e};
    static u32 fsgs = ECM_NONE, x2apic, smm;
    if (fsgs == ECM_NONE) {
        fsgs = ecm_find("msr.fs_gs_base");
        x2apic = ecm_find("msr.x2apic");
        smm = ecm_find("msr.smm");
    }
    if (aim == fsgs || aim == smm) {
        fz_add(c, FZ_MEM | 0, bad[(aim == smm) * 4 + fz_below(2)]);
        return;
    }
    if (aim == x2apic) {
        fz_add(c, FZ_MEM | 0, 0x800 + fz_below(256));
        return;
    }
    switch (fz_below(3)) {
    case 0:
        fz_add(c, FZ_MEM | 0, fz_below(3) ? bad[fz_below(ARRAY_SIZE(bad))] : 0x800 + fz_below(256));
        break;
    case 1:
        fz_add(c, FZ_MEM | 1, 1u << fz_below(32));
        break;
    default:
        fz_add(c, FZ_MEM | 3, (u32)(fz_kgs >> 32) ^ (1u << fz_below(32)));
        break;
    }
}

/* The mutable fields a check reads (rd: ecm_check_reads), as lists of
 * their encodings, lowest slot first: cand, and deeper, those it did not read on the base
 * (opened by the walk); returns how many in cand, *nd how many in deeper */
static u32 fz_candidates(u32 i, const u64 *rd, u16 *cand, u16 *deeper, u32 *nd)
{
    u32 nc = 0;
    *nd = 0;
    for (u32 w = 0; w < ECM_SLOTS / 32; w += 2) {
        if (!rd[w / 2]) /* most are: a check reads a few fields */
            continue;
        for (u32 h = w; h < w + 2; h++) {
            u32 x = (u32)(rd[w / 2] >> (h % 2 * 32)) & fz.hasm[h];
            for (; x; x &= x - 1) {
                u32 s = h * 32 + (u32)__builtin_ctz(x);
                cand[nc++] = (u16)fz_enc(s);
                if (!((fz.b->base_rd[i][h] >> (s % 32)) & 1))
                    deeper[(*nd)++] = cand[nc - 1];
            }
        }
    }
    return nc;
}

/* Whether the first n bytes (a multiple of 4) of a and b are equal: one
 * string instruction, which Bochs steps a tick per element, where a loop
 * over 64-bit words costs ten instructions a word on i386 */
static inline __attribute__((always_inline)) bool fz_same(const void *a, const void *b, u32 n)
{
    unsigned long words = n / 4;
    bool same;
    asm("repe cmpsl"
        : "=@ccz"(same), "+S"(a), "+D"(b), "+c"(words)
        : "m"(*(const u8(*)[n])a), "m"(*(const u8(*)[n])b));
    return same;
}

/* The words of a read set (ecm_check_reads) that hold the fields, not memory's bit */
#define FZ_FIELD_RD_WORDS (ECM_SLOTS / 64)

/* How many mutable fields rd holds */
static u32 fz_nreads(const u64 *rd)
{
    u32 n = 0;
    for (u32 w = 0; w < ECM_SLOTS / 64; w++)
        if (rd[w])
            n += fz_popcount((u32)rd[w] & fz.hasm[2 * w]) +
                 fz_popcount((u32)(rd[w] >> 32) & fz.hasm[2 * w + 1]);
    return n;
}

/* Walks the image toward a failure of check i: mutates fields it reads
 * until it fails (at most `steps` mutations; more than FZ_STEPS: the
 * table's greedy walk). Returns whether i holds on the image after the
 * walk: FZ_FAILS, FZ_HOLDS, or FZ_UNKNOWN (not evaluated) */
enum { FZ_FAILS, FZ_HOLDS, FZ_UNKNOWN };
#define FZ_PROPOSALS 3
#define FZ_STEPS 8
static u32 fz_aim(struct fz_case *c, u32 i, u32 steps)
{
    static u64 bufs[3][ECM_RD_WORDS];
    u64 *rd = bufs[0], *try_rd = bufs[1], *best_rd = bufs[2];
    bool known = false, holds = true; /* rd and holds are the image's (a greedy step's best) */

    static u32 msr_count = ECM_NONE;
    if (msr_count == ECM_NONE)
        msr_count = ecm_find("msr.count");
    if (ecm_checks[i].stage == ECM_MSR) {
        if (i == msr_count)
            fz_add(c, VM_ENTRY_MSR_LOAD_COUNT, fz_below(5));
        else
            fz_mutate_mem(c, i);
        return FZ_UNKNOWN;
    }
    /* the first step from the base's reads (it holds there), no evaluation */
    u32 nb = fz.b->read_first[i + 1] - fz.b->read_first[i];
    if (!nb)
        return FZ_UNKNOWN;
    u32 f = fz_enc(fz.b->read_pool[fz.b->read_first[i] + fz_below(nb)]);
    fz_add(c, f, fz_edge(f, ecm_get(&fz.img, f)));
    for (u32 step = 1; step < steps; step++) {
        if (!known)
            holds = ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd);
        if (!holds)
            return FZ_FAILS;
        /* most steps leave the check reading what it read before: the
         * candidates of the last step stay */
        static u64 last_rd[FZ_FIELD_RD_WORDS];
        static u32 last_i = ECM_NONE, nc, nd;
        static u16 cand[ECM_SLOTS], deeper[ECM_SLOTS];
        if (!fz_same(rd, last_rd, FZ_FIELD_RD_WORDS * 8) || i != last_i) {
            nc = fz_candidates(i, rd, cand, deeper, &nd);
            memcpy(last_rd, rd, sizeof(last_rd));
            last_i = i;
        }
        if (!nc)
            return FZ_HOLDS;
        if (steps <= FZ_STEPS) {
            f = nd && fz_below(2) ? deeper[fz_below(nd)] : cand[fz_below(nc)];
            fz_add(c, f, fz_edge(f, ecm_get(&fz.img, f)));
            continue;
        }
        /* the table's walks: of FZ_PROPOSALS mutations, one that makes the
         * check fail, else the one after which it reads the most fields
         * (a gate opened); what it read after the best is the next step's */
        u32 best_f = 0, best_n = 0; /* best_n: fields it reads + 1, 0 not counted yet */
        u64 best_v = 0;
        bool best_fails = false;
        for (u32 k = 0; k < FZ_PROPOSALS; k++) {
            f = nd && fz_below(2) ? deeper[fz_below(nd)] : cand[fz_below(nc)];
            u64 old = ecm_get(&fz.img, f), v = fz_edge(f, old);
            if (best_fails) /* none beats it: drawn only, the case's draws stay */
                continue;
            bool h = holds, take = k == 0;
            if (v == old) /* the image as it is: what it read */
                memcpy(try_rd, rd, sizeof(bufs[0]));
            else {
                ecm_put(&fz.img, f, v);
                h = ecm_check_reads(&fz.img, &fz.k, &fz.p, i, try_rd);
                ecm_put(&fz.img, f, old);
            }
            u32 n = 0;
            if (!h)
                take = true;
            else if (!take) { /* most read what the best reads: not more */
                if (!fz_same(try_rd, best_rd, FZ_FIELD_RD_WORDS * 8)) {
                    if (!best_n)
                        best_n = 1 + fz_nreads(best_rd);
                    n = 1 + fz_nreads(try_rd);
                    take = n > best_n;
                }
            }
            if (take) {
                best_f = f;
                best_v = v;
                best_n = n;
                best_fails = !h;
                u64 *t = best_rd;
                best_rd = try_rd;
                try_rd = t;
            }
        }
        u32 before = c->n;
        fz_add(c, best_f, best_v);
        /* known unless the case was full (fz_add dropped a new field) */
        known = c->n > before || ecm_get(&fz.img, best_f) == best_v;
        holds = !best_fails;
        u64 *t = rd;
        rd = best_rd;
        best_rd = t;
    }
    return !known ? FZ_UNKNOWN : holds ? FZ_HOLDS : FZ_FAILS;
}

/* Whether check i, with every control bit set (every gate open), reads a
 * field this VMCS does not have (VMREAD refuses it, the fuzzer cannot set
 * it): then it cannot fail here (the posted-interrupt notification vector
 * on a CPU without posted interrupts) */
static bool fz_needs_missing_field(u32 i)
{
    static const u32 ctl[] = {
        PIN_BASED_VM_EXEC_CONTROL, CPU_BASED_VM_EXEC_CONTROL, SECONDARY_VM_EXEC_CONTROL,
        VM_EXIT_CONTROLS, VM_ENTRY_CONTROLS,
    };
    u64 rd[ECM_RD_WORDS], old[ARRAY_SIZE(ctl)];
    bool missing = false;

    for (u32 f = 0; f < ARRAY_SIZE(ctl); f++) {
        old[f] = ecm_get(&fz.img, ctl[f]);
        ecm_put(&fz.img, ctl[f], 0xffffffffu);
    }
    ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd);
    for (u32 w = 0; w < ECM_SLOTS / 64; w++)
        missing |= (rd[w] & ~((u64)fz.hasm[2 * w + 1] << 32 | fz.hasm[2 * w])) != 0;
    for (u32 f = 0; f < ARRAY_SIZE(ctl); f++)
        ecm_put(&fz.img, ctl[f], old[f]);
    return missing;
}

/* Whether v in field f makes check i fail; rd (or NULL): what i reads
 * then. The image keeps v only when it does. */
static bool fz_fails_with(u32 i, u32 f, u64 v, u64 *rd)
{
    u64 x = ecm_get(&fz.img, f);
    ecm_put(&fz.img, f, v);
    if (!ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd))
        return true;
    ecm_put(&fz.img, f, x);
    return false;
}

/* A value of field f that makes i fail: one bit flipped, then two of its
 * low 32; added to the case. In a control field only the bits its
 * capability MSR lets change: a fixed one would make the entry fail at
 * ctl.*.allowed before the check searched for (and the primary controls'
 * fixed bits cost the checks behind "enable EPT" ~300 tries each). */
static bool fz_bits_search(struct fz_case *c, u32 i, u32 f)
{
    u64 x = ecm_get(&fz.img, f);
    u32 bits = fz_bits(f) < 32 ? fz_bits(f) : 32, fixed = fz_fixed_bits(f);

    for (u32 a = 0; a < fz_bits(f); a++)
        for (u32 b = a; b < (a < bits ? bits : a + 1); b++) {
            if (a < 32 && ((fixed >> a) & 1 || (fixed >> b) & 1))
                continue;
            u64 v = (x ^ (1ull << a) ^ (a == b ? 0 : 1ull << b)) & fz_mask(f);
            if (v != x && fz_fails_with(i, f, v, NULL)) {
                fz_add(c, f, v);
                return true;
            }
        }
    return false;
}

/* When the walks left check i holding: a search of bits, where the walk's
 * measure (the fields a check reads) shows no step between them. In each
 * field i reads (at the first level) or that a gate opened to it (below),
 * one bit or two: a control and the gate it needs ("enable PML" with
 * "enable EPT" cleared); else each single bit that opens fields to i,
 * searched the same way, `depth` gates deep: IA-32e mode guest cleared,
 * then EPT on (with "activate secondary controls": the secondary controls
 * are read as 0 without it), then a PDPTE's present and reserved bits. */
#define FZ_GATES 3
static bool fz_bits_search_deep(struct fz_case *c, u32 i, const u64 *rd_now, u32 depth)
{
    static u16 cand[FZ_GATES][ECM_SLOTS], deeper[FZ_GATES][ECM_SLOTS]; /* off the stack */
    u64 rd[ECM_RD_WORDS];
    u32 nd, nc = fz_candidates(i, rd_now, cand[depth - 1], deeper[depth - 1], &nd);
    const u16 *own = depth == FZ_GATES ? cand[depth - 1] : deeper[depth - 1];

    for (u32 k = 0; k < (depth == FZ_GATES ? nc : nd); k++)
        if (fz_bits_search(c, i, own[k]))
            return true;
    if (depth == 1)
        return false;
    u64 proc = ecm_get(&fz.img, CPU_BASED_VM_EXEC_CONTROL);
    for (u32 k = 0; k < nc; k++) {
        u32 f = cand[depth - 1][k], bits = fz_bits(f) < 32 ? fz_bits(f) : 32;
        u64 x = ecm_get(&fz.img, f);
        bool activate = f == SECONDARY_VM_EXEC_CONTROL && !(proc & CPU_ACTIVATE_SECONDARY_CONTROLS);
        if (activate)
            ecm_put(&fz.img, CPU_BASED_VM_EXEC_CONTROL, proc | CPU_ACTIVATE_SECONDARY_CONTROLS);
        for (u32 a = 0; a < bits; a++) {
            u64 v = (x ^ (1ull << a)) & fz_mask(f);
            if (v == x || fz_fails_with(i, f, v, rd)) {
                if (v != x) /* failing at once: the gate's bit alone does it */
                    goto found;
                continue;
            }
            if (fz_nreads(rd) <= fz_nreads(rd_now))
                continue;
            ecm_put(&fz.img, f, v); /* a gate opened */
            if (fz_bits_search_deep(c, i, rd, depth - 1))
                goto found;
            ecm_put(&fz.img, f, x);
            continue;
        found:
            if (activate)
                fz_add(c, CPU_BASED_VM_EXEC_CONTROL, proc | CPU_ACTIVATE_SECONDARY_CONTROLS);
            fz_add(c, f, v);
            return true;
        }
        if (activate)
            ecm_put(&fz.img, CPU_BASED_VM_EXEC_CONTROL, proc);
    }
    return false;
}

/* The first trials walk the check table (fz.b->table: every check this CPU
 * lets fail), one check each: walks of up to FZ_MAX_MUTS steps, from the
 * base again after each that leaves it holding, until one makes it fail
 * (at most FZ_TRIES), then a search of bits (fz_bits_search_deep), so a
 * short run still hits each check failing. */
#define FZ_TRIES 12
#define FZ_PLAIN_TRIES 2 /* the first walks: FZ_STEPS plain steps */

/* Whether check i gets the whole of its table walk here: the greedy walks
 * after the two plain ones, then the search of bits. Both are for
 * coverage, and the first base's table walks come first (trials 0-139):
 * on the real-mode base only for a check the first base's table lacks;
 * a check it has gets the two plain walks there. The search cost that
 * base 1.4 M of i386's 11 M instructions (seed 1, Bochs 2.7: 860 K for a
 * check it never made fail), the greedy walks 0.9 M (150 K a check: the
 * implications of EPT, ctl.tpr_threshold.vtpr), and neither found a
 * check the first base had not. Decided by the tables alone, so a
 * replayed trial is the trial of the run. */
static bool fz_walk_whole(u32 i)
{
    const struct fz_basis *first = &fz.bases[0];

    if (fz.b == first)
        return true;
    for (u32 k = 0; k < first->ntable; k++)
        if (first->table[k] == i)
            return false;
    return true;
}

static void fz_aim_table(struct fz_case *c, u32 i)
{
    u64 rd[ECM_RD_WORDS];

    c->naims = 1;
    c->aims[0] = (u16)i;
    bool msr = ecm_checks[i].stage == ECM_MSR; /* one draw each: cheap, more of them */
    bool whole = fz_walk_whole(i);
    for (u32 try = 0; try < (msr ? 4 * FZ_TRIES : whole ? FZ_TRIES : FZ_PLAIN_TRIES); try++) {
        fz_unmutate_image(c);
        c->n = 0;
        if (!msr && try == FZ_PLAIN_TRIES && fz_needs_missing_field(i)) { /* no walk can make it fail */
            fz.no_field[i / 32] |= 1u << (i % 32);
            break;
        }
        u32 got = fz_aim(c, i, try < FZ_PLAIN_TRIES ? FZ_STEPS : FZ_MAX_MUTS); /* plain first: cheaper */
        if (msr) { /* the MSR-load area: the model says */
            ecm_predict_delta(&fz.img, &fz.k, &fz.p, &fz.b->deps, NULL, 0, true, &fz.r);
            if (ecm_failed(&fz.r, i))
                return;
        } else if (got == FZ_FAILS ||
                   (got == FZ_UNKNOWN && !ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd))) {
            return;
        }
    }
    fz_unmutate_image(c);
    c->n = 0;
    if (!msr && whole) {
        ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd);
        if (fz_bits_search_deep(c, i, rd, FZ_GATES))
            return;
    }
    fz.walk_missed[i / 32] |= 1u << (i % 32); /* for the coverage lines */
}

/* And the passing side: one more mutation, of a field check j reads on the
 * base, that leaves j holding and i as it was (up to 8 draws), so j is hit
 * passing by a trial that changed what it reads */
static void fz_pass_partner(struct fz_case *c, u32 i, u32 j)
{
    u64 rd[ECM_RD_WORDS];
    u32 nb = fz.b->read_first[j + 1] - fz.b->read_first[j];

    if (!nb || c->n >= FZ_MAX_MUTS || ecm_checks[i].stage == ECM_MSR ||
        ecm_checks[j].stage == ECM_MSR)
        return;
    bool i_holds = ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd); /* when its walk failed */
    /* 8 draws at the checks' edges, then each single bit of each field j
     * reads (a CR4 with few free bits: the draws break a fixed one) */
    for (u32 k = 0; k < 8 + nb * 64; k++) {
        u32 r = k < 8 ? fz_below(nb) : (k - 8) / 64, bit = (k - 8) % 64, m;
        u32 f = fz_enc(fz.b->read_pool[fz.b->read_first[j] + r]);
        for (m = 0; m < c->n && c->m[m].field != f; m++)
            ;
        /* a field the case mutates already: the draws leave it, the scan
         * puts a single-bit change of the base value in its place (TR's
         * present bit alone: guest.tr.reserved holding where the walk of
         * guest.tr.p had set reserved bits too, guest.tr.p failing still) */
        if ((k < 8 && m < c->n) || (k >= 8 && bit >= fz_bits(f)))
            continue;
        u64 old = ecm_get(&fz.img, f), base = ecm_get(&fz.b->base, f);
        u64 v = k < 8 ? fz_edge(f, old) : (base ^ (1ull << bit)) & fz_mask(f);
        ecm_put(&fz.img, f, v);
        if (v != old && ecm_check_reads(&fz.img, &fz.k, &fz.p, j, rd) &&
            ecm_check_reads(&fz.img, &fz.k, &fz.p, i, rd) == i_holds) {
            fz_add(c, f, v);
            return;
        }
        ecm_put(&fz.img, f, old);
    }
}

static u16 mutable_slots[ECM_SLOTS];
static u32 nmutable;

static void fz_mutable_slots(void)
{
    if (!nmutable)
        for (u32 s = 0; s < ECM_SLOTS; s++)
            if (fz.has[s])
                mutable_slots[nmutable++] = (u16)s;
}

/* Seed 0, the sweep: trial t flips bit t % 64 of the (t / 64)-th field the
 * fuzzer mutates, then of the MSR-load area's four words, alone, from the
 * base state: every single-bit change once (no mutation where the field
 * has no such bit, and the trial is not counted) */
u32 fz_sweep_trials(void)
{
    fz_mutable_slots();
    return (nmutable + 4) * 64 * fz.nbases;
}

static void fz_sweep_case(u32 t, struct fz_case *c)
{
    u32 i = t / 64, b = t % 64;

    if (i < nmutable) {
        u32 f = fz_enc(mutable_slots[i]);
        u64 x = ecm_get(&fz.img, f), v = (x ^ (1ull << b)) & fz_mask(f);
        if (b < fz_bits(f) && v != x)
            fz_add(c, f, v);
    } else if (i - nmutable < 4 && b < 32) {
        fz_add(c, FZ_MEM | (i - nmutable), fz_base_word(i - nmutable) ^ (1u << b));
    }
}

/* The trial's mutations, from its seed and number alone (ix: its number
 * among its base's trials, fz_basis_of) */
void fz_gen(u32 t, u32 ix, struct fz_case *c)
{
    fz_mutable_slots();
    fz_seed_trial(suite_fuzz_seed(), t);
    c->n = c->naims = 0; /* what lies past them is never read */
    if (!suite_fuzz_seed()) {
        fz_sweep_case(ix, c);
    } else if (ix < fz.b->ntable) {
        fz_aim_table(c, fz.b->table[ix]);
        fz_pass_partner(c, fz.b->table[ix], fz.b->table[(ix + 1) % fz.b->ntable]);
    } else if (fz_below(4) == 0) { /* 1-3 random bits of random fields */
        for (u32 n = 1 + fz_below(3); n; n--) {
            u32 f = fz_enc(mutable_slots[fz_below(nmutable)]);
            u64 x = ecm_get(&fz.img, f);
            fz_add(c, f, fz_cls(f) & FZ_COUNT ? fz_below(5)
                                                 : (x ^ (1ull << fz_below(fz_bits(f)))) & fz_mask(f));
        }
    } else { /* 1-3 checks aimed at */
        c->naims = 1 + (fz_below(3) == 0) + (fz_below(6) == 0);
        for (u32 a = 0; a < c->naims; a++) {
            c->aims[a] = (u16)(3 + fz_below(ecm_nchecks - 3)); /* not the 27.1 checks */
            fz_aim(c, c->aims[a], FZ_STEPS);
        }
    }
    fz_unmutate_image(c);
}
