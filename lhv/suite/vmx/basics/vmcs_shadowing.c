/* VMCS shadowing, on every CPU: a guest's VMREAD and VMWRITE reach a
 * shadow VMCS without an exit (SDM 3C 25.10, 25.6.15, 26.1.3). */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "lapic.h"
#include "smp.h"
#include "spinlock.h"
#include "string.h"
#include "trap.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"
#include "x86.h"
#include "suite/guests.h"

/* ===== vmx/multi-vmcs-shadowing ============================================
 * A shadow VMCS (bit 31 of its revision dword, 25.10) referenced by the
 * guest's VMCS link pointer with "VMCS shadowing" on (secondary control
 * bit 14): the guest's VMREAD and VMWRITE of a field whose bit (encoding
 * bits 14:0) is clear in the VMREAD/VMWRITE bitmap reach the shadow VMCS
 * without an exit; a set bit, or an encoding with a bit above 14 set,
 * exits with reason 23 or 25 (26.1.3), the VM-exit instruction
 * information naming the registers (28.2.5, table "VMREAD and VMWRITE").
 * The host reads the guest's write in the shadow VMCS with VMPTRLD; a
 * link pointer to an ordinary VMCS fails VM entry (27.3.1.5, 27.8: exit
 * reason 33, qualification 4). Then every field, by both bitmaps (below). */

#ifdef __x86_64__
#define SHADOW_RIP 0xfedcba9876543210ul
#else
#define SHADOW_RIP 0x9abcdef0ul
#endif
#define SHADOW_LIMIT 0x89abcdeful
#define SHADOW_RSP 0x5a5a0000ul        /* the guest's VMREAD of it exits: never seen */
#define SHADOW_SELECTOR 0x1234ul       /* the guest writes it through */
#define SHADOW_EXIT_ANSWER 0x0badc0deul /* the host's answer to an exiting VMREAD */
#define SHADOW_EXIT_WRITE 0x7777ul     /* what the guest's exiting VMWRITE carries */
#define FIELD_BIT15 0x8000ul           /* beyond the bitmaps: always exits */
#define SHADOW_OPS 7

/* The guest's instructions, field in DX and value in AX (Reg2 = 2, Reg1 =
 * 0 in the exit's instruction information). */
static int guest_vmread(unsigned long field, unsigned long *value)
{
    unsigned long v = ~0ul;
    u8 cf, zf;
    __asm__ volatile("vmread %3, %0\n\tsetc %1\n\tsetz %2"
                     : "+a"(v), "=qm"(cf), "=qm"(zf) : "d"(field) : "cc", "memory");
    *value = v;
    return VMX_STATUS(cf, zf);
}

static int guest_vmwrite(unsigned long field, unsigned long value)
{
    u8 cf, zf;
    __asm__ volatile("vmwrite %2, %3\n\tsetc %0\n\tsetz %1"
                     : "=qm"(cf), "=qm"(zf) : "a"(value), "d"(field) : "cc", "memory");
    return VMX_STATUS(cf, zf);
}

struct shadow_op {
    const char *what;
    bool write;
    unsigned long field;
    unsigned long value; /* written, or expected back */
    bool exits;
};

static const struct shadow_op shadow_ops[SHADOW_OPS] = {
    {"VMREAD of GUEST_RIP (bit clear)", false, GUEST_RIP, SHADOW_RIP, false},
    {"VMREAD of GUEST_ES_LIMIT (bit clear)", false, GUEST_ES_LIMIT, SHADOW_LIMIT, false},
    {"VMWRITE of GUEST_ES_SELECTOR (bit clear)", true, GUEST_ES_SELECTOR, SHADOW_SELECTOR, false},
    {"VMREAD of GUEST_ES_SELECTOR after the guest wrote it", false, GUEST_ES_SELECTOR,
     SHADOW_SELECTOR, false},
    {"VMREAD of GUEST_RSP (bit set)", false, GUEST_RSP, SHADOW_EXIT_ANSWER, true},
    {"VMWRITE of GUEST_RSP (bit set)", true, GUEST_RSP, SHADOW_EXIT_WRITE, true},
    {"VMREAD of GUEST_RIP with encoding bit 15 set", false, GUEST_RIP | FIELD_BIT15,
     SHADOW_EXIT_ANSWER, true},
};

