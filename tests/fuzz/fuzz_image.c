/* libFuzzer harness for the image header check (xmhf/lib/image.c) and the
 * runtime's unpacker (xmhf/lib/lz.c): the input is module 0, checked as the
 * i386 and as the amd64 init check it. When the check passes, the header's
 * own promises are checked too: what init copies from the file must lie in
 * it, what it writes in the span; then the packed runtime is unpacked into a
 * buffer of the runtime's size (the sanitizers watch both ends). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"
#include "lz.h"

/* Unpacks as init does, at most 1 MiB of output (a fuzzer's input can ask
 * for 4 GiB). */
static void unpack(const uint8_t *data, const struct lhv_image_header *h)
{
    size_t at;

    if (h->runtime_size > (1u << 20))
        return;
    uint8_t *out = malloc(h->runtime_size ? h->runtime_size : 1);
    if (!out)
        abort();
    if (lz_unpack(out, h->runtime_size, data + h->packed_offset, h->packed_size, &at) != LZ_OK &&
        at > h->packed_size)
        abort();
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const u32 subarchs[] = { LHV_SUBARCH_I386, LHV_SUBARCH_AMD64 };
    struct lhv_image_header h;
    char msg[200];

    for (size_t i = 0; i < sizeof(subarchs) / sizeof(subarchs[0]); i++) {
        if (image_check(data, size, subarchs[i], msg, sizeof(msg)) != LHV_IMAGE_OK)
            continue;
        memcpy(&h, data, sizeof(h));
        if (h.file_size != size || (u64)h.sl_offset + h.sl_size > h.file_size ||
            (u64)h.packed_offset + h.packed_size > h.file_size ||
            (u64)h.runtime_offset + h.runtime_size > image_span(&h) ||
            h.link_base + image_span(&h) > 0x100000000ull)
            abort();
        unpack(data, &h);
    }
    return 0;
}
