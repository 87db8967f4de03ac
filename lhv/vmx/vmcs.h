/* VMX definitions with the SDM's names: capability MSRs (Vol. 4 and Vol.
 * 3D appendix A), VMCS field encodings (appendix B), control bits
 * (chapter 25), exit reasons (appendix C). Plain #defines, so that
 * assembly can include it too (enter-SUBARCH.S: HOST_RSP). */
#ifndef LHV_VMX_VMCS_H
#define LHV_VMX_VMCS_H

/* Capability and control MSRs */
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCKED (1u << 0)
#define FEATURE_CONTROL_VMXON_OUTSIDE_SMX (1u << 2)
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_PINBASED_CTLS 0x481
#define MSR_IA32_VMX_PROCBASED_CTLS 0x482
#define MSR_IA32_VMX_EXIT_CTLS 0x483
#define MSR_IA32_VMX_ENTRY_CTLS 0x484
#define MSR_IA32_VMX_MISC 0x485
#define MSR_IA32_VMX_CR0_FIXED0 0x486
#define MSR_IA32_VMX_CR0_FIXED1 0x487
#define MSR_IA32_VMX_CR4_FIXED0 0x488
#define MSR_IA32_VMX_CR4_FIXED1 0x489
#define MSR_IA32_VMX_VMCS_ENUM 0x48a
#define MSR_IA32_VMX_PROCBASED_CTLS2 0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP 0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS 0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS 0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS 0x490
#define MSR_IA32_VMX_VMFUNC 0x491
#define VMX_BASIC_TRUE_CTLS (1ull << 55)
#define VMX_BASIC_PHYS_32BIT (1ull << 48)  /* VMX structures below 4 GiB: 0 on Intel 64 */
#define VMX_BASIC_MEMTYPE(basic) (((basic) >> 50) & 0xf) /* 0 UC, 6 WB */
/* The default1 class of each control (A.2): bits the non-TRUE capability
 * MSRs report as fixed to 1 */
#define VMX_PIN_DEFAULT1 0x00000016u
#define VMX_PROC_DEFAULT1 0x0401e172u
#define VMX_EXIT_DEFAULT1 0x00036dffu
#define VMX_ENTRY_DEFAULT1 0x000011ffu
#define VMX_MISC_VMWRITE_ANY (1ull << 29) /* VMWRITE to exit-information fields */

#define VMX_BASIC_INOUT_INFO (1ull << 54) /* INS/OUTS exits report instruction information */
#define VMX_MISC_ACTIVITY_HLT (1ull << 6)  /* the HLT activity state is supported */
#define VMX_MISC_ACTIVITY_SHUTDOWN (1ull << 7)  /* the shutdown activity state */
#define VMX_MISC_ACTIVITY_WAIT_SIPI (1ull << 8) /* the wait-for-SIPI activity state */

/* The shadow-VMCS indicator: bit 31 of a VMCS region's revision (25.2) */
#define VMCS_SHADOW_INDICATOR 0x80000000u

/* Guest segment access rights (25.4.1): the descriptor's bits 8-15 and
 * 20-23 as bits 0-7 and 12-15, and bit 16 "unusable" */
#define AR_DPL3 (3u << 5)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)
/* Bits 4:0 and 7 of the access rights: the descriptor's type, S (code or
 * data) and P (SDM 3A 3.4.5, 3.5 tables 3-1, 3-2) */
#define AR_TYPE_DATA_RW_ACCESSED 0x3u
#define AR_TYPE_LDT 0x2u
#define AR_S (1u << 4)
#define AR_PRESENT (1u << 7)

/* Guest activity state (25.4.2) */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1
#define ACTIVITY_SHUTDOWN 2
#define ACTIVITY_WAIT_SIPI 3
/* Guest interruptibility state (25.4.2, Table 25-3) */
#define INTR_BLOCKING_STI (1u << 0)
#define INTR_BLOCKING_MOV_SS (1u << 1)
#define INTR_BLOCKING_SMI (1u << 2)
#define INTR_BLOCKING_NMI (1u << 3)
/* Guest pending debug exceptions (25.4.2): B0 (breakpoint 0 met), enabled
 * breakpoint, BS (single step) */
