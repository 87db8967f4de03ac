/* Ring 3: running code in user mode and getting control back from it. */
#ifndef LHV_USER_H
#define LHV_USER_H

#include "catch.h"

/* Low pages (identity-mapped, ring-3 accessible after user_init) holding
 * the user programs and the user stack. */
#define USER_CODE_PAGE 0x70000u
#define USER_STACK_PAGE 0x71000u

/* Makes the two user pages ring-3 accessible and writes the user programs.
 * Returns false when the memory map does not give them as usable RAM. */
bool user_init(const struct lhv_boot_params *p);

/* The user programs, at offsets in USER_CODE_PAGE */
#define USER_PROG_SYSCALL 0x00 /* int $0x80 */
#define USER_PROG_READ 0x10    /* mov (AX), %eax; int $0x80 */
/* int $n; int $0x80 -- one for each vector n, 4 bytes apart */
#define USER_PROG_INT(n) (0x100 + 4 * (n))

/* Runs the user program at offset prog in ring 3 with AX = arg. It ends
 * with the first interrupt or exception it raises (the system call gate
 * included), returned as catch_exception returns it. *frame_at gets the
 * address of the interrupt frame, to check which stack the CPU used. */
int user_run(u32 prog, unsigned long arg, struct caught *out, uintptr_t *frame_at);

#endif
