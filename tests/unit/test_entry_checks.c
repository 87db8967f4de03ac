/* Unit tests of the VM-entry check model (lhv/vmx/entry_checks.c).
 *
 * The model's table drives them: every check id in ecm_checks[] must have
 * a case below, and each case builds a valid state in which the check's
 * precondition is active (the model must predict entry, with no check
 * failing), then breaks that one rule (the model must predict the check's
 * own outcome, with that check and no other failing). A check without a
 * case, or a case without a check, fails test_every_check_has_a_case.
 *
 * Then the rows of lhv/suite/vmx/entry/ (controls.c ... msr_load.c; the
 * outcomes Bochs gives and the SDM names) are replayed through the model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "vmx/entry_checks.h"
#include "x86.h"

/* --- a test CPU: every feature the checks name, a 39-bit physical width --- */

#define MEM_BASE 0x100000ull
#define MEM_PAGES 40
static uint8_t mem[MEM_PAGES][4096];

static uint64_t page(int n) { return MEM_BASE + 4096ull * n; }
enum {
    PG_IO_A,
    PG_IO_B,
    PG_MSR_BITMAP,
    PG_VAPIC,
    PG_APIC_ACCESS,
    PG_PI_DESC,
    PG_PDPT,
    PG_EXIT_STORE,
    PG_EXIT_LOAD,
    PG_VMREAD,
    PG_VMWRITE,
    PG_VE,
    PG_PML,
    PG_EPTP_LIST,
    PG_SPP,
    PG_LINK,
    PG_EPT,
    PG_ENTRY_LOAD /* 32 pages: 2048 entries */
};

static bool mem_read(const void *ctx, u64 pa, void *buf, u32 len)
{
    (void)ctx;
    if (pa < MEM_BASE || pa + len > MEM_BASE + sizeof(mem))
        return false;
    memcpy(buf, &mem[0][0] + (pa - MEM_BASE), len);
    return true;
}

static void *mem_at(uint64_t pa) { return &mem[0][0] + (pa - MEM_BASE); }

static bool canonical48(u64 a) { return (a >> 47) == 0 || (a >> 47) == 0x1ffff; }

/* WRMSR at CPL 0 on the test CPU: the MSRs it has, with their #GP rules;
 * the MSRs the other 27.4 rules name are writable here so that those rules
 * can be broken alone */
static bool wrmsr_ok(const void *ctx, u32 msr, u64 value)
{
    (void)ctx;
    switch (msr) {
    case 0x174:
    case 0x9b:
    case 0x9e:
    case 0x808:
    case 0xc0000100:
    case 0xc0000101:
        return true;
    case 0x175:
    case 0x176:
    case 0xc0000102:
        return canonical48(value);
    case 0x277:
        for (int i = 0; i < 8; i++) {
            uint8_t t = (uint8_t)(value >> (8 * i));
            if (t == 2 || t == 3 || t > 7)
                return false;
        }
        return true;
    default:
        return false;
    }
}

struct st {
    struct ecm_vmcs v;
    struct ecm_caps k;
    struct ecm_cpu cpu;
};

static void caps_init(struct st *s)
{
    s->k.basic = 0x12 | (1ull << 32 << 12) /* 4 KiB region */ | (6ull << 50) | (1ull << 55);
    s->k.pin = 0x16 | (0xffull << 32);
    s->k.proc = 0x04006172ull | (0xfff9fffeull << 32);
    s->k.proc2 = 0x01ffffffull << 32;
    s->k.exit = 0x00036dfbull | (0x03ffffffull << 32);
    s->k.entry = 0x000011fbull | (0x007fffffull << 32);
    s->k.misc = (4ull << 16) | (7ull << 6);
    s->k.cr0_fixed0 = 0x80000021;
    s->k.cr0_fixed1 = 0xffffffff;
    s->k.cr4_fixed0 = 0x2000;
    s->k.cr4_fixed1 = 0x00ffffff;
    s->k.ept_vpid = (1ull << 6) | (1ull << 8) | (1ull << 14) | (1ull << 21);
    s->k.vmfunc = 1;
    s->cpu.maxphyaddr = 39;
    s->cpu.linear_bits = 48;
    s->cpu.intel64 = true;
    s->cpu.rtm = s->cpu.sgx = s->cpu.cet_ss = s->cpu.cet = true;
    s->cpu.efer_valid = 0xd01;
    s->cpu.debugctl_valid = 0xffc3;
    s->cpu.perf_global_valid = 0x70000000full;
    s->cpu.read = mem_read;
    s->cpu.wrmsr_ok = wrmsr_ok;
}

static void put(struct st *s, u32 f, u64 v) { ecm_put(&s->v, f, v); }
static u64 get(struct st *s, u32 f) { return ecm_get(&s->v, f); }
static void set(struct st *s, u32 f, u64 bits) { put(s, f, get(s, f) | bits); }
static void clr(struct st *s, u32 f, u64 bits) { put(s, f, get(s, f) & ~bits); }
static void seg(struct st *s, u32 sel_field, u64 sel, u64 base, u64 limit, u64 ar)
{
    u32 n = sel_field - GUEST_ES_SELECTOR;
    put(s, sel_field, sel);
    put(s, GUEST_ES_BASE + n, base);
    put(s, GUEST_ES_LIMIT + n, limit);
    put(s, GUEST_ES_AR_BYTES + n, ar);
}
static void ar_set(struct st *s, u32 sel_field, u64 bits)
{
    set(s, GUEST_ES_AR_BYTES + (sel_field - GUEST_ES_SELECTOR), bits);
}
static void ar_clr(struct st *s, u32 sel_field, u64 bits)
{
    clr(s, GUEST_ES_AR_BYTES + (sel_field - GUEST_ES_SELECTOR), bits);
}

/* The host part, 64-bit host (in IA-32e mode) unless host32 */
static void host_init(struct st *s, bool host32)
{
    s->cpu.ia32e = !host32;
    put(s, HOST_CR0, 0x80050033);
    put(s, HOST_CR3, 0x1000);
    put(s, HOST_CR4, 0x2020);
    put(s, HOST_CS_SELECTOR, 0x08);
    put(s, HOST_SS_SELECTOR, 0x10);
    put(s, HOST_DS_SELECTOR, 0x10);
    put(s, HOST_ES_SELECTOR, 0x10);
    put(s, HOST_FS_SELECTOR, 0x10);
    put(s, HOST_GS_SELECTOR, 0x10);
    put(s, HOST_TR_SELECTOR, 0x18);
    put(s, HOST_TR_BASE, 0x3000);
    put(s, HOST_GDTR_BASE, 0x4000);
    put(s, HOST_IDTR_BASE, 0x5000);
    put(s, HOST_RIP, 0x101000);
    put(s, HOST_RSP, 0x108000);
    put(s, PIN_BASED_VM_EXEC_CONTROL, 0x16);
    put(s, CPU_BASED_VM_EXEC_CONTROL, 0x04006172 | CPU_ACTIVATE_SECONDARY_CONTROLS);
    put(s, SECONDARY_VM_EXEC_CONTROL, 0);
    put(s, VM_EXIT_CONTROLS, 0x36dfb | (host32 ? 0 : EXIT_HOST_ADDRESS_SPACE_SIZE));
    put(s, VM_ENTRY_CONTROLS, 0x11fb);
    put(s, VMCS_LINK_POINTER, ~0ull);
}

static void fresh(struct st *s)
{
    memset(s, 0, sizeof(*s));
    memset(mem, 0, sizeof(mem));
    caps_init(s);
}

static void guest_common(struct st *s)
{
    put(s, GUEST_DR7, 0x400);
    put(s, GUEST_RFLAGS, 0x2);
    put(s, GUEST_RIP, 0x100000);
    put(s, GUEST_RSP, 0x10f000);
    seg(s, GUEST_LDTR_SELECTOR, 0, 0, 0, 0x10000);
    seg(s, GUEST_TR_SELECTOR, 0x18, 0x3000, 0x67, 0x8b);
    put(s, GUEST_GDTR_BASE, 0x4000);
    put(s, GUEST_GDTR_LIMIT, 0x27);
    put(s, GUEST_IDTR_BASE, 0x5000);
    put(s, GUEST_IDTR_LIMIT, 0xfff);
}

static void flat(struct st *s, u64 code_ar)
{
    seg(s, GUEST_CS_SELECTOR, 0x08, 0, 0xffffffff, code_ar);
    seg(s, GUEST_SS_SELECTOR, 0x10, 0, 0xffffffff, 0xc093);
    seg(s, GUEST_DS_SELECTOR, 0x10, 0, 0xffffffff, 0xc093);
    seg(s, GUEST_ES_SELECTOR, 0x10, 0, 0xffffffff, 0xc093);
    seg(s, GUEST_FS_SELECTOR, 0x10, 0, 0xffffffff, 0xc093);
    seg(s, GUEST_GS_SELECTOR, 0x10, 0, 0xffffffff, 0xc093);
}

/* A 64-bit guest on a 64-bit host (LHV's amd64 test guest) */
static void b64(struct st *s)
{
    fresh(s);
    host_init(s, false);
    guest_common(s);
    set(s, VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST);
    put(s, GUEST_CR0, 0x80050033);
    put(s, GUEST_CR3, 0x2000);
    put(s, GUEST_CR4, 0x2020);
    flat(s, 0xa09b);
}

/* A 32-bit PAE guest on a 32-bit host (LHV's i386 test guest): its PDPTEs
 * are read from memory at CR3 */
static void b32(struct st *s)
{
    fresh(s);
    host_init(s, true);
    guest_common(s);
    put(s, GUEST_CR0, 0x80000031);
    put(s, GUEST_CR3, page(PG_PDPT));
    put(s, GUEST_CR4, 0x2020);
    flat(s, 0xc09b);
    u64 *pdpt = mem_at(page(PG_PDPT));
    for (int i = 0; i < 4; i++)
        pdpt[i] = 0x200000ull * i + 0x10001;
}

static void ept_on(struct st *s)
{
    set(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT);
    put(s, EPT_POINTER, page(PG_EPT) | 6 | (3 << 3));
}

static void sec(struct st *s, u32 bits) { set(s, SECONDARY_VM_EXEC_CONTROL, bits); }

/* A real-mode guest with unrestricted guest (EPT on), 64-bit host */
static void breal(struct st *s)
{
    fresh(s);
    host_init(s, false);
    guest_common(s);
    ept_on(s);
    sec(s, CPU2_UNRESTRICTED_GUEST);
    put(s, GUEST_CR0, 0x30);
    put(s, GUEST_CR4, 0x2000);
    seg(s, GUEST_CS_SELECTOR, 0, 0, 0xffff, 0x9b);
    seg(s, GUEST_SS_SELECTOR, 0, 0, 0xffff, 0x93);
    seg(s, GUEST_DS_SELECTOR, 0, 0, 0xffff, 0x93);
    seg(s, GUEST_ES_SELECTOR, 0, 0, 0xffff, 0x93);
    seg(s, GUEST_FS_SELECTOR, 0, 0, 0xffff, 0x93);
    seg(s, GUEST_GS_SELECTOR, 0, 0, 0xffff, 0x93);
    put(s, GUEST_RIP, 0x7c00);
}

