/* Interrupt entry, i386: 256 stubs of 16 bytes each push an error code
 * (a dummy 0 where the CPU pushes none, SDM 3A 6.13) and the vector, then
 * trap_common saves the registers as a struct trap_frame (trap.h).
 * #DF and NMI arrive through task gates instead (the task entries below). */
#include "desc.h"


    .text
    .code32
    .align 16
    .globl isr_stubs
isr_stubs:
    vector = 0
    .rept 256
    .align 16
    .if !HAS_ERROR_CODE(vector)
    pushl $0
    .endif
    pushl $vector
    jmp trap_common
    vector = vector + 1
    .endr

trap_common:
    push %ds
    push %es
    push %fs
    push %gs
    pusha
    mov $SEL_KDATA, %eax    /* ring 3 may have left its own selectors */
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov $SEL_PERCPU, %eax
    mov %eax, %gs
    cld
    push %esp               /* the frame */
    call trap_dispatch
    add $4, %esp
    popa
    pop %gs
    pop %fs
    pop %es
    pop %ds
    add $8, %esp            /* vector and error code */
    iret

/* The double-fault task: the CPU switched here through the task gate, with
 * the error code on this task's stack (the C function's argument); the
 * interrupted state is in the TSS the CPU left. double_fault_task reports
 * and ends the run, or, for an expected #DF, rewrites that state so that
 * IRET (a task return, NT set) resumes the catcher; the next #DF enters
 * after the IRET, hence the loop. */
    .globl df_task_entry
df_task_entry:
    call double_fault_task
    add $4, %esp                /* the error code */
    iret
    jmp df_task_entry

/* The NMI task: handles one NMI, then IRET switches back to the interrupted
 * task; the next NMI resumes after the IRET, hence the loop. */
    .globl nmi_task_entry
nmi_task_entry:
    call nmi_task
    iret
    jmp nmi_task_entry