#define PENDING_DBG_B0 (1u << 0)
#define PENDING_DBG_ENABLED_BP (1u << 12)
#define PENDING_DBG_BS (1u << 14)

/* Interruption information: VM-entry (25.8.3), VM-exit and IDT-vectoring
 * (25.9.2, 25.9.3) */
#define INTR_INFO_VECTOR_MASK 0xffu
#define INTR_INFO_TYPE_MASK (7u << 8)
#define INTR_INFO_TYPE(info) ((info) & INTR_INFO_TYPE_MASK)
#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SOFT_INTR (4u << 8)
#define INTR_TYPE_PRIV_SOFT_EXCEPTION (5u << 8) /* INT1 (ICEBP) */
#define INTR_TYPE_SOFT_EXCEPTION (6u << 8)      /* INT3, INTO */
#define INTR_TYPE_OTHER_EVENT (7u << 8) /* entry, vector 0: a pending MTF exit (27.6.1) */
#define INTR_INFO_DELIVER_CODE (1u << 11)
#define INTR_INFO_NMI_UNBLOCKING (1u << 12) /* exits only: IRET unblocked NMIs */
#define INTR_INFO_VALID (1u << 31)
#define INTR_INFO(type, vector) (INTR_INFO_VALID | (type) | (vector))

/* Exit qualification of an I/O instruction (28.2.1, Table 28-5) */
#define IO_QUAL_SIZE_MASK 7u /* access size - 1 */
#define IO_QUAL_IN (1u << 3)
#define IO_QUAL_STRING (1u << 4)
#define IO_QUAL_REP (1u << 5)
#define IO_QUAL_IMM (1u << 6)
#define IO_QUAL(port, size, flags) (((u32)(port) << 16) | ((size) - 1) | (flags))
/* Exit qualification of MOV to/from a control register (28.2.1, Table
 * 28-3) or a debug register (Table 28-4): the CR/DR number, bit 4 set for
 * MOV from it, the general register in bits 11:8 */
#define MOV_QUAL_FROM (1u << 4)
#define MOV_QUAL(reg, from, gpr) ((reg) | (from) | ((gpr) << 8))
#define CR_QUAL_ACCESS(q) (((q) >> 4) & 3u) /* 0 MOV to CR, 1 MOV from CR, 2 CLTS, 3 LMSW */
#define CR_QUAL_GPR(q) (((q) >> 8) & 15u)
/* Exit qualification of a VM-entry failure on guest state (27.8): the
 * VMCS link pointer was bad */
#define EXIT_QUAL_LINK_POINTER 4
/* General registers as exit qualifications (Table 28-3) and VM-exit
 * instruction information (28.2.5) number them */
#define GPR_AX 0
#define GPR_CX 1
#define GPR_DX 2
/* VM-exit instruction information for VMREAD/VMWRITE: bit 10, register operand */
#define VMX_INSN_INFO_REG (1u << 10)
/* Exit qualification of an APIC access (28.2.1, Table 28-6): the page
 * offset in bits 11:0, the access type in bits 15:12 */
#define APIC_ACCESS_OFFSET(q) ((u32)(q) & 0xfffu)
#define APIC_ACCESS_TYPE(q) (((u32)(q) >> 12) & 0xfu)
#define APIC_ACCESS_LINEAR_READ 0
#define APIC_ACCESS_LINEAR_WRITE 1
#define APIC_ACCESS_LINEAR_FETCH 2
#define APIC_ACCESS_EVENT 3 /* linear access during event delivery */

