/* The L0's own tests (docs/tests.md, group l0): judged after the guest's
 * end action reached the L0, on the CPU that took it, then SUMMARY and the
 * real end action. Two of them VM-enter a probe on that CPU (its guest is
 * done): 32-bit code in low guest memory that writes into the L0's
 * guest-physical range, reads CPUID leaves 1 and 0x40000000 and then reads
 * the hidden host range, which must end in an EPT violation there. */
#include "l0/l0.h"

#ifdef __x86_64__
#include "console.h"
#include "end.h"
#include "smp.h"
#include "string.h"
#include "verdict.h"
#include "vmx/ept.h"
#include "x86.h"

/* A test's name, as docs/tests.md lists it (tests/system/check_docs.py) */
#define L0_TEST(name) name

#define PROBE_CODE 0x7000u
#define PROBE_OUT 0x7800u
#define CANARY 0x1234abcdu
#define PROBE_WORD 0x4c304c30u /* "0L0L" */

static volatile u32 canary = CANARY;

struct probe {
    u32 reason, gpa_ok;
    u64 gpa, qual;
    u32 leaf1_ecx, sig[3];
    bool canary_kept, write_landed;
};

static u8 *emit32(u8 *p, u32 v)
{
    memcpy(p, &v, 4);
    return p + 4;
}

static struct probe run_probe(struct l0_vcpu *v)
{
    struct probe r = {0};
    u32 canary_gpa = (u32)(uintptr_t)&canary;
    u64 hidden = l0_mem.backing + 0x1000;
    u8 code[64], *p = code;

    *p++ = 0xc7, *p++ = 0x05, p = emit32(p, canary_gpa), p = emit32(p, PROBE_WORD);
    *p++ = 0xb8, p = emit32(p, 1), *p++ = 0x0f, *p++ = 0xa2;     /* cpuid(1) */
    *p++ = 0x89, *p++ = 0x0d, p = emit32(p, PROBE_OUT);         /* ecx */
    *p++ = 0xb8, p = emit32(p, 0x40000000u), *p++ = 0x0f, *p++ = 0xa2;
    *p++ = 0x89, *p++ = 0x1d, p = emit32(p, PROBE_OUT + 4);     /* ebx */
    *p++ = 0x89, *p++ = 0x0d, p = emit32(p, PROBE_OUT + 8);     /* ecx */
    *p++ = 0x89, *p++ = 0x15, p = emit32(p, PROBE_OUT + 12);    /* edx */
    *p++ = 0xa1, p = emit32(p, (u32)hidden);                    /* read the hidden range */
    *p++ = 0x0f, *p++ = 0x08;                                   /* INVD: it went through */
    memcpy((void *)(uintptr_t)PROBE_CODE, code, (size_t)(p - code));
    memset((void *)(uintptr_t)PROBE_OUT, 0, 16);

    l0_probing = true;
    l0_vcpu_flat32_state(v, PROBE_CODE);
    l0_vcpu_run(v);
    l0_probing = false;
    r.reason = (u32)vmr(VM_EXIT_REASON);
    r.qual = vmr(EXIT_QUALIFICATION);
    r.gpa = vmr(GUEST_PHYSICAL_ADDRESS);
    r.gpa_ok = r.gpa == hidden;
    const u32 *out = (const u32 *)(uintptr_t)PROBE_OUT;
    r.leaf1_ecx = out[0];
    memcpy(r.sig, out + 1, sizeof(r.sig));
    r.canary_kept = canary == CANARY;
    r.write_landed = *(volatile u32 *)(uintptr_t)l0_gpa_to_hpa(canary_gpa) == PROBE_WORD;
    return r;
}

/* No guest-physical page reaches the L0's own memory; the footprint's
 * range is the backing, and the backing is neither mapped nor in the map. */