/* A virtual-8086 guest (protected mode without paging: unrestricted guest) */
static void bv86(struct st *s)
{
    fresh(s);
    host_init(s, false);
    guest_common(s);
    ept_on(s);
    sec(s, CPU2_UNRESTRICTED_GUEST);
    put(s, GUEST_CR0, 0x31);
    put(s, GUEST_CR4, 0x2000);
    put(s, GUEST_RFLAGS, 0x20002);
    for (u32 f = GUEST_ES_SELECTOR; f <= GUEST_GS_SELECTOR; f += 2)
        seg(s, f, 0x1000, 0x10000, 0xffff, 0xf3);
    put(s, GUEST_RIP, 0x100);
}

/* --- building blocks of the cases --------------------------------------- */

static void tpr_shadow(struct st *s)
{
    set(s, CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TPR_SHADOW);
    put(s, VIRTUAL_APIC_PAGE_ADDR, page(PG_VAPIC));
    put(s, TPR_THRESHOLD, 0);
}

static void posted(struct st *s)
{
    tpr_shadow(s);
    sec(s, 1u << 9);
    set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_EXTERNAL_INTERRUPT_EXITING | (1u << 7));
    set(s, VM_EXIT_CONTROLS, EXIT_ACK_INTERRUPT_ON_EXIT);
    put(s, ECM_POSTED_INTR_NV, 0xf2);
    put(s, ECM_POSTED_INTR_DESC, page(PG_PI_DESC));
}

static void inject(struct st *s, u32 type, u32 vec, bool code)
{
    put(s, VM_ENTRY_INTR_INFO_FIELD, 0x80000000u | type << 8 | vec | (code ? 1u << 11 : 0));
}

static void ext_int(struct st *s)
{
    set(s, GUEST_RFLAGS, 1u << 9);
    inject(s, 0, 0x20, false);
}

struct msr_entry {
    u32 index, reserved;
    u64 value;
};

static struct msr_entry *entry_load(struct st *s, u32 count)
{
    struct msr_entry *e = mem_at(page(PG_ENTRY_LOAD));
    for (u32 i = 0; i < count; i++)
        e[i] = (struct msr_entry){0x175, 0, 0};
    put(s, VM_ENTRY_MSR_LOAD_ADDR, page(PG_ENTRY_LOAD));
    put(s, VM_ENTRY_MSR_LOAD_COUNT, count);
    return e;
}

static void usable_ldtr(struct st *s) { seg(s, GUEST_LDTR_SELECTOR, 0x20, 0x6000, 0xffff, 0x82); }

static void link_vmcs(struct st *s)
{
    put(s, VMCS_LINK_POINTER, page(PG_LINK));
    *(u32 *)mem_at(page(PG_LINK)) = (u32)(s->k.basic & 0x7fffffff);
}

static void ug64(struct st *s)
{
    ept_on(s);
    sec(s, CPU2_UNRESTRICTED_GUEST);
}

/* --- one case per check -------------------------------------------------- */

/* A case builds the valid state and, when brk, breaks its check alone.
 * qual: the exit qualification of an MSR-loading failure (the entry). */
struct ec_case {
    const char *id;
    void (*fn)(struct st *s, bool brk);
    u32 qual;
};

#define CASE(name, base, prep, brk_) \
    static void case_##name(struct st *s, bool brk) \
    { \
        base(s); \
        prep; \
        if (brk) { \
            brk_; \
        } \
    }
#define NOP (void)0
#define NC (1ull << 47) /* not canonical with 48 linear-address bits */

CASE(movss, b64, NOP, s->cpu.movss_blocking = true)
CASE(launch_clear, b64, NOP, s->cpu.launched = true)
CASE(launch_launched, b64, (s->cpu.vmresume = s->cpu.launched = true), s->cpu.launched = false)

CASE(pin, b64, NOP, clr(s, PIN_BASED_VM_EXEC_CONTROL, 2))
CASE(proc, b64, NOP, set(s, CPU_BASED_VM_EXEC_CONTROL, 1u << 17))
CASE(proc2, b64, NOP, sec(s, 1u << 30))
CASE(cr3_count, b64, put(s, CR3_TARGET_COUNT, 4), put(s, CR3_TARGET_COUNT, 5))
#define IO_PREP \
    (set(s, CPU_BASED_VM_EXEC_CONTROL, CPU_USE_IO_BITMAPS), put(s, IO_BITMAP_A, page(PG_IO_A)), \
     put(s, IO_BITMAP_B, page(PG_IO_B)))
CASE(io_a, b64, IO_PREP, set(s, IO_BITMAP_A, 0x800))
CASE(io_b, b64, IO_PREP, put(s, IO_BITMAP_B, 1ull << 39))
CASE(msr_bitmap, b64,
     (set(s, CPU_BASED_VM_EXEC_CONTROL, CPU_USE_MSR_BITMAPS),
      put(s, MSR_BITMAP, page(PG_MSR_BITMAP))),
     set(s, MSR_BITMAP, 0x10))
CASE(vapic, b64, tpr_shadow(s), set(s, VIRTUAL_APIC_PAGE_ADDR, 0x400))
CASE(tpr_rsvd, b64, tpr_shadow(s), put(s, TPR_THRESHOLD, 0x10))
CASE(tpr_vtpr, b64,
     (tpr_shadow(s), put(s, TPR_THRESHOLD, 1), ((u8 *)mem_at(page(PG_VAPIC)))[0x80] = 0x10),
     ((u8 *)mem_at(page(PG_VAPIC)))[0x80] = 0x00)
CASE(tpr_needed, b64, (tpr_shadow(s), sec(s, 1u << 4)),
     clr(s, CPU_BASED_VM_EXEC_CONTROL, CPU_USE_TPR_SHADOW))
CASE(vnmi, b64, set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS),
     clr(s, PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING))
CASE(nmi_window, b64,
     (set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS),
      set(s, CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING)),
     clr(s, PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS))
CASE(apic_access, b64, (sec(s, 1), put(s, ECM_APIC_ACCESS_ADDR, page(PG_APIC_ACCESS))),
     set(s, ECM_APIC_ACCESS_ADDR, 1))
CASE(x2apic, b64, (tpr_shadow(s), sec(s, 1u << 4)),
     (sec(s, 1), put(s, ECM_APIC_ACCESS_ADDR, page(PG_APIC_ACCESS))))
CASE(vid, b64,
     (tpr_shadow(s), sec(s, 1u << 9),
      set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_EXTERNAL_INTERRUPT_EXITING)),
     clr(s, PIN_BASED_VM_EXEC_CONTROL, PIN_EXTERNAL_INTERRUPT_EXITING))
CASE(pi_vid, b64, posted(s), clr(s, SECONDARY_VM_EXEC_CONTROL, 1u << 9))
CASE(pi_ack, b64, posted(s), clr(s, VM_EXIT_CONTROLS, EXIT_ACK_INTERRUPT_ON_EXIT))
CASE(pi_vector, b64, posted(s), put(s, ECM_POSTED_INTR_NV, 0x1f2))
CASE(pi_desc, b64, posted(s), set(s, ECM_POSTED_INTR_DESC, 0x20))
CASE(vpid, b64, (sec(s, CPU2_ENABLE_VPID), put(s, VIRTUAL_PROCESSOR_ID, 1)),
     put(s, VIRTUAL_PROCESSOR_ID, 0))
