/* AP start, amd64: real mode (trampoline16.inc), protected mode, then
 * IA-32e mode the way SDM 3A 10.8.5 orders it: CR4.PAE, CR3, EFER.LME,
 * CR0.PG. CR0, CR3, CR4 and EFER are the BSP's, which smp_start stored in
 * smp_ap_*; CR3 (the SL's page tables) lies below 4 GiB. In 64-bit mode
 * each AP draws a ticket, takes the stack smp_start set for that ticket
 * and calls ap_main(). */
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
    mov $MSR_IA32_EFER, %ecx
    mov smp_ap_efer, %eax       /* includes LME */
    xor %edx, %edx
    wrmsr
    mov smp_ap_cr0, %eax        /* includes PG: now IA-32e mode, compatibility */
    mov %eax, %cr0
    ljmp $TRAMPOLINE_CODE64, $ap_start64

    .code64
ap_start64:
    mov $1, %eax
    lock xadd %eax, smp_ap_ticket(%rip)
    mov smp_ap_stack_top(,%rax,8), %rsp  /* 0 beyond the CPUs started */
    test %rsp, %rsp
    jz 1f
    xor %ebp, %ebp              /* ends the stack trace */
    call ap_main                /* does not return */
1:  cli
    hlt
    jmp 1b
