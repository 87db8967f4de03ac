/* image_check: init's check of the LHV image before it copies a byte. */
#include "boot_params.h"
#include "image.h"
#include "string.h"

#define CRC_OFFSET offsetof(struct lhv_image_header, crc32)

/* Writes the message and returns the error code. */
__attribute__((format(printf, 4, 5)))
static int image_fail(int code, char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return code;
}

/* Name of a subarch; an unknown one is written to tmp as "unknown (N)". */
static const char *image_subarch_name(u32 subarch, char *tmp, size_t size)
{
    if (subarch == LHV_SUBARCH_I386)
        return "i386";
    if (subarch == LHV_SUBARCH_AMD64)
        return "amd64";
    snprintf(tmp, size, "unknown (%u)", subarch);
    return tmp;
}

/* Checks the offsets, sizes and entry points against each other and
 * file_size (already known to match the module): in the file the SL, then
 * the packed runtime; in memory the SL, then the runtime, its bss and the
 * SL area. Sums are computed in u64, so no u32 field can wrap around. */
static int check_layout(const struct lhv_image_header *h, char *msg, size_t msglen)
{
    const int e = LHV_IMAGE_E_LAYOUT;
    u64 sl_end = (u64)h->sl_offset + h->sl_size;
    u64 packed_end = (u64)h->packed_offset + h->packed_size;
    u64 rt_end = (u64)h->runtime_offset + h->runtime_size;
    u64 bss_end = (u64)h->bss_offset + h->bss_size;

    if (h->sl_offset < h->header_size)
        return image_fail(e, msg, msglen, "sl_offset: 0x%x is inside the header (0x%x bytes)",
                          h->sl_offset, h->header_size);
    if (sl_end > h->file_size)
        return image_fail(e, msg, msglen,
                          "sl_size: the SL [0x%x, 0x%llx) ends after file_size 0x%x",
                          h->sl_offset, sl_end, h->file_size);
    if (h->packed_offset < sl_end)
        return image_fail(e, msg, msglen,
                          "packed_offset: 0x%x, expected at or after the end of the SL 0x%llx",
                          h->packed_offset, sl_end);
    if (packed_end > h->file_size)
        return image_fail(e, msg, msglen,
                          "packed_size: the packed runtime [0x%x, 0x%llx) ends after "
                          "file_size 0x%x",
                          h->packed_offset, packed_end, h->file_size);
    if (h->runtime_offset < sl_end || !IS_ALIGNED(h->runtime_offset, PAGE_SIZE))
        return image_fail(e, msg, msglen,
                          "runtime_offset: 0x%x, expected 4 KiB aligned and at or after the end "
                          "of the SL 0x%llx",
                          h->runtime_offset, sl_end);
    if (h->bss_offset < rt_end || !IS_ALIGNED(h->bss_offset, PAGE_SIZE))
        return image_fail(e, msg, msglen,
                          "bss_offset: 0x%x, expected 4 KiB aligned and at or after the end of "
                          "the runtime 0x%llx",
                          h->bss_offset, rt_end);
    if (h->sl_area_offset < bss_end || !IS_ALIGNED(h->sl_area_offset, PAGE_SIZE))
        return image_fail(e, msg, msglen,
                          "sl_area_offset: 0x%x, expected 4 KiB aligned and at least the end of "
                          "bss 0x%llx",
                          h->sl_area_offset, bss_end);
    if (h->sl_area_size < LHV_SL_AREA_MIN)
        return image_fail(e, msg, msglen, "sl_area_size: 0x%x, expected at least 0x%x",
                          h->sl_area_size, LHV_SL_AREA_MIN);
    if (h->sl_entry < h->sl_offset || h->sl_entry >= sl_end)
        return image_fail(e, msg, msglen, "sl_entry: 0x%x is outside the SL [0x%x, 0x%llx)",
                    h->sl_entry, h->sl_offset, sl_end);
    if (h->runtime_entry < h->runtime_offset || h->runtime_entry >= rt_end)
        return image_fail(e, msg, msglen,
                          "runtime_entry: 0x%x is outside the runtime [0x%x, 0x%llx)",
                          h->runtime_entry, h->runtime_offset, rt_end);
    return LHV_IMAGE_OK;
}

