/* GDT, TSS and IDT (SDM Vol. 3A, 3.4.5 segment descriptors, 7.2.2 TSS
 * descriptors, 6.11/6.14.1 IDT gates). */
#include "cpu.h"
#include "string.h"
#include "x86.h"

/* Access bytes: present, DPL, type */
#define ACC_KCODE 0x9a /* present, ring 0, code, readable */
#define ACC_KDATA 0x92 /* present, ring 0, data, writable */
#define ACC_UCODE 0xfa
#define ACC_UDATA 0xf2
#define ACC_TSS 0x89   /* present, available TSS */
/* Flags nibble: G (4 KiB granularity), D/B (32-bit), L (64-bit code) */
#define FLAGS_32 0xc
#define FLAGS_64 0xa

#define GATE_INTR 0x8e /* present, ring 0, interrupt gate */
#define GATE_TASK 0x85 /* present, ring 0, task gate */
#define GATE_DPL3 0x60

#ifdef __x86_64__
#define FLAGS_CODE FLAGS_64
struct gate {
    u16 offset_low, selector;
    u8 ist, type;
    u16 offset_mid;
    u32 offset_high, reserved;
} __attribute__((packed));
#else
#define FLAGS_CODE FLAGS_32
struct gate {
    u16 offset_low, selector;
    u8 zero, type;
    u16 offset_high;
} __attribute__((packed));
#endif

struct lhv_cpu cpus[LHV_MAX_CPUS];
static struct gate idt[256] __attribute__((aligned(16)));
STATIC_ASSERT(sizeof(idt) == IDT_LIMIT + 1, "IDT_LIMIT");
STATIC_ASSERT(sizeof(cpus[0].gdt) == GDT_LIMIT + 1, "GDT_LIMIT");

u64 seg_desc(uintptr_t base, u32 limit, u8 access, u8 flags)
{
    return (limit & 0xffffull) | ((u64)(base & 0xffffff) << 16) | ((u64)access << 40) |
           ((u64)((limit >> 16) & 0xf) << 48) | ((u64)flags << 52) |
           ((u64)((base >> 24) & 0xff) << 56);
}

static void set_gate(u32 vector, uintptr_t handler, u16 selector, u8 type, u8 ist)
{
    struct gate *g = &idt[vector];
    g->offset_low = (u16)handler;
    g->selector = selector;
    g->type = type;
#ifdef __x86_64__
    g->ist = ist;
    g->offset_mid = (u16)(handler >> 16);
    g->offset_high = (u32)((u64)handler >> 32);
#else
    (void)ist;
    g->offset_high = (u16)(handler >> 16);
#endif
}

void idt_init(void)
{
    for (u32 v = 0; v < 256; v++)
        set_gate(v, (uintptr_t)isr_stubs[v], SEL_KCODE, GATE_INTR, 0);
    set_gate(VEC_SYSCALL, (uintptr_t)isr_stubs[VEC_SYSCALL], SEL_KCODE, GATE_INTR | GATE_DPL3, 0);
#ifdef __x86_64__
    /* Known-good stacks, so a kernel stack overflow still gets reported */
    idt[VEC_DF].ist = IST_DF;
    idt[VEC_NMI].ist = IST_NMI;
#else
    /* i386 has no IST: a task switch gives #DF and NMI their own stacks */
    set_gate(VEC_DF, 0, SEL_DF_TSS, GATE_TASK, 0);
    set_gate(VEC_NMI, 0, SEL_NMI_TSS, GATE_TASK, 0);
#endif
}

#ifndef __x86_64__
extern char df_task_entry[], nmi_task_entry[];

/* A TSS for a task gate: starts at entry on its own stack, in the kernel's
 * segments and address space. */
static void task_tss(struct tss *t, uintptr_t entry, u8 *stack, size_t size)
{
    t->eip = entry;
    t->esp = (uintptr_t)stack + size;
    t->eflags = 0x2; /* interrupts off */
    t->cr3 = read_cr3();
    t->cs = SEL_KCODE;
    t->ds = t->es = t->ss = t->fs = SEL_KDATA;
    t->gs = SEL_PERCPU;
    t->iomap_base = sizeof(*t);
}
#endif

