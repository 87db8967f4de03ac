/* The command line: see options.h and docs/options.md. */
#include "options.h"
#include "string.h"

const char *const lhv_option_names[] = {
    "lhv.tests", "lhv.cpus", "lhv.end", "lhv.e9", "lhv.iterations", "lhv.inject",
    "lhv.console", "lhv.soak", "lhv.test-timeout", "lhv.fuzz",
    "lhv.fuzz.seed", "lhv.fuzz.replay", "lhv.fuzz.break", "lhv.bochs", "lhv.l0", "lhv.l0.nested",
    "lhv.l0.feature-control", "lhv.table", NULL,
};

/* The expected forms, quoted by the error messages. */
#define SERIAL_FORM "expected serial=BAUD,FMT,PORT like serial=115200,8n1,0x3f8"
#define BOOT_DRIVE_FORM "expected boot_drive=0xNN with NN in 0..0xff"
#define TESTS_FORM "expected lhv.tests=GLOB[,GLOB...] made of a-z 0-9 - _ / * ? . (-GLOB excludes)"
#define CPUS_FORM "expected lhv.cpus=N with N in 1..4096"
#define END_FORM "expected lhv.end=poweroff, lhv.end=halt or lhv.end=reboot"
#define E9_FORM "expected lhv.e9=0 or lhv.e9=1"
#define L0_FORM "expected lhv.l0=0 or lhv.l0=1"
#define L0_NESTED_FORM "expected lhv.l0.nested=0 or lhv.l0.nested=1"
#define L0_FC_FORM "expected lhv.l0.feature-control=locked or lhv.l0.feature-control=unlocked"
#define TABLE_FORM "expected lhv.table=0 or lhv.table=1"
#define ITERATIONS_FORM "expected lhv.iterations=N with N in 1..1000000000"
#define SOAK_FORM "expected lhv.soak=N with N in 1..1000000000"
#define TEST_TIMEOUT_FORM "expected lhv.test-timeout=SECONDS with SECONDS in 1..86000"
#define FUZZ_FORM "expected lhv.fuzz=N with N in 1..1000000000"
#define FUZZ_SEED_FORM "expected lhv.fuzz.seed=S with S in 0..4294967295 (0: the single-bit sweep)"
#define FUZZ_BREAK_FORM "expected lhv.fuzz.break=ID, a check id of 1-47 characters a-z 0-9 . _"
#define FUZZ_REPLAY_FORM "expected lhv.fuzz.replay=S:T (seed 0..4294967295, trial 0..999999999)"
#define CONSOLE_FORM "expected lhv.console=serial, lhv.console=vga or lhv.console=both"
#define BOCHS_FORM "expected lhv.bochs=2.7 or lhv.bochs=3.0"
#define INJECT_FORM \
    "expected lhv.inject=bsp-fault|ap-fault|double-fault|exit-handler-fault|ap-hang|" \
    "phantom-cpu|bsp-hang|guest-hang|vmread-unsupported|l0-hidden-access|vcpu-stall"

void options_default(struct lhv_options *o)
{
    memset(o, 0, sizeof(*o));
    o->serial.baud = 115200;
    o->serial.port = 0x3f8;
    o->serial.data_bits = 8;
    o->serial.parity = 'n';
    o->serial.stop_bits = 1;
    o->boot_drive = 0xffffffff;
    o->iterations = 1;
    o->soak = LHV_SOAK_DEFAULT;
    o->test_timeout = LHV_TEST_TIMEOUT_DEFAULT;
    o->fuzz = LHV_FUZZ_DEFAULT;
    o->fuzz_seed = 1;
}

/* Word separators: space and tab (and line breaks, which keep the error
 * messages on one line). */
static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool equals(const char *s, size_t len, const char *word)
{
    return strlen(word) == len && memcmp(s, word, len) == 0;
}

/* Parses s[0..len) as a number in [min, max]. */
static bool parse_range(const char *s, size_t len, u32 min, u32 max, u32 *out)
{
    u64 v;

    if (parse_u64(s, len, &v) || v < min || v > max)
        return false;
    *out = (u32)v;
    return true;
}

