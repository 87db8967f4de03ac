/* The IDT-vectoring information of an exit during the delivery of an
 * injected event (SDM 3C 28.2.4), on every CPU. */
#include "alloc.h"
#include "cpu.h"
#include "desc.h"
#include "string.h"
#include "x86.h"
#include "events.h"

/* ===== vmx/idt-vectoring-info =============================================
 * Injected events into an IDT of all-zero entries: a descriptor of type 0
 * is no gate, so delivery raises #GP (error code: the IDT entry, bit 1
 * IDT, bit 0 EXT for events external to the program; SDM 3A 6.13, 6.14.1),
 * which exits (exception bitmap). The exit names #GP; the IDT-vectoring
 * information names the injected event (3C 28.2.4), with its error code
 * and, for INT n, its length (28.2.5). #UD and #AC are benign, so the #GP
 * does not make a double fault. */
struct ev_case {
    const char *what;
    u32 info, error;
    bool ext; /* #GP's EXT bit */
};

static void check_idt_vectoring(struct cpu_outcome *o, void *arg)
{
    static const struct ev_case cases[] = {
        {"external interrupt 0x72", INTR_INFO(INTR_TYPE_EXT_INTR, EV_VEC_MISSING), 0, true},
        {"#UD", INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_UD), 0, true},
        {"#AC(0xc0)", INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_AC) | INTR_INFO_DELIVER_CODE,
         EV_AC_ERROR, true},
        {"INT 0x72", INTR_INFO(INTR_TYPE_SOFT_INTR, EV_VEC_MISSING), 0, false},
    };
    struct ev_log l;
    (void)arg;

    for (u32 i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct ev_case *c = &cases[i];
        u32 vec = c->info & 0xff;
        u32 want_gp = vec * 8 + 2 + (c->ext ? 1 : 0);
        struct vcpu *v = ev_guest(o, &l, ev_empty_idt);
        if (!v)
            return;
        vmw(VM_ENTRY_INTR_INFO_FIELD, c->info);
        vmw(VM_ENTRY_EXCEPTION_ERROR_CODE, c->error);
        vmw(VM_ENTRY_INSTRUCTION_LEN, 2);
        bool ext = INTR_INFO_TYPE(c->info) == INTR_TYPE_EXT_INTR;
        if (!ev_run(o, v, guest_nothing, ext ? EFLAGS_IF : 0))
            return;
        if (l.exc_exits != 1) {
            outcome_fail(o, "%s: %u exception exits, expected 1", c->what, l.exc_exits);
            return;
        }
        if (l.exit_info != (INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE) ||
            l.exit_error != want_gp) {
            outcome_fail(o, "%s: exit interruption info 0x%x error 0x%x, expected #GP 0x%x "
                         "error 0x%x", c->what, l.exit_info, l.exit_error,
                         INTR_INFO(INTR_TYPE_HW_EXCEPTION, VEC_GP) | INTR_INFO_DELIVER_CODE,
                         want_gp);
            return;
        }
        /* bit 12 of the vectoring info is undefined; compare the rest */
        if ((l.vect_info & ~(1u << 12)) != c->info ||
            ((c->info & INTR_INFO_DELIVER_CODE) && l.vect_error != c->error)) {
            outcome_fail(o, "%s: IDT-vectoring info 0x%x error 0x%x, expected 0x%x error 0x%x",
                         c->what, l.vect_info, l.vect_error, c->info, c->error);
            return;
        }
        if (INTR_INFO_TYPE(c->info) == INTR_TYPE_SOFT_INTR && l.exit_len != 2) {
            outcome_fail(o, "%s: VM-exit instruction length %u, expected the injected 2",
                         c->what, l.exit_len);
            return;
        }
    }
}

VMX_TEST_ALL_CPUS_AFTER("vmx/idt-vectoring-info", ev_prepare, check_idt_vectoring);
