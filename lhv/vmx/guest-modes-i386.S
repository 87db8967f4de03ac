/* Guest-side glue of the guest-mode tests, i386 (see guest_modes.h). */
#include "desc.h"
#include "vmx/guest_modes.h"
#include "guest-modes.inc"

    .text
    .code32

/* vg_ring3_run(ip, sp, slots): IRET to ring 3 (frame: SS, ESP, EFLAGS, CS,
 * EIP), having left the ring-0 stack pointer in slots[0]. The IRET nulls
 * the data segment registers, whose DPL is 0 (SDM 3A 6.12.1): the ring-3
 * program touches no memory, and the gate loads them again. */
    .globl vg_ring3_run
vg_ring3_run:
    mov 4(%esp), %ecx
    mov 8(%esp), %edx
    mov 12(%esp), %eax
    push %ebp
    push %ebx
    push %esi
    push %edi
    mov %esp, (%eax)
    pushl $SEL_UDATA
    push %edx
    pushl $0x2
    pushl $SEL_UCODE
    push %ecx
    iret

/* The guest's DPL-3 gate: from ring 3 the CPU switched to the TSS's
 * SS0:ESP0 (the slots' address) and pushed SS, ESP, EFLAGS, CS, EIP below
 * it. Stores ESI, EDI and the frame's CS where slots[1] points, loads the
 * data segments again and returns from vg_ring3_run. */
    .globl vg_ring3_gate
vg_ring3_gate:
    mov 4(%esp), %eax
    lea 20(%esp), %edx          /* the slots */
    mov $SEL_KDATA, %ecx
    mov %ecx, %ds
    mov %ecx, %es
    mov %ecx, %fs
    mov $SEL_PERCPU, %ecx
    mov %ecx, %gs
    mov 4(%edx), %ecx
    mov %esi, 0(%ecx)
    mov %edi, 4(%ecx)
    mov %eax, 8(%ecx)
    mov (%edx), %esp
    pop %edi
    pop %esi
    pop %ebx
    pop %ebp
    ret

/* The guest's handler of VG_VEC_GUEST: vg_guest_irq with the registers
 * kept (the guest stays in ring 0: its segments are the kernel's). */
    .globl vg_irq_stub
vg_irq_stub:
    pusha
    cld
    call vg_guest_irq
    popa
    iret

/* vg_host_deliver(vector): an interrupt frame as the CPU builds it at the
 * same privilege level (EFLAGS, CS, EIP) and into the host's stub for the
 * vector; its IRET comes back here with EFLAGS restored. */
    .globl vg_host_deliver
vg_host_deliver:
    mov 4(%esp), %eax
    shl $4, %eax
    add $isr_stubs, %eax
    pushf
    push %cs
    call *%eax
    ret
