/* mkimage: builds hypervisor-x86-SUBARCH.bin from the linked SL and runtime
 * ELF files: header (xmhf/include/image.h), SL, and the runtime's code and
 * data packed (tools/lz_pack.c). The runtime's bss and the SL area are
 * described in the header, not stored.
 *
 * usage: mkimage --subarch amd64|i386 --base ADDR --sl-area-size BYTES
 *                [--debug] SL.elf RUNTIME.elf OUT.bin
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "lz_pack.h"

#define MAX_IMAGE (16u << 20)

struct span {
    u64 start, file_end, mem_end, entry;
};

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mkimage: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n");
    exit(1);
}

static unsigned char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *buf = malloc(*len ? *len : 1);
    if (!buf || fread(buf, 1, *len, f) != *len)
        die("cannot read %s", path);
    fclose(f);
    return buf;
}

/* Adds one PT_LOAD segment to the image and to the file's span. */
static void place(u8 *image, struct span *s, u64 base, u64 paddr, const u8 *data, u64 filesz,
                  u64 memsz, const char *path)
{
    if (memsz == 0)
        return;
    if (paddr < base || paddr - base + memsz > MAX_IMAGE)
        die("%s: a segment lies outside the image (link base mismatch?)", path);
    u64 off = paddr - base;
    memcpy(image + off, data, filesz);
    if (off < s->start)
        s->start = off;
    if (filesz && off + filesz > s->file_end)
        s->file_end = off + filesz;
    if (off + memsz > s->mem_end)
        s->mem_end = off + memsz;
}

/* Places every loadable segment of an ELF32 or ELF64 file. */
static struct span load_elf(u8 *image, u64 base, const char *path)
{
    size_t len;
    u8 *f = read_file(path, &len);
    struct span s = {.start = ~0ull};

    if (len < EI_NIDENT || memcmp(f, ELFMAG, SELFMAG) != 0)
        die("%s is not an ELF file", path);
    if (f[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr *eh = (Elf32_Ehdr *)f;
        Elf32_Phdr *ph = (Elf32_Phdr *)(f + eh->e_phoff);
        for (int i = 0; i < eh->e_phnum; i++)
            if (ph[i].p_type == PT_LOAD)
                place(image, &s, base, ph[i].p_paddr, f + ph[i].p_offset, ph[i].p_filesz,
                      ph[i].p_memsz, path);
        s.entry = eh->e_entry;
    } else {
        Elf64_Ehdr *eh = (Elf64_Ehdr *)f;
        Elf64_Phdr *ph = (Elf64_Phdr *)(f + eh->e_phoff);
        for (int i = 0; i < eh->e_phnum; i++)
            if (ph[i].p_type == PT_LOAD)
                place(image, &s, base, ph[i].p_paddr, f + ph[i].p_offset, ph[i].p_filesz,
                      ph[i].p_memsz, path);
        s.entry = eh->e_entry;
    }
    if (s.start == ~0ull || s.entry < base)
        die("%s has nothing to load or no entry point", path);
    s.entry -= base;
    free(f);
    return s;
}

int main(int argc, char **argv)
{
    struct lhv_image_header h = {.magic = LHV_IMAGE_MAGIC, .version = LHV_IMAGE_VERSION,
                                 .header_size = sizeof(h)};
    const char *files[3];
    int nfiles = 0;
    u64 sl_area_size = 0;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--subarch") && i + 1 < argc) {
            i++;
            h.subarch = !strcmp(argv[i], "amd64") ? LHV_SUBARCH_AMD64
                        : !strcmp(argv[i], "i386") ? LHV_SUBARCH_I386 : 0;
            if (!h.subarch)
                die("unknown subarch %s", argv[i]);
        } else if (!strcmp(argv[i], "--base") && i + 1 < argc) {
            h.link_base = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--sl-area-size") && i + 1 < argc) {
            sl_area_size = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--debug")) {
            h.flags |= LHV_IMAGE_FLAG_DEBUG;
        } else if (argv[i][0] != '-' && nfiles < 3) {
            files[nfiles++] = argv[i];
        } else {
            die("bad argument %s (see the comment at the top of tools/mkimage.c)", argv[i]);
        }
    }
    if (nfiles != 3 || !h.subarch || !h.link_base || !sl_area_size)
        die("usage: %s", "mkimage --subarch S --base ADDR --sl-area-size N SL.elf RT.elf OUT");

    u8 *image = calloc(1, MAX_IMAGE);
    struct span sl = load_elf(image, h.link_base, files[0]);
    struct span rt = load_elf(image, h.link_base, files[1]);
    if (sl.start != LHV_SL_OFFSET || sl.mem_end != sl.file_end)
        die("%s: the SL must start at base+0x100 and have only stored bytes", files[0]);
    if (rt.start != ALIGN_UP(sl.file_end, PAGE_SIZE))
        die("%s: the runtime must start at the page after the SL", files[1]);

    h.sl_offset = (u32)sl.start;
    h.sl_size = (u32)(sl.file_end - sl.start);
    h.sl_entry = (u32)sl.entry;
    h.runtime_offset = (u32)rt.start;
    h.runtime_size = (u32)(rt.file_end - rt.start);
    h.runtime_entry = (u32)rt.entry;
    /* the packed runtime follows the SL in the file, where the SL ends; its
     * bytes overwrite the unpacked runtime in the buffer, so both are read
     * (packed, CRC) before they are copied in below */
    u8 *packed = malloc(lz_pack_bound(h.runtime_size));
    if (!packed)
        die("%s", "out of memory");
    h.packed_offset = (u32)sl.file_end;
    h.packed_size = (u32)lz_pack(image + rt.start, h.runtime_size, packed);
    h.runtime_crc32 = crc32_update(0, image + rt.start, h.runtime_size);
    h.file_size = h.packed_offset + h.packed_size;
    h.bss_offset = (u32)ALIGN_UP(rt.file_end, PAGE_SIZE);
    h.bss_size = (u32)(ALIGN_UP(rt.mem_end, PAGE_SIZE) - h.bss_offset);
    h.sl_area_offset = h.bss_offset + h.bss_size;
    h.sl_area_size = (u32)sl_area_size;
    memcpy(image, &h, sizeof(h));
    memcpy(image + h.packed_offset, packed, h.packed_size);
    h.crc32 = crc32_update(0, image, h.file_size);
    memcpy(image, &h, sizeof(h));

    FILE *out = fopen(files[2], "wb");
    if (!out || fwrite(image, 1, h.file_size, out) != h.file_size || fclose(out) != 0)
        die("cannot write %s", files[2]);
    return 0;
}
