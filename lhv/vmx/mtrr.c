/* Memory types from an MTRR snapshot (mtrr.h; SDM 3A 12.11). Pure: no MSR
 * access, no 64-bit division (the i386 runtime has no libgcc). */
#include "mtrr.h"

/* Fixed ranges (12.11.2.2): 8 x 64 KiB from 0, 16 x 16 KiB from 0x80000,
 * 64 x 4 KiB from 0xc0000. */
#define FIX64K_END 0x80000ull
#define FIX16K_END 0xc0000ull

void mtrr_set_fixed(struct mtrr_state *s, const u64 msr[MTRR_FIXED_MSRS])
{
    for (u32 i = 0; i < MTRR_FIXED_RANGES; i++)
        s->fixed[i] = (u8)(msr[i / 8] >> (8 * (i % 8)));
}

u64 mtrr_addr_mask(u32 maxphyaddr)
{
    if (maxphyaddr > 52)
        maxphyaddr = 52;
    if (maxphyaddr <= 12)
        return 0;
    return ((1ull << maxphyaddr) - 1) & ~0xfffull;
}

/* Index into s->fixed of an address below 1 MiB */
static u32 fixed_index(u64 addr)
{
    if (addr < FIX64K_END)
        return (u32)(addr >> 16);
    if (addr < FIX16K_END)
        return 8 + (u32)((addr - FIX64K_END) >> 14);
    return 24 + (u32)((addr - FIX16K_END) >> 12);
}

/* Size of the fixed range that holds an address below 1 MiB */
static u64 fixed_size(u64 addr)
{
    return addr < FIX64K_END ? 0x10000 : addr < FIX16K_END ? 0x4000 : 0x1000;
}

/* The outcome of the variable ranges (12.11.4.1) from the set of types of
 * the ranges that match, one bit per type. */
static u8 combine(const struct mtrr_state *s, u32 seen)
{
    if (seen == 0)
        return s->default_type;
    if (seen & (1u << MTRR_TYPE_UC))
        return MTRR_TYPE_UC;
    if ((seen & (seen - 1)) == 0) { /* one type */
        u8 t = 0;
        while (!(seen & 1)) {
            seen >>= 1;
            t++;
        }
        return t;
    }
    if (seen == ((1u << MTRR_TYPE_WT) | (1u << MTRR_TYPE_WB)))
        return MTRR_TYPE_WT;
    return MTRR_TYPE_UC; /* undefined overlap: the safe choice */
}

/* One bit per type; a type beyond 31 (writing one to an MTRR faults) is
 * taken as UC. */
static u32 type_bit(u64 base_msr)
{
    u8 t = (u8)base_msr;
    return t < 32 ? 1u << t : 1u << MTRR_TYPE_UC;
}

u8 mtrr_type_at(const struct mtrr_state *s, u64 addr)
{
    u32 seen = 0;

    if (!s->enabled)
        return MTRR_TYPE_UC;
    if (s->fixed_enabled && addr < MTRR_FIXED_END)
        return s->fixed[fixed_index(addr)];
    for (u32 i = 0; i < s->var_count; i++) {
        const struct mtrr_var *v = &s->var[i];
        u64 mask = v->mask & s->addr_mask;
        if ((v->mask & MTRR_PHYSMASK_VALID) && (addr & mask) == (v->base & mask))
            seen |= type_bit(v->base);
    }
    return combine(s, seen);
}

/* The type of [p, p + size) where size is a power of two, p a multiple of
 * it, and the block inside one fixed range when it is below 1 MiB. A
 * variable range matches every address of the block, none, or some: the
 * mask bits below size vary inside the block, so when the bits above
 * match, a set mask bit below size splits the block. Then each half is
 * looked at (the halves may still agree: UC over part of a WB range that
 * meets UC elsewhere). Masks have no bits below 12, so a split block is
 * larger than 4 KiB. */
static u8 block_type(const struct mtrr_state *s, u64 p, u64 size)
{
    u32 seen = 0;
    bool split = false;

    if (!s->enabled)
        return MTRR_TYPE_UC;
    if (s->fixed_enabled && p < MTRR_FIXED_END)
        return s->fixed[fixed_index(p)];
    for (u32 i = 0; i < s->var_count; i++) {
        const struct mtrr_var *v = &s->var[i];
        u64 mask = v->mask & s->addr_mask;
        if (!(v->mask & MTRR_PHYSMASK_VALID) || ((p ^ v->base) & mask & ~(size - 1)))
            continue;
        if (mask & (size - 1))
            split = true;
        else
            seen |= type_bit(v->base);
    }
    if (split) {
        u8 low = block_type(s, p, size >> 1);
        if (low == MTRR_TYPE_MIXED || block_type(s, p + (size >> 1), size >> 1) != low)
            return MTRR_TYPE_MIXED;
        return low;
    }
    return combine(s, seen);
}

u8 mtrr_range_type(const struct mtrr_state *s, u64 base, u64 len)
{
    u8 type = MTRR_TYPE_MIXED;
    u64 p = base, left = len;

    if (len == 0)
        return MTRR_TYPE_MIXED;
    if (!s->enabled)
        return MTRR_TYPE_UC;
    /* Walk the range in the largest aligned power-of-two blocks that fit,
     * and no larger than a fixed range below 1 MiB. */
    while (left) {
        u64 size = 1ull << (63 - __builtin_clzll(left)); /* the largest power of two in left */
        if (p & (size - 1))
            size = p & (~p + 1); /* p's alignment */
        if (s->fixed_enabled && p < MTRR_FIXED_END && size > fixed_size(p))
            size = fixed_size(p);
        u8 t = block_type(s, p, size);
        if (t == MTRR_TYPE_MIXED || (p != base && t != type))
            return MTRR_TYPE_MIXED;
        type = t;
        p += size;
        left -= size;
    }
    return type;
}

const char *mtrr_type_name(u8 type)
{
    switch (type) {
    case MTRR_TYPE_UC: return "UC";
    case MTRR_TYPE_WC: return "WC";
    case MTRR_TYPE_WT: return "WT";
    case MTRR_TYPE_WP: return "WP";
    case MTRR_TYPE_WB: return "WB";
    case MTRR_TYPE_MIXED: return "mixed";
    default: return "reserved";
    }
}
