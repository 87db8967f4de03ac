/* vmx/unrestricted-guest-unpaged: with "unrestricted guest" (secondary
 * control bit 7, which needs EPT) a guest enters in protected mode with
 * paging off: CR0.PE 1, CR0.PG 0 pass the entry checks that IA32_VMX_CR0_FIXED0
 * would otherwise fail (SDM 3C 25.6.2, 27.3.1.1). The 32-bit guest (also
 * on the amd64 host) reads its CR0 and a word at its guest-physical address
 * (linear = guest-physical without paging, then EPT's identity map); both
 * reach the host in VMCALLs. Without the control the same state fails VM
 * entry (reason 33), where IA32_VMX_CR0_FIXED0 fixes PG to 1. */
#include "cpu.h"
#include "suite/vmx_test.h"
#include "x86.h"
#include "guest_paging.h"

#define UG_REPORT 0x0f02u
#define UG_WORD 0x7e57a11du

__asm__(".pushsection .data\n"
        ".balign 4\n"
        "ug_word: .long 0x7e57a11d\n"
        ".popsection\n"
        ".pushsection .text\n"
        ".code32\n"
        "ug_guest32:\n\t"
        "mov %cr0, %ebx\n\t"
        "mov $0x0f02, %eax\n\t"
        "vmcall\n\t"
        "mov ug_word, %ebx\n\t"
        "mov $0x0f02, %eax\n\t"
        "vmcall\n\t"
        "xor %eax, %eax\n\t" /* HC_DONE */
        "vmcall\n\t"
        "ud2\n"
#ifdef __x86_64__
        ".code64\n"
#endif
        ".popsection");
extern const char ug_guest32[];

struct ug_seen {
    u32 values[2];
    u32 reports;
};

static enum exit_action ug_hook(struct vcpu *v, u32 reason)
{
    struct ug_seen *s = v->test_data;

    if (reason != EXIT_REASON_VMCALL || (u32)REG_AX(v) != UG_REPORT)
        return EXIT_DEFAULT;
    if (s->reports < 2)
        s->values[s->reports] = (u32)REG_BX(v);
    s->reports++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

/* The test guest, under EPT, made a 32-bit guest with paging off */
static struct vcpu *ug_guest(struct cpu_outcome *o, bool unrestricted, struct ug_seen *s)
{
    struct vcpu *v = test_guest(o);

    if (!v)
        return NULL;
    if (!vcpu_use_ept(v, guest_identity_ept(), 0)) {
        outcome_fail(o, "EPT: %s", v->why);
        return NULL;
    }
    if (unrestricted)
        vmw_or(SECONDARY_VM_EXEC_CONTROL, CPU2_UNRESTRICTED_GUEST);
    guest_make_32bit();
    vmw(GUEST_CR0, read_cr0() & ~(unsigned long)CR0_PG);
    vmw(GUEST_CR4, vmx_caps.cr4_fixed0);
    vmw(CR4_READ_SHADOW, 0);
    vmw(GUEST_CR3, 0);
    v->hook = ug_hook;
    v->test_data = s;
    return v;
}

static void check_unrestricted_unpaged(struct cpu_outcome *o, void *arg)
{
    const char *why = ept_unsupported();
    struct ug_seen s = {{0, 0}, 0};
    struct vcpu *v;
    (void)arg;

    if (why)
        return outcome_skip(o, "%s", why);
    if (!require_control(o, CTL_PROC2, CPU2_UNRESTRICTED_GUEST, "unrestricted guest"))
        return;
    if (!(v = ug_guest(o, true, &s)) ||
        !test_guest_run_at(o, v, (uintptr_t)ug_guest32, 0, 0) || !CHECK_EQ(o, s.reports, 2) ||
        !CHECK_EQ(o, s.values[0] & (CR0_PE | CR0_PG), CR0_PE) ||
        !CHECK_EQ(o, s.values[1], UG_WORD))
        return;
    if (!(vmx_caps.cr0_fixed0 & CR0_PG) || !(v = ug_guest(o, false, &s)))
        return;
    struct run_result r = vcpu_run_at(v, (uintptr_t)ug_guest32, 0, 0);
    if (CHECK_EQ(o, r.end, RUN_ENTRY_FAILURE))
        CHECK_EQ(o, r.exit_reason, EXIT_REASON_INVALID_GUEST_STATE);
}
VMX_TEST_ALL_CPUS("vmx/unrestricted-guest-unpaged", check_unrestricted_unpaged);
