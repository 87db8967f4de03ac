/* enter_user(ip, sp, ax): IRET to ring 3 (frame: SS, ESP, EFLAGS, CS,
 * EIP). The data segments must hold ring-3 selectors first: IRET to an
 * outer level nulls those a ring-3 program may not use (SDM 3A 6.12.1).
 * Interrupts stay off in ring 3. */
#include "desc.h"
    .text
    .code32
    .globl enter_user
enter_user:
    mov 4(%esp), %ecx
    mov 8(%esp), %edx
    mov 12(%esp), %eax
    push %eax
    mov $SEL_UDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    pop %eax
    pushl $SEL_UDATA
    pushl %edx
    pushl $0x2
    pushl $SEL_UCODE
    pushl %ecx
    iret
