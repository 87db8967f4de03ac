/* Runtime entry, 64-bit mode, from the SL's far jump: CS = 0x18 (64-bit
 * code), EBX = boot parameters. The upper halves of the GPRs are undefined
 * after the switch from compatibility mode (SDM 1 3.4.1.1), so take only EBX. */
    .section .text.entry, "ax"
    .code64
    .globl runtime_entry
runtime_entry:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $runtime_bsp_stack_top, %rsp
    xor %ebp, %ebp
    mov %ebx, %edi              /* zero-extends: first argument */
    call runtime_main
1:  hlt
    jmp 1b

    .section .bss
    .align 16
    .globl runtime_bsp_stack, runtime_bsp_stack_top
runtime_bsp_stack:
    .space 16384                /* LHV_STACK_SIZE */
runtime_bsp_stack_top:
