/* Memory-map normalization and queries. Addresses are u64; an entry whose
 * base + length passes 2^64 is clamped to end at 2^64 - 1 (its last byte is
 * dropped: an exclusive end of 2^64 does not fit in a u64). */
#include "mmap.h"

/* First byte after e, clamped as described above. */
static u64 entry_end(const struct lhv_mmap_entry *e)
{
    return e->base + e->length < e->base ? UINT64_MAX : e->base + e->length;
}

/* Which type wins an overlap: usable loses to anything (type 0 included),
 * otherwise the larger type number wins. */
static u64 type_rank(u32 type)
{
    return type == LHV_MEM_USABLE ? 0 : (u64)type + 1;
}

/* The smallest entry boundary (base or end) above at, or at when none. */
static u64 next_boundary(const struct lhv_mmap_entry *in, u32 n, u64 at)
{
    u64 next = at, b;
    u32 i;

    for (i = 0; i < n; i++) {
        if (!in[i].length)
            continue;
        b = in[i].base;
        if (b > at && (next == at || b < next))
            next = b;
        b = entry_end(&in[i]);
        if (b > at && (next == at || b < next))
            next = b;
    }
    return next;
}

/* The winning type of the entries that contain the byte at, or 0 with
 * *found false when none does. */
static u32 type_at(const struct lhv_mmap_entry *in, u32 n, u64 at, bool *found)
{
    u32 i, type = 0;

    *found = false;
    for (i = 0; i < n; i++) {
        if (at < in[i].base || at >= entry_end(&in[i]))
            continue;
        if (!*found || type_rank(in[i].type) > type_rank(type))
            type = in[i].type;
        *found = true;
    }
    return type;
}

/* See mmap.h. Sweeps the address space from boundary to boundary, skipping
 * holes; O(n^2), but needs no room of its own. 'reserved' fields are zeroed;
 * in and out must not overlap. */
int mmap_normalize(const struct lhv_mmap_entry *in, u32 n, struct lhv_mmap_entry *out,
                   u32 max)
{
    struct lhv_mmap_entry *last;
    u32 count = 0, type;
    u64 at, next;
    bool found;

    for (at = 0; (next = next_boundary(in, n, at)) != at; at = next) {
        type = type_at(in, n, at, &found);
        if (!found)
            continue;
        last = count ? &out[count - 1] : NULL;
        if (last && last->type == type && last->base + last->length == at) {
            last->length += next - at;
            continue;
        }
        if (count == max)
            return -1;
        out[count++] = (struct lhv_mmap_entry){ .base = at, .length = next - at, .type = type };
    }
    return (int)count;
}

/* See mmap.h. Follows usable entries from base upwards and also refuses a
 * range that any other entry touches, so an unnormalized map is safe too. */
bool mmap_range_usable(const struct lhv_mmap_entry *map, u32 n, u64 base, u64 len)
{
    u64 end = base + len, at = base;
    u32 i;
    bool moved = true;

    if (!len || end < base)
        return false;
    for (i = 0; i < n; i++)
        if (map[i].type != LHV_MEM_USABLE &&
            ranges_overlap(base, len, map[i].base, entry_end(&map[i]) - map[i].base))
            return false;
    while (at < end && moved) {
        moved = false;
        for (i = 0; i < n; i++) {
            if (map[i].type == LHV_MEM_USABLE && map[i].base <= at &&
                entry_end(&map[i]) > at) {
                at = entry_end(&map[i]);
                moved = true;
            }
        }
    }
    return at >= end;
}

/* See mmap.h. */
u64 mmap_usable_top(const struct lhv_mmap_entry *map, u32 n)
{
    u64 top = 0;
    u32 i;

    for (i = 0; i < n; i++)
        if (map[i].type == LHV_MEM_USABLE && map[i].length && entry_end(&map[i]) > top)
            top = entry_end(&map[i]);
    return top;
}

/* See mmap.h. */
const char *mmap_type_name(u32 type)
{
    switch (type) {
    case LHV_MEM_USABLE: return "usable";
    case LHV_MEM_ACPI: return "ACPI";
    case LHV_MEM_NVS: return "NVS";
    case LHV_MEM_BAD: return "bad";
    default: return "reserved";
    }
}
