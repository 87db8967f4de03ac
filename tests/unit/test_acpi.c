/* Host tests for xmhf/lib/acpi.c: the RSDP search and the table reader, on
 * ACPI tables captured from QEMU 7.2 (pc, q35) and Bochs 2.7 (see
 * tests/unit/data/README.md), then on corrupted and hand-made tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "acpi.h"
#include "string.h"

/* --- captured memory ------------------------------------------------------ */

/* A machine's physical memory: all zero but for the captured ranges. */
static u8 *mem;
static struct phys_mem pm;
static struct acpi_info info;
static char msg[256];

/* Path of a data file: tests/unit/data/ next to this source (the tests run
 * from the tree root, where __FILE__ is relative to). */
static void data_path(char *buf, size_t size, const char *name)
{
    const char *slash = strrchr(__FILE__, '/');
    int dir = slash ? (int)(slash - __FILE__) + 1 : 0;

    snprintf(buf, size, "%.*sdata/%s", dir, __FILE__, name);
}

static u64 le(const u8 *p, int n)
{
    u64 v = 0;

    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* Loads a capture: "LHVACPI1", the memory size (u64), then records of
 * address (u64), length (u64) and that many bytes. */
static void load(const char *name)
{
    char path[512];
    u8 hdr[16], rec[16];
    FILE *f;

    data_path(path, sizeof(path), name);
    f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (run the tests from the tree root)", path);
    assert_int_equal(fread(hdr, 1, 16, f), 16);
    assert_memory_equal(hdr, "LHVACPI1", 8);
    pm.size = le(hdr + 8, 8);
    assert_true(pm.size >= 0x100000 && pm.size <= 0x10000000);
    mem = calloc(1, pm.size);
    assert_non_null(mem);
    pm.base = mem;
    while (fread(rec, 1, 16, f) == 16) {
        u64 addr = le(rec, 8), len = le(rec + 8, 8);
        assert_true(addr <= pm.size && len <= pm.size - addr);
        assert_int_equal(fread(mem + addr, 1, len, f), len);
    }
    assert_true(feof(f));
    fclose(f);
}

static int setup_qemu_pc(void **state) { (void)state; load("acpi-qemu-pc-smp4.acpi"); return 0; }
static int setup_qemu_q35(void **state) { (void)state; load("acpi-qemu-q35-smp4.acpi"); return 0; }
static int setup_qemu_hotplug(void **state) { (void)state; load("acpi-qemu-pc-smp2-max4.acpi"); return 0; }
static int setup_bochs(void **state) { (void)state; load("acpi-bochs-smp4.acpi"); return 0; }

static int teardown(void **state)
{
    (void)state;
    free(mem);
    mem = NULL;
    return 0;
}

/* --- editing the tables ---------------------------------------------------- */

static u32 rd32(u64 a) { return (u32)le(mem + a, 4); }

static void wr(u64 a, u64 v, int n)
{
    for (int i = 0; i < n; i++)
        mem[a + i] = (u8)(v >> (8 * i));
}

/* Makes the table at a sum to 0 again. */
static void fix_checksum(u64 a)
{
    u8 sum = 0;

    mem[a + 9] = 0;
    for (u32 i = 0; i < rd32(a + 4); i++)
        sum = (u8)(sum + mem[a + i]);
    mem[a + 9] = (u8)-sum;
}

static u64 rsdp_addr(void)
{
    u64 r = acpi_find_rsdp(&pm);

    assert_int_not_equal(r, 0);
    return r;
}

static u64 rsdt_addr(void) { return rd32(rsdp_addr() + 16); }

/* Address of the table with signature sig in the RSDT (0: none). */
static u64 find_table(const char *sig)
{
    u64 rsdt = rsdt_addr();

    for (u32 off = 36; off < rd32(rsdt + 4); off += 4)
        if (memcmp(mem + rd32(rsdt + off), sig, 4) == 0)
            return rd32(rsdt + off);
    return 0;
}

/* Points the RSDT entry holding old at new instead. */
static void rsdt_replace(u64 old, u64 new)
{
    u64 rsdt = rsdt_addr();

    for (u32 off = 36; off < rd32(rsdt + 4); off += 4) {
        if (rd32(rsdt + off) == old) {
            wr(rsdt + off, new, 4);
            fix_checksum(rsdt);
            return;
        }
    }
    fail_msg("0x%llx is not in the RSDT", (unsigned long long)old);
}

/* Writes a table with signature sig and body body[0..n) at a, checksummed;
 * returns a. */
static u64 make_table(u64 a, const char *sig, const void *body, u32 n)
{
    memset(mem + a, 0, 36);
    memcpy(mem + a, sig, 4);
    wr(a + 4, 36 + n, 4);
    mem[a + 8] = 1;
    memcpy(mem + a + 10, "LHVTST", 6);
    memcpy(mem + a + 36, body, n);
    fix_checksum(a);
    return a;
}

/* Free memory in every capture (they are all 32 MiB machines with the
 * tables near the top). */
#define SCRATCH 0x200000u

static int parse(void)
{
    memset(msg, 'X', sizeof(msg));
    int rc = acpi_parse(&pm, rsdp_addr(), &info, msg, sizeof(msg));
    assert_true(strnlen(msg, sizeof(msg)) < sizeof(msg));
    assert_null(strchr(msg, '\n'));
    if (rc == 0)
        assert_string_equal(msg, "");
    else
        assert_true(strlen(msg) > 10);
    return rc;
}

#define assert_msg_has(s)                                                          \
    do {                                                                           \
        if (!strstr(msg, (s)))                                                     \
            fail_msg("message \"%s\" lacks \"%s\"", msg, (s));                     \
    } while (0)

/* --- the captures as they are --------------------------------------------- */

static void check_qemu_madt(u32 ncpus, u32 disabled)
{
    assert_true(info.have_madt);
    assert_int_equal(info.lapic_address, 0xfee00000);
    assert_int_equal(info.madt_flags, 1); /* PCAT_COMPAT */
    assert_int_equal(info.ncpus, ncpus);
    for (u32 i = 0; i < ncpus; i++) {
        assert_int_equal(info.cpus[i].apic_id, i);
        assert_int_equal(info.cpus[i].uid, i);
        assert_int_equal(info.cpus[i].entry, ACPI_MADT_ENTRY_LAPIC);
    }
    assert_int_equal(info.cpus_disabled, disabled);
    assert_int_equal(info.cpus_online_capable, 0);
    assert_int_equal(info.cpus_dropped, 0);
    assert_int_equal(info.nioapics, 1);
    assert_int_equal(info.ioapics[0].id, 0);
    assert_int_equal(info.ioapics[0].address, 0xfec00000);
    assert_int_equal(info.ioapics[0].gsi_base, 0);
    /* IRQ0 -> GSI 2 (bus default flags); PCI IRQs 5, 9, 10, 11 level, high */
    assert_int_equal(info.noverrides, 5);
    static const u8 irqs[] = { 0, 5, 9, 10, 11 };
    for (u32 i = 0; i < 5; i++) {
        assert_int_equal(info.overrides[i].bus, 0);
        assert_int_equal(info.overrides[i].source, irqs[i]);
        assert_int_equal(info.overrides[i].gsi, i ? irqs[i] : 2);
        assert_int_equal(info.overrides[i].flags, i ? 0xd : 0);
    }
    u16 flags = 0xffff;
    assert_int_equal(acpi_isa_irq_gsi(&info, 0, &flags), 2);
    assert_int_equal(flags, 0);
    assert_int_equal(acpi_isa_irq_gsi(&info, 9, &flags), 9);
    assert_int_equal(flags, 0xd);
    assert_int_equal(acpi_isa_irq_gsi(&info, 4, &flags), 4);
    assert_int_equal(flags, 0);
    assert_int_equal(acpi_isa_irq_gsi(&info, 1, NULL), 1);
    /* NMI on LINT1 of every CPU */
    assert_int_equal(info.nlapic_nmis, 1);
    assert_int_equal(info.lapic_nmis[0].uid, 0xffffffffu);
    assert_int_equal(info.lapic_nmis[0].lint, 1);
    assert_int_equal(info.lapic_nmis[0].flags, 0);
    assert_int_equal(info.madt_dropped, 0);
}

static void check_qemu_fadt(void)
{
    assert_true(info.have_fadt);
    assert_int_equal(info.pm_timer_port, 0x608);
    assert_false(info.pm_timer_32bit);
    assert_int_equal(info.pm1a_evt, 0x600);
    assert_int_equal(info.pm1b_evt, 0);
    assert_int_equal(info.pm1a_cnt, 0x604);
    assert_int_equal(info.pm1b_cnt, 0);
    assert_int_equal(info.smi_cmd, 0xb2);
    assert_int_equal(info.sci_irq, 9);
    assert_true(info.have_s5);
    assert_int_equal(info.s5_slp_typ_a, 0);
    assert_int_equal(info.s5_slp_typ_b, 0);
}

static void test_qemu_pc(void **state)
{
    (void)state;
    assert_int_equal(acpi_find_rsdp(&pm), 0xf59d0);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.rsdp, 0xf59d0);
    assert_int_equal(info.rsdp_revision, 0);
    assert_false(info.xsdt);
    assert_string_equal(info.oem_id, "BOCHS ");
    assert_string_equal(info.root_oem_table_id, "BXPC    ");
    assert_int_equal(info.root, 0x1fe1bef);
    assert_int_equal(info.ntables, 4); /* FACP APIC HPET WAET */
    assert_int_equal(info.madt, 0x1fe1aff);
    check_qemu_madt(4, 0);
    assert_int_equal(info.fadt, 0x1fe1a8b);
    assert_int_equal(info.fadt_revision, 1);
    check_qemu_fadt();
    assert_int_equal(info.acpi_enable, 0xf1);
    assert_int_equal(info.acpi_disable, 0xf0);
    assert_int_equal(info.iapc_boot_arch, 0);
    assert_false(info.have_reset);
    assert_int_equal(info.dsdt, 0x1fe0040);
}

static void test_qemu_q35(void **state)
{
    (void)state;
    assert_int_equal(acpi_find_rsdp(&pm), 0xf59e0);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.rsdp_revision, 0);
    assert_false(info.xsdt);
    assert_string_equal(info.oem_id, "BOCHS ");
    assert_int_equal(info.ntables, 5); /* FACP APIC HPET MCFG WAET */
    check_qemu_madt(4, 0);
    assert_int_equal(info.fadt_revision, 3);
    check_qemu_fadt();
    assert_int_equal(info.acpi_enable, 0x02);
    assert_int_equal(info.acpi_disable, 0x03);
    assert_int_equal(info.iapc_boot_arch, 2); /* 8042 present */
    assert_true(info.have_reset);
    assert_int_equal(info.reset_reg.space_id, ACPI_GAS_IO);
    assert_int_equal(info.reset_reg.bit_width, 8);
    assert_int_equal(info.reset_reg.address, 0xcf9);
    assert_int_equal(info.reset_value, 0x0f);
    assert_int_equal(info.dsdt, 0x1fe0040);
}

/* q35's FADT has the X_ blocks: the X_PM_TMR_BLK port wins when it is in
 * I/O space, PM_TMR_BLK serves otherwise. */
static void test_qemu_q35_x_blocks(void **state)
{
    u64 fadt;

    (void)state;
    fadt = find_table("FACP");
    wr(fadt + 76, 0, 4); /* PM_TMR_BLK */
    fix_checksum(fadt);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.pm_timer_port, 0x608);

    wr(fadt + 76, 0x608, 4);
    mem[fadt + 208] = ACPI_GAS_MEMORY; /* X_PM_TMR_BLK in memory space */
    wr(fadt + 212, 0xfed00000, 8);
    fix_checksum(fadt);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.pm_timer_port, 0x608);

    wr(fadt + 76, 0, 4); /* only an MMIO timer: no port */
    mem[fadt + 112 + 1] |= 1; /* TMR_VAL_EXT */
    fix_checksum(fadt);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.pm_timer_port, 0);
    assert_true(info.pm_timer_32bit);
}