/* Like parse_range, but decimal digits only. */
static bool parse_decimal(const char *s, size_t len, u32 min, u32 max, u32 *out)
{
    size_t i;

    for (i = 0; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return parse_range(s, len, min, max, out);
}

/* FMT of serial=: data bits 5-8, parity n/e/o, stop bits 1/2 ("8n1"). */
static bool parse_serial_fmt(const char *s, size_t len, struct lhv_serial_cfg *c)
{
    if (len != 3 || s[0] < '5' || s[0] > '8' || (s[1] != 'n' && s[1] != 'e' && s[1] != 'o') ||
        (s[2] != '1' && s[2] != '2'))
        return false;
    c->data_bits = (u8)(s[0] - '0');
    c->parity = (u8)s[1];
    c->stop_bits = (u8)(s[2] - '0');
    return true;
}

/* Index of the first ',' in s[from..len), or len (from when from > len). */
static size_t find_comma(const char *s, size_t from, size_t len)
{
    while (from < len && s[from] != ',')
        from++;
    return from;
}

/* Each parser below takes the value of its option and returns NULL when it
 * is good, else what is wrong with it. */

static const char *parse_serial(const char *v, size_t len, struct lhv_options *o)
{
    struct lhv_serial_cfg c = o->serial;
    size_t a = find_comma(v, 0, len);
    size_t b = find_comma(v, a + 1, len);
    u32 port;

    if (b >= len || find_comma(v, b + 1, len) != len)
        return SERIAL_FORM;
    if (!parse_decimal(v, a, 50, 115200, &c.baud) || 115200 % c.baud)
        return "BAUD must divide 115200 and be at least 50; " SERIAL_FORM;
    if (!parse_serial_fmt(v + a + 1, b - a - 1, &c))
        return "FMT is data bits 5-8, parity n/e/o, stop bits 1/2; " SERIAL_FORM;
    if (!parse_range(v + b + 1, len - b - 1, 1, 0xffff, &port))
        return "PORT must be in 1..0xffff; " SERIAL_FORM;
    c.port = (u16)port;
    o->serial = c;
    return NULL;
}

static const char *parse_boot_drive(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 0, 0xff, &o->boot_drive) ? NULL : BOOT_DRIVE_FORM;
}

STATIC_ASSERT(LHV_TESTS_MAX == 256, "parse_tests names the limit");

/* lhv.tests: a comma-separated list of non-empty globs, -GLOB to exclude. */
static const char *parse_tests(const char *v, size_t len, struct lhv_options *o)
{
    size_t i;
    char c;

    if (!len)
        return TESTS_FORM;
    if (len >= LHV_TESTS_MAX)
        return "longer than 255 characters";
    for (i = 0; i < len; i++) {
        c = v[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr("-_/*?,.", c)))
            return TESTS_FORM;
        if (c == ',' && (i == 0 || i == len - 1 || v[i - 1] == ','))
            return "empty GLOB; " TESTS_FORM;
        if (c == '-' && (i == 0 || v[i - 1] == ',') && (i == len - 1 || v[i + 1] == ','))
            return "empty GLOB after -; " TESTS_FORM;
    }
    memcpy(o->tests, v, len);
    o->tests[len] = '\0';
    return NULL;
}

static const char *parse_cpus(const char *v, size_t len, struct lhv_options *o)
{
    u32 n;

    if (!parse_range(v, len, 0, 4096, &n))
        return CPUS_FORM;
    if (!n)
        return "at least 1 CPU must run";
    o->cpus = n;
    return NULL;
}

static const char *parse_end(const char *v, size_t len, struct lhv_options *o)
{
    if (equals(v, len, "poweroff"))
        o->end = LHV_END_POWEROFF;
    else if (equals(v, len, "halt"))
        o->end = LHV_END_HALT;
    else if (equals(v, len, "reboot"))
        o->end = LHV_END_REBOOT;
    else
        return END_FORM;
    return NULL;
}

static const char *parse_e9(const char *v, size_t len, struct lhv_options *o)
{
    if (!equals(v, len, "0") && !equals(v, len, "1"))
        return E9_FORM;
    o->e9 = v[0] == '1';
    return NULL;
}

/* lhv.table=1: every test's verdict again before SUMMARY (docs/output.md) */
static const char *parse_table(const char *v, size_t len, struct lhv_options *o)
{
    if (!equals(v, len, "0") && !equals(v, len, "1"))
        return TABLE_FORM;
    o->table = v[0] == '1';
    return NULL;
}

/* lhv.l0=1: LHV as L0, module 1 its guest (docs/l0.md) */
static const char *parse_l0(const char *v, size_t len, struct lhv_options *o)
{
    if (!equals(v, len, "0") && !equals(v, len, "1"))
        return L0_FORM;
    o->l0 = v[0] == '1';
    return NULL;
}

/* lhv.l0.nested=1: the L0 offers VMX to its guest (docs/l0.md "Nested VMX") */
static const char *parse_l0_nested(const char *v, size_t len, struct lhv_options *o)
{
    if (!equals(v, len, "0") && !equals(v, len, "1"))
        return L0_NESTED_FORM;
    o->l0_nested = v[0] == '1';
    return NULL;
}

