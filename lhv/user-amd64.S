/* enter_user(ip, sp, ax): IRETQ to ring 3 (SDM 3A 6.14.3 frame: SS, RSP,
 * RFLAGS, CS, RIP). Interrupts stay off in ring 3. */
#include "desc.h"
    .text
    .code64
    .globl enter_user
enter_user:
    mov %rdx, %rax
    pushq $SEL_UDATA
    pushq %rsi
    pushq $0x2
    pushq $SEL_UCODE
    pushq %rdi
    iretq
