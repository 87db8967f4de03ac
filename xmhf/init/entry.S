/* init entry: multiboot v1 and v2 headers and the jump into C.
 * Either loader leaves us in 32-bit protected mode, paging off, interrupts
 * off, EAX = 0x2badb002 (v1) or 0x36d76289 (v2), EBX = the boot information;
 * GDTR may not be valid (multiboot spec 3.2, multiboot2 spec 3.3), so load
 * our own GDT before touching a segment register. init_main dispatches on
 * EAX. BIOS GRUB and QEMU -kernel use the v1 header, GRUB's EFI build the v2
 * one (its 'multiboot2' command). */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003 /* page-aligned modules, memory info */

    .section .multiboot, "a"
    .align 4
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)

/* Multiboot2 header: 8-byte aligned, in the first 32 KiB of the file; tags
 * 8-byte aligned. The information request is optional (flags bit 0): a
 * loader that lacks some of it boots us anyway and init says what is missing. */
#define MB2_MAGIC 0xe85250d6
#define MB2_ARCH 0 /* i386, 32-bit protected mode */
    .align 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH + (mb2_header_end - mb2_header))
    .align 8
mb2_request:
    .short 1                /* information request */
    .short 1                /* optional */
    .long mb2_request_end - mb2_request
    .long 1                 /* command line */
    .long 2                 /* boot loader name */
    .long 3                 /* modules */
    .long 6                 /* memory map */
    .long 14                /* ACPI 1.0 RSDP */
    .long 15                /* ACPI 2.0+ RSDP */
mb2_request_end:
    .align 8
    .short 0                /* end tag */
    .short 0
    .long 8
mb2_header_end:

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
