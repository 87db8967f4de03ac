/* Host tests for the multiboot2 reader in xmhf/lib/bootinfo.c (GRUB's EFI
 * build boots LHV with multiboot2). Each test builds a fake multiboot2
 * information block in a heap buffer that stands for physical memory from
 * address 0, so AddressSanitizer catches any read past what the tags allow. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "bootinfo.h"
#include "image.h"
#include "multiboot2.h"

#define MEM_SIZE 0x20000u
#define INFO 0x1000u       /* the information block: up to 0x8000 bytes */
#define MOD0_START 0x10000u
#define MOD0_END 0x18000u
#define MOD1_START 0x18000u
#define MOD1_END 0x19000u
#define INIT_START 0x100000u
#define INIT_END 0x110000u
#define BASE 0x10000000u
#define SPAN 0x200000u

static u8 *buf;
static struct phys_mem mem;
static struct lhv_boot_params params;
static struct lhv_options opts;
static char err[512];
static u32 fill; /* bytes of the block written so far (header included) */

static int setup(void **state)
{
    (void)state;
    buf = malloc(MEM_SIZE);
    assert_non_null(buf);
    memset(buf, 0, MEM_SIZE);
    mem = (struct phys_mem){ .base = buf, .size = MEM_SIZE };
    memset(&params, 0xa5, sizeof(params));
    params.subarch = LHV_SUBARCH_AMD64;
    params.acpi_rsdp = 0;
    memset(&opts, 0xa5, sizeof(opts));
    fill = sizeof(struct mb2_info_header);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(buf);
    return 0;
}

/* Appends a tag of the given type whose data is len bytes; returns the
 * tag's address. Tags start 8-byte aligned. */
static u32 add_tag(u32 type, const void *data, u32 len)
{
    u32 at = INFO + fill;
    struct mb2_tag t = { .type = type, .size = (u32)sizeof(t) + len };

    memcpy(buf + at, &t, sizeof(t));
    if (len)
        memcpy(buf + at + sizeof(t), data, len);
    fill += (t.size + 7) & ~7u;
    return at;
}

static void add_string_tag(u32 type, const char *s) { add_tag(type, s, (u32)strlen(s) + 1); }

static void add_module(u32 start, u32 end, const char *s)
{
    u8 data[256];
    u32 n = (u32)strlen(s) + 1;

    memcpy(data, &start, 4);
    memcpy(data + 4, &end, 4);
    memcpy(data + 8, s, n);
    add_tag(MB2_TAG_MODULE, data, 8 + n);
}

/* A memory map tag of n entries of entry_size bytes (24 in the usual case;
 * bytes past the 24 defined ones are junk). */
static void add_map_sized(u32 entry_size, const struct mb2_mmap_entry *e, u32 n)
{
    u8 data[1024];
    u32 version = 0;

    memcpy(data, &entry_size, 4);
    memcpy(data + 4, &version, 4);
    memset(data + 8, 0xee, n * entry_size);
    for (u32 i = 0; i < n; i++)
        memcpy(data + 8 + i * entry_size, &e[i], entry_size < sizeof(*e) ? entry_size : sizeof(*e));
    add_tag(MB2_TAG_MMAP, data, 8 + n * entry_size);
}

static const struct mb2_mmap_entry ovmf_map[] = {
    { 0, 0xa0000, 1, 0 },
    { 0x100000, 0x700000, 1, 0 },
    { 0x800000, 0x8000, 4, 0 },
    { 0x900000, 0x1f000000, 1, 0 },
    { 0x1fb6d000, 0x12000, 3, 0 },
    { 0x1fb80000, 0x1000, 5, 0 },
    { 0x1fb81000, 0x1000, 7, 0 }, /* persistent memory: LHV calls it reserved */
    { 0xffc00000, 0x400000, 2, 0 },
};

/* An RSDP copy: 20 bytes (ACPI 1.0) or 36 (2.0+); the reader only takes its
 * address, acpi_parse checks it. */
static u32 add_rsdp(u32 type, u32 len)
{
    u8 rsdp[36];

    memset(rsdp, 0, sizeof(rsdp));
    memcpy(rsdp, "RSD PTR ", 8);
    rsdp[15] = type == MB2_TAG_ACPI_NEW ? 2 : 0;
    return add_tag(type, rsdp, len);
}

/* Ends the block: the end tag and total_size. */
static void finish(void)
{
    struct mb2_info_header h;

    add_tag(MB2_TAG_END, NULL, 0);
    h = (struct mb2_info_header){ .total_size = fill, .reserved = 0 };
    memcpy(buf + INFO, &h, sizeof(h));
}

