/* vmx_enter(regs, launched): loads the guest's general registers and
 * enters the guest with VMLAUNCH or VMRESUME. Returns 0 after a VM exit
 * (the guest registers saved back into regs), or 1 (VMfailInvalid) / 2
 * (VMfailValid) when the instruction failed (SDM 3C 31.2). The VM exit
 * lands at vmx_exit_landing (HOST_RIP) on the stack written to HOST_RSP
 * here, where the regs pointer waits. */
#define HOST_RSP 0x6c14
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

    .text
    .code64
    .globl vmx_enter
vmx_enter:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rdi                   /* regs, found again after the exit */
    mov $HOST_RSP, %eax
    vmwrite %rsp, %rax
    test %esi, %esi             /* ZF survives the loads below */
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
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  mov $1, %eax                /* still here: the instruction failed */
    jc 3f
    mov $2, %eax
3:  add $8, %rsp
    jmp 4f

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
    pop %rax
    mov %rax, RDI(%rdi)
    add $8, %rsp
    xor %eax, %eax
4:  pop %r15
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
