/* libFuzzer harness for the multiboot info and the memory map
 * (xmhf/lib/bootinfo.c, mmap.c): the input is physical memory from address
 * 0. Its first bytes, where a PC keeps the real-mode interrupt vectors and
 * no loader puts anything, say where the multiboot info is (u32 at 0; when
 * its bit 0 is set, a multiboot2 block at that value & ~7) and
 * which target span to check (base u32 at 4, span u32 at 8). The harness
 * runs init's steps: read the options, the memory map and the modules, check
 * the target; then normalizes the map as the SL and runtime do. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "bootinfo.h"
#include "image.h"
#include "mmap.h"
#include "multiboot.h"
#include "multiboot2.h"

#define INIT_START 0x100000u
#define INIT_END 0x110000u

static u32 le32(const uint8_t *p)
{
    return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct lhv_boot_params p;
    static struct lhv_mmap_entry map[LHV_MMAP_MAX];
    struct phys_mem mem = { .base = data, .size = size };
    struct lhv_options opts;
    char *err;
    const size_t errlen = 256; /* as init's */
    u32 mbi, base, span, magic = MULTIBOOT_BOOTLOADER_MAGIC;
    int n;

    if (size < 12)
        return 0;
    mbi = le32(data);
    if (mbi & 1) {
        magic = MULTIBOOT2_BOOTLOADER_MAGIC;
        mbi &= ~7u;
    }
    base = le32(data + 4);
    span = le32(data + 8);
    err = malloc(errlen);
    if (!err)
        return 0;
    memset(&p, 0xa5, sizeof(p));
    p.subarch = LHV_SUBARCH_AMD64;
    if (bootinfo_read_options(&mem, magic, mbi, &p, &opts, err, errlen) ||
        bootinfo_read_memory(&mem, mbi, &p, err, errlen))
        goto out;
    if (p.mmap_count > LHV_MMAP_MAX || p.module_count == 0 || p.module_count > LHV_MODULES_MAX)
        abort();
    for (u32 i = 0; i < p.module_count; i++)
        if (p.modules[i].start > p.modules[i].end || p.modules[i].end > size)
            abort();
    bootinfo_check_target(&mem, mbi, &p, base, span, INIT_START, INIT_END, err, errlen);
    n = mmap_normalize(p.mmap, p.mmap_count, map, LHV_MMAP_MAX);
    if (n > 0) {
        mmap_range_usable(map, (u32)n, base, span);
        mmap_usable_top(map, (u32)n);
    }
out:
    free(err);
    return 0;
}