CASE(eptp_memtype, b64, ept_on(s), put(s, EPT_POINTER, page(PG_EPT) | 1 | (3 << 3)))
CASE(eptp_walk, b64, ept_on(s), put(s, EPT_POINTER, page(PG_EPT) | 6 | (4 << 3)))
CASE(eptp_ad, b64, (ept_on(s), set(s, EPT_POINTER, 1u << 6)), s->k.ept_vpid &= ~(1ull << 21))
CASE(eptp_sss, b64, (ept_on(s), set(s, EPT_POINTER, 1u << 7)), s->cpu.cet_ss = false)
CASE(eptp_rsvd, b64, ept_on(s), set(s, EPT_POINTER, 1u << 8))
CASE(pml_ept, b64, (ept_on(s), sec(s, 1u << 17), put(s, ECM_PML_ADDRESS, page(PG_PML))),
     clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(pml_addr, b64, (ept_on(s), sec(s, 1u << 17), put(s, ECM_PML_ADDRESS, page(PG_PML))),
     set(s, ECM_PML_ADDRESS, 0x100))
CASE(ug_ept, b64, ug64(s), clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(mbec, b64, (ept_on(s), sec(s, 1u << 22)), clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(spp_ept, b64, (ept_on(s), sec(s, 1u << 23), put(s, ECM_SPPTP, page(PG_SPP))),
     clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(spp_addr, b64, (ept_on(s), sec(s, 1u << 23), put(s, ECM_SPPTP, page(PG_SPP))),
     set(s, ECM_SPPTP, 1ull << 40))
#define PT_PREP \
    (ept_on(s), sec(s, 1u << 24), set(s, VM_EXIT_CONTROLS, 1u << 25), \
     set(s, VM_ENTRY_CONTROLS, 1u << 18))
CASE(pt_ept, b64, PT_PREP, clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(pt_rtit, b64, PT_PREP, clr(s, VM_EXIT_CONTROLS, 1u << 25))
CASE(vmfunc_allowed, b64, sec(s, CPU2_ENABLE_VMFUNC), put(s, ECM_VM_FUNCTION_CONTROL, 2))
#define VMFUNC_PREP \
    (ept_on(s), sec(s, CPU2_ENABLE_VMFUNC), put(s, ECM_VM_FUNCTION_CONTROL, 1), \
     put(s, ECM_EPTP_LIST_ADDR, page(PG_EPTP_LIST)))
CASE(vmfunc_ept, b64, VMFUNC_PREP, clr(s, SECONDARY_VM_EXEC_CONTROL, CPU2_ENABLE_EPT))
CASE(vmfunc_list, b64, VMFUNC_PREP, set(s, ECM_EPTP_LIST_ADDR, 8))
#define SHADOW_PREP \
    (sec(s, CPU2_VMCS_SHADOWING), put(s, VMREAD_BITMAP, page(PG_VMREAD)), \
     put(s, VMWRITE_BITMAP, page(PG_VMWRITE)))
CASE(vmread, b64, SHADOW_PREP, set(s, VMREAD_BITMAP, 1))
CASE(vmwrite, b64, SHADOW_PREP, put(s, VMWRITE_BITMAP, 1ull << 39))
CASE(ve, b64, (ept_on(s), sec(s, 1u << 18), put(s, ECM_VE_INFO_ADDR, page(PG_VE))),
     set(s, ECM_VE_INFO_ADDR, 0x800))
CASE(exit_allowed, b64, NOP, clr(s, VM_EXIT_CONTROLS, 1))
CASE(exit_timer, b64,
     (set(s, PIN_BASED_VM_EXEC_CONTROL, 1u << 6),
      set(s, VM_EXIT_CONTROLS, EXIT_SAVE_PREEMPTION_TIMER)),
     clr(s, PIN_BASED_VM_EXEC_CONTROL, 1u << 6))
CASE(exit_store, b64,
     (put(s, VM_EXIT_MSR_STORE_ADDR, page(PG_EXIT_STORE)), put(s, VM_EXIT_MSR_STORE_COUNT, 1)),
     set(s, VM_EXIT_MSR_STORE_ADDR, 8))
/* first byte within the width, last byte beyond it */
CASE(exit_load, b64,
     (put(s, VM_EXIT_MSR_LOAD_ADDR, page(PG_EXIT_LOAD)), put(s, VM_EXIT_MSR_LOAD_COUNT, 2)),
     put(s, VM_EXIT_MSR_LOAD_ADDR, (1ull << 39) - 16))
CASE(entry_allowed, b64, NOP, clr(s, VM_ENTRY_CONTROLS, 1))
CASE(entry_smm, b64, NOP, set(s, VM_ENTRY_CONTROLS, 1u << 10))
CASE(entry_dual, b64, NOP, set(s, VM_ENTRY_CONTROLS, 1u << 11))
CASE(inj_type, b64, ext_int(s), inject(s, 1, 0x20, false))
CASE(inj_vector, b64, inject(s, 2, 2, false), inject(s, 2, 3, false))
CASE(inj_errcode, b64, inject(s, 3, 13, true), inject(s, 3, 13, false))
/* #CP (21) delivers an error code where CET exists, and not before it */
CASE(inj_errcode_cp, b64, inject(s, 3, 21, true), inject(s, 3, 21, false))
CASE(inj_errcode_no_cet, b64, (s->cpu.cet = false, inject(s, 3, 21, false)), s->cpu.cet = true)
CASE(inj_rsvd, b64, ext_int(s), set(s, VM_ENTRY_INTR_INFO_FIELD, 1u << 12))
CASE(inj_code_high, b64, (inject(s, 3, 13, true), put(s, VM_ENTRY_EXCEPTION_ERROR_CODE, 0xffff)),
     put(s, VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000))
CASE(inj_length, b64, (inject(s, 4, 0x30, false), put(s, VM_ENTRY_INSTRUCTION_LEN, 2)),
     put(s, VM_ENTRY_INSTRUCTION_LEN, 0))
CASE(entry_load, b64, entry_load(s, 1), set(s, VM_ENTRY_MSR_LOAD_ADDR, 4))

CASE(h_cr0, b64, NOP, clr(s, HOST_CR0, 0x20))
CASE(h_cr4, b64, NOP, set(s, HOST_CR4, 1u << 24))
CASE(h_cet_wp, b64, set(s, HOST_CR4, 1u << 23), clr(s, HOST_CR0, 1u << 16))
CASE(h_cr3, b64, NOP, set(s, HOST_CR3, 1ull << 39))
CASE(h_sysenter_esp, b64, NOP, put(s, HOST_IA32_SYSENTER_ESP, NC))
CASE(h_sysenter_eip, b64, NOP, put(s, HOST_IA32_SYSENTER_EIP, NC))
CASE(h_perf, b64, (set(s, VM_EXIT_CONTROLS, 1u << 12), put(s, ECM_HOST_PERF_GLOBAL_CTRL, 1)),
     put(s, ECM_HOST_PERF_GLOBAL_CTRL, 1u << 4))
CASE(h_pat, b64,
     (set(s, VM_EXIT_CONTROLS, EXIT_LOAD_IA32_PAT), put(s, HOST_IA32_PAT, 0x0007040600070406ull)),
     put(s, HOST_IA32_PAT, 0x0007040600070402ull))
#define HEFER_PREP (set(s, VM_EXIT_CONTROLS, EXIT_LOAD_IA32_EFER), put(s, HOST_IA32_EFER, 0xd01))
CASE(h_efer_rsvd, b64, HEFER_PREP, set(s, HOST_IA32_EFER, 2))
CASE(h_efer_lma, b64, HEFER_PREP, clr(s, HOST_IA32_EFER, 1u << 10))
CASE(h_efer_lme, b64, HEFER_PREP, clr(s, HOST_IA32_EFER, 1u << 8))
CASE(h_sel, b64, NOP, set(s, HOST_DS_SELECTOR, 4))
CASE(h_cs, b64, NOP, put(s, HOST_CS_SELECTOR, 0))
CASE(h_tr, b64, NOP, put(s, HOST_TR_SELECTOR, 0))
CASE(h_ss, b32, NOP, put(s, HOST_SS_SELECTOR, 0))
CASE(h_fs_base, b64, NOP, put(s, HOST_FS_BASE, NC))
CASE(h_gs_base, b64, NOP, put(s, HOST_GS_BASE, NC))
CASE(h_gdtr_base, b64, NOP, put(s, HOST_GDTR_BASE, NC))
CASE(h_idtr_base, b64, NOP, put(s, HOST_IDTR_BASE, NC))
CASE(h_tr_base, b64, NOP, put(s, HOST_TR_BASE, NC))
CASE(as_outside, b32, NOP, set(s, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE))
CASE(as_inside, breal, NOP, clr(s, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE))
CASE(as0_guest, b32, NOP, set(s, VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST))
CASE(as0_pcide, b32, NOP, set(s, HOST_CR4, 1u << 17))
CASE(as0_rip, b32, NOP, put(s, HOST_RIP, 1ull << 32))
CASE(as1_pae, b64, NOP, clr(s, HOST_CR4, 1u << 5))
CASE(as1_rip, b64, NOP, put(s, HOST_RIP, NC))

CASE(g_cr0, b64, NOP, clr(s, GUEST_CR0, 0x20))
CASE(g_pg_pe, breal, NOP, set(s, GUEST_CR0, 1ull << 31))
CASE(g_cr4, b64, NOP, set(s, GUEST_CR4, 1u << 24))
CASE(g_cet_wp, b64, set(s, GUEST_CR4, 1u << 23), clr(s, GUEST_CR0, 1u << 16))
CASE(g_debugctl, b64, set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS),
     put(s, GUEST_IA32_DEBUGCTL, 4))
CASE(g_ia32e_pg, b64, ug64(s), clr(s, GUEST_CR0, 1ull << 31))
CASE(g_ia32e_pae, b64, NOP, clr(s, GUEST_CR4, 1u << 5))
CASE(g_pcide, b32, NOP, set(s, GUEST_CR4, 1u << 17))
CASE(g_cr3, b64, NOP, set(s, GUEST_CR3, 1ull << 39))
CASE(g_dr7, b64, set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS),
     set(s, GUEST_DR7, 1ull << 32))
CASE(g_sysenter_esp, b64, NOP, put(s, GUEST_SYSENTER_ESP, NC))
CASE(g_sysenter_eip, b64, NOP, put(s, GUEST_SYSENTER_EIP, NC))
CASE(g_perf, b64,
     (set(s, VM_ENTRY_CONTROLS, 1u << 13), put(s, ECM_GUEST_PERF_GLOBAL_CTRL, 1ull << 32)),
     put(s, ECM_GUEST_PERF_GLOBAL_CTRL, 1u << 4))
CASE(g_pat, b64,
     (set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_IA32_PAT),
      put(s, GUEST_IA32_PAT, 0x0007040600070406ull)),
     put(s, GUEST_IA32_PAT, 0x0007040600070403ull))
#define GEFER_PREP (set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_IA32_EFER), put(s, GUEST_IA32_EFER, 0x500))
CASE(g_efer_rsvd, b64, GEFER_PREP, set(s, GUEST_IA32_EFER, 2))
CASE(g_efer_lma, b64, GEFER_PREP, clr(s, GUEST_IA32_EFER, 1u << 10))
CASE(g_efer_lme, b64, GEFER_PREP, clr(s, GUEST_IA32_EFER, 1u << 8))
CASE(g_bndcfgs, b64, (set(s, VM_ENTRY_CONTROLS, 1u << 16), put(s, ECM_GUEST_BNDCFGS, 0x1001)),
     set(s, ECM_GUEST_BNDCFGS, 4))
CASE(tr_ti, b64, NOP, set(s, GUEST_TR_SELECTOR, 4))
CASE(ldtr_ti, b64, usable_ldtr(s), set(s, GUEST_LDTR_SELECTOR, 4))
CASE(ss_rpl, b64, NOP, set(s, GUEST_CS_SELECTOR, 3))
CASE(v86_base, bv86, NOP, put(s, GUEST_CS_BASE, 0x10010))
CASE(v86_limit, bv86, NOP, put(s, GUEST_DS_LIMIT, 0xfffff))
CASE(v86_ar, bv86, NOP, put(s, GUEST_ES_AR_BYTES, 0xf2))
CASE(tr_base, b64, NOP, put(s, GUEST_TR_BASE, NC))
CASE(fs_base, b64, NOP, put(s, GUEST_FS_BASE, NC))
CASE(gs_base, b64, NOP, put(s, GUEST_GS_BASE, NC))
CASE(ldtr_base, b64, usable_ldtr(s), put(s, GUEST_LDTR_BASE, NC))
CASE(cs_base, b64, NOP, put(s, GUEST_CS_BASE, 1ull << 32))
CASE(ssdses_base, b64, NOP, put(s, GUEST_DS_BASE, 1ull << 32))
CASE(cs_type, b64, NOP, put(s, GUEST_CS_AR_BYTES, 0xa093))
CASE(ss_type, b64, NOP, put(s, GUEST_SS_AR_BYTES, 0xc09b))
CASE(data_type, b64, NOP, put(s, GUEST_DS_AR_BYTES, 0xc092))
CASE(seg_s, b64, NOP, ar_clr(s, GUEST_FS_SELECTOR, 0x10))
CASE(cs_dpl, b64, NOP, ar_set(s, GUEST_CS_SELECTOR, 0x60))
CASE(ss_dpl_rpl, b64, put(s, GUEST_CS_AR_BYTES, 0xa09f), ar_set(s, GUEST_SS_SELECTOR, 0x60))
CASE(ss_dpl_0, breal, put(s, GUEST_CS_AR_BYTES, 0x9f), ar_set(s, GUEST_SS_SELECTOR, 0x60))
CASE(data_dpl, b64, NOP, put(s, GUEST_DS_SELECTOR, 0x13))
CASE(seg_p, b64, NOP, ar_clr(s, GUEST_GS_SELECTOR, 0x80))
CASE(seg_ar118, b64, NOP, ar_set(s, GUEST_ES_SELECTOR, 0x100))
CASE(cs_l_db, b64, NOP, ar_set(s, GUEST_CS_SELECTOR, 1u << 14))
CASE(seg_g, b64, NOP, ar_clr(s, GUEST_DS_SELECTOR, 1u << 15))
CASE(seg_ar_high, b64, NOP, ar_set(s, GUEST_SS_SELECTOR, 1u << 17))
CASE(tr_type, b64, NOP, put(s, GUEST_TR_AR_BYTES, 0x83))
CASE(tr_s, b64, NOP, ar_set(s, GUEST_TR_SELECTOR, 0x10))
CASE(tr_p, b64, NOP, ar_clr(s, GUEST_TR_SELECTOR, 0x80))
CASE(tr_rsvd, b64, NOP, ar_set(s, GUEST_TR_SELECTOR, 0x100))
CASE(tr_g, b64, NOP, ar_set(s, GUEST_TR_SELECTOR, 1u << 15))
CASE(tr_usable, b64, NOP, ar_set(s, GUEST_TR_SELECTOR, 1u << 16))
CASE(ldtr_type, b64, usable_ldtr(s), put(s, GUEST_LDTR_AR_BYTES, 0x83))
CASE(ldtr_s, b64, usable_ldtr(s), ar_set(s, GUEST_LDTR_SELECTOR, 0x10))
CASE(ldtr_p, b64, usable_ldtr(s), ar_clr(s, GUEST_LDTR_SELECTOR, 0x80))
CASE(ldtr_rsvd, b64, usable_ldtr(s), ar_set(s, GUEST_LDTR_SELECTOR, 0x200))
CASE(ldtr_g, b64, usable_ldtr(s), put(s, GUEST_LDTR_LIMIT, 0x100000))
CASE(gdtr_base, b64, NOP, put(s, GUEST_GDTR_BASE, NC))
CASE(idtr_base, b64, NOP, put(s, GUEST_IDTR_BASE, NC))
CASE(gdtr_limit, b64, NOP, put(s, GUEST_GDTR_LIMIT, 0x10000))
CASE(idtr_limit, b64, NOP, put(s, GUEST_IDTR_LIMIT, 0x10000))
CASE(rip_high, b32, NOP, put(s, GUEST_RIP, 1ull << 32))
CASE(rip_canonical, b64, NOP, put(s, GUEST_RIP, 1ull << 48))
CASE(rflags_rsvd, b64, NOP, set(s, GUEST_RFLAGS, 1u << 15))
CASE(rflags_vm, bv86, NOP, clr(s, GUEST_CR0, 1))
CASE(rflags_if, b64, ext_int(s), clr(s, GUEST_RFLAGS, 1u << 9))
CASE(act_state, b64, NOP, put(s, GUEST_ACTIVITY_STATE, 4))
CASE(act_hlt_dpl, b64, put(s, GUEST_ACTIVITY_STATE, 1),
     (put(s, GUEST_CS_SELECTOR, 0x0b), put(s, GUEST_CS_AR_BYTES, 0xa09f),
      put(s, GUEST_SS_SELECTOR, 0x13), ar_set(s, GUEST_SS_SELECTOR, 0x60)))
CASE(act_blocking, b64, put(s, GUEST_ACTIVITY_STATE, 1), put(s, GUEST_INTERRUPTIBILITY_INFO, 2))
CASE(act_event, b64, (put(s, GUEST_ACTIVITY_STATE, 1), ext_int(s)), inject(s, 3, 6, false))
CASE(is_rsvd, b64, NOP, put(s, GUEST_INTERRUPTIBILITY_INFO, 1u << 5))
CASE(is_sti_movss, b64, set(s, GUEST_RFLAGS, 1u << 9), put(s, GUEST_INTERRUPTIBILITY_INFO, 3))
CASE(is_sti_if, b64, NOP, put(s, GUEST_INTERRUPTIBILITY_INFO, 1))
CASE(is_ext, b64, ext_int(s), put(s, GUEST_INTERRUPTIBILITY_INFO, 1))
CASE(is_nmi_movss, b64, inject(s, 2, 2, false), put(s, GUEST_INTERRUPTIBILITY_INFO, 2))
CASE(is_nmi_sti, b64, (inject(s, 2, 2, false), set(s, GUEST_RFLAGS, 1u << 9)),
     put(s, GUEST_INTERRUPTIBILITY_INFO, 1))
CASE(is_smi, b64, NOP, put(s, GUEST_INTERRUPTIBILITY_INFO, 4))
CASE(is_vnmi, b64,
     (set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_NMI_EXITING | PIN_VIRTUAL_NMIS),
      inject(s, 2, 2, false)),
     put(s, GUEST_INTERRUPTIBILITY_INFO, 8))
CASE(is_enclave, b64, put(s, GUEST_INTERRUPTIBILITY_INFO, 0x10), s->cpu.sgx = false)
CASE(pd_rsvd, b64, NOP, put(s, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4))
/* blocking by STI with RFLAGS.TF: the rule Bochs 2.7 does not check (its XFAIL in
 * lhv/suite/vmx/events/interruptibility.c) */
CASE(pd_bs_set, b64,
     (set(s, GUEST_RFLAGS, (1u << 9) | (1u << 8)), put(s, GUEST_INTERRUPTIBILITY_INFO, 1),
      put(s, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 14)),
     put(s, GUEST_PENDING_DBG_EXCEPTIONS, 0))
CASE(pd_bs_clear, b64, (set(s, GUEST_RFLAGS, 1u << 9), put(s, GUEST_INTERRUPTIBILITY_INFO, 1)),
     put(s, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 14))
CASE(pd_rtm, b64, put(s, GUEST_PENDING_DBG_EXCEPTIONS, (1u << 16) | (1u << 12)), s->cpu.rtm = false)
CASE(link_addr, b64, NOP, put(s, VMCS_LINK_POINTER, page(PG_LINK) + 0x800))
CASE(link_rev, b64, link_vmcs(s), *(u32 *)mem_at(page(PG_LINK)) = 0)
CASE(link_shadow, b64, link_vmcs(s), *(u32 *)mem_at(page(PG_LINK)) |= 1u << 31)
CASE(pdpte_mem, b32, NOP, ((u64 *)mem_at(page(PG_PDPT)))[3] |= 2)
CASE(pdpte_fields, b32, (ept_on(s), put(s, GUEST_PDPTE0, 0x10001), put(s, GUEST_PDPTE3, 0x20001)),
     set(s, GUEST_PDPTE2, 0x81))

CASE(msr_count, b64, entry_load(s, 512), entry_load(s, 513))
CASE(msr_rsvd, b64, entry_load(s, 2), entry_load(s, 2)[1].reserved = 1)
CASE(msr_fsgs, b64, entry_load(s, 3), entry_load(s, 3)[1].index = 0xc0000100)
CASE(msr_x2apic, b64, entry_load(s, 3), entry_load(s, 3)[2].index = 0x808)
CASE(msr_smm, b64, entry_load(s, 2), entry_load(s, 2)[0].index = 0x9e)
CASE(msr_wrmsr, b64, entry_load(s, 1), entry_load(s, 1)[0].value = 1ull << 62)

#define C(id, name) \
    { \
        id, case_##name, 0 \
    }
#define CQ(id, name, q) \
    { \
        id, case_##name, q \
    }

static const struct ec_case cases[] = {
    C("basic.movss", movss),
    C("basic.launch.clear", launch_clear),
    C("basic.launch.launched", launch_launched),
    C("ctl.pin.allowed", pin),
    C("ctl.proc.allowed", proc),
    C("ctl.proc2.allowed", proc2),
    C("ctl.cr3_target.count", cr3_count),
    C("ctl.io_bitmap_a.addr", io_a),
    C("ctl.io_bitmap_b.addr", io_b),
    C("ctl.msr_bitmap.addr", msr_bitmap),
    C("ctl.vapic.addr", vapic),
    C("ctl.tpr_threshold.reserved", tpr_rsvd),
    C("ctl.tpr_threshold.vtpr", tpr_vtpr),
    C("ctl.tpr_shadow.needed", tpr_needed),
    C("ctl.virtual_nmis.nmi_exiting", vnmi),
    C("ctl.nmi_window.virtual_nmis", nmi_window),
    C("ctl.apic_access.addr", apic_access),
    C("ctl.x2apic.apic_access", x2apic),
    C("ctl.vid.ext_int_exiting", vid),
    C("ctl.posted_intr.vid", pi_vid),
    C("ctl.posted_intr.ack", pi_ack),
    C("ctl.posted_intr.vector", pi_vector),
    C("ctl.posted_intr.desc", pi_desc),
    C("ctl.vpid.nonzero", vpid),
    C("ctl.eptp.memtype", eptp_memtype),
    C("ctl.eptp.walk", eptp_walk),
    C("ctl.eptp.ad", eptp_ad),
    C("ctl.eptp.sss", eptp_sss),
    C("ctl.eptp.reserved", eptp_rsvd),
    C("ctl.pml.ept", pml_ept),
    C("ctl.pml.addr", pml_addr),
    C("ctl.unrestricted.ept", ug_ept),
    C("ctl.mbec.ept", mbec),
    C("ctl.spp.ept", spp_ept),
    C("ctl.spp.addr", spp_addr),
    C("ctl.pt_gpa.ept", pt_ept),
    C("ctl.pt_gpa.rtit", pt_rtit),
    C("ctl.vmfunc.allowed", vmfunc_allowed),
    C("ctl.vmfunc.eptp_switching.ept", vmfunc_ept),
    C("ctl.vmfunc.eptp_list.addr", vmfunc_list),
    C("ctl.vmread_bitmap.addr", vmread),
    C("ctl.vmwrite_bitmap.addr", vmwrite),
    C("ctl.ve_info.addr", ve),
    C("ctl.exit.allowed", exit_allowed),
    C("ctl.exit.save_timer", exit_timer),
    C("ctl.exit.msr_store.addr", exit_store),
    C("ctl.exit.msr_load.addr", exit_load),
    C("ctl.entry.allowed", entry_allowed),
    C("ctl.entry.smm", entry_smm),
    C("ctl.entry.dual_monitor", entry_dual),
    C("ctl.inject.type", inj_type),
    C("ctl.inject.vector", inj_vector),
    C("ctl.inject.error_code_bit", inj_errcode),
    C("ctl.inject.error_code_bit", inj_errcode_cp),
    C("ctl.inject.error_code_bit", inj_errcode_no_cet),
    C("ctl.inject.reserved", inj_rsvd),
    C("ctl.inject.error_code.reserved", inj_code_high),
    C("ctl.inject.length", inj_length),
    C("ctl.entry.msr_load.addr", entry_load),
    C("host.cr0.fixed", h_cr0),
    C("host.cr4.fixed", h_cr4),
    C("host.cr4.cet_wp", h_cet_wp),
    C("host.cr3.width", h_cr3),
    C("host.sysenter_esp.canonical", h_sysenter_esp),
    C("host.sysenter_eip.canonical", h_sysenter_eip),
    C("host.perf_global_ctrl.reserved", h_perf),
    C("host.pat.valid", h_pat),
    C("host.efer.reserved", h_efer_rsvd),
    C("host.efer.lma", h_efer_lma),
    C("host.efer.lme", h_efer_lme),
    C("host.selector.rpl_ti", h_sel),
    C("host.cs.nonnull", h_cs),
    C("host.tr.nonnull", h_tr),
    C("host.ss.nonnull", h_ss),
    C("host.fs_base.canonical", h_fs_base),
    C("host.gs_base.canonical", h_gs_base),
    C("host.gdtr_base.canonical", h_gdtr_base),
    C("host.idtr_base.canonical", h_idtr_base),
    C("host.tr_base.canonical", h_tr_base),
    C("host.as.outside_ia32e", as_outside),
    C("host.as.inside_ia32e", as_inside),
    C("host.as0.ia32e_guest", as0_guest),
    C("host.as0.pcide", as0_pcide),
    C("host.as0.rip", as0_rip),
    C("host.as1.pae", as1_pae),
    C("host.as1.rip", as1_rip),
    C("guest.cr0.fixed", g_cr0),
    C("guest.cr0.pg_pe", g_pg_pe),
    C("guest.cr4.fixed", g_cr4),
    C("guest.cr4.cet_wp", g_cet_wp),
    C("guest.debugctl.reserved", g_debugctl),
    C("guest.ia32e.pg", g_ia32e_pg),
    C("guest.ia32e.pae", g_ia32e_pae),
    C("guest.cr4.pcide", g_pcide),
    C("guest.cr3.width", g_cr3),
    C("guest.dr7.high", g_dr7),
    C("guest.sysenter_esp.canonical", g_sysenter_esp),
    C("guest.sysenter_eip.canonical", g_sysenter_eip),
    C("guest.perf_global_ctrl.reserved", g_perf),
    C("guest.pat.valid", g_pat),
    C("guest.efer.reserved", g_efer_rsvd),
    C("guest.efer.lma", g_efer_lma),
    C("guest.efer.lme", g_efer_lme),
    C("guest.bndcfgs.valid", g_bndcfgs),
    C("guest.tr.ti", tr_ti),
    C("guest.ldtr.ti", ldtr_ti),
    C("guest.ss.rpl", ss_rpl),
    C("guest.v86.base", v86_base),
    C("guest.v86.limit", v86_limit),
    C("guest.v86.ar", v86_ar),
    C("guest.tr_base.canonical", tr_base),
    C("guest.fs_base.canonical", fs_base),
    C("guest.gs_base.canonical", gs_base),
    C("guest.ldtr_base.canonical", ldtr_base),
    C("guest.cs_base.high", cs_base),
    C("guest.ss_ds_es_base.high", ssdses_base),
    C("guest.cs.type", cs_type),
    C("guest.ss.type", ss_type),
    C("guest.data_seg.type", data_type),
    C("guest.seg.s", seg_s),
    C("guest.cs.dpl", cs_dpl),
    C("guest.ss.dpl_rpl", ss_dpl_rpl),
    C("guest.ss.dpl_zero", ss_dpl_0),
    C("guest.data_seg.dpl", data_dpl),
    C("guest.seg.p", seg_p),
    C("guest.seg.ar_11_8", seg_ar118),
    C("guest.cs.l_db", cs_l_db),
    C("guest.seg.g", seg_g),
    C("guest.seg.ar_31_17", seg_ar_high),
    C("guest.tr.type", tr_type),
    C("guest.tr.s", tr_s),
    C("guest.tr.p", tr_p),
    C("guest.tr.reserved", tr_rsvd),
    C("guest.tr.g", tr_g),
    C("guest.tr.usable", tr_usable),
    C("guest.ldtr.type", ldtr_type),
    C("guest.ldtr.s", ldtr_s),
    C("guest.ldtr.p", ldtr_p),
    C("guest.ldtr.reserved", ldtr_rsvd),
    C("guest.ldtr.g", ldtr_g),
    C("guest.gdtr_base.canonical", gdtr_base),
    C("guest.idtr_base.canonical", idtr_base),
    C("guest.gdtr_limit.high", gdtr_limit),
    C("guest.idtr_limit.high", idtr_limit),
    C("guest.rip.high", rip_high),
    C("guest.rip.canonical", rip_canonical),
    C("guest.rflags.reserved", rflags_rsvd),
    C("guest.rflags.vm", rflags_vm),
    C("guest.rflags.if", rflags_if),
    C("guest.activity.state", act_state),
    C("guest.activity.hlt_ss_dpl", act_hlt_dpl),
    C("guest.activity.blocking", act_blocking),
    C("guest.activity.event", act_event),
    C("guest.intr.reserved", is_rsvd),
    C("guest.intr.sti_movss", is_sti_movss),
    C("guest.intr.sti_if", is_sti_if),
    C("guest.intr.ext_int", is_ext),
    C("guest.intr.nmi_movss", is_nmi_movss),
    C("guest.intr.nmi_sti", is_nmi_sti),
    C("guest.intr.smi", is_smi),
    C("guest.intr.virtual_nmi", is_vnmi),
    C("guest.intr.enclave", is_enclave),
    C("guest.pending_dbg.reserved", pd_rsvd),
    C("guest.pending_dbg.bs_set", pd_bs_set),
    C("guest.pending_dbg.bs_clear", pd_bs_clear),
    C("guest.pending_dbg.rtm", pd_rtm),
    C("guest.link.addr", link_addr),
    C("guest.link.revision", link_rev),
    C("guest.link.shadow", link_shadow),
    C("guest.pdpte.memory", pdpte_mem),
    C("guest.pdpte.fields", pdpte_fields),
    C("msr.count", msr_count),
    CQ("msr.reserved", msr_rsvd, 2),
    CQ("msr.fs_gs_base", msr_fsgs, 2),
    CQ("msr.x2apic", msr_x2apic, 3),
    CQ("msr.smm", msr_smm, 1),
    CQ("msr.wrmsr", msr_wrmsr, 1),
};

/* --- the checks of the cases -------------------------------------------- */

static struct st the_state; /* large: kept off the stack */

static void predict(struct st *s, struct ecm_result *r) { ecm_predict(&s->v, &s->k, &s->cpu, r); }

static u32 failed_count(const struct ecm_result *r)
{
    u32 n = 0;
    for (u32 i = 0; i < ecm_nchecks; i++)
        n += ecm_failed(r, i);
    return n;
}

static void print_failed(const char *what, const char *id, const struct ecm_result *r)
{
    print_error("%s: %s: outcome kind %u code %u qual %llu, failed:", id, what, r->outcome.kind,
                r->outcome.code, (unsigned long long)r->outcome.qual);
    for (u32 i = 0; i < ecm_nchecks; i++)
        if (ecm_failed(r, i))
            print_error(" %s", ecm_checks[i].id);
    print_error("\n");
}

/* The outcome a failure of check k alone gives */
static struct ecm_outcome expected(const struct ecm_check *k, const struct ec_case *c)
{
    switch (k->stage) {
    case ECM_BASIC:
    case ECM_CTL:
    case ECM_HOST:
        return (struct ecm_outcome){ECM_VMFAIL, k->error, 0};
    case ECM_GUEST:
        return (struct ecm_outcome){ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE, k->qual};
    default:
        if (k->how == ECM_UNDEF)
            return (struct ecm_outcome){ECM_UNDEFINED, 0, 0};
        return (struct ecm_outcome){ECM_EXIT_FAIL, EXIT_REASON_MSR_LOADING, c->qual};
    }
}

static void test_every_check_has_a_case(void **state)
{
    (void)state;
    u32 missing = 0;
    for (u32 i = 0; i < ecm_nchecks; i++) {
        u32 n = 0;
        for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++)
            n += !strcmp(cases[j].id, ecm_checks[i].id);
        if (!n) { /* more where the rule has more than one edge (#CP with and without CET) */
            print_error("check %s has no case\n", ecm_checks[i].id);
            missing++;
        }
        for (u32 j = 0; j < i; j++)
            if (!strcmp(ecm_checks[j].id, ecm_checks[i].id)) {
                print_error("check id %s twice in the table\n", ecm_checks[i].id);
                missing++;
            }
    }
    for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++)
        if (ecm_find(cases[j].id) == ECM_NONE) {
            print_error("case %s names no check of the table\n", cases[j].id);
            missing++;
        }
    assert_int_equal(missing, 0);
}