static void test_qemu_pc_hotplug(void **state)
{
    (void)state;
    assert_int_equal(parse(), ACPI_OK);
    /* -smp 2,maxcpus=4: four entries, two without the enabled flag */
    check_qemu_madt(2, 2);
    check_qemu_fadt();
}

static void test_bochs(void **state)
{
    (void)state;
    assert_int_equal(acpi_find_rsdp(&pm), 0xfa060);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.rsdp_revision, 0);
    assert_false(info.xsdt);
    assert_string_equal(info.oem_id, "BOCHS ");
    assert_string_equal(info.root_oem_table_id, "BXPCRSDT");
    assert_int_equal(info.ntables, 4); /* FACP APIC SSDT HPET */
    assert_true(info.have_madt);
    assert_int_equal(info.lapic_address, 0xfee00000);
    assert_int_equal(info.madt_flags, 1);
    assert_int_equal(info.ncpus, 4);
    for (u32 i = 0; i < 4; i++) {
        assert_int_equal(info.cpus[i].apic_id, i);
        assert_int_equal(info.cpus[i].uid, i);
    }
    assert_int_equal(info.cpus_disabled, 0);
    assert_int_equal(info.nioapics, 1);
    assert_int_equal(info.ioapics[0].id, 4); /* the first ID after the CPUs' */
    assert_int_equal(info.ioapics[0].address, 0xfec00000);
    assert_int_equal(info.noverrides, 1);
    assert_int_equal(acpi_isa_irq_gsi(&info, 0, NULL), 2);
    assert_int_equal(info.nlapic_nmis, 0);
    assert_true(info.have_fadt);
    assert_int_equal(info.fadt_revision, 1);
    assert_int_equal(info.pm_timer_port, 0xb008);
    assert_false(info.pm_timer_32bit);
    assert_int_equal(info.pm1a_evt, 0xb000);
    assert_int_equal(info.pm1a_cnt, 0xb004);
    assert_int_equal(info.pm1b_cnt, 0);
    assert_int_equal(info.smi_cmd, 0xb2);
    assert_int_equal(info.acpi_enable, 0xf1);
    assert_int_equal(info.acpi_disable, 0xf0);
    assert_int_equal(info.sci_irq, 9);
    assert_false(info.have_reset);
    assert_int_equal(info.dsdt, 0x1ff0100);
    assert_true(info.have_s5);
    assert_int_equal(info.s5_slp_typ_a, 0);
    assert_int_equal(info.s5_slp_typ_b, 0);
}

/* --- the RSDP -------------------------------------------------------------- */

static void test_rsdp_bad_checksum(void **state)
{
    (void)state;
    mem[0xf59d0 + 8]++;
    assert_int_equal(acpi_find_rsdp(&pm), 0);
    assert_int_equal(acpi_parse(&pm, 0xf59d0, &info, msg, sizeof(msg)), ACPI_E_RSDP);
    assert_string_equal(msg, "RSDP at 0xf59d0: bad checksum");
    assert_false(info.have_madt);
    assert_int_equal(acpi_parse(&pm, 0xf59e0, &info, msg, sizeof(msg)), ACPI_E_RSDP);
    assert_string_equal(msg, "RSDP at 0xf59e0: no 'RSD PTR ' signature");
    assert_int_equal(acpi_parse(&pm, pm.size - 8, &info, msg, sizeof(msg)), ACPI_E_RSDP);
    assert_msg_has("outside memory");
    /* no room for a message: still the code */
    assert_int_equal(acpi_parse(&pm, 0xf59d0, &info, NULL, 0), ACPI_E_RSDP);
}

/* Revision 2 adds a 36-byte extended checksum; the 20-byte one must hold
 * too. */
