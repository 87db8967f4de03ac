/* ACPI table reader: see acpi.h. Offsets and layouts are those of the ACPI
 * 6.5 specification (RSDP 5.2.5.3, table header 5.2.6, FADT 5.2.9, MADT
 * 5.2.12, AML encoding 20.2). All multi-byte fields are little-endian and
 * may be unaligned: they are read byte by byte. */
#include "acpi.h"
#include "string.h"

#define HDR_LEN 36u          /* the common table header */
#define RSDP_V1_LEN 20u
#define RSDP_V2_LEN 36u
#define MADT_ENTRIES 44u     /* header, local APIC address, flags */
#define FADT_V1_LEN 116u     /* the ACPI 1.0 FADT: up to and with FLAGS */
#define EBDA_SCAN_LEN 1024u
#define BIOS_AREA_START 0xe0000u
#define BIOS_AREA_END 0x100000u

/* FADT field offsets */
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_ACPI_DISABLE 53
#define FADT_PM1A_EVT 56
#define FADT_PM1B_EVT 60
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_PM_TMR 76
#define FADT_BOOT_ARCH 109
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_EVT 148
#define FADT_X_PM1B_EVT 160
#define FADT_X_PM1A_CNT 172
#define FADT_X_PM1B_CNT 184
#define FADT_X_PM_TMR 208
#define GAS_LEN 12u

/* AML opcodes and prefixes */
#define AML_ZERO 0x00
#define AML_ONE 0x01
#define AML_NAME 0x08
#define AML_BYTE 0x0a
#define AML_WORD 0x0b
#define AML_DWORD 0x0c
#define AML_QWORD 0x0e
#define AML_PACKAGE 0x12
#define AML_ROOT '\\'
#define AML_ONES 0xff

