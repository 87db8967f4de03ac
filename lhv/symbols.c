/* Address to symbol name, by binary search in the sorted table. */
#include "symbols.h"

const char *symbol_name(unsigned long addr, unsigned long *offset)
{
    if (!lhv_symbols || !&lhv_symbol_count || !lhv_symbol_count || addr < lhv_symbols[0].address)
        return 0;
    unsigned lo = 0, hi = lhv_symbol_count; /* the answer is in [lo, hi) */
    while (hi - lo > 1) {
        unsigned mid = lo + (hi - lo) / 2;
        if (lhv_symbols[mid].address <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *offset = addr - lhv_symbols[lo].address;
    return lhv_symbols[lo].name;
}
