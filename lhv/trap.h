/* Interrupt and exception entry: the frame the stubs build, the dispatcher,
 * handlers for device vectors and the exception report. */
#ifndef LHV_TRAP_H
#define LHV_TRAP_H

#include "types.h"

#ifdef __x86_64__
struct trap_frame {
    u64 r15, r14, r13, r12, r11, r10, r9, r8;
    u64 rbp, rdi, rsi, rdx, rcx, rbx, rax;
    u64 vector, error_code;
    u64 ip, cs, flags, sp, ss; /* pushed by the CPU (always, in 64-bit mode) */
};
#else
struct trap_frame {
    u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax; /* pusha */
    u32 gs, fs, es, ds;
    u32 vector, error_code;
    u32 ip, cs, flags;
    u32 sp, ss; /* pushed by the CPU only when it came from ring 3 */
};
#endif

typedef void (*irq_handler)(struct trap_frame *f);

/* Registers the handler of a vector >= 32 (devices, IPIs, system call). */
void trap_set_handler(u32 vector, irq_handler h);

/* Name of an exception vector ("#GP" ...) or "interrupt". */
const char *exception_name(u32 vector);

/* What the trap path does for code that runs in a guest of a layer above
 * the platform: the VMX layer, whose test guests run LHV's own code with
 * LHV's IDT, registers it (lhv/vmx/guest.c). The platform names no VMX
 * symbol: dependencies point one way (docs/design.md §1). */
struct trap_guest_ops {
    /* True when the code asking runs in guest mode, not on the host. */
    bool (*in_guest_mode)(void);
    /* From guest mode: hands an exception nothing expected to the host,
     * which ends the guest's run and fails its test; returns only when the
     * host went back into the guest. */
    void (*exception_to_host)(const struct trap_frame *f);
    /* On the host while this CPU runs a guest (between its exits): the
     * guest's ip. */
    unsigned long (*guest_ip)(void);
};
void trap_set_guest_ops(const struct trap_guest_ops *ops);

/* Describes where a CPU was: "rip 0x... (symbol+offset) on the host", or
 * "in a guest" with the guest's ip when this CPU runs one (ip is then
 * ignored unless the code asking runs in guest mode). */
void trap_describe_ip(unsigned long ip, char *buf, size_t len);

/* Prints the exception report (registers, control registers, stack trace)
 * and ends the run with FATAL. */
__attribute__((noreturn)) void exception_report(const struct trap_frame *f);

#endif