static u16 rd16(const u8 *p) { return (u16)(p[0] | p[1] << 8); }
static u32 rd32(const u8 *p) { return (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24; }
static u64 rd64(const u8 *p) { return (u64)rd32(p) | (u64)rd32(p + 4) << 32; }

/* The bytes [addr, addr+len) of physical memory, or NULL when any of them
 * lies outside mem (or outside the address space of this build). */
static const u8 *phys_ptr(const struct phys_mem *mem, u64 addr, u64 len)
{
    if (addr > mem->size || len > mem->size - addr)
        return NULL;
    if (sizeof(uintptr_t) < sizeof(u64) && addr + len > (u64)UINTPTR_MAX + 1)
        return NULL;
    /* integer arithmetic: base may be 0 (identity-addressed memory) */
    return (const u8 *)((uintptr_t)mem->base + (uintptr_t)addr);
}

static u8 sum_bytes(const u8 *p, u32 len)
{
    u8 sum = 0;

    while (len--)
        sum = (u8)(sum + *p++);
    return sum;
}

/* The RSDP at addr, or NULL when there is none (signature, checksums). */
static const u8 *rsdp_at(const struct phys_mem *mem, u64 addr)
{
    const u8 *r = phys_ptr(mem, addr, RSDP_V1_LEN);

    if (!r || memcmp(r, "RSD PTR ", 8) != 0 || sum_bytes(r, RSDP_V1_LEN) != 0)
        return NULL;
    if (r[15] >= 2) {
        r = phys_ptr(mem, addr, RSDP_V2_LEN);
        if (!r || sum_bytes(r, RSDP_V2_LEN) != 0)
            return NULL;
    }
    return r;
}

/* Candidates start in [start, end), on 16-byte boundaries. */
static u64 rsdp_scan(const struct phys_mem *mem, u64 start, u64 end)
{
    for (u64 a = start; a < end; a += 16)
        if (rsdp_at(mem, a))
            return a;
    return 0;
}

u64 acpi_find_rsdp(const struct phys_mem *mem)
{
    const u8 *bda = phys_ptr(mem, 0x40e, 2);
    u64 found = 0;

    if (bda) {
        u64 ebda = (u64)rd16(bda) << 4;
        /* above the BDA, below the video memory */
        if (ebda >= 0x500 && ebda < 0xa0000)
            found = rsdp_scan(mem, ebda, ebda + EBDA_SCAN_LEN);
    }
    if (!found)
        found = rsdp_scan(mem, BIOS_AREA_START, BIOS_AREA_END);
    return found;
}

/* --- the reader's state and its one error message ------------------------ */

struct reader {
    const struct phys_mem *mem;
    struct acpi_info *info;
    char *msg;
    size_t msglen;
    int err;          /* the error the message is about (0: none yet) */
    bool err_is_madt; /* that message is about the MADT */
    u32 nssdts;
    u64 ssdts[ACPI_MAX_SSDTS];
};

/* Records an error; keeps the first, unless this one is about the MADT and
 * the kept one is not (the MADT decides how many CPUs run). */
__attribute__((format(printf, 4, 5)))
static int acpi_fail(struct reader *r, int code, bool madt, const char *fmt, ...)
{
    va_list ap;

    if (r->err && (r->err_is_madt || !madt))
        return code;
    r->err = code;
    r->err_is_madt = madt;
    if (r->msglen) {
        va_start(ap, fmt);
        vsnprintf(r->msg, r->msglen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* A signature as text, anything unprintable shown as '?'. */
static const char *sig_text(const u8 *sig, char buf[5])
{
    for (int i = 0; i < 4; i++)
        buf[i] = (sig[i] >= 0x20 && sig[i] < 0x7f) ? (char)sig[i] : '?';
    buf[4] = 0;
    return buf;
}

/* What a table is called in messages: its usual name, or its signature. */
static const char *table_name(const u8 *sig, char buf[5])
{
    if (memcmp(sig, "APIC", 4) == 0)
        return "MADT";
    if (memcmp(sig, "FACP", 4) == 0)
        return "FADT";
    return sig_text(sig, buf);
}

/* Reads the table at addr and checks it: header inside memory, signature
 * (when sig is not NULL), a length from min_len to ACPI_TABLE_MAX_LEN, the
 * whole table inside memory, checksum. what names it in messages when the
 * header cannot be read. On success sets *out and *len and returns 0. */
static int table_get(struct reader *r, u64 addr, const char *sig, u32 min_len, const char *what,
                     const u8 **out, u32 *len)
{
    const u8 *t = phys_ptr(r->mem, addr, HDR_LEN);
    char buf[5];
    const char *name;
    bool madt;
    u32 n;

    if (!t)
        return acpi_fail(r, ACPI_E_RANGE, sig && memcmp(sig, "APIC", 4) == 0,
                         "%s at 0x%llx: outside memory (0x%llx bytes)", what, addr, r->mem->size);
    if (sig && memcmp(t, sig, 4) != 0)
        return acpi_fail(r, ACPI_E_SIGNATURE, false, "%s at 0x%llx: signature '%s', not '%.4s'",
                         what, addr, sig_text(t, buf), sig);
    name = table_name(t, buf);
    madt = memcmp(t, "APIC", 4) == 0;
    n = rd32(t + 4);
    if (n < min_len || n < HDR_LEN)
        return acpi_fail(r, ACPI_E_LENGTH, madt, "%s at 0x%llx: length %u is less than %u", name,
                         addr, n, min_len < HDR_LEN ? HDR_LEN : min_len);
    if (n > ACPI_TABLE_MAX_LEN)
        return acpi_fail(r, ACPI_E_LENGTH, madt, "%s at 0x%llx: length %u is more than %u", name,
                         addr, n, ACPI_TABLE_MAX_LEN);
    t = phys_ptr(r->mem, addr, n);
    if (!t)
        return acpi_fail(r, ACPI_E_RANGE, madt,
                         "%s at 0x%llx: its %u bytes run past the end of memory (0x%llx bytes)",
                         name, addr, n, r->mem->size);
    u8 sum = sum_bytes(t, n);
    if (sum != 0)
        return acpi_fail(r, ACPI_E_CHECKSUM, madt,
                         "%s at 0x%llx: bad checksum (its %u bytes sum to 0x%02x, not 0)", name,
                         addr, n, sum);
    *out = t;
    *len = n;
    return 0;
}

/* --- MADT ------------------------------------------------------------------ */

static void madt_forget(struct acpi_info *info)
{
    info->have_madt = false;
    info->ncpus = info->nioapics = info->noverrides = info->nlapic_nmis = 0;
    info->cpus_disabled = info->cpus_online_capable = info->cpus_dropped = 0;
    info->madt_dropped = 0;
    info->lapic_address = 0;
    info->madt_flags = 0;
}

static void add_cpu(struct acpi_info *info, u8 entry, u32 apic_id, u32 uid, u32 flags)
{
    if (!(flags & 1)) {
        info->cpus_disabled++;
        if (flags & 2)
            info->cpus_online_capable++;
        return;
    }
    if (apic_id == ACPI_APIC_ID_NONE || (entry == ACPI_MADT_ENTRY_LAPIC && apic_id == 0xff) ||
        info->ncpus == ACPI_MAX_CPUS) {
        info->cpus_dropped++;
        return;
    }
    for (u32 i = 0; i < info->ncpus; i++) {
        if (info->cpus[i].apic_id == apic_id) {
            info->cpus_dropped++;
            return;
        }
    }
    info->cpus[info->ncpus].apic_id = apic_id;
    info->cpus[info->ncpus].uid = uid;
    info->cpus[info->ncpus].entry = entry;
    info->ncpus++;
}

static void add_lapic_nmi(struct acpi_info *info, u32 uid, u16 flags, u8 lint)
{
    if (info->nlapic_nmis == ACPI_MAX_LAPIC_NMIS) {
        info->madt_dropped++;
        return;
    }
    struct acpi_lapic_nmi *n = &info->lapic_nmis[info->nlapic_nmis++];
    n->uid = uid;
    n->flags = flags;
    n->lint = lint;
}

/* Smallest length of each entry type this reader looks at (0: not read). */
static u8 madt_entry_min(u8 type)
{
    switch (type) {
    case 0: return 8;   /* Processor Local APIC */
    case 1: return 12;  /* I/O APIC */
    case 2: return 10;  /* Interrupt Source Override */
    case 4: return 6;   /* Local APIC NMI */
    case 5: return 12;  /* Local APIC Address Override */
    case 9: return 16;  /* Processor Local x2APIC */
    case 10: return 12; /* Local x2APIC NMI */
    default: return 0;
    }
}

static void parse_madt(struct reader *r, u64 addr, const u8 *t, u32 len)
{
    struct acpi_info *info = r->info;
    u32 off;

    if (len < MADT_ENTRIES) {
        acpi_fail(r, ACPI_E_LENGTH, true, "MADT at 0x%llx: length %u is less than %u", addr, len,
                  MADT_ENTRIES);
        return;
    }
    info->madt = addr;
    info->lapic_address = rd32(t + 36);
    info->madt_flags = rd32(t + 40);
    for (off = MADT_ENTRIES; off < len; off += t[off + 1]) {
        const u8 *e = t + off;
        u8 type, elen;

        if (len - off < 2) {
            acpi_fail(r, ACPI_E_LENGTH, true,
                      "MADT at 0x%llx: entry at offset %u cut by the table's end (length %u)", addr,
                      off, len);
            goto broken;
        }
        type = e[0];
        elen = e[1];
        if (elen < 2 || elen > len - off) {
            acpi_fail(
                r, ACPI_E_LENGTH, true,
                "MADT at 0x%llx: entry type %u at offset %u has length %u, %s (table length %u)",
                addr, type, off, elen, elen < 2 ? "less than 2" : "past the table's end", len);
            goto broken;
        }
        if (elen < madt_entry_min(type)) {
            acpi_fail(r, ACPI_E_LENGTH, true,
                      "MADT at 0x%llx: entry type %u at offset %u has length %u, less than %u",
                      addr, type, off, elen, madt_entry_min(type));
            goto broken;
        }
        switch (type) {
        case 0:
            add_cpu(info, ACPI_MADT_ENTRY_LAPIC, e[3], e[2], rd32(e + 4));
            break;
        case 9:
            add_cpu(info, ACPI_MADT_ENTRY_X2APIC, rd32(e + 4), rd32(e + 12), rd32(e + 8));
            break;
        case 1:
            if (info->nioapics == ACPI_MAX_IOAPICS) {
                info->madt_dropped++;
                break;
            }
            info->ioapics[info->nioapics].id = e[2];
            info->ioapics[info->nioapics].address = rd32(e + 4);
            info->ioapics[info->nioapics].gsi_base = rd32(e + 8);
            info->nioapics++;
            break;
        case 2:
            if (info->noverrides == ACPI_MAX_OVERRIDES) {
                info->madt_dropped++;
                break;
            }
            info->overrides[info->noverrides].bus = e[2];
            info->overrides[info->noverrides].source = e[3];
            info->overrides[info->noverrides].gsi = rd32(e + 4);
            info->overrides[info->noverrides].flags = rd16(e + 8);
            info->noverrides++;
            break;
        case 4:
            add_lapic_nmi(info, e[2] == 0xff ? 0xffffffffu : e[2], rd16(e + 3), e[5]);
            break;
        case 10:
            add_lapic_nmi(info, rd32(e + 4), rd16(e + 2), e[8]);
            break;
        case 5:
            info->lapic_address = rd64(e + 4);
            break;
        default:
            break; /* other entry types: not needed */
        }
    }
    info->have_madt = true;
    return;
broken:
    madt_forget(info);
}

/* --- FADT ------------------------------------------------------------------ */

static struct acpi_gas read_gas(const u8 *p)
{
    struct acpi_gas g = {
        .space_id = p[0],
        .bit_width = p[1],
        .bit_offset = p[2],
        .access_size = p[3],
        .address = rd64(p + 4),
    };
    return g;
}

/* An I/O port from a 32-bit FADT block address (0 when absent or too big),
 * replaced by the X_ field at x_off when the table has it and it gives a
 * port in I/O space. */
static u16 fadt_port(const u8 *t, u32 len, u32 off, u32 x_off)
{
    u32 legacy = rd32(t + off);
    u16 port = legacy <= 0xffff ? (u16)legacy : 0;

    if (x_off + GAS_LEN <= len) {
        struct acpi_gas g = read_gas(t + x_off);
        if (g.address && g.address <= 0xffff && g.space_id == ACPI_GAS_IO)
            port = (u16)g.address;
    }
    return port;
}

static void parse_fadt(struct reader *r, u64 addr, const u8 *t, u32 len)
{
    struct acpi_info *info = r->info;

    if (len < FADT_V1_LEN) {
        acpi_fail(r, ACPI_E_LENGTH, false, "FADT at 0x%llx: length %u is less than %u", addr, len,
                  FADT_V1_LEN);
        return;
    }
    info->have_fadt = true;
    info->fadt = addr;
    info->fadt_revision = t[8];
    info->sci_irq = rd16(t + FADT_SCI_INT);
    info->smi_cmd = rd32(t + FADT_SMI_CMD) <= 0xffff ? (u16)rd32(t + FADT_SMI_CMD) : 0;
    info->acpi_enable = t[FADT_ACPI_ENABLE];
    info->acpi_disable = t[FADT_ACPI_DISABLE];
    info->pm1a_evt = fadt_port(t, len, FADT_PM1A_EVT, FADT_X_PM1A_EVT);
    info->pm1b_evt = fadt_port(t, len, FADT_PM1B_EVT, FADT_X_PM1B_EVT);
    info->pm1a_cnt = fadt_port(t, len, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
    info->pm1b_cnt = fadt_port(t, len, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
    info->pm_timer_port = fadt_port(t, len, FADT_PM_TMR, FADT_X_PM_TMR);
    info->iapc_boot_arch = t[8] >= 2 ? rd16(t + FADT_BOOT_ARCH) : 0;
    info->fadt_flags = rd32(t + FADT_FLAGS);
    info->pm_timer_32bit = (info->fadt_flags & ACPI_FADT_TMR_VAL_EXT) != 0;
    if ((info->fadt_flags & ACPI_FADT_RESET_REG_SUP) && len > FADT_RESET_VALUE) {
        info->reset_reg = read_gas(t + FADT_RESET_REG);
        info->reset_value = t[FADT_RESET_VALUE];
        info->have_reset = info->reset_reg.address != 0;
    }
    info->dsdt = rd32(t + FADT_DSDT);
    if (FADT_X_DSDT + 8 <= len && rd64(t + FADT_X_DSDT))
        info->dsdt = rd64(t + FADT_X_DSDT);
}

/* --- AML: Name(\_S5, Package(){ SLP_TYPa, SLP_TYPb, ... }) ---------------- */

/* Reads one integer constant at aml[*p] (below end) and advances *p. */
static bool aml_integer(const u8 *aml, u32 end, u32 *p, u64 *v)
{
    static const u8 size[] = { [AML_BYTE] = 1, [AML_WORD] = 2, [AML_DWORD] = 4, [AML_QWORD] = 8 };
    u8 op;

    if (*p >= end)
        return false;
    op = aml[(*p)++];
    if (op == AML_ZERO || op == AML_ONE) {
        *v = op;
        return true;
    }
    if (op == AML_ONES) {
        *v = ~0ull;
        return true;
    }
    if (op >= sizeof(size) || !size[op] || end - *p < size[op])
        return false;
    *v = 0;
    for (u32 i = 0; i < size[op]; i++)
        *v |= (u64)aml[*p + i] << (8 * i);
    *p += size[op];
    return true;
}

/* Looks for the \_S5 package in the AML body of a DSDT or SSDT. */
static bool aml_find_s5(const u8 *aml, u32 len, u8 *typ_a, u8 *typ_b)
{
    for (u32 i = 1; i + 4 < len; i++) {
        u32 name = i, p, pkg, pkg_end, nbytes, pkg_len;
        u64 v[2];
        u8 count, got;

        if (memcmp(aml + i, "_S5_", 4) != 0)
            continue;
        if (aml[name - 1] == AML_ROOT)
            name--;
        if (name == 0 || aml[name - 1] != AML_NAME)
            continue;
        p = i + 4;
        if (aml[p] != AML_PACKAGE)
            continue;
        /* PkgLength: bits 7-6 of the lead byte count the bytes after it */
        pkg = ++p;
        if (pkg >= len)
            continue;
        nbytes = aml[pkg] >> 6;
        if (len - pkg < 1 + nbytes)
            continue;
        pkg_len = nbytes ? aml[pkg] & 0x0f : aml[pkg] & 0x3f;
        for (u32 k = 0; k < nbytes; k++)
            pkg_len |= (u32)aml[pkg + 1 + k] << (4 + 8 * k);
        pkg_end = pkg_len > len - pkg ? len : pkg + pkg_len;
        p = pkg + 1 + nbytes;
        if (p >= pkg_end)
            continue;
        count = aml[p++];
        for (got = 0; got < 2 && got < count; got++)
            if (!aml_integer(aml, pkg_end, &p, &v[got]))
                break;
        if (got == 0)
            continue;
        if (got == 1 && count == 1) {
            /* one integer: SLP_TYPa in bits 0-7, SLP_TYPb in bits 8-15 */
            v[1] = v[0] >> 8;
        } else if (got < 2) {
            continue;
        }
        *typ_a = (u8)(v[0] & 7);
        *typ_b = (u8)(v[1] & 7);
        return true;
    }
    return false;
}

/* Scans a definition block (DSDT or SSDT) for \_S5. */
static void scan_s5(struct reader *r, u64 addr, const char *sig, const char *what)
{
    const u8 *t;
    u32 len;

    if (table_get(r, addr, sig, HDR_LEN, what, &t, &len) != 0)
        return;
    r->info->have_s5 =
        aml_find_s5(t + HDR_LEN, len - HDR_LEN, &r->info->s5_slp_typ_a, &r->info->s5_slp_typ_b);
}

/* --- the walk -------------------------------------------------------------- */

static void copy_id(char *dst, const u8 *src, u32 n)
{
    memcpy(dst, src, n);
    dst[n] = 0;
}

int acpi_parse(const struct phys_mem *mem, u64 rsdp, struct acpi_info *info, char *msg,
               size_t msglen)
{
    struct reader r = { .mem = mem, .info = info, .msg = msg, .msglen = msglen };
    const u8 *rp, *root;
    u32 root_len, entry_size;
    const char *root_name;
    u64 root_addr;

    memset(info, 0, sizeof(*info));
    if (msglen)
        msg[0] = 0;
    rp = rsdp_at(mem, rsdp);
    if (!rp) {
        const u8 *raw = phys_ptr(mem, rsdp, RSDP_V1_LEN);
        return acpi_fail(&r, ACPI_E_RSDP, false, "RSDP at 0x%llx: %s", rsdp,
                         !raw                              ? "outside memory"
                         : memcmp(raw, "RSD PTR ", 8) != 0 ? "no 'RSD PTR ' signature"
                                                           : "bad checksum");
    }
    info->rsdp = rsdp;
    info->rsdp_revision = rp[15];
    copy_id(info->oem_id, rp + 9, 6);
    if (rp[15] >= 2 && rd64(rp + 24)) {
        root_addr = rd64(rp + 24);
        root_name = "XSDT";
        entry_size = 8;
        info->xsdt = true;
    } else {
        root_addr = rd32(rp + 16);
        root_name = "RSDT";
        entry_size = 4;
    }
    info->root = root_addr;
    if (table_get(&r, root_addr, root_name, HDR_LEN, root_name, &root, &root_len) != 0)
        return r.err;
    copy_id(info->root_oem_table_id, root + 16, 8);

    for (u32 off = HDR_LEN; off + entry_size <= root_len; off += entry_size) {
        u64 addr = entry_size == 8 ? rd64(root + off) : rd32(root + off);
        u32 index = (off - HDR_LEN) >> (entry_size == 8 ? 3 : 2);
        char what[40];
        const u8 *t;
        u32 len;

        if (!addr)
            continue;
        info->ntables++;
        snprintf(what, sizeof(what), "%s entry %u", root_name, index);
        if (table_get(&r, addr, NULL, HDR_LEN, what, &t, &len) != 0)
            continue;
        if (memcmp(t, "APIC", 4) == 0 && !info->madt)
            parse_madt(&r, addr, t, len);
        else if (memcmp(t, "FACP", 4) == 0 && !info->have_fadt)
            parse_fadt(&r, addr, t, len);
        else if (memcmp(t, "SSDT", 4) == 0 && r.nssdts < ACPI_MAX_SSDTS)
            r.ssdts[r.nssdts++] = addr;
    }

    if (info->dsdt)
        scan_s5(&r, info->dsdt, "DSDT", "DSDT (from the FADT)");
    for (u32 i = 0; i < r.nssdts && !info->have_s5; i++)
        scan_s5(&r, r.ssdts[i], "SSDT", "SSDT");
    if (!info->madt)
        acpi_fail(&r, ACPI_E_NO_MADT, true,
                  "no MADT (APIC) among the %u tables of the %s at 0x%llx", info->ntables,
                  root_name, root_addr);
    return r.err;
}

u32 acpi_isa_irq_gsi(const struct acpi_info *info, u8 irq, u16 *flags)
{
    for (u32 i = 0; i < info->noverrides; i++) {
        if (info->overrides[i].bus == 0 && info->overrides[i].source == irq) {
            if (flags)
                *flags = info->overrides[i].flags;
            return info->overrides[i].gsi;
        }
    }
    if (flags)
        *flags = 0;
    return irq;
}
