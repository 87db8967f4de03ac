/* LHV as L0 (lhv.l0=1, docs/l0.md): a thin pass-through hypervisor that
 * boots module 1, a multiboot kernel, as its guest on every CPU, in VMX
 * non-root operation with EPT. One file per concept:
 *   loader.c  the guest kernel and its multiboot information
 *   memory.c  the L0's footprint, the RAM that stands in for it, the EPT
 *   vcpu.c    the guest's VMCS on each CPU (multiboot entry, INIT, SIPI)
 *   exits.c   the exits it must take: CPUID, end actions, INIT/SIPI, CRs
 *   task.c    task switches of a 32-bit guest
 *   nested.c  VMX for the guest (lhv.l0.nested=1): its VMX instructions, L2
 *   nested_own.c  the L0's own intercepts while L2 runs (never reflected)
 *   tests.c   the L0's own l0/... verdicts, after the guest's end action
 *   tests_nested.c  its l0/nested-isolation-* verdicts (lhv.l0.nested=1)
 *   l0.c      the order of it all
 * The L0 is amd64 only (the guest may be either subarch); on i386 only
 * l0_check is built and it refuses. */
#ifndef LHV_L0_H
#define LHV_L0_H

#include "boot_params.h"
#include "options.h"

/* Before the platform comes up: the module list (FATAL when it is not a
 * guest kernel this L0 can load) and, on i386, the refusal. */
void l0_check(const struct lhv_boot_params *p);
/* After the platform and VMX are up: loads the guest, starts it on every
 * CPU; never returns (the guest's end action ends the run). */
__attribute__((noreturn)) void l0_run(const struct lhv_boot_params *p,
                                      const struct lhv_options *opts);

#ifdef __x86_64__
#include "percpu.h"
#include "vmx/ept.h"

/* CPUID leaf 0x40000000 of the guest: EBX ECX EDX = "LHV L0      " (the
 * guest's emulator detection names it "LHV", xmhf/lib/emulator.c) */
#define LHV_L0_SIGNATURE_EBX 0x2056484cu /* "LHV " */
#define LHV_L0_SIGNATURE_ECX 0x2020304cu /* "L0  " */
#define LHV_L0_SIGNATURE_EDX 0x20202020u /* "    " */

/* --- memory.c --- */
struct l0_memory {
    u64 own_base, own_end; /* the L0's footprint, 2 MiB aligned: image, bss, SL area
                              (page tables, boot parameters), allocator pool */
    u64 backing;           /* host RAM that the guest sees at [own_base, own_end) */
    struct lhv_mmap_entry map[LHV_MMAP_MAX]; /* the guest's memory map */
    u32 map_count;
    struct ept ept;
};
extern struct l0_memory l0_mem;
/* Chooses the backing RAM and writes the guest's map; NULL or why not. */
const char *l0_memory_plan(const struct lhv_boot_params *p);
/* Builds the EPT (identity, the footprint remapped, the backing absent). */
void l0_memory_build_ept(void);
/* Where guest-physical gpa lives in host memory; ~0 when it is hidden. */
u64 l0_gpa_to_hpa(u64 gpa);
/* True when [gpa, gpa+len) is RAM of the guest's map. */
bool l0_guest_ram(u64 gpa, u64 len);

/* --- loader.c --- */
struct l0_guest_image {
    u32 entry;         /* EIP at the multiboot entry */
    u32 mbi;           /* EBX: the multiboot information built for it */
    u64 load_lo, load_hi; /* guest-physical span of the kernel (bss included) */
    char kind[8];      /* "ELF" or "a.out" */
};
extern struct l0_guest_image l0_image;
/* Checks module 1 and the modules' places (FATAL); with `load` copies the
 * kernel and builds the multiboot information in guest memory. */
void l0_loader(const struct lhv_boot_params *p, bool load);

