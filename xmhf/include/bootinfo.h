/* What the multiboot v1 loader hands init: the command line, memory map,
 * modules and boot drive, read into the boot parameters, and the check that
 * LHV's target span is usable RAM clear of everything the loader gave.
 *
 * Pure logic (docs/design.md §2): every loader structure is read through a
 * struct phys_mem and every read is bounds-checked, so a pointer the loader
 * got wrong is an error message, never a wild read. init passes base 0 and
 * size 4 GiB; the host tests pass a buffer holding a fake multiboot info.
 * Each function returns 0, or -1 with one line in err (errlen > 0) that says
 * what is wrong and what to do. */
#ifndef XMHF_BOOTINFO_H
#define XMHF_BOOTINFO_H

#include "boot_params.h"
#include "options.h"
#include "physmem.h"

/* Checks the loader's magic (EAX at entry: multiboot v1 or multiboot2) and
 * reads from the multiboot info at mbi_addr: the loader name, the command line (the kernel's path skipped
 * when the loader is QEMU; at most LHV_CMDLINE_MAX bytes), the options parsed
 * from it (into opts, from the defaults), the boot drive (boot_drive= if
 * given, else the loader's BIOS drive, else 0xffffffff), and the info's
 * address and flags (v2: its size), p->multiboot_version (1 or 2), and for
 * v2 the ACPI RSDP: the address of the copy inside tag 15 (2.0+), else tag 14
 * (1.0), else 0. The caller sets p->subarch first: the messages name that
 * subarch's files. The two functions below read the same version. */
int bootinfo_read_options(const struct phys_mem *mem, u32 magic, u32 mbi_addr,
                          struct lhv_boot_params *p, struct lhv_options *opts, char *err,
                          size_t errlen);

/* Reads the memory map (in the loader's order; one made of mem_lower and
 * mem_upper when the loader gives no full map, as the runtime's boot/params
 * check expects) and the modules with their
 * strings. There must be a map and at least one module (module 0, the
 * image). Run after bootinfo_read_options (p->subarch as there). */
int bootinfo_read_memory(const struct phys_mem *mem, u32 mbi_addr, struct lhv_boot_params *p,
                         char *err, size_t errlen);

/* Checks that [base, base+span) is usable RAM in p's memory map and does not
 * overlap init [init_start, init_end), the multiboot info, the loader's
 * memory map, the command line, the module list or modules 1..n (module 0
 * may overlap: init moves it with memmove). p is as bootinfo_read_memory
 * left it. */
int bootinfo_check_target(const struct phys_mem *mem, u32 mbi_addr,
                          const struct lhv_boot_params *p, u64 base, u64 span, u64 init_start,
                          u64 init_end, char *err, size_t errlen);

#endif