struct shadow_log {
    /* the host's, at each VMREAD/VMWRITE exit */
    volatile u32 exits;
    u32 reason, info;
    unsigned long field, written;
    /* the guest's, per operation */
    int status[SHADOW_OPS];
    unsigned long value[SHADOW_OPS];
    u32 exits_during[SHADOW_OPS], reason_of[SHADOW_OPS];
    unsigned long field_of[SHADOW_OPS];
};

static u8 *vmread_bitmap, *vmwrite_bitmap;
static u32 *shadow_region[LHV_MAX_CPUS], *plain_region[LHV_MAX_CPUS];

static void guest_shadow(void *arg)
{
    struct shadow_log *l = arg;

    for (u32 i = 0; i < SHADOW_OPS; i++) {
        const struct shadow_op *op = &shadow_ops[i];
        u32 before = l->exits;
        l->status[i] = op->write ? guest_vmwrite(op->field, op->value)
                                 : guest_vmread(op->field, &l->value[i]);
        l->exits_during[i] = l->exits - before;
        l->reason_of[i] = l->reason;
        l->field_of[i] = l->field;
    }
}

/* A guest register by its number in the instruction information (0 AX,
 * 1 CX, 2 DX, 3 BX, 5 BP, 6 SI, 7 DI); NULL for SP and the others. */
static unsigned long *guest_reg(struct vcpu *v, u32 n)
{
    switch (n) {
    case 0: return (unsigned long *)&REG_AX(v);
    case 1: return (unsigned long *)&REG_CX(v);
    case 2: return (unsigned long *)&REG_DX(v);
    case 3: return (unsigned long *)&REG_BX(v);
    case 6: return (unsigned long *)&REG_SI(v);
    case 7: return (unsigned long *)&REG_DI(v);
    default: return NULL;
    }
}

/* Emulates the exiting VMREAD (answers SHADOW_EXIT_ANSWER) or VMWRITE
 * (records the value) as VMsucceed. */
static enum exit_action shadow_hook(struct vcpu *v, u32 reason)
{
    struct shadow_log *l = v->test_data;

    if (reason != EXIT_REASON_VMREAD && reason != EXIT_REASON_VMWRITE)
        return EXIT_DEFAULT;
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    unsigned long *reg1 = guest_reg(v, (info >> 3) & 15), *reg2 = guest_reg(v, info >> 28);
    l->reason = reason;
    l->info = info;
    l->field = reg2 ? *reg2 : ~0ul;
    if (reg1 && (info & VMX_INSN_INFO_REG)) {
        if (reason == EXIT_REASON_VMREAD)
            *reg1 = SHADOW_EXIT_ANSWER;
        else
            l->written = *reg1;
    }
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS);
    vcpu_skip_instruction();
    l->exits++;
    return EXIT_RESUME;
}

static void set_bit_in(u8 *bitmap, u32 field, bool set)
{
    u32 n = field & 0x7fff;
    if (set)
        bitmap[n >> 3] |= (u8)(1u << (n & 7));
    else
        bitmap[n >> 3] &= (u8)~(1u << (n & 7));
}

static void sf_prepare(void);

/* Bitmaps shared by all CPUs: every bit set but those of the fields the
 * guest may reach. */
static void shadow_prepare(void)
{
    if (!vmx_caps.present || !vmx_has_proc2(CPU2_VMCS_SHADOWING) || vmread_bitmap)
        return;
    vmread_bitmap = alloc_pages(1);
    vmwrite_bitmap = alloc_pages(1);
    memset(vmread_bitmap, 0xff, PAGE_SIZE);
    memset(vmwrite_bitmap, 0xff, PAGE_SIZE);
    set_bit_in(vmread_bitmap, GUEST_RIP, false);
    set_bit_in(vmread_bitmap, GUEST_ES_LIMIT, false);
    set_bit_in(vmread_bitmap, GUEST_ES_SELECTOR, false);
    set_bit_in(vmwrite_bitmap, GUEST_ES_SELECTOR, false);
    sf_prepare();
}

