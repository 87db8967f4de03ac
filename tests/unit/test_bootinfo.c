/* Host tests for xmhf/lib/bootinfo.c: init's reading of the multiboot info
 * and its check of the target span. Each test builds a fake multiboot info
 * in a heap buffer that stands for physical memory from address 0, so
 * AddressSanitizer catches any read past what the loader structures allow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "bootinfo.h"
#include "image.h"
#include "multiboot.h"

/* Fake physical memory: where the loader put what. */
#define MEM_SIZE 0x20000u
#define MBI_ADDR 0x1000u
#define MODS_ADDR 0x1400u    /* room for 32 modules */
#define LOADER_ADDR 0x1800u
#define MODSTR_ADDR 0x2000u  /* 0x100 bytes per module string */
#define MMAP_ADDR 0x4000u    /* room for 0x4000 bytes of entries */
#define CMDLINE_ADDR 0x8000u /* room for 0x4000 bytes */
#define MOD0_START 0x10000u
#define MOD0_END 0x18000u
#define INIT_START 0x100000u
#define INIT_END 0x110000u
#define BASE 0x10000000u     /* the default target base, 256 MiB */
#define SPAN 0x200000u

#define U LHV_MEM_USABLE
#define R LHV_MEM_RESERVED

#define FIX_OPTIONS "; fix the command line (docs/options.md lists every option)"

static u8 *buf;
static struct phys_mem mem;
static struct lhv_boot_params params;
static struct lhv_options opts;
static char err[512];

static struct multiboot_info *mbi(void) { return (struct multiboot_info *)(buf + MBI_ADDR); }

static int setup(void **state)
{
    (void)state;
    buf = malloc(MEM_SIZE);
    assert_non_null(buf);
    memset(buf, 0, MEM_SIZE);
    mem = (struct phys_mem){ .base = buf, .size = MEM_SIZE };
    memset(&params, 0xa5, sizeof(params));
    params.subarch = LHV_SUBARCH_AMD64;
    memset(&opts, 0xa5, sizeof(opts));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(buf);
    return 0;
}

static void put_string(u32 addr, const char *s) { memcpy(buf + addr, s, strlen(s) + 1); }

static void set_cmdline(const char *s)
{
    mbi()->flags |= MBI_CMDLINE;
    mbi()->cmdline = CMDLINE_ADDR;
    put_string(CMDLINE_ADDR, s);
}

static void set_loader(const char *s)
{
    mbi()->flags |= MBI_LOADER_NAME;
    mbi()->boot_loader_name = LOADER_ADDR;
    put_string(LOADER_ADDR, s);
}

/* Appends a module; string NULL: none (address 0). */
static void add_module(u32 start, u32 end, const char *string)
{
    u32 i = mbi()->mods_count++;
    struct multiboot_module m = { .mod_start = start, .mod_end = end };

    if (string) {
        m.string = MODSTR_ADDR + i * 0x100;
        put_string(m.string, string);
    }
    mbi()->flags |= MBI_MODS;
    mbi()->mods_addr = MODS_ADDR;
    memcpy(buf + MODS_ADDR + i * sizeof(m), &m, sizeof(m));
}

/* Appends a map entry whose size field is size (20 in the usual case); the
 * bytes past the 20 the spec defines are filled with junk. */
static void add_mmap_sized(u32 size, u64 base, u64 len, u32 type)
{
    struct multiboot_mmap_entry e = { .size = size, .addr = base, .len = len, .type = type };
    u8 *at = buf + MMAP_ADDR + mbi()->mmap_length;

    memset(at, 0xee, size + 4);
    memcpy(at, &e, size + 4 < sizeof(e) ? size + 4 : sizeof(e));
    mbi()->flags |= MBI_MMAP;
    mbi()->mmap_addr = MMAP_ADDR;
    mbi()->mmap_length += size + 4;
}

static void add_mmap(u64 base, u64 len, u32 type) { add_mmap_sized(20, base, len, type); }

