/* VM-entry/VM-exit MSR areas and MSR bitmaps (msr_area.h). */
#include "alloc.h"
#include "end.h"
#include "vmx/msr_area.h"
#include "vmx.h"

void msr_area_reset(struct vmx_msr_area *a)
{
    if (!a->entries)
        a->entries = alloc_pages(1);
    for (u32 i = 0; i < a->count; i++)
        a->entries[i] = (struct vmx_msr_entry){0, 0, 0};
    a->count = 0;
}

struct vmx_msr_entry *msr_area_add(struct vmx_msr_area *a, u32 index, u64 value)
{
    if (!a->entries)
        msr_area_reset(a);
    if (a->count >= MSR_AREA_CAPACITY)
        fatal("MSR area full (%u entries): a bug in the caller", a->count);
    struct vmx_msr_entry *e = &a->entries[a->count++];
    e->index = index;
    e->reserved = 0;
    e->value = value;
    return e;
}

struct vmx_msr_entry *msr_area_find(const struct vmx_msr_area *a, u32 index)
{
    for (u32 i = 0; i < a->count; i++)
        if (a->entries[i].index == index)
            return &a->entries[i];
    return NULL;
}

u32 msr_area_limit(void)
{
    return 512u * ((u32)(vmx_caps.misc >> 25 & 7) + 1);
}

static void set_area(u32 addr_field, u32 count_field, const struct vmx_msr_area *a)
{
    if (a && a->count) {
        vmw(addr_field, (uintptr_t)a->entries);
        vmw(count_field, a->count);
    } else {
        vmw(count_field, 0);
    }
}

void vmx_set_msr_areas(const struct vmx_msr_area *entry_load,
                       const struct vmx_msr_area *exit_store,
                       const struct vmx_msr_area *exit_load)
{
    set_area(VM_ENTRY_MSR_LOAD_ADDR, VM_ENTRY_MSR_LOAD_COUNT, entry_load);
    set_area(VM_EXIT_MSR_STORE_ADDR, VM_EXIT_MSR_STORE_COUNT, exit_store);
    set_area(VM_EXIT_MSR_LOAD_ADDR, VM_EXIT_MSR_LOAD_COUNT, exit_load);
}

#define MSR_LOW_LAST 0x1fffu
#define MSR_HIGH_FIRST 0xc0000000u
#define MSR_HIGH_LAST 0xc0001fffu

bool msr_bitmap_covers(u32 msr)
{
    return msr <= MSR_LOW_LAST || (msr >= MSR_HIGH_FIRST && msr <= MSR_HIGH_LAST);
}

/* Byte offset in the page of the bitmap holding msr's bit. */
static u32 bitmap_base(u32 msr, bool write)
{
    return (write ? 2048u : 0u) + (msr >= MSR_HIGH_FIRST ? 1024u : 0u);
}

bool msr_bitmap_set(u8 *bitmap, u32 msr, unsigned int which, bool intercept)
{
    if (!msr_bitmap_covers(msr))
        return false;
    u32 bit = msr & 0x1fff;
    for (int write = 0; write < 2; write++) {
        if (!(which & (write ? MSR_BITMAP_WRITE : MSR_BITMAP_READ)))
            continue;
        u8 *byte = &bitmap[bitmap_base(msr, write) + bit / 8];
        if (intercept)
            *byte = (u8)(*byte | (1u << (bit % 8)));
        else
            *byte = (u8)(*byte & ~(1u << (bit % 8)));
    }
    return true;
}

bool msr_bitmap_exits(const u8 *bitmap, u32 msr, bool write)
{
    if (!msr_bitmap_covers(msr))
        return true;
    u32 bit = msr & 0x1fff;
    return bitmap[bitmap_base(msr, write) + bit / 8] >> (bit % 8) & 1;
}
