/* I/O exits, on every CPU: the I/O bitmaps keep the guest off the host's
 * ports (serial port, PICs, PIT), which IN/OUT/INS/OUTS exit under the
 * bitmaps or unconditional I/O exiting, and what their exits report. */
#include "alloc.h"
#include "console.h"
#include "cpu.h"
#include "runtime.h"
#include "string.h"
#include "suite/vmx_test.h"
#include "vmx/ept.h"
#include "vmx/msr_area.h"
#include "x86.h"

/* vmx/isolation-io-bitmap: with "use I/O bitmaps" (processor-based control
 * bit 25) a set bit in bitmap A (ports 0-0x7fff) or B (0x8000-0xffff)
 * makes IN/OUT of that port exit with reason 30; the qualification holds
 * the size - 1 (bits 2:0), the direction (bit 3, 1 = IN), the immediate
 * operand form (bit 6) and the port (bits 31:16) (SDM 3C 26.1.3, 25.6.4,
 * 28.2.1 table 28-5). The host owns the serial port 0x3f8-0x3ff, the PICs
 * 0x20/0x21/0xa0/0xa1 and the PIT 0x40-0x43: the guest reads each and
 * writes some (values that would do no harm had they passed: the UART's
 * scratch register, the masks the PICs hold, a PIT latch command); each
 * access exits and the host answers reads with 0xff itself. Port 0x80 (POST
 * codes) is not the host's: the guest's OUT and IN there do not exit. */

static const u16 host_ports[] = {0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
                                 0x20,  0x21,  0xa0,  0xa1,  0x40,  0x41,  0x42,  0x43};
#define FREE_PORT 0x80

struct io_data {
    u32 step;             /* index of the access the guest makes next */
    u8 pic1_mask, pic2_mask;
    u8 read[ARRAY_SIZE(host_ports)];
    u32 exits;
    char bad[120];        /* what went wrong in the hook */
};

/* The guest's accesses in order: reads of every host port, then writes */
struct io_access {
    u16 port;
    bool in;
};
#define IO_WRITES 5
static struct io_access io_access_at(const struct io_data *d, u32 i, u8 *value)
{
    static const u16 writes[IO_WRITES] = {0x3ff, 0x21, 0xa1, 0x43, 0};
    if (i < ARRAY_SIZE(host_ports))
        return (struct io_access){host_ports[i], true};
    i -= ARRAY_SIZE(host_ports);
    *value = writes[i] == 0x21 ? d->pic1_mask : writes[i] == 0xa1 ? d->pic2_mask
             : writes[i] == 0x3ff ? 0xa5 : 0x00;
    return (struct io_access){writes[i], false};
}
#define IO_ACCESSES (ARRAY_SIZE(host_ports) + IO_WRITES - 1)

static enum exit_action io_hook(struct vcpu *v, u32 reason)
{
    struct io_data *d = v->test_data;
    u8 value = 0;
    if (reason != EXIT_REASON_IO_INSTRUCTION)
        return EXIT_DEFAULT;
    u64 q = v->exit_qual;
    u16 port = (u16)(q >> 16);
    d->exits++;
    if (d->step >= IO_ACCESSES) {
        snprintf(d->bad, sizeof(d->bad), "an exit for port 0x%x after the host's ports", port);
        return vcpu_fail(v, "%s", d->bad);
    }
    struct io_access a = io_access_at(d, d->step, &value);
    if (port != a.port || !!(q & IO_QUAL_IN) != a.in || (q & 7) != 0 || (q & IO_QUAL_STRING)) {
        return vcpu_fail(v, "access %u: qualification 0x%llx (port 0x%x), expected a 1-byte %s "
                         "of port 0x%x", d->step, q, port, a.in ? "IN" : "OUT", a.port);
    }
    if (a.in)
        REG_AX(v) = (REG_AX(v) & ~0xffull) | 0xff;
    else if ((u8)REG_AX(v) != value) {
        return vcpu_fail(v, "OUT to port 0x%x: AL is not the guest's value 0x%x", port, value);
    }
    d->step++;
    vcpu_skip_instruction();
    return EXIT_RESUME;
}