static void test_each_check_both_ways(void **state)
{
    (void)state;
    u32 bad = 0;
    struct ecm_result r;
    struct st *s = &the_state;

    for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
        const struct ec_case *c = &cases[j];
        u32 idx = ecm_find(c->id);
        if (idx == ECM_NONE)
            continue; /* reported by test_every_check_has_a_case */
        const struct ecm_check *k = &ecm_checks[idx];
        struct ecm_outcome want = expected(k, c), entry = {ECM_ENTRY, 0, 0};

        c->fn(s, false);
        predict(s, &r);
        if (r.outcome.kind != ECM_ENTRY || failed_count(&r) != 0 || r.nalt != 1) {
            print_failed("valid state not predicted to enter", c->id, &r);
            bad++;
        }
        c->fn(s, true);
        predict(s, &r);
        bool ok = failed_count(&r) == 1 && ecm_failed(&r, idx) && r.check == idx &&
                  r.outcome.kind == want.kind && r.outcome.code == want.code &&
                  r.outcome.qual == want.qual && ecm_acceptable(&r, &want);
        /* an implementation-specific check: failing and entering both fine */
        if (k->how == ECM_IMPL)
            ok = ok && r.nalt == 2 && ecm_acceptable(&r, &entry);
        else if (k->how == ECM_NORMAL)
            ok = ok && r.nalt == 1 && !ecm_acceptable(&r, &entry);
        if (!ok) {
            print_failed("broken state mispredicted", c->id, &r);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* ecm_predict_delta gives ecm_predict's result: for every case, the
 * violating state predicted from the valid one's dependencies (the fields
 * that differ, and memory when it differs), and the same with a second
 * case's violation added on top (two changes, read through one base) */
static struct ecm_deps the_deps;
static struct ecm_vmcs delta_base;
static uint8_t delta_mem[MEM_PAGES][4096];

static bool same_result(const struct ecm_result *a, const struct ecm_result *b)
{
    if (a->outcome.kind != b->outcome.kind || a->outcome.code != b->outcome.code ||
        a->outcome.qual != b->outcome.qual || a->check != b->check || a->nalt != b->nalt ||
        memcmp(a->failed, b->failed, sizeof(a->failed)))
        return false;
    for (u32 i = 0; i < a->nalt; i++)
        if (!ecm_acceptable(b, &a->alt[i]))
            return false;
    return true;
}

static u32 changed_fields(const struct ecm_vmcs *a, const struct ecm_vmcs *b, u32 *f)
{
    u32 n = 0;
    for (u32 enc = 0; enc < 0x8000; enc += 2)
        if (ecm_field_ok(enc) && ecm_get(a, enc) != ecm_get(b, enc))
            f[n++] = enc;
    return n;
}

/* The other way: dependencies of the broken state (its failing checks in
 * base_failed), the broken state itself through them (nothing changed:
 * the failures come from the base) and the valid one (the fields put back:
 * each failing check reads one and holds again). On entry s holds the
 * broken state, `broken` its full prediction; on return the valid one. */
static struct ecm_deps broken_deps;
static struct ecm_vmcs broken_v;
static uint8_t broken_mem[MEM_PAGES][4096];

static u32 delta_from_broken(struct st *s, const char *id, const struct ecm_result *broken, u32 *f)
{
    struct ecm_result full, delta;
    u32 bad = 0;

    ecm_deps_build(&s->v, &s->k, &s->cpu, &broken_deps);
    ecm_predict_delta(&s->v, &s->k, &s->cpu, &broken_deps, f, 0, false, &delta);
    if (!same_result(broken, &delta)) {
        print_failed("delta prediction from a broken base differs", id, &delta);
        bad++;
    }
    broken_v = s->v;
    memcpy(broken_mem, mem, sizeof(mem));
    s->v = delta_base;
    memcpy(mem, delta_mem, sizeof(mem));
    u32 n = changed_fields(&broken_v, &s->v, f);
    bool memory = memcmp(broken_mem, mem, sizeof(mem)) != 0;
    predict(s, &full);
    ecm_predict_delta(&s->v, &s->k, &s->cpu, &broken_deps, f, n, memory, &delta);
    if (!same_result(&full, &delta)) {
        print_failed("delta prediction back to the valid state differs", id, &delta);
        bad++;
    }
    return bad;
}

static void test_delta(void **state)
{
    (void)state;
    struct st *s = &the_state;
    struct ecm_result full, delta;
    u32 bad = 0, f[ECM_SLOTS], delta_cases = 0;

    for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
        const struct ec_case *c = &cases[j];
        cases[j].fn(s, false);
        delta_base = s->v;
        struct ecm_caps k = s->k;
        struct ecm_cpu cpu = s->cpu;
        memcpy(delta_mem, mem, sizeof(mem));
        ecm_deps_build(&s->v, &s->k, &s->cpu, &the_deps);
        c->fn(s, true);
        /* the dependencies hold for one CPU: cases that change it are not
         * deltas (ctl.eptp.ad, guest.intr.enclave, guest.pending_dbg.rtm) */
        if (memcmp(&k, &s->k, sizeof(k)) || memcmp(&cpu, &s->cpu, sizeof(cpu)))
            continue;
        delta_cases++;
        u32 n = changed_fields(&delta_base, &s->v, f);
        bool memory = memcmp(delta_mem, mem, sizeof(mem)) != 0;
        predict(s, &full);
        ecm_predict_delta(&s->v, &s->k, &s->cpu, &the_deps, f, n, memory, &delta);
        if (!same_result(&full, &delta)) {
            print_failed("delta prediction differs", c->id, &delta);
            bad++;
        }
        bad += delta_from_broken(s, c->id, &full, f);
    }
    assert_int_equal(bad, 0);
    assert_true(delta_cases > 150);
}

