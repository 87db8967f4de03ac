/* The experiments LHV runs, one file per theme. Each test is declared with
 * TEST(group/name, function) (VMX_TEST for one that needs VMX) and prints
 * exactly one verdict; the linker collects them (section .lhv_tests) in
 * link order. */
#ifndef LHV_SUITE_H
#define LHV_SUITE_H

#include "options.h"
#include "verdict.h"

struct test {
    const char *name;
    void (*run)(const char *name);
    bool needs_vmx; /* SKIPped at once when the CPU has no VMX */
};

#define DECLARE_TEST(test_name, fn, vmx)                                             \
    static void fn(const char *name);                                                \
    static const struct test test_##fn __attribute__((section(".lhv_tests"), used, \
                                                      aligned(sizeof(void *)))) = {   \
        test_name, fn, vmx}
#define TEST(test_name, fn) DECLARE_TEST(test_name, fn, false)
/* A test that needs VMX: where the CPU has none it is not run (no cross-call
 * to every CPU to learn that each would skip) and SKIPs with the reason. */
#define VMX_TEST(test_name, fn) DECLARE_TEST(test_name, fn, true)

/* Runs every selected test (lhv.tests=) once. */
void suite_run(void);

/* How many tests lhv.tests= selects. */
u32 suite_selected_count(void);

/* lhv.soak=N: how many VM exits each CPU's guest makes in the soak tests
 * (set by lhv_main before the suite runs). */
void suite_set_soak(u32 exits);
u32 suite_soak(void);

/* lhv.fuzz=N, lhv.fuzz.seed=S and lhv.fuzz.replay=S:T: the trials of
 * vmx/fuzz-entry, the seed they are drawn from, and the one trial to replay
 * (T + 1; 0 for a campaign) (set by lhv_main) */
void suite_set_fuzz(u32 trials, u32 seed, u32 replay);
u32 suite_fuzz_trials(void);
u32 suite_fuzz_seed(void);
u32 suite_fuzz_replay(void);
/* lhv.fuzz.break=ID: the model's check the fuzzer takes out ("" none) */
void suite_set_fuzz_break(const char *id);
const char *suite_fuzz_break(void);

/* A test that runs on every CPU prints one verdict (docs/design.md §4): each CPU
 * fills its outcome, and the combination passes only when every CPU
 * passed; a failure names the CPUs and the first reason. */
struct cpu_outcome {
    bool failed, skipped, xfailed;
    char why[160];
};
void outcome_fail(struct cpu_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void outcome_skip(struct cpu_outcome *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A known emulator or hardware bug showed on this CPU (docs/design.md §4 XFAIL):
 * the test ends as XFAIL unless some CPU failed outright. */
void outcome_xfail(struct cpu_outcome *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The gate of an XFAIL for a Bochs deviation: true when the L0 is Bochs
 * of one of `versions` (enum lhv_bochs_version bits, options.h), or Bochs
 * of a version the command line did not give (lhv.bochs=; the runner
 * always gives it). Bochs shows the guest no version of its own, so the
 * runner that started it names it. A version that does not deviate then
 * FAILs where another XFAILs. Each deviation, its versions, Bochs source
 * function and SDM section: docs/l0-deviations.md. With BOCHS_VIA_L0 in
 * `versions`, also under LHV's L0 running on such a Bochs (the L0 says
 * which, emulator_below()): the deviation is in how Bochs runs a guest,
 * and the L0 leaves that to Bochs (it enters VMCS02); the table's last
 * column says so. */
bool l0_bochs_deviates(u32 versions);

/* The versions for an XFAIL reason: "Bochs 2.7", "Bochs 2.7 and 3.0";
 * under LHV's L0 "Bochs 2.7 through LHV's L0" */
const char *l0_bochs_names(u32 versions);

/* Bochs 3.0 with 2+ CPUs ends CPU 0's interrupt shadow (STI, MOV SS) one
 * instruction early when another CPU takes an exception or VM exit then
 * (docs/l0-deviations.md, "interrupt shadow lost"): true on the CPU and L0
 * where that can happen. */
bool l0_bochs_shadow_lost_here(void);

/* The Bochs versions of each deviation (docs/l0-deviations.md) */
#define BOCHS_2_7_ONLY LHV_BOCHS_2_7
#define BOCHS_3_0_ONLY LHV_BOCHS_3_0
#define BOCHS_2_7_AND_3_0 (LHV_BOCHS_2_7 | LHV_BOCHS_3_0)
#define BOCHS_VIA_L0 (1u << 8)

/* Runs check(o, arg) on every online CPU at once (interrupts off on each,
 * see on_all_cpus) and prints the one verdict: FAIL when a CPU failed,
 * else XFAIL when a CPU met a known bug, else SKIP when all skipped, else
 * PASS. */
void verdict_all_cpus(const char *name, void (*check)(struct cpu_outcome *o, void *arg),
                      void *arg);

/* A test that runs check(o, NULL) on every CPU (verdict_all_cpus): the
 * registration and the test function in one. The _AFTER form first calls
 * prepare() once on the CPU that runs the suite (state the checks share). */
#define DECLARE_ALL_CPUS_TEST(test_name, prepare, check, vmx)                         \
    static void check(struct cpu_outcome *o, void *arg);                              \
    static void check##_on_all_cpus(const char *name)                                 \
    {                                                                                 \
        prepare;                                                                      \
        verdict_all_cpus(name, check, NULL);                                          \
    }                                                                                 \
    DECLARE_TEST(test_name, check##_on_all_cpus, vmx)
#define TEST_ALL_CPUS(test_name, check) DECLARE_ALL_CPUS_TEST(test_name, (void)0, check, false)
#define VMX_TEST_ALL_CPUS(test_name, check)                                             \
    DECLARE_ALL_CPUS_TEST(test_name, (void)0, check, true)
#define VMX_TEST_ALL_CPUS_AFTER(test_name, prepare, check)                              \
    DECLARE_ALL_CPUS_TEST(test_name, prepare(), check, true)

/* Checks that say where and what: when the condition is false (the values
 * differ) this CPU's outcome fails with "file:line: cond" ("file:line:
 * a == b: got A, expected B", a being what the test saw, b what it wanted),
 * and the check is false, so a test stops at the first with `if (!CHECK..)
 * return;`. The first failure stays the reason. */
#define CHECK(o, cond) outcome_check((o), !!(cond), __FILE_NAME__, __LINE__, #cond)
#define CHECK_EQ(o, a, b)                                                               \
    outcome_check_eq((o), (u64)(a), (u64)(b), __FILE_NAME__, __LINE__, #a, #b)
bool outcome_check(struct cpu_outcome *o, bool ok, const char *file, int line,
                   const char *cond);
bool outcome_check_eq(struct cpu_outcome *o, u64 got, u64 want, const char *file, int line,
                      const char *got_expr, const char *want_expr);

#endif