static void test_rsdp_extended_checksum(void **state)
{
    const u64 r = 0xf59d0;
    u8 sum = 0;

    (void)state;
    mem[r + 15] = 2;
    wr(r + 20, 36, 4);
    mem[r + 8] = 0;
    for (int i = 0; i < 20; i++)
        sum = (u8)(sum + mem[r + i]);
    mem[r + 8] = (u8)-sum;
    mem[r + 32] = 0x5a; /* extended checksum wrong */
    assert_int_equal(acpi_find_rsdp(&pm), 0);
    sum = 0;
    mem[r + 32] = 0;
    for (int i = 0; i < 36; i++)
        sum = (u8)(sum + mem[r + i]);
    mem[r + 32] = (u8)-sum;
    assert_int_equal(acpi_find_rsdp(&pm), r);
    /* XsdtAddress 0: the RSDT serves */
    assert_int_equal(parse(), ACPI_OK);
    assert_false(info.xsdt);
    assert_int_equal(info.rsdp_revision, 2);
    assert_int_equal(info.ncpus, 4);
}

/* The first KiB of the EBDA comes before the BIOS area, and only that KiB
 * is searched; only 16-byte boundaries count. */
static void test_rsdp_in_ebda(void **state)
{
    u64 ebda = (u64)le(mem + 0x40e, 2) << 4;

    (void)state;
    assert_int_equal(ebda, 0x9fc00);
    memcpy(mem + ebda + 0x3f0, mem + 0xf59d0, 20);
    assert_int_equal(acpi_find_rsdp(&pm), ebda + 0x3f0);
    memset(mem + ebda + 0x3f0, 0, 20);
    memcpy(mem + ebda + 0x400, mem + 0xf59d0, 20); /* just past the first KiB */
    assert_int_equal(acpi_find_rsdp(&pm), 0xf59d0);
    memcpy(mem + ebda + 0x108, mem + 0xf59d0, 20); /* not on a 16-byte boundary */
    assert_int_equal(acpi_find_rsdp(&pm), 0xf59d0);
    /* no EBDA: the BIOS area alone */
    wr(0x40e, 0, 2);
    memcpy(mem + ebda + 0x10, mem + 0xf59d0, 20);
    assert_int_equal(acpi_find_rsdp(&pm), 0xf59d0);
    /* nothing at all */
    memset(mem + 0xf59d0, 0, 20);
    assert_int_equal(acpi_find_rsdp(&pm), 0);
}

/* Memory that ends before the BIOS area: no read past its end. */
static void test_rsdp_small_memory(void **state)
{
    struct phys_mem small = { .base = mem, .size = 0xf59d0 + 19 };

    (void)state;
    assert_int_equal(acpi_find_rsdp(&small), 0);
    small.size = 0x40f; /* half the BDA word */
    assert_int_equal(acpi_find_rsdp(&small), 0);
    small.size = 0;
    assert_int_equal(acpi_find_rsdp(&small), 0);
}

/* --- root tables ------------------------------------------------------------ */

/* Turns the RSDP into revision 2 with an XSDT at SCRATCH that lists the
 * RSDT's tables; returns the XSDT's address. */
static u64 make_xsdt(void)
{
    u64 r = rsdp_addr(), rsdt = rsdt_addr();
    u32 n = (rd32(rsdt + 4) - 36) / 4;
    u8 body[64 * 8];
    u8 sum;

    for (u32 i = 0; i < n; i++) {
        memset(body + 8 * i, 0, 8);
        memcpy(body + 8 * i, mem + rsdt + 36 + 4 * i, 4);
    }
    make_table(SCRATCH, "XSDT", body, 8 * n);
    mem[r + 15] = 2;
    wr(r + 20, 36, 4);
    wr(r + 24, SCRATCH, 8);
    mem[r + 8] = mem[r + 32] = 0;
    sum = 0;
    for (int i = 0; i < 20; i++)
        sum = (u8)(sum + mem[r + i]);
    mem[r + 8] = (u8)-sum;
    sum = 0;
    for (int i = 0; i < 36; i++)
        sum = (u8)(sum + mem[r + i]);
    mem[r + 32] = (u8)-sum;
    /* the RSDT must not be read: spoil it */
    memcpy(mem + rsdt, "XXXX", 4);
    return SCRATCH;
}

static void set_xsdt_address(u64 xsdt)
{
    u64 r = rsdp_addr();
    u8 sum = 0;

    wr(r + 24, xsdt, 8);
    mem[r + 32] = 0;
    for (int i = 0; i < 36; i++)
        sum = (u8)(sum + mem[r + i]);
    mem[r + 32] = (u8)-sum;
}

static void test_xsdt(void **state)
{
    (void)state;
    make_xsdt();
    assert_int_equal(parse(), ACPI_OK);
    assert_true(info.xsdt);
    assert_int_equal(info.rsdp_revision, 2);
    assert_int_equal(info.root, SCRATCH);
    assert_string_equal(info.root_oem_table_id, "");
    check_qemu_madt(4, 0);
    check_qemu_fadt();
}

static void test_xsdt_outside_memory(void **state)
{
    (void)state;
    make_xsdt();
    set_xsdt_address(0x100000000ull);
    assert_int_equal(parse(), ACPI_E_RANGE);
    assert_string_equal(msg, "XSDT at 0x100000000: outside memory (0x2000000 bytes)");
    assert_false(info.have_madt);
    assert_false(info.have_fadt);
    assert_string_equal(info.oem_id, "BOCHS ");

    set_xsdt_address(pm.size - 20); /* the header is cut by the end */
    assert_int_equal(parse(), ACPI_E_RANGE);
    assert_msg_has("XSDT at 0x1ffffec: outside memory");

    set_xsdt_address(pm.size - 40); /* header in, table out */
    memcpy(mem + pm.size - 40, mem + SCRATCH, 36);
    assert_int_equal(parse(), ACPI_E_RANGE);
    assert_msg_has("run past the end of memory");
}