/* This CPU's shadow VMCS with known fields, clear (not current). */
static bool shadow_fill(struct cpu_outcome *o, u64 *pa)
{
    u32 i = this_cpu()->index;

    if (!shadow_region[i]) {
        shadow_region[i] = vmx_alloc_region();
        plain_region[i] = vmx_alloc_region();
    }
    shadow_region[i][0] = vmx_caps.revision | VMCS_SHADOW_INDICATOR;
    *pa = (uintptr_t)shadow_region[i];
    if (vmx_vmclear(*pa) != VMX_OK || vmx_vmptrld(*pa) != VMX_OK) {
        outcome_fail(o, "VMCLEAR/VMPTRLD of a shadow VMCS (revision 0x%x) failed",
                     shadow_region[i][0]);
        return false;
    }
    vmw(GUEST_RIP, SHADOW_RIP);
    vmw(GUEST_ES_LIMIT, SHADOW_LIMIT);
    vmw(GUEST_ES_SELECTOR, 0);
    vmw(GUEST_RSP, SHADOW_RSP);
    if (vmx_vmclear(*pa) != VMX_OK) {
        outcome_fail(o, "VMCLEAR of the shadow VMCS failed");
        return false;
    }
    return true;
}

/* The test guest with VMCS shadowing and the link pointer at `link`. */
static struct vcpu *shadow_guest(struct cpu_outcome *o, struct shadow_log *l, u64 link)
{
    struct vcpu *v = test_guest(o);
    u32 proc2, missing;

    if (!v)
        return NULL;
    if (!vmx_adjust(&vmx_caps.proc2, CPU2_VMCS_SHADOWING, &proc2, &missing)) {
        outcome_fail(o, "secondary controls: the CPU does not allow bits 0x%x", missing);
        return NULL;
    }
    memset(l, 0, sizeof(*l));
    v->hook = shadow_hook;
    v->test_data = l;
    vmw(CPU_BASED_VM_EXEC_CONTROL,
        vmr(CPU_BASED_VM_EXEC_CONTROL) | CPU_ACTIVATE_SECONDARY_CONTROLS);
    vmw(SECONDARY_VM_EXEC_CONTROL, proc2);
    vmw(VMREAD_BITMAP, (uintptr_t)vmread_bitmap);
    vmw(VMWRITE_BITMAP, (uintptr_t)vmwrite_bitmap);
    vmw(VMCS_LINK_POINTER, link);
    return v;
}

