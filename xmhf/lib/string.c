/* The C string functions the stages need (the host tests use libc's). */
#include "string.h"

void *memcpy(void *dst, const void *src, size_t n)
{
#if defined(__i386__) || defined(__x86_64__)
    void *d = dst;
    size_t words = n / 4;

    /* Four bytes a step, then the rest, as memset: Bochs steps a string
     * instruction element by element (a tick each) */
    asm volatile("rep movsl" : "+D"(d), "+S"(src), "+c"(words) : : "memory");
    n &= 3;
    asm volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
#else
    u8 *d = dst;
    const u8 *s = src;

    while (n--)
        *d++ = *s++;
#endif
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
#if defined(__i386__) || defined(__x86_64__)
    void *d = dst;
    size_t words = n / 4;
    u32 pattern = (u8)c * 0x01010101u;

    /* Four bytes a step, then the rest: init clears a bss of megabytes, and
     * emulators (Bochs) step string instructions element by element. */
    asm volatile("rep stosl" : "+D"(d), "+c"(words) : "a"(pattern) : "memory");
    n &= 3;
    asm volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
#else
    u8 *d = dst;

    while (n--)
        *d++ = (u8)c;
#endif
    return dst;
}

/* Copies forwards when dst is below src, else backwards: overlap is safe. */
void *memmove(void *dst, const void *src, size_t n)
{
    u8 *d = dst;
    const u8 *s = src;

    if (d < s || d >= s + n) {
        memcpy(d, s, n); /* copies forwards: safe when dst is below src */
    } else {
        while (n--)
            d[n] = s[n];
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;

    for (; n; x++, y++, n--)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;

    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (u8)*a - (u8)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; a++, b++, n--)
        if (*a != *b || !*a)
            return (u8)*a - (u8)*b;
    return 0;
}

/* Finds c (converted to char) in s; the terminating NUL counts. */
char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}
