/* Host tests for xmhf/lib/image.c and crc32.c: the image header check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "boot_params.h"
#include "image.h"
#include "string.h"

/* A small valid image: in the file the header, the SL and the packed
 * runtime (random bytes: image_check does not unpack); in memory the
 * runtime, bss and the SL area after the SL. */
#define FILE_SIZE 0x5000u
#define LINK_BASE 0x10000000u
#define PACKED_OFFSET 0x2100u  /* where the SL ends */
#define RUNTIME_OFFSET 0x3000u /* the first 4 KiB boundary after the SL */

static u8 image[FILE_SIZE + 0x1000];
static char msg[256];

static struct lhv_image_header *hdr(void)
{
    return (struct lhv_image_header *)image;
}

/* Stores the CRC of the first file_size bytes with the field zeroed. */
static void seal(void)
{
    hdr()->crc32 = 0;
    hdr()->crc32 = crc32_update(0, image, hdr()->file_size);
}

static void build_image(u32 subarch)
{
    struct lhv_image_header h = {
        .magic = LHV_IMAGE_MAGIC,
        .version = LHV_IMAGE_VERSION,
        .header_size = sizeof(h),
        .subarch = subarch,
        .flags = 0,
        .link_base = LINK_BASE,
        .file_size = FILE_SIZE,
        .sl_offset = LHV_SL_OFFSET,
        .sl_size = 0x2000,
        .packed_offset = PACKED_OFFSET,
        .packed_size = FILE_SIZE - PACKED_OFFSET,
        .runtime_offset = RUNTIME_OFFSET,
        .runtime_size = 0x2000,
        .bss_offset = 0x5000,
        .bss_size = 0x3000,
        .sl_area_offset = 0x8000,
        .sl_area_size = LHV_SL_AREA_MIN,
        .sl_entry = LHV_SL_OFFSET,
        .runtime_entry = RUNTIME_OFFSET + 0x10,
    };
    size_t i;

    srand(3);
    for (i = 0; i < sizeof(image); i++)
        image[i] = (u8)rand();
    memcpy(image, &h, sizeof(h));
    seal();
}

/* Runs image_check on a copy of the first len bytes, in a buffer of
 * exactly that size (so ASan sees any read past it), at the given
 * misalignment; checks that the image is not modified and that a message
 * is one line. */
static int check_at(u64 len, u32 subarch, size_t misalign)
{
    u8 *buf = malloc(len + misalign + 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf + misalign, image, len);
    memset(msg, 'X', sizeof(msg));
    rc = image_check(buf + misalign, len, subarch, msg, sizeof(msg));
    assert_memory_equal(buf + misalign, image, len);
    free(buf);
    if (rc) {
        assert_true(strnlen(msg, sizeof(msg)) < sizeof(msg));
        assert_null(strchr(msg, '\n'));
    }
    return rc;
}

static int check(u64 len, u32 subarch)
{
    return check_at(len, subarch, 0);
}

/* The straightforward bit-at-a-time CRC-32, to compare with. */
static u32 crc32_bitwise(u32 crc, const u8 *p, size_t len)
{
    int k;

    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (crc & 1 ? 0xedb88320u : 0);
    }
    return ~crc;
}

static void test_crc32_vectors(void **state)
{
    static const char fox[] = "The quick brown fox jumps over the lazy dog";

    (void)state;
    assert_int_equal(crc32_update(0, "123456789", 9), 0xcbf43926);
    assert_int_equal(crc32_update(0, "", 0), 0);
    assert_int_equal(crc32_update(0, "a", 1), 0xe8b7be43);
    assert_int_equal(crc32_update(0, fox, strlen(fox)), 0x414fa339);
    assert_int_equal(crc32_update(0, "\0\0\0\0", 4), 0x2144df1c);
    /* in pieces, as zlib allows */
    assert_int_equal(crc32_update(crc32_update(0, "1234", 4), "56789", 5), 0xcbf43926);
    assert_int_equal(crc32_update(0xcbf43926, "", 0), 0xcbf43926);
}