/* The map QEMU gives a 512 MiB guest, with mem_lower and mem_upper. */
static void qemu_512m_map(void)
{
    add_mmap(0, 0x9fc00, U);
    add_mmap(0x9fc00, 0x400, R);
    add_mmap(0xf0000, 0x10000, R);
    add_mmap(0x100000, 0x1fee0000, U);
    add_mmap(0x1ffe0000, 0x20000, R);
    add_mmap(0xfffc0000, 0x40000, R);
    mbi()->flags |= MBI_MEMORY;
    mbi()->mem_lower = 639;
    mbi()->mem_upper = 523136;
}

/* What GRUB 2 passes for grub/gr64.cfg. */
static void grub_boot(void)
{
    set_loader("GRUB 2.06-13+deb12u1");
    set_cmdline("serial=115200,8n1,0x3f8 boot_drive=0x80");
    mbi()->flags |= MBI_BOOTDEV;
    mbi()->boot_device = 0x8001ffff;
    qemu_512m_map();
    add_module(MOD0_START, MOD0_END, "/boot/hypervisor-x86-amd64.bin.gz");
}

/* What QEMU -kernel -initrd -append passes: the paths come first. */
static void qemu_boot(const char *append)
{
    char cmdline[0x3000] = "/work/main/init-x86-amd64.bin";

    if (append) {
        strcat(cmdline, " ");
        strcat(cmdline, append);
    }
    set_loader("qemu");
    set_cmdline(cmdline);
    qemu_512m_map();
    add_module(MOD0_START, MOD0_END, "/work/main/hypervisor-x86-amd64.bin");
}

static int read_options(void)
{
    return bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, MBI_ADDR, &params, &opts, err,
                                 sizeof(err));
}

static int read_memory(void)
{
    return bootinfo_read_memory(&mem, MBI_ADDR, &params, err, sizeof(err));
}

/* Both reads, as init does them. */
static int read_all(void) { return read_options() || read_memory() ? -1 : 0; }

static int check_target(u64 base, u64 span)
{
    return bootinfo_check_target(&mem, MBI_ADDR, &params, base, span, INIT_START, INIT_END, err,
                                 sizeof(err));
}

/* rc must be -1 with one line in err that contains what. */
static void failed_with(int rc, const char *what)
{
    assert_int_equal(rc, -1);
    assert_null(strchr(err, '\n'));
    if (!strstr(err, what))
        fail_msg("expected \"%s\" in \"%s\"", what, err);
}

static void entry_is(u32 i, u64 base, u64 length, u32 type)
{
    assert_true(params.mmap[i].base == base);
    assert_true(params.mmap[i].length == length);
    assert_int_equal(params.mmap[i].type, type);
}

/* --- bootinfo_read_options ----------------------------------------------- */

static void test_grub(void **state)
{
    (void)state;
    grub_boot();
    assert_int_equal(read_all(), 0);
    assert_string_equal(params.loader_name, "GRUB 2.06-13+deb12u1");
    assert_string_equal(params.cmdline, "serial=115200,8n1,0x3f8 boot_drive=0x80");
    assert_int_equal(opts.serial.baud, 115200);
    assert_int_equal(opts.serial.port, 0x3f8);
    assert_int_equal(params.boot_drive, 0x80);
    assert_true(params.multiboot_info == MBI_ADDR);
    assert_int_equal(params.multiboot_flags, mbi()->flags);
    assert_int_equal(params.mmap_count, 6);
    entry_is(0, 0, 0x9fc00, U);
    entry_is(3, 0x100000, 0x1fee0000, U);
    entry_is(5, 0xfffc0000, 0x40000, R);
    assert_int_equal(params.module_count, 1);
    assert_true(params.modules[0].start == MOD0_START);
    assert_true(params.modules[0].end == MOD0_END);
    assert_string_equal(params.modules[0].string, "/boot/hypervisor-x86-amd64.bin.gz");
    assert_int_equal(check_target(BASE, SPAN), 0);
}

static void test_qemu_skips_path(void **state)
{
    (void)state;
    qemu_boot("serial=115200,8n1,0x2f8 lhv.cpus=2");
    assert_int_equal(read_all(), 0);
    assert_string_equal(params.loader_name, "qemu");
    assert_string_equal(params.cmdline, "serial=115200,8n1,0x2f8 lhv.cpus=2");
    assert_int_equal(opts.serial.port, 0x2f8);
    assert_int_equal(opts.cpus, 2);
    assert_string_equal(params.modules[0].string, "/work/main/hypervisor-x86-amd64.bin");
    assert_int_equal(check_target(BASE, SPAN), 0);
}

