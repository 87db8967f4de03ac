/* The host's segment and descriptor-table registers after a VM exit (SDM
 * 3C 28.5.2 "Loading Host Segment and Descriptor-Table Registers"): the
 * selectors come from the host-state selector fields, the FS and GS bases,
 * TR base, GDTR and IDTR bases from their host fields, the GDTR and IDTR
 * limits become FFFFH, and the LDTR is cleared to selector 0 and marked
 * unusable. The guest runs with other selectors, table limits and an LDT of
 * its own, so a register an exit failed to load would keep the guest's
 * value. */
#include "catch.h"
#include "cpu.h"
#include "desc.h"
#include "suite/vmx_test.h"
#include "x86.h"

/* What the host's registers hold right after the exit */
struct hs_seen {
    u16 cs, ss, ds, es, fs, tr, ldtr;
    struct table_ptr gdtr, idtr;
    u32 fs_read; /* fs:hs_words[0] */
    bool seen;
};

#define HS_LEAF 0x48534547u    /* the CPUID leaf whose exit the hook reads at */
#define HS_WORD0 0x5e9a0000u   /* at fs:0 + &hs_words[0] when FS.base is 0 */
#define HS_WORD1 0x5e9a0001u   /* ... when FS.base is 4, the host field */
static const u32 hs_words[2] = {HS_WORD0, HS_WORD1};

#define HS_READ_SEG(reg)                                         \
    ({                                                           \
        u16 sel_;                                                \
        __asm__ volatile("mov %%" reg ", %0" : "=r"(sel_));      \
        sel_;                                                    \
    })

static void hs_guest(void *arg)
{
    u32 a = HS_LEAF, b, c = 0, d;
    (void)arg;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
}

/* At the guest's CPUID: the host state as the exit left it, before any
 * host code reloads a register */
static enum exit_action hs_hook(struct vcpu *v, u32 reason)
{
    struct hs_seen *s = v->test_data;
    u16 sel;