/* The secondary controls count only when activated (25.6.2): a bad EPTP
 * under "enable EPT" fails with them activated and is not read without */
static void test_secondary_inactive(void **state)
{
    (void)state;
    struct st *s = &the_state;
    struct ecm_result r;
    struct ecm_outcome e7 = {ECM_VMFAIL, 7, 0}, entry = {ECM_ENTRY, 0, 0};

    b64(s);
    ept_on(s);
    put(s, EPT_POINTER, page(PG_EPT) | 1 | (3 << 3)); /* memory type 1: reserved */
    predict(s, &r);
    assert_true(ecm_acceptable(&r, &e7));
    clr(s, CPU_BASED_VM_EXEC_CONTROL, CPU_ACTIVATE_SECONDARY_CONTROLS);
    predict(s, &r);
    assert_true(ecm_acceptable(&r, &entry) && r.nalt == 1);
}

/* Where the SDM leaves the order open, the result says so (27.2, 27.8) */
static void test_open_order(void **state)
{
    (void)state;
    struct st *s = &the_state;
    struct ecm_result r;
    struct ecm_outcome e7 = {ECM_VMFAIL, 7, 0}, e8 = {ECM_VMFAIL, 8, 0},
                       q0 = {ECM_EXIT_FAIL, 33, 0}, q4 = {ECM_EXIT_FAIL, 33, 4},
                       q2 = {ECM_EXIT_FAIL, 33, 2};

    /* a control and a host-state violation: 7 or 8 */
    b64(s);
    clr(s, PIN_BASED_VM_EXEC_CONTROL, 2);
    put(s, HOST_CS_SELECTOR, 0);
    predict(s, &r);
    assert_true(ecm_acceptable(&r, &e7) && ecm_acceptable(&r, &e8));
    assert_int_equal(r.nalt, 2);
    /* a host-state and a guest-state violation: 8 only (27.2 before 27.3) */
    b64(s);
    put(s, HOST_CS_SELECTOR, 0);
    put(s, GUEST_RIP, NC);
    predict(s, &r);
    assert_true(ecm_acceptable(&r, &e8) && !ecm_acceptable(&r, &q0));
    /* a link pointer, a PDPTE and a plain guest violation: 33 with 4, 2 or 0 */
    b32(s);
    put(s, VMCS_LINK_POINTER, page(PG_LINK) + 8);
    ((u64 *)mem_at(page(PG_PDPT)))[0] |= 4;
    put(s, GUEST_GDTR_LIMIT, 0x10000);
    predict(s, &r);
    assert_true(ecm_acceptable(&r, &q0) && ecm_acceptable(&r, &q2) && ecm_acceptable(&r, &q4));
    assert_int_equal(r.nalt, 3);
    /* guest state before MSR loading */
    b64(s);
    entry_load(s, 1)[0].index = 0x808;
    put(s, GUEST_GDTR_LIMIT, 0x10000);
    predict(s, &r);
    assert_int_equal(r.outcome.code, 33);
    assert_int_equal(r.nalt, 1);
    /* the basic checks in their fixed order: MOV SS before launch state */
    b64(s);
    s->cpu.movss_blocking = s->cpu.launched = true;
    clr(s, PIN_BASED_VM_EXEC_CONTROL, 2);
    predict(s, &r);
    assert_int_equal(r.outcome.code, 26);
    assert_int_equal(r.nalt, 1);
    /* the first bad MSR entry decides */
    b64(s);
    struct msr_entry *e = entry_load(s, 4);
    e[2].index = 0x808;
    e[3].reserved = 1;
    predict(s, &r);
    assert_int_equal(r.outcome.code, 34);
    assert_int_equal(r.outcome.qual, 3);
}