/* 16-bit fields */
#define VIRTUAL_PROCESSOR_ID 0x0000
#define POSTED_INTR_NOTIFICATION_VECTOR 0x0002
#define GUEST_ES_SELECTOR 0x0800
#define GUEST_CS_SELECTOR 0x0802
#define GUEST_SS_SELECTOR 0x0804
#define GUEST_DS_SELECTOR 0x0806
#define GUEST_FS_SELECTOR 0x0808
#define GUEST_GS_SELECTOR 0x080a
#define GUEST_LDTR_SELECTOR 0x080c
#define GUEST_TR_SELECTOR 0x080e
#define GUEST_INTERRUPT_STATUS 0x0810 /* RVI bits 7:0, SVI bits 15:8 (25.4.2) */
#define HOST_ES_SELECTOR 0x0c00
#define HOST_CS_SELECTOR 0x0c02
#define HOST_SS_SELECTOR 0x0c04
#define HOST_DS_SELECTOR 0x0c06
#define HOST_FS_SELECTOR 0x0c08
#define HOST_GS_SELECTOR 0x0c0a
#define HOST_TR_SELECTOR 0x0c0c

/* 64-bit fields */
#define IO_BITMAP_A 0x2000
#define IO_BITMAP_B 0x2002
#define MSR_BITMAP 0x2004
#define VM_EXIT_MSR_STORE_ADDR 0x2006
#define VM_EXIT_MSR_LOAD_ADDR 0x2008
#define VM_ENTRY_MSR_LOAD_ADDR 0x200a
#define VIRTUAL_APIC_PAGE_ADDR 0x2012
#define APIC_ACCESS_ADDR 0x2014
#define POSTED_INTR_DESC_ADDR 0x2016 /* 64-byte aligned: PIR 255:0, ON bit 256 (29.6) */
#define EOI_EXIT_BITMAP0 0x201c /* four 64-bit fields, 0x201c-0x2022 */
#define TSC_OFFSET 0x2010
#define EPT_POINTER 0x201a
#define VMREAD_BITMAP 0x2026
#define VMWRITE_BITMAP 0x2028
#define XSS_EXIT_BITMAP 0x202c
#define TSC_MULTIPLIER 0x2032
#define GUEST_PHYSICAL_ADDRESS 0x2400
#define VMCS_LINK_POINTER 0x2800
#define GUEST_IA32_DEBUGCTL 0x2802
#define GUEST_IA32_PAT 0x2804
#define GUEST_IA32_EFER 0x2806
#define GUEST_PDPTE0 0x280a
#define GUEST_PDPTE1 0x280c
#define GUEST_PDPTE2 0x280e
#define GUEST_PDPTE3 0x2810
#define HOST_IA32_PAT 0x2c00
#define HOST_IA32_EFER 0x2c02

