/* Host tests for xmhf/lib/options.c: the command line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include "options.h"
#include "string.h"

static struct lhv_options opts;
static char err[512];

/* Parses cmdline into opts (from the defaults); returns what options_parse
 * returned and checks that err holds one line on failure. */
static int parse(const char *cmdline)
{
    int rc;

    options_default(&opts);
    memset(err, 'X', sizeof(err));
    err[sizeof(err) - 1] = '\0';
    rc = options_parse(cmdline, &opts, err, sizeof(err));
    if (rc) {
        assert_int_equal(rc, -1);
        assert_null(strchr(err, '\n'));
        assert_true(strlen(err) > 0);
    }
    return rc;
}

/* Checks that cmdline is refused with exactly the message expected. */
static void refused(const char *cmdline, const char *expected)
{
    assert_int_equal(parse(cmdline), -1);
    assert_string_equal(err, expected);
}

/* Checks that cmdline is refused with a message that starts with the
 * word and contains the expected form. */
static void refused_naming(const char *cmdline, const char *word, const char *form)
{
    assert_int_equal(parse(cmdline), -1);
    assert_memory_equal(err, word, strlen(word));
    assert_int_equal(err[strlen(word)], ':');
    assert_non_null(strstr(err, form));
}

static void test_defaults(void **state)
{
    (void)state;
    memset(&opts, 0xa5, sizeof(opts));
    options_default(&opts);
    assert_int_equal(opts.serial.baud, 115200);
    assert_int_equal(opts.serial.port, 0x3f8);
    assert_int_equal(opts.serial.data_bits, 8);
    assert_int_equal(opts.serial.parity, 'n');
    assert_int_equal(opts.serial.stop_bits, 1);
    assert_int_equal(opts.boot_drive, 0xffffffff);
    assert_string_equal(opts.tests, "");
    assert_int_equal(opts.cpus, 0);
    assert_int_equal(opts.iterations, 1);
    assert_int_equal(opts.soak, LHV_SOAK_DEFAULT);
    assert_int_equal(opts.test_timeout, LHV_TEST_TIMEOUT_DEFAULT);
    assert_int_equal(opts.end, LHV_END_DEFAULT);
    assert_false(opts.e9);
}

static void test_empty(void **state)
{
    struct lhv_options def;

    (void)state;
    options_default(&def);
    assert_int_equal(parse(""), 0);
    assert_memory_equal(&opts, &def, sizeof(def));
    assert_int_equal(parse("   \t  "), 0);
    assert_memory_equal(&opts, &def, sizeof(def));
}

static void test_unknown_words_ignored(void **state)
{
    struct lhv_options def;

    (void)state;
    options_default(&def);
    assert_int_equal(parse("quiet console=ttyS0,115200 foo=bar=baz = == , LHV.cpus=0 "
                           "lhvx.cpus=0 lhv serials=1 serial_x=2 xlhv.cpus=3"),
                     0);
    assert_memory_equal(&opts, &def, sizeof(def));
}

static void test_serial(void **state)
{
    (void)state;
    assert_int_equal(parse("serial=115200,8n1,0x3f8"), 0);
    assert_int_equal(opts.serial.baud, 115200);
    assert_int_equal(opts.serial.port, 0x3f8);
    assert_int_equal(opts.serial.data_bits, 8);
    assert_int_equal(opts.serial.parity, 'n');
    assert_int_equal(opts.serial.stop_bits, 1);

    assert_int_equal(parse("serial=9600,7e2,760"), 0);
    assert_int_equal(opts.serial.baud, 9600);
    assert_int_equal(opts.serial.port, 760);
    assert_int_equal(opts.serial.data_bits, 7);
    assert_int_equal(opts.serial.parity, 'e');
    assert_int_equal(opts.serial.stop_bits, 2);

    assert_int_equal(parse("serial=50,5o1,0xffff"), 0);
    assert_int_equal(opts.serial.baud, 50);
    assert_int_equal(opts.serial.port, 0xffff);
    assert_int_equal(opts.serial.data_bits, 5);
    assert_int_equal(opts.serial.parity, 'o');

    assert_int_equal(parse("serial=57600,6n1,0x2F8"), 0);
    assert_int_equal(opts.serial.baud, 57600);
    assert_int_equal(opts.serial.port, 0x2f8);
    assert_int_equal(opts.serial.data_bits, 6);

    assert_int_equal(parse("serial=300,8n1,1"), 0);
    assert_int_equal(opts.serial.baud, 300);
    assert_int_equal(opts.serial.port, 1);
}