/* One XSDT entry pointing outside memory: that entry is named; the rest is
 * still read. */
static void test_xsdt_entry_outside_memory(void **state)
{
    u64 x;

    (void)state;
    x = make_xsdt();
    wr(x + 36 + 8 * 3, 0xfffffffff000ull, 8); /* the 4th entry (WAET) */
    fix_checksum(x);
    assert_int_equal(parse(), ACPI_E_RANGE);
    assert_string_equal(msg, "XSDT entry 3 at 0xfffffffff000: outside memory (0x2000000 bytes)");
    check_qemu_madt(4, 0);
    check_qemu_fadt();
}

static void test_root_bad(void **state)
{
    u64 rsdt;

    (void)state;
    rsdt = rsdt_addr();
    mem[rsdt + 20]++;
    assert_int_equal(parse(), ACPI_E_CHECKSUM);
    assert_string_equal(msg, "RSDT at 0x1fe1bef: bad checksum (its 52 bytes sum to 0x01, not 0)");
    mem[rsdt + 20]--;
    memcpy(mem + rsdt, "APIC", 4);
    assert_int_equal(parse(), ACPI_E_SIGNATURE);
    assert_string_equal(msg, "RSDT at 0x1fe1bef: signature 'APIC', not 'RSDT'");
    memcpy(mem + rsdt, "RSDT", 4);
    wr(rsdt + 4, 0xfffffff0, 4);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_msg_has("length 4294967280 is more than");
    wr(rsdt + 4, 35, 4);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_msg_has("length 35 is less than 36");
}

/* --- the MADT --------------------------------------------------------------- */

static void test_madt_bad_checksum(void **state)
{
    u64 madt;

    (void)state;
    madt = find_table("APIC");
    mem[madt + 50] ^= 0x10;
    assert_int_equal(parse(), ACPI_E_CHECKSUM);
    assert_string_equal(msg, "MADT at 0x1fe1aff: bad checksum (its 144 bytes sum to 0x10, not 0)");
    assert_false(info.have_madt);
    assert_int_equal(info.ncpus, 0);
    /* the other tables were read */
    check_qemu_fadt();
}

/* A length cut inside an entry (checksum fixed up): an entry runs past the
 * end. */
static void test_madt_truncated(void **state)
{
    u64 madt;

    (void)state;
    madt = find_table("APIC");
    wr(madt + 4, 144 - 3, 4); /* the last entry (LAPIC NMI, 6 bytes) cut */
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_string_equal(msg, "MADT at 0x1fe1aff: entry type 4 at offset 138 has length 6, past "
                             "the table's end (table length 141)");
    assert_false(info.have_madt);
    assert_int_equal(info.ncpus, 0);
    assert_int_equal(info.nioapics, 0);
    assert_true(info.have_fadt);

    wr(madt + 4, 139, 4); /* one byte of that entry: not even type and length */
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_msg_has("entry at offset 138 cut by the table's end (length 139)");

    wr(madt + 4, 40, 4); /* shorter than the MADT's fixed part */
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_string_equal(msg, "MADT at 0x1fe1aff: length 40 is less than 44");
}

/* Entries of length 0 or shorter than their type needs. */
static void test_madt_bad_entry_length(void **state)
{
    u64 madt;

    (void)state;
    madt = find_table("APIC");
    mem[madt + 44 + 1] = 0; /* the first entry */
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_msg_has("entry type 0 at offset 44 has length 0, less than 2");
    assert_false(info.have_madt);
    mem[madt + 44 + 1] = 6;
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_msg_has("entry type 0 at offset 44 has length 6, less than 8");
}

/* A MADT whose end lies past the end of memory: moved to the top. */
static void test_madt_past_memory(void **state)
{
    u64 madt, top;

    (void)state;
    madt = find_table("APIC");
    top = pm.size - 100;
    memcpy(mem + top, mem + madt, 100);
    rsdt_replace(madt, top);
    assert_int_equal(parse(), ACPI_E_RANGE);
    assert_string_equal(msg, "MADT at 0x1ffff9c: its 144 bytes run past the end of memory "
                             "(0x2000000 bytes)");
    assert_false(info.have_madt);
}

static void test_no_madt(void **state)
{
    u64 madt;

    (void)state;
    madt = find_table("APIC");
    memcpy(mem + madt, "APIX", 4);
    fix_checksum(madt);
    assert_int_equal(parse(), ACPI_E_NO_MADT);
    assert_string_equal(msg, "no MADT (APIC) among the 4 tables of the RSDT at 0x1fe1bef");
    assert_false(info.have_madt);
    assert_int_equal(info.ncpus, 0);
    check_qemu_fadt();
    /* an entry of 0 is skipped, not counted */
    rsdt_replace(madt, 0);
    assert_int_equal(parse(), ACPI_E_NO_MADT);
    assert_string_equal(msg, "no MADT (APIC) among the 3 tables of the RSDT at 0x1fe1bef");
}

/* Builds a MADT at SCRATCH from entries and puts it in the RSDT's MADT
 * entry. */
