/* Nested VMX beyond nested.c (docs/l0.md "Nested VMX"): what nested.c
 * shares with the files that emulate L1's controls, and their hooks.
 *   nested_controls.c  the controls offered beyond nested.c's first set,
 *                      VMCS02's adjustments, which L2 exits L1 asked for
 *   nested_debugctl.c  IA32_DEBUGCTL for L1 and L2 where the CPU has none
 *   nested_msr.c       the VM-entry MSR-load, VM-exit MSR-store and
 *                      MSR-load areas (SDM 3C 27.4, 28.4, 28.6) */
#ifndef LHV_L0_NESTED_H
#define LHV_L0_NESTED_H

#include "l0/l0.h"

#ifdef __x86_64__
#include "vmx/vmcs.h"

/* --- nested.c: VMCS12's image and L1's memory (RAM of its map only) --- */
u64 l0_v12(u8 *img, u32 enc);
void l0_v12_set(u8 *img, u32 enc, u64 value);
bool l0_phys_copy(u64 gpa, void *buf, u32 n, bool write);
/* The L0's value of an emulated MSR (0x3a, 0x480-0x491); false: #GP */
bool l0_canonical(u64 a);

/* --- nested_debugctl.c: IA32_DEBUGCTL where the CPU has none --- */
#define L0_DEBUGCTL_VALID 0x3ull /* LBR and BTF, the bits the entry model allows */
/* At set-up: emulate it if RDMSR of it raises #GP (the bitmap then has it) */
void l0_debugctl_setup(u8 *msr_bitmap);
/* RDMSR/WRMSR of L1 or L2 (v's state says which); false: not emulated */
bool l0_debugctl_msr(struct l0_vcpu *v, bool write);
/* VM entry to L2 (27.3.2.1), VM exit to L1 (28.3.1, 28.5.1) */
void l0_debugctl_entry(struct l0_vcpu *v, u8 *img);
void l0_debugctl_exit(struct l0_vcpu *v, u8 *img);

/* --- nested_controls.c --- */
/* Offered beyond nested.c's PIN/PROC/EXIT/ENTRY_OFFER, where the CPU has
 * them: each is carried into VMCS02 as L1 set it (or translated) */
#define L0_PIN_MORE (PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER)
#define L0_PROC_MORE                                                                          \
    (CPU_INTERRUPT_WINDOW_EXITING | CPU_USE_TSC_OFFSETTING | CPU_INVLPG_EXITING |             \
     CPU_MWAIT_EXITING | CPU_RDPMC_EXITING | CPU_RDTSC_EXITING | CPU_CR3_LOAD_EXITING |       \
     CPU_CR3_STORE_EXITING | CPU_NMI_WINDOW_EXITING | CPU_MOV_DR_EXITING | CPU_USE_IO_BITMAPS | \
     CPU_MONITOR_EXITING | CPU_PAUSE_EXITING)
#define L0_EXIT_MORE                                                                          \
    (EXIT_SAVE_DEBUG_CONTROLS | EXIT_ACK_INTERRUPT_ON_EXIT | EXIT_SAVE_IA32_PAT |             \
     EXIT_LOAD_IA32_PAT | EXIT_SAVE_PREEMPTION_TIMER)
#define L0_ENTRY_MORE (ENTRY_LOAD_DEBUG_CONTROLS | ENTRY_LOAD_IA32_PAT)
/* IA32_VMX_MISC as L1 reads it */
u64 l0_nested_misc(void);
/* Before VMCS02 is built (VMCS01 current): L1's state VMCS02 may need */
void l0_nested_pre_entry(struct l0_vcpu *v, u8 *img);
/* VMCS02 (current) after nested.c copied VMCS12 into it: the L0's
 * adjustments; NULL or what it refuses (never followed) */
const char *l0_nested_vmcs02(struct l0_vcpu *v, u8 *img);
/* An exit of L2 (VMCS02 current): whether L1's controls ask for it */
bool l0_nested_l1_wants(struct l0_vcpu *v, u8 *img, u32 reason);
/* A reflected exit: VMCS02's state into VMCS12 as L1's exit controls say
 * (VMCS02 current, after nested.c's copy), then (VMCS01 current, L1's
 * host state loaded) what the exit leaves in L1; ran false: a VM-entry
 * failure (27.8), L2 never ran */
void l0_nested_exit_to12(struct l0_vcpu *v, u8 *img);
void l0_nested_exit_to01(struct l0_vcpu *v, u8 *img, bool ran);

/* --- nested_msr.c --- */
/* The entry model's "WRMSR would not fault" (27.4), without writing */
bool l0_nested_wrmsr_ok(const void *ctx, u32 msr, u64 value);
/* Loads the first n entries of VMCS12's VM-entry MSR-load area (27.4; the
 * MSRs VMCS02 holds are kept for l0_nested_msr_fields02): 0, or the
 * 1-based index of an entry that failed */
u32 l0_nested_entry_msrs(struct l0_vcpu *v, u8 *img, u32 n);
void l0_nested_msr_fields02(struct l0_vcpu *v);
/* 28.4 (VMCS02 current) and 28.6 (VMCS01 current); a failure is a VMX
 * abort (28.7): FATAL naming it */
void l0_nested_exit_store(struct l0_vcpu *v, u8 *img);
void l0_nested_exit_load(struct l0_vcpu *v, u8 *img);
#endif

#endif
