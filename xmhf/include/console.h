/* Console output of every stage: the 16550 serial port (and port 0xe9 when
 * lhv.e9=1). Lines end in CRLF on the wire. */
#ifndef XMHF_CONSOLE_H
#define XMHF_CONSOLE_H

#include <stdarg.h>
#include "boot_params.h"

/* COM1 at 115200 8n1: what every stage uses until serial= is known */
void console_init_default(void);
void console_init(const struct lhv_serial_cfg *cfg, bool e9);
void console_write(const char *s, size_t n);
/* Returns once the UART has sent every character written so far. */
void console_drain(void);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);

/* Several CPUs: each printf and console_write prints as one piece. To keep
 * several calls together (a line built in parts, a multi-line report), hold
 * the console:
 *     unsigned long token = console_lock();  ...  console_unlock(token);
 * Interrupts are off while it is held (the token remembers the flag). A CPU
 * that holds the console already (an exception inside printf, an NMI) gets
 * it again at once; only the outermost unlock releases it.
 * console_set_cpu_id gives the function that names the running CPU (a
 * small number); until it is called every caller counts as CPU 0, which is
 * right while only one CPU runs. */
void console_set_cpu_id(u32 (*fn)(void));

/* Also sends every character to fn (the VGA text console), or stops with
 * NULL. */
void console_set_mirror(void (*fn)(char c));
/* Starts every line from here on with prefix (NULL: none): LHV as L0
 * marks its lines "L0: " once its guest shares the console (docs/l0.md). */
void console_set_prefix(const char *prefix);
/* Turns the serial port output off (lhv.console=vga) or on again. */
void console_set_serial(bool on);
/* Waiting for the UART (its FIFO full) by halting instead of polling, when
 * the CPU holding the console had interrupts on before console_lock: halt()
 * runs with interrupts off, must enable them, halt until one comes and
 * disable them again, or return false at once where it cannot (then the
 * wait polls). console_set_tx_halt also turns the UART's interrupt line on
 * (MCR OUT2; off again with NULL); the interrupt is enabled (IER THRE) only
 * while a wait halts. The line's handler calls console_tx_irq_ack.
 * In an emulator that paces its UART (Bochs) a halt lets emulated time skip
 * ahead where polling runs instructions (docs/performance.md). */
void console_set_tx_halt(bool (*halt)(void));
void console_tx_irq_ack(void);
/* Since boot: the waits for the UART's FIFO, and those that halted */
struct console_tx_stats {
    u32 waits, halted;
};
struct console_tx_stats console_tx_stats(void);
u16 console_serial_port(void);
unsigned long console_lock(void);
void console_unlock(unsigned long token);

#endif