static void use_madt(const u8 *entries, u32 n)
{
    u8 body[8 + 300 * 16];

    assert_true(n <= sizeof(body) - 8);
    memset(body, 0, 8);
    body[0] = 0x00; /* local APIC at 0xfee00000 */
    body[2] = 0xe0;
    body[3] = 0xfe;
    memcpy(body + 8, entries, n);
    u64 old = find_table("APIC");
    make_table(SCRATCH, "APIC", body, 8 + n);
    rsdt_replace(old, SCRATCH);
}

static void test_madt_disabled_cpus(void **state)
{
    static const u8 e[] = {
        0, 8, 0, 0, 1, 0, 0, 0,    /* uid 0, APIC 0, enabled */
        0, 8, 1, 2, 0, 0, 0, 0,    /* uid 1, APIC 2, disabled */
        0, 8, 2, 4, 2, 0, 0, 0,    /* uid 2, APIC 4, online capable */
        0, 8, 3, 6, 3, 0, 0, 0,    /* uid 3, APIC 6, enabled (online capable ignored) */
        0, 8, 4, 6, 1, 0, 0, 0,    /* APIC 6 again: dropped */
        0, 8, 5, 0xff, 1, 0, 0, 0, /* APIC 0xff: invalid, dropped */
        0, 10, 6, 8, 1, 0, 0, 0, 0, 0, /* a longer entry: accepted */
        0x7f, 3, 0,                /* an unknown type: skipped */
    };

    (void)state;
    use_madt(e, sizeof(e));
    assert_int_equal(parse(), ACPI_OK);
    assert_true(info.have_madt);
    assert_int_equal(info.ncpus, 3);
    assert_int_equal(info.cpus[0].apic_id, 0);
    assert_int_equal(info.cpus[1].apic_id, 6);
    assert_int_equal(info.cpus[1].uid, 3);
    assert_int_equal(info.cpus[2].apic_id, 8);
    assert_int_equal(info.cpus_disabled, 2);
    assert_int_equal(info.cpus_online_capable, 1);
    assert_int_equal(info.cpus_dropped, 2);
    assert_int_equal(info.nioapics, 0);
    assert_int_equal(info.noverrides, 0);
    assert_int_equal(acpi_isa_irq_gsi(&info, 0, NULL), 0);
}

static void test_madt_x2apic(void **state)
{
    static const u8 e[] = {
        /* x2APIC: type 9, length 16, reserved, ID, flags, UID */
        9, 16, 0, 0, 0x00, 0x00, 0, 0, 1, 0, 0, 0, 10, 0, 0, 0,
        9, 16, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 11, 0, 0, 0,       /* ID 0x100 */
        9, 16, 0, 0, 0x78, 0x56, 0x34, 0x12, 1, 0, 0, 0, 0xff, 0xff, 0, 0, /* 0x12345678 */
        9, 16, 0, 0, 0x01, 0x01, 0, 0, 2, 0, 0, 0, 12, 0, 0, 0,       /* online capable */
        9, 16, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0, 13, 0, 0, 0, /* invalid ID */
        0, 8, 1, 1, 1, 0, 0, 0, /* and one xAPIC entry */
        /* local x2APIC NMI: type 10, flags 0x5, UID all, LINT1 */
        10, 12, 5, 0, 0xff, 0xff, 0xff, 0xff, 1, 0, 0, 0,
        /* local APIC NMI: UID 1, flags 0xd, LINT0 */
        4, 6, 1, 0xd, 0, 0,
        /* local APIC address override: 0x1_0000_f000 */
        5, 12, 0, 0, 0x00, 0xf0, 0, 0, 1, 0, 0, 0,
        /* two I/O APICs and an ISA override: IRQ0 -> GSI 2, active low level */
        1, 12, 8, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0,
        1, 12, 9, 0, 0, 0x10, 0xc0, 0xfe, 24, 0, 0, 0,
        2, 10, 0, 0, 2, 0, 0, 0, 0xf, 0,
    };

    (void)state;
    use_madt(e, sizeof(e));
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.ncpus, 4);
    assert_int_equal(info.cpus[0].apic_id, 0);
    assert_int_equal(info.cpus[0].uid, 10);
    assert_int_equal(info.cpus[0].entry, ACPI_MADT_ENTRY_X2APIC);
    assert_int_equal(info.cpus[1].apic_id, 0x100);
    assert_int_equal(info.cpus[2].apic_id, 0x12345678);
    assert_int_equal(info.cpus[2].uid, 0xffff);
    assert_int_equal(info.cpus[3].apic_id, 1);
    assert_int_equal(info.cpus[3].entry, ACPI_MADT_ENTRY_LAPIC);
    assert_int_equal(info.cpus_disabled, 1);
    assert_int_equal(info.cpus_online_capable, 1);
    assert_int_equal(info.cpus_dropped, 1);
    assert_int_equal(info.nlapic_nmis, 2);
    assert_int_equal(info.lapic_nmis[0].uid, 0xffffffffu);
    assert_int_equal(info.lapic_nmis[0].flags, 5);
    assert_int_equal(info.lapic_nmis[0].lint, 1);
    assert_int_equal(info.lapic_nmis[1].uid, 1);
    assert_int_equal(info.lapic_nmis[1].flags, 0xd);
    assert_int_equal(info.lapic_nmis[1].lint, 0);
    assert_int_equal(info.lapic_address, 0x10000f000ull);
    assert_int_equal(info.nioapics, 2);
    assert_int_equal(info.ioapics[1].id, 9);
    assert_int_equal(info.ioapics[1].address, 0xfec01000);
    assert_int_equal(info.ioapics[1].gsi_base, 24);
    u16 flags;
    assert_int_equal(acpi_isa_irq_gsi(&info, 0, &flags), 2);
    assert_int_equal(flags, 0xf);
}

