/* Serial console: a polled 16550 UART, plus the emulators' port 0xe9.
 * One lock keeps a whole printf (or console_write, or what a caller puts
 * between console_lock and console_unlock) together when several CPUs
 * print. It is recursive, so a CPU that faults or takes an NMI while it
 * holds the lock still prints its report. */
#include "console.h"
#include "spinlock.h"
#include "string.h"
#include "x86.h"

/* 16550 registers, offsets from the base port */
#define UART_THR 0 /* transmit holding (DLAB=0) */
#define UART_DLL 0 /* divisor latch low (DLAB=1) */
#define UART_IER 1 /* interrupt enable (DLAB=0) */
#define UART_IER_THRE 0x02 /* interrupt when THRE comes */
#define UART_DLH 1 /* divisor latch high (DLAB=1) */
#define UART_FCR 2 /* FIFO control (write) */
#define UART_IIR 2 /* interrupt identification (read) */
#define UART_IIR_FIFO 0xc0 /* both set: the FIFOs are on (a 16550A) */
#define UART_TX_FIFO 16
#define UART_LCR 3 /* line control */
#define UART_LCR_DLAB 0x80
#define UART_MCR 4 /* modem control */
#define UART_MCR_DTR_RTS 0x03 /* OUT2 off: no UART interrupts until console_set_tx_halt */
#define UART_MCR_OUT2 0x08   /* on the PC, gates the UART's interrupt line */
#define UART_LSR 5 /* line status */
#define UART_LSR_THRE 0x20 /* transmit holding register empty */
#define UART_LSR_TEMT 0x40 /* transmitter empty: FIFO and shift register */
#define UART_CLOCK 115200  /* divisor 1 gives this baud rate */
/* Halts per wait for THRE before polling: any interrupt ends a halt (the
 * PIT's every millisecond), a FIFO at 50 baud drains in 3.2 s */
#define UART_TX_HALTS 4096

#define E9_PORT 0xe9

static u16 serial_port = 0x3f8;
static bool e9_enabled;
/* Bytes the UART takes after THRE says its transmitter is empty: its whole
 * FIFO on a 16550A, else one. Filling the FIFO per THRE poll halves the
 * port accesses (each one an exit in an emulator or under KVM). */
static u32 tx_burst = 1, tx_room;

static u8 line_control(const struct lhv_serial_cfg *cfg)
{
    u8 lcr = (u8)(cfg->data_bits - 5);
    if (cfg->stop_bits == 2)
        lcr |= 1u << 2;
    if (cfg->parity == 'o')
        lcr |= 1u << 3;
    else if (cfg->parity == 'e')
        lcr |= 3u << 3;
    return lcr;
}

void console_init(const struct lhv_serial_cfg *cfg, bool e9)
{
    u16 port = cfg->port;
    u16 divisor = (u16)(UART_CLOCK / cfg->baud);

    /* Each stage sets the UART up again: let the previous stage's last
     * characters leave first, or clearing the FIFO drops them. */
    for (u32 i = 0; i < 100000 && !(inb(serial_port + UART_LSR) & UART_LSR_TEMT); i++)
        cpu_relax();
    serial_port = port;
    e9_enabled = e9;
    outb(port + UART_IER, 0);
    outb(port + UART_LCR, UART_LCR_DLAB);
    outb(port + UART_DLL, (u8)divisor);
    outb(port + UART_DLH, (u8)(divisor >> 8));
    outb(port + UART_LCR, line_control(cfg));
    outb(port + UART_FCR, 0x07); /* enable and clear both FIFOs */
    outb(port + UART_MCR, UART_MCR_DTR_RTS);
    tx_burst = (inb(port + UART_IIR) & UART_IIR_FIFO) == UART_IIR_FIFO ? UART_TX_FIFO : 1;
    tx_room = 0;
}

void console_init_default(void)
{
    static const struct lhv_serial_cfg com1 = {
        .baud = 115200, .port = 0x3f8, .data_bits = 8, .parity = 'n', .stop_bits = 1,
    };
    console_init(&com1, false);
}

/* Set by console_set_tx_halt. holder_if: the console's holder had
 * interrupts on before console_lock took it (and took it in no nested
 * call), so waiting for the UART may halt. */
static bool (*tx_halt)(void);
static bool holder_if;
static struct console_tx_stats tx_stats;

static bool uart_thre(void) { return inb(serial_port + UART_LSR) & UART_LSR_THRE; }

/* Bounded: a missing UART reads 0xff (THRE set), a stuck one must not hang
 * the machine. With FIFOs on, THRE means the FIFO is empty. */
static void serial_wait_thre(void)
{
    if (uart_thre())
        return;
    tx_stats.waits++;
    if (holder_if && tx_halt) {
        /* The UART interrupts when THRE comes (at once if it came already),
         * which ends the halt; its line drops again when IER is cleared. */
        bool halted = false;
        outb(serial_port + UART_IER, UART_IER_THRE);
        for (u32 i = 0; i < UART_TX_HALTS && !uart_thre() && tx_halt(); i++)
            halted = true;
        outb(serial_port + UART_IER, 0);
        tx_stats.halted += halted;
    }
    for (u32 i = 0; i < 100000 && !uart_thre(); i++)
        cpu_relax();
}

static void serial_putc(char c)
{
    if (!tx_room) {
        serial_wait_thre();
        tx_room = tx_burst;
    }
    tx_room--;
    outb(serial_port + UART_THR, (u8)c);
}

/* Waits (bounded) until the UART has sent everything: before an end action,
 * which would otherwise cut off what is still in its FIFO. */
void console_drain(void)
{
    for (u32 i = 0; i < 1000000 && !(inb(serial_port + UART_LSR) & UART_LSR_TEMT); i++)
        cpu_relax();
    tx_room = 0;
}

/* The console lock: 0 when free, else the holder's CPU id + 1. One word
 * that names the owner, so there is no moment at which this CPU holds the
 * lock but an NMI arriving here would not know it. */
static volatile u32 lock_owner;
static u32 (*cpu_id)(void); /* NULL: one CPU, always 0 */

#define TOKEN_TOOK 1ul      /* console_lock took the lock (EFLAGS bit 0 is unused here) */
#define TOKEN_IF (1ul << 9) /* EFLAGS.IF as it was */

void console_set_cpu_id(u32 (*fn)(void)) { cpu_id = fn; }

u16 console_serial_port(void) { return serial_port; }

void console_set_tx_halt(bool (*halt)(void))
{
    tx_halt = halt;
    outb(serial_port + UART_MCR, UART_MCR_DTR_RTS | (halt ? UART_MCR_OUT2 : 0));
}

void console_tx_irq_ack(void) { (void)inb(serial_port + UART_IIR); }

struct console_tx_stats console_tx_stats(void) { return tx_stats; }

unsigned long console_lock(void)
{
    /* Interrupts off while the lock is held: an IPI handler that prints
     * must not land in the middle of this CPU's line. */
    unsigned long flags = irq_save() & TOKEN_IF;
    u32 me = (cpu_id ? cpu_id() : 0) + 1;

    if (lock_owner == me) { /* held by this CPU already: nested */
        holder_if = false; /* an exception or NMI inside printf: no halting */
        return flags;
    }
    for (;;) {
        u32 expected = 0;
        if (__atomic_compare_exchange_n(&lock_owner, &expected, me, false, __ATOMIC_ACQUIRE,
                                        __ATOMIC_RELAXED)) {
            holder_if = flags & TOKEN_IF;
            return flags | TOKEN_TOOK;
        }
        while (lock_owner)
            cpu_relax();
    }
}

void console_unlock(unsigned long token)
{
    if (token & TOKEN_TOOK) {
        holder_if = false;
        __atomic_store_n(&lock_owner, 0, __ATOMIC_RELEASE);
    }
    irq_restore(token);
}

static void (*mirror)(char c);
static bool serial_off;

void console_set_mirror(void (*fn)(char c)) { mirror = fn; }
void console_set_serial(bool on) { serial_off = !on; }

/* console_set_prefix: written before the first character of each line */
static const char *line_prefix;
static bool line_start = true;

void console_set_prefix(const char *prefix)
{
    line_prefix = prefix;
    line_start = true;
}

static void console_putc(char c);

static void console_putc_prefixed(char c)
{
    if (line_start && line_prefix) {
        line_start = false;
        for (const char *p = line_prefix; *p; p++)
            console_putc(*p);
    }
    line_start = c == '\n';
    console_putc(c);
}

static void console_putc(char c)
{
    if (!serial_off) {
        if (c == '\n')
            serial_putc('\r');
        serial_putc(c);
    }
    if (e9_enabled)
        outb(E9_PORT, (u8)c);
    if (mirror)
        mirror(c);
}

void console_write(const char *s, size_t n)
{
    unsigned long token = console_lock();
    for (size_t i = 0; i < n; i++)
        console_putc_prefixed(s[i]);
    console_unlock(token);
}

int vprintf(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    console_write(buf, strnlen(buf, sizeof(buf))); /* locks for the whole text */
    return n;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}
