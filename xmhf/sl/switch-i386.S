/* sl_enter_runtime(root, entry, params): turn on PAE paging with the
 * identity map the SL built and jump to the 32-bit runtime, EBX = params.
 * Identity mapping means the next instruction fetch is unaffected. */
    .text
    .code32
    .globl sl_enter_runtime
sl_enter_runtime:
    mov 4(%esp), %eax
    mov 8(%esp), %ecx
    mov 12(%esp), %ebx
    mov %cr4, %edx
    or $0x20, %edx              /* CR4.PAE before CR0.PG (SDM 3A 4.1.2) */
    mov %edx, %cr4
    mov %eax, %cr3
    mov %cr0, %edx
    or $0x80000000, %edx        /* CR0.PG */
    mov %edx, %cr0
    jmp *%ecx
