/* sl_enter_runtime(root, entry, params): enter IA-32e mode (SDM 3A 10.8.5:
 * CR4.PAE, CR3, EFER.LME, then CR0.PG) and far-jump to the 64-bit runtime
 * through the 64-bit code segment 0x18, EBX = params. */
    .text
    .code32
    .globl sl_enter_runtime
sl_enter_runtime:
    mov 4(%esp), %eax
    mov 8(%esp), %edx
    mov 12(%esp), %ebx
    mov %edx, runtime_far_ptr
    mov %cr4, %edx
    or $0x20, %edx              /* CR4.PAE */
    mov %edx, %cr4
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* IA32_EFER */
    rdmsr
    or $0x100, %eax             /* EFER.LME */
    wrmsr
    mov %cr0, %edx
    or $0x80000000, %edx        /* CR0.PG: now IA-32e mode, compatibility */
    mov %edx, %cr0
    ljmp *runtime_far_ptr

    .data
runtime_far_ptr:
    .long 0                     /* offset: the runtime entry */
    .word 0x18                  /* selector: 64-bit code */
