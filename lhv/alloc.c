/* Bump allocator over one block of RAM after LHV's span (alloc.h). */
#include "alloc.h"
#include "end.h"
#include "mmap.h"
#include "spinlock.h"
#include "string.h"

static uintptr_t next, limit;
static struct spinlock lock;

bool alloc_init(const struct lhv_boot_params *p)
{
    struct lhv_mmap_entry map[LHV_MMAP_MAX];
    int n = mmap_normalize(p->mmap, p->mmap_count, map, LHV_MMAP_MAX);
    u64 start = ALIGN_UP(p->image_base + p->image_span, MiB(2));

    if (n <= 0 || start + ALLOC_POOL_SIZE > GiB(4) ||
        !mmap_range_usable(map, (u32)n, start, ALLOC_POOL_SIZE))
        return false;
    next = (uintptr_t)start;
    limit = (uintptr_t)(start + ALLOC_POOL_SIZE);
    return true;
}

void *alloc_pages(u32 n)
{
    spin_lock(&lock);
    uintptr_t p = next;
    if (!p || n > (limit - p) / PAGE_SIZE) {
        spin_unlock(&lock);
        fatal("out of memory for VMX structures and AP stacks (%u pages asked, pool %s): give the machine "
              "more RAM after LHV's base", n, p ? "used up" : "not found");
    }
    next += (uintptr_t)n * PAGE_SIZE;
    spin_unlock(&lock);
    memset((void *)p, 0, (size_t)n * PAGE_SIZE);
    return (void *)p;
}
