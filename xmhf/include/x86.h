/* x86 definitions and one inline accessor per instruction the stages use.
 * Names follow the Intel SDM. */
#ifndef XMHF_X86_H
#define XMHF_X86_H

#include "types.h"

/* The constants below are the architecture's, named as the SDM names them.
 * The rest of the tree uses these names and defines no copies
 * (tests/system/check_layers.py keeps lhv/suite/ to that). */

/* CR0 (SDM Vol. 3A, 2.5) */
#define CR0_PE (1u << 0)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_PG (1u << 31)
/* CR3 bits 11:5 and 2:0, ignored with 32-bit paging (SDM Vol. 3A, 4.3, Table 4-3) */
#define CR3_IGNORED_32BIT 0xfe7u
/* CR4 (SDM Vol. 3A, 2.5) */
#define CR4_TSD (1u << 2)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_LA57 (1u << 12)
#define CR4_VMXE (1u << 13)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)
#define CR4_PKE (1u << 22)
#define CR4_CET (1u << 23)
/* MXCSR (SDM Vol. 1, 10.2.3): the value at reset, the divide-by-zero mask */
#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_ZM (1u << 9)
/* EFLAGS/RFLAGS (SDM Vol. 1, 3.4.3) */
#define EFLAGS_CF (1u << 0)
#define EFLAGS_PF (1u << 2)
#define EFLAGS_AF (1u << 4)
#define EFLAGS_ZF (1u << 6)
#define EFLAGS_SF (1u << 7)
#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
#define EFLAGS_OF (1u << 11)
#define EFLAGS_NT (1u << 14)
#define EFLAGS_RESERVED_15 (1u << 15) /* reserved, must be 0 */
#define EFLAGS_VM (1u << 17)
#define EFLAGS_AC (1u << 18)
/* the status flags (SDM Vol. 1, 3.4.3.1) */
#define EFLAGS_STATUS (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)

/* Debug registers (SDM Vol. 3A, 18.2): DR7 breakpoint 0 enabled
 * locally, on data writes, 4 bytes long; DR6 (and a #DB exit's
 * qualification, SDM 3C 28.2.1) B0, breakpoint 0 met */
#define DR7_L0 (1u << 0)
#define DR7_RW0_WRITE (1u << 16)
#define DR7_LEN0_4 (3u << 18)
#define DR6_B0 (1u << 0)

/* Page-fault error code (SDM Vol. 3A, 4.7) */
#define PF_PRESENT (1u << 0)
#define PF_WRITE (1u << 1)
#define PF_USER (1u << 2)
/* Paging-structure entry bits (SDM Vol. 3A, 4.3, 4.4.2, 4.5.4) */
#define PDE_ACCESSED (1u << 5)
#define PDE_DIRTY (1u << 6)

/* MSRs (SDM Vol. 4) */
#define MSR_IA32_TIME_STAMP_COUNTER 0x10
#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_ADDR_MASK 0xfffff000ull
#define MSR_IA32_SMM_MONITOR_CTL 0x9b
#define MSR_IA32_SMBASE 0x9e
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_PAT 0x277
#define MSR_IA32_DEBUGCTL 0x1d9
#define DEBUGCTL_BTF (1u << 1) /* single-step on branches */
#define MSR_IA32_XSS 0xda0
#define MSR_IA32_S_CET 0x6a2 /* supervisor CET (SDM Vol. 1, 17.4) */
#define MSR_IA32_INTERRUPT_SSP_TABLE_ADDR 0x6a8
#define S_CET_ENDBR_EN (1u << 2)
#define S_CET_NO_TRACK_EN (1u << 4)
#define MSR_X2APIC_TPR 0x808
#define MSR_IA32_EFER 0xc0000080
#define MSR_IA32_LSTAR 0xc0000082 /* SYSCALL target in 64-bit mode */
#define MSR_IA32_CSTAR 0xc0000083
#define MSR_IA32_FS_BASE 0xc0000100
#define MSR_IA32_GS_BASE 0xc0000101
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC_AUX 0xc0000103
#define EFER_SCE (1u << 0)
#define EFER_NXE (1u << 11)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