/* 32-bit fields */
#define PIN_BASED_VM_EXEC_CONTROL 0x4000
#define CPU_BASED_VM_EXEC_CONTROL 0x4002
#define EXCEPTION_BITMAP 0x4004
#define PAGE_FAULT_ERROR_CODE_MASK 0x4006
#define PAGE_FAULT_ERROR_CODE_MATCH 0x4008
#define CR3_TARGET_COUNT 0x400a
#define VM_EXIT_CONTROLS 0x400c
#define VM_EXIT_MSR_STORE_COUNT 0x400e
#define VM_EXIT_MSR_LOAD_COUNT 0x4010
#define VM_ENTRY_CONTROLS 0x4012
#define VM_ENTRY_MSR_LOAD_COUNT 0x4014
#define VM_ENTRY_INTR_INFO_FIELD 0x4016
#define VM_ENTRY_EXCEPTION_ERROR_CODE 0x4018
#define VM_ENTRY_INSTRUCTION_LEN 0x401a
#define TPR_THRESHOLD 0x401c
#define SECONDARY_VM_EXEC_CONTROL 0x401e
#define PLE_GAP 0x4020
#define PLE_WINDOW 0x4022
#define VM_INSTRUCTION_ERROR 0x4400
/* VM-instruction error numbers (SDM 3C 31.4) */
#define VMX_ERROR_VMLAUNCH_NON_CLEAR 4u
#define VMX_ERROR_VMRESUME_NON_LAUNCHED 5u
#define VMX_ERROR_INVALID_CONTROL 7u
#define VMX_ERROR_MOV_SS_BLOCKING 26u
#define VM_EXIT_REASON 0x4402
#define VM_EXIT_INTR_INFO 0x4404
#define VM_EXIT_INTR_ERROR_CODE 0x4406
#define IDT_VECTORING_INFO_FIELD 0x4408
#define IDT_VECTORING_ERROR_CODE 0x440a
#define VM_EXIT_INSTRUCTION_LEN 0x440c
#define VMX_INSTRUCTION_INFO 0x440e
#define GUEST_ES_LIMIT 0x4800
#define GUEST_CS_LIMIT 0x4802
#define GUEST_SS_LIMIT 0x4804
#define GUEST_DS_LIMIT 0x4806
#define GUEST_FS_LIMIT 0x4808
#define GUEST_GS_LIMIT 0x480a
#define GUEST_LDTR_LIMIT 0x480c
#define GUEST_TR_LIMIT 0x480e
#define GUEST_GDTR_LIMIT 0x4810
#define GUEST_IDTR_LIMIT 0x4812
#define GUEST_ES_AR_BYTES 0x4814
#define GUEST_CS_AR_BYTES 0x4816
#define GUEST_SS_AR_BYTES 0x4818
#define GUEST_DS_AR_BYTES 0x481a
#define GUEST_FS_AR_BYTES 0x481c
#define GUEST_GS_AR_BYTES 0x481e
#define GUEST_LDTR_AR_BYTES 0x4820
#define GUEST_TR_AR_BYTES 0x4822
#define GUEST_INTERRUPTIBILITY_INFO 0x4824
#define GUEST_ACTIVITY_STATE 0x4826
#define GUEST_SYSENTER_CS 0x482a
#define VMX_PREEMPTION_TIMER_VALUE 0x482e
#define HOST_IA32_SYSENTER_CS 0x4c00

/* Natural-width fields */
#define CR0_GUEST_HOST_MASK 0x6000
#define CR4_GUEST_HOST_MASK 0x6002
#define CR0_READ_SHADOW 0x6004
#define CR4_READ_SHADOW 0x6006
#define CR3_TARGET_VALUE0 0x6008
#define EXIT_QUALIFICATION 0x6400
#define GUEST_LINEAR_ADDRESS 0x640a
#define GUEST_CR0 0x6800
#define GUEST_CR3 0x6802
#define GUEST_CR4 0x6804
#define GUEST_ES_BASE 0x6806
#define GUEST_CS_BASE 0x6808
#define GUEST_SS_BASE 0x680a
#define GUEST_DS_BASE 0x680c
#define GUEST_FS_BASE 0x680e
#define GUEST_GS_BASE 0x6810
#define GUEST_LDTR_BASE 0x6812
#define GUEST_TR_BASE 0x6814
#define GUEST_GDTR_BASE 0x6816
#define GUEST_IDTR_BASE 0x6818
#define GUEST_DR7 0x681a
#define GUEST_RSP 0x681c
#define GUEST_RIP 0x681e
#define GUEST_RFLAGS 0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS 0x6822
#define GUEST_SYSENTER_ESP 0x6824
#define GUEST_SYSENTER_EIP 0x6826
#define GUEST_S_CET 0x6828            /* with "load CET state" (25.4.1) */
#define GUEST_SSP 0x682a
#define GUEST_INTR_SSP_TABLE_ADDR 0x682c
#define HOST_CR0 0x6c00
#define HOST_CR3 0x6c02
#define HOST_CR4 0x6c04
#define HOST_FS_BASE 0x6c06
#define HOST_GS_BASE 0x6c08
#define HOST_TR_BASE 0x6c0a
#define HOST_GDTR_BASE 0x6c0c
#define HOST_IDTR_BASE 0x6c0e
#define HOST_IA32_SYSENTER_ESP 0x6c10
#define HOST_IA32_SYSENTER_EIP 0x6c12
#define HOST_RSP 0x6c14
#define HOST_RIP 0x6c16
#define HOST_S_CET 0x6c18             /* with "load CET state" (25.5) */
#define HOST_SSP 0x6c1a
#define HOST_INTR_SSP_TABLE_ADDR 0x6c1c

