/* MC146818 RTC (see rtc.h). Its registers sit behind an index port: 0x70
 * selects one (bit 7 would also mask NMIs: kept clear), 0x71 reads or
 * writes it; the pair must not be split by another access, so interrupts
 * stay off across it. Register B says how the clock counts: BCD or binary
 * (bit 2), 12- or 24-hour (bit 1; in 12-hour mode bit 7 of the hour is
 * PM); the alarm registers use the same format. */
#include "rtc.h"
#include "spinlock.h"
#include "x86.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define RTC_REG_SECONDS 0x00
#define RTC_REG_ALARM_SECONDS 0x01
#define RTC_REG_MINUTES 0x02
#define RTC_REG_ALARM_MINUTES 0x03
#define RTC_REG_HOURS 0x04
#define RTC_REG_ALARM_HOURS 0x05
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_A_RATE 0x0f  /* rate select; bits 4-6 (the time base) stay as firmware set them */
#define RTC_A_UIP 0x80   /* an update is in progress: the time registers change */
#define RTC_B_AIE 0x20   /* alarm interrupt enable */
#define RTC_B_PIE 0x40   /* periodic interrupt enable */
#define HOUR_PM 0x80

static bool from_bcd(u8 b, u8 *out)
{
    if ((b & 0xf) > 9 || (b >> 4) > 9)
        return false;
    *out = (u8)((b >> 4) * 10 + (b & 0xf));
    return true;
}

static u8 to_bcd(u8 v) { return (u8)((v / 10) << 4 | (v % 10)); }

/* The clock's encoding of a number (seconds, minutes, an hour 0-23). */
static u8 encode(u8 v, u8 b) { return (b & RTC_B_BINARY) ? v : to_bcd(v); }

static u8 encode_hour(u8 h, u8 b)
{
    if (b & RTC_B_24H)
        return encode(h, b);
    u8 h12 = h % 12 ? h % 12 : 12;
    return (u8)(encode(h12, b) | (h >= 12 ? HOUR_PM : 0));
}

static bool decode(u8 raw, u8 b, u8 *out)
{
    if (b & RTC_B_BINARY) {
        *out = raw;
        return true;
    }
    return from_bcd(raw, out);
}

static bool decode_hour(u8 raw, u8 b, u8 *out)
{
    bool pm = !(b & RTC_B_24H) && (raw & HOUR_PM);
    if (!decode(pm ? raw & ~HOUR_PM : raw, b, out))
        return false;
    if (!(b & RTC_B_24H)) {
        if (*out < 1 || *out > 12)
            return false;
        *out = (u8)(*out % 12 + (pm ? 12 : 0)); /* 12 AM is 0, 12 PM is 12 */
    }
    return true;
}

void rtc_encode_hms(u32 seconds, u8 regb, u8 hms[3])
{
    seconds %= RTC_DAY_SECONDS;
    hms[0] = encode_hour((u8)(seconds / 3600), regb);
    hms[1] = encode((u8)(seconds / 60 % 60), regb);
    hms[2] = encode((u8)(seconds % 60), regb);
}

bool rtc_decode_hms(const u8 hms[3], u8 regb, u32 *seconds)
{
    u8 h, m, s;
    if (!decode_hour(hms[0], regb, &h) || !decode(hms[1], regb, &m) ||
        !decode(hms[2], regb, &s) || h > 23 || m > 59 || s > 59)
        return false;
    *seconds = (u32)h * 3600 + (u32)m * 60 + s;
    return true;
}

/* The clock itself (the host unit tests stop here) */
#ifndef LHV_HOST_TEST
static u8 cmos_read(u8 reg)
{
    unsigned long flags = irq_save();
    outb(CMOS_INDEX, reg);
    u8 v = inb(CMOS_DATA);
    irq_restore(flags);
    return v;
}

static void cmos_write(u8 reg, u8 value)
{
    unsigned long flags = irq_save();
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, value);
    irq_restore(flags);
}

void rtc_periodic_start(u8 rate)
{
    cmos_write(RTC_REG_A, (cmos_read(RTC_REG_A) & ~RTC_A_RATE) | (rate & RTC_A_RATE));
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) | RTC_B_PIE);
    rtc_ack(); /* a flag left from before would hold the line */
}

void rtc_periodic_stop(void)
{
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) & ~RTC_B_PIE);
    rtc_ack();
}

u8 rtc_ack(void) { return cmos_read(RTC_REG_C); }

static bool read_once(u32 *seconds)
{
    u8 b = cmos_read(RTC_REG_B);
    for (int i = 0; i < 100000 && (cmos_read(RTC_REG_A) & RTC_A_UIP); i++)
        cpu_relax();
    u8 hms[3] = {cmos_read(RTC_REG_HOURS), cmos_read(RTC_REG_MINUTES),
                 cmos_read(RTC_REG_SECONDS)};
    return rtc_decode_hms(hms, b, seconds);
}

/* Twice the same reading: no update came between the registers. */
bool rtc_time_of_day(u32 *seconds)
{
    u32 a, b;
    for (int i = 0; i < 5; i++)
        if (read_once(&a) && read_once(&b) && a == b) {
            *seconds = a;
            return true;
        }
    return false;
}

void rtc_alarm_at(u32 seconds)
{
    u8 b = cmos_read(RTC_REG_B), hms[3];
    rtc_encode_hms(seconds, b, hms);
    cmos_write(RTC_REG_B, b & ~RTC_B_AIE);
    cmos_write(RTC_REG_ALARM_HOURS, hms[0]);
    cmos_write(RTC_REG_ALARM_MINUTES, hms[1]);
    cmos_write(RTC_REG_ALARM_SECONDS, hms[2]);
    rtc_ack(); /* an old flag would hold IRQ 8 up: no new edge */
    cmos_write(RTC_REG_B, b | RTC_B_AIE);
}

void rtc_alarm_off(void)
{
    cmos_write(RTC_REG_B, cmos_read(RTC_REG_B) & ~RTC_B_AIE);
    rtc_ack();
}
#endif
