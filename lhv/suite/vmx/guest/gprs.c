/* Every general register of the guest survives a VM exit and the VM entry
 * that resumes it. A VM exit saves RSP, RIP and RFLAGS in the VMCS and no
 * other general register (SDM 3C 28.3, 27.3.2.3): the host's exit path
 * must save each one and load it back before it resumes. The guest fills
 * them all with distinct values, exits (VMCALL, then INVD: both exit
 * unconditionally, SDM 3C 26.1.2) and writes down what it holds after each
 * resume; the host writes down what it saw at each exit. */
#include "cpu.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/vmx.h"

#ifdef __x86_64__
#define NGPRS 16
static const char *const gpr_names[NGPRS] = {"rax", "rbx", "rcx", "rdx", "rsi", "rdi",
                                             "rbp", "rsp", "r8",  "r9",  "r10", "r11",
                                             "r12", "r13", "r14", "r15"};
#define FOLD 0x0101010101010101ull
#define BASE 0x5a00000000000000ull
#else
#define NGPRS 8
static const char *const gpr_names[NGPRS] = {"eax", "ebx", "ecx", "edx",
                                             "esi", "edi", "ebp", "esp"};
#define FOLD 0x01010101u
#define BASE 0x5a5a5a5au
#endif
#define SP_INDEX 7 /* the stack pointer's slot: not loaded, only compared */
#define EXITS 2    /* VMCALL, INVD */

/* What the guest loads before exit k (want[k]), what it holds after the
 * resume (after[k]) and what the host saw at the exit (host[k]). The
 * guest's half is written by the assembly below: keep the layout. */
struct gpr_record {
    unsigned long want[EXITS][NGPRS];
    unsigned long after[EXITS][NGPRS];
    unsigned long host[EXITS][NGPRS];
    u32 exits_seen;
};

/* guest_gprs(record): for each exit k, loads every register but the stack
 * pointer from want[k] (the pointer register last), notes the stack
 * pointer in want[k], exits, then pushes every register and copies them to
 * after[k]. Only the stack and the stack pointer find the record again. */
void guest_gprs(void *record);
#ifdef __x86_64__
__asm__(".macro gprs_load k\n"
        "  mov %rsp, (\\k * 128 + 56)(%rdi)\n"
        "  mov (\\k * 128 + 0)(%rdi), %rax\n"
        "  mov (\\k * 128 + 8)(%rdi), %rbx\n"
        "  mov (\\k * 128 + 16)(%rdi), %rcx\n"
        "  mov (\\k * 128 + 24)(%rdi), %rdx\n"
        "  mov (\\k * 128 + 32)(%rdi), %rsi\n"
        "  mov (\\k * 128 + 48)(%rdi), %rbp\n"
        "  mov (\\k * 128 + 64)(%rdi), %r8\n"
        "  mov (\\k * 128 + 72)(%rdi), %r9\n"
        "  mov (\\k * 128 + 80)(%rdi), %r10\n"
        "  mov (\\k * 128 + 88)(%rdi), %r11\n"
        "  mov (\\k * 128 + 96)(%rdi), %r12\n"
        "  mov (\\k * 128 + 104)(%rdi), %r13\n"
        "  mov (\\k * 128 + 112)(%rdi), %r14\n"
        "  mov (\\k * 128 + 120)(%rdi), %r15\n"
        "  mov (\\k * 128 + 40)(%rdi), %rdi\n"
        ".endm\n"
        ".macro gprs_store k\n"
        "  push %rdi\n"
        "  mov 8(%rsp), %rdi\n" /* the record */
        "  mov %rax, (256 + \\k * 128 + 0)(%rdi)\n"
        "  mov %rbx, (256 + \\k * 128 + 8)(%rdi)\n"
        "  mov %rcx, (256 + \\k * 128 + 16)(%rdi)\n"
        "  mov %rdx, (256 + \\k * 128 + 24)(%rdi)\n"
        "  mov %rsi, (256 + \\k * 128 + 32)(%rdi)\n"
        "  mov %rbp, (256 + \\k * 128 + 48)(%rdi)\n"
        "  lea 8(%rsp), %rax\n"
        "  mov %rax, (256 + \\k * 128 + 56)(%rdi)\n"
        "  mov %r8, (256 + \\k * 128 + 64)(%rdi)\n"
        "  mov %r9, (256 + \\k * 128 + 72)(%rdi)\n"
        "  mov %r10, (256 + \\k * 128 + 80)(%rdi)\n"
        "  mov %r11, (256 + \\k * 128 + 88)(%rdi)\n"
        "  mov %r12, (256 + \\k * 128 + 96)(%rdi)\n"
        "  mov %r13, (256 + \\k * 128 + 104)(%rdi)\n"
        "  mov %r14, (256 + \\k * 128 + 112)(%rdi)\n"
        "  mov %r15, (256 + \\k * 128 + 120)(%rdi)\n"
        "  pop %rax\n"
        "  mov %rax, (256 + \\k * 128 + 40)(%rdi)\n"
        ".endm\n"
        ".pushsection .text\n"
        ".globl guest_gprs\n"
        "guest_gprs:\n"
        "  push %rbp\n  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  push %rdi\n"
        "  gprs_load 0\n"
        "  vmcall\n"
        "  gprs_store 0\n"
        "  gprs_load 1\n"
        "  invd\n"
        "  gprs_store 1\n"
        "  pop %rdi\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  pop %rbp\n"
        "  ret\n"
        ".popsection\n");