/* Pin-based controls (25.6.1) */
#define PIN_EXTERNAL_INTERRUPT_EXITING (1u << 0)
#define PIN_NMI_EXITING (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
#define PIN_POSTED_INTERRUPTS (1u << 7) /* process posted interrupts */

/* Primary processor-based controls (25.6.2) */
#define CPU_INTERRUPT_WINDOW_EXITING (1u << 2)
#define CPU_USE_TSC_OFFSETTING (1u << 3)
#define CPU_HLT_EXITING (1u << 7)
#define CPU_INVLPG_EXITING (1u << 9)
#define CPU_MWAIT_EXITING (1u << 10)
#define CPU_RDPMC_EXITING (1u << 11)
#define CPU_RDTSC_EXITING (1u << 12)
#define CPU_CR3_LOAD_EXITING (1u << 15)
#define CPU_CR3_STORE_EXITING (1u << 16)
#define CPU_CR8_LOAD_EXITING (1u << 19)
#define CPU_CR8_STORE_EXITING (1u << 20)
#define CPU_USE_TPR_SHADOW (1u << 21)
#define CPU_NMI_WINDOW_EXITING (1u << 22)
#define CPU_MOV_DR_EXITING (1u << 23)
#define CPU_UNCONDITIONAL_IO_EXITING (1u << 24)
#define CPU_USE_IO_BITMAPS (1u << 25)
#define CPU_MONITOR_TRAP_FLAG (1u << 27)
#define CPU_USE_MSR_BITMAPS (1u << 28)
#define CPU_MONITOR_EXITING (1u << 29)
#define CPU_PAUSE_EXITING (1u << 30)
#define CPU_ACTIVATE_SECONDARY_CONTROLS (1u << 31)

/* Secondary processor-based controls (25.6.2) */
#define CPU2_VIRTUALIZE_APIC_ACCESSES (1u << 0)
#define CPU2_ENABLE_EPT (1u << 1)
#define CPU2_DESCRIPTOR_TABLE_EXITING (1u << 2)
#define CPU2_ENABLE_RDTSCP (1u << 3)
#define CPU2_VIRTUALIZE_X2APIC_MODE (1u << 4)
#define CPU2_ENABLE_VPID (1u << 5)
#define CPU2_WBINVD_EXITING (1u << 6)
#define CPU2_UNRESTRICTED_GUEST (1u << 7)
#define CPU2_APIC_REGISTER_VIRT (1u << 8)
#define CPU2_VIRTUAL_INTR_DELIVERY (1u << 9)
#define CPU2_PAUSE_LOOP_EXITING (1u << 10)
#define CPU2_RDRAND_EXITING (1u << 11)
#define CPU2_ENABLE_INVPCID (1u << 12)
#define CPU2_ENABLE_VMFUNC (1u << 13)
#define CPU2_VMCS_SHADOWING (1u << 14)
#define CPU2_RDSEED_EXITING (1u << 16)
#define CPU2_ENABLE_XSAVES (1u << 20)
#define CPU2_USE_TSC_SCALING (1u << 25)

/* VM-exit controls (25.7.1) */
#define EXIT_SAVE_DEBUG_CONTROLS (1u << 2)
#define EXIT_HOST_ADDRESS_SPACE_SIZE (1u << 9)
#define EXIT_ACK_INTERRUPT_ON_EXIT (1u << 15)
#define EXIT_SAVE_IA32_PAT (1u << 18)
#define EXIT_LOAD_IA32_PAT (1u << 19)
#define EXIT_SAVE_IA32_EFER (1u << 20)
#define EXIT_LOAD_IA32_EFER (1u << 21)
#define EXIT_SAVE_PREEMPTION_TIMER (1u << 22)
#define EXIT_LOAD_CET_STATE (1u << 28)

/* VM-entry controls (25.8.1) */
#define ENTRY_LOAD_DEBUG_CONTROLS (1u << 2)
#define ENTRY_IA32E_MODE_GUEST (1u << 9)
#define ENTRY_LOAD_IA32_PAT (1u << 14)
#define ENTRY_LOAD_IA32_EFER (1u << 15)
#define ENTRY_LOAD_CET_STATE (1u << 20)