/* CPUID feature bits */
#define CPUID1_EDX_PSE (1u << 3)
#define CPUID1_EDX_MSR (1u << 5)
#define CPUID1_EDX_PAE (1u << 6)
#define CPUID1_EDX_APIC (1u << 9)
#define CPUID1_EDX_PAT (1u << 16)
#define CPUID1_EDX_FXSR (1u << 24)
#define CPUID1_EDX_SSE (1u << 25)
#define CPUID1_EDX_SSE2 (1u << 26)
#define CPUID1_ECX_PCLMULQDQ (1u << 1)
#define CPUID1_ECX_MONITOR (1u << 3)
#define CPUID1_ECX_VMX (1u << 5)
#define CPUID1_ECX_PCID (1u << 17)
#define CPUID1_ECX_XSAVE (1u << 26)
#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID1_ECX_RDRAND (1u << 30)
#define CPUID7_EBX_RDSEED (1u << 18) /* CPUID.(EAX=07H,ECX=0):EBX */
#define CPUID7_EBX_INVPCID (1u << 10)
#define CPUID7_EBX_SMEP (1u << 7)
#define CPUID7_EBX_SMAP (1u << 20)
#define CPUID7_ECX_PKU (1u << 3)
#define CPUID7_EDX_CET_IBT (1u << 20) /* CPUID.(EAX=07H,ECX=0):EDX */
#define CPUID7_ECX_RDPID (1u << 22)   /* CPUID.(EAX=07H,ECX=0):ECX */
#define CPUID0D1_EAX_XSAVES (1u << 3) /* CPUID.(EAX=0DH,ECX=1):EAX: XSAVES/XRSTORS, IA32_XSS */
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID80000001_EDX_SYSCALL (1u << 11)
#define CPUID80000001_EDX_NX (1u << 20)
#define CPUID80000001_EDX_PAGE1GB (1u << 26)
#define CPUID80000001_EDX_RDTSCP (1u << 27)
#define CPUID80000001_EDX_LM (1u << 29)

/* xAPIC registers (SDM Vol. 3A, 11.4.1), offsets from the APIC base */
#define LAPIC_DEFAULT_BASE 0xfee00000u
#define LAPIC_ID 0x20
#define LAPIC_VERSION 0x30
#define IOAPIC_DEFAULT_BASE 0xfec00000u

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port)
{
    u8 v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u16 inw(u16 port)
{
    u16 v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline u32 inl(u16 port)
{
    u32 v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

struct cpuid_regs {
    u32 eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid(u32 leaf, u32 subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
                     : "a"(leaf), "c"(subleaf));
    return r;
}

static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}

static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)));
}

static inline u64 rdtsc(void)
{
    u32 lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((u64)hi << 32) | lo;
}

static inline unsigned long read_cr0(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    return v;
}

static inline unsigned long read_cr3(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr3, %0" : "=r"(v));
    return v;
}

static inline unsigned long read_cr2(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

static inline void invlpg(uintptr_t linear)
{
    __asm__ volatile("invlpg (%0)" : : "r"(linear) : "memory");
}

/* Page-fault error code (SDM 3A 4.7) */
#define PF_ERR_P (1u << 0)    /* a protection violation, not a not-present page */
#define PF_ERR_W (1u << 1)    /* a write */
#define PF_ERR_U (1u << 2)    /* a user-mode access */
#define PF_ERR_RSVD (1u << 3) /* a reserved bit set in a paging-structure entry */
#define PF_ERR_I (1u << 4)    /* an instruction fetch (with NXE or SMEP) */
#define PF_ERR_PK (1u << 5)   /* protection keys (4.6.2) */
/* PKRU (SDM 3A 4.6.2): access-disable and write-disable of key k */
#define PKRU_AD(k) (1u << (2 * (k)))
#define PKRU_WD(k) (2u << (2 * (k)))

/* WRPKRU (needs CR4.PKE; ECX and EDX 0) */
static inline void wrpkru(u32 pkru)
{
    __asm__ volatile(".byte 0x0f, 0x01, 0xef" : : "a"(pkru), "c"(0), "d"(0) : "memory");
}

static inline unsigned long read_cr4(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void write_cr0(unsigned long v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }

static inline void write_cr4(unsigned long v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }

static inline void cpu_relax(void) { __asm__ volatile("pause"); }

static inline __attribute__((noreturn)) void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Volatile accesses for MMIO and for memory the compiler must not elide */
static inline u32 mmio_read32(uintptr_t addr) { return *(volatile u32 *)addr; }

#endif