static void test_qemu_no_append(void **state)
{
    (void)state;
    qemu_boot(NULL);
    assert_int_equal(read_options(), 0);
    assert_string_equal(params.cmdline, "");
}

/* Only a loader named qemu... gets its first word skipped. */
static void test_path_kept_for_other_loaders(void **state)
{
    (void)state;
    set_loader("GRUB 2.06");
    set_cmdline("/boot/init-x86-amd64.bin lhv.cpus=3");
    assert_int_equal(read_options(), 0);
    assert_string_equal(params.cmdline, "/boot/init-x86-amd64.bin lhv.cpus=3");
    assert_int_equal(opts.cpus, 3);
}

/* No name, no command line, no boot device: all empty, defaults. */
static void test_bare_mbi(void **state)
{
    (void)state;
    set_cmdline("/boot/init lhv.cpus=3");
    mbi()->flags = 0;
    assert_int_equal(read_options(), 0);
    assert_string_equal(params.loader_name, "");
    assert_string_equal(params.cmdline, "");
    assert_int_equal(opts.cpus, 0);
    assert_int_equal(opts.boot_drive, 0xffffffff);
    assert_int_equal(params.boot_drive, 0xffffffff);
    assert_int_equal(params.multiboot_flags, 0);
}

static void test_boot_drive(void **state)
{
    (void)state;
    mbi()->flags = MBI_BOOTDEV;
    mbi()->boot_device = 0x81ffffff;
    assert_int_equal(read_options(), 0);
    assert_int_equal(params.boot_drive, 0x81); /* from the loader */
    set_cmdline("boot_drive=0x80");
    assert_int_equal(read_options(), 0);
    assert_int_equal(params.boot_drive, 0x80); /* the option wins */
    mbi()->flags = MBI_CMDLINE;
    assert_int_equal(read_options(), 0);
    assert_int_equal(params.boot_drive, 0x80); /* the option alone */
}

static void test_magic(void **state)
{
    (void)state;
    grub_boot();
    assert_int_equal(bootinfo_read_options(&mem, 0x1badb002, MBI_ADDR, &params, &opts, err,
                                           sizeof(err)), -1);
    assert_string_equal(err, "not started by a multiboot loader (EAX=0x1badb002): boot "
                             "init-x86-amd64.bin with GRUB's 'multiboot' or 'multiboot2' "
                             "command or QEMU -kernel");
    /* the multiboot2 magic reads the info as multiboot2 tags (test_bootinfo_mb2.c) */
    assert_int_equal(bootinfo_read_options(&mem, 0x36d76289, MBI_ADDR, &params, &opts, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "multiboot2"));
    params.subarch = LHV_SUBARCH_I386;
    failed_with(bootinfo_read_options(&mem, 0, MBI_ADDR, &params, &opts, err, sizeof(err)),
                "boot init-x86-i386.bin with");
}

static void test_cmdline_limit(void **state)
{
    char line[LHV_CMDLINE_MAX + 2];

    (void)state;
    memset(line, 'a', sizeof(line));
    line[LHV_CMDLINE_MAX] = '\0';
    set_cmdline(line);
    assert_int_equal(read_options(), 0);
    assert_int_equal(strlen(params.cmdline), LHV_CMDLINE_MAX);
    line[LHV_CMDLINE_MAX] = 'a';
    line[LHV_CMDLINE_MAX + 1] = '\0';
    set_cmdline(line);
    assert_int_equal(read_options(), -1);
    assert_string_equal(err, "command line is longer than 4096 bytes: shorten it "
                             "(docs/options.md)");
}

/* QEMU's path does not count towards the 4 KiB. */
static void test_cmdline_limit_qemu(void **state)
{
    char line[LHV_CMDLINE_MAX + 2];

    (void)state;
    memset(line, 'a', sizeof(line));
    line[LHV_CMDLINE_MAX] = '\0';
    qemu_boot(line);
    assert_int_equal(read_options(), 0);
    assert_int_equal(strlen(params.cmdline), LHV_CMDLINE_MAX);
    line[LHV_CMDLINE_MAX] = 'a';
    line[LHV_CMDLINE_MAX + 1] = '\0';
    qemu_boot(line);
    failed_with(read_options(), "command line is longer than 4096 bytes");
}

static void test_unknown_option(void **state)
{
    (void)state;
    set_cmdline("serial=115200,8n1,0x3f8 lhv.bogus=1");
    assert_int_equal(read_options(), -1);
    assert_string_equal(err, "unknown option lhv.bogus; valid: lhv.tests lhv.cpus lhv.end lhv.e9 "
                             "lhv.iterations lhv.inject lhv.console lhv.soak lhv.test-timeout "
                             "lhv.fuzz lhv.fuzz.seed lhv.fuzz.replay lhv.fuzz.break lhv.bochs lhv.l0 lhv.l0.nested "
                             "lhv.l0.feature-control lhv.table"
                             FIX_OPTIONS);
    /* Unknown words without the prefix are the user's own. */
    set_cmdline("quiet splash=1 lhv.cpus=1");
    assert_int_equal(read_options(), 0);
}

/* A cut message still ends in what to do. */
static void test_option_message_cut(void **state)
{
    char small[80];

    (void)state;
    set_cmdline("lhv.bogus=1");
    memset(small, 'X', sizeof(small));
    assert_int_equal(bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, MBI_ADDR, &params,
                                           &opts, small, sizeof(small)), -1);
    assert_true(strlen(small) < sizeof(small));
    assert_memory_equal(small, "unknown option lhv.", 19);
    assert_string_equal(small + strlen(small) - strlen(FIX_OPTIONS), FIX_OPTIONS);
}

static void test_options_pointers_outside(void **state)
{
    (void)state;
    grub_boot();
    failed_with(bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, MEM_SIZE - 4, &params,
                                      &opts, err, sizeof(err)),
                "the multiboot info (0x1fffc, 96 bytes) lies outside memory: the boot loader "
                "is broken; boot LHV with GRUB 2 or QEMU");
    failed_with(bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, 0xffffffff, &params,
                                      &opts, err, sizeof(err)),
                "the multiboot info (0xffffffff");
    mbi()->cmdline = MEM_SIZE;
    failed_with(read_options(), "the command line at 0x20000 does not end inside memory");
    mbi()->cmdline = 0xfffffff0;
    failed_with(read_options(), "the command line at 0xfffffff0");
    /* A string that runs into the end of memory without its NUL. */
    memset(buf + MEM_SIZE - 8, 'a', 8);
    mbi()->cmdline = MEM_SIZE - 8;
    failed_with(read_options(), "the command line at 0x1fff8 does not end inside memory");
    mbi()->cmdline = CMDLINE_ADDR;
    mbi()->boot_loader_name = MEM_SIZE - 1;
    failed_with(read_options(), "the boot loader name at 0x1ffff does not end inside memory");
    buf[MEM_SIZE - 1] = '\0';
    assert_int_equal(read_options(), 0);
    assert_string_equal(params.loader_name, "");
}

/* The mbi may end exactly where memory does. */
static void test_mbi_at_end_of_memory(void **state)
{
    u32 at = MEM_SIZE - sizeof(struct multiboot_info);

    (void)state;
    buf[at] = MBI_BOOTDEV;
    buf[at + 15] = 0x80; /* boot_device's top byte */
    assert_int_equal(bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, at, &params, &opts,
                                           err, sizeof(err)), 0);
    assert_int_equal(params.boot_drive, 0x80);
}

/* --- bootinfo_read_memory: the memory map -------------------------------- */

/* Unsorted, overlapping entries are kept as the loader gave them. */
static void test_mmap_unsorted_overlapping(void **state)
{
    (void)state;
    add_mmap(0x100000, 0x3ff00000, U);
    add_mmap(0, 0x9fc00, U);
    add_mmap(0x20000000, 0x1000, R); /* inside the first */
    add_mmap(0x100000000ULL, 0x40000000, U);
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 4);
    entry_is(0, 0x100000, 0x3ff00000, U);
    entry_is(1, 0, 0x9fc00, U);
    entry_is(2, 0x20000000, 0x1000, R);
    entry_is(3, 0x100000000ULL, 0x40000000, U);
}

