/* vmx/io-bitmap-wraparound: with "use I/O bitmaps" an I/O instruction
 * that wraps around the 16-bit port space (one of its ports is FFFFH and
 * another 0000H) exits whatever the bitmaps say (SDM 3C 26.1.3). Every
 * bitmap bit is 0: a byte IN of port FFFFH and a dword IN of FFFCH-FFFFH
 * pass; a word IN of FFFFH and a dword IN of FFFDH wrap and exit (reason
 * 30) with their qualification (size, IN, DX, port; 28.2.1 table 28-5). */
#include "alloc.h"
#include "cpu.h"
#include "suite/vmx_test.h"
#include "x86.h"

#define IW_EXITS 2
#define IW_QUAL_WORD_FFFF 0xffff0009ull  /* port FFFFH, IN, DX, 2 bytes (size 1) */
#define IW_QUAL_DWORD_FFFD 0xfffd000bull /* port FFFDH, IN, DX, 4 bytes (size 3) */

struct iw_run {
    u64 qual[IW_EXITS];
    u32 exits;
};

static enum exit_action iw_hook(struct vcpu *v, u32 reason)
{
    struct iw_run *r = v->test_data;

    if (reason != EXIT_REASON_IO_INSTRUCTION)
        return EXIT_DEFAULT;
    if (r->exits < IW_EXITS)
        r->qual[r->exits] = v->exit_qual;
    r->exits++;
    REG_AX(v) = 0;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void iw_guest(void *arg)
{
    (void)arg;
    __asm__ volatile("inb %%dx, %%al" : : "d"(0xffff) : "eax");
    __asm__ volatile("inw %%dx, %%ax" : : "d"(0xffff) : "eax");
    __asm__ volatile("inl %%dx, %%eax" : : "d"(0xfffc) : "eax");
    __asm__ volatile("inl %%dx, %%eax" : : "d"(0xfffd) : "eax");
}

static void check_io_wraparound(struct cpu_outcome *o, void *arg)
{
    static u8 *bitmaps[LHV_MAX_CPUS];
    u8 **b = &bitmaps[this_cpu()->index];
    struct iw_run r = {{0, 0}, 0};
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps") ||
        !(v = test_guest(o)))
        return;
    if (!*b)
        *b = alloc_pages(2); /* A and B, all 0 */
    vmw(IO_BITMAP_A, (uintptr_t)*b);
    vmw(IO_BITMAP_B, (uintptr_t)*b + PAGE_SIZE);
    vmw_or(CPU_BASED_VM_EXEC_CONTROL, CPU_USE_IO_BITMAPS);
    v->hook = iw_hook;
    v->test_data = &r;
    if (test_guest_run(o, v, iw_guest, NULL) && CHECK_EQ(o, r.exits, IW_EXITS) &&
        CHECK_EQ(o, r.qual[0], IW_QUAL_WORD_FFFF))
        CHECK_EQ(o, r.qual[1], IW_QUAL_DWORD_FFFD);
}
VMX_TEST_ALL_CPUS("vmx/io-bitmap-wraparound", check_io_wraparound);
