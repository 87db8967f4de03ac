/* Host tests for the runtime's packing: tools/lz_pack.c packs, xmhf/lib/lz.c
 * unpacks (init's code). Round trips of many kinds of data, with and
 * without the SSE copies; hand-made streams for the format's edges; every
 * error; and damaged streams, which must end in an error or in some output,
 * never in a write or read out of bounds (the sanitizers watch: each buffer
 * is allocated at its exact size). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include "lz_pack.h"

static u32 rng = 1;

static u32 next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* Packs in, unpacks into a buffer of exactly n bytes, with SSE copies on
 * and off; both must give in back. Returns the packed size. */
static size_t round_trip(const u8 *in, size_t n)
{
    u8 *packed = malloc(lz_pack_bound(n)), *out = malloc(n ? n : 1);
    size_t len, at = 0;

    assert_non_null(packed);
    assert_non_null(out);
    len = lz_pack(in, n, packed);
    assert_true(len <= lz_pack_bound(n));
    u8 *exact = malloc(len ? len : 1); /* ASan sees a read past the stream */
    assert_non_null(exact);
    memcpy(exact, packed, len);
    for (int sse = 0; sse < 2; sse++) {
        lz_set_sse(sse);
        memset(out, 0xa5, n);
        assert_int_equal(lz_unpack(out, n, exact, len, &at), LZ_OK);
        assert_memory_equal(out, in, n);
    }
    lz_set_sse(false);
    free(exact);
    free(packed);
    free(out);
    return len;
}

/* Something like machine code: a few hundred "instructions" drawn from a
 * small vocabulary, with addresses that vary, strings and zero padding. */
static void code_like(u8 *buf, size_t n)
{
    static const u8 words[][6] = {
        {0x55, 0x89, 0xe5}, {0x5d, 0xc3}, {0x8b, 0x45, 0x08}, {0xe8, 0, 0, 0, 0},
        {0x83, 0xec, 0x10}, {0x31, 0xc0}, {0x0f, 0x78, 0xc2}, {0x74, 0x05},
    };
    size_t i = 0;

    while (i < n) {
        u32 r = next_random();
        if (r % 29 == 0) { /* a run of zeros */
            for (size_t k = 0; k < 40 + r % 300 && i < n; k++)
                buf[i++] = 0;
        } else if (r % 31 == 0) { /* text */
            for (const char *s = "FAIL: vmx/entry: unexpected exit "; *s && i < n; s++)
                buf[i++] = (u8)*s;
        } else {
            const u8 *w = words[r % 8];
            size_t len = w[0] == 0xe8 ? 5 : w[2] ? 3 : 2;
            for (size_t k = 0; k < len && i < n; k++)
                buf[i++] = k && w[0] == 0xe8 ? (u8)(r >> (8 * (k - 1))) : w[k];
        }
    }
}

static void test_round_trips(void **state)
{
    u8 *buf = malloc(300000);

    (void)state;
    assert_non_null(buf);
    /* every length to 300 of random and of repeating bytes: the ends */
    for (size_t n = 0; n <= 300; n++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (u8)next_random();
        round_trip(buf, n);
        for (size_t i = 0; i < n; i++)
            buf[i] = (u8)(i % 7);
        round_trip(buf, n);
    }
    /* random bytes cannot be packed: the stream is barely longer */
    for (size_t i = 0; i < 100000; i++)
        buf[i] = (u8)next_random();
    assert_true(round_trip(buf, 100000) <= 100000 + 100000 / 255 + 2);
    /* all zeros: long matches, offset 1 */
    memset(buf, 0, 300000);
    assert_true(round_trip(buf, 300000) < 1300);
    /* periods 1..40: matches that overlap themselves */
    for (size_t period = 1; period <= 40; period++) {
        for (size_t i = 0; i < 5000; i++)
            buf[i] = (u8)(i % period * 37 + period);
        round_trip(buf, 5000);
    }
    /* code-like data, longer than the 64 KiB window */
    code_like(buf, 300000);
    size_t packed = round_trip(buf, 300000);
    assert_true(packed < 300000 / 2);
    free(buf);
}

/* Unpacks a hand-made stream into exactly n bytes; returns the error and
 * the offset it names. */
