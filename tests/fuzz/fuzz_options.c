/* libFuzzer harness for the command line (xmhf/lib/options.c, parse.c): the
 * input is the command line. It is parsed as init and the runtime parse it,
 * with the kernel's path skipped as for QEMU, and again into an error buffer
 * of exactly the size the first input byte picks, so AddressSanitizer sees
 * any write past a short buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "options.h"
#include "string.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lhv_options o;
    char err[512];
    char *cmdline, *small;
    size_t smalllen;

    cmdline = malloc(size + 1);
    if (!cmdline)
        return 0;
    memcpy(cmdline, data, size);
    cmdline[size] = '\0';

    options_default(&o);
    options_parse(cmdline, &o, err, sizeof(err));
    options_default(&o);
    options_parse(cmdline_skip_loader_path(cmdline, "qemu"), &o, err, sizeof(err));

    smalllen = size ? (size_t)data[0] % 80 + 1 : 1;
    small = malloc(smalllen);
    if (small) {
        options_default(&o);
        options_parse(cmdline, &o, small, smalllen);
        free(small);
    }
    free(cmdline);
    return 0;
}