#else
__asm__(".macro gprs_load k\n"
        "  mov %esp, (\\k * 32 + 28)(%edi)\n"
        "  mov (\\k * 32 + 0)(%edi), %eax\n"
        "  mov (\\k * 32 + 4)(%edi), %ebx\n"
        "  mov (\\k * 32 + 8)(%edi), %ecx\n"
        "  mov (\\k * 32 + 12)(%edi), %edx\n"
        "  mov (\\k * 32 + 16)(%edi), %esi\n"
        "  mov (\\k * 32 + 24)(%edi), %ebp\n"
        "  mov (\\k * 32 + 20)(%edi), %edi\n"
        ".endm\n"
        ".macro gprs_store k\n"
        "  push %edi\n"
        "  mov 4(%esp), %edi\n" /* the record */
        "  mov %eax, (64 + \\k * 32 + 0)(%edi)\n"
        "  mov %ebx, (64 + \\k * 32 + 4)(%edi)\n"
        "  mov %ecx, (64 + \\k * 32 + 8)(%edi)\n"
        "  mov %edx, (64 + \\k * 32 + 12)(%edi)\n"
        "  mov %esi, (64 + \\k * 32 + 16)(%edi)\n"
        "  mov %ebp, (64 + \\k * 32 + 24)(%edi)\n"
        "  lea 4(%esp), %eax\n"
        "  mov %eax, (64 + \\k * 32 + 28)(%edi)\n"
        "  pop %eax\n"
        "  mov %eax, (64 + \\k * 32 + 20)(%edi)\n"
        ".endm\n"
        ".pushsection .text\n"
        ".globl guest_gprs\n"
        "guest_gprs:\n"
        "  push %ebp\n  push %ebx\n  push %esi\n  push %edi\n"
        "  mov 20(%esp), %edi\n"
        "  push %edi\n"
        "  gprs_load 0\n"
        "  vmcall\n"
        "  gprs_store 0\n"
        "  gprs_load 1\n"
        "  invd\n"
        "  gprs_store 1\n"
        "  pop %edi\n"
        "  pop %edi\n  pop %esi\n  pop %ebx\n  pop %ebp\n"
        "  ret\n"
        ".popsection\n");
#endif
STATIC_ASSERT(__builtin_offsetof(struct gpr_record, after) == EXITS * NGPRS * sizeof(long),
              "guest_gprs's offsets");

/* The host's view of the guest registers, in gpr_names order (the stack
 * pointer from the VMCS) */
