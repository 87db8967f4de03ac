/* The LHV image header: the first bytes of module 0 (hypervisor-x86-*.bin).
 *
 * The image holds the secure loader (SL) and the runtime, linked to run at
 * link_base. The file:
 *
 *   [0, header_size)                     this header
 *   [sl_offset, +sl_size)                SL code and data (32-bit)
 *   [packed_offset, +packed_size)        the runtime's code and data, packed
 *                                        (xmhf/include/lz.h)
 *   --- end of the file (file_size) ---
 *
 * In memory, from link_base upwards, as init leaves it:
 *
 *   [0, sl_offset + sl_size)             the header and the SL, copied
 *   [runtime_offset, +runtime_size)      runtime code and data, unpacked
 *   [bss_offset, +bss_size)              runtime bss, zeroed
 *   [sl_area_offset, +sl_area_size)      SL area: boot parameters, SL stack and the
 *                                        page tables the SL builds; zeroed
 *
 * and every other byte of the span zero. Every offset in memory is from
 * link_base; every region starts on a 4 KiB boundary except the SL, which
 * follows the header. The span LHV needs is sl_area_offset + sl_area_size
 * bytes.
 *
 * crc32 is the CRC-32 (zlib polynomial, as zlib.crc32) of the whole file
 * computed with the crc32 field set to zero. tools/mkimage.c writes it;
 * init checks every field (image_check) before it copies a byte.
 */
#ifndef XMHF_IMAGE_H
#define XMHF_IMAGE_H

#include "types.h"

#define LHV_IMAGE_MAGIC 0x4956484cu /* the bytes "LHVI" */
#define LHV_IMAGE_VERSION 2 /* 2: the runtime is packed */

#define LHV_SUBARCH_I386 1
#define LHV_SUBARCH_AMD64 2

#define LHV_IMAGE_FLAG_DEBUG (1u << 0) /* built with --debug */

/* The SL is linked at link_base + LHV_SL_OFFSET; the runtime at the first
 * 4 KiB boundary after the SL. */
#define LHV_SL_OFFSET 0x100u

struct lhv_image_header {
    u32 magic;          /* LHV_IMAGE_MAGIC */
    u16 version;        /* LHV_IMAGE_VERSION */
    u16 header_size;    /* sizeof(struct lhv_image_header) */
    u32 subarch;        /* LHV_SUBARCH_I386 or LHV_SUBARCH_AMD64 */
    u32 flags;          /* LHV_IMAGE_FLAG_* */
    u64 link_base;      /* physical address the image is linked to run at */
    u32 file_size;      /* bytes in the file, this header included */
    u32 sl_offset;      /* SL: offset in the file and from link_base; size in bytes */
    u32 sl_size;
    u32 packed_offset;  /* the packed runtime: offset in the file and size */
    u32 packed_size;
    u32 runtime_offset; /* the runtime's code and data, unpacked: offset from */
    u32 runtime_size;   /* link_base (after the SL) and size */
    u32 bss_offset;     /* runtime bss, not stored: after the runtime */
    u32 bss_size;
    u32 sl_area_offset; /* boot parameters, SL stack and page tables */
    u32 sl_area_size;
    u32 sl_entry;       /* offset of the SL entry point (32-bit code) */
    u32 runtime_entry;  /* offset of the runtime entry point */
    u32 runtime_crc32;  /* CRC-32 of the runtime unpacked: init checks its unpacking */
    u32 crc32;          /* see above */
    u32 reserved;       /* zero (the header's size a multiple of 8) */
};

STATIC_ASSERT(sizeof(struct lhv_image_header) == 88, "image header layout");

/* Memory span the image needs from link_base, in bytes. */
static inline u64 image_span(const struct lhv_image_header *h)
{
    return (u64)h->sl_area_offset + h->sl_area_size;
}

/* Checks a module that should hold an LHV image of the given subarch.
 * len is the number of bytes the module really has. Returns 0 when every
 * field is sound and the CRC matches (the packed stream itself is checked
 * as it is unpacked: lz_unpack); otherwise writes one line to msg
 * naming the field and the problem (e.g. "subarch: image is i386, this
 * init boots amd64"; "truncated: N of M bytes" and "is gzip-compressed: ..."
 * read after "module 0 ") and returns the LHV_IMAGE_E* code. */
enum image_error {
    LHV_IMAGE_OK = 0,
    LHV_IMAGE_E_TRUNCATED,   /* shorter than the header or than file_size */
    LHV_IMAGE_E_GZIP,        /* a gzip file: the loader did not unpack it */
    LHV_IMAGE_E_MAGIC,
    LHV_IMAGE_E_VERSION,
    LHV_IMAGE_E_HEADER_SIZE,
    LHV_IMAGE_E_SUBARCH,
    LHV_IMAGE_E_LINK_BASE,
    LHV_IMAGE_E_FILE_SIZE,   /* longer than file_size says */
    LHV_IMAGE_E_LAYOUT,      /* offsets, sizes or entry points out of place */
    LHV_IMAGE_E_RESERVED,    /* a reserved field is not zero */
    LHV_IMAGE_E_CRC,
};
int image_check(const void *buf, u64 len, u32 subarch, char *msg, size_t msglen);

/* CRC-32, zlib polynomial (reflected 0xEDB88320), as zlib.crc32(buf, crc). */
u32 crc32_update(u32 crc, const void *buf, size_t len);
/* crc32_update folds 16 bytes a step with PCLMULQDQ (on) or uses only its
 * tables (off, the default). On only where SSE is enabled (CR4.OSFXSR, CR0
 * EM and TS clear) and CPUID.01H:ECX[1] says PCLMULQDQ: init, around its
 * image check. */
void crc32_set_clmul(bool on);

#endif
