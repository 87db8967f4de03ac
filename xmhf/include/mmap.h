/* Memory-map handling: the loader's map may be unsorted and its entries may
 * overlap. mmap_normalize turns it into sorted, disjoint ranges in which a
 * byte claimed by both usable and another type counts as not usable. */
#ifndef XMHF_MMAP_H
#define XMHF_MMAP_H

#include "boot_params.h"

/* Writes the normalized map of in[0..n) to out (room for max entries; out
 * must not overlap in):
 * sorted by base, no overlaps, zero-length entries dropped, adjacent
 * entries of one type merged; for overlapping entries the more restrictive
 * type wins (anything else over usable; the larger type number otherwise).
 * Returns the number of entries written, or -1 when out is too small. */
int mmap_normalize(const struct lhv_mmap_entry *in, u32 n, struct lhv_mmap_entry *out,
                   u32 max);

/* True when every byte of [base, base+len) is usable RAM in the normalized
 * map (len > 0, no wrap-around). */
bool mmap_range_usable(const struct lhv_mmap_entry *map, u32 n, u64 base, u64 len);

/* First byte after the highest usable RAM in the map (0 when none). */
u64 mmap_usable_top(const struct lhv_mmap_entry *map, u32 n);

/* Name of a memory type: "usable", "reserved", "ACPI", "NVS" or "bad";
 * types multiboot does not define are reserved. */
const char *mmap_type_name(u32 type);

/* True when [a, a+alen) and [b, b+blen) share a byte (no sum is formed,
 * so ranges that end at 2^64 work). */
static inline bool ranges_overlap(u64 a, u64 alen, u64 b, u64 blen)
{
    if (!alen || !blen)
        return false;
    return a >= b ? a - b < blen : b - a < alen;
}

#endif