static void guest_io(void *arg)
{
    struct io_data *d = arg;
    u8 value = 0;
    for (u32 i = 0; i < IO_ACCESSES; i++) {
        struct io_access a = io_access_at(d, i, &value);
        if (a.in)
            d->read[i] = inb(a.port);
        else
            outb(a.port, value);
    }
    /* Not the host's: no exit (POST code port) */
    outb(FREE_PORT, 0x88);
    (void)inb(FREE_PORT);
}

/* This CPU's I/O bitmaps A and B, all clear (no port exits) */
static u8 **io_bitmaps_clear(void)
{
    static u8 *bitmaps[LHV_MAX_CPUS][2];
    u8 **bm = bitmaps[this_cpu()->index];
    if (!bm[0]) {
        bm[0] = alloc_pages(1);
        bm[1] = alloc_pages(1);
    }
    memset(bm[0], 0, PAGE_SIZE);
    memset(bm[1], 0, PAGE_SIZE);
    return bm;
}

/* Sets port's bit: bitmap A holds 0-0x7fff, B 0x8000-0xffff (SDM 3C 25.6.4) */
static void io_bitmap_set(u8 **bm, u16 port)
{
    bm[port >> 15][(port & 0x7fff) / 8] |= (u8)(1u << (port % 8));
}

static void check_io_bitmap(struct cpu_outcome *o, void *arg)
{
    u8 **bm;
    struct io_data d;
    u32 proc, missing;
    struct vcpu *v;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    for (u32 i = 0; i < ARRAY_SIZE(host_ports); i++)
        io_bitmap_set(bm, host_ports[i]);
    memset(&d, 0, sizeof(d));
    d.pic1_mask = inb(0x21);
    d.pic2_mask = inb(0xa1);
    outb(0x3ff, 0x3c);
    v = test_guest(o);
    if (!v)
        return;
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | CPU_USE_IO_BITMAPS,
                    &proc, &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, proc);
    vmw(IO_BITMAP_A, (uintptr_t)bm[0]);
    vmw(IO_BITMAP_B, (uintptr_t)bm[1]);
    v->hook = io_hook;
    v->test_data = &d;
    if (!test_guest_run(o, v, guest_io, &d))
        return;
    if (d.step != IO_ACCESSES || d.exits != IO_ACCESSES) {
        outcome_fail(o, "%u I/O exits, expected %u (one per access to the host's ports)", d.exits,
                     (u32)IO_ACCESSES);
        return;
    }
    for (u32 i = 0; i < ARRAY_SIZE(host_ports); i++)
        if (d.read[i] != 0xff) {
            outcome_fail(o, "the guest read 0x%x from port 0x%x, not the host's answer 0xff",
                         d.read[i], host_ports[i]);
            return;
        }
    u8 scratch = inb(0x3ff);
    if (scratch != 0x3c)
        outcome_fail(o, "the UART scratch register holds 0x%x after the guest's OUT, was 0x3c",
                     scratch);
    else if (inb(0x21) != d.pic1_mask || inb(0xa1) != d.pic2_mask)
        outcome_fail(o, "the PIC masks changed");
}

VMX_TEST_ALL_CPUS("vmx/isolation-io-bitmap", check_io_bitmap);

/* vmx/io-bitmaps and vmx/io-unconditional: which IN/OUT/INS/OUTS exit and
 * what the exit says. An I/O exit (reason 30) has the qualification of SDM
 * 3C 28.2.1 table 28-5: size - 1 (bits 2:0), IN (bit 3), string (bit 4),
 * REP (bit 5), immediate port operand (bit 6), the port (bits 31:16), the
 * rest 0. For INS/OUTS the guest-linear address field holds the address of
 * the memory operand (ES:rDI, DS:rSI) and, when IA32_VMX_BASIC bit 54 says
 * so, the instruction information holds the address size (bits 9:7) and,
 * for OUTS, the segment (bits 17:15, DS = 3) (28.2.5 table 28-8). The host
 * skips each exiting instruction (nothing reaches a port). The ports:
 * IOB_PORT (0x84, an unused DMA page register) and IOB_PORT_B (in bitmap
 * B) are the intercepted ones, 0x80 (POST codes) the one that may pass. */