/* IA32_VMX_BASIC[48]: VMCS data structures within 32 bits; the canonical
 * width follows the CPU's linear-address width */
static void test_widths(void **state)
{
    (void)state;
    struct st *s = &the_state;
    struct ecm_result r;

    case_io_b(s, false);
    put(s, IO_BITMAP_B, 1ull << 32);
    predict(s, &r);
    assert_int_equal(r.outcome.kind, ECM_ENTRY);
    s->k.basic |= 1ull << 48;
    predict(s, &r);
    assert_int_equal(r.outcome.code, 7);
    /* guest RIP: bits 63:N identical, bit N-1 free (27.3.1.4) */
    b64(s);
    put(s, GUEST_RIP, NC);
    predict(s, &r);
    assert_int_equal(r.outcome.kind, ECM_ENTRY);
    put(s, GUEST_RIP, 1ull << 48);
    s->cpu.linear_bits = 57;
    predict(s, &r);
    assert_int_equal(r.outcome.kind, ECM_ENTRY);
    put(s, GUEST_RIP, 1ull << 57);
    predict(s, &r);
    assert_int_equal(r.outcome.qual, 0);
    assert_int_equal(r.outcome.code, 33);
}

/* --- the rows of lhv/suite/vmx/entry/, replayed ---------------------------- */

struct suite_row {
    const char *name; /* as in the suite */
    void (*fn)(struct st *s);
    struct ecm_outcome want;
};

#define ROW_FN(name, base, body) \
    static void row_##name(struct st *s) \
    { \
        base(s); \
        body; \
    }
#define VMFAIL(n) {ECM_VMFAIL, n, 0}
#define GUESTQ(q) {ECM_EXIT_FAIL, EXIT_REASON_INVALID_GUEST_STATE, q}
#define MSRQ(q) {ECM_EXIT_FAIL, EXIT_REASON_MSR_LOADING, q}

/* lowest must-be-1 / must-be-0 bits of the test CPU's capability MSRs, as
 * the suite's prep_must_be_1/0 pick them */
static u32 low_bit(u32 m) { return m & (~m + 1); }
ROW_FN(pin1, b64, clr(s, PIN_BASED_VM_EXEC_CONTROL, low_bit((u32)s->k.pin)))
ROW_FN(pin0, b64, set(s, PIN_BASED_VM_EXEC_CONTROL, low_bit(~(u32)(s->k.pin >> 32))))
ROW_FN(proc1, b64, clr(s, CPU_BASED_VM_EXEC_CONTROL, low_bit((u32)s->k.proc)))
ROW_FN(proc0, b64, set(s, CPU_BASED_VM_EXEC_CONTROL, low_bit(~(u32)(s->k.proc >> 32))))
ROW_FN(proc20, b64, sec(s, low_bit(~(u32)(s->k.proc2 >> 32))))
ROW_FN(cr3t, b64, put(s, CR3_TARGET_COUNT, ((s->k.misc >> 16) & 0x1ff) + 1))
ROW_FN(ioa, b64, case_io_a(s, true))
ROW_FN(iob, b64, case_io_b(s, true))
ROW_FN(msrbm, b64, case_msr_bitmap(s, true))
ROW_FN(nmiw, b64, set(s, CPU_BASED_VM_EXEC_CONTROL, CPU_NMI_WINDOW_EXITING))
ROW_FN(vnmis, b64, set(s, PIN_BASED_VM_EXEC_CONTROL, PIN_VIRTUAL_NMIS))
ROW_FN(vapic, b64, case_vapic(s, true))
ROW_FN(tprhigh, b64, case_tpr_rsvd(s, true))
ROW_FN(tprvtpr, b64, (tpr_shadow(s), put(s, TPR_THRESHOLD, 1)))
ROW_FN(exit1, b64, clr(s, VM_EXIT_CONTROLS, low_bit((u32)s->k.exit)))
ROW_FN(exit0, b64, set(s, VM_EXIT_CONTROLS, low_bit(~(u32)(s->k.exit >> 32))))
#define AREAS \
    (entry_load(s, 1), put(s, VM_EXIT_MSR_STORE_ADDR, page(PG_EXIT_STORE)), \
     put(s, VM_EXIT_MSR_STORE_COUNT, 1), put(s, VM_EXIT_MSR_LOAD_ADDR, page(PG_EXIT_LOAD)), \
     put(s, VM_EXIT_MSR_LOAD_COUNT, 1))