/* The entry stride is size + 4, whatever size is (at least 20). */
static void test_mmap_entry_sizes(void **state)
{
    (void)state;
    add_mmap_sized(24, 0, 0x9fc00, U);
    add_mmap_sized(20, 0x9fc00, 0x400, R);
    add_mmap_sized(44, 0x100000, 0x1ff00000, U);
    add_mmap_sized(21, 0x100000000ULL, 0x1000, 3);
    add_mmap_sized(20, 0xfffc0000, 0x40000, R);
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 5);
    entry_is(0, 0, 0x9fc00, U);
    entry_is(1, 0x9fc00, 0x400, R);
    entry_is(2, 0x100000, 0x1ff00000, U);
    entry_is(3, 0x100000000ULL, 0x1000, 3);
    entry_is(4, 0xfffc0000, 0x40000, R);
}

static void test_mmap_entry_too_small(void **state)
{
    (void)state;
    add_mmap(0, 0x9fc00, U);
    add_mmap_sized(16, 0x100000, 0x1000, U);
    add_mmap(0x200000, 0x1000, U);
    add_module(MOD0_START, MOD0_END, NULL);
    failed_with(read_memory(), "memory map entry at 0x4018 has size 16, less than 20: the boot "
                               "loader is broken");
}

/* Bytes at the end too few for a whole entry are not read as one. */
static void test_mmap_tail_ignored(void **state)
{
    (void)state;
    add_mmap(0, 0x9fc00, U);
    add_mmap(0x100000, 0x1000, U);
    mbi()->mmap_length -= 1;
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 1);
    /* An entry whose size runs past mmap_length still counts; the next
     * one starts after the end. */
    mbi()->mmap_length = 0;
    add_mmap_sized(100, 0x100000, 0x1000, U);
    mbi()->mmap_length = 30;
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 1);
    entry_is(0, 0x100000, 0x1000, U);
}

static void test_mmap_outside(void **state)
{
    (void)state;
    qemu_512m_map();
    add_module(MOD0_START, MOD0_END, NULL);
    mbi()->mmap_addr = MEM_SIZE - 0x20;
    failed_with(read_memory(), "the memory map (0x1ffe0, 144 bytes) lies outside memory: the "
                               "boot loader is broken; boot LHV with GRUB 2 or QEMU");
    mbi()->mmap_addr = 0xffffff00;
    failed_with(read_memory(), "the memory map (0xffffff00");
    mbi()->mmap_addr = MMAP_ADDR;
    mbi()->mmap_length = 0xffffffff;
    failed_with(read_memory(), "the memory map (0x4000, 4294967295 bytes) lies outside memory");
}

static void test_mmap_limit(void **state)
{
    u32 i;

    (void)state;
    add_module(MOD0_START, MOD0_END, NULL);
    for (i = 0; i < LHV_MMAP_MAX; i++)
        add_mmap(i * 0x1000ULL, 0x1000, i % 2 ? U : R);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, LHV_MMAP_MAX);
    entry_is(LHV_MMAP_MAX - 1, (LHV_MMAP_MAX - 1) * 0x1000ULL, 0x1000, U);
    add_mmap(0x200000, 0x1000, U);
    assert_int_equal(read_memory(), -1);
    assert_string_equal(err, "memory map has more than 128 entries: LHV cannot hold it; raise "
                             "LHV_MMAP_MAX in xmhf/include/boot_params.h and rebuild");
}

/* Without a full map, mem_lower and mem_upper make one. */
static void test_mem_lower_upper(void **state)
{
    (void)state;
    add_module(MOD0_START, MOD0_END, NULL);
    mbi()->flags |= MBI_MEMORY;
    mbi()->mem_lower = 639;
    mbi()->mem_upper = 523136;
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 2);
    entry_is(0, 0, 639 * 1024, U);
    entry_is(1, 0x100000, 523136ULL * 1024, U);
    assert_int_equal(check_target(BASE, SPAN), 0);
    assert_int_equal(check_target(0x1fee0000, 0x100000), 0); /* up to 1 MiB + mem_upper */
    failed_with(check_target(0x1fee0000, 0x100001), "not enough RAM");
}

