/* The bench's floor kernel: the least a multiboot v1 kernel can do before
 * its first line. GRUB enters here in 32-bit
 * protected mode, paging off, EAX = 0x2BADB002 (Multiboot 0.6.96 §3.2). */

#define MB_MAGIC 0x1badb002
#define MB_FLAGS 0x00000003         /* modules page-aligned, memory info */

        .section .multiboot, "a"
        .balign 4
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

        .text
        .globl _start
_start:
        movl $stack_top, %esp       /* GRUB leaves ESP undefined */
        call floor_main
1:      cli
        hlt
        jmp 1b

        .bss
        .balign 16
        .space 4096
stack_top:
