/* The boot-parameter block: filled by init, completed by the SL, read by the
 * runtime. It lives at the start of the SL area (see image.h), so it stays
 * valid for as long as LHV runs. Only fixed-width fields: 32-bit init and SL
 * and the 64-bit runtime see the same layout. */
#ifndef XMHF_BOOT_PARAMS_H
#define XMHF_BOOT_PARAMS_H

#include "types.h"

#define LHV_PARAMS_MAGIC 0x5056484cu /* the bytes "LHVP" */
#define LHV_PARAMS_VERSION 1

#define LHV_CMDLINE_MAX 4096 /* bytes, the terminating NUL not counted */
#define LHV_MMAP_MAX 128
#define LHV_MODULES_MAX 16
#define LHV_MODSTR_MAX 128
#define LHV_LOADER_NAME_MAX 64

/* Memory types, numbered as multiboot (and E820) number them */
#define LHV_MEM_USABLE 1
#define LHV_MEM_RESERVED 2
#define LHV_MEM_ACPI 3
#define LHV_MEM_NVS 4
#define LHV_MEM_BAD 5

struct lhv_mmap_entry {
    u64 base;
    u64 length;
    u32 type;
    u32 reserved;
};

struct lhv_module {
    u64 start;
    u64 end; /* first byte after the module */
    char string[LHV_MODSTR_MAX]; /* as the loader gave it, cut to fit */
};

/* Serial line settings from serial=BAUD,8n1,PORT */
struct lhv_serial_cfg {
    u32 baud;
    u16 port;
    u8 data_bits; /* 5..8 */
    u8 parity;    /* 'n', 'e' or 'o' */
    u8 stop_bits; /* 1 or 2 */
    u8 reserved[3];
};

#define LHV_PARAMS_FLAG_E9 (1u << 0) /* lhv.e9=1: console also on port 0xe9 */
#define LHV_PARAMS_END_SHIFT 8        /* bits 8-15: the lhv.end= action */
/* bits 16-17: where lhv's console goes, LHV_CONSOLE_SERIAL and/or
 * LHV_CONSOLE_VGA: lhv.console=, else both after a multiboot v1 boot (BIOS)
 * and serial only after multiboot2 (UEFI has no VGA text mode) */
#define LHV_PARAMS_CONSOLE_SHIFT 16
#define LHV_PARAMS_CONSOLE_MASK (3u << LHV_PARAMS_CONSOLE_SHIFT)
#define LHV_CONSOLE_SERIAL 1u
#define LHV_CONSOLE_VGA 2u

/* Layout of the SL area (image.h): this block first, then the SL stack, then
 * the arena the SL builds page tables in. */
#define LHV_SL_AREA_PARAMS 0x0000u
#define LHV_SL_AREA_STACK_TOP 0x4000u
#define LHV_SL_AREA_TABLES 0x4000u
/* The smallest SL area that holds all that and the PAE tables (6 pages);
 * amd64 needs 7 pages and more for RAM above 4 GiB (the SL says so). */
#define LHV_SL_AREA_MIN (LHV_SL_AREA_TABLES + 6 * 0x1000u)

struct lhv_boot_params {
    u32 magic;   /* LHV_PARAMS_MAGIC */
    u32 version; /* LHV_PARAMS_VERSION */
    u32 size;    /* sizeof(struct lhv_boot_params) */
    u32 subarch; /* LHV_SUBARCH_* */

    u64 image_base;      /* where init copied the image (its link base) */
    u64 image_span;      /* bytes from image_base that LHV owns */
    u64 sl_area;         /* SL area: this block, SL stack, page tables */
    u64 sl_area_size;
    u64 page_table_root; /* CR3 the SL loaded (filled by the SL) */
    u64 page_table_end;  /* first byte after the tables the SL built */

    u64 multiboot_info;  /* physical address of the loader's multiboot info
                            (v2: the start of its tags' header) */
    u32 multiboot_flags; /* its flags word (v2: its total_size) */
    u32 boot_drive;      /* boot_drive= if given, else the BIOS drive from
                            the loader, else 0xffffffff */
    u32 flags;           /* LHV_PARAMS_FLAG_*, the end action, the console */
    u32 multiboot_version; /* 1: multiboot (BIOS GRUB, QEMU -kernel);
                              2: multiboot2 (GRUB EFI) */
    u64 acpi_rsdp;       /* 0: init found none */
    u64 init_tsc;        /* TSC when init started */

    struct lhv_serial_cfg serial;
    char loader_name[LHV_LOADER_NAME_MAX];

    u32 mmap_count;   /* entries as the loader gave them, in its order */
    u32 module_count;
    struct lhv_mmap_entry mmap[LHV_MMAP_MAX];
    struct lhv_module modules[LHV_MODULES_MAX];

    /* The command line, with the kernel's path removed when the loader is
     * QEMU (its name starts with "qemu"): what the options were parsed from. */
    char cmdline[LHV_CMDLINE_MAX + 1];
};

STATIC_ASSERT(sizeof(struct lhv_boot_params) <= 0x3000, "boot params fit below the SL stack");

#endif
