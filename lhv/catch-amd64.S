/* catch_call(buf, fn, arg) / catch_resume(buf): see catch.c.
 * buf: rbx rbp r12 r13 r14 r15, rsp at entry, rflags. */
    .text
    .code64
    .globl catch_call
catch_call:
    mov %rbx, 0(%rdi)
    mov %rbp, 8(%rdi)
    mov %r12, 16(%rdi)
    mov %r13, 24(%rdi)
    mov %r14, 32(%rdi)
    mov %r15, 40(%rdi)
    mov %rsp, 48(%rdi)          /* points at our return address */
    pushfq
    popq 56(%rdi)
    push %rdi                   /* also aligns the stack for the call */
    mov %rdx, %rdi
    call *%rsi
    pop %rdi
    xor %eax, %eax
    ret

    .globl catch_resume
catch_resume:
    mov 0(%rdi), %rbx
    mov 8(%rdi), %rbp
    mov 16(%rdi), %r12
    mov 24(%rdi), %r13
    mov 32(%rdi), %r14
    mov 40(%rdi), %r15
    mov 48(%rdi), %rsp
    pushq 56(%rdi)
    popfq                       /* the exception gate cleared IF: restore it */
    mov $1, %eax
    ret
