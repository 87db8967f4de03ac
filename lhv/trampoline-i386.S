/* AP start, i386: real mode (trampoline16.inc), protected mode, then PAE
 * paging: CR4.PAE, CR3, EFER (only when the BSP has one set), CR0.PG, all
 * as the BSP has them (smp_start stored them in smp_ap_*). Each AP then
 * draws a ticket, takes the stack smp_start set for that ticket and calls
 * ap_main(). */
#include "trampoline16.inc"

#define MSR_IA32_EFER 0xc0000080

    .text
    .code32
    .globl ap_start32
ap_start32:
    mov $TRAMPOLINE_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov smp_ap_cr4, %eax        /* includes PAE */
    mov %eax, %cr4
    mov smp_ap_cr3, %eax
    mov %eax, %cr3
    mov smp_ap_efer, %eax       /* 0: the CPU may have no EFER */
    test %eax, %eax
    jz 1f
    mov $MSR_IA32_EFER, %ecx
    xor %edx, %edx
    wrmsr
1:  mov smp_ap_cr0, %eax        /* includes PG */
    mov %eax, %cr0
    jmp 2f                      /* the identity map keeps this address valid */
2:  mov $1, %eax
    lock xadd %eax, smp_ap_ticket
    mov smp_ap_stack_top(,%eax,4), %esp  /* 0 beyond the CPUs started */
    test %esp, %esp
    jz 3f
    xor %ebp, %ebp              /* ends the stack trace */
    sub $16, %esp               /* 16-byte aligned at the call */
    call ap_main                /* does not return */
3:  cli
    hlt
    jmp 3b
