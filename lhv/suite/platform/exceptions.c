/* Exceptions are delivered to the right vector with the right frame: each
 * probe raises one, catch_exception returns it, and the test checks the
 * vector, error code, faulting IP, CS and CR2 (SDM 3A 6.15). */
#include "catch.h"
#include "desc.h"
#include "suite/suite.h"
#include "trap.h"
#include "x86.h"

/* The probes: the label marks the instruction that raises the exception. */
#define PROBE(fn, label, body)                                                  \
    extern const char label[];                                                  \
    static __attribute__((noinline, noclone)) void fn(void *arg)                \
    {                                                                           \
        (void)arg;                                                              \
        __asm__ volatile(body : : : "eax", "ecx", "edx", "memory");             \
    }

PROBE(raise_de, probe_de, "xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t"
                          ".globl probe_de\nprobe_de: div %%ecx")
PROBE(raise_ud, probe_ud, ".globl probe_ud\nprobe_ud: ud2")
PROBE(raise_bp, probe_bp, "int3\n\t.globl probe_bp\nprobe_bp:")
/* A selector beyond the GDT limit: #GP with the selector as error code */
PROBE(raise_gp, probe_gp, "mov $0xfff8, %%eax\n\t.globl probe_gp\nprobe_gp: mov %%eax, %%ds")
/* Page 0 is not present (paging_unmap_null_page) */
PROBE(read_null, probe_pf_read, ".globl probe_pf_read\nprobe_pf_read: mov 0x10, %%eax")
PROBE(write_null, probe_pf_write, ".globl probe_pf_write\nprobe_pf_write: movl $1, 0x20")

/* A kernel stack overflow: INT3 with the stack pointer in the unmapped
 * page 0. Delivering #BP faults (#PF), delivering that #PF faults again:
 * #DF, which runs on its own known-good stack (IST on amd64, a task gate on
 * i386) and is reported instead of ending in a triple fault. */
#ifdef __x86_64__
PROBE(overflow_stack, probe_df, "mov $0x800, %%rsp\n\t.globl probe_df\nprobe_df: int3")
#else
PROBE(overflow_stack, probe_df, "mov $0x800, %%esp\n\t.globl probe_df\nprobe_df: int3")
#endif

/* Checks the caught exception; a mismatch fails the test with the reason. */
static void expect(const char *name, void (*probe)(void *), u32 vector, u32 error_code,
                   const char *ip, unsigned long cr2)
{
    struct caught c;
    int got = catch_exception(probe, NULL, &c);

    if (got == NO_EXCEPTION)
        return verdict_fail(name, "no exception, expected %s", exception_name(vector));
    if (c.vector != vector)
        return verdict_fail(name, "vector %u, expected %u", c.vector, vector);
    if (c.error_code != error_code)
        return verdict_fail(name, "error code 0x%x, expected 0x%x", c.error_code, error_code);
    if (c.ip != (uintptr_t)ip)
        return verdict_fail(name, "ip 0x%lx, expected 0x%lx", c.ip, (unsigned long)ip);
    if (c.cs != SEL_KCODE)
        return verdict_fail(name, "cs 0x%lx, expected 0x%x", c.cs, SEL_KCODE);
    if (cr2 && c.cr2 != cr2)
        return verdict_fail(name, "cr2 0x%lx, expected 0x%lx", c.cr2, cr2);
    verdict_pass(name);
}

TEST("exceptions/divide-error", test_de);
static void test_de(const char *name) { expect(name, raise_de, VEC_DE, 0, probe_de, 0); }

TEST("exceptions/invalid-opcode", test_ud);
static void test_ud(const char *name) { expect(name, raise_ud, VEC_UD, 0, probe_ud, 0); }

/* #BP is a trap: the saved IP is the instruction after INT3 */
TEST("exceptions/breakpoint", test_bp);
static void test_bp(const char *name) { expect(name, raise_bp, VEC_BP, 0, probe_bp, 0); }

TEST("exceptions/general-protection", test_gp);
static void test_gp(const char *name) { expect(name, raise_gp, VEC_GP, 0xfff8, probe_gp, 0); }

/* Error code bits (SDM 3A 4.7): P=0 (not present), W/R, U/S=0 */
TEST("exceptions/page-fault-read", test_pf_read);
static void test_pf_read(const char *name)
{
    expect(name, read_null, VEC_PF, 0, probe_pf_read, 0x10);
}

TEST("exceptions/page-fault-write", test_pf_write);
static void test_pf_write(const char *name)
{
    expect(name, write_null, VEC_PF, PF_WRITE, probe_pf_write, 0x20);
}

/* The saved IP of a #DF is undefined (SDM 3A 6.15, interrupt 8): only the
 * vector and the error code (always 0) are checked. */
TEST("exceptions/double-fault-stack", test_df);
static void test_df(const char *name)
{
    struct caught c;
    int got = catch_exception(overflow_stack, NULL, &c);

    if (got != VEC_DF)
        return verdict_fail(name, "vector %d, expected #DF (8)", got);
    verdict(c.error_code == 0, name, "error code 0x%x, expected 0", c.error_code);
}
