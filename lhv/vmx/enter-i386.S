/* vmx_enter(regs, launched): see enter-amd64.S; 32-bit registers. */
#define HOST_RSP 0x6c14
#define EAX 0
#define EBX 4
#define ECX 8
#define EDX 12
#define ESI 16
#define EDI 20
#define EBP 24

    .text
    .code32
    .globl vmx_enter
vmx_enter:
    mov 4(%esp), %eax           /* regs */
    mov 8(%esp), %ecx           /* launched */
    push %ebp
    push %ebx
    push %esi
    push %edi
    push %eax                   /* regs, found again after the exit */
    mov $HOST_RSP, %edx
    vmwrite %esp, %edx
    test %ecx, %ecx             /* ZF survives the loads below */
    mov EBX(%eax), %ebx
    mov ECX(%eax), %ecx
    mov EDX(%eax), %edx
    mov ESI(%eax), %esi
    mov EDI(%eax), %edi
    mov EBP(%eax), %ebp
    mov EAX(%eax), %eax
    jnz 1f
    vmlaunch
    jmp 2f
1:  vmresume
2:  mov $1, %eax                /* still here: the instruction failed */
    jc 3f
    mov $2, %eax
3:  add $4, %esp
    jmp 4f

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
    pop %ecx
    mov %ecx, EAX(%eax)
    add $4, %esp
    xor %eax, %eax
4:  pop %edi
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
