/* ACPI table reader (ACPI 6.5, chapter 5.2): finds the RSDP, walks the RSDT
 * or XSDT, checks every table's length and checksum, and reads what the
 * platform needs from the MADT (CPUs, local APIC, I/O APICs, interrupt
 * overrides, local APIC NMIs), the FADT (PM timer, PM1 control, SMI command,
 * reset register) and the AML of the DSDT and SSDTs (the \_S5 sleep type).
 *
 * Pure logic: all memory is read through a struct phys_mem and every read
 * is bounds-checked, so a table pointer outside that memory is an error
 * message, never a wild read. No 64-bit division; freestanding. */
#ifndef XMHF_ACPI_H
#define XMHF_ACPI_H

#include "physmem.h"

#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_OVERRIDES 32
#define ACPI_MAX_LAPIC_NMIS 16
#define ACPI_MAX_SSDTS 32
#define ACPI_TABLE_MAX_LEN 0x400000u /* 4 MiB: a longer length is refused */

/* acpi_parse results: 0 or one of these (negative). */
#define ACPI_OK 0
#define ACPI_E_RSDP (-1)     /* no valid RSDP at the address given */
#define ACPI_E_RANGE (-2)    /* a table (or its header) lies outside memory */
#define ACPI_E_CHECKSUM (-3) /* a table's bytes do not sum to 0 */
#define ACPI_E_LENGTH (-4)   /* a length field too small or too large, or an
                                entry that runs past its table's end */
#define ACPI_E_SIGNATURE (-5) /* RSDT, XSDT or DSDT pointer to something else */
#define ACPI_E_NO_MADT (-6)  /* no MADT ("APIC") among the tables */

/* Generic Address Structure (ACPI 6.5, 5.2.3.2) */
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO 1
#define ACPI_GAS_PCI_CONFIG 2
struct acpi_gas {
    u8 space_id; /* ACPI_GAS_* */
    u8 bit_width;
    u8 bit_offset;
    u8 access_size;
    u64 address;
};

#define ACPI_MADT_ENTRY_LAPIC 0   /* Processor Local APIC */
#define ACPI_MADT_ENTRY_X2APIC 9  /* Processor Local x2APIC */
#define ACPI_APIC_ID_NONE 0xffffffffu

struct acpi_cpu {
    u32 apic_id;  /* the local APIC (or x2APIC) ID */
    u32 uid;      /* ACPI processor UID */
    u8 entry;     /* ACPI_MADT_ENTRY_LAPIC or ACPI_MADT_ENTRY_X2APIC */
};

struct acpi_ioapic {
    u32 id;
    u32 address;
    u32 gsi_base;
};

/* Interrupt source override (MADT type 2). flags are the MPS INTI flags:
 * bits 0-1 polarity (0 bus default, 1 high, 3 low), bits 2-3 trigger mode
 * (0 bus default, 1 edge, 3 level). */
struct acpi_override {
    u8 bus; /* 0: ISA */
    u8 source; /* bus-relative IRQ */
    u16 flags;
    u32 gsi;
};

/* Local APIC NMI (MADT types 4 and 0xA): uid 0xff (type 4) or 0xffffffff
 * (type 0xA) means every processor. */
struct acpi_lapic_nmi {
    u32 uid;
    u16 flags; /* MPS INTI flags */
    u8 lint;   /* 0: LINT0, 1: LINT1 */
};

#define ACPI_FADT_TMR_VAL_EXT (1u << 8)   /* FADT flags: 32-bit PM timer */
#define ACPI_FADT_RESET_REG_SUP (1u << 10) /* FADT flags: reset register */

struct acpi_info {
    /* RSDP and root table */
    u64 rsdp;           /* address of the RSDP read */
    u8 rsdp_revision;   /* 0: ACPI 1.0; 2 and up: with XSDT fields */
    bool xsdt;          /* the root table is the XSDT (else the RSDT) */
    char oem_id[7];     /* the RSDP's OEM ID and a NUL ("BOCHS " in QEMU and Bochs) */
    char root_oem_table_id[9]; /* the root table's OEM table ID and a NUL */
    u64 root;           /* address of the RSDT or XSDT */
    u32 ntables;        /* non-null entries in the root table */