static int unpack(const u8 *stream, size_t len, u8 *out, size_t n, size_t *at)
{
    u8 *s = malloc(len ? len : 1), *o = malloc(n ? n : 1);
    int rc;

    assert_non_null(s);
    assert_non_null(o);
    memcpy(s, stream, len);
    rc = lz_unpack(o, n, s, len, at);
    if (out)
        memcpy(out, o, n);
    free(s);
    free(o);
    return rc;
}

/* The format as lz.h writes it, byte by byte. */
static void test_format(void **state)
{
    u8 out[64];
    size_t at;

    (void)state;
    /* one sequence of literals only */
    static const u8 lits[] = {0x30, 'a', 'b', 'c'};
    assert_int_equal(unpack(lits, sizeof(lits), out, 3, &at), LZ_OK);
    assert_memory_equal(out, "abc", 3);
    /* "ab" then a match of 6 from 2 back (overlapping), then the last token */
    static const u8 match[] = {0x22, 'a', 'b', 0x02, 0x00, 0x00};
    assert_int_equal(unpack(match, sizeof(match), out, 8, &at), LZ_OK);
    assert_memory_equal(out, "abababab", 8);
    /* 15 literals: the extension byte 0 follows the token */
    static const u8 ext[] = {0xf0, 0x00, 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j',
                             'k', 'l', 'm', 'n', 'o'};
    assert_int_equal(unpack(ext, sizeof(ext), out, 15, &at), LZ_OK);
    assert_memory_equal(out, "abcdefghijklmno", 15);
    /* a match of 4 + 15 + 255 + 1 = 275 bytes: extension 255, then 1 */
    u8 big[300];
    static const u8 longm[] = {0x1f, 'x', 0x01, 0x00, 0xff, 0x01, 0x00};
    assert_int_equal(unpack(longm, sizeof(longm), big, 276, &at), LZ_OK);
    for (int i = 0; i < 276; i++)
        assert_int_equal(big[i], 'x');
    /* empty: no stream at all, or one empty token */
    assert_int_equal(unpack(lits, 0, out, 0, &at), LZ_OK);
    static const u8 empty[] = {0x00};
    assert_int_equal(unpack(empty, 1, out, 0, &at), LZ_OK);
}

/* A sequence that the fast path takes (14 literals, a match of 18 from 32
 * back) followed by a last sequence of k literals: the fast path's 16-byte
 * copies reach 46 bytes past the sequence's start, so near the end the
 * careful path must run, or the copies write past the output. */
static void test_fast_path_near_end(void **state)
{
    (void)state;
    for (size_t k = 0; k <= 40; k++) {
        u8 stream[128], expect[128];
        size_t len = 0, n = 0, at;

        stream[len++] = 0xf0; /* 32 literals, then a match of 4 from 32 back */
        stream[len++] = 32 - 15;
        for (int i = 0; i < 32; i++)
            stream[len++] = expect[n++] = (u8)next_random();
        stream[len++] = 32;
        stream[len++] = 0;
        for (int i = 0; i < 4; i++, n++)
            expect[n] = expect[n - 32];
        stream[len++] = 0xee; /* the fast one */
        for (int i = 0; i < 14; i++)
            stream[len++] = expect[n++] = (u8)next_random();
        stream[len++] = 32;
        stream[len++] = 0;
        for (int i = 0; i < 18; i++, n++)
            expect[n] = expect[n - 32];
        stream[len++] = (u8)((k < 15 ? k : 15) << 4); /* the last */
        if (k >= 15)
            stream[len++] = (u8)(k - 15);
        for (size_t i = 0; i < k; i++)
            stream[len++] = expect[n++] = (u8)next_random();
        for (int sse = 0; sse < 2; sse++) {
            u8 out[128];
            lz_set_sse(sse);
            assert_int_equal(unpack(stream, len, out, n, &at), LZ_OK);
            assert_memory_equal(out, expect, n);
        }
    }
    lz_set_sse(false);
}

struct bad_stream {
    u8 bytes[8];
    size_t len, out_len;
    int err;
    size_t at;
};