static void test_serial_bad(void **state)
{
    static const char *const bad[] = {
        "serial=",
        "serial=115200",
        "serial=115200,8n1",
        "serial=115200,8n1,",
        "serial=115200,8n1,0x3f8,1",
        "serial=,8n1,0x3f8",
        "serial=0,8n1,0x3f8",
        "serial=49,8n1,0x3f8",
        "serial=25,8n1,0x3f8",
        "serial=7,8n1,0x3f8",
        "serial=9601,8n1,0x3f8",
        "serial=230400,8n1,0x3f8",
        "serial=0x1c200,8n1,0x3f8",
        "serial=-9600,8n1,0x3f8",
        "serial=99999999999999999999999,8n1,0x3f8",
        "serial=115200,9n1,0x3f8",
        "serial=115200,4n1,0x3f8",
        "serial=115200,8x1,0x3f8",
        "serial=115200,8N1,0x3f8",
        "serial=115200,8n3,0x3f8",
        "serial=115200,8n0,0x3f8",
        "serial=115200,8n,0x3f8",
        "serial=115200,8n11,0x3f8",
        "serial=115200,,0x3f8",
        "serial=115200,8n1,0",
        "serial=115200,8n1,0x10000",
        "serial=115200,8n1,65536",
        "serial=115200,8n1,0x3g8",
        "serial=115200,8n1,com1",
        "serial=115200;8n1;0x3f8",
    };
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(bad); i++) {
        refused_naming(bad[i], bad[i],
                       "expected serial=BAUD,FMT,PORT like serial=115200,8n1,0x3f8");
        assert_int_equal(opts.serial.baud, 115200); /* a bad value changes nothing */
        assert_int_equal(opts.serial.port, 0x3f8);
        assert_int_equal(opts.serial.data_bits, 8);
    }
    refused("serial", "serial: expected serial=BAUD,FMT,PORT like serial=115200,8n1,0x3f8");
    refused("serial=1200,8n1,0x3f8,", "serial=1200,8n1,0x3f8,: expected serial=BAUD,FMT,PORT "
                                      "like serial=115200,8n1,0x3f8");
    refused("serial=49,8n1,0x3f8",
            "serial=49,8n1,0x3f8: BAUD must divide 115200 and be at least 50; "
            "expected serial=BAUD,FMT,PORT like serial=115200,8n1,0x3f8");
    refused_naming("serial=115200,8n3,0x3f8", "serial=115200,8n3,0x3f8", "FMT is data bits");
    refused_naming("serial=115200,8n1,0", "serial=115200,8n1,0", "PORT must be in 1..0xffff");
}

static void test_boot_drive(void **state)
{
    (void)state;
    assert_int_equal(parse("boot_drive=0x80"), 0);
    assert_int_equal(opts.boot_drive, 0x80);
    assert_int_equal(parse("boot_drive=0x0"), 0);
    assert_int_equal(opts.boot_drive, 0);
    assert_int_equal(parse("boot_drive=0xff"), 0);
    assert_int_equal(opts.boot_drive, 0xff);
    assert_int_equal(parse("boot_drive=129"), 0);
    assert_int_equal(opts.boot_drive, 129);

    refused("boot_drive=0x100", "boot_drive=0x100: expected boot_drive=0xNN with NN in 0..0xff");
    refused("boot_drive", "boot_drive: expected boot_drive=0xNN with NN in 0..0xff");
    refused_naming("boot_drive=", "boot_drive=", "expected boot_drive=0xNN");
    refused_naming("boot_drive=0x", "boot_drive=0x", "expected boot_drive=0xNN");
    refused_naming("boot_drive=hd0", "boot_drive=hd0", "expected boot_drive=0xNN");
    refused_naming("boot_drive=0x80,", "boot_drive=0x80,", "expected boot_drive=0xNN");
}

