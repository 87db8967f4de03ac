/* Runtime entry, 32-bit protected mode with PAE paging, from the SL:
 * EBX = boot parameters. */
    .section .text.entry, "ax"
    .code32
    .globl runtime_entry
runtime_entry:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    mov %eax, %fs
    mov %eax, %gs
    mov $runtime_bsp_stack_top, %esp
    xor %ebp, %ebp
    push %ebx
    call runtime_main
1:  hlt
    jmp 1b

    .section .bss
    .align 16
    .globl runtime_bsp_stack, runtime_bsp_stack_top
runtime_bsp_stack:
    .space 16384                /* LHV_STACK_SIZE */
runtime_bsp_stack_top:
