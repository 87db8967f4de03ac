/* The RTC's time-of-day formats (lhv/rtc.c): BCD or binary, 24- or 12-hour
 * with bit 7 of the hour as PM. The deadline's backstop alarm is written in
 * whatever format the firmware left. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include "rtc.h"

#define BCD_24 RTC_B_24H
#define BIN_24 (RTC_B_24H | RTC_B_BINARY)
#define BCD_12 0
#define BIN_12 RTC_B_BINARY

static void expect_hms(u32 seconds, u8 regb, u8 h, u8 m, u8 s)
{
    u8 hms[3];
    u32 back = ~0u;
    rtc_encode_hms(seconds, regb, hms);
    assert_int_equal(hms[0], h);
    assert_int_equal(hms[1], m);
    assert_int_equal(hms[2], s);
    assert_true(rtc_decode_hms(hms, regb, &back));
    assert_int_equal(back, seconds % RTC_DAY_SECONDS);
}

static void test_24_hour(void **state)
{
    (void)state;
    expect_hms(0, BCD_24, 0x00, 0x00, 0x00);
    expect_hms(13 * 3600 + 59 * 60 + 7, BCD_24, 0x13, 0x59, 0x07);
    expect_hms(23 * 3600 + 59 * 60 + 59, BIN_24, 23, 59, 59);
    expect_hms(RTC_DAY_SECONDS + 61, BCD_24, 0x00, 0x01, 0x01); /* past midnight */
}

static void test_12_hour(void **state)
{
    (void)state;
    expect_hms(0, BCD_12, 0x12, 0x00, 0x00);             /* 12 AM */
    expect_hms(3600, BCD_12, 0x01, 0x00, 0x00);          /* 1 AM */
    expect_hms(12 * 3600, BCD_12, 0x80 | 0x12, 0, 0);    /* 12 PM */
    expect_hms(13 * 3600 + 30, BCD_12, 0x80 | 0x01, 0, 0x30);
    expect_hms(23 * 3600, BIN_12, 0x80 | 11, 0, 0);
}

static void test_invalid(void **state)
{
    u32 out = 7;
    (void)state;
    assert_false(rtc_decode_hms((const u8[]){0x1a, 0x00, 0x00}, BCD_24, &out)); /* not BCD */
    assert_false(rtc_decode_hms((const u8[]){0x24, 0x00, 0x00}, BCD_24, &out)); /* hour 24 */
    assert_false(rtc_decode_hms((const u8[]){0x00, 0x60, 0x00}, BCD_24, &out)); /* minute 60 */
    assert_false(rtc_decode_hms((const u8[]){0x00, 0x00, 0x00}, BCD_12, &out)); /* hour 0 */
    assert_false(rtc_decode_hms((const u8[]){0x93, 0x00, 0x00}, BCD_12, &out)); /* 13 PM */
    assert_false(rtc_decode_hms((const u8[]){60, 0, 0}, BIN_24, &out));
    assert_int_equal(out, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_24_hour),
        cmocka_unit_test(test_12_hour),
        cmocka_unit_test(test_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