static const char *check_hidden(char *why, size_t n)
{
    struct ept *e = &l0_mem.ept;
    u64 size = l0_mem.own_end - l0_mem.own_base;
    int level;

    for (u32 i = 0; i < l0_mem.map_count; i++) {
        const struct lhv_mmap_entry *m = &l0_mem.map[i];
        if (m->type == LHV_MEM_USABLE && ranges_overlap(m->base, m->length, l0_mem.backing, size))
            return snprintf(why, n, "the guest's memory map has usable RAM 0x%llx-0x%llx in "
                            "the hidden range", m->base, m->base + m->length - 1), why;
        if (m->type == LHV_MEM_USABLE &&
            ranges_overlap(m->base, m->length, l0_mem.own_base, size) &&
            !ranges_overlap(m->base, m->length, l0_mem.own_base, 1))
            return snprintf(why, n, "odd map entry at 0x%llx", m->base), why;
    }
    for (u64 gpa = 0; gpa < e->top; gpa += PAGE_SIZE) {
        const u64 *entry = ept_entry(e, gpa, &level);
        if (!entry || !(*entry & EPT_RWX)) {
            if (level == 2)
                gpa += MiB(2) - PAGE_SIZE;
            continue;
        }
        u64 hpa = (*entry & EPT_ADDR_MASK) + (level == 2 ? (gpa & (MiB(2) - 1)) : 0);
        if (hpa >= l0_mem.own_base && hpa < l0_mem.own_end)
            return snprintf(why, n, "guest-physical 0x%llx maps the L0's own 0x%llx", gpa, hpa),
                   why;
        if (gpa >= l0_mem.backing && gpa < l0_mem.backing + size)
            return snprintf(why, n, "guest-physical 0x%llx in the hidden range is mapped", gpa),
                   why;
        if (gpa >= l0_mem.own_base && gpa < l0_mem.own_end &&
            hpa != l0_mem.backing + (gpa - l0_mem.own_base))
            return snprintf(why, n, "guest-physical 0x%llx maps 0x%llx, not its backing", gpa,
                            hpa), why;
        if (level == 2)
            gpa += MiB(2) - PAGE_SIZE;
    }
    return NULL;
}

/* lhv.l0.nested=1: the guest's VMX instructions were emulated on every
 * CPU it ran on (each entered VMX operation: a VMXON), and none of them
 * ended in an exit the L0 did not take (that would have been FATAL). */
static void check_nested(void)
{
    static const char *const names[L0_NESTED_INSNS] = {
        "VMCALL", "VMCLEAR", "VMLAUNCH", "VMPTRLD", "VMPTRST", "VMREAD", "VMRESUME",
        "VMWRITE", "VMXOFF", "VMXON"};
    u32 without = 0;
    if (!l0_nested) {
        verdict_skip(L0_TEST("l0/nested-vmx-instructions"), "%s", "lhv.l0.nested=0");
        return;
    }
    for (u32 i = 0; i < smp_cpu_count(); i++) {
        const struct l0_nested_counts *n = &l0_nested_counts[i];
        char line[200];
        size_t l = 0;
        if (!cpus[i].online || !l0_vcpus[i].started)
            continue;
        for (u32 k = 0; k < L0_NESTED_INSNS; k++)
            if (n->insn[k])
                l += (size_t)snprintf(line + l, sizeof(line) - l, "%s %u, ", names[k], n->insn[k]);
        printf("nested: CPU %u: %sVMfailValid %u, VMfailInvalid %u, #UD %u, #GP %u, #PF %u; L2 "
               "entries %u, exits %u (the L0's own %u)\n", i, line, n->fail_valid, n->fail_invalid, n->ud,
               n->gp, n->pf, n->l2_entries, n->l2_exits, n->l2_own);
        const struct l0_ept02_counts *e = &l0_ept02_counts[i];
        printf("nested: CPU %u: EPT02 fills %u, drops %u; EPT exits reflected %u; INVEPT %u, "
               "INVVPID %u; INIT exits held and given %u\n", i, e->fills, e->drops, e->reflected,
               e->invept, e->invvpid, l0_nested_inits(i));
        without += n->insn[EXIT_REASON_VMXON - EXIT_REASON_VMCALL] == 0;
    }
    verdict(without == 0, L0_TEST("l0/nested-vmx-instructions"),
            "%u CPU(s) of the guest executed no VMXON (lhv.l0.nested=1 offers VMX)", without);
}