/* Exit reasons (appendix C) */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTERNAL_INTERRUPT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_INIT 3
#define EXIT_REASON_SIPI 4
#define EXIT_REASON_INTERRUPT_WINDOW 7
#define EXIT_REASON_NMI_WINDOW 8
#define EXIT_REASON_TASK_SWITCH 9
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_HLT 12
#define EXIT_REASON_INVD 13
#define EXIT_REASON_INVLPG 14
#define EXIT_REASON_RDPMC 15
#define EXIT_REASON_RDTSC 16
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_VMCLEAR 19
#define EXIT_REASON_VMLAUNCH 20
#define EXIT_REASON_VMPTRLD 21
#define EXIT_REASON_VMPTRST 22
#define EXIT_REASON_VMREAD 23
#define EXIT_REASON_VMRESUME 24
#define EXIT_REASON_VMWRITE 25
#define EXIT_REASON_VMXOFF 26
#define EXIT_REASON_VMXON 27
#define EXIT_REASON_CR_ACCESS 28
#define EXIT_REASON_DR_ACCESS 29
#define EXIT_REASON_IO_INSTRUCTION 30
#define EXIT_REASON_MSR_READ 31
#define EXIT_REASON_MSR_WRITE 32
#define EXIT_REASON_INVALID_GUEST_STATE 33
#define EXIT_REASON_MSR_LOADING 34
#define EXIT_REASON_MWAIT 36
#define EXIT_REASON_MONITOR_TRAP_FLAG 37
#define EXIT_REASON_MONITOR 39
#define EXIT_REASON_PAUSE 40
#define EXIT_REASON_MACHINE_CHECK 41
#define EXIT_REASON_TPR_BELOW_THRESHOLD 43
#define EXIT_REASON_APIC_ACCESS 44
#define EXIT_REASON_EOI_INDUCED 45
#define EXIT_REASON_GDTR_IDTR 46
#define EXIT_REASON_LDTR_TR 47
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_EPT_MISCONFIG 49
#define EXIT_REASON_INVEPT 50
#define EXIT_REASON_RDTSCP 51
#define EXIT_REASON_PREEMPTION_TIMER 52
#define EXIT_REASON_INVVPID 53
#define EXIT_REASON_WBINVD 54
#define EXIT_REASON_XSETBV 55
#define EXIT_REASON_APIC_WRITE 56
#define EXIT_REASON_RDRAND 57
#define EXIT_REASON_INVPCID 58
#define EXIT_REASON_RDSEED 61
#define EXIT_REASON_XSAVES 63
#define EXIT_REASON_XRSTORS 64
#define EXIT_REASON_MAX 70
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* EPT's extensions (SDM 3C 25.6.2 table 25-7, 25.6.11-25.6.14, 25.4.2,
 * appendices B and C): page-modification logging, EPT-violation #VE,
 * mode-based execute control and VM functions (EPTP switching) */
#define EPTP_INDEX 0x0004
#define GUEST_PML_INDEX 0x0812
#define PML_ADDRESS 0x200e
#define VM_FUNCTION_CONTROL 0x2018
#define EPTP_LIST_ADDRESS 0x2024
#define VE_INFORMATION_ADDRESS 0x202a
#define CPU2_ENABLE_PML (1u << 17)
#define CPU2_EPT_VIOLATION_VE (1u << 18)
#define CPU2_MODE_BASED_EPT_EXEC (1u << 22)
#define VMFUNC_EPTP_SWITCHING (1ull << 0)
#define EXIT_REASON_VMFUNC 59
#define EXIT_REASON_PML_FULL 62
/* VM-instruction errors of VMLAUNCH/VMRESUME (31.4) */
#define VMX_ERROR_ENTRY_CONTROLS 7u   /* invalid control field(s) */
#define VMX_ERROR_ENTRY_HOST_STATE 8u /* invalid host-state field(s) */

#endif