/* What GRUB EFI gives: loader, cmdline, modules, map, both RSDPs. */
static void grub_efi_info(void)
{
    add_string_tag(MB2_TAG_CMDLINE, "serial=115200,8n1,0x2f8 lhv.cpus=2 quiet");
    add_string_tag(MB2_TAG_LOADER_NAME, "GRUB 2.06-13+deb12u2");
    add_module(MOD0_START, MOD0_END, "/boot/hypervisor-x86-amd64.bin.gz");
    add_module(MOD1_START, MOD1_END, "extra");
    add_map_sized(24, ovmf_map, 8);
}

static int read_all(void)
{
    if (bootinfo_read_options(&mem, MULTIBOOT2_BOOTLOADER_MAGIC, INFO, &params, &opts, err,
                              sizeof(err)))
        return -1;
    return bootinfo_read_memory(&mem, INFO, &params, err, sizeof(err));
}

static void refused(const char *needle)
{
    err[0] = '\0';
    assert_int_equal(read_all(), -1);
    if (!strstr(err, needle))
        fail_msg("message \"%s\" lacks \"%s\"", err, needle);
}

static void test_grub_efi(void **state)
{
    (void)state;
    grub_efi_info();
    u32 old = add_rsdp(MB2_TAG_ACPI_OLD, 20);
    u32 new = add_rsdp(MB2_TAG_ACPI_NEW, 36);
    (void)old;
    finish();
    assert_int_equal(read_all(), 0);
    assert_int_equal(params.multiboot_version, 2);
    assert_int_equal(params.multiboot_info, INFO);
    assert_int_equal(params.multiboot_flags, fill);
    assert_string_equal(params.loader_name, "GRUB 2.06-13+deb12u2");
    assert_string_equal(params.cmdline, "serial=115200,8n1,0x2f8 lhv.cpus=2 quiet");
    assert_int_equal(opts.serial.port, 0x2f8);
    assert_int_equal(opts.cpus, 2);
    assert_int_equal(params.boot_drive, 0xffffffffu);
    assert_int_equal(params.acpi_rsdp, new + 8); /* the 2.0+ copy wins */
    assert_int_equal(params.mmap_count, 8);
    const u32 types[] = { 1, 1, 4, 1, 3, 5, 2, 2 };
    for (u32 i = 0; i < 8; i++) {
        assert_int_equal(params.mmap[i].base, ovmf_map[i].base_addr);
        assert_int_equal(params.mmap[i].length, ovmf_map[i].length);
        assert_int_equal(params.mmap[i].type, types[i]);
    }
    assert_int_equal(params.module_count, 2);
    assert_int_equal(params.modules[0].start, MOD0_START);
    assert_int_equal(params.modules[0].end, MOD0_END);
    assert_string_equal(params.modules[0].string, "/boot/hypervisor-x86-amd64.bin.gz");
    assert_string_equal(params.modules[1].string, "extra");
    assert_int_equal(bootinfo_check_target(&mem, INFO, &params, BASE, SPAN, INIT_START,
                                           INIT_END, err, sizeof(err)), 0);
}

static void test_rsdp_choice(void **state)
{
    (void)state;
    grub_efi_info();
    u32 old = add_rsdp(MB2_TAG_ACPI_OLD, 20);
    finish();
    assert_int_equal(read_all(), 0);
    assert_int_equal(params.acpi_rsdp, old + 8);
}

static void test_no_rsdp(void **state)
{
    (void)state;
    grub_efi_info();
    finish();
    assert_int_equal(read_all(), 0);
    assert_int_equal(params.acpi_rsdp, 0);
}

static void test_short_rsdp(void **state)
{
    (void)state;
    grub_efi_info();
    add_rsdp(MB2_TAG_ACPI_NEW, 20); /* a 2.0 tag with a 1.0-sized copy */
    finish();
    refused("holds 20 bytes, an RSDP needs 36");
}

static void test_minimal(void **state)
{
    u32 basic[2] = { 639, 0x7fc00 };

    (void)state;
    /* no loader name, no command line, no map: the basic memory info */
    add_tag(MB2_TAG_BASIC_MEMINFO, basic, 8);
    add_module(MOD0_START, MOD0_END, "");
    finish();
    assert_int_equal(read_all(), 0);
    assert_string_equal(params.loader_name, "");
    assert_string_equal(params.cmdline, "");
    assert_int_equal(params.mmap_count, 2);
    assert_int_equal(params.mmap[1].base, 0x100000);
    assert_int_equal(params.mmap[1].length, 0x7fc00ull << 10);
    assert_string_equal(params.modules[0].string, "");
}

static void test_qemu_loader_skips_path(void **state)
{
    u32 dev[3] = { 0x80, 0xffffffffu, 0xffffffffu };

    (void)state;
    add_string_tag(MB2_TAG_LOADER_NAME, "qemu");
    add_string_tag(MB2_TAG_CMDLINE, "/init lhv.e9=1");
    add_tag(MB2_TAG_BOOTDEV, dev, sizeof(dev));
    add_module(MOD0_START, MOD0_END, "m");
    add_map_sized(24, ovmf_map, 2);
    finish();
    assert_int_equal(read_all(), 0);
    assert_string_equal(params.cmdline, "lhv.e9=1");
    assert_true(opts.e9);
    assert_int_equal(params.boot_drive, 0x80);
}

static void test_bad_magic(void **state)
{
    (void)state;
    grub_efi_info();
    finish();
    assert_int_equal(bootinfo_read_options(&mem, 0x12345678, INFO, &params, &opts, err,
                                           sizeof(err)), -1);
    assert_non_null(strstr(err, "EAX=0x12345678"));
    assert_non_null(strstr(err, "multiboot2"));
}

static void test_block_checks(void **state)
{
    (void)state;
    grub_efi_info();
    finish();
    assert_int_equal(bootinfo_read_options(&mem, MULTIBOOT2_BOOTLOADER_MAGIC, INFO + 4, &params,
                                           &opts, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not 8-byte aligned"));
    assert_int_equal(bootinfo_read_options(&mem, MULTIBOOT2_BOOTLOADER_MAGIC, MEM_SIZE, &params,
                                           &opts, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "lies outside memory"));
    ((struct mb2_info_header *)(buf + INFO))->total_size = 8;
    refused("total_size 8, less than 16");
    ((struct mb2_info_header *)(buf + INFO))->total_size = MEM_SIZE;
    refused("lies outside memory");
}

static void test_no_end_tag(void **state)
{
    (void)state;
    grub_efi_info();
    struct mb2_info_header h = { .total_size = fill, .reserved = 0 };
    memcpy(buf + INFO, &h, sizeof(h)); /* ends right after the map: no end tag */
    refused("without an end tag");
}

static void test_tag_too_big(void **state)
{
    (void)state;
    u32 at = INFO + fill;
    grub_efi_info();
    finish();
    ((struct mb2_tag *)(buf + at))->size = fill; /* reaches past the block */
    refused("outside its information block");
    ((struct mb2_tag *)(buf + at))->size = 4;
    refused("has size 4");
}

static void test_unterminated_strings(void **state)
{
    (void)state;
    add_tag(MB2_TAG_CMDLINE, "lhv.cpus=2", 10); /* no NUL inside the tag */
    finish();
    refused("command line in the multiboot2 tag");

    teardown(state);
    setup(state);
    add_tag(MB2_TAG_LOADER_NAME, "GRUB", 4);
    finish();
    refused("boot loader name in the multiboot2 tag");

    teardown(state);
    setup(state);
    u8 m[12] = { 0 };
    memcpy(m + 8, "abcd", 4);
    add_map_sized(24, ovmf_map, 2);
    add_tag(MB2_TAG_MODULE, m, sizeof(m));
    finish();
    refused("the string of module 0");
}

static void test_bad_modules(void **state)
{
    (void)state;
    add_map_sized(24, ovmf_map, 2);
    add_module(MOD0_END, MOD0_START, "backwards");
    finish();
    refused("module 0 ends (0x10000) before it starts (0x18000)");

    teardown(state);
    setup(state);
    add_map_sized(24, ovmf_map, 2);
    add_module(MOD0_START, MEM_SIZE + 1, "big");
    finish();
    refused("module 0 (0x10000-0x20001) lies outside memory");

    teardown(state);
    setup(state);
    add_map_sized(24, ovmf_map, 2);
    add_tag(MB2_TAG_MODULE, "\0\0\0\0", 4);
    finish();
    refused("module tag at");

    teardown(state);
    setup(state);
    add_map_sized(24, ovmf_map, 2);
    for (u32 i = 0; i <= LHV_MODULES_MAX; i++)
        add_module(MOD0_START, MOD0_END, "m");
    finish();
    refused("more than 16 modules");

    teardown(state);
    setup(state);
    add_map_sized(24, ovmf_map, 2);
    finish();
    refused("'module2 /boot/hypervisor-x86-amd64.bin.gz'");
}

static void test_bad_map(void **state)
{
    (void)state;
    add_map_sized(20, ovmf_map, 2);
    add_module(MOD0_START, MOD0_END, "m");
    finish();
    refused("entry_size 20");

    teardown(state);
    setup(state);
    add_map_sized(28, ovmf_map, 2);
    add_module(MOD0_START, MOD0_END, "m");
    finish();
    refused("entry_size 28");

    teardown(state);
    setup(state);
    add_tag(MB2_TAG_MMAP, "\x18\0\0", 4);
    add_module(MOD0_START, MOD0_END, "m");
    finish();
    refused("memory map tag at");

    teardown(state);
    setup(state);
    add_module(MOD0_START, MOD0_END, "m");
    finish();
    refused("gave no memory map");
}

static void test_wide_entries_and_tail(void **state)
{
    u8 data[8 + 2 * 32 + 8];
    u32 entry_size = 32, version = 0;

    (void)state;
    /* entries of 32 bytes (a future version), and 8 bytes at the end too
     * few for another entry: ignored */
    memset(data, 0xee, sizeof(data));
    memcpy(data, &entry_size, 4);
    memcpy(data + 4, &version, 4);
    memcpy(data + 8, &ovmf_map[0], 24);
    memcpy(data + 40, &ovmf_map[1], 24);
    add_tag(MB2_TAG_MMAP, data, sizeof(data));
    add_module(MOD0_START, MOD0_END, "m");
    finish();
    assert_int_equal(read_all(), 0);
    assert_int_equal(params.mmap_count, 2);
    assert_int_equal(params.mmap[1].base, 0x100000);
}

static void test_target_clear_of_block(void **state)
{
    const struct mb2_mmap_entry low[] = { { 0, 0x100000, 1, 0 } };

    (void)state;
    add_map_sized(24, low, 1);
    add_module(MOD0_START, MOD0_END, "m0");
    add_module(MOD1_START, MOD1_END, "m1");
    finish();
    assert_int_equal(read_all(), 0);
    assert_int_equal(bootinfo_check_target(&mem, INFO, &params, 0x0, 0x2000, INIT_START,
                                           INIT_END, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "the multiboot2 information"));
    assert_int_equal(bootinfo_check_target(&mem, INFO, &params, MOD1_START, 0x1000, INIT_START,
                                           INIT_END, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "module 1"));
    /* module 0 may lie in the target: init moves it */
    assert_int_equal(bootinfo_check_target(&mem, INFO, &params, MOD0_START, 0x8000, INIT_START,
                                           INIT_END, err, sizeof(err)), 0);
    assert_int_equal(bootinfo_check_target(&mem, INFO, &params, 0x200000, 0x1000, INIT_START,
                                           INIT_END, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not enough RAM"));
}

/* Random blocks: any answer is fine, a read outside the buffer is not. */
static void test_random_blocks(void **state)
{
    (void)state;
    srand(9);
    for (int round = 0; round < 2000; round++) {
        u32 total = 16 + (u32)(rand() % 0x400);
        for (u32 i = 0; i < total; i++)
            buf[INFO + i] = (u8)rand();
        /* mostly small sizes and types, so some walks go deep */
        for (u32 at = INFO + 8; at + 8 <= INFO + total; at += 8 * (1 + rand() % 4)) {
            u32 type = (u32)(rand() % 16), size = (u32)(rand() % 64);
            memcpy(buf + at, &type, 4);
            memcpy(buf + at + 4, &size, 4);
        }
        memcpy(buf + INFO, &total, 4);
        if (read_all() == 0)
            bootinfo_check_target(&mem, INFO, &params, BASE, SPAN, INIT_START, INIT_END, err,
                                  sizeof(err));
    }
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_grub_efi),
        T(test_rsdp_choice),
        T(test_no_rsdp),
        T(test_short_rsdp),
        T(test_minimal),
        T(test_qemu_loader_skips_path),
        T(test_bad_magic),
        T(test_block_checks),
        T(test_no_end_tag),
        T(test_tag_too_big),
        T(test_unterminated_strings),
        T(test_bad_modules),
        T(test_bad_map),
        T(test_wide_entries_and_tail),
        T(test_target_clear_of_block),
        T(test_random_blocks),
    };
    return cmocka_run_group_tests_name("bootinfo_mb2", tests, NULL, NULL);
}