/* The full map wins, even when it is empty (the runtime's boot/params
 * check compares the two). */
static void test_mmap_preferred(void **state)
{
    (void)state;
    qemu_512m_map();
    mbi()->mem_upper = 1024;
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.mmap_count, 6);
    entry_is(3, 0x100000, 0x1fee0000, U);
    mbi()->mmap_length = 0;
    failed_with(read_memory(), "the boot loader gave no memory map");
}

static void test_no_map(void **state)
{
    (void)state;
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), -1);
    assert_string_equal(err, "the boot loader gave no memory map: boot LHV with GRUB 2 or QEMU");
    mbi()->flags |= MBI_MMAP; /* a map of length 0, no fallback */
    failed_with(read_memory(), "no memory map");
}

/* --- bootinfo_read_memory: modules --------------------------------------- */

static void test_no_module(void **state)
{
    (void)state;
    qemu_512m_map();
    assert_int_equal(read_memory(), -1);
    assert_string_equal(err, "no module: module 0 must be the hypervisor image; add "
                             "'module /boot/hypervisor-x86-amd64.bin.gz' to the GRUB entry or "
                             "'-initrd hypervisor-x86-amd64.bin' to QEMU");
    mbi()->flags |= MBI_MODS; /* the flag with a count of 0 */
    params.subarch = LHV_SUBARCH_I386;
    failed_with(read_memory(), "no module: module 0 must be the hypervisor image; add "
                               "'module /boot/hypervisor-x86-i386.bin.gz'");
    assert_int_equal(params.module_count, 0);
}

static void test_modules(void **state)
{
    char longer[200];

    (void)state;
    memset(longer, 'm', sizeof(longer));
    longer[sizeof(longer) - 1] = '\0';
    grub_boot();
    add_module(MEM_SIZE, MEM_SIZE, longer); /* empty, at the end of memory */
    add_module(0x18000, 0x19000, NULL);
    assert_int_equal(read_all(), 0);
    assert_int_equal(params.module_count, 3);
    assert_true(params.modules[1].start == MEM_SIZE && params.modules[1].end == MEM_SIZE);
    assert_int_equal(strlen(params.modules[1].string), LHV_MODSTR_MAX - 1); /* cut */
    assert_true(params.modules[2].start == 0x18000 && params.modules[2].end == 0x19000);
    assert_string_equal(params.modules[2].string, "");
}

static void test_module_limit(void **state)
{
    u32 i;

    (void)state;
    qemu_512m_map();
    for (i = 0; i < LHV_MODULES_MAX; i++)
        add_module(MOD0_START + i * 0x100, MOD0_START + (i + 1) * 0x100, "m");
    assert_int_equal(read_memory(), 0);
    assert_int_equal(params.module_count, LHV_MODULES_MAX);
    add_module(0x19000, 0x19100, NULL);
    assert_int_equal(read_memory(), -1);
    assert_string_equal(err, "17 modules: LHV takes at most 16; drop the extra modules from the "
                             "boot entry");
    assert_int_equal(params.module_count, 0);
}

static void test_module_ends_before_start(void **state)
{
    (void)state;
    qemu_512m_map();
    add_module(MOD0_START, MOD0_END, NULL);
    add_module(0x19000, 0x18fff, NULL);
    assert_int_equal(read_memory(), -1);
    assert_string_equal(err, "module 1 ends (0x18fff) before it starts (0x19000): the boot loader "
                             "is broken; boot LHV with GRUB 2 or QEMU");
}

static void test_modules_outside(void **state)
{
    (void)state;
    qemu_512m_map();
    add_module(MOD0_START, MEM_SIZE + 1, NULL);
    failed_with(read_memory(), "module 0 (0x10000-0x20001) lies outside memory");
    mbi()->mods_count = 0;
    add_module(MOD0_START, MOD0_END, "x");
    *(u32 *)(buf + MODS_ADDR + 8) = MEM_SIZE;
    failed_with(read_memory(), "the string of module 0 at 0x20000 does not end inside memory");
    mbi()->mods_addr = MEM_SIZE - 15;
    failed_with(read_memory(), "the module list (0x1fff1, 16 bytes) lies outside memory");
    mbi()->mods_addr = 0xfffffff0;
    mbi()->mods_count = 16;
    failed_with(read_memory(), "the module list (0xfffffff0, 256 bytes) lies outside memory");
}

