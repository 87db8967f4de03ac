/* SL entry, 32-bit protected mode, paging off, from init with
 * EAX = "LHVP" and EBX = boot parameters at the start of the SL area. */

    .section .text.entry, "ax"
    .code32
    .globl sl_entry
sl_entry:
    cli
    cld
    lgdt sl_gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
    mov %ecx, %ss
    lea 0x4000(%ebx), %esp      /* LHV_SL_AREA_STACK_TOP */
    push %ebx
    push %eax
    call sl_main
2:  hlt
    jmp 2b

/* The GDT the runtime starts with; it lives in the SL, which stays mapped. */
    .section .rodata
    .align 8
    .globl sl_gdt
sl_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, base 0, 4 GiB */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, 4 GiB */
    .quad 0x00af9a000000ffff    /* 0x18: 64-bit code (L=1, D=0) */
sl_gdt_end:
sl_gdt_desc:
    .word sl_gdt_end - sl_gdt - 1
    .long sl_gdt