/* lhv.l0.feature-control=unlocked: the guest finds IA32_FEATURE_CONTROL 0,
 * as on a machine whose firmware leaves it (docs/l0.md) */
static const char *parse_l0_fc(const char *v, size_t len, struct lhv_options *o)
{
    if (!equals(v, len, "locked") && !equals(v, len, "unlocked"))
        return L0_FC_FORM;
    o->l0_fc_unlocked = v[0] == 'u';
    return NULL;
}

static const char *parse_iterations(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 1, 1000000000, &o->iterations) ? NULL : ITERATIONS_FORM;
}

static const char *parse_soak(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 1, 1000000000, &o->soak) ? NULL : SOAK_FORM;
}

/* At most a day less a little: the deadline's backstop is an RTC alarm,
 * which names a time of day (lhv/deadline.c). */
static const char *parse_test_timeout(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 1, 86000, &o->test_timeout) ? NULL : TEST_TIMEOUT_FORM;
}

static const char *parse_fuzz(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 1, 1000000000, &o->fuzz) ? NULL : FUZZ_FORM;
}

static const char *parse_fuzz_seed(const char *v, size_t len, struct lhv_options *o)
{
    return parse_range(v, len, 0, 0xffffffffu, &o->fuzz_seed) ? NULL : FUZZ_SEED_FORM;
}

/* S:T, a DIFF line's seed and trial: that one trial again, with every
 * detail (sets the seed; fuzz_replay holds T + 1, 0 meaning no replay). */
static const char *parse_fuzz_replay(const char *v, size_t len, struct lhv_options *o)
{
    size_t colon = 0;
    u32 seed, trial;

    while (colon < len && v[colon] != ':')
        colon++;
    if (colon == len || !parse_range(v, colon, 0, 0xffffffffu, &seed) ||
        !parse_range(v + colon + 1, len - colon - 1, 0, 999999999, &trial))
        return FUZZ_REPLAY_FORM;
    o->fuzz_seed = seed;
    o->fuzz_replay = trial + 1;
    return NULL;
}

/* A check id of the VM-entry model (docs/entry-checks.md); whether the
 * model has it is the fuzzer's to say. */
static const char *parse_fuzz_break(const char *v, size_t len, struct lhv_options *o)
{
    if (len == 0 || len >= LHV_FUZZ_BREAK_MAX)
        return FUZZ_BREAK_FORM;
    for (size_t i = 0; i < len; i++)
        if (!((v[i] >= 'a' && v[i] <= 'z') || (v[i] >= '0' && v[i] <= '9') || v[i] == '.' ||
              v[i] == '_'))
            return FUZZ_BREAK_FORM;
    memcpy(o->fuzz_break, v, len);
    o->fuzz_break[len] = '\0';
    return NULL;
}

static const char *parse_inject(const char *v, size_t len, struct lhv_options *o)
{
    static const char *const names[] = {
        [LHV_INJECT_BSP_FAULT] = "bsp-fault",
        [LHV_INJECT_AP_FAULT] = "ap-fault",
        [LHV_INJECT_DOUBLE_FAULT] = "double-fault",
        [LHV_INJECT_EXIT_HANDLER_FAULT] = "exit-handler-fault",
        [LHV_INJECT_AP_HANG] = "ap-hang",
        [LHV_INJECT_PHANTOM_CPU] = "phantom-cpu",
        [LHV_INJECT_BSP_HANG] = "bsp-hang",
        [LHV_INJECT_GUEST_HANG] = "guest-hang",
        [LHV_INJECT_VMREAD_UNSUPPORTED] = "vmread-unsupported",
        [LHV_INJECT_L0_HIDDEN_ACCESS] = "l0-hidden-access",
        [LHV_INJECT_VCPU_STALL] = "vcpu-stall",
    };
    for (u8 i = 1; i < sizeof(names) / sizeof(names[0]); i++)
        if (equals(v, len, names[i])) {
            o->inject = i;
            return NULL;
        }
    return INJECT_FORM;
}

static const char *parse_console(const char *v, size_t len, struct lhv_options *o)
{
    if (equals(v, len, "serial"))
        o->console = LHV_CONSOLE_SERIAL;
    else if (equals(v, len, "vga"))
        o->console = LHV_CONSOLE_VGA;
    else if (equals(v, len, "both"))
        o->console = LHV_CONSOLE_SERIAL | LHV_CONSOLE_VGA;
    else
        return CONSOLE_FORM;
    return NULL;
}

