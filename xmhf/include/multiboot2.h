/* Multiboot2 specification (version 2.0): the header a kernel carries and the
 * tags of the boot information the loader hands it in EBX. GRUB's EFI build
 * boots LHV this way (docs/hardware.md, UEFI boot). */
#ifndef XMHF_MULTIBOOT2_H
#define XMHF_MULTIBOOT2_H

#include "types.h"

#define MULTIBOOT2_HEADER_MAGIC 0xe85250d6u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u /* in EAX at entry */
#define MULTIBOOT2_ARCH_I386 0                  /* 32-bit protected mode */
#define MULTIBOOT2_TAG_ALIGN 8

/* Header tag types (spec 3.1.3) */
#define MB2_HEADER_TAG_END 0
#define MB2_HEADER_TAG_INFO_REQUEST 1
#define MB2_HEADER_TAG_OPTIONAL 1 /* flags bit 0: the loader may ignore the tag */

/* Boot information tag types (spec 3.6) */
#define MB2_TAG_END 0
#define MB2_TAG_CMDLINE 1
#define MB2_TAG_LOADER_NAME 2
#define MB2_TAG_MODULE 3
#define MB2_TAG_BASIC_MEMINFO 4
#define MB2_TAG_BOOTDEV 5
#define MB2_TAG_MMAP 6
#define MB2_TAG_ACPI_OLD 14 /* a copy of the ACPI 1.0 RSDP */
#define MB2_TAG_ACPI_NEW 15 /* a copy of the ACPI 2.0+ RSDP (XSDP) */

/* The information starts with this; tags follow, each 8-byte aligned. */
struct mb2_info_header {
    u32 total_size; /* bytes, this header and the end tag included */
    u32 reserved;
};

struct mb2_tag {
    u32 type;
    u32 size; /* bytes, this header included, padding excluded */
};

struct mb2_tag_module {
    u32 type;
    u32 size;
    u32 mod_start;
    u32 mod_end; /* first byte after the module */
    /* then the module's NUL-terminated string */
};

struct mb2_tag_bootdev {
    u32 type;
    u32 size;
    u32 biosdev; /* 0xffffffff: not a BIOS disk */
    u32 partition;
    u32 sub_partition;
};

struct mb2_tag_mmap {
    u32 type;
    u32 size;
    u32 entry_size; /* a multiple of 8, at least 24 */
    u32 entry_version;
    /* then the entries */
};

struct mb2_mmap_entry {
    u64 base_addr;
    u64 length;
    u32 type; /* 1 usable, 3 ACPI reclaimable, 4 NVS, 5 bad, else reserved */
    u32 reserved;
};

#endif
