/* vmx_run(regs, launched, on_exit, on_default): see enter-amd64.S; 32-bit
 * registers, and the handlers take regs in EAX (regparm, EXIT_PATH in
 * guest.c).
 *
 * The frame HOST_RSP points at (16-byte aligned):
 *   0 regs   4 on_exit   8 on_default   12 edi esi ebx   24 ebp   28 return address */
#include "vmcs.h"
#define EXIT_ACTION_DEFAULT 2 /* vmx.h's EXIT_DEFAULT; EXIT_RESUME is 0 */
#define FRAME_ON_EXIT 4
#define FRAME_ON_DEFAULT 8
#define FRAME_EBP 24
/* struct guest_regs offsets */
#define EAX 0
#define EBX 4
#define ECX 8
#define EDX 12
#define ESI 16
#define EDI 20
#define EBP 24

/* All guest registers from regs (in %eax; %eax itself last) */
.macro load_guest_gprs
    mov EBX(%eax), %ebx
    mov ECX(%eax), %ecx
    mov EDX(%eax), %edx
    mov ESI(%eax), %esi
    mov EDI(%eax), %edi
    mov EBP(%eax), %ebp
    mov EAX(%eax), %eax
.endm

    .text
    .code32
    .globl vmx_run
vmx_run:
    mov 4(%esp), %eax           /* regs */
    mov 8(%esp), %ecx           /* launched */
    push %ebp
    push %ebx
    push %esi
    push %edi
    push 32(%esp)               /* on_default */
    push 32(%esp)               /* on_exit */
    push %eax                   /* regs, found again at each exit */
    mov $HOST_RSP, %edx
    vmwrite %esp, %edx
    test %ecx, %ecx
    jnz 1f
    load_guest_gprs
    vmlaunch
    jmp .Lentry_failed
1:  load_guest_gprs
    vmresume
    jmp .Lentry_failed

    .globl vmx_exit_landing
vmx_exit_landing:
    push %eax
    mov 4(%esp), %eax
    mov %ebx, EBX(%eax)
    mov %ecx, ECX(%eax)
    mov %edx, EDX(%eax)
    mov %esi, ESI(%eax)
    mov %edi, EDI(%eax)
    mov %ebp, EBP(%eax)
    pop EAX(%eax)
    /* EBP still holds the guest's: point it at vmx_run's frame, so a stack
     * trace from the handler goes on into the host's callers */
    lea FRAME_EBP(%esp), %ebp
    call *FRAME_ON_EXIT(%esp)
    test %eax, %eax             /* EXIT_RESUME */
    jnz .Lnot_resume
.Lresume:
    mov (%esp), %eax
    load_guest_gprs
    vmresume
.Lentry_failed:                 /* still here: the instruction failed */
    mov $1, %eax
    jc .Lout
    mov $2, %eax
    jmp .Lout
.Lnot_resume:
    cmp $EXIT_ACTION_DEFAULT, %eax
    jne .Lleave
    mov (%esp), %eax
    call *FRAME_ON_DEFAULT(%esp)
    test %eax, %eax
    jz .Lresume
.Lleave:
    xor %eax, %eax
.Lout:
    add $12, %esp
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

/* The guest's first instruction: runs fn(arg) (EBX, EAX), then tells the
 * host it is done with the HC_DONE hypercall. */
    .globl guest_entry
guest_entry:
    push %eax
    call *%ebx
    add $4, %esp
    xor %eax, %eax
    vmcall
    ud2
