/* 8259A PIC (Intel 8259A data sheet; the PC wiring: slave on master IRQ2).
 * Every line starts masked; a driver unmasks its own. An EOI goes to each
 * controller that took part. A spurious IRQ7/IRQ15 (the line dropped before
 * the acknowledge) has no ISR bit set: it is counted and not acknowledged,
 * except that the master did take part in a spurious IRQ15 (via IRQ2). */
#include "desc.h"
#include "pic.h"
#include "x86.h"

#define MASTER_CMD 0x20
#define SLAVE_CMD 0xa0
#define SLAVE_DATA 0xa1

#define ICW1_INIT 0x10
#define ICW1_ICW4 0x01      /* ICW4 follows */
#define ICW3_MASTER 0x04    /* a slave on IRQ2 */
#define ICW3_SLAVE 0x02     /* its cascade identity */
#define ICW4_8086 0x01
#define OCW2_EOI 0x20
#define OCW3_READ_ISR 0x0b
#define CASCADE_IRQ 2

STATIC_ASSERT(PIC_MASTER_BASE >= 32 && PIC_SLAVE_BASE >= 32,
              "IRQs must not land on exception vectors (0-31)");

static irq_handler irq_handlers[16];
static u32 spurious;

static u8 read_isr(u16 cmd_port)
{
    outb(cmd_port, OCW3_READ_ISR);
    return inb(cmd_port);
}

static void eoi(u32 irq)
{
    if (irq >= 8)
        outb(SLAVE_CMD, OCW2_EOI);
    outb(MASTER_CMD, OCW2_EOI);
}

/* True (and counted) when IRQ7 or IRQ15 came without its ISR bit. */
static bool is_spurious(u32 irq)
{
    if (irq == 7 && !(read_isr(MASTER_CMD) & 0x80)) {
        spurious++;
        return true;
    }
    if (irq == 15 && !(read_isr(SLAVE_CMD) & 0x80)) {
        spurious++;
        outb(MASTER_CMD, OCW2_EOI); /* the master saw IRQ2 */
        return true;
    }
    return false;
}

static void pic_interrupt(struct trap_frame *f)
{
    u32 irq = (u32)f->vector - PIC_MASTER_BASE;

    if (is_spurious(irq))
        return;
    if (irq_handlers[irq])
        irq_handlers[irq](f);
    eoi(irq);
}

static void set_masks(u16 masks)
{
    outb(PIC_MASTER_DATA, (u8)masks);
    outb(SLAVE_DATA, (u8)(masks >> 8));
}

u16 pic_masks(void) { return (u16)(inb(PIC_MASTER_DATA) | (inb(SLAVE_DATA) << 8)); }

void pic_init(void)
{
    outb(MASTER_CMD, ICW1_INIT | ICW1_ICW4);
    outb(SLAVE_CMD, ICW1_INIT | ICW1_ICW4);
    outb(PIC_MASTER_DATA, PIC_MASTER_BASE);
    outb(SLAVE_DATA, PIC_SLAVE_BASE);
    outb(PIC_MASTER_DATA, ICW3_MASTER);
    outb(SLAVE_DATA, ICW3_SLAVE);
    outb(PIC_MASTER_DATA, ICW4_8086);
    outb(SLAVE_DATA, ICW4_8086);
    set_masks(0xffff);
    for (u32 v = PIC_MASTER_BASE; v < PIC_SLAVE_BASE + 8; v++)
        trap_set_handler(v, pic_interrupt);
}

void pic_enable_irq(u32 irq, irq_handler h)
{
    u16 masks = pic_masks() & ~(1u << irq);

    irq_handlers[irq] = h;
    if (irq >= 8)
        masks &= ~(1u << CASCADE_IRQ);
    set_masks(masks);
}

void pic_disable_irq(u32 irq)
{
    u16 masks = pic_masks() | (1u << irq);

    if ((masks & 0xff00) == 0xff00)
        masks |= 1u << CASCADE_IRQ; /* no slave line left in use */
    set_masks(masks);
    irq_handlers[irq] = NULL;
}

u16 pic_in_service(void) { return (u16)(read_isr(MASTER_CMD) | (read_isr(SLAVE_CMD) << 8)); }

bool pic_master_irq_open(u32 irq)
{
    u8 up_to_irq = (u8)((2u << irq) - 1);
    return !(inb(PIC_MASTER_DATA) & (1u << irq)) && !(read_isr(MASTER_CMD) & up_to_irq);
}

u32 pic_spurious_count(void) { return spurious; }