/* More enabled CPUs than ACPI_MAX_CPUS: the first ones are kept. */
static void test_madt_too_many_cpus(void **state)
{
    enum { N = 300 };
    static u8 e[N * 16];

    (void)state;
    memset(e, 0, sizeof(e));
    for (u32 i = 0; i < N; i++) {
        u8 *p = e + 16 * i;
        p[0] = 9;
        p[1] = 16;
        p[4] = (u8)(2 * i);
        p[5] = (u8)((2 * i) >> 8);
        p[8] = 1;
        p[12] = (u8)i;
        p[13] = (u8)(i >> 8);
    }
    use_madt(e, sizeof(e));
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.ncpus, ACPI_MAX_CPUS);
    assert_int_equal(info.cpus[ACPI_MAX_CPUS - 1].apic_id, 2 * (ACPI_MAX_CPUS - 1));
    assert_int_equal(info.cpus_dropped, N - ACPI_MAX_CPUS);
}

/* --- FADT, DSDT and \_S5 ----------------------------------------------------- */

static void test_no_fadt(void **state)
{
    u64 fadt;

    (void)state;
    fadt = find_table("FACP");
    rsdt_replace(fadt, 0);
    assert_int_equal(parse(), ACPI_OK);
    assert_false(info.have_fadt);
    assert_int_equal(info.pm_timer_port, 0);
    assert_int_equal(info.dsdt, 0);
    assert_false(info.have_s5);
    check_qemu_madt(4, 0);
}

static void test_fadt_short(void **state)
{
    u64 fadt;

    (void)state;
    fadt = find_table("FACP");
    wr(fadt + 4, 100, 4);
    fix_checksum(fadt);
    assert_int_equal(parse(), ACPI_E_LENGTH);
    assert_string_equal(msg, "FADT at 0x1fe1a8b: length 100 is less than 116");
    assert_false(info.have_fadt);
    assert_true(info.have_madt);
}

static void test_dsdt_bad(void **state)
{
    u64 dsdt;

    (void)state;
    dsdt = 0x1fe0040;
    mem[dsdt + 100] ^= 1;
    assert_int_equal(parse(), ACPI_E_CHECKSUM);
    assert_string_equal(msg, "DSDT at 0x1fe0040: bad checksum (its 6731 bytes sum to 0x01, not 0)");
    assert_false(info.have_s5);
    assert_true(info.have_madt);
    assert_int_equal(info.ncpus, 4);
    assert_true(info.have_fadt);

    /* a broken FADT and MADT as well: the FADT comes first in the RSDT,
     * but the message is about the MADT */
    mem[find_table("FACP") + 50] ^= 1;
    mem[find_table("APIC") + 50] ^= 1;
    assert_int_equal(parse(), ACPI_E_CHECKSUM);
    assert_msg_has("MADT at 0x1fe1aff: bad checksum");
    mem[find_table("FACP") + 50] ^= 1;
    mem[find_table("APIC") + 50] ^= 1;
    /* the FADT alone: its message */
    mem[find_table("FACP") + 50] ^= 1;
    assert_int_equal(parse(), ACPI_E_CHECKSUM);
    assert_msg_has("FADT at 0x1fe1a8b: bad checksum");
    mem[find_table("FACP") + 50] ^= 1;

    mem[dsdt + 100] ^= 1;
    memcpy(mem + dsdt, "SSDT", 4);
    fix_checksum(dsdt);
    assert_int_equal(parse(), ACPI_E_SIGNATURE);
    assert_string_equal(msg, "DSDT (from the FADT) at 0x1fe0040: signature 'SSDT', not 'DSDT'");
}

/* Replaces the DSDT with one of AML aml[0..n) (and drops the _S5 of the
 * captured one). */
static void use_dsdt(const u8 *aml, u32 n)
{
    u64 fadt = find_table("FACP");

    make_table(SCRATCH + 0x10000, "DSDT", aml, n);
    wr(fadt + 40, SCRATCH + 0x10000, 4);
    fix_checksum(fadt);
}

static void s5_case(const u8 *aml, u32 n, bool found, u8 a, u8 b)
{
    use_dsdt(aml, n);
    assert_int_equal(parse(), ACPI_OK);
    assert_int_equal(info.dsdt, SCRATCH + 0x10000);
    assert_int_equal(info.have_s5, found);
    if (found) {
        assert_int_equal(info.s5_slp_typ_a, a);
        assert_int_equal(info.s5_slp_typ_b, b);
    }
}

#define S5(found, a, b, ...)                                                        \
    do {                                                                            \
        static const u8 aml_[] = { __VA_ARGS__ };                                   \
        s5_case(aml_, sizeof(aml_), found, a, b);                                   \
    } while (0)

