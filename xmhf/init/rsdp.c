/* ACPI RSDP search for BIOS machines (ACPI 6.5, 5.2.5.1): the first KiB of
 * the EBDA, then the BIOS ROM area 0xE0000-0xFFFFF, on 16-byte boundaries.
 * The boot parameters carry the address; parsing the tables belongs to the
 * platform. */
#include "init.h"
#include "string.h"

#define BDA_EBDA_SEGMENT 0x40e /* word: EBDA segment, in the BIOS data area */

static bool checksum_ok(const u8 *p, u32 len)
{
    u8 sum = 0;
    for (u32 i = 0; i < len; i++)
        sum = (u8)(sum + p[i]);
    return sum == 0;
}

static u64 scan(uintptr_t start, uintptr_t end)
{
    for (uintptr_t p = start; p + 20 <= end; p += 16) {
        const u8 *r = (const u8 *)p;
        /* ACPI 1.0 checksums the first 20 bytes; revision 2+ adds 36. */
        if (memcmp(r, "RSD PTR ", 8) == 0 && checksum_ok(r, 20) &&
            (r[15] < 2 || checksum_ok(r, 36)))
            return p;
    }
    return 0;
}

u64 rsdp_find(void)
{
    uintptr_t ebda = (uintptr_t)(*(const volatile u16 *)BDA_EBDA_SEGMENT) << 4;
    u64 found = 0;

    if (ebda >= 0x80000 && ebda < 0xa0000)
        found = scan(ebda, ebda + 1024);
    if (!found)
        found = scan(0xe0000, 0x100000);
    return found;
}
