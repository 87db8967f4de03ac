/* Names for code addresses in stack traces. Debug builds link a table of
 * the runtime's text symbols (tools/symtab.py); release builds have none
 * and print bare addresses. */
#ifndef LHV_SYMBOLS_H
#define LHV_SYMBOLS_H

struct lhv_symbol {
    unsigned long address;
    const char *name;
};

extern const struct lhv_symbol lhv_symbols[] __attribute__((weak));
extern const unsigned lhv_symbol_count __attribute__((weak));

/* The symbol containing addr and addr's offset in it, or NULL. */
const char *symbol_name(unsigned long addr, unsigned long *offset);

#endif
