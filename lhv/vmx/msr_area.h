/* MSR switching on VM entry and VM exit (SDM 3C 25.7.2, 25.8.2: areas of
 * 16-byte entries) and MSR bitmaps (25.6.9), for the current VMCS. */
#ifndef LHV_VMX_MSR_AREA_H
#define LHV_VMX_MSR_AREA_H

#include "types.h"

/* One entry: bits 31:0 MSR index, 63:32 reserved (0), 127:64 the value. */
struct vmx_msr_entry {
    u32 index;
    u32 reserved;
    u64 value;
};

/* An area of up to one page (256 entries); the page is 16-byte aligned as
 * the address fields require. */
struct vmx_msr_area {
    struct vmx_msr_entry *entries;
    u32 count;
};
#define MSR_AREA_CAPACITY (PAGE_SIZE / sizeof(struct vmx_msr_entry))

/* Empties the area (allocating its page on first use). */
void msr_area_reset(struct vmx_msr_area *a);
/* Appends an entry and returns it; FATAL when the page is full. */
struct vmx_msr_entry *msr_area_add(struct vmx_msr_area *a, u32 index, u64 value);
/* The first entry for index, or NULL. */
struct vmx_msr_entry *msr_area_find(const struct vmx_msr_area *a, u32 index);
/* The recommended maximum number of entries in one area: 512 * (N + 1)
 * with N = IA32_VMX_MISC bits 27:25 (appendix A.6). */
u32 msr_area_limit(void);
/* Points the current VMCS's VM-entry MSR-load, VM-exit MSR-store and
 * VM-exit MSR-load fields (address and count) at the areas; NULL means
 * none (count 0). */
void vmx_set_msr_areas(const struct vmx_msr_area *entry_load,
                       const struct vmx_msr_area *exit_store,
                       const struct vmx_msr_area *exit_load);

/* MSR bitmap (one 4 KiB page): read bitmap for low MSRs (0-0x1fff) at
 * byte 0, for high MSRs (0xc0000000-0xc0001fff) at 1024, write bitmaps at
 * 2048 and 3072. A set bit makes RDMSR/WRMSR of that MSR exit (26.1.3). */
#define MSR_BITMAP_READ 1u
#define MSR_BITMAP_WRITE 2u

/* True when msr has a bit in the bitmaps (the others always exit). */
bool msr_bitmap_covers(u32 msr);
/* Sets (intercept) or clears the read and/or write bit of msr; returns
 * false when the MSR is outside both ranges. */
bool msr_bitmap_set(u8 *bitmap, u32 msr, unsigned int which, bool intercept);
/* Whether RDMSR (write false) or WRMSR (write true) of msr exits with
 * "use MSR bitmaps" set and this bitmap. */
bool msr_bitmap_exits(const u8 *bitmap, u32 msr, bool write);

#endif