static void test_tests(void **state)
{
    char cmdline[300], expect[LHV_TESTS_MAX];

    (void)state;
    assert_int_equal(parse("lhv.tests=vmx/*"), 0);
    assert_string_equal(opts.tests, "vmx/*");
    assert_int_equal(parse("lhv.tests=vmx/vmcall-roundtrip,platform/*,*timer?,a_b.c"), 0);
    assert_string_equal(opts.tests, "vmx/vmcall-roundtrip,platform/*,*timer?,a_b.c");
    assert_int_equal(parse("lhv.tests=abcdefghijklmnopqrstuvwxyz0123456789-_/*?.,x"), 0);
    assert_string_equal(opts.tests, "abcdefghijklmnopqrstuvwxyz0123456789-_/*?.,x");

    /* 255 characters fit, 256 do not */
    memset(expect, 'a', LHV_TESTS_MAX - 1);
    expect[LHV_TESTS_MAX - 1] = '\0';
    snprintf(cmdline, sizeof(cmdline), "lhv.tests=%s", expect);
    assert_int_equal(parse(cmdline), 0);
    assert_string_equal(opts.tests, expect);
    snprintf(cmdline, sizeof(cmdline), "lhv.tests=%sa", expect);
    refused_naming(cmdline, cmdline, "longer than 255 characters");
    assert_string_equal(opts.tests, "");

    refused("lhv.tests",
            "lhv.tests: expected lhv.tests=GLOB[,GLOB...] made of a-z 0-9 - _ / * ? . "
            "(-GLOB excludes)");
    refused_naming("lhv.tests=", "lhv.tests=", "expected lhv.tests=GLOB");
    refused_naming("lhv.tests=VMX/*", "lhv.tests=VMX/*", "expected lhv.tests=GLOB");
    refused_naming("lhv.tests=vmx/[ab]", "lhv.tests=vmx/[ab]", "expected lhv.tests=GLOB");
    refused_naming("lhv.tests=a=b", "lhv.tests=a=b", "expected lhv.tests=GLOB");
    refused_naming("lhv.tests=a;b", "lhv.tests=a;b", "expected lhv.tests=GLOB");
    refused_naming("lhv.tests=,a", "lhv.tests=,a", "empty GLOB");
    refused_naming("lhv.tests=a,", "lhv.tests=a,", "empty GLOB");
    refused_naming("lhv.tests=a,,b", "lhv.tests=a,,b", "empty GLOB");
    refused_naming("lhv.tests=,", "lhv.tests=,", "empty GLOB");
    refused_naming("lhv.tests=vmx/*,-", "lhv.tests=vmx/*,-", "empty GLOB after -");
    refused_naming("lhv.tests=-,vmx/*", "lhv.tests=-,vmx/*", "empty GLOB after -");
    assert_int_equal(parse("lhv.tests=vmx/*,-vmx/ept-*"), 0);
}

static void test_cpus(void **state)
{
    (void)state;
    assert_int_equal(parse("lhv.cpus=1"), 0);
    assert_int_equal(opts.cpus, 1);
    assert_int_equal(parse("lhv.cpus=4096"), 0);
    assert_int_equal(opts.cpus, 4096);
    assert_int_equal(parse("lhv.cpus=0x10"), 0);
    assert_int_equal(opts.cpus, 16);

    refused("lhv.cpus=0", "lhv.cpus=0: at least 1 CPU must run");
    refused("lhv.cpus=0x0", "lhv.cpus=0x0: at least 1 CPU must run");
    refused("lhv.cpus=4097", "lhv.cpus=4097: expected lhv.cpus=N with N in 1..4096");
    refused("lhv.cpus", "lhv.cpus: expected lhv.cpus=N with N in 1..4096");
    refused("lhv.cpus=", "lhv.cpus=: expected lhv.cpus=N with N in 1..4096");
    refused_naming("lhv.cpus=two", "lhv.cpus=two", "expected lhv.cpus=N");
    refused_naming("lhv.cpus=-1", "lhv.cpus=-1", "expected lhv.cpus=N");
    refused_naming("lhv.cpus=4294967297", "lhv.cpus=4294967297", "expected lhv.cpus=N");
    refused_naming("lhv.cpus=18446744073709551617", "lhv.cpus=18446744073709551617",
                   "expected lhv.cpus=N");
    refused_naming("lhv.cpus=2=3", "lhv.cpus=2=3", "expected lhv.cpus=N");
    assert_int_equal(opts.cpus, 0);
}

static void test_end(void **state)
{
    (void)state;
    assert_int_equal(parse("lhv.end=poweroff"), 0);
    assert_int_equal(opts.end, LHV_END_POWEROFF);
    assert_int_equal(parse("lhv.end=halt"), 0);
    assert_int_equal(opts.end, LHV_END_HALT);
    assert_int_equal(parse("lhv.end=reboot"), 0);
    assert_int_equal(opts.end, LHV_END_REBOOT);

    refused("lhv.end=off",
            "lhv.end=off: expected lhv.end=poweroff, lhv.end=halt or lhv.end=reboot");
    refused_naming("lhv.end", "lhv.end", "expected lhv.end=poweroff");
    refused_naming("lhv.end=", "lhv.end=", "expected lhv.end=poweroff");
    refused_naming("lhv.end=HALT", "lhv.end=HALT", "expected lhv.end=poweroff");
    refused_naming("lhv.end=halted", "lhv.end=halted", "expected lhv.end=poweroff");
    refused_naming("lhv.end=hal", "lhv.end=hal", "expected lhv.end=poweroff");
    assert_int_equal(opts.end, LHV_END_DEFAULT);
}