    if (reason != EXIT_REASON_CPUID || (u32)REG_AX(v) != HS_LEAF)
        return EXIT_DEFAULT;
    s->cs = HS_READ_SEG("cs");
    s->ss = HS_READ_SEG("ss");
    s->ds = HS_READ_SEG("ds");
    s->es = HS_READ_SEG("es");
    s->fs = HS_READ_SEG("fs");
    __asm__ volatile("str %0" : "=r"(sel));
    s->tr = sel;
    __asm__ volatile("sldt %0" : "=r"(sel));
    s->ldtr = sel;
    __asm__ volatile("sgdt %0" : "=m"(s->gdtr));
    __asm__ volatile("sidt %0" : "=m"(s->idtr));
    __asm__ volatile("movl %%fs:(%1), %0" : "=r"(s->fs_read) : "r"(&hs_words[0]));
    s->seen = true;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The guest's DS, ES and FS: the ring-3 data segment (loadable at CPL 0) */
static void hs_guest_segments(void)
{
    u32 ar = AR_PRESENT | AR_S | AR_TYPE_DATA_RW_ACCESSED | AR_DPL3 | AR_DB | AR_G;
    vmcs_guest_segment(GUEST_DS_SELECTOR, SEL_UDATA, 0, 0xffffffff, ar);
    vmcs_guest_segment(GUEST_ES_SELECTOR, SEL_UDATA, 0, 0xffffffff, ar);
    vmcs_guest_segment(GUEST_FS_SELECTOR, SEL_UDATA, 0, 0xffffffff, ar);
}

static void hs_check(struct cpu_outcome *o, const struct hs_seen *s)
{
    if (!CHECK(o, s->seen) || !CHECK_EQ(o, s->cs, vmr(HOST_CS_SELECTOR)) ||
        !CHECK_EQ(o, s->ss, vmr(HOST_SS_SELECTOR)) || !CHECK_EQ(o, s->ds, vmr(HOST_DS_SELECTOR)) ||
        !CHECK_EQ(o, s->es, vmr(HOST_ES_SELECTOR)) || !CHECK_EQ(o, s->fs, vmr(HOST_FS_SELECTOR)) ||
        !CHECK_EQ(o, s->tr, vmr(HOST_TR_SELECTOR)) || !CHECK_EQ(o, s->ldtr, 0) ||
        !CHECK_EQ(o, s->gdtr.base, vmr(HOST_GDTR_BASE)) || !CHECK_EQ(o, s->gdtr.limit, 0xffff) ||
        !CHECK_EQ(o, s->idtr.base, vmr(HOST_IDTR_BASE)) || !CHECK_EQ(o, s->idtr.limit, 0xffff))
        return;
    CHECK_EQ(o, s->fs_read, HS_WORD1);
}

static void check_host_segments(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    struct hs_seen s = {0};
    (void)arg;

    if (!v)
        return;
    hs_guest_segments();
    /* FS.base 4 on the host: fs:&hs_words[0] reads hs_words[1] */
    vmw(HOST_FS_BASE, sizeof(hs_words[0]));
    v->hook = hs_hook;
    v->test_data = &s;
    bool ran = test_guest_run(o, v, hs_guest, NULL);
    /* Every exit loaded FS.base 4: LHV's own host FS base back */
#ifdef __x86_64__
    wrmsr(MSR_IA32_FS_BASE, 0);
#else
    __asm__ volatile("mov %0, %%fs" : : "r"((u32)SEL_KDATA));
#endif
    if (ran)
        hs_check(o, &s);
}
VMX_TEST_ALL_CPUS("vmx/host-segments-after-exit", check_host_segments);

/* vmx/ldtr-after-exit: the guest runs with an LDT (one data segment, based
 * at ld_magic) and loads FS from it; after the exit the host's LDTR is
 * selector 0 and unusable, so the same load faults (#GP, SDM 3A 5.4.1). */
#define LD_SELECTOR 0x50u      /* the guest's LDTR selector: GDT slot 10, TI 0 */
#define LD_DATA_SEL 0x4u       /* slot 0 of the LDT, TI 1, RPL 0 */
#define LD_MAGIC 0x1d7f0a5eu

static const u32 ld_magic = LD_MAGIC;
static u64 ld_table[1] __attribute__((aligned(8)));

struct ld_run {
    u16 guest_ldtr;
    u32 guest_read;
};

static void ld_guest(void *arg)
{
    struct ld_run *r = arg;
    u16 sel, fs;

    __asm__ volatile("sldt %0" : "=r"(sel));
    r->guest_ldtr = sel;
    __asm__ volatile("mov %%fs, %1\n\t"
                     "mov %2, %%fs\n\t"
                     "movl %%fs:0, %0\n\t"
                     "mov %1, %%fs"
                     : "=&r"(r->guest_read), "=&r"(fs)
                     : "r"((u32)LD_DATA_SEL));
}

static void ld_load_fs(void *arg)
{
    (void)arg;
    __asm__ volatile("mov %0, %%fs" : : "r"((u32)LD_DATA_SEL));
}

static void ld_prepare(void)
{
    /* present, ring 0, data read/write accessed, byte granular, 32-bit */
    ld_table[0] = seg_desc((uintptr_t)&ld_magic, sizeof(ld_magic) - 1,
                           AR_PRESENT | AR_S | AR_TYPE_DATA_RW_ACCESSED, AR_DB >> 12);
}

static void check_ldtr(struct cpu_outcome *o, void *arg)
{
    struct vcpu *v = test_guest(o);
    struct ld_run r = {0};
    struct caught c;
    u16 host_ldtr;
    (void)arg;

    if (!v)
        return;
    vmcs_guest_segment(GUEST_LDTR_SELECTOR, LD_SELECTOR, (uintptr_t)ld_table,
                       sizeof(ld_table) - 1, AR_PRESENT | AR_TYPE_LDT);
    if (!test_guest_run(o, v, ld_guest, &r) || !CHECK_EQ(o, r.guest_ldtr, LD_SELECTOR) ||
        !CHECK_EQ(o, r.guest_read, LD_MAGIC))
        return;
    __asm__ volatile("sldt %0" : "=r"(host_ldtr));
    if (!CHECK_EQ(o, host_ldtr, 0))
        return;
    int vector = catch_exception(ld_load_fs, NULL, &c);
    if (CHECK_EQ(o, vector, VEC_GP))
        CHECK_EQ(o, c.error_code, LD_DATA_SEL & ~3u);
}
VMX_TEST_ALL_CPUS_AFTER("vmx/ldtr-after-exit", ld_prepare, check_ldtr);
