/* libFuzzer harness for the ACPI reader (xmhf/lib/acpi.c): the input is
 * physical memory from address 0. The RSDP is looked for as init looks for
 * it (the EBDA named by the BDA word at 0x40e, then 0xe0000-0xfffff); when
 * there is none, the u32 at address 0 (the real-mode interrupt vectors, which
 * no search reads) is taken as its address. The tables are then read as the
 * platform code reads them and the ISA IRQs mapped to their GSIs. */
#include <stdint.h>
#include <stdlib.h>
#include "acpi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct acpi_info info;
    struct phys_mem mem = { .base = data, .size = size };
    char msg[200];
    u64 rsdp;
    u16 flags;

    rsdp = acpi_find_rsdp(&mem);
    if (!rsdp && size >= 4)
        rsdp = (u32)data[0] | (u32)data[1] << 8 | (u32)data[2] << 16 | (u32)data[3] << 24;
    acpi_parse(&mem, rsdp, &info, msg, sizeof(msg));
    if (info.ncpus > ACPI_MAX_CPUS || info.nioapics > ACPI_MAX_IOAPICS ||
        info.noverrides > ACPI_MAX_OVERRIDES || info.nlapic_nmis > ACPI_MAX_LAPIC_NMIS)
        abort();
    for (u8 irq = 0; irq < 16; irq++)
        acpi_isa_irq_gsi(&info, irq, &flags);
    return 0;
}
