/* Interrupt entry, amd64: 256 stubs of 16 bytes each push an error code
 * (a dummy 0 where the CPU pushes none, SDM 3A 6.13) and the vector, then
 * trap_common saves the registers as a struct trap_frame (trap.h). */
#include "desc.h"


    .text
    .code64
    .align 16
    .globl isr_stubs
isr_stubs:
    vector = 0
    .rept 256
    .align 16
    .if !HAS_ERROR_CODE(vector)
    pushq $0
    .endif
    pushq $vector
    jmp trap_common
    vector = vector + 1
    .endr

trap_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %rbp
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi          /* the frame; RSP is 16-byte aligned here */
    call trap_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rbp
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp           /* vector and error code */
    iretq
