/* libFuzzer harness for the image header check (xmhf/lib/image.c): the input
 * is module 0, checked as the i386 and as the amd64 init check it. When the
 * check passes, the header's own promises are checked too: what init copies
 * and zeroes from it must lie inside the file and the span. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const u32 subarchs[] = { LHV_SUBARCH_I386, LHV_SUBARCH_AMD64 };
    struct lhv_image_header h;
    char msg[200];

    for (size_t i = 0; i < sizeof(subarchs) / sizeof(subarchs[0]); i++) {
        if (image_check(data, size, subarchs[i], msg, sizeof(msg)) != LHV_IMAGE_OK)
            continue;
        memcpy(&h, data, sizeof(h));
        if (h.file_size != size || image_span(&h) < h.file_size ||
            h.link_base + image_span(&h) > 0x100000000ull)
            abort();
    }
    return 0;
}
