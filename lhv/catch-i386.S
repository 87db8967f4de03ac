/* catch_call(buf, fn, arg) / catch_resume(buf): see catch.c.
 * buf: ebx esi edi ebp, esp at entry, eflags. */
    .text
    .code32
    .globl catch_call
catch_call:
    mov 4(%esp), %ecx
    mov %ebx, 0(%ecx)
    mov %esi, 4(%ecx)
    mov %edi, 8(%ecx)
    mov %ebp, 12(%ecx)
    mov %esp, 16(%ecx)          /* points at our return address */
    pushf
    popl 20(%ecx)
    mov 8(%esp), %edx
    mov 12(%esp), %eax          /* arg: in EAX (the runtime's regparm) */
    push %eax                   /* and on the stack */
    call *%edx
    add $4, %esp
    xor %eax, %eax
    ret

    .globl catch_resume
catch_resume:
    mov 4(%esp), %ecx
/* Entered with ECX = buf and a stack that may be unusable (a task return
 * from the double-fault task lands here). */
    .globl catch_resume_ecx
catch_resume_ecx:
    mov 0(%ecx), %ebx
    mov 4(%ecx), %esi
    mov 8(%ecx), %edi
    mov 12(%ecx), %ebp
    mov 16(%ecx), %esp
    pushl 20(%ecx)
    popf                        /* the exception gate cleared IF: restore it */
    mov $1, %eax
    ret