void l0_finish(struct l0_vcpu *v)
{
    char why[200];
    static const char *const reason_kind[] = {"none", "power-off", "reset"};

    l0_nested_leave_l2(v); /* an end action of L2 (nested_own.c) */
    printf("end: the guest asked for %s (%s, port 0x%x value 0x%x) on CPU %u\n",
           reason_kind[l0_end.kind], l0_end.how, l0_end.port, l0_end.value, l0_end.cpu);

    u32 online = smp_online_count(), missing = 0;
    char names[120] = "";
    u64 total = 0;
    for (u32 i = 0; i < smp_cpu_count(); i++) {
        const struct l0_vcpu *c = &l0_vcpus[i];
        if (!cpus[i].online)
            continue;
        printf("exits: CPU %u: %llu (CPUID %llu, I/O %llu, CR %llu, INIT %u, SIPI %u%s)\n", i,
               c->exits, c->cpuid_exits, c->io_exits, c->cr_exits, c->inits, c->sipis,
               c->started ? "" : ", never started");
        total += c->exits;
        if (!c->started) {
            size_t l = strlen(names);
            snprintf(names + l, sizeof(names) - l, "%s%u", missing ? ", " : "", i);
            missing++;
        }
    }
    printf("exits: %llu in all\n", total);
    verdict(missing == 0, L0_TEST("l0/guest-every-cpu"),
            "the guest never ran on CPU %s of %u (no SIPI reached it)", names, online);

    const char *hidden = check_hidden(why, sizeof(why));
    verdict(!hidden, L0_TEST("l0/memory-hidden"), "%s", hidden);

    struct probe pr = run_probe(v);
    bool caught = pr.reason == EXIT_REASON_EPT_VIOLATION && pr.gpa_ok && (pr.qual & EPT_QUAL_READ);
    verdict(caught && pr.canary_kept && pr.write_landed, L0_TEST("l0/memory-protected"),
            "probe: exit %u (want 48, EPT violation) at 0x%llx (want 0x%llx), qualification "
            "0x%llx; write to the L0's range %s the L0 and %s its backing",
            pr.reason, pr.gpa, l0_mem.backing + 0x1000, pr.qual,
            pr.canary_kept ? "missed" : "REACHED", pr.write_landed ? "reached" : "missed");

    bool sig = pr.sig[0] == LHV_L0_SIGNATURE_EBX && pr.sig[1] == LHV_L0_SIGNATURE_ECX &&
               pr.sig[2] == LHV_L0_SIGNATURE_EDX;
    bool bits = (pr.leaf1_ecx & CPUID1_ECX_HYPERVISOR) &&
                !(pr.leaf1_ecx & CPUID1_ECX_VMX) == !l0_nested;
    verdict(sig && bits && l0_vcpus[0].cpuid_exits > 0, L0_TEST("l0/cpuid-identity"),
            "CPUID.1:ECX 0x%08x (want hypervisor bit 31 set, VMX bit 5 %s), leaf 0x40000000 "
            "0x%08x 0x%08x 0x%08x (want \"LHV L0      \"), guest CPUIDs on CPU 0: %llu",
            pr.leaf1_ecx, l0_nested ? "set (lhv.l0.nested=1)" : "clear", pr.sig[0], pr.sig[1],
            pr.sig[2], l0_vcpus[0].cpuid_exits);
    check_nested();
    l0_nested_isolation_tests(v);

    /* The guest (LHV) powers off at its end: under this L0 (no emulator
     * it knows) through ACPI S5; a reset or triple fault is no such end. */
    verdict(l0_end.kind == L0_END_POWEROFF, L0_TEST("l0/end-intercepted"),
            "the guest ended with a %s (%s), not a power-off", reason_kind[l0_end.kind],
            l0_end.how);
    bool ok = verdict_summary();
    end_run(l0_end.kind == L0_END_RESET ? LHV_END_REBOOT : LHV_END_POWEROFF,
            !ok || l0_end.failed);
}
#endif
