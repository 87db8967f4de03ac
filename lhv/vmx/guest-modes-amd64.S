/* Guest-side glue of the guest-mode tests, amd64 (see guest_modes.h). */
#include "desc.h"
#include "vmx/guest_modes.h"
#include "guest-modes.inc"

    .text
    .code64

/* vg_ring3_run(ip, sp, slots): IRETQ to ring 3 (SDM 3A 6.14.3 frame: SS,
 * RSP, RFLAGS, CS, RIP), having left the ring-0 stack pointer in slots[0]. */
    .globl vg_ring3_run
vg_ring3_run:
    push %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, (%rdx)
    pushq $SEL_UDATA
    push %rsi
    pushq $0x2
    pushq $SEL_UCODE
    push %rdi
    iretq

/* The guest's DPL-3 gate: from ring 3 the CPU switched to the TSS's RSP0
 * (the slots' address, 16-byte aligned) and pushed RIP, CS, RFLAGS, RSP, SS
 * below it; SS is null now (SDM 3A 6.14.4). Stores ESI, EDI and the frame's
 * CS where slots[1] points and returns from vg_ring3_run. */
    .globl vg_ring3_gate
vg_ring3_gate:
    mov 8(%rsp), %rax
    lea 40(%rsp), %rdx          /* the slots */
    mov 8(%rdx), %rcx
    mov %rsi, 0(%rcx)
    mov %rdi, 8(%rcx)
    mov %rax, 16(%rcx)
    mov $SEL_KDATA, %ecx
    mov %ecx, %ss
    mov %ecx, %ds
    mov %ecx, %es
    mov (%rdx), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret

/* The guest's handler of VG_VEC_GUEST: vg_guest_irq with the caller-saved
 * registers kept. The CPU left RSP 16-byte aligned minus the 40-byte frame;
 * nine pushes make it aligned for the call. */
    .globl vg_irq_stub
vg_irq_stub:
    push %rax
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    cld
    call vg_guest_irq
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rax
    iretq

/* vg_host_deliver(vector): an interrupt frame as the CPU builds it (stack
 * aligned to 16, then SS, RSP, RFLAGS, CS, RIP) and into the host's stub
 * for the vector; its IRETQ comes back here with RSP and RFLAGS restored. */
    .globl vg_host_deliver
vg_host_deliver:
    push %rbp
    mov %rsp, %rbp
    mov %edi, %eax
    shl $4, %rax
    add $isr_stubs, %rax
    and $-16, %rsp
    mov %ss, %ecx
    push %rcx
    push %rbp
    pushfq
    mov %cs, %ecx
    push %rcx
    call *%rax
    pop %rbp
    ret
