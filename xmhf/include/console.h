/* Console output of every stage: the 16550 serial port (and port 0xe9 when
 * lhv.e9=1). Lines end in CRLF on the wire. */
#ifndef XMHF_CONSOLE_H
#define XMHF_CONSOLE_H

#include <stdarg.h>
#include "boot_params.h"

/* COM1 at 115200 8n1: what every stage uses until serial= is known */
void console_init_default(void);
void console_init(const struct lhv_serial_cfg *cfg, bool e9);
void console_write(const char *s, size_t n);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

#endif
