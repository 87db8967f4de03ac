/* The L0's memory and the guest's (docs/l0.md "Memory").
 *
 * The L0 is linked at SL_BASE (256 MiB), which is where the guest -- the
 * same LHV -- wants its own image, and its allocator pool follows it. The
 * guest's defaults must work unchanged, so the L0 moves, not the guest: the
 * guest-physical range of the L0's footprint is backed by other host RAM
 * (the highest 2 MiB-aligned usable RAM below 4 GiB that is large enough
 * and holds no module), and that host range is absent from the guest's
 * memory map and not present in the EPT. No guest-physical address reaches
 * the L0's own memory; one that reaches the hidden range is an EPT
 * violation, which exits.c turns into a FATAL naming address and RIP. */
#include "alloc.h"
#include "l0/l0.h"

#ifdef __x86_64__
#include "mmap.h"
#include "string.h"
#include "vmx/ept.h"

struct l0_memory l0_mem;
static struct mtrr_state mtrr; /* outlives the EPT that points at it */

static bool overlaps_module(const struct lhv_boot_params *p, u64 base, u64 len)
{
    for (u32 i = 0; i < p->module_count; i++)
        if (ranges_overlap(base, len, p->modules[i].start,
                           p->modules[i].end - p->modules[i].start))
            return true;
    return false;
}

/* Copies the normalized map without [cut, cut+len) into the guest's map. */
static void guest_map(const struct lhv_mmap_entry *map, u32 n, u64 cut, u64 len)
{
    u32 out = 0;
    for (u32 i = 0; i < n && out + 2 <= LHV_MMAP_MAX; i++) {
        struct lhv_mmap_entry e = map[i];
        u64 end = e.base + e.length;
        if (e.type != LHV_MEM_USABLE || !ranges_overlap(e.base, e.length, cut, len)) {
            l0_mem.map[out++] = e;
            continue;
        }
        if (e.base < cut)
            l0_mem.map[out++] = (struct lhv_mmap_entry){e.base, cut - e.base, e.type, 0};
        if (end > cut + len)
            l0_mem.map[out++] = (struct lhv_mmap_entry){cut + len, end - cut - len, e.type, 0};
    }
    l0_mem.map_count = out;
}

const char *l0_memory_plan(const struct lhv_boot_params *p)
{
    static struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);

    if (n <= 0)
        return "the memory map cannot be read";
    /* The footprint: image, bss and SL area (image_span: per-CPU stacks,
     * VMXON/VMCS pages come from the pool), then alloc.c's pool. */
    l0_mem.own_base = p->image_base & ~(u64)(MiB(2) - 1);
    l0_mem.own_end = ALIGN_UP(p->image_base + p->image_span, MiB(2)) + ALLOC_POOL_SIZE;
    u64 size = l0_mem.own_end - l0_mem.own_base;

    /* The backing: the highest fit below 4 GiB, clear of the footprint and
     * of every module (the guest reads its modules where they are). */
    for (int i = n - 1; i >= 0; i--) {
        if (map[i].type != LHV_MEM_USABLE)
            continue;
        u64 lo = ALIGN_UP(map[i].base, MiB(2));
        u64 hi = map[i].base + map[i].length;
        if (hi > GiB(4))
            hi = GiB(4);
        for (u64 at = (hi & ~(u64)(MiB(2) - 1)); at >= lo + size && at >= size; at -= MiB(2)) {
            u64 b = at - size;
            if (b < MiB(16) || ranges_overlap(b, size, l0_mem.own_base, size) ||
                overlaps_module(p, b, size))
                continue;
            l0_mem.backing = b;
            guest_map(map, (u32)n, b, size);
            return NULL;
        }
    }
    return "no usable RAM below 4 GiB, clear of the modules, for a second copy of the L0's "
           "footprint";
}

u64 l0_gpa_to_hpa(u64 gpa)
{
    u64 size = l0_mem.own_end - l0_mem.own_base;
    if (gpa >= l0_mem.own_base && gpa < l0_mem.own_end)
        return l0_mem.backing + (gpa - l0_mem.own_base);
    if (gpa >= l0_mem.backing && gpa < l0_mem.backing + size)
        return ~0ull;
    return gpa;
}

bool l0_guest_ram(u64 gpa, u64 len)
{
    return mmap_range_usable(l0_mem.map, l0_mem.map_count, gpa, len);
}

void l0_memory_build_ept(void)
{
    struct ept *e = &l0_mem.ept;
    u64 size = l0_mem.own_end - l0_mem.own_base;

    mtrr_read(&mtrr);
    ept_build_identity(e, &mtrr, ept_identity_top());
    for (u64 off = 0; off < size; off += MiB(2)) {
        u64 hpa = l0_mem.backing + off;
        ept_map_2m(e, l0_mem.own_base + off, hpa, EPT_RWX, ept_type_for(e, hpa, MiB(2)));
        ept_map_2m(e, hpa, 0, 0, 0); /* not present: the hidden range */
    }
}
#endif
