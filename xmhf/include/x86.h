/* x86 definitions and one inline accessor per instruction the stages use.
 * Names follow the Intel SDM. */
#ifndef XMHF_X86_H
#define XMHF_X86_H

#include "types.h"

/* CR0 (SDM Vol. 3A, 2.5) */
#define CR0_PE (1u << 0)
#define CR0_WP (1u << 16)
#define CR0_PG (1u << 31)
/* EFLAGS (SDM Vol. 1, 3.4.3) */
#define EFLAGS_TF (1u << 8)
#define EFLAGS_IF (1u << 9)
/* CR4 */
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)

/* MSRs (SDM Vol. 4) */
#define MSR_IA32_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1u << 11)
#define APIC_BASE_ADDR_MASK 0xfffff000ull
#define MSR_IA32_EFER 0xc0000080
#define MSR_IA32_FS_BASE 0xc0000100
#define MSR_IA32_GS_BASE 0xc0000101
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)

/* CPUID feature bits */
#define CPUID1_EDX_PAE (1u << 6)
#define CPUID1_EDX_MSR (1u << 5)
#define CPUID1_EDX_APIC (1u << 9)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID80000001_EDX_PAGE1GB (1u << 26)
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

static inline unsigned long read_cr4(void)
{
    unsigned long v;
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    return v;
}

static inline void cpu_relax(void) { __asm__ volatile("pause"); }

static inline __attribute__((noreturn)) void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* Volatile accesses for MMIO and for memory the compiler must not elide */
static inline u32 mmio_read32(uintptr_t addr) { return *(volatile u32 *)addr; }

#endif