static void test_crc32_reference(void **state)
{
    size_t len, split;

    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    for (len = 0; len < 300; len++)
        assert_int_equal(crc32_update(0, image + 7, len), crc32_bitwise(0, image + 7, len));
    assert_int_equal(crc32_update(0, image, sizeof(image)), crc32_bitwise(0, image, sizeof(image)));
    for (split = 0; split < 64; split++)
        assert_int_equal(crc32_update(crc32_update(0, image, split), image + split, 64 - split),
                         crc32_update(0, image, 64));
    assert_int_equal(crc32_update(0x12345678, image, 100), crc32_bitwise(0x12345678, image, 100));
}

/* The PCLMULQDQ path (init turns it on where the CPU has it) against the
 * bitwise reference: every length to 300 and offset to 15 (aligned or
 * not), the whole image, other starting values, and the image check */
static void test_crc32_clmul(void **state)
{
    (void)state;
    if (!__builtin_cpu_supports("pclmul"))
        skip();
    build_image(LHV_SUBARCH_AMD64);
    crc32_set_clmul(true);
    assert_int_equal(crc32_update(0, "123456789", 9), 0xcbf43926);
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len < 300; len++)
            assert_int_equal(crc32_update((u32)(len * 0x9e3779b9u), image + off, len),
                             crc32_bitwise((u32)(len * 0x9e3779b9u), image + off, len));
    assert_int_equal(crc32_update(0, image, sizeof(image)), crc32_bitwise(0, image, sizeof(image)));
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);
    crc32_set_clmul(false);
}

static void test_valid(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);
    assert_int_equal(check_at(FILE_SIZE, LHV_SUBARCH_AMD64, 1), LHV_IMAGE_OK);
    assert_int_equal(check_at(FILE_SIZE, LHV_SUBARCH_AMD64, 3), LHV_IMAGE_OK);
    build_image(LHV_SUBARCH_I386);
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_I386), LHV_IMAGE_OK);
}

/* Fields at the edge of what is allowed. */
static void test_valid_limits(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    hdr()->flags = LHV_IMAGE_FLAG_DEBUG | 0x80000000u;
    hdr()->sl_offset = sizeof(struct lhv_image_header);
    hdr()->sl_size = 0x3000 - sizeof(struct lhv_image_header); /* ends at the runtime */
    hdr()->packed_offset = 0x3000;                             /* right after the SL */
    hdr()->packed_size = FILE_SIZE - 0x3000;
    hdr()->sl_entry = 0x2fff;
    hdr()->runtime_entry = FILE_SIZE - 1;
    hdr()->bss_size = 0;
    hdr()->sl_area_offset = 0x5000;
    hdr()->sl_area_size = LHV_SL_AREA_MIN;
    hdr()->link_base = GiB(4) - image_span(hdr()); /* ends exactly at 4 GiB */
    seal();
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);

    /* a gap after the SL; a packed runtime that ends before the file, or is
     * empty; bss right after the runtime, with no gap */
    build_image(LHV_SUBARCH_AMD64);
    hdr()->packed_offset = 0x2200;
    hdr()->packed_size = 0x1000;
    hdr()->runtime_size = 0x1800;
    hdr()->bss_offset = 0x5000;
    seal();
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);
    hdr()->packed_offset = FILE_SIZE;
    hdr()->packed_size = 0;
    seal();
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);
}

static void test_gzip(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    image[0] = 0x1f;
    image[1] = 0x8b;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_GZIP);
    assert_string_equal(msg, "is gzip-compressed: the loader did not unpack it; give "
                             "QEMU the uncompressed hypervisor-x86-amd64.bin");
    assert_int_equal(check(2, LHV_SUBARCH_I386), LHV_IMAGE_E_GZIP);
    assert_string_equal(msg, "is gzip-compressed: the loader did not unpack it; give "
                             "QEMU the uncompressed hypervisor-x86-i386.bin");
    /* one byte cannot tell */
    assert_int_equal(check(1, LHV_SUBARCH_AMD64), LHV_IMAGE_E_TRUNCATED);
    /* the magic bytes reversed are not gzip */
    image[0] = 0x8b;
    image[1] = 0x1f;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_MAGIC);
}

static void test_truncated(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    assert_int_equal(check(0, LHV_SUBARCH_AMD64), LHV_IMAGE_E_TRUNCATED);
    assert_string_equal(msg, "truncated: 0 of at least 88 bytes");
    assert_int_equal(check(87, LHV_SUBARCH_AMD64), LHV_IMAGE_E_TRUNCATED);
    assert_string_equal(msg, "truncated: 87 of at least 88 bytes");
    assert_int_equal(check(88, LHV_SUBARCH_AMD64), LHV_IMAGE_E_TRUNCATED);
    assert_string_equal(msg, "truncated: 88 of 20480 bytes");
    assert_int_equal(check(FILE_SIZE - 1, LHV_SUBARCH_AMD64), LHV_IMAGE_E_TRUNCATED);
    assert_string_equal(msg, "truncated: 20479 of 20480 bytes");
}

static void test_longer_than_file_size(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    assert_int_equal(check(FILE_SIZE + 1, LHV_SUBARCH_AMD64), LHV_IMAGE_E_FILE_SIZE);
    assert_string_equal(msg, "file_size: 20480, but the module has 20481 bytes");
    assert_int_equal(check(sizeof(image), LHV_SUBARCH_AMD64), LHV_IMAGE_E_FILE_SIZE);
}

/* One header field set to a bad value, and what image_check must say. */
struct corruption {
    size_t offset, size;
    u64 value;
    int code;
    const char *message; /* the exact message, or its start */
};

#define FIELD(f) offsetof(struct lhv_image_header, f), sizeof(((struct lhv_image_header *)0)->f)

static const struct corruption corruptions[] = {
    { FIELD(magic), 0, LHV_IMAGE_E_MAGIC,
      "magic: 0x00000000, expected 0x4956484c (\"LHVI\"): not an LHV image" },
    { FIELD(magic), 0x4c484956, LHV_IMAGE_E_MAGIC, "magic: 0x4c484956," },
    { FIELD(magic), LHV_IMAGE_MAGIC ^ 0x100, LHV_IMAGE_E_MAGIC, "magic:" },
    { FIELD(version), 0, LHV_IMAGE_E_VERSION, "version: 0, this init reads version 2" },
    { FIELD(version), 1, LHV_IMAGE_E_VERSION, "version: 1, this init reads version 2" },
    { FIELD(version), 3, LHV_IMAGE_E_VERSION, "version: 3, this init reads version 2" },
    { FIELD(version), 0xffff, LHV_IMAGE_E_VERSION, "version: 65535," },
    { FIELD(header_size), 72, LHV_IMAGE_E_HEADER_SIZE, "header_size: 72, expected 88" },
    { FIELD(header_size), 96, LHV_IMAGE_E_HEADER_SIZE, "header_size: 96, expected 88" },
    { FIELD(header_size), 0, LHV_IMAGE_E_HEADER_SIZE, "header_size: 0, expected 88" },
    { FIELD(subarch), LHV_SUBARCH_I386, LHV_IMAGE_E_SUBARCH,
      "subarch: image is i386, this init boots amd64" },
    { FIELD(subarch), 0, LHV_IMAGE_E_SUBARCH,
      "subarch: image is unknown (0), this init boots amd64" },
    { FIELD(subarch), 3, LHV_IMAGE_E_SUBARCH,
      "subarch: image is unknown (3), this init boots amd64" },
    { FIELD(subarch), 0xffffffff, LHV_IMAGE_E_SUBARCH,
      "subarch: image is unknown (4294967295), this init boots amd64" },
    { FIELD(link_base), 0, LHV_IMAGE_E_LINK_BASE, "link_base: 0," },
    { FIELD(link_base), LINK_BASE + 0x800, LHV_IMAGE_E_LINK_BASE,
      "link_base: 0x10000800 is not 4 KiB aligned" },
    { FIELD(link_base), LINK_BASE + 1, LHV_IMAGE_E_LINK_BASE, "link_base: 0x10000001 is not" },
    { FIELD(link_base), GiB(4) - 0xb000, LHV_IMAGE_E_LINK_BASE,
      "link_base: 0xffff5000 plus the span 0x12000 ends above 4 GiB" },
    { FIELD(link_base), GiB(4), LHV_IMAGE_E_LINK_BASE, "link_base: 0x100000000 plus" },
    { FIELD(link_base), 0xfffffffffffff000ULL, LHV_IMAGE_E_LINK_BASE,
      "link_base: 0xfffffffffffff000 plus" },
    { FIELD(file_size), FILE_SIZE + 1, LHV_IMAGE_E_TRUNCATED,
      "truncated: 20480 of 20481 bytes" },
    { FIELD(file_size), 0xffffffff, LHV_IMAGE_E_TRUNCATED,
      "truncated: 20480 of 4294967295 bytes" },
    { FIELD(file_size), FILE_SIZE - 1, LHV_IMAGE_E_FILE_SIZE,
      "file_size: 20479, but the module has 20480 bytes" },
    { FIELD(file_size), 0, LHV_IMAGE_E_FILE_SIZE, "file_size: 0," },
    { FIELD(sl_offset), 0, LHV_IMAGE_E_LAYOUT, "sl_offset: 0x0 is inside the header (0x58 bytes)" },
    { FIELD(sl_offset), 0x57, LHV_IMAGE_E_LAYOUT, "sl_offset: 0x57 is inside the header" },
    { FIELD(sl_offset), 0x4000, LHV_IMAGE_E_LAYOUT,
      "sl_size: the SL [0x4000, 0x6000) ends after file_size 0x5000" },
    { FIELD(sl_offset), 0xffffff00, LHV_IMAGE_E_LAYOUT,
      "sl_size: the SL [0xffffff00, 0x100001f00) ends after" },
    { FIELD(sl_size), 0x4f01, LHV_IMAGE_E_LAYOUT, "sl_size: the SL [0x100, 0x5001) ends after" },
    { FIELD(sl_size), 0xffffffff, LHV_IMAGE_E_LAYOUT,
      "sl_size: the SL [0x100, 0x1000000ff) ends after" },
    { FIELD(sl_size), 0x2001, LHV_IMAGE_E_LAYOUT,
      "packed_offset: 0x2100, expected at or after the end of the SL 0x2101" },
    { FIELD(packed_offset), 0x20ff, LHV_IMAGE_E_LAYOUT,
      "packed_offset: 0x20ff, expected at or after the end of the SL 0x2100" },
    { FIELD(packed_offset), 0, LHV_IMAGE_E_LAYOUT, "packed_offset: 0x0," },
    { FIELD(packed_offset), 0x2200, LHV_IMAGE_E_LAYOUT,
      "packed_size: the packed runtime [0x2200, 0x5100) ends after file_size 0x5000" },
    { FIELD(packed_offset), 0xffffff00, LHV_IMAGE_E_LAYOUT,
      "packed_size: the packed runtime [0xffffff00, 0x100002e00) ends after" },
    { FIELD(packed_size), 0x2f01, LHV_IMAGE_E_LAYOUT,
      "packed_size: the packed runtime [0x2100, 0x5001) ends after" },
    { FIELD(packed_size), 0xffffffff, LHV_IMAGE_E_LAYOUT,
      "packed_size: the packed runtime [0x2100, 0x1000020ff) ends after" },
    { FIELD(runtime_offset), 0x3100, LHV_IMAGE_E_LAYOUT,
      "runtime_offset: 0x3100, expected 4 KiB aligned and at or after the end of the SL 0x2100" },
    { FIELD(runtime_offset), 0x3001, LHV_IMAGE_E_LAYOUT, "runtime_offset: 0x3001," },
    { FIELD(runtime_offset), 0, LHV_IMAGE_E_LAYOUT, "runtime_offset: 0x0," },
    { FIELD(runtime_offset), 0x2000, LHV_IMAGE_E_LAYOUT, "runtime_offset: 0x2000," },
    { FIELD(runtime_offset), 0x4000, LHV_IMAGE_E_LAYOUT,
      "bss_offset: 0x5000, expected 4 KiB aligned and at or after the end of the runtime 0x6000" },
    { FIELD(runtime_offset), 0xfffff000, LHV_IMAGE_E_LAYOUT,
      "bss_offset: 0x5000, expected 4 KiB aligned and at or after the end of the runtime "
      "0x100001000" },
    { FIELD(runtime_size), 0x2001, LHV_IMAGE_E_LAYOUT,
      "bss_offset: 0x5000, expected 4 KiB aligned and at or after the end of the runtime 0x5001" },
    { FIELD(runtime_size), 0xffffffff, LHV_IMAGE_E_LAYOUT, "bss_offset:" },
    { FIELD(bss_offset), 0x4000, LHV_IMAGE_E_LAYOUT,
      "bss_offset: 0x4000, expected 4 KiB aligned and at or after the end of the runtime 0x5000" },
    { FIELD(bss_offset), 0x4fff, LHV_IMAGE_E_LAYOUT, "bss_offset: 0x4fff," },
    { FIELD(bss_offset), 0x5800, LHV_IMAGE_E_LAYOUT, "bss_offset: 0x5800," },
    { FIELD(bss_offset), 0, LHV_IMAGE_E_LAYOUT, "bss_offset: 0x0," },
    { FIELD(bss_size), 0x3001, LHV_IMAGE_E_LAYOUT,
      "sl_area_offset: 0x8000, expected 4 KiB aligned and at least the end of bss 0x8001" },
    { FIELD(bss_size), 0xffffffff, LHV_IMAGE_E_LAYOUT,
      "sl_area_offset: 0x8000, expected 4 KiB aligned and at least the end of bss 0x100004fff" },
    { FIELD(sl_area_offset), 0x7000, LHV_IMAGE_E_LAYOUT, "sl_area_offset: 0x7000," },
    { FIELD(sl_area_offset), 0x8800, LHV_IMAGE_E_LAYOUT, "sl_area_offset: 0x8800," },
    { FIELD(sl_area_offset), 0, LHV_IMAGE_E_LAYOUT, "sl_area_offset: 0x0," },
    { FIELD(sl_area_offset), 0xfffff000, LHV_IMAGE_E_LINK_BASE,
      "link_base: 0x10000000 plus the span 0x100009000 ends above 4 GiB" },
    { FIELD(sl_area_size), LHV_SL_AREA_MIN - 1, LHV_IMAGE_E_LAYOUT,
      "sl_area_size: 0x9fff, expected at least 0xa000" },
    { FIELD(sl_area_size), 0, LHV_IMAGE_E_LAYOUT, "sl_area_size: 0x0," },
    { FIELD(sl_area_size), 0xffffffff, LHV_IMAGE_E_LINK_BASE, "link_base:" },
    { FIELD(sl_entry), 0xff, LHV_IMAGE_E_LAYOUT,
      "sl_entry: 0xff is outside the SL [0x100, 0x2100)" },
    { FIELD(sl_entry), 0x2100, LHV_IMAGE_E_LAYOUT, "sl_entry: 0x2100 is outside" },
    { FIELD(sl_entry), 0x3000, LHV_IMAGE_E_LAYOUT, "sl_entry: 0x3000 is outside" },
    { FIELD(sl_entry), 0, LHV_IMAGE_E_LAYOUT, "sl_entry: 0x0 is outside" },
    { FIELD(runtime_entry), 0x2fff, LHV_IMAGE_E_LAYOUT,
      "runtime_entry: 0x2fff is outside the runtime [0x3000, 0x5000)" },
    { FIELD(runtime_entry), 0x5000, LHV_IMAGE_E_LAYOUT, "runtime_entry: 0x5000 is outside" },
    { FIELD(runtime_entry), 0x100, LHV_IMAGE_E_LAYOUT, "runtime_entry: 0x100 is outside" },
    { FIELD(runtime_entry), 0xffffffff, LHV_IMAGE_E_LAYOUT, "runtime_entry: 0xffffffff is" },
    { FIELD(reserved), 1, LHV_IMAGE_E_RESERVED, "reserved: 0x1, expected 0" },
    { FIELD(reserved), 0x80000000, LHV_IMAGE_E_RESERVED, "reserved: 0x80000000, expected 0" },
};