static void test_s5_encodings(void **state)
{
    (void)state;
    /* Name(\_S5, Package(4){5, 7, 0, 0}) with BytePrefix */
    S5(true, 5, 7, 0x10, 0x08, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a,
       0x07, 0x00, 0x00);
    /* Name(_S5_, Package(2){One, Ones}): Ones is all bits set */
    S5(true, 1, 7, 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0xff);
    /* Zero constants, as QEMU and Bochs write them */
    S5(true, 0, 0, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00);
    /* Word and DWord prefixes; a two-byte PkgLength */
    S5(true, 3, 4, 0x08, '_', 'S', '5', '_', 0x12, 0x4b, 0x00, 0x02, 0x0b, 0x03, 0x00, 0x0c, 0x04,
       0, 0, 0);
    /* one integer: SLP_TYPa in bits 0-7, SLP_TYPb in bits 8-15 */
    S5(true, 5, 6, 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x01, 0x0b, 0x05, 0x06);
    /* "_S5_" in a string first (no NameOp before it), the real one later */
    S5(true, 2, 2, 0x0d, '_', 'S', '5', '_', 0x00, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02,
       0x0a, 0x02, 0x0a, 0x02);
    /* no Package after the name */
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_', 0x0a, 0x05);
    /* an element that is not a constant (a name) */
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x02, 'A', 'B', 'C', 'D', 0x00);
    /* a package cut by the end of the table */
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a);
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_', 0x12);
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_');
    /* the name at the very start (no room for a NameOp) */
    S5(false, 0, 0, '_', 'S', '5', '_', 0x12, 0x04, 0x02, 0x01, 0x01);
    /* a Package whose PkgLength leaves the second element out */
    S5(false, 0, 0, 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x02, 0x01, 0x01);
    /* an empty DSDT */
    S5(false, 0, 0, 0x00);
    s5_case((const u8 *)"", 0, false, 0, 0);
}

/* No \_S5 in the DSDT: the SSDTs are searched (Bochs has one). */
static void test_s5_in_ssdt(void **state)
{
    static const u8 none[] = { 0x10, 0x05, '\\', '_', 'S', 'B', '_' };
    static const u8 s5[] = { 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x06, 0x0a,
                             0x07 };
    u64 ssdt;

    (void)state;
    use_dsdt(none, sizeof(none));
    assert_int_equal(parse(), ACPI_OK);
    assert_false(info.have_s5);
    ssdt = find_table("SSDT");
    assert_int_equal(ssdt, 0x1ff0f38);
    make_table(SCRATCH + 0x20000, "SSDT", s5, sizeof(s5));
    rsdt_replace(ssdt, SCRATCH + 0x20000);
    assert_int_equal(parse(), ACPI_OK);
    assert_true(info.have_s5);
    assert_int_equal(info.s5_slp_typ_a, 6);
    assert_int_equal(info.s5_slp_typ_b, 7);
}

/* --- robustness -------------------------------------------------------------- */

/* Random damage to the tables, checksums fixed up or not: the reader must
 * never read outside memory (ASan watches), and must report what it says. */
static void test_random_damage(void **state)
{
    const u64 lo = 0x1fe0000, hi = 0x1fe1c23; /* the tables of the pc capture */
    static const u64 tables[] = { 0x1fe0040, 0x1fe1a8b, 0x1fe1aff, 0x1fe1b8f, 0x1fe1bc7,
                                  0x1fe1bef };
    u8 *saved = malloc(hi - lo);

    (void)state;
    assert_non_null(saved);
    memcpy(saved, mem + lo, hi - lo);
    srand(7);
    for (int round = 0; round < 3000; round++) {
        int flips = 1 + rand() % 4;
        for (int i = 0; i < flips; i++) {
            /* most damage to the small tables, some to the DSDT */
            u64 a = rand() % 4 ? 0x1fe1a8b + (u64)rand() % (hi - 0x1fe1a8b)
                               : lo + (u64)rand() % (hi - lo);
            mem[a] = rand() % 3 ? (u8)rand() : (u8)(mem[a] ^ (1u << (rand() % 8)));
        }
        if (rand() % 2)
            for (u32 i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
                if (rd32(tables[i] + 4) <= hi - tables[i])
                    fix_checksum(tables[i]);
        int rc = parse();
        assert_true(rc <= 0 && rc >= ACPI_E_NO_MADT);
        assert_true(info.ncpus <= ACPI_MAX_CPUS);
        if (!info.have_madt)
            assert_int_equal(info.ncpus, 0);
        if (rc == ACPI_OK)
            assert_true(info.have_madt);
        memcpy(mem + lo, saved, hi - lo);
    }
    free(saved);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_qemu_pc, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_q35, setup_qemu_q35, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_q35_x_blocks, setup_qemu_q35, teardown),
        cmocka_unit_test_setup_teardown(test_qemu_pc_hotplug, setup_qemu_hotplug, teardown),
        cmocka_unit_test_setup_teardown(test_bochs, setup_bochs, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_bad_checksum, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_extended_checksum, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_in_ebda, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_rsdp_small_memory, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_xsdt, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_xsdt_outside_memory, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_xsdt_entry_outside_memory, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_root_bad, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_bad_checksum, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_truncated, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_bad_entry_length, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_past_memory, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_no_madt, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_disabled_cpus, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_madt_x2apic, setup_bochs, teardown),
        cmocka_unit_test_setup_teardown(test_madt_too_many_cpus, setup_qemu_q35, teardown),
        cmocka_unit_test_setup_teardown(test_no_fadt, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_fadt_short, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_dsdt_bad, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_s5_encodings, setup_qemu_pc, teardown),
        cmocka_unit_test_setup_teardown(test_s5_in_ssdt, setup_bochs, teardown),
        cmocka_unit_test_setup_teardown(test_random_damage, setup_qemu_pc, teardown),
    };

    return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