#define IOB_PORT 0x84
#define IOB_PORT_B 0x8a00
#define IOB_EDGE 0x7fff /* a word there touches 0x7fff (bitmap A) and 0x8000 (B) */
#ifdef __x86_64__
#define IOB_ADDR_SIZE 2 /* 64-bit */
#else
#define IOB_ADDR_SIZE 1 /* 32-bit */
#endif

enum iob_op { IOB_IN_IMM, IOB_OUT_WORD, IOB_IN_DWORD_B, IOB_IN_WORD_EDGE, IOB_OUTSB,
              IOB_REP_OUTSB, IOB_REP_INSB, IOB_OUT_FREE, IOB_IN_FREE, IOB_OPS };

static const struct {
    const char *name;
    u32 qual;
    bool string, in;
} iob_ops[IOB_OPS] = {
    [IOB_IN_IMM] = {"IN AL, 0x84", IO_QUAL(IOB_PORT, 1, IO_QUAL_IN | IO_QUAL_IMM), false, true},
    [IOB_OUT_WORD] = {"OUT DX=0x84, AX", IO_QUAL(IOB_PORT, 2, 0), false, false},
    [IOB_IN_DWORD_B] = {"IN EAX, DX=0x8a00", IO_QUAL(IOB_PORT_B, 4, IO_QUAL_IN), false, true},
    [IOB_IN_WORD_EDGE] = {"IN AX, DX=0x7fff", IO_QUAL(IOB_EDGE, 2, IO_QUAL_IN), false, true},
    [IOB_OUTSB] = {"OUTSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_STRING), true, false},
    [IOB_REP_OUTSB] = {"REP OUTSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_STRING | IO_QUAL_REP), true,
                       false},
    [IOB_REP_INSB] = {"REP INSB", IO_QUAL(IOB_PORT, 1, IO_QUAL_IN | IO_QUAL_STRING | IO_QUAL_REP),
                      true, true},
    [IOB_OUT_FREE] = {"OUT 0x80, AL", IO_QUAL(FREE_PORT, 1, IO_QUAL_IMM), false, false},
    [IOB_IN_FREE] = {"IN AL, 0x80", IO_QUAL(FREE_PORT, 1, IO_QUAL_IN | IO_QUAL_IMM), false, true},
};

struct iob_data {
    u32 ops[IOB_OPS], n;
    bool expect[IOB_OPS];    /* whether ops[i] must exit */
    u32 exits[IOB_OPS];
    volatile u32 at;         /* the guest's current op */
    u8 buf[4];               /* INS/OUTS memory operand */
    char bad[150];
};

static void guest_iob_op(struct iob_data *d, u32 op)
{
    void *p = d->buf;
    unsigned long n = 3;
    u32 v;
    switch (op) {
    case IOB_IN_IMM: __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(IOB_PORT)); break;
    case IOB_OUT_WORD: __asm__ volatile("outw %%ax, %%dx" : : "a"(0x5a5a), "d"(IOB_PORT)); break;
    case IOB_IN_DWORD_B: __asm__ volatile("inl %%dx, %%eax" : "=a"(v) : "d"(IOB_PORT_B)); break;
    case IOB_IN_WORD_EDGE: __asm__ volatile("inw %%dx, %%ax" : "=a"(v) : "d"(IOB_EDGE)); break;
    case IOB_OUTSB: __asm__ volatile("outsb" : "+S"(p) : "d"(IOB_PORT) : "memory"); break;
    case IOB_REP_OUTSB:
        __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(IOB_PORT) : "memory");
        break;
    case IOB_REP_INSB:
        __asm__ volatile("rep insb" : "+D"(p), "+c"(n) : "d"(IOB_PORT) : "memory");
        break;
    case IOB_OUT_FREE: __asm__ volatile("outb %%al, %1" : : "a"(0x88), "N"(FREE_PORT)); break;
    case IOB_IN_FREE: __asm__ volatile("inb %1, %%al" : "=a"(v) : "N"(FREE_PORT)); break;
    }
    (void)v;
}