    /* MADT: valid when have_madt (cleared when the MADT is broken) */
    bool have_madt;
    u64 madt;               /* its address */
    u64 lapic_address;      /* the MADT's, or that of a type 5 override */
    u32 madt_flags;         /* bit 0 PCAT_COMPAT: dual 8259 PICs present */
    u32 ncpus;              /* enabled CPUs in cpus[], in MADT order */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    u32 cpus_disabled;      /* entries without the enabled flag ... */
    u32 cpus_online_capable; /* ... of which this many are online capable */
    u32 cpus_dropped;       /* enabled entries not kept: beyond ACPI_MAX_CPUS,
                               a repeated ID, or an invalid ID (0xff in type 0) */
    u32 nioapics;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    u32 noverrides;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    u32 nlapic_nmis;
    struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];
    u32 madt_dropped;       /* I/O APICs, overrides or NMIs beyond the arrays */

    /* FADT: valid when have_fadt. A port of 0 means absent. */
    bool have_fadt;
    u64 fadt;
    u8 fadt_revision;
    u32 fadt_flags;
    u16 iapc_boot_arch;     /* IA-PC boot architecture flags (0 before ACPI 2.0) */
    u16 sci_irq;
    u16 smi_cmd;            /* SMI command port; 0: ACPI mode is fixed */
    u8 acpi_enable;         /* values to write to smi_cmd */
    u8 acpi_disable;
    u16 pm1a_evt;
    u16 pm1b_evt;
    u16 pm1a_cnt;
    u16 pm1b_cnt;
    u16 pm_timer_port;      /* PM timer I/O port; 0: none (or not in I/O space) */
    bool pm_timer_32bit;    /* TMR_VAL_EXT: 32-bit counter, else 24-bit */
    bool have_reset;        /* reset register present (RESET_REG_SUP, address != 0) */
    struct acpi_gas reset_reg;
    u8 reset_value;
    u64 dsdt;               /* address of the DSDT (X_DSDT when set), 0: none */

    /* \_S5: SLP_TYPa/b to write into PM1a/PM1b control to power off */
    bool have_s5;
    u8 s5_slp_typ_a; /* 3-bit values (the package's integers masked to 0-7) */
    u8 s5_slp_typ_b;
};

/* Looks for the RSDP where BIOS machines keep it (ACPI 6.5, 5.2.5.1): the
 * first KiB of the EBDA (segment in the BDA word at 0x40e), then
 * 0xe0000-0xfffff, on 16-byte boundaries; a candidate must have the
 * signature, a good 20-byte checksum and, for revision 2 and up, a good
 * 36-byte extended checksum. Returns its address, or 0 when none. */
u64 acpi_find_rsdp(const struct phys_mem *mem);

/* Reads the tables from the RSDP at rsdp into *info (a large struct: keep it
 * off small stacks). Every table the root lists is checked (header inside
 * memory, length at least 36 and at most ACPI_TABLE_MAX_LEN, checksum), and
 * so are the DSDT and the MADT's entries.
 *
 * Returns ACPI_OK, or an ACPI_E_* code with one line in msg (msglen > 0)
 * naming the table, its address and what is wrong. The reader goes on past
 * a broken table, so *info still holds what the good tables gave (have_madt,
 * have_fadt, have_s5 say which parts are valid); when several tables are
 * broken, the message is about the MADT if it is among them (it decides the
 * CPU count), else about the first. No FADT or no \_S5 is not an error. */
int acpi_parse(const struct phys_mem *mem, u64 rsdp, struct acpi_info *info, char *msg,
               size_t msglen);

/* The GSI an ISA IRQ arrives on: that of its interrupt source override, or
 * the IRQ number itself. *flags (if not NULL) gets the override's MPS INTI
 * flags, or 0 (ISA default: edge, active high). */
u32 acpi_isa_irq_gsi(const struct acpi_info *info, u8 irq, u16 *flags);

#endif
