/* init's internal interfaces. */
#ifndef XMHF_INIT_H
#define XMHF_INIT_H

#include "boot_params.h"
#include "multiboot.h"

__attribute__((noreturn)) void init_jump_to_sl(u32 entry, u32 params);

extern char __init_start[], __init_end[];

#endif