static void set_field(size_t offset, size_t size, u64 value)
{
    memcpy(image + offset, &value, size); /* the host is little-endian, as x86 */
}

/* Each bad field, with a correct CRC, gives its error and names it. */
static void test_corrupt_fields(void **state)
{
    const struct corruption *c;
    size_t i;

    (void)state;
    for (i = 0; i < ARRAY_SIZE(corruptions); i++) {
        c = &corruptions[i];
        build_image(LHV_SUBARCH_AMD64);
        set_field(c->offset, c->size, c->value);
        if (hdr()->file_size <= FILE_SIZE)
            seal();
        assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), c->code);
        msg[strlen(c->message)] = '\0';
        assert_string_equal(msg, c->message);
    }
}

/* A wrong subarch is reported from the side of an i386 init too. */
static void test_subarch_i386_init(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_I386), LHV_IMAGE_E_SUBARCH);
    assert_string_equal(msg, "subarch: image is amd64, this init boots i386");
}

static void test_crc(void **state)
{
    char expect[128];
    u32 good;
    size_t i;

    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    good = hdr()->crc32;
    hdr()->crc32 = good ^ 1;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_CRC);
    snprintf(expect, sizeof(expect),
             "crc32: stored 0x%08x, computed 0x%08x", good ^ 1,
             good);
    assert_string_equal(msg, expect);

    /* one flipped bit anywhere: in the header's unchecked flags, the SL,
     * the packed runtime, the last byte */
    hdr()->crc32 = good;
    for (i = offsetof(struct lhv_image_header, flags); i < FILE_SIZE;
         i = i < sizeof(struct lhv_image_header) ? sizeof(struct lhv_image_header) : i + 61) {
        image[i] ^= 0x10;
        assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_CRC);
        assert_memory_equal(msg, "crc32: stored ", 14);
        image[i] ^= 0x10;
    }
    image[FILE_SIZE - 1] ^= 0x80;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_CRC);
    image[FILE_SIZE - 1] ^= 0x80;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_OK);
}

/* The CRC field itself counts as zero: a CRC that covers its own stored
 * value would not match. */
static void test_crc_field_zeroed(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    hdr()->crc32 = 0xdeadbeef;
    hdr()->crc32 = crc32_update(0, image, FILE_SIZE);
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_CRC);
}

/* Several faults at once: the first in the documented order is reported. */
static void test_order(void **state)
{
    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    hdr()->magic = 0;
    hdr()->version = 9;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_MAGIC);
    hdr()->magic = LHV_IMAGE_MAGIC;
    hdr()->header_size = 1;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_VERSION);
    hdr()->version = LHV_IMAGE_VERSION;
    hdr()->subarch = LHV_SUBARCH_I386;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_HEADER_SIZE);
    hdr()->header_size = sizeof(struct lhv_image_header);
    hdr()->link_base = 1;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_SUBARCH);
    hdr()->subarch = LHV_SUBARCH_AMD64;
    hdr()->file_size = FILE_SIZE - 0x1000;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_LINK_BASE);
    hdr()->link_base = LINK_BASE;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_FILE_SIZE);
    hdr()->file_size = FILE_SIZE;
    hdr()->sl_entry = 0;
    assert_int_equal(check(FILE_SIZE, LHV_SUBARCH_AMD64), LHV_IMAGE_E_LAYOUT);
    /* the gzip test comes before the length test */
    image[0] = 0x1f;
    image[1] = 0x8b;
    assert_int_equal(check(10, LHV_SUBARCH_AMD64), LHV_IMAGE_E_GZIP);
}

static void test_msg_cut(void **state)
{
    char small[12];

    (void)state;
    build_image(LHV_SUBARCH_AMD64);
    hdr()->subarch = LHV_SUBARCH_I386;
    memset(small, 'X', sizeof(small));
    assert_int_equal(image_check(image, FILE_SIZE, LHV_SUBARCH_AMD64, small, 9),
                     LHV_IMAGE_E_SUBARCH);
    assert_string_equal(small, "subarch:");
    assert_int_equal(small[9], 'X');
    memset(small, 'X', sizeof(small));
    assert_int_equal(image_check(image, FILE_SIZE, LHV_SUBARCH_AMD64, small, 0),
                     LHV_IMAGE_E_SUBARCH);
    assert_int_equal(small[0], 'X');
    hdr()->subarch = LHV_SUBARCH_AMD64;
    assert_int_equal(image_check(image, FILE_SIZE, LHV_SUBARCH_AMD64, small, 0), LHV_IMAGE_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32_vectors),
        cmocka_unit_test(test_crc32_reference),
        cmocka_unit_test(test_crc32_clmul),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_valid_limits),
        cmocka_unit_test(test_gzip),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_longer_than_file_size),
        cmocka_unit_test(test_corrupt_fields),
        cmocka_unit_test(test_subarch_i386_init),
        cmocka_unit_test(test_crc),
        cmocka_unit_test(test_crc_field_zeroed),
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_msg_cut),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