static void host_view(const struct vcpu *v, unsigned long *out)
{
    const struct guest_regs *r = &v->regs;
#ifdef __x86_64__
    const unsigned long view[NGPRS] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi,
                                       r->rbp, (unsigned long)vmr(GUEST_RSP),
                                       r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13,
                                       r->r14, r->r15};
#else
    const unsigned long view[NGPRS] = {r->eax, r->ebx, r->ecx, r->edx, r->esi, r->edi,
                                       r->ebp, (unsigned long)vmr(GUEST_RSP)};
#endif
    for (int i = 0; i < NGPRS; i++)
        out[i] = view[i];
}

/* The host's own code between exit and entry may happen to leave a guest
 * value in a register: overwrite those a C function may change, so only
 * the entry path's loads can give the guest its values back. */
static void scribble_registers(void)
{
#ifdef __x86_64__
    __asm__ volatile("mov $0xdead, %%eax\n\tmov %%rax, %%rcx\n\tmov %%rax, %%rdx\n\t"
                     "mov %%rax, %%rsi\n\tmov %%rax, %%rdi\n\tmov %%rax, %%r8\n\t"
                     "mov %%rax, %%r9\n\tmov %%rax, %%r10\n\tmov %%rax, %%r11"
                     : : : "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11");
#else
    __asm__ volatile("mov $0xdead, %%eax\n\tmov %%eax, %%ecx\n\tmov %%eax, %%edx"
                     : : : "eax", "ecx", "edx");
#endif
}

/* The first VMCALL and the INVD are the test's: noted and resumed with
 * every register as it came; the VMCALL that ends the guest is LHV's. */
static enum exit_action gprs_hook(struct vcpu *v, u32 reason)
{
    struct gpr_record *rec = v->test_data;
    u32 k = rec->exits_seen;
    u32 expected = k == 0 ? EXIT_REASON_VMCALL : EXIT_REASON_INVD;

    if (k >= EXITS || reason != expected)
        return EXIT_DEFAULT;
    host_view(v, rec->host[k]);
    rec->exits_seen++;
    vcpu_skip_instruction();
    scribble_registers();
    return EXIT_RESUME;
}

/* "r10 0x0 (want 0x5f...)" for each register that differs, into buf */
static bool list_differences(char *buf, size_t size, const unsigned long *got,
                             const unsigned long *want)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < NGPRS && n < size; i++)
        if (got[i] != want[i])
            n += (size_t)snprintf(buf + n, size - n, "%s%s 0x%lx (want 0x%lx)", n ? ", " : "",
                                  gpr_names[i], got[i], want[i]);
    return n != 0;
}

static void check_gprs(struct cpu_outcome *o, void *arg)
{
    static struct gpr_record records[LHV_MAX_CPUS];
    static const char *const exit_names[EXITS] = {"VMCALL", "INVD"};
    struct gpr_record *rec = &records[this_cpu()->index];
    struct vcpu *v = test_guest(o);
    char diff[120];
    (void)arg;

    if (!v)
        return;
    *rec = (struct gpr_record){.exits_seen = 0};
    /* distinct in every byte, and the second exit's values unlike the first's */
    for (int k = 0; k < EXITS; k++)
        for (int i = 0; i < NGPRS; i++)
            rec->want[k][i] = (BASE ^ (FOLD * (unsigned long)(i + 1))) ^ (k ? ~0ul : 0);
    v->hook = gprs_hook;
    v->test_data = rec;
    if (!test_guest_run(o, v, guest_gprs, rec))
        return;
    if (rec->exits_seen != EXITS)
        return outcome_fail(o, "%u of the %d exits (VMCALL, INVD) reached the host",
                            rec->exits_seen, EXITS);
    for (int k = 0; k < EXITS; k++) {
        if (list_differences(diff, sizeof(diff), rec->host[k], rec->want[k]))
            return outcome_fail(o, "at the %s exit the host saw %s", exit_names[k], diff);
        if (list_differences(diff, sizeof(diff), rec->after[k], rec->want[k]))
            return outcome_fail(o, "after the %s exit the guest held %s", exit_names[k], diff);
    }
}

VMX_TEST_ALL_CPUS("vmx/guest-gprs-preserved", check_gprs);
