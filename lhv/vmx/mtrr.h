/* Memory types from the MTRRs (SDM 3A 12.11): a snapshot of the MTRR MSRs
 * and pure functions that give the type of an address or of a range. The
 * EPT identity map gives each page the type the MTRRs give its address, so
 * that a guest sees the memory types the host sees. No MSR access here: the
 * host unit tests (tests/unit/test_ept.c) build snapshots by hand. */
#ifndef LHV_VMX_MTRR_H
#define LHV_VMX_MTRR_H

#include "types.h"

/* Memory type encodings (12.11.2; the same numbers in EPT entries) */
#define MTRR_TYPE_UC 0
#define MTRR_TYPE_WC 1
#define MTRR_TYPE_WT 4
#define MTRR_TYPE_WP 5
#define MTRR_TYPE_WB 6
#define MTRR_TYPE_MIXED 0xff /* a range whose pages do not share one type */

/* MSRs (SDM Vol. 4, table 2-2) */
#define MSR_IA32_MTRRCAP 0xfe
#define MTRRCAP_VCNT_MASK 0xffu     /* bits 7:0: variable ranges */
#define MTRRCAP_FIX (1u << 8)       /* fixed ranges supported */
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MTRR_DEF_TYPE_MASK 0xffu    /* bits 7:0: default type */
#define MTRR_DEF_FE (1u << 10)      /* fixed ranges enabled */
#define MTRR_DEF_E (1u << 11)       /* MTRRs enabled */
#define MSR_IA32_MTRR_PHYSBASE0 0x200 /* PHYSBASEn = 0x200 + 2n, PHYSMASKn = 0x201 + 2n */
#define MTRR_PHYSMASK_VALID (1u << 11)
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268 /* ... 0x26f = FIX4K_F8000 */
#define CPUID1_EDX_MTRR (1u << 12)

#define MTRR_FIXED_MSRS 11   /* 1 x 64 KiB, 2 x 16 KiB, 8 x 4 KiB sub-ranges */
#define MTRR_FIXED_RANGES 88 /* 8 per MSR, one byte each (12.11.2.2) */
#define MTRR_FIXED_END 0x100000ull /* the fixed ranges cover the first MiB */
#define MTRR_VAR_MAX 32

struct mtrr_var {
    u64 base; /* IA32_MTRR_PHYSBASEn: bits 7:0 type, MAXPHYADDR-1:12 base */
    u64 mask; /* IA32_MTRR_PHYSMASKn: bit 11 valid, MAXPHYADDR-1:12 mask */
};

struct mtrr_state {
    bool enabled;       /* the CPU has MTRRs and IA32_MTRR_DEF_TYPE.E is set */
    bool fixed_enabled; /* IA32_MTRRCAP.FIX and IA32_MTRR_DEF_TYPE.FE */
    u8 default_type;    /* IA32_MTRR_DEF_TYPE bits 7:0 */
    u8 fixed[MTRR_FIXED_RANGES]; /* the type of each fixed range, by address */
    u32 var_count;      /* variable ranges read (at most MTRR_VAR_MAX) */
    struct mtrr_var var[MTRR_VAR_MAX];
    u64 addr_mask;      /* physical-address bits MAXPHYADDR-1:12 */
};

/* Fills s->fixed from the 11 fixed-range MSRs in the order FIX64K_00000,
 * FIX16K_80000, FIX16K_A0000, FIX4K_C0000 ... FIX4K_F8000; byte i of an
 * MSR is the type of its i-th sub-range. */
void mtrr_set_fixed(struct mtrr_state *s, const u64 msr[MTRR_FIXED_MSRS]);

/* The address-mask for a MAXPHYADDR (CPUID.80000008H:EAX[7:0]). */
u64 mtrr_addr_mask(u32 maxphyaddr);

/* The memory type the MTRRs give one physical address (12.11.4.1): UC when
 * they are disabled; the fixed range below 1 MiB when fixed ranges are on;
 * otherwise the variable ranges that match (UC wins; WT and WB give WT; any
 * other overlap is undefined in the SDM and gives UC here), else the
 * default type. */
u8 mtrr_type_at(const struct mtrr_state *s, u64 addr);

/* The type of every byte of [base, base + len) when they all share one,
 * else MTRR_TYPE_MIXED (also for len 0). base and len need not be aligned
 * to anything. The work is a few steps per power of two in the range, and
 * at worst (a variable range that cuts through it) one per 4 KiB page. */
u8 mtrr_range_type(const struct mtrr_state *s, u64 base, u64 len);

/* "UC", "WC", "WT", "WP", "WB", or "reserved" */
const char *mtrr_type_name(u8 type);

#endif