static void test_e9(void **state)
{
    (void)state;
    assert_int_equal(parse("lhv.e9=1"), 0);
    assert_true(opts.e9);
    assert_int_equal(parse("lhv.e9=1 lhv.e9=0"), 0);
    assert_false(opts.e9);

    refused("lhv.e9=2", "lhv.e9=2: expected lhv.e9=0 or lhv.e9=1");
    refused("lhv.e9", "lhv.e9: expected lhv.e9=0 or lhv.e9=1");
    refused_naming("lhv.e9=", "lhv.e9=", "expected lhv.e9=0");
    refused_naming("lhv.e9=01", "lhv.e9=01", "expected lhv.e9=0");
    refused_naming("lhv.e9=yes", "lhv.e9=yes", "expected lhv.e9=0");
}

static void test_table(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_false(opts.table);
    assert_int_equal(parse("lhv.table=1"), 0);
    assert_true(opts.table);
    refused("lhv.table=2", "lhv.table=2: expected lhv.table=0 or lhv.table=1");
    refused_naming("lhv.table=yes", "lhv.table=yes", "expected lhv.table=0");
}

static void test_l0(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_false(opts.l0);
    assert_int_equal(parse("lhv.l0=1"), 0);
    assert_true(opts.l0);
    assert_int_equal(parse("lhv.l0=1 lhv.l0=0"), 0);
    assert_false(opts.l0);

    refused("lhv.l0=2", "lhv.l0=2: expected lhv.l0=0 or lhv.l0=1");
    refused("lhv.l0", "lhv.l0: expected lhv.l0=0 or lhv.l0=1");
    refused_naming("lhv.l0=", "lhv.l0=", "expected lhv.l0=0");
    refused_naming("lhv.l0=yes", "lhv.l0=yes", "expected lhv.l0=0");
    assert_false(opts.l0_nested);
    assert_int_equal(parse("lhv.l0=1 lhv.l0.nested=1"), 0);
    assert_true(opts.l0_nested);
    assert_int_equal(parse("lhv.l0.nested=1 lhv.l0.nested=0"), 0);
    assert_false(opts.l0_nested);
    refused("lhv.l0.nested=2", "lhv.l0.nested=2: expected lhv.l0.nested=0 or lhv.l0.nested=1");
    refused_naming("lhv.l0.nested", "lhv.l0.nested", "expected lhv.l0.nested=0");
    assert_false(opts.l0_fc_unlocked);
    assert_int_equal(parse("lhv.l0.feature-control=unlocked"), 0);
    assert_true(opts.l0_fc_unlocked);
    assert_int_equal(parse("lhv.l0.feature-control=unlocked lhv.l0.feature-control=locked"), 0);
    assert_false(opts.l0_fc_unlocked);
    refused_naming("lhv.l0.feature-control=on", "lhv.l0.feature-control=on",
                   "expected lhv.l0.feature-control=locked");
}

static void test_iterations(void **state)
{
    (void)state;
    assert_int_equal(parse("lhv.iterations=1"), 0);
    assert_int_equal(opts.iterations, 1);
    assert_int_equal(parse("lhv.iterations=1000000000"), 0);
    assert_int_equal(opts.iterations, 1000000000);
    assert_int_equal(parse("lhv.iterations=0x100"), 0);
    assert_int_equal(opts.iterations, 256);

    refused("lhv.iterations=0",
            "lhv.iterations=0: expected lhv.iterations=N with N in 1..1000000000");
    refused_naming("lhv.iterations=1000000001", "lhv.iterations=1000000001",
                   "expected lhv.iterations=N");
    refused_naming("lhv.iterations=99999999999999999999", "lhv.iterations=99999999999999999999",
                   "expected lhv.iterations=N");
    refused_naming("lhv.iterations", "lhv.iterations", "expected lhv.iterations=N");
    refused_naming("lhv.iterations=", "lhv.iterations=", "expected lhv.iterations=N");
    refused_naming("lhv.iterations=1e3", "lhv.iterations=1e3", "expected lhv.iterations=N");
}

static void test_soak(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_int_equal(opts.soak, 1000);
    assert_int_equal(parse("lhv.soak=1"), 0);
    assert_int_equal(opts.soak, 1);
    assert_int_equal(parse("lhv.soak=1000000"), 0);
    assert_int_equal(opts.soak, 1000000);
    assert_int_equal(parse("lhv.soak=1000000000"), 0);
    assert_int_equal(opts.soak, 1000000000);
    assert_int_equal(parse("lhv.soak=0x10"), 0);
    assert_int_equal(opts.soak, 16);
    assert_int_equal(parse("lhv.soak=5 lhv.soak=7"), 0); /* the later wins */
    assert_int_equal(opts.soak, 7);

    refused("lhv.soak=0", "lhv.soak=0: expected lhv.soak=N with N in 1..1000000000");
    refused_naming("lhv.soak=1000000001", "lhv.soak=1000000001", "expected lhv.soak=N");
    refused_naming("lhv.soak=-1", "lhv.soak=-1", "expected lhv.soak=N");
    refused_naming("lhv.soak", "lhv.soak", "expected lhv.soak=N");
    refused_naming("lhv.soak=", "lhv.soak=", "expected lhv.soak=N");
    refused_naming("lhv.soak=1e6", "lhv.soak=1e6", "expected lhv.soak=N");
    refused_naming("lhv.soak=many", "lhv.soak=many", "expected lhv.soak=N");
}

