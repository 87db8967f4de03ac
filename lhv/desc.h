/* Segment descriptors, the TSS and the IDT (SDM Vol. 3A, 3.4.5, 7.2, 7.7,
 * 6.10-6.14). Every CPU has its own GDT and TSS; all share one IDT. */
#ifndef LHV_DESC_H
#define LHV_DESC_H

/* GDT slots; the selector is slot * 8 (| 3 for ring 3). */
#define GDT_KCODE 1  /* kernel code: 64-bit on amd64, 32-bit on i386 */
#define GDT_KDATA 2
#define GDT_UCODE 3  /* user code, DPL 3 */
#define GDT_UDATA 4  /* user data, DPL 3 */
#define GDT_TSS 5    /* 16 bytes (two slots) on amd64 */
#define GDT_PERCPU 7 /* i386: GS, based at this CPU's struct lhv_cpu */
#define GDT_DF_TSS 8 /* i386: the double-fault task */
#define GDT_NMI_TSS 9 /* i386: the NMI task */
#define GDT_ENTRIES 10

/* The tables' limits. Read them here, never back with SGDT/SIDT: a VM exit
 * sets the host's GDTR and IDTR limits to FFFFH (SDM 3C 28.5.2). */
#ifdef __x86_64__
#define IDT_GATE_SIZE 16
#else
#define IDT_GATE_SIZE 8
#endif
#define GDT_LIMIT (GDT_ENTRIES * 8 - 1)
#define IDT_LIMIT (256 * IDT_GATE_SIZE - 1)

#define SEL_KCODE (GDT_KCODE << 3)
#define SEL_KDATA (GDT_KDATA << 3)
#define SEL_UCODE ((GDT_UCODE << 3) | 3)
#define SEL_UDATA ((GDT_UDATA << 3) | 3)
#define SEL_TSS (GDT_TSS << 3)
#define SEL_PERCPU (GDT_PERCPU << 3)
#define SEL_DF_TSS (GDT_DF_TSS << 3)
#define SEL_NMI_TSS (GDT_NMI_TSS << 3)

/* Interrupt vectors */
#define VEC_DE 0
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_OF 4
#define VEC_BR 5
#define VEC_UD 6
#define VEC_NM 7
#define VEC_DF 8
#define VEC_TS 10
#define VEC_NP 11
#define VEC_SS 12
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MF 16
#define VEC_AC 17
#define VEC_MC 18
#define VEC_XM 19
#define VEC_VE 20           /* virtualization exception (EPT-violation #VE) */
#define VEC_CP 21
#define VEC_IRQ_BASE 0x20   /* PIC master; the slave at 0x28 */
#define VEC_SYSCALL 0x80    /* DPL-3 gate for ring-3 code */
#define VEC_LAPIC_TIMER 0xf0
#define VEC_SMP_CALL 0xf1   /* cross-calls and wake-ups between CPUs (smp.c) */
#define VEC_SMP_WAKE 0xf2   /* ends a halt in a sleeping barrier (smp.c): only an EOI */
#define VEC_SPURIOUS 0xff

/* Vectors for which the CPU pushes an error code (SDM 3A 6.13): #DF, #TS,
 * #NP, #SS, #GP, #PF, #AC, #CP, #VC, #SX */
#define HAS_ERROR_CODE(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || (v) == 21 || \
                           (v) == 29 || (v) == 30)

/* IST slots on amd64 (SDM 3A 6.14.5) */
#define IST_DF 1
#define IST_NMI 2

#ifndef __ASSEMBLER__
#include "types.h"

#ifdef __x86_64__
struct tss {
    u32 reserved0;
    u64 rsp[3];
    u64 reserved1;
    u64 ist[7];
    u64 reserved2;
    u16 reserved3;
    u16 iomap_base;
} __attribute__((packed));
STATIC_ASSERT(sizeof(struct tss) == 104, "64-bit TSS");
#else
struct tss {
    u32 link;
    u32 esp0, ss0, esp1, ss1, esp2, ss2;
    u32 cr3, eip, eflags;
    u32 eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u32 es, cs, ss, ds, fs, gs;
    u32 ldt;
    u16 trap;
    u16 iomap_base;
} __attribute__((packed));
STATIC_ASSERT(sizeof(struct tss) == 104, "32-bit TSS");
#endif

/* The 16-byte entry stubs of the 256 vectors (isr-SUBARCH.S) */
extern const char isr_stubs[256][16];

struct lhv_cpu;

/* Loads this CPU's GDT, segment registers, TSS and the IDT, and points the
 * CPU-local pointer at c. */
void desc_init_cpu(struct lhv_cpu *c);

/* A segment descriptor (SDM 3A 3.4.5): base, 20-bit limit, access byte
 * (present, DPL, type) and flags nibble (G, D/B, L). */
u64 seg_desc(uintptr_t base, u32 limit, u8 access, u8 flags);

/* Fills the shared IDT once (before any CPU calls desc_init_cpu). */
void idt_init(void);

/* What LGDT/LIDT load and SGDT/SIDT store (SDM 3A 2.4.1, 2.4.3) */
struct table_ptr {
    u16 limit;
    uintptr_t base;
} __attribute__((packed));

/* Copies the shared IDT (IDT_LIMIT + 1 bytes) to dst */
void idt_copy(void *dst);

#endif /* __ASSEMBLER__ */
#endif
