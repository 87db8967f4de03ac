/* Fixed-width types shared by every stage and by the host tests.
 * Only compiler-provided freestanding headers: no libc here. */
#ifndef XMHF_TYPES_H
#define XMHF_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
/* One type on both subarchs (%llx everywhere), 8-byte aligned even in i386
 * structs, so the boot parameters have one layout for 32- and 64-bit code. */
typedef unsigned long long u64 __attribute__((aligned(8)));
typedef int32_t s32;
typedef long long s64 __attribute__((aligned(8)));

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((u64)(a) - 1))
#define IS_ALIGNED(x, a) (((x) & ((u64)(a) - 1)) == 0)
#define STATIC_ASSERT(c, msg) _Static_assert(c, msg)

#define KiB(x) ((u64)(x) << 10)
#define MiB(x) ((u64)(x) << 20)
#define GiB(x) ((u64)(x) << 30)

#define PAGE_SIZE 4096u

/* The i386 runtime is built with -mregparm=3 (the Makefile: in Bochs a
 * push and the load that reads it back cost as much as a memory access
 * each, docs/performance.md); a C function that assembly calls with its
 * arguments on the stack, or an assembly function C calls, keeps the
 * stack: every declaration of it says STACK_ARGS. */
#if defined(__i386__)
#define STACK_ARGS __attribute__((regparm(0)))
#else
#define STACK_ARGS
#endif

#endif