static void guest_iob(void *arg)
{
    struct iob_data *d = arg;
    for (u32 i = 0; i < d->n; i++) {
        d->at = i;
        guest_iob_op(d, d->ops[i]);
    }
}

/* What a string instruction's exit must add: the operand's address and,
 * when reported, the address size and (OUTS) DS */
static bool iob_string_ok(struct iob_data *d, u32 op)
{
    u64 addr = vmr(GUEST_LINEAR_ADDRESS);
    u32 info = (u32)vmr(VMX_INSTRUCTION_INFO);
    if (addr != (uintptr_t)d->buf) {
        snprintf(d->bad, sizeof(d->bad), "%s: guest-linear address 0x%llx, expected the "
                 "operand 0x%lx", iob_ops[op].name, addr, (unsigned long)(uintptr_t)d->buf);
        return false;
    }
    if (!(vmx_caps.basic & VMX_BASIC_INOUT_INFO))
        return true;
    if (((info >> 7) & 7) != IOB_ADDR_SIZE || (!iob_ops[op].in && ((info >> 15) & 7) != 3)) {
        snprintf(d->bad, sizeof(d->bad), "%s: instruction information 0x%x, expected address "
                 "size %u%s", iob_ops[op].name, info, IOB_ADDR_SIZE,
                 iob_ops[op].in ? "" : " and segment DS (3)");
        return false;
    }
    return true;
}

static enum exit_action iob_hook(struct vcpu *v, u32 reason)
{
    struct iob_data *d = v->test_data;
    if (reason != EXIT_REASON_IO_INSTRUCTION)
        return EXIT_DEFAULT;
    u32 i = d->at, op = d->ops[i];
    d->exits[i]++;
    if (!d->expect[i])
        snprintf(d->bad, sizeof(d->bad), "%s exited (qualification 0x%llx), expected it to "
                 "pass", iob_ops[op].name, v->exit_qual);
    else if (v->exit_qual != iob_ops[op].qual)
        snprintf(d->bad, sizeof(d->bad), "%s: qualification 0x%llx, expected 0x%x",
                 iob_ops[op].name, v->exit_qual, iob_ops[op].qual);
    else if (!iob_ops[op].string || iob_string_ok(d, op)) {
        vcpu_skip_instruction();
        return EXIT_RESUME;
    }
    return vcpu_fail(v, "%s", d->bad);
}

/* Runs the ops in the guest with proc-based controls proc (adjusted) and
 * the bitmaps bm; each op must exit once when its expect bit is set in
 * exit_mask (1 << op), never otherwise. */
static bool iob_run(struct cpu_outcome *o, const char *what, u32 proc, u8 **bm,
                    const u32 *ops, u32 n, u32 exit_mask)
{
    struct iob_data d;
    u32 value, missing;
    struct vcpu *v = test_guest(o);

    if (!v)
        return false;
    if (!vmx_adjust(&vmx_caps.proc, (u32)vmr(CPU_BASED_VM_EXEC_CONTROL) | proc, &value,
                    &missing)) {
        outcome_fail(o, "processor-based controls: bits 0x%x not allowed", missing);
        return false;
    }
    vmw(CPU_BASED_VM_EXEC_CONTROL, value);
    vmw(IO_BITMAP_A, (uintptr_t)bm[0]);
    vmw(IO_BITMAP_B, (uintptr_t)bm[1]);
    memset(&d, 0, sizeof(d));
    memcpy(d.ops, ops, n * sizeof(*ops));
    d.n = n;
    for (u32 i = 0; i < n; i++)
        d.expect[i] = exit_mask & (1u << ops[i]);
    v->hook = iob_hook;
    v->test_data = &d;
    struct run_result r = vcpu_run(v, guest_iob, &d);
    if (r.end != RUN_DONE) {
        outcome_fail(o, "%s: %s", what, r.why);
        return false;
    }
    for (u32 i = 0; i < n; i++)
        if (d.exits[i] != (u32)d.expect[i]) {
            outcome_fail(o, "%s: %s caused %u exits, expected %u", what, iob_ops[ops[i]].name,
                         d.exits[i], (u32)d.expect[i]);
            return false;
        }
    return true;
}