static void fill_gdt(struct lhv_cpu *c)
{
    c->gdt[0] = 0;
    c->gdt[GDT_KCODE] = seg_desc(0, 0xfffff, ACC_KCODE, FLAGS_CODE);
    c->gdt[GDT_KDATA] = seg_desc(0, 0xfffff, ACC_KDATA, FLAGS_32);
    c->gdt[GDT_UCODE] = seg_desc(0, 0xfffff, ACC_UCODE, FLAGS_CODE);
    c->gdt[GDT_UDATA] = seg_desc(0, 0xfffff, ACC_UDATA, FLAGS_32);
    c->gdt[GDT_TSS] = seg_desc((uintptr_t)&c->tss, sizeof(c->tss) - 1, ACC_TSS, 0);
#ifdef __x86_64__
    c->gdt[GDT_TSS + 1] = (u64)(uintptr_t)&c->tss >> 32; /* 16-byte TSS descriptor */
#else
    c->gdt[GDT_PERCPU] = seg_desc((uintptr_t)c, sizeof(*c) - 1, ACC_KDATA, 0x4);
    c->gdt[GDT_DF_TSS] = seg_desc((uintptr_t)&c->df_tss, sizeof(c->df_tss) - 1, ACC_TSS, 0);
    c->gdt[GDT_NMI_TSS] = seg_desc((uintptr_t)&c->nmi_tss, sizeof(c->nmi_tss) - 1, ACC_TSS, 0);
#endif
}

static void fill_tss(struct lhv_cpu *c)
{
    uintptr_t stack_top = (uintptr_t)c->ring0_stack + sizeof(c->ring0_stack);

    c->tss.iomap_base = sizeof(c->tss); /* no I/O bitmap: ring 3 gets #GP on I/O */
#ifdef __x86_64__
    c->tss.rsp[0] = stack_top;
    c->tss.ist[IST_DF - 1] = (uintptr_t)c->df_stack + sizeof(c->df_stack);
    c->tss.ist[IST_NMI - 1] = (uintptr_t)c->nmi_stack + sizeof(c->nmi_stack);
#else
    c->tss.esp0 = stack_top;
    c->tss.ss0 = SEL_KDATA;
    /* A task switch saves no CR3 into the TSS it leaves, but a task return
     * (from the #DF or NMI task) loads CR3 from it: it must hold ours. */
    c->tss.cr3 = read_cr3();
    task_tss(&c->df_tss, (uintptr_t)df_task_entry, c->df_stack, sizeof(c->df_stack));
    task_tss(&c->nmi_tss, (uintptr_t)nmi_task_entry, c->nmi_stack, sizeof(c->nmi_stack));
#endif
}

void desc_init_cpu(struct lhv_cpu *c)
{
    struct table_ptr gdtr = {GDT_LIMIT, (uintptr_t)c->gdt};
    struct table_ptr idtr = {IDT_LIMIT, (uintptr_t)idt};

    c->self = c;
    fill_gdt(c);
    fill_tss(c);
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
#ifdef __x86_64__
    /* Reload CS with a far return; the data segments are ignored in 64-bit
     * mode but must hold valid selectors. */
    __asm__ volatile("pushq %0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %1, %%ds\n\tmov %1, %%es\n\tmov %1, %%ss\n\t"
                     "mov %2, %%fs\n\tmov %2, %%gs"
                     : : "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(0) : "rax", "memory");
    wrmsr(MSR_IA32_GS_BASE, (uintptr_t)c);
#else
    __asm__ volatile("ljmp %0, $1f\n"
                     "1:\n\t"
                     "mov %1, %%ds\n\tmov %1, %%es\n\tmov %1, %%ss\n\tmov %1, %%fs\n\t"
                     "mov %2, %%gs"
                     : : "i"(SEL_KCODE), "r"(SEL_KDATA), "r"(SEL_PERCPU) : "memory");
#endif
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void idt_copy(void *dst)
{
    memcpy(dst, idt, sizeof(idt));
}
