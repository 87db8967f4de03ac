/* The command line: space-separated words, each key=value or key; a later
 * duplicate wins. XMHF's serial= and boot_drive= are understood; LHV's own
 * options start with "lhv."; an unknown lhv. option is an error, other
 * unknown words are ignored. docs/options.md documents every option. */
#ifndef XMHF_OPTIONS_H
#define XMHF_OPTIONS_H

#include "boot_params.h"

enum lhv_end_action {
    LHV_END_DEFAULT = 0, /* poweroff in a detected emulator, else halt */
    LHV_END_POWEROFF,
    LHV_END_HALT,
    LHV_END_REBOOT,
};

#define LHV_TESTS_MAX 256
#define LHV_SOAK_DEFAULT 1000
#define LHV_TEST_TIMEOUT_DEFAULT 300 /* s: 20x the longest test (Bochs lhv.soak=10^6, 15 s) */
/* lhv.fuzz=N: trials of vmx/fuzz-entry by default */
#define LHV_FUZZ_BREAK_MAX 48 /* a check id of lhv/vmx/entry_checks.c and its NUL */
#define LHV_FUZZ_DEFAULT 300 /* a few tenths of a second in Bochs; make test runs 20000 */

/* lhv.inject=: a fault LHV causes on purpose, to test that it is reported */
enum lhv_inject {
    LHV_INJECT_NONE = 0,
    LHV_INJECT_BSP_FAULT,          /* a page fault on the bootstrap processor */
    LHV_INJECT_AP_FAULT,           /* a page fault on another CPU */
    LHV_INJECT_DOUBLE_FAULT,       /* a kernel stack overflow: #DF */
    LHV_INJECT_EXIT_HANDLER_FAULT, /* a page fault in the VM-exit handler */
    LHV_INJECT_AP_HANG,            /* CPU 1 stops answering (interrupts off, hlt) */
    LHV_INJECT_PHANTOM_CPU,        /* start an APIC ID no CPU has: it never reports in */
    LHV_INJECT_BSP_HANG,           /* the BSP spins with interrupts off: the deadline ends it */
    LHV_INJECT_GUEST_HANG,         /* a guest spins with interrupts off: the deadline ends it */
    LHV_INJECT_VMREAD_UNSUPPORTED, /* vmr() of a field the CPU lacks: FATAL, not a value */
    LHV_INJECT_L0_HIDDEN_ACCESS,   /* lhv.l0=1: the guest's first instruction reads the L0's
                                      hidden range: FATAL naming the address and RIP */
    LHV_INJECT_VCPU_STALL,         /* timer/lapic-periodic: the last CPU stalls 6 ms between
                                      arming its timer and reading it, as a busy host's vCPU */
};

/* lhv.bochs=: the Bochs version the runner started, as a bit so a deviation
 * can name a set of versions (lhv/suite/suite.h). Bochs shows the guest no
 * version of its own: docs/l0-deviations.md. */
enum lhv_bochs_version {
    LHV_BOCHS_UNKNOWN = 0, /* not given */
    LHV_BOCHS_2_7 = 1u << 0,
    LHV_BOCHS_3_0 = 1u << 1,
};

struct lhv_options {
    struct lhv_serial_cfg serial; /* default 115200,8n1,0x3f8 */
    u32 boot_drive;               /* 0xffffffff unless boot_drive= */
    char tests[LHV_TESTS_MAX];    /* lhv.tests=GLOB[,GLOB...]; "" = all */
    u32 cpus;                     /* lhv.cpus=N; 0 = every CPU */
    u32 iterations;               /* lhv.iterations=N; default 1 */
    u32 soak;                     /* lhv.soak=N: VM exits per CPU in vmx/soak-exits;
                                     default LHV_SOAK_DEFAULT */
    u32 test_timeout;             /* lhv.test-timeout=SECONDS: the per-test deadline */
    u32 fuzz;                     /* lhv.fuzz=N: vmx/fuzz-entry trials */
    u32 fuzz_seed;                /* lhv.fuzz.seed=S; default 1 */
    u32 fuzz_replay;              /* lhv.fuzz.replay=S:T: T + 1 (0: none) */
    char fuzz_break[LHV_FUZZ_BREAK_MAX]; /* lhv.fuzz.break=ID: a check taken out; "" = none */
    u8 end;                       /* lhv.end=, an enum lhv_end_action */
    u8 inject;                    /* lhv.inject=, an enum lhv_inject */
    u8 bochs;                     /* lhv.bochs=, an enum lhv_bochs_version */
    bool e9;                      /* lhv.e9=1: copy output to port 0xe9 */
    bool l0;                      /* lhv.l0=1: run module 1 as a guest (docs/l0.md) */
    bool l0_nested;               /* lhv.l0.nested=1: the L0 offers VMX to its guest */
    bool l0_fc_unlocked;          /* lhv.l0.feature-control=unlocked: the guest's
                                     IA32_FEATURE_CONTROL starts at 0 */
    bool table;                   /* lhv.table=1: the "table:" lines before SUMMARY */
    u8 console;                   /* lhv.console=: LHV_CONSOLE_* bits; 0 = the
                                     default for the boot (boot_params.h) */
};

/* Fills o with the defaults. */
void options_default(struct lhv_options *o);

/* Parses cmdline (NUL-terminated) into o, which the caller has set to the
 * defaults. Returns 0, or -1 with one line in err naming the word and what
 * is wrong (for an unknown lhv. option the line lists the valid ones). A
 * command line longer than LHV_CMDLINE_MAX is an error. */
int options_parse(const char *cmdline, struct lhv_options *o, char *err, size_t errlen);

/* The command line without the kernel's path when the loader put it first:
 * QEMU does (its boot-loader name starts with "qemu"), GRUB does not.
 * loader_name may be NULL (unknown loader: nothing is skipped). */
const char *cmdline_skip_loader_path(const char *cmdline, const char *loader_name);

/* Names of every lhv. option, for help texts and the error message. */
extern const char *const lhv_option_names[];

#endif
