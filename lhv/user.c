/* Ring 3 (SDM 3A 6.12.1: an interrupt from ring 3 switches to the TSS's
 * ring-0 stack; the DPL-3 gate at VEC_SYSCALL lets ring 3 call in). The
 * system-call handler ends the user program the same way an exception does:
 * it hands the frame to catch_deliver, so user_run returns. */
#include "boot_params.h"
#include "catch.h"
#include "mmap.h"
#include "paging.h"
#include "string.h"
#include "trap.h"
#include "user.h"

STACK_ARGS void enter_user(uintptr_t ip, uintptr_t sp, unsigned long ax); /* user-SUBARCH.S */

/* Machine code valid in both 32- and 64-bit mode */
static const u8 prog_syscall[] = {0xcd, 0x80};            /* int $0x80 */
static const u8 prog_read[] = {0x8b, 0x00, 0xcd, 0x80};   /* mov (%eax|%rax), %eax; int $0x80 */

static volatile uintptr_t last_frame[LHV_MAX_CPUS]; /* per CPU: they run at once */

static void syscall_handler(struct trap_frame *f)
{
    last_frame[this_cpu()->index] = (uintptr_t)f;
    catch_deliver(this_cpu(), f);
}

bool user_init(const struct lhv_boot_params *p)
{
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);

    if (n <= 0 || !mmap_range_usable(map, (u32)n, USER_CODE_PAGE, 2 * PAGE_SIZE))
        return false;
    memset((void *)USER_CODE_PAGE, 0xcc, PAGE_SIZE); /* int3 around the programs */
    memcpy((void *)(USER_CODE_PAGE + USER_PROG_SYSCALL), prog_syscall, sizeof(prog_syscall));
    memcpy((void *)(USER_CODE_PAGE + USER_PROG_READ), prog_read, sizeof(prog_read));
    for (u32 n = 0; n < 256; n++) {
        u8 *prog = (u8 *)(uintptr_t)(USER_CODE_PAGE + USER_PROG_INT(n));
        prog[0] = 0xcd; /* int $n */
        prog[1] = (u8)n;
        memcpy(prog + 2, prog_syscall, sizeof(prog_syscall));
    }
    paging_make_user_page(USER_CODE_PAGE);
    paging_make_user_page(USER_STACK_PAGE);
    trap_set_handler(VEC_SYSCALL, syscall_handler);
    return true;
}

struct user_call {
    u32 prog;
    unsigned long arg;
};

static void run_user(void *arg)
{
    const struct user_call *u = arg;
    enter_user(USER_CODE_PAGE + u->prog, USER_STACK_PAGE + PAGE_SIZE, u->arg);
}

int user_run(u32 prog, unsigned long arg, struct caught *out, uintptr_t *frame_at)
{
    struct user_call u = {prog, arg};
    last_frame[this_cpu()->index] = 0;
    int vector = catch_exception(run_user, &u, out);
#ifdef __x86_64__
    /* An interrupt from ring 3 left SS null (SDM 3A 6.14.4): restore it */
    __asm__ volatile("mov %0, %%ss" : : "r"(SEL_KDATA));
#endif
    *frame_at = last_frame[this_cpu()->index];
    return vector;
}
