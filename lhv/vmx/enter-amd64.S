/* vmx_run(regs, launched, on_exit, on_default): loads the guest's general
 * registers and enters the guest with VMLAUNCH or VMRESUME. At each VM exit
 * (HOST_RIP vmx_exit_landing, HOST_RSP the frame below) the guest registers
 * are saved into regs and on_exit(regs) decides: EXIT_RESUME goes back in
 * with VMRESUME straight from here, EXIT_DEFAULT asks on_default(regs) to
 * decide, anything else returns 0 from vmx_run. 1 (VMfailInvalid) or 2
 * (VMfailValid) when VMLAUNCH/VMRESUME failed (SDM 3C 31.2). HOST_RSP is
 * written once per call, not at every entry.
 *
 * The frame HOST_RSP points at (16-byte aligned, so the handlers are called
 * as the ABI wants):
 *   0 regs   8 on_exit   16 on_default   24 r15 r14 r13 r12 rbx   64 rbp   72 return address */
#include "vmcs.h"
#define EXIT_ACTION_DEFAULT 2 /* vmx.h's EXIT_DEFAULT; EXIT_RESUME is 0 */
#define FRAME_ON_EXIT 8
#define FRAME_ON_DEFAULT 16
#define FRAME_RBP 64
/* struct guest_regs offsets */
#define RAX 0
#define RBX 8
#define RCX 16
#define RDX 24
#define RSI 32
#define RDI 40
#define RBP 48
#define R8 56
#define R9 64
#define R10 72
#define R11 80
#define R12 88
#define R13 96
#define R14 104
#define R15 112

/* All guest registers from regs (in %rdi; %rdi itself last) */
.macro load_guest_gprs
    mov RAX(%rdi), %rax
    mov RBX(%rdi), %rbx
    mov RCX(%rdi), %rcx
    mov RDX(%rdi), %rdx
    mov RSI(%rdi), %rsi
    mov RBP(%rdi), %rbp
    mov R8(%rdi), %r8
    mov R9(%rdi), %r9
    mov R10(%rdi), %r10
    mov R11(%rdi), %r11
    mov R12(%rdi), %r12
    mov R13(%rdi), %r13
    mov R14(%rdi), %r14
    mov R15(%rdi), %r15
    mov RDI(%rdi), %rdi
.endm

    .text
    .code64
    .globl vmx_run
vmx_run:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rcx                   /* on_default */
    push %rdx                   /* on_exit */
    push %rdi                   /* regs, found again at each exit */
    mov $HOST_RSP, %eax
    vmwrite %rsp, %rax
    test %esi, %esi
    jnz 1f
    load_guest_gprs
    vmlaunch
    jmp .Lentry_failed
1:  load_guest_gprs
    vmresume
    jmp .Lentry_failed

    .globl vmx_exit_landing
vmx_exit_landing:
    push %rdi
    mov 8(%rsp), %rdi
    mov %rax, RAX(%rdi)
    mov %rbx, RBX(%rdi)
    mov %rcx, RCX(%rdi)
    mov %rdx, RDX(%rdi)
    mov %rsi, RSI(%rdi)
    mov %rbp, RBP(%rdi)
    mov %r8, R8(%rdi)
    mov %r9, R9(%rdi)
    mov %r10, R10(%rdi)
    mov %r11, R11(%rdi)
    mov %r12, R12(%rdi)
    mov %r13, R13(%rdi)
    mov %r14, R14(%rdi)
    mov %r15, R15(%rdi)
    pop RDI(%rdi)
    /* RBP still holds the guest's: point it at vmx_run's frame, so a stack
     * trace from the handler goes on into the host's callers */
    lea FRAME_RBP(%rsp), %rbp
    call *FRAME_ON_EXIT(%rsp)
    test %eax, %eax             /* EXIT_RESUME */
    jnz .Lnot_resume
.Lresume:
    mov (%rsp), %rdi
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
    mov (%rsp), %rdi
    call *FRAME_ON_DEFAULT(%rsp)
    test %eax, %eax
    jz .Lresume
.Lleave:
    xor %eax, %eax
.Lout:
    add $24, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* The guest's first instruction: runs fn(arg) (RBX, RDI), then tells the
 * host it is done with the HC_DONE hypercall. */
    .globl guest_entry
guest_entry:
    call *%rbx
    xor %eax, %eax
    vmcall
    ud2