static const struct bad_stream bad_streams[] = {
    /* literal count past the stream's end; its extension missing */
    {{0x40, 'a', 'b'}, 3, 4, LZ_E_TRUNCATED, 0},
    {{0xf0}, 1, 20, LZ_E_TRUNCATED, 0},
    {{0xf0, 0xff}, 2, 300, LZ_E_TRUNCATED, 0},
    /* the offset cut off, or the match length's extension */
    {{0x10, 'a', 0x01}, 3, 9, LZ_E_TRUNCATED, 0},
    {{0x1f, 'a', 0x01, 0x00}, 4, 90, LZ_E_TRUNCATED, 0},
    /* offset 0; offset before the start */
    {{0x10, 'a', 0x00, 0x00, 0x00}, 5, 5, LZ_E_OFFSET, 0},
    {{0x10, 'a', 0x02, 0x00, 0x00}, 5, 5, LZ_E_OFFSET, 0},
    /* more literals, or a longer match, than the output holds */
    {{0x30, 'a', 'b', 'c'}, 4, 2, LZ_E_OVERRUN, 0},
    {{0x10, 'a', 0x01, 0x00, 0x00}, 5, 4, LZ_E_OVERRUN, 0},
    /* the stream ends before the output is full: after a match, or at once */
    {{0x10, 'a', 0x01, 0x00}, 4, 9, LZ_E_SHORT, 4},
    {{0}, 0, 1, LZ_E_SHORT, 0},
    /* a byte after the sequence that filled the output */
    {{0x10, 'a', 0x01, 0x00, 0x00, 0x00}, 6, 5, LZ_E_TRAILING, 4},
    {{0x00, 0x00}, 2, 0, LZ_E_TRAILING, 0},
};

static void test_errors(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_SIZE(bad_streams); i++) {
        const struct bad_stream *b = &bad_streams[i];
        size_t at = 99;
        assert_int_equal(unpack(b->bytes, b->len, NULL, b->out_len, &at), b->err);
        assert_int_equal(at, b->at);
        assert_string_not_equal(lz_error_name(b->err), "unknown error");
    }
    assert_string_equal(lz_error_name(LZ_OK), "ok");
    assert_string_equal(lz_error_name(99), "unknown error");
}

/* Errors far from the start, where the fast path runs: a bad offset in the
 * middle of a long stream is found by whichever path meets it. */
static void test_error_in_the_middle(void **state)
{
    u8 *buf = malloc(100000), *packed = malloc(lz_pack_bound(100000)), *out = malloc(100000);
    size_t len, at;

    (void)state;
    code_like(buf, 100000);
    len = lz_pack(buf, 100000, packed);
    /* one byte short: the last sequence is cut (or, if it was an empty
     * token, the stream ends before it) */
    assert_int_not_equal(lz_unpack(out, 100000, packed, len - 1, &at), LZ_OK);
    /* one byte more output expected than the stream gives */
    u8 *big = malloc(100001);
    assert_int_equal(lz_unpack(big, 100001, packed, len, &at), LZ_E_TRUNCATED);
    free(big);
    /* an output too small stops before writing past it */
    assert_int_equal(lz_unpack(out, 99999, packed, len, &at), LZ_E_OVERRUN);
    free(buf);
    free(packed);
    free(out);
}

/* Damaged streams: each flipped byte, and random bytes, give an error or
 * some output, never an access out of bounds (ASan ends the test if so). */
static void test_damage(void **state)
{
    const size_t n = 20000;
    u8 *buf = malloc(n), *packed = malloc(lz_pack_bound(n)), *out = malloc(n);
    size_t len, at;

    (void)state;
    code_like(buf, n);
    len = lz_pack(buf, n, packed);
    u8 *s = malloc(len);
    for (size_t i = 0; i < len; i += 3) {
        memcpy(s, packed, len);
        s[i] ^= (u8)(1 + next_random() % 255);
        lz_set_sse(i & 1);
        (void)lz_unpack(out, n, s, len, &at);
        assert_true(at <= len);
    }
    for (int k = 0; k < 2000; k++) {
        for (size_t i = 0; i < len; i++)
            s[i] = (u8)next_random();
        (void)lz_unpack(out, n, s, len, &at);
    }
    lz_set_sse(false);
    free(s);
    free(buf);
    free(packed);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_fast_path_near_end),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_error_in_the_middle),
        cmocka_unit_test(test_damage),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