static const char *parse_bochs(const char *v, size_t len, struct lhv_options *o)
{
    if (equals(v, len, "2.7"))
        o->bochs = LHV_BOCHS_2_7;
    else if (equals(v, len, "3.0"))
        o->bochs = LHV_BOCHS_3_0;
    else
        return BOCHS_FORM;
    return NULL;
}

static const struct option {
    const char *key;
    const char *form; /* the message when the value is missing */
    const char *(*parse)(const char *v, size_t len, struct lhv_options *o);
} options[] = {
    { "serial", SERIAL_FORM, parse_serial },
    { "boot_drive", BOOT_DRIVE_FORM, parse_boot_drive },
    { "lhv.tests", TESTS_FORM, parse_tests },
    { "lhv.cpus", CPUS_FORM, parse_cpus },
    { "lhv.end", END_FORM, parse_end },
    { "lhv.e9", E9_FORM, parse_e9 },
    { "lhv.iterations", ITERATIONS_FORM, parse_iterations },
    { "lhv.inject", INJECT_FORM, parse_inject },
    { "lhv.console", CONSOLE_FORM, parse_console },
    { "lhv.soak", SOAK_FORM, parse_soak },
    { "lhv.test-timeout", TEST_TIMEOUT_FORM, parse_test_timeout },
    { "lhv.fuzz", FUZZ_FORM, parse_fuzz },
    { "lhv.fuzz.seed", FUZZ_SEED_FORM, parse_fuzz_seed },
    { "lhv.fuzz.replay", FUZZ_REPLAY_FORM, parse_fuzz_replay },
    { "lhv.fuzz.break", FUZZ_BREAK_FORM, parse_fuzz_break },
    { "lhv.bochs", BOCHS_FORM, parse_bochs },
    { "lhv.l0", L0_FORM, parse_l0 },
    { "lhv.l0.nested", L0_NESTED_FORM, parse_l0_nested },
    { "lhv.l0.feature-control", L0_FC_FORM, parse_l0_fc },
    { "lhv.table", TABLE_FORM, parse_table },
};

/* The error for an unknown lhv. option: its key and the valid ones. */
static int unknown_option(const char *key, size_t klen, char *err, size_t errlen)
{
    const char *const *name;
    size_t n;

    n = (size_t)snprintf(err, errlen, "unknown option %.*s; valid:", (int)klen, key);
    for (name = lhv_option_names; *name && n < errlen; name++)
        n += (size_t)snprintf(err + n, errlen - n, " %s", *name);
    return -1;
}

/* Parses one word, w[0..len): key or key=value. */
static int parse_word(const char *w, size_t len, struct lhv_options *o, char *err,
                      size_t errlen)
{
    const char *problem;
    size_t klen, i;

    for (klen = 0; klen < len && w[klen] != '='; klen++)
        ;
    for (i = 0; i < ARRAY_SIZE(options); i++) {
        if (!equals(w, klen, options[i].key))
            continue;
        problem = klen == len ? options[i].form
                              : options[i].parse(w + klen + 1, len - klen - 1, o);
        if (!problem)
            return 0;
        snprintf(err, errlen, "%.*s: %s", (int)len, w, problem);
        return -1;
    }
    if (klen >= 4 && memcmp(w, "lhv.", 4) == 0)
        return unknown_option(w, klen, err, errlen);
    return 0;
}

/* See options.h. On an error, o keeps what the words before the bad one set. */
int options_parse(const char *cmdline, struct lhv_options *o, char *err, size_t errlen)
{
    size_t len = strlen(cmdline);
    const char *end;

    if (len > LHV_CMDLINE_MAX) {
        snprintf(err, errlen, "command line is %zu bytes, the limit is %d", len,
                 LHV_CMDLINE_MAX);
        return -1;
    }
    for (;;) {
        while (is_space(*cmdline))
            cmdline++;
        if (!*cmdline)
            return 0;
        for (end = cmdline; *end && !is_space(*end); end++)
            ;
        if (parse_word(cmdline, (size_t)(end - cmdline), o, err, errlen))
            return -1;
        cmdline = end;
    }
}

/* See options.h. */
const char *cmdline_skip_loader_path(const char *cmdline, const char *loader_name)
{
    if (!loader_name || strncmp(loader_name, "qemu", 4) != 0)
        return cmdline;
    while (is_space(*cmdline))
        cmdline++;
    while (*cmdline && !is_space(*cmdline))
        cmdline++;
    while (is_space(*cmdline))
        cmdline++;
    return cmdline;
}