ROW_FN(xload, b64, (AREAS, set(s, VM_EXIT_MSR_LOAD_ADDR, 4)))
ROW_FN(xstore, b64, (AREAS, put(s, VM_EXIT_MSR_STORE_ADDR, 1ull << 39)))
ROW_FN(entry1, b64, clr(s, VM_ENTRY_CONTROLS, low_bit((u32)s->k.entry)))
ROW_FN(entry0, b64, set(s, VM_ENTRY_CONTROLS, low_bit(~(u32)(s->k.entry >> 32))))
ROW_FN(eload, b64, (AREAS, set(s, VM_ENTRY_MSR_LOAD_ADDR, 8)))
ROW_FN(type1, b64, inject(s, 1, 0x20, false))
ROW_FN(nmi3, b64, inject(s, 2, 3, false))
ROW_FN(exc32, b64, inject(s, 3, 32, false))
ROW_FN(ud_code, b64, inject(s, 3, 6, true))
ROW_FN(gp_nocode, b64, inject(s, 3, 13, false))
ROW_FN(intr_rsvd, b64, put(s, VM_ENTRY_INTR_INFO_FIELD, 0x80000020u | (1u << 12)))
ROW_FN(code_high, b64, (put(s, VM_ENTRY_EXCEPTION_ERROR_CODE, 0x10000), inject(s, 3, 13, true)))
ROW_FN(soft16, b64, (put(s, VM_ENTRY_INSTRUCTION_LEN, 16), inject(s, 4, 0x30, false)))
ROW_FN(soft0, b64, (put(s, VM_ENTRY_INSTRUCTION_LEN, 0), inject(s, 4, 0x30, false)))
ROW_FN(hcr0, b64, clr(s, HOST_CR0, 0x20))
ROW_FN(hvmxe, b64, clr(s, HOST_CR4, CR4_VMXE))
ROW_FN(hcr4, b64, set(s, HOST_CR4, low_bit(~(u32)s->k.cr4_fixed1)))
ROW_FN(hpat, b64, case_h_pat(s, true))
ROW_FN(hcs0, b64, put(s, HOST_CS_SELECTOR, 0))
ROW_FN(hcsrpl, b64, set(s, HOST_CS_SELECTOR, 1))
ROW_FN(hdsti, b64, set(s, HOST_DS_SELECTOR, 4))
ROW_FN(htr0, b64, put(s, HOST_TR_SELECTOR, 0))
ROW_FN(hcr3, b64, set(s, HOST_CR3, 1ull << 39))
ROW_FN(hlma, b64, case_h_efer_lma(s, true))
ROW_FN(hfs, b64, put(s, HOST_FS_BASE, 1ull << 62))
ROW_FN(hgdtr, b64, put(s, HOST_GDTR_BASE, get(s, HOST_GDTR_BASE) ^ (1ull << 62)))
ROW_FN(htrb, b64, put(s, HOST_TR_BASE, get(s, HOST_TR_BASE) ^ (1ull << 62)))
ROW_FN(hsyseip, b64, put(s, HOST_IA32_SYSENTER_EIP, 1ull << 62))
ROW_FN(has0, b64, clr(s, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE))
ROW_FN(hrip, b64, put(s, HOST_RIP, get(s, HOST_RIP) ^ (1ull << 62)))
ROW_FN(hss0, b32, put(s, HOST_SS_SELECTOR, 0))
ROW_FN(has1, b32, set(s, VM_EXIT_CONTROLS, EXIT_HOST_ADDRESS_SPACE_SIZE))
ROW_FN(hia32e, b32, set(s, VM_ENTRY_CONTROLS, ENTRY_IA32E_MODE_GUEST))
ROW_FN(hpcide, b32, set(s, HOST_CR4, 1u << 17))
ROW_FN(gcr0, b64, clr(s, GUEST_CR0, 0x20))
ROW_FN(gvmxe, b64, clr(s, GUEST_CR4, CR4_VMXE))
ROW_FN(gcr4, b64, set(s, GUEST_CR4, low_bit(~(u32)s->k.cr4_fixed1)))
ROW_FN(gpat, b64, case_g_pat(s, true))
ROW_FN(csdata, b64, put(s, GUEST_CS_AR_BYTES, (get(s, GUEST_CS_AR_BYTES) & ~0xfull) | 3))
ROW_FN(csdpl, b64, ar_set(s, GUEST_CS_SELECTOR, 0x60))
ROW_FN(sscode, b64, put(s, GUEST_SS_AR_BYTES, (get(s, GUEST_SS_AR_BYTES) & ~0xfull) | 0xb))
ROW_FN(dsacc, b64, ar_clr(s, GUEST_DS_SELECTOR, 1))
ROW_FN(dsg, b64, ar_clr(s, GUEST_DS_SELECTOR, 1u << 15))
ROW_FN(trunus, b64, ar_set(s, GUEST_TR_SELECTOR, 1u << 16))
ROW_FN(tr9, b64, put(s, GUEST_TR_AR_BYTES, (get(s, GUEST_TR_AR_BYTES) & ~0xfull) | 9))
ROW_FN(ldtr3, b64, put(s, GUEST_LDTR_AR_BYTES, 0x83))
ROW_FN(gdtrlim, b64, put(s, GUEST_GDTR_LIMIT, 0x10000))
ROW_FN(rf15, b64, put(s, GUEST_RFLAGS, 2 | (1u << 15)))
ROW_FN(rfvm, b64, put(s, GUEST_RFLAGS, 2 | (1u << 17)))
ROW_FN(act4, b64, put(s, GUEST_ACTIVITY_STATE, 4))
ROW_FN(stimovss, b64, put(s, GUEST_INTERRUPTIBILITY_INFO, 3))
ROW_FN(stiif0, b64, put(s, GUEST_INTERRUPTIBILITY_INFO, 1))
ROW_FN(intr5, b64, put(s, GUEST_INTERRUPTIBILITY_INFO, 1u << 5))
ROW_FN(pdbg4, b64, put(s, GUEST_PENDING_DBG_EXCEPTIONS, 1u << 4))
ROW_FN(linkzero, b64, put(s, VMCS_LINK_POINTER, page(PG_LINK)))
ROW_FN(linkalign, b64, put(s, VMCS_LINK_POINTER, page(PG_LINK) + 0x800))
ROW_FN(gcr3, b64, set(s, GUEST_CR3, 1ull << 39))
ROW_FN(dr7, b64,
       (set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_DEBUG_CONTROLS), set(s, GUEST_DR7, 1ull << 32)))
ROW_FN(glma, b64, (set(s, VM_ENTRY_CONTROLS, ENTRY_LOAD_IA32_EFER), put(s, GUEST_IA32_EFER, 0x100)))
ROW_FN(gsysesp, b64, put(s, GUEST_SYSENTER_ESP, 1ull << 62))
ROW_FN(csldb, b64, ar_set(s, GUEST_CS_SELECTOR, 1u << 14))
ROW_FN(gfs, b64, put(s, GUEST_FS_BASE, 1ull << 62))
ROW_FN(ggdtr, b64, put(s, GUEST_GDTR_BASE, get(s, GUEST_GDTR_BASE) ^ (1ull << 62)))
ROW_FN(grip, b64, put(s, GUEST_RIP, get(s, GUEST_RIP) ^ (1ull << 62)))
ROW_FN(pdpte3, b32, ((u64 *)mem_at(page(PG_PDPT)))[3] |= 2)
ROW_FN(mfs, b64, entry_load(s, 3)[1].index = 0xc0000100)
ROW_FN(msmbase, b64, (entry_load(s, 2)[0] = (struct msr_entry){0x9e, 0, 0x30000}))
ROW_FN(mx2apic, b64, entry_load(s, 3)[2].index = 0x808)
ROW_FN(mrsvd, b64, entry_load(s, 2)[1].reserved = 1)
ROW_FN(mkgs, b64, (entry_load(s, 1)[0] = (struct msr_entry){0xc0000102, 0, 1ull << 62}))