/* --- vcpu.c --- */
struct l0_vcpu {
    struct guest_regs regs; /* first: vmx_run's exit stub passes it */
    void *vmcs;
    u32 cpu;
    bool launched;
    volatile bool waiting;  /* entered in wait-for-SIPI, not started yet */
    volatile bool started;  /* ran guest code in VMX non-root (BSP, or after a SIPI) */
    u32 sipi_vector;
    bool sipi_fresh;        /* entered after a SIPI, no exit since */
    u32 inits, sipis;
    u32 inits_dropped;      /* INIT IPIs for it the L0 did not send (exits.c) */
    u64 exits;
    u64 cpuid_exits, io_exits, cr_exits;
    bool switched;          /* nested.c made another VMCS current: enter it */
    bool launch_next;       /* ... with VMLAUNCH (a fresh VMCS02) */
};
extern struct l0_vcpu l0_vcpus[LHV_MAX_CPUS];
/* Makes this CPU's guest VMCS current: controls, host state, EPT */
void l0_vcpu_init(struct l0_vcpu *v);
/* Guest state: the multiboot entry (BSP), INIT (wait-for-SIPI), SIPI */
void l0_vcpu_multiboot_state(struct l0_vcpu *v, u32 eip, u32 mbi);
void l0_vcpu_init_state(struct l0_vcpu *v);
void l0_vcpu_sipi_state(struct l0_vcpu *v, u32 vector);
/* 32-bit protected mode, flat, paging off, at eip (the L0's own probes) */
void l0_vcpu_flat32_state(struct l0_vcpu *v, u32 eip);
/* Enters the guest until the run ends (never returns but for a probe) */
void l0_vcpu_run(struct l0_vcpu *v);
/* The controls and bitmaps the CPU must allow: NULL or what is missing */
const char *l0_vcpu_unsupported(void);
void l0_vcpu_setup_bitmaps(u16 pm1a_cnt);
/* The L0's own I/O bitmaps (A, then B) and MSR bitmap */
extern u8 *l0_io_bitmaps, *l0_msr_bitmap;

/* --- exits.c --- */
enum l0_end_kind { L0_END_NONE, L0_END_POWEROFF, L0_END_RESET };
struct l0_end {
    enum l0_end_kind kind;
    const char *how;  /* "ACPI S5", "isa-debug-exit", ... */
    u32 port, value, cpu;
    bool failed;      /* isa-debug-exit with a failure status */
};
extern struct l0_end l0_end;
/* Probe mode: exits stop the run (tests.c reads them) instead of their
 * normal handling, but for CPUID and (lhv.l0.nested=1) VMX instructions. */
extern volatile bool l0_probing;
/* vmx_run's handler (EXIT_RESUME or, probing, EXIT_STOP) */
enum exit_action l0_on_exit(struct guest_regs *regs);
/* The I/O exit of an end action's port; the x2APIC ICR's WRMSR exit */
void l0_exit_io(struct l0_vcpu *v, u64 qual);
void l0_exit_icr_write(struct l0_vcpu *v);
/* Guest state for a FATAL line */
void l0_guest_state_line(char *buf, size_t n);

/* --- task.c --- */
/* Emulates the task switch that exited; NULL or what it could not do */
const char *l0_task_switch(struct l0_vcpu *v, u64 qual);

/* Guest-linear memory through the guest's paging (none, 32-bit, PAE,
 * 4-level) and the EPT map: 0 done, 1 a page not present in the guest's
 * paging (its #PF), 2 a guest-physical address outside its memory */
int l0_guest_copy(u64 la, void *buf, u32 n, bool write);

/* --- nested.c (lhv.l0.nested=1, docs/l0.md "Nested VMX") --- */
extern bool l0_nested;
extern bool l0_nested_fc_unlocked; /* lhv.l0.feature-control=unlocked (nested.c) */
#define L0_VMCS_REVISION 0x4c30u /* "0L": the VMCS revision identifier L1 sees */
/* On the BSP with its guest's VMCS current: the fields the CPU has */
void l0_nested_setup(void);
/* The MSR bitmap bits of the emulated MSRs */
void l0_nested_msr_bitmap(u8 *bitmap);
/* CPUID.1:ECX as the guest sees it */
u32 l0_nested_cpuid1_ecx(u32 ecx);
/* A VMX instruction's, RDMSR's or WRMSR's exit; false: not one it takes */
bool l0_nested_exit(struct l0_vcpu *v, u32 reason);
/* L2 runs on this CPU (VMCS02 current) */
bool l0_nested_in_l2(struct l0_vcpu *v);
/* An exit of L2: reflected to L1 (EXIT_STOP: l0_vcpu_run enters VMCS01 again) */
enum exit_action l0_nested_l2_exit(struct l0_vcpu *v, u32 reason);
/* IA32_FEATURE_CONTROL or a VMX capability MSR as L1 reads it; false: #GP */
bool l0_nested_vmx_msr(u32 msr, u64 *value);
/* A field of this CPU's current VMCS12 */
u64 l0_nested_vmcs12(struct l0_vcpu *v, u32 enc);
/* Back to VMCS01 when L2 runs (the guest's end action came from L2) */
void l0_nested_leave_l2(struct l0_vcpu *v);
/* Out of the guest's VMX operation on this CPU, nothing written back
 * (the guest is done: the L0's probes) */