/* --- bootinfo_check_target ------------------------------------------------ */

static void test_no_ram_at_target(void **state)
{
    (void)state;
    add_mmap(0, 0x9fc00, U);
    add_mmap(0x100000, 0x7f00000, U); /* 128 MiB */
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(check_target(BASE, SPAN), -1);
    assert_string_equal(err, "not enough RAM: LHV needs usable RAM at 0x10000000-0x101fffff "
                             "(2048 KiB at its base, 258 MiB in all); give the machine more "
                             "memory or rebuild with a lower --sl-base");
}

/* Usable RAM in pieces, unsorted, counts; a reserved entry over it or a
 * hole in it does not. */
static void test_target_in_unsorted_overlapping_map(void **state)
{
    (void)state;
    add_mmap(BASE + 0x100000, 0x100000, U);
    add_mmap(0, 0x9fc00, U);
    add_mmap(BASE, 0x180000, U); /* overlaps the first */
    add_module(MOD0_START, MOD0_END, NULL);
    assert_int_equal(read_memory(), 0);
    assert_int_equal(check_target(BASE, SPAN), 0);
    failed_with(check_target(BASE, SPAN + 1), "not enough RAM");
    failed_with(check_target(BASE - 1, SPAN), "not enough RAM");

    add_mmap(BASE + 0x1ff000, 0x10, R); /* reserved over usable */
    assert_int_equal(read_memory(), 0);
    failed_with(check_target(BASE, SPAN), "not enough RAM");
    assert_int_equal(check_target(BASE, 0x1ff000), 0);

    mbi()->mmap_length = 0;
    add_mmap(BASE, 0x100000, U);
    add_mmap(BASE + 0x101000, 0x100000, U); /* a 4 KiB hole */
    assert_int_equal(read_memory(), 0);
    failed_with(check_target(BASE, SPAN), "not enough RAM");
}

/* Each thing the loader gave must lie outside the span. */
static void test_target_clear_of_loader_data(void **state)
{
    (void)state;
    grub_boot();
    add_module(0x19000, 0x1a000, "second");
    assert_int_equal(read_all(), 0);
    assert_int_equal(check_target(0, 0x1000), 0);
    failed_with(check_target(0x1000, 0x1000), "the multiboot info (0x1000-0x105f) lies in LHV's "
                                              "target span 0x1000-0x1fff: rebuild with another "
                                              "--sl-base");
    failed_with(check_target(0x1060, MODS_ADDR - 0x1060 + 1),
                "the module list (0x1400-0x141f) lies in");
    assert_int_equal(check_target(0x1060, MODS_ADDR - 0x1060), 0);
    failed_with(check_target(MMAP_ADDR + 6 * 24 - 1, 1), "the memory map (0x4000-0x408f)");
    assert_int_equal(check_target(MMAP_ADDR + 6 * 24, 0x100), 0);
    /* The command line with its NUL */
    u32 nul = CMDLINE_ADDR + strlen("serial=115200,8n1,0x3f8 boot_drive=0x80");
    failed_with(check_target(nul, 1), "the command line (0x8000-0x8027)");
    assert_int_equal(check_target(nul + 1, 0x100), 0);
    failed_with(check_target(0x19fff, 0x1000), "module 1 (0x19000-0x19fff) lies in");
    failed_with(check_target(INIT_END - 1, SPAN), "init (0x100000-0x10ffff) lies in");
    assert_int_equal(check_target(INIT_END, 0x1000), 0);
}

/* Module 0 may lie in the span: init moves it with memmove. */
static void test_target_over_module0(void **state)
{
    (void)state;
    grub_boot();
    assert_int_equal(read_all(), 0);
    assert_int_equal(check_target(MOD0_START + 0x1000, 0x20000), 0);
}