/* vmx/io-bitmaps: with "use I/O bitmaps" (processor-based bit 25) an
 * instruction exits when the bit of any port it touches is set (SDM 3C
 * 26.1.3, 25.6.4): set here are 0x84, 0x8a00 (bitmap B) and 0x8000, which
 * only the second byte of a word access at 0x7fff touches. Port 0x80's bit
 * is clear: OUT and IN there pass. */
static void check_io_bitmaps(struct cpu_outcome *o, void *arg)
{
    static const u32 ops[] = {IOB_IN_IMM, IOB_OUT_WORD, IOB_IN_DWORD_B, IOB_IN_WORD_EDGE,
                              IOB_OUTSB, IOB_REP_OUTSB, IOB_REP_INSB, IOB_OUT_FREE, IOB_IN_FREE};
    u8 **bm;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    io_bitmap_set(bm, IOB_PORT);
    io_bitmap_set(bm, IOB_PORT_B);
    io_bitmap_set(bm, IOB_EDGE + 1);
    iob_run(o, "I/O bitmaps", CPU_USE_IO_BITMAPS, bm, ops, ARRAY_SIZE(ops),
            ~((1u << IOB_OUT_FREE) | (1u << IOB_IN_FREE)));
}

VMX_TEST_ALL_CPUS("vmx/io-bitmaps", check_io_bitmaps);

/* vmx/io-unconditional: with "unconditional I/O exiting" (processor-based
 * bit 24) and no I/O bitmaps every IN, OUT, INS and OUTS exits, port 0x80
 * too; with "use I/O bitmaps" also set the bitmaps decide and the
 * unconditional control is ignored (SDM 3C 25.6.2, 26.1.3): 0x80, its bit
 * clear, passes, 0x84 exits. */
static void check_io_unconditional(struct cpu_outcome *o, void *arg)
{
    static const u32 ops[] = {IOB_IN_IMM, IOB_OUT_WORD, IOB_OUTSB, IOB_REP_INSB, IOB_OUT_FREE,
                              IOB_IN_FREE};
    u8 **bm;
    (void)arg;

    if (!require_control(o, CTL_PROC, CPU_UNCONDITIONAL_IO_EXITING,
                         "unconditional I/O exiting") ||
        !require_control_clear(o, CTL_PROC, CPU_USE_IO_BITMAPS, "use I/O bitmaps"))
        return;
    bm = io_bitmaps_clear();
    if (!iob_run(o, "unconditional I/O exiting", CPU_UNCONDITIONAL_IO_EXITING, bm, ops,
                 ARRAY_SIZE(ops), ~0u))
        return;
    if (!require_control(o, CTL_PROC, CPU_USE_IO_BITMAPS,
                         "use I/O bitmaps; unconditional exiting passed"))
        return;
    io_bitmap_set(bm, IOB_PORT);
    iob_run(o, "unconditional I/O exiting under I/O bitmaps",
            CPU_UNCONDITIONAL_IO_EXITING | CPU_USE_IO_BITMAPS, bm, ops, ARRAY_SIZE(ops),
            ~((1u << IOB_OUT_FREE) | (1u << IOB_IN_FREE)));
}

VMX_TEST_ALL_CPUS("vmx/io-unconditional", check_io_unconditional);
