/* The platform report printed before SUMMARY (docs/output.md): which CPU
 * and L0 the run had, then one line per test with its verdict, in a form
 * two runs' logs can be diffed by (or compared with test3.py --compare). */
#include "report.h"
#include "console.h"
#include "emulator.h"
#include "string.h"
#include "verdict.h"
#include "x86.h"

#define CPUID_EXT_MAX 0x80000000u
#define CPUID_BRAND_FIRST 0x80000002u
#define CPUID_BRAND_LEAVES 3

/* The 48-byte brand string, without its padding; "unknown" when the CPU
 * has none. Unprintable bytes and quotes become '?'. */
static void brand_string(char out[49])
{
    char raw[48];
    u32 from = 0, to = 0, n = 0;

    if (cpuid(CPUID_EXT_MAX, 0).eax < CPUID_BRAND_FIRST + CPUID_BRAND_LEAVES - 1) {
        strlcpy(out, "unknown", 49);
        return;
    }
    for (u32 i = 0; i < CPUID_BRAND_LEAVES; i++) {
        struct cpuid_regs r = cpuid(CPUID_BRAND_FIRST + i, 0);
        memcpy(raw + 16 * i + 0, &r.eax, 4);
        memcpy(raw + 16 * i + 4, &r.ebx, 4);
        memcpy(raw + 16 * i + 8, &r.ecx, 4);
        memcpy(raw + 16 * i + 12, &r.edx, 4);
    }
    while (to < sizeof raw && raw[to])
        to++;
    while (from < to && raw[from] == ' ')
        from++;
    while (to > from && raw[to - 1] == ' ')
        to--;
    for (u32 i = from; i < to; i++)
        out[n++] = (raw[i] >= 0x20 && raw[i] < 0x7f && raw[i] != '"') ? raw[i] : '?';
    out[n] = '\0';
    if (n == 0)
        strlcpy(out, "unknown", 49);
}

void report_platform(bool table)
{
    char brand[49];
    u32 sig = cpuid(1, 0).eax;
    u32 family = (sig >> 8) & 0xf, model = (sig >> 4) & 0xf, stepping = sig & 0xf;
    u32 count, dropped;
    const struct verdict_record *r = verdict_records(&count, &dropped);

    /* The displayed family and model, as the SDM defines them */
    if (family == 0xf)
        family += (sig >> 20) & 0xff;
    if (family == 0x6 || family >= 0xf)
        model += ((sig >> 16) & 0xf) << 4;
    brand_string(brand);
    printf("platform: CPU \"%s\", family %u model %u stepping %u, L0: %s\n", brand, family,
           model, stepping, emulator_name(emulator_detect()));
    for (u32 i = 0; table && i < count; i++)
        printf("table: %s %s\n", r[i].name, r[i].kind);
    if (table && dropped)
        printf("platform: the table holds %u tests; %u more not listed\n",
               (u32)VERDICT_RECORDS_MAX, dropped);
}