/* Without the flags, the map and the command line are not the loader's. */
static void test_target_unflagged_fields(void **state)
{
    (void)state;
    add_mmap(0, 0x9fc00, U);
    add_module(MOD0_START, MOD0_END, NULL);
    mbi()->cmdline = CMDLINE_ADDR;
    assert_int_equal(read_memory(), 0);
    mbi()->flags &= ~MBI_MMAP;
    mbi()->flags |= MBI_MEMORY;
    mbi()->mem_lower = 639;
    assert_int_equal(read_memory(), 0);
    assert_int_equal(check_target(MMAP_ADDR, 0x4100), 0);
}

static void test_target_pointers_outside(void **state)
{
    (void)state;
    grub_boot();
    assert_int_equal(read_all(), 0);
    mbi()->cmdline = MEM_SIZE;
    failed_with(check_target(BASE, SPAN), "the command line at 0x20000 does not end");
    failed_with(bootinfo_check_target(&mem, MEM_SIZE, &params, BASE, SPAN, INIT_START, INIT_END,
                                      err, sizeof(err)),
                "the multiboot info (0x20000, 96 bytes) lies outside memory");
}

/* Random bytes for memory: whatever the loader structures say, every call
 * returns 0 or -1 with one line, and ASan sees no read outside the buffer. */
static void test_random_memory(void **state)
{
    u32 round, i, addr;

    (void)state;
    srandom(1);
    for (round = 0; round < 1000; round++) {
        for (i = 0; i < MEM_SIZE; i += 4) {
            u32 r = (u32)random();
            memcpy(buf + i, &r, 4);
        }
        addr = (u32)random() % (MEM_SIZE + 0x100);
        if (round % 2) { /* plausible pointers: inside the buffer */
            mbi()->flags = (u32)random();
            mbi()->cmdline = (u32)random() % MEM_SIZE;
            mbi()->boot_loader_name = (u32)random() % MEM_SIZE;
            mbi()->mods_count = (u32)random() % 20;
            mbi()->mods_addr = (u32)random() % MEM_SIZE;
            mbi()->mmap_addr = (u32)random() % MEM_SIZE;
            mbi()->mmap_length = (u32)random() % 0x1000;
            addr = MBI_ADDR;
        }
        err[0] = '\0';
        int rc = bootinfo_read_options(&mem, MULTIBOOT_BOOTLOADER_MAGIC, addr, &params, &opts,
                                       err, sizeof(err));
        if (rc == 0)
            rc = bootinfo_read_memory(&mem, addr, &params, err, sizeof(err));
        if (rc == 0)
            rc = bootinfo_check_target(&mem, addr, &params, (u32)random(), (u32)random(),
                                       INIT_START, INIT_END, err, sizeof(err));
        assert_true(rc == 0 || rc == -1);
        if (rc)
            assert_true(strlen(err) > 0 && !strchr(err, '\n'));
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_grub),
        T(test_qemu_skips_path),
        T(test_qemu_no_append),
        T(test_path_kept_for_other_loaders),
        T(test_bare_mbi),
        T(test_boot_drive),
        T(test_magic),
        T(test_cmdline_limit),
        T(test_cmdline_limit_qemu),
        T(test_unknown_option),
        T(test_option_message_cut),
        T(test_options_pointers_outside),
        T(test_mbi_at_end_of_memory),
        T(test_mmap_unsorted_overlapping),
        T(test_mmap_entry_sizes),
        T(test_mmap_entry_too_small),
        T(test_mmap_tail_ignored),
        T(test_mmap_outside),
        T(test_mmap_limit),
        T(test_mem_lower_upper),
        T(test_mmap_preferred),
        T(test_no_map),
        T(test_no_module),
        T(test_modules),
        T(test_module_limit),
        T(test_module_ends_before_start),
        T(test_modules_outside),
        T(test_no_ram_at_target),
        T(test_target_in_unsorted_overlapping_map),
        T(test_target_clear_of_loader_data),
        T(test_target_over_module0),
        T(test_target_unflagged_fields),
        T(test_target_pointers_outside),
        T(test_random_memory),
    };
#undef T

    return cmocka_run_group_tests(tests, NULL, NULL);
}