void l0_nested_reset(struct l0_vcpu *v);

/* --- nested_own.c: the L0's own intercepts while L2 runs --- */
/* VMCS02 current: L1's MSR (and I/O) bitmaps merged with the L0's */
void l0_nested_own_vmcs02(struct l0_vcpu *v);
/* dst = L1's page at l1_gpa OR mine; all ones where l1_gpa is not RAM of
 * L1's map (false then: never read) */
bool l0_nested_merge_page(u8 *dst, u64 l1_gpa, const u8 *mine);
/* An exit of L2 L1 did not ask for: L0_OWN_DONE (taken, L2 resumes), 0
 * (reflect it), or the interruption information of an exception the L0
 * raised in L2 that L1's exception bitmap takes (reflected as exit 0) */
#define L0_OWN_DONE 1u
#define L0_OWN_INIT 2u /* give L1 an INIT exit instead (nested_init.c) */
u32 l0_nested_own_exit(struct l0_vcpu *v, u32 reason);
/* nested_init.c: INIT for a CPU whose L1 is in VMX operation. The
 * sender's ICR write: true when the L0 holds the INIT for that CPU (never
 * sent); VMCS02's timer for it; L2's timer exit the L0 took (L0_OWN_DONE,
 * L0_OWN_INIT, or 0: L1's); at L1's VMXOFF; INIT exits given to L1 */
bool l0_nested_init_hold(u32 cpu);
void l0_nested_init_vmcs02(struct l0_vcpu *v);
u32 l0_nested_init_exit(struct l0_vcpu *v);
void l0_nested_init_vmxoff(struct l0_vcpu *v);
u32 l0_nested_inits(u32 cpu);
/* A PAE guest's PDPTEs from its CR3 into the current VMCS (exits.c) */
void l0_load_pdptes(void);
/* MOV to CR0/CR4 that VMX operation forbids (#GP injected): true */
bool l0_nested_cr_refused(struct l0_vcpu *v, u32 cr, u64 value);
/* nested_ept.c, nested_inv.c: the secondary controls. PROCBASED_CTLS2,
 * EPT_VPID_CAP (false: VMFUNC, #GP) */
bool l0_nested_msr2(u32 msr, u64 *value);
/* VMCS02's secondary controls, EPT pointer and VPID for VMCS12 (img);
 * returns the secondary controls L1 asked for */
u32 l0_nested_vmcs02_secondary(struct l0_vcpu *v, u8 *img, u32 proc);
/* EPT02's EPTP for EPT12's (a new EP4TA empties it first) */
u64 l0_ept02_eptp(u32 cpu, u64 eptp12);
/* Empties EPT02 when it shadows ep4ta (~0: any) */
void l0_ept02_drop(u32 cpu, u64 ep4ta);
/* An exit of L2 (*reason12 its reason): true when the L0 handled it
 * (EPT02 filled), else *reason12 and *qual12 are what L1 gets */
bool l0_ept02_exit(struct l0_vcpu *v, u8 *img, u32 *reason12, u64 *qual12);
/* After VMCS12's exit fields are copied: reason, EPT qualification, PDPTEs */
void l0_ept02_exit_fields(u8 *img, u32 reason12, u64 qual12);
/* INVEPT, INVVPID: offered (else #UD); emulated past #UD and #GP(0) */
bool l0_nested_inv_offered(u32 reason);
void l0_nested_inv(struct l0_vcpu *v, bool ept, u32 info, u64 disp);
struct l0_ept02_counts {
    u32 fills, reflected, drops, invept, invvpid;
};
extern struct l0_ept02_counts l0_ept02_counts[LHV_MAX_CPUS];
/* Emulated instructions by exit reason 18..27 (VMCALL..VMXON) */
#define L0_NESTED_INSNS 10
struct l0_nested_counts {
    u32 insn[L0_NESTED_INSNS];
    u32 fail_valid, fail_invalid, ud, gp, pf;
    u32 l2_entries, l2_exits, l2_own;
    u64 l2_own_reasons; /* the exit reasons the L0 took itself, by bit */
};
extern struct l0_nested_counts l0_nested_counts[LHV_MAX_CPUS];

/* --- tests.c --- */
/* After the guest's end action, on the CPU that took it: the l0/...
 * verdicts, SUMMARY, then the real end action. */
__attribute__((noreturn)) void l0_finish(struct l0_vcpu *v);
/* tests_nested.c: l0/nested-isolation-* (a probe on v's CPU) */
void l0_nested_isolation_tests(struct l0_vcpu *v);
#endif

#endif