static bool shadow_check_op(struct cpu_outcome *o, const struct shadow_log *l, u32 i)
{
    const struct shadow_op *op = &shadow_ops[i];
    u32 want_reason = op->write ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD;

    if (l->exits_during[i] != (op->exits ? 1u : 0u))
        outcome_fail(o, "%s: %u exits, expected %u", op->what, l->exits_during[i],
                     op->exits ? 1 : 0);
    else if (l->status[i] != VMX_OK)
        outcome_fail(o, "%s: %s", op->what,
                     l->status[i] == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid");
    else if (op->exits && (l->reason_of[i] != want_reason || l->field_of[i] != op->field))
        outcome_fail(o, "%s: exit reason %u with field 0x%lx in Reg2, expected %u and 0x%lx",
                     op->what, l->reason_of[i], l->field_of[i], want_reason, op->field);
    else if (!op->write && l->value[i] != op->value)
        outcome_fail(o, "%s: read 0x%lx, expected 0x%lx", op->what, l->value[i], op->value);
    else
        return true;
    return false;
}

/* The exit's instruction information: register operands, Reg1 AX, Reg2 DX. */
static bool shadow_check_info(struct cpu_outcome *o, const struct shadow_log *l)
{
    u32 want = VMX_INSN_INFO_REG | (GPR_AX << 3) | ((u32)GPR_DX << 28);
    u32 mask = VMX_INSN_INFO_REG | (15u << 3) | (15u << 28);

    if ((l->info & mask) == want && l->written == SHADOW_EXIT_WRITE)
        return true;
    outcome_fail(o, "VMREAD/VMWRITE exit: instruction information 0x%x (expected register "
                 "operands, Reg1 0, Reg2 2), the VMWRITE carried 0x%lx (expected 0x%lx)",
                 l->info, l->written, SHADOW_EXIT_WRITE);
    return false;
}

/* In VMX root operation, the shadow VMCS holds the guest's write and not
 * the write that exited. */
static bool shadow_check_region(struct cpu_outcome *o, u64 pa, u64 guest_vmcs)
{
    u64 sel = 0, rsp = 0;

    if (vmx_vmptrld(pa) != VMX_OK) {
        outcome_fail(o, "VMPTRLD of the shadow VMCS after the run failed");
        return false;
    }
    vmr_safe(GUEST_ES_SELECTOR, &sel);
    vmr_safe(GUEST_RSP, &rsp);
    vmx_vmclear(pa);
    vmx_vmptrld(guest_vmcs);
    if (sel == SHADOW_SELECTOR && rsp == SHADOW_RSP)
        return true;
    outcome_fail(o, "the shadow VMCS holds GUEST_ES_SELECTOR 0x%llx and GUEST_RSP 0x%llx, "
                 "expected 0x%lx (the guest's write) and 0x%lx (its write exited)", sel, rsp,
                 SHADOW_SELECTOR, SHADOW_RSP);
    return false;
}

/* A link pointer to an ordinary VMCS: VM entry fails (27.3.1.5). */
static bool shadow_check_plain_link(struct cpu_outcome *o, struct shadow_log *l)
{
    u32 i = this_cpu()->index;
    struct vcpu *v = shadow_guest(o, l, (uintptr_t)plain_region[i]);

    if (!v)
        return false;
    plain_region[i][0] = vmx_caps.revision;
    if (vcpu_run(v, guest_shadow, l).end == RUN_DONE) {
        outcome_fail(o, "VM entry with the link pointer at an ordinary VMCS succeeded");
        return false;
    }
    if (v->exit_reason != EXIT_REASON_INVALID_GUEST_STATE ||
        v->exit_qual != EXIT_QUAL_LINK_POINTER) {
        outcome_fail(o, "link pointer at an ordinary VMCS: %s; expected exit reason 33, "
                     "qualification 4", v->why);
        return false;
    }
    return true;
}

/* ----- every field: the fields LHV knows (width, type, index below 32:
 * the slots of lhv/vmx/entry_checks.h, and the high access of each 64-bit
 * one) that this CPU has, found on the suite's CPU (Bochs checks
 * encodings against CPU 0's map only, vmx/vmread-vmwrite). Each CPU's
 * guest VMREADs every one, then VMWRITEs and VMREADs each in turn, twice:
 * the VMREAD bitmap's bit set for encodings with bit 1 set (the second
 * run: clear), the VMWRITE bitmap's for bit 2 (26.1.3, 25.6.15). A set bit
 * exits with the field in Reg2 (the host answers a VMREAD, checks what a
 * VMWRITE carries); a clear one reaches the shadow VMCS: the host's
 * value, then the guest's as the field's width keeps it, or for a
 * read-only field without IA32_VMX_MISC bit 29 VMfailValid and the old
 * value (30.3 VMWRITE). */
#define SF_MAX 256
#define SF_PRESET(enc) (~0ul / 0xff * 0x3c ^ (enc))
#define SF_WRITTEN(enc) (~0ul / 0xff * 0xa5 ^ (enc))
static u16 sf_fields[SF_MAX];
static u32 sf_n;
static u8 *sf_bitmaps; /* VMREAD, VMWRITE bitmap of the first run, then of the second */

struct sf_run {
    volatile u32 op;            /* sf_n reads, then a write and a read per field */
    u8 exit[3 * SF_MAX], status[3 * SF_MAX];
    unsigned long value[2 * SF_MAX]; /* the first read's, the second read's */
    unsigned long had[SF_MAX];       /* the host's preset, as the field keeps it */
};

static void sf_prepare(void)
{
    u64 cur = vmx_current_vmcs(), x;
    void *scratch = vmx_alloc_region();

    sf_bitmaps = alloc_pages(4);
    memset(sf_bitmaps, 0xcc, PAGE_SIZE); /* bit n set where n has bit 1 */
    memset(sf_bitmaps + PAGE_SIZE, 0xf0, PAGE_SIZE); /* bit 2 */
    memset(sf_bitmaps + 2 * PAGE_SIZE, 0x33, PAGE_SIZE);
    memset(sf_bitmaps + 3 * PAGE_SIZE, 0x0f, PAGE_SIZE);
    if (vmx_vmclear((uintptr_t)scratch) != VMX_OK || vmx_vmptrld((uintptr_t)scratch) != VMX_OK)
        return;
    for (u32 slot = 0; slot < 512 && sf_n < SF_MAX - 1; slot++) {
        u32 enc = (slot >> 7) << 13 | ((slot >> 5) & 3) << 10 | (slot & 31) << 1;
        for (u32 high = 0; high < (slot >> 7 == 1 ? 2u : 1u); high++)
            if (vmr_safe(enc | high, &x) == VMX_OK)
                sf_fields[sf_n++] = (u16)(enc | high);
    }
    vmx_vmclear((uintptr_t)scratch);
    if (cur != ~0ull)
        vmx_vmptrld(cur);
}

static void sf_guest(void *arg)
{
    struct sf_run *r = arg;

    for (u32 i = 0; i < sf_n; i++) {
        r->op = i;
        r->status[i] = (u8)guest_vmread(sf_fields[i], &r->value[i]);
    }
    for (u32 i = 0; i < sf_n; i++) {
        r->op = sf_n + 2 * i;
        r->status[r->op] = (u8)guest_vmwrite(sf_fields[i], SF_WRITTEN(sf_fields[i]));
        r->op++;
        r->status[r->op] = (u8)guest_vmread(sf_fields[i], &r->value[sf_n + i]);
    }
}

static u32 sf_field_of(u32 op) { return sf_fields[op < sf_n ? op : (op - sf_n) / 2]; }
static bool sf_is_write(u32 op) { return op >= sf_n && !((op - sf_n) & 1); }

static enum exit_action sf_hook(struct vcpu *v, u32 reason)
{
    struct sf_run *r = v->test_data;
    u32 op = r->op, enc = sf_field_of(op);

    if (reason != EXIT_REASON_VMREAD && reason != EXIT_REASON_VMWRITE)
        return EXIT_DEFAULT;
    if (r->exit[op] || reason != (sf_is_write(op) ? EXIT_REASON_VMWRITE : EXIT_REASON_VMREAD) ||
        REG_DX(v) != enc || (sf_is_write(op) && REG_AX(v) != SF_WRITTEN(enc)))
        return vcpu_fail(v, "exit %u for field 0x%x (op %u): DX 0x%lx, AX 0x%lx", reason, enc, op,
                         (unsigned long)REG_DX(v), (unsigned long)REG_AX(v));
    r->exit[op] = (u8)reason;
    if (reason == EXIT_REASON_VMREAD)
        REG_AX(v) = SHADOW_EXIT_ANSWER;
    vmw(GUEST_RFLAGS, vmr(GUEST_RFLAGS) & ~(u64)EFLAGS_STATUS);
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* What the field keeps of a write (25.11.2) */
static unsigned long sf_kept(u32 enc, unsigned long value)
{
    u32 width = enc >> 13;
    return width == 0 ? value & 0xffff : width == 2 || (enc & 1) ? value & 0xffffffffu : value;
}

static bool sf_run(struct cpu_outcome *o, struct sf_run *r, u64 pa, u32 run)
{
    unsigned long *had = r->had;
    struct shadow_log l;
    u64 x;

    if (vmx_vmclear(pa) != VMX_OK || vmx_vmptrld(pa) != VMX_OK)
        return outcome_fail(o, "VMPTRLD of the shadow VMCS failed"), false;
    for (u32 i = 0; i < sf_n; i++) /* a read-only field may refuse */
        vmw_safe(sf_fields[i], SF_PRESET(sf_fields[i]));
    for (u32 i = 0; i < sf_n; i++) /* after all: a high access changes its full field */
        had[i] = vmr_safe(sf_fields[i], &x) == VMX_OK ? (unsigned long)x : 0;
    if (vmx_vmclear(pa) != VMX_OK)
        return outcome_fail(o, "VMCLEAR of the shadow VMCS failed"), false;
    struct vcpu *v = shadow_guest(o, &l, pa);
    if (!v)
        return false;
    memset(r, 0, offsetof(struct sf_run, had));
    vmw(VMREAD_BITMAP, (uintptr_t)sf_bitmaps + 2 * run * PAGE_SIZE);
    vmw(VMWRITE_BITMAP, (uintptr_t)sf_bitmaps + (2 * run + 1) * PAGE_SIZE);
    v->hook = sf_hook;
    v->test_data = r;
    if (!test_guest_run(o, v, sf_guest, r))
        return false;
    bool any = vmx_caps.misc & VMX_MISC_VMWRITE_ANY;
    for (u32 i = 0; i < sf_n; i++) {
        u32 enc = sf_fields[i], rd = ((enc >> 1) ^ run) & 1, wr = ((enc >> 2) ^ run) & 1;
        u32 w = sf_n + 2 * i;
        bool refused = !wr && ((enc >> 10) & 3) == 1 && !any;
        unsigned long now = wr || refused ? had[i] : sf_kept(enc, SF_WRITTEN(enc));
        if (r->exit[i] != (rd ? EXIT_REASON_VMREAD : 0) || r->status[i] != VMX_OK ||
            r->value[i] != (rd ? SHADOW_EXIT_ANSWER : had[i]) ||
            r->exit[w] != (wr ? EXIT_REASON_VMWRITE : 0) ||
            r->status[w] != (refused ? VMX_FAIL_VALID : VMX_OK) ||
            r->exit[w + 1] != (rd ? EXIT_REASON_VMREAD : 0) || r->status[w + 1] != VMX_OK ||
            r->value[sf_n + i] != (rd ? SHADOW_EXIT_ANSWER : now))
            return outcome_fail(o, "field 0x%x (run %u): VMREAD exit %u status %u 0x%lx, VMWRITE "
                                "exit %u status %u, VMREAD exit %u 0x%lx; the host's 0x%lx", enc,
                                run, r->exit[i], r->status[i], r->value[i], r->exit[w],
                                r->status[w], r->exit[w + 1], r->value[sf_n + i], had[i]), false;
    }
    return true;
}

static void check_shadowing(struct cpu_outcome *o, void *arg)
{
    struct shadow_log l;
    u64 pa;
    (void)arg;

    if (vmx_caps.present && !vmx_has_proc2(CPU2_VMCS_SHADOWING)) {
        outcome_skip(o, "no VMCS shadowing (IA32_VMX_PROCBASED_CTLS2 bit 14)");
        return;
    }
    if (vmx_unavailable()) {
        outcome_skip(o, "%s", vmx_unavailable());
        return;
    }
    if (!shadow_fill(o, &pa))
        return;
    struct vcpu *v = shadow_guest(o, &l, pa);
    if (!v || !test_guest_run(o, v, guest_shadow, &l))
        return;
    for (u32 i = 0; i < SHADOW_OPS; i++)
        if (!shadow_check_op(o, &l, i))
            return;
    if (!shadow_check_info(o, &l) || !shadow_check_region(o, pa, (uintptr_t)v->vmcs))
        return;
    if (!shadow_check_plain_link(o, &l))
        return;
    if (!CHECK(o, sf_n > 0))
        return;
    static struct sf_run *runs[LHV_MAX_CPUS];
    struct sf_run **r = &runs[this_cpu()->index];
    if (!*r)
        *r = alloc_pages(2);
    if (sf_run(o, *r, pa, 0))
        sf_run(o, *r, pa, 1);
}

VMX_TEST_ALL_CPUS_AFTER("vmx/multi-vmcs-shadowing", shadow_prepare, check_shadowing);