static void test_test_timeout(void **state)
{
    (void)state;
    assert_int_equal(parse("lhv.test-timeout=1"), 0);
    assert_int_equal(opts.test_timeout, 1);
    assert_int_equal(parse("lhv.test-timeout=86000"), 0);
    assert_int_equal(opts.test_timeout, 86000);
    refused("lhv.test-timeout=0",
            "lhv.test-timeout=0: expected lhv.test-timeout=SECONDS with SECONDS in 1..86000");
    refused_naming("lhv.test-timeout=86001", "lhv.test-timeout=86001",
                   "expected lhv.test-timeout=SECONDS");
    refused_naming("lhv.test-timeout", "lhv.test-timeout", "expected lhv.test-timeout=");
    refused_naming("lhv.test-timeout=5s", "lhv.test-timeout=5s", "expected lhv.test-timeout=");
}

static void test_fuzz(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_int_equal(opts.fuzz, LHV_FUZZ_DEFAULT);
    assert_int_equal(opts.fuzz_seed, 1);
    assert_int_equal(parse("lhv.fuzz=20000 lhv.fuzz.seed=0xffffffff"), 0);
    assert_int_equal(opts.fuzz, 20000);
    assert_int_equal(opts.fuzz_seed, 0xffffffffu);
    assert_int_equal(parse("lhv.fuzz.seed=7 lhv.fuzz=1"), 0);
    assert_int_equal(opts.fuzz, 1);
    assert_int_equal(opts.fuzz_seed, 7);

    refused("lhv.fuzz=0", "lhv.fuzz=0: expected lhv.fuzz=N with N in 1..1000000000");
    refused_naming("lhv.fuzz=1000000001", "lhv.fuzz=1000000001", "expected lhv.fuzz=N");
    refused_naming("lhv.fuzz", "lhv.fuzz", "expected lhv.fuzz=N");
    assert_int_equal(parse("lhv.fuzz.seed=0"), 0); /* the sweep */
    assert_int_equal(opts.fuzz_seed, 0);
    refused("lhv.fuzz.seed=-1", "lhv.fuzz.seed=-1: expected lhv.fuzz.seed=S with S in "
                                "0..4294967295 (0: the single-bit sweep)");
    refused_naming("lhv.fuzz.seed=4294967296", "lhv.fuzz.seed=4294967296",
                   "expected lhv.fuzz.seed=S");
    refused_naming("lhv.fuzz.seed=x", "lhv.fuzz.seed=x", "expected lhv.fuzz.seed=S");

    assert_int_equal(opts.fuzz_replay, 0);
    assert_int_equal(parse("lhv.fuzz.seed=3 lhv.fuzz.replay=7:0"), 0);
    assert_int_equal(opts.fuzz_seed, 7); /* the replay's seed wins, given later */
    assert_int_equal(opts.fuzz_replay, 1);
    assert_int_equal(parse("lhv.fuzz.replay=4294967295:999999999"), 0);
    assert_int_equal(opts.fuzz_seed, 0xffffffffu);
    assert_int_equal(opts.fuzz_replay, 1000000000);
    refused("lhv.fuzz.replay=1",
            "lhv.fuzz.replay=1: expected lhv.fuzz.replay=S:T (seed 0..4294967295, trial "
            "0..999999999)");
    assert_int_equal(parse("lhv.fuzz.replay=0:5"), 0); /* a trial of the sweep */
    assert_int_equal(opts.fuzz_seed, 0);
    assert_int_equal(opts.fuzz_replay, 6);
    refused_naming("lhv.fuzz.replay=-1:5", "lhv.fuzz.replay=-1:5", "expected lhv.fuzz.replay=S:T");
    refused_naming("lhv.fuzz.replay=1:", "lhv.fuzz.replay=1:", "expected lhv.fuzz.replay=S:T");
    refused_naming("lhv.fuzz.replay=:5", "lhv.fuzz.replay=:5", "expected lhv.fuzz.replay=S:T");
    refused_naming("lhv.fuzz.replay=1:1000000000", "lhv.fuzz.replay=1:1000000000",
                   "expected lhv.fuzz.replay=S:T");
    refused_naming("lhv.fuzz.replay=1:2:3", "lhv.fuzz.replay=1:2:3", "expected lhv.fuzz.replay=S:T");
}

