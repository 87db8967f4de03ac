/* Multiboot specification 0.6.96 (version 1): the header a kernel carries and
 * the information structure the boot loader hands it in EBX. */
#ifndef XMHF_MULTIBOOT_H
#define XMHF_MULTIBOOT_H

#include "types.h"

#define MULTIBOOT_HEADER_MAGIC 0x1badb002u
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2badb002u /* in EAX at entry */

/* Header flags (spec 3.1.2) */
#define MULTIBOOT_PAGE_ALIGN (1u << 0) /* modules on 4 KiB boundaries */
#define MULTIBOOT_MEMORY_INFO (1u << 1) /* ask for mem_* and mmap_* */

/* Information flags (spec 3.3): which fields of multiboot_info are valid */
#define MBI_MEMORY (1u << 0)      /* mem_lower, mem_upper */
#define MBI_BOOTDEV (1u << 1)     /* boot_device */
#define MBI_CMDLINE (1u << 2)     /* cmdline */
#define MBI_MODS (1u << 3)        /* mods_count, mods_addr */
#define MBI_MMAP (1u << 6)        /* mmap_length, mmap_addr */
#define MBI_LOADER_NAME (1u << 9) /* boot_loader_name */

struct multiboot_info {
    u32 flags;
    u32 mem_lower; /* KiB below 1 MiB */
    u32 mem_upper; /* KiB from 1 MiB to the first hole */
    u32 boot_device;
    u32 cmdline;
    u32 mods_count;
    u32 mods_addr;
    u32 syms[4];
    u32 mmap_length;
    u32 mmap_addr;
    u32 drives_length;
    u32 drives_addr;
    u32 config_table;
    u32 boot_loader_name;
    u32 apm_table;
    u32 vbe[6];
} __attribute__((packed));

struct multiboot_module {
    u32 mod_start;
    u32 mod_end; /* first byte after the module */
    u32 string;
    u32 reserved;
} __attribute__((packed));

/* One memory-map entry; size does not count itself, the next entry starts
 * size + 4 bytes further on. */
struct multiboot_mmap_entry {
    u32 size;
    u64 addr;
    u64 len;
    u32 type; /* 1 usable RAM, 3 ACPI reclaimable, 4 NVS, 5 bad, else reserved */
} __attribute__((packed));

#endif