static const struct suite_row rows[] = {
    {"pin-based must-be-1 bit clear", row_pin1, VMFAIL(7)},
    {"pin-based must-be-0 bit set", row_pin0, VMFAIL(7)},
    {"processor-based must-be-1 bit clear", row_proc1, VMFAIL(7)},
    {"processor-based must-be-0 bit set", row_proc0, VMFAIL(7)},
    {"secondary must-be-0 bit set", row_proc20, VMFAIL(7)},
    {"CR3-target count above IA32_VMX_MISC[24:16]", row_cr3t, VMFAIL(7)},
    {"I/O bitmap A not page aligned", row_ioa, VMFAIL(7)},
    {"I/O bitmap B beyond the physical-address width", row_iob, VMFAIL(7)},
    {"MSR bitmap not page aligned", row_msrbm, VMFAIL(7)},
    {"NMI-window exiting without virtual NMIs", row_nmiw, VMFAIL(7)},
    {"virtual NMIs without NMI exiting", row_vnmis, VMFAIL(7)},
    {"virtual-APIC address not page aligned", row_vapic, VMFAIL(7)},
    {"TPR threshold bits 31:4 set", row_tprhigh, VMFAIL(7)},
    {"TPR threshold above VTPR[7:4]", row_tprvtpr, VMFAIL(7)},
    {"VM-exit must-be-1 bit clear", row_exit1, VMFAIL(7)},
    {"VM-exit must-be-0 bit set", row_exit0, VMFAIL(7)},
    {"VM-exit MSR-load address not 16-byte aligned", row_xload, VMFAIL(7)},
    {"VM-exit MSR-store address beyond the physical-address width", row_xstore, VMFAIL(7)},
    {"VM-entry must-be-1 bit clear", row_entry1, VMFAIL(7)},
    {"VM-entry must-be-0 bit set", row_entry0, VMFAIL(7)},
    {"VM-entry MSR-load address not 16-byte aligned", row_eload, VMFAIL(7)},
    {"injected event of reserved type 1", row_type1, VMFAIL(7)},
    {"injected NMI with vector 3", row_nmi3, VMFAIL(7)},
    {"injected hardware exception with vector 32", row_exc32, VMFAIL(7)},
    {"injected #UD with deliver-error-code", row_ud_code, VMFAIL(7)},
    {"injected #GP without deliver-error-code", row_gp_nocode, VMFAIL(7)},
    {"interruption-information bits 30:12 set", row_intr_rsvd, VMFAIL(7)},
    {"injected error code bits 31:16 set", row_code_high, VMFAIL(7)},
    {"injected software interrupt with instruction length 16", row_soft16, VMFAIL(7)},
    {"injected software interrupt with instruction length 0", row_soft0, VMFAIL(7)},
    {"host CR0.NE clear (IA32_VMX_CR0_FIXED0)", row_hcr0, VMFAIL(8)},
    {"host CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", row_hvmxe, VMFAIL(8)},
    {"host CR4 bit outside IA32_VMX_CR4_FIXED1 set", row_hcr4, VMFAIL(8)},
    {"host IA32_PAT with reserved memory type 2", row_hpat, VMFAIL(8)},
    {"host CS selector 0", row_hcs0, VMFAIL(8)},
    {"host CS selector RPL 1", row_hcsrpl, VMFAIL(8)},
    {"host DS selector TI set", row_hdsti, VMFAIL(8)},
    {"host TR selector 0", row_htr0, VMFAIL(8)},
    {"host CR3 beyond the physical-address width", row_hcr3, VMFAIL(8)},
    {"host IA32_EFER.LMA clear with a 64-bit host", row_hlma, VMFAIL(8)},
    {"host FS base not canonical", row_hfs, VMFAIL(8)},
    {"host GDTR base not canonical", row_hgdtr, VMFAIL(8)},
    {"host TR base not canonical", row_htrb, VMFAIL(8)},
    {"host IA32_SYSENTER_EIP not canonical", row_hsyseip, VMFAIL(8)},
    {"host address-space size 0 in IA-32e mode", row_has0, VMFAIL(8)},
    {"host RIP not canonical", row_hrip, VMFAIL(8)},
    {"host SS selector 0 with host address-space size 0", row_hss0, VMFAIL(8)},
    {"host address-space size 1 outside IA-32e mode", row_has1, VMFAIL(8)},
    {"IA-32e mode guest outside IA-32e mode", row_hia32e, VMFAIL(8)},
    {"host CR4.PCIDE with host address-space size 0", row_hpcide, VMFAIL(8)},
    {"guest CR0.NE clear (IA32_VMX_CR0_FIXED0)", row_gcr0, GUESTQ(0)},
    {"guest CR4.VMXE clear (IA32_VMX_CR4_FIXED0)", row_gvmxe, GUESTQ(0)},
    {"guest CR4 bit outside IA32_VMX_CR4_FIXED1 set", row_gcr4, GUESTQ(0)},
    {"guest IA32_PAT with reserved memory type 2", row_gpat, GUESTQ(0)},
    {"guest CS of data type 3", row_csdata, GUESTQ(0)},
    {"guest CS DPL 3 with SS DPL 0", row_csdpl, GUESTQ(0)},
    {"guest SS of code type 11", row_sscode, GUESTQ(0)},
    {"guest DS type without the accessed bit", row_dsacc, GUESTQ(0)},
    {"guest DS limit 0xffffffff with G clear", row_dsg, GUESTQ(0)},
    {"guest TR unusable", row_trunus, GUESTQ(0)},
    {"guest TR of type 9 (TSS not busy)", row_tr9, GUESTQ(0)},
    {"guest LDTR usable with type 3", row_ldtr3, GUESTQ(0)},
    {"guest GDTR limit above 0xffff", row_gdtrlim, GUESTQ(0)},
    {"guest RFLAGS reserved bit 15 set", row_rf15, GUESTQ(0)},
    {"guest RFLAGS.VM set", row_rfvm, GUESTQ(0)},
    {"guest activity state 4", row_act4, GUESTQ(0)},
    {"guest blocking by STI and by MOV SS", row_stimovss, GUESTQ(0)},
    {"guest blocking by STI with RFLAGS.IF 0", row_stiif0, GUESTQ(0)},
    {"guest interruptibility bit 5 set", row_intr5, GUESTQ(0)},
    {"guest pending debug exceptions bit 4 set", row_pdbg4, GUESTQ(0)},
    {"VMCS link pointer to a page without the VMCS revision", row_linkzero, GUESTQ(4)},
    {"VMCS link pointer not page aligned", row_linkalign, GUESTQ(4)},
    {"guest CR3 beyond the physical-address width", row_gcr3, GUESTQ(0)},
    {"guest DR7 bit 32 set with load debug controls", row_dr7, GUESTQ(0)},
    {"guest IA32_EFER.LMA clear in an IA-32e mode guest", row_glma, GUESTQ(0)},
    {"guest IA32_SYSENTER_ESP not canonical", row_gsysesp, GUESTQ(0)},
    {"guest CS with L and D/B set", row_csldb, GUESTQ(0)},
    {"guest FS base not canonical", row_gfs, GUESTQ(0)},
    {"guest GDTR base not canonical", row_ggdtr, GUESTQ(0)},
    {"guest RIP not canonical in 64-bit mode", row_grip, GUESTQ(0)},
    {"guest PDPTE 3 with reserved bit 1 set", row_pdpte3, GUESTQ(2)},
    {"IA32_FS_BASE as entry 2 of 3", row_mfs, MSRQ(2)},
    {"IA32_SMBASE (SMM only) as entry 1 of 2", row_msmbase, MSRQ(1)},
    {"x2APIC TPR (0x808) as entry 3 of 3", row_mx2apic, MSRQ(3)},
    {"entry 2 of 2 with reserved bits 63:32 set", row_mrsvd, MSRQ(2)},
    {"IA32_KERNEL_GS_BASE not canonical (WRMSR would #GP) as entry 1 of 1", row_mkgs, MSRQ(1)},
};

/* Each row's state, broken as the suite breaks it, gets the outcome the
 * suite expects (and Bochs gives, but for the rows it names as Bochs
 * bugs); a row must also break something, so its base must enter. */
static void test_suite_rows(void **state)
{
    (void)state;
    struct st *s = &the_state;
    struct ecm_result r;
    u32 bad = 0;

    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        rows[i].fn(s);
        predict(s, &r);
        if (!ecm_acceptable(&r, &rows[i].want) || r.outcome.kind != rows[i].want.kind ||
            r.outcome.code != rows[i].want.code || r.outcome.qual != rows[i].want.qual) {
            print_failed("suite row mispredicted", rows[i].name, &r);
            bad++;
        }
    }
    assert_int_equal(bad, 0);
}

/* --- docs/entry-checks.md, generated from the table (--doc) ------------- */

/* (printf only: snprintf is the library's in this build, see unit.mk) */
static void print_outcome(const struct ecm_check *k)
{
    switch (k->stage) {
    case ECM_BASIC: case ECM_CTL: case ECM_HOST:
        printf("VMfailValid %u", k->error);
        break;
    case ECM_GUEST:
        printf("exit 33, qual. %u%s", k->qual, k->how == ECM_IMPL ? " or entry" : "");
        break;
    default:
        printf("%s", k->how == ECM_UNDEF ? "undefined" : "exit 34, qual. = entry");
    }
}

static void print_doc(void)
{
    static const char *const stage[] = {
        "27.1 basic checks (in this order)",
        "27.2.1 VM-execution, VM-exit and VM-entry control fields",
        "27.2.2-27.2.4 host-state area",
        "27.3.1 guest-state area",
        "27.4 MSR loading (each entry of the VM-entry MSR-load area, in order)",
    };
    printf("# VM-entry checks\n\n"
           "<!-- Generated from ecm_checks[] in lhv/vmx/entry_checks.c by\n"
           "     build/host/test_entry_checks --doc > docs/entry-checks.md\n"
           "     (make test fails when this file and the table differ). -->\n\n"
           "LHV carries an executable model of the checks VMLAUNCH and VMRESUME make, written\n"
           "from the Intel SDM Vol. 3C chapter 27 \"VM Entries\" (`lhv/vmx/entry_checks.c`,\n"
           "`ecm_predict`). Given a VMCS image, the VMX capability MSRs and the processor facts\n"
           "the checks read (MAXPHYADDR, linear-address width, IA-32e mode, launch state, MOV SS\n"
           "blocking, physical memory, which WRMSRs fault), it predicts the outcome, names the\n"
           "check that decided it, and lists every outcome the SDM allows. It is a pure function,\n"
           "unit-tested on the host (`tests/unit/test_entry_checks.c`: for every check a valid\n"
           "state and the same state with that one rule broken; the rows of\n"
           "`vmx/entry-checks-*` replayed) and built into LHV for both subarchs, where the\n"
           "suite test `vmx/fuzz-entry` holds it against the L0 (docs/tests.md).\n\n"
           "## Order and outcomes\n\n"
           "- 27.1: blocking by MOV SS (VMfailValid 26), then VMLAUNCH of a launched VMCS (4),\n"
           "  then VMRESUME of a clear one (5), in that order.\n"
           "- 27.2: control fields (VMfailValid 7) and host state (VMfailValid 8). The SDM says\n"
           "  these checks \"may be performed in any order\": with both kinds broken, 7 and 8 are\n"
           "  both acceptable. They all come before any guest-state check.\n"
           "- 27.3.1: guest state, VM-entry failure exit 33 (bit 31 set). The exit qualification\n"
           "  is 0, 2 (PDPTEs), 3 (NMI injected with blocking by STI) or 4 (VMCS link pointer);\n"
           "  these checks too may be made in any order (27.8), so with several broken every\n"
           "  failing check's qualification is acceptable. The NMI/STI check is\n"
           "  implementation-specific: a CPU may fail it or go on.\n"
           "- 27.4: after the guest state is loaded, the VM-entry MSR-load area entry by entry:\n"
           "  exit 34 with the 1-based index of the first failing entry. A count above\n"
           "  512 * (IA32_VMX_MISC[27:25] + 1) is undefined behaviour (A.6): any outcome goes.\n"
           "- Memory the model reads (VTPR, the VMCS link pointer's revision word, PDPTEs without\n"
           "  EPT, MSR-load entries) comes from a callback; where nothing is there it reads\n"
           "  all-ones bytes. Physical addresses of VMCS data structures must fit in 32 bits when\n"
           "  IA32_VMX_BASIC[48] is 1. \"(Intel 64)\" marks checks the SDM makes only on\n"
           "  processors that support Intel 64.\n\n"
           "Not modelled (LHV's VMCS does not use these, or the state cannot arise outside SMM):\n"
           "27.1's #UD/#GP and VMfailInvalid cases (no current VMCS, CPL > 0), SMM and the\n"
           "dual-monitor treatment beyond \"entry to SMM\" and \"deactivate dual-monitor\n"
           "treatment\" being 0 (the executive-VMCS errors), tertiary processor-based and\n"
           "secondary VM-exit controls, and the guest/host CET, PKRS, IA32_RTIT_CTL,\n"
           "IA32_LBR_CTL and UINV checks; a machine check during entry (exit 41) is the L0's\n"
           "business.\n");
    for (int st = ECM_BASIC; st <= ECM_MSR; st++) {
        printf("\n## %s\n\n| id | SDM 3C | outcome | rule |\n|---|---|---|---|\n", stage[st]);
        for (u32 i = 0; i < ecm_nchecks; i++) {
            const struct ecm_check *k = &ecm_checks[i];
            if (k->stage != st)
                continue;
            printf("| `%s` | %s | ", k->id, k->sdm);
            print_outcome(k);
            printf(" | %s |\n", k->text);
        }
    }
    printf("\n%u checks.\n", ecm_nchecks);
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--doc")) {
        print_doc();
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_check_has_a_case),
        cmocka_unit_test(test_each_check_both_ways),
        cmocka_unit_test(test_delta),
        cmocka_unit_test(test_secondary_inactive),
        cmocka_unit_test(test_open_order),
        cmocka_unit_test(test_widths),
        cmocka_unit_test(test_suite_rows),
    };
    return cmocka_run_group_tests_name("entry_checks", tests, NULL, NULL);
}