static void test_fuzz_break(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_string_equal(opts.fuzz_break, "");
    assert_int_equal(parse("lhv.fuzz.break=guest.rip.canonical"), 0);
    assert_string_equal(opts.fuzz_break, "guest.rip.canonical");
    assert_int_equal(parse("lhv.fuzz.break=a23456789012345678901234567890123456789012345_7"), 0);
    assert_int_equal(strlen(opts.fuzz_break), 47);
    refused_naming("lhv.fuzz.break=", "lhv.fuzz.break=", "expected lhv.fuzz.break=ID");
    refused_naming("lhv.fuzz.break=Guest.rip", "lhv.fuzz.break=Guest.rip",
                   "expected lhv.fuzz.break=ID");
    refused_naming("lhv.fuzz.break=a2345678901234567890123456789012345678901234567_",
                   "lhv.fuzz.break=a2345678901234567890123456789012345678901234567_",
                   "expected lhv.fuzz.break=ID");
}

static void test_bochs(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_int_equal(opts.bochs, LHV_BOCHS_UNKNOWN);
    assert_int_equal(parse("lhv.bochs=2.7"), 0);
    assert_int_equal(opts.bochs, LHV_BOCHS_2_7);
    assert_int_equal(parse("lhv.bochs=2.7 lhv.bochs=3.0"), 0); /* the later wins */
    assert_int_equal(opts.bochs, LHV_BOCHS_3_0);

    refused("lhv.bochs=2.8", "lhv.bochs=2.8: expected lhv.bochs=2.7 or lhv.bochs=3.0");
    refused_naming("lhv.bochs=3", "lhv.bochs=3", "expected lhv.bochs=2.7");
    refused_naming("lhv.bochs", "lhv.bochs", "expected lhv.bochs=2.7");
    refused_naming("lhv.bochs=", "lhv.bochs=", "expected lhv.bochs=2.7");
}