/* Checks link_base: nonzero, 4 KiB aligned, and the span ends by 4 GiB. */
static int check_link_base(const struct lhv_image_header *h, char *msg, size_t msglen)
{
    const int e = LHV_IMAGE_E_LINK_BASE;
    u64 base = h->link_base, span = image_span(h);

    if (!base)
        return image_fail(e, msg, msglen, "link_base: 0, expected the address the image runs at");
    if (!IS_ALIGNED(base, PAGE_SIZE))
        return image_fail(e, msg, msglen, "link_base: 0x%llx is not 4 KiB aligned", base);
    if (span > GiB(4) || base > GiB(4) - span)
        return image_fail(e, msg, msglen, "link_base: 0x%llx plus the span 0x%llx ends above 4 GiB",
                          base, span);
    return LHV_IMAGE_OK;
}

/* See image.h. The checks run in a fixed order and stop at the first
 * failure: gzip, truncated header, magic, version, header_size, subarch,
 * link_base, file_size, layout, reserved, CRC. */
int image_check(const void *buf, u64 len, u32 subarch, char *msg, size_t msglen)
{
    static const u8 zero[4];
    const u8 *p = buf;
    struct lhv_image_header h;
    char tmp1[24], tmp2[24];
    u32 crc;
    int rc;

    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return image_fail(LHV_IMAGE_E_GZIP, msg, msglen,
                          "is gzip-compressed: the loader did not unpack it; "
                          "give QEMU the uncompressed hypervisor-x86-%s.bin",
                          image_subarch_name(subarch, tmp1, sizeof(tmp1)));
    if (len < sizeof(h))
        return image_fail(LHV_IMAGE_E_TRUNCATED, msg, msglen,
                          "truncated: %llu of at least %zu bytes", len, sizeof(h));
    memcpy(&h, buf, sizeof(h));
    if (h.magic != LHV_IMAGE_MAGIC)
        return image_fail(LHV_IMAGE_E_MAGIC, msg, msglen,
                          "magic: 0x%08x, expected 0x%08x (\"LHVI\"): not an LHV image", h.magic,
                          LHV_IMAGE_MAGIC);
    if (h.version != LHV_IMAGE_VERSION)
        return image_fail(LHV_IMAGE_E_VERSION, msg, msglen,
                          "version: %u, this init reads version %u", h.version, LHV_IMAGE_VERSION);
    if (h.header_size != sizeof(h))
        return image_fail(LHV_IMAGE_E_HEADER_SIZE, msg, msglen, "header_size: %u, expected %zu",
                          h.header_size, sizeof(h));
    if (h.subarch != subarch)
        return image_fail(LHV_IMAGE_E_SUBARCH, msg, msglen,
                          "subarch: image is %s, this init boots %s",
                          image_subarch_name(h.subarch, tmp1, sizeof(tmp1)),
                          image_subarch_name(subarch, tmp2, sizeof(tmp2)));
    rc = check_link_base(&h, msg, msglen);
    if (rc)
        return rc;
    if (h.file_size > len)
        return image_fail(LHV_IMAGE_E_TRUNCATED, msg, msglen, "truncated: %llu of %u bytes", len,
                          h.file_size);
    if (h.file_size < len)
        return image_fail(LHV_IMAGE_E_FILE_SIZE, msg, msglen,
                          "file_size: %u, but the module has %llu bytes", h.file_size, len);
    rc = check_layout(&h, msg, msglen);
    if (rc)
        return rc;
    if (h.reserved)
        return image_fail(LHV_IMAGE_E_RESERVED, msg, msglen, "reserved: 0x%x, expected 0",
                          h.reserved);
    crc = crc32_update(0, p, CRC_OFFSET);
    crc = crc32_update(crc, zero, sizeof(zero));
    crc = crc32_update(crc, p + CRC_OFFSET + 4, h.file_size - CRC_OFFSET - 4);
    if (crc != h.crc32)
        return image_fail(LHV_IMAGE_E_CRC, msg, msglen, "crc32: stored 0x%08x, computed 0x%08x",
                          h.crc32, crc);
    return LHV_IMAGE_OK;
}
