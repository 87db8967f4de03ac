/* I/O APIC redirection entries for ISA IRQs (ioapic.h). The MADT's
 * interrupt source overrides map an ISA IRQ to a global system interrupt
 * (GSI) and may change its polarity; without one, IRQ n is GSI n, active
 * high (ACPI 6.5, 5.2.12.5). */
#include "ioapic.h"

#define IOREGSEL 0x00
#define IOWIN 0x10
#define REG_VERSION 0x01 /* bits 23:16: the highest redirection entry */
#define REG_REDIR(n) (0x10 + 2 * (n))
#define REDIR_LEVEL (1u << 15)
#define REDIR_ACTIVE_LOW (1u << 13)
#define INTI_POLARITY_LOW 3u

static struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
static u32 nioapics;
static struct acpi_override overrides[ACPI_MAX_OVERRIDES];
static u32 noverrides;

void ioapic_init(const struct acpi_info *acpi)
{
    if (!acpi->have_madt)
        return;
    nioapics = acpi->nioapics;
    noverrides = acpi->noverrides;
    for (u32 i = 0; i < nioapics; i++)
        ioapics[i] = acpi->ioapics[i];
    for (u32 i = 0; i < noverrides; i++)
        overrides[i] = acpi->overrides[i];
}

static u32 reg_read(u32 base, u32 reg)
{
    *(volatile u32 *)(uintptr_t)(base + IOREGSEL) = reg;
    return *(volatile u32 *)(uintptr_t)(base + IOWIN);
}

static void reg_write(u32 base, u32 reg, u32 value)
{
    *(volatile u32 *)(uintptr_t)(base + IOREGSEL) = reg;
    *(volatile u32 *)(uintptr_t)(base + IOWIN) = value;
}

/* The I/O APIC and input that receive ISA IRQ irq, and its polarity. */
static bool find_input(u32 irq, u32 *base, u32 *pin, bool *active_low)
{
    u32 gsi = irq;
    *active_low = false;
    for (u32 i = 0; i < noverrides; i++)
        if (overrides[i].bus == 0 && overrides[i].source == irq) {
            gsi = overrides[i].gsi;
            *active_low = (overrides[i].flags & 3) == INTI_POLARITY_LOW;
        }
    for (u32 i = 0; i < nioapics; i++) {
        u32 entries = ((reg_read(ioapics[i].address, REG_VERSION) >> 16) & 0xff) + 1;
        if (gsi >= ioapics[i].gsi_base && gsi < ioapics[i].gsi_base + entries) {
            *base = ioapics[i].address;
            *pin = gsi - ioapics[i].gsi_base;
            return true;
        }
    }
    return false;
}

/* irq's redirection entry: masked while it changes, then dest (physical)
 * and low, with the polarity the MADT gives */
static bool route(u32 irq, u32 dest, u32 low_word)
{
    u32 base, pin;
    bool low;
    if (!find_input(irq, &base, &pin, &low))
        return false;
    reg_write(base, REG_REDIR(pin), IOAPIC_MASKED);
    reg_write(base, REG_REDIR(pin) + 1, dest << 24);
    reg_write(base, REG_REDIR(pin), low_word | (low ? REDIR_ACTIVE_LOW : 0));
    return true;
}

/* NMIs are edge-triggered whatever the override says (82093AA 3.2.4: the
 * NMI delivery mode ignores the vector and needs edge trigger). */
bool ioapic_nmi_route(u32 irq, u32 dest) { return route(irq, dest, IOAPIC_NMI); }

void ioapic_mask(u32 irq)
{
    u32 base, pin;
    bool low;
    if (find_input(irq, &base, &pin, &low))
        reg_write(base, REG_REDIR(pin), IOAPIC_MASKED);
}

bool ioapic_level_route(u32 irq, u32 vector, u32 dest)
{
    return route(irq, dest, REDIR_LEVEL | (vector & 0xff));
}

u32 ioapic_entry(u32 irq)
{
    u32 base, pin;
    bool low;
    return find_input(irq, &base, &pin, &low) ? reg_read(base, REG_REDIR(pin)) : 0;
}