static void test_inject(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_NONE);
    assert_int_equal(parse("lhv.inject=bsp-fault"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_BSP_FAULT);
    assert_int_equal(parse("lhv.inject=ap-fault"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_AP_FAULT);
    assert_int_equal(parse("lhv.inject=double-fault"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_DOUBLE_FAULT);
    assert_int_equal(parse("lhv.inject=exit-handler-fault"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_EXIT_HANDLER_FAULT);
    assert_int_equal(parse("lhv.inject=ap-hang"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_AP_HANG);
    assert_int_equal(parse("lhv.inject=phantom-cpu"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_PHANTOM_CPU);
    assert_int_equal(parse("lhv.inject=bsp-hang"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_BSP_HANG);
    assert_int_equal(parse("lhv.inject=guest-hang"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_GUEST_HANG);
    assert_int_equal(parse("lhv.inject=vmread-unsupported"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_VMREAD_UNSUPPORTED);
    assert_int_equal(parse("lhv.inject=l0-hidden-access"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_L0_HIDDEN_ACCESS);
    assert_int_equal(parse("lhv.inject=vcpu-stall"), 0);
    assert_int_equal(opts.inject, LHV_INJECT_VCPU_STALL);
    refused_naming("lhv.inject=crash", "lhv.inject=crash", "expected lhv.inject=bsp-fault|");
    refused_naming("lhv.inject", "lhv.inject", "expected lhv.inject=");
    refused_naming("lhv.inject=", "lhv.inject=", "expected lhv.inject=");
}

static void test_console(void **state)
{
    (void)state;
    assert_int_equal(parse("quiet"), 0);
    assert_int_equal(opts.console, 0); /* the boot's default */
    assert_int_equal(parse("lhv.console=serial"), 0);
    assert_int_equal(opts.console, LHV_CONSOLE_SERIAL);
    assert_int_equal(parse("lhv.console=vga"), 0);
    assert_int_equal(opts.console, LHV_CONSOLE_VGA);
    assert_int_equal(parse("lhv.console=both"), 0);
    assert_int_equal(opts.console, LHV_CONSOLE_SERIAL | LHV_CONSOLE_VGA);
    assert_int_equal(parse("lhv.console=vga lhv.console=serial"), 0); /* the later wins */
    assert_int_equal(opts.console, LHV_CONSOLE_SERIAL);
    refused("lhv.console=none",
            "lhv.console=none: expected lhv.console=serial, lhv.console=vga or lhv.console=both");
    refused_naming("lhv.console", "lhv.console", "expected lhv.console=");
    refused_naming("lhv.console=", "lhv.console=", "expected lhv.console=");
    refused_naming("lhv.console=Serial", "lhv.console=Serial", "expected lhv.console=");
}

static void test_unknown_lhv_option(void **state)
{
    (void)state;
    refused("lhv.foo",
            "unknown option lhv.foo; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("lhv.foo=1",
            "unknown option lhv.foo; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("lhv.", "unknown option lhv.; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("lhv.=3",
            "unknown option lhv.; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("lhv.cpu=2",
            "unknown option lhv.cpu; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("lhv.cpus.x=2",
            "unknown option lhv.cpus.x; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
    refused("quiet lhv.cpus=2 lhv.Tests=x",
            "unknown option lhv.Tests; valid: lhv.tests lhv.cpus lhv.end lhv.e9 lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested lhv.l0.feature-control lhv.table");
}

static void test_option_names(void **state)
{
    size_t n = 0;

    (void)state;
    while (lhv_option_names[n])
        n++;
    assert_int_equal(n, 18);
    assert_string_equal(lhv_option_names[0], "lhv.tests");
    assert_string_equal(lhv_option_names[1], "lhv.cpus");
    assert_string_equal(lhv_option_names[2], "lhv.end");
    assert_string_equal(lhv_option_names[3], "lhv.e9");
    assert_string_equal(lhv_option_names[4], "lhv.iterations");
    assert_string_equal(lhv_option_names[5], "lhv.inject");
    assert_string_equal(lhv_option_names[7], "lhv.soak");
    assert_string_equal(lhv_option_names[8], "lhv.test-timeout");
    assert_string_equal(lhv_option_names[9], "lhv.fuzz");
    assert_string_equal(lhv_option_names[10], "lhv.fuzz.seed");
    assert_string_equal(lhv_option_names[11], "lhv.fuzz.replay");
    assert_string_equal(lhv_option_names[12], "lhv.fuzz.break");
    assert_string_equal(lhv_option_names[13], "lhv.bochs");
    assert_string_equal(lhv_option_names[14], "lhv.l0");
    assert_string_equal(lhv_option_names[15], "lhv.l0.nested");
}

static void test_all_together(void **state)
{
    (void)state;
    assert_int_equal(parse("serial=115200,8n1,0x2f8 boot_drive=0x80 lhv.tests=vmx/* "
                           "lhv.cpus=2 lhv.end=halt lhv.e9=1 lhv.iterations=10"),
                     0);
    assert_int_equal(opts.serial.port, 0x2f8);
    assert_int_equal(opts.boot_drive, 0x80);
    assert_string_equal(opts.tests, "vmx/*");
    assert_int_equal(opts.cpus, 2);
    assert_int_equal(opts.end, LHV_END_HALT);
    assert_true(opts.e9);
    assert_int_equal(opts.iterations, 10);
}

static void test_separators(void **state)
{
    (void)state;
    assert_int_equal(parse("\t lhv.cpus=3\t\tlhv.end=reboot   lhv.e9=1\t"), 0);
    assert_int_equal(opts.cpus, 3);
    assert_int_equal(opts.end, LHV_END_REBOOT);
    assert_true(opts.e9);
    assert_int_equal(parse("lhv.cpus=3\nlhv.end=reboot\r\n"), 0);
    assert_int_equal(opts.cpus, 3);
    assert_int_equal(opts.end, LHV_END_REBOOT);
}

static void test_duplicates(void **state)
{
    (void)state;
    assert_int_equal(parse("serial=9600,8n1,0x3f8 lhv.cpus=2 serial=115200,7o2,0x2f8 "
                           "lhv.cpus=4 boot_drive=0x80 boot_drive=0x81 lhv.tests=a "
                           "lhv.tests=b lhv.end=halt lhv.end=reboot lhv.iterations=5 "
                           "lhv.iterations=6"),
                     0);
    assert_int_equal(opts.serial.baud, 115200);
    assert_int_equal(opts.serial.data_bits, 7);
    assert_int_equal(opts.serial.parity, 'o');
    assert_int_equal(opts.serial.stop_bits, 2);
    assert_int_equal(opts.serial.port, 0x2f8);
    assert_int_equal(opts.cpus, 4);
    assert_int_equal(opts.boot_drive, 0x81);
    assert_string_equal(opts.tests, "b");
    assert_int_equal(opts.end, LHV_END_REBOOT);
    assert_int_equal(opts.iterations, 6);

    /* a bad duplicate is still an error */
    refused("lhv.cpus=2 lhv.cpus=0", "lhv.cpus=0: at least 1 CPU must run");
    /* the first bad word is the one reported */
    refused("lhv.e9=7 lhv.cpus=0", "lhv.e9=7: expected lhv.e9=0 or lhv.e9=1");
}

static void test_length_limit(void **state)
{
    static char cmdline[LHV_CMDLINE_MAX + 2];

    (void)state;
    /* 4096 bytes: a long ignored word, then an option that must be seen */
    memset(cmdline, 'x', LHV_CMDLINE_MAX);
    memcpy(cmdline + LHV_CMDLINE_MAX - 11, " lhv.cpus=7", 11);
    cmdline[LHV_CMDLINE_MAX] = '\0';
    assert_int_equal(parse(cmdline), 0);
    assert_int_equal(opts.cpus, 7);

    cmdline[LHV_CMDLINE_MAX] = 'x';
    cmdline[LHV_CMDLINE_MAX + 1] = '\0';
    refused(cmdline, "command line is 4097 bytes, the limit is 4096");
    assert_int_equal(opts.cpus, 0);

    memset(cmdline, ' ', LHV_CMDLINE_MAX + 1);
    refused(cmdline, "command line is 4097 bytes, the limit is 4096");
}

/* err is cut to errlen and always terminated; errlen 0 writes nothing. */
static void test_err_cut(void **state)
{
    char small[16];

    (void)state;
    options_default(&opts);
    memset(small, 'X', sizeof(small));
    assert_int_equal(options_parse("lhv.cpus=0", &opts, small, 10), -1);
    assert_string_equal(small, "lhv.cpus=");
    assert_int_equal(small[10], 'X');

    memset(small, 'X', sizeof(small));
    assert_int_equal(options_parse("lhv.foo", &opts, small, sizeof(small)), -1);
    assert_string_equal(small, "unknown option ");

    memset(small, 'X', sizeof(small));
    assert_int_equal(options_parse("lhv.foo", &opts, small, 0), -1);
    assert_int_equal(options_parse("lhv.cpus=0", &opts, small, 0), -1);
    assert_int_equal(small[0], 'X');

    /* cut in the middle of the list of valid names */
    memset(err, 'X', sizeof(err));
    assert_int_equal(options_parse("lhv.foo", &opts, err, 40), -1);
    assert_string_equal(err, "unknown option lhv.foo; valid: lhv.test");
    assert_int_equal(err[40], 'X');
    memset(err, 'X', sizeof(err));
    assert_int_equal(options_parse("lhv.foo", &opts, err, 41), -1);
    assert_string_equal(err, "unknown option lhv.foo; valid: lhv.tests");
    assert_int_equal(err[41], 'X');
}

static void test_skip_loader_path(void **state)
{
    const char *cl = "/boot/init-x86-amd64.bin serial=115200,8n1,0x3f8";

    (void)state;
    assert_string_equal(cmdline_skip_loader_path(cl, "qemu"), "serial=115200,8n1,0x3f8");
    assert_string_equal(cmdline_skip_loader_path(cl, "qemu 8.0"), "serial=115200,8n1,0x3f8");
    assert_ptr_equal(cmdline_skip_loader_path(cl, "GRUB 2.06"), cl);
    assert_ptr_equal(cmdline_skip_loader_path(cl, "QEMU"), cl);
    assert_ptr_equal(cmdline_skip_loader_path(cl, "qem"), cl);
    assert_ptr_equal(cmdline_skip_loader_path(cl, ""), cl);
    assert_ptr_equal(cmdline_skip_loader_path(cl, NULL), cl);
    assert_string_equal(cmdline_skip_loader_path("  init.bin \t  lhv.cpus=1 x", "qemu"),
                        "lhv.cpus=1 x");
    assert_string_equal(cmdline_skip_loader_path("init.bin", "qemu"), "");
    assert_string_equal(cmdline_skip_loader_path("init.bin   ", "qemu"), "");
    assert_string_equal(cmdline_skip_loader_path("", "qemu"), "");
    assert_string_equal(cmdline_skip_loader_path("   ", "qemu"), "");
    assert_string_equal(cmdline_skip_loader_path("\tinit.bin\ta b", "qemu"), "a b");

    /* the path, when not skipped, is an ignored word */
    assert_int_equal(parse(cl), 0);
    assert_int_equal(parse(cmdline_skip_loader_path("/x/lhv.bin lhv.cpus=2", "qemu")), 0);
    assert_int_equal(opts.cpus, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_unknown_words_ignored),
        cmocka_unit_test(test_serial),
        cmocka_unit_test(test_serial_bad),
        cmocka_unit_test(test_boot_drive),
        cmocka_unit_test(test_tests),
        cmocka_unit_test(test_cpus),
        cmocka_unit_test(test_end),
        cmocka_unit_test(test_e9),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_l0),
        cmocka_unit_test(test_iterations),
        cmocka_unit_test(test_soak),
        cmocka_unit_test(test_test_timeout),
        cmocka_unit_test(test_fuzz),
        cmocka_unit_test(test_fuzz_break),
        cmocka_unit_test(test_bochs),
        cmocka_unit_test(test_inject),
        cmocka_unit_test(test_console),
        cmocka_unit_test(test_unknown_lhv_option),
        cmocka_unit_test(test_option_names),
        cmocka_unit_test(test_all_together),
        cmocka_unit_test(test_separators),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_length_limit),
        cmocka_unit_test(test_err_cut),
        cmocka_unit_test(test_skip_loader_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
