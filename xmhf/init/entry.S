/* init entry: multiboot v1 header and the jump into C.
 * The loader leaves us in 32-bit protected mode, paging off, interrupts off,
 * EAX = 0x2badb002, EBX = multiboot info; GDTR may not be valid (multiboot
 * spec 3.2), so load our own GDT before touching a segment register. */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

    .section .text.entry, "ax"
    .code32
    .globl init_start
init_start:
    cli
    cld
    lgdt init_gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov %ecx, %gs
    mov %ecx, %ss
    mov $init_stack_top, %esp
    push %ebx               /* multiboot info */
    push %eax               /* loader magic */
    call init_main
2:  hlt
    jmp 2b

/* Jumps to the SL: init_jump_to_sl(entry, params). EAX = params magic,
 * EBX = boot parameters; the SL sets up its own stack and GDT. */
    .globl init_jump_to_sl
init_jump_to_sl:
    mov 4(%esp), %ecx
    mov 8(%esp), %ebx
    mov $0x5056484c, %eax
    jmp *%ecx

    .section .rodata
    .align 8
init_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08: 32-bit code, base 0, 4 GiB */
    .quad 0x00cf92000000ffff    /* 0x10: data, base 0, 4 GiB */
init_gdt_end:
init_gdt_desc:
    .word init_gdt_end - init_gdt - 1
    .long init_gdt

    .section .bss
    .align 16
    .space 16384
init_stack_top:
