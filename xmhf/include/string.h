/* Freestanding string and formatting helpers (xmhf/lib). The same code runs
 * in init, SL, runtime and the host unit tests. */
#ifndef XMHF_STRING_H
#define XMHF_STRING_H

#include <stdarg.h>
#include "types.h"

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Copies at most size-1 bytes and always NUL-terminates (size > 0). Returns
 * strlen(src), so a result >= size means the copy was cut. */
size_t strlcpy(char *dst, const char *src, size_t size);

/* printf formatting with: %d %i %u %x %X %p %s %c %%, flags '-' and '0',
 * a field width (or *), a precision for %s (or .*), and the length
 * modifiers hh h l ll z. Always NUL-terminates when size > 0; returns the
 * length the full output would have. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Parses an unsigned number: decimal, or hex with a 0x prefix. The whole
 * of s[0..len) must be digits. Returns 0 and sets *out, or -1. */
int parse_u64(const char *s, size_t len, u64 *out);

#endif
