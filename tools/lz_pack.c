/* lz_pack: the packer of xmhf/include/lz.h's format, for tools/mkimage.c
 * (host code). Finds the longest match at every position (hash chains over
 * the 64 KiB window), then chooses literals and matches by dynamic
 * programming from the end: the fewest bytes, and of those the fewest
 * sequences (init unpacks one sequence in ~20 instructions). */
#include <stdlib.h>
#include <string.h>

#include "lz_pack.h"

#define HASH_BITS 16
#define CHAIN_MAX 1024      /* candidates looked at per position */
#define SHORT_LENGTHS 36    /* every length up to this is weighed, then only the longest */
#define LONG_ENOUGH 256     /* a match this long ends the search at its position */

struct match {
    u32 len, offset;
};

static u32 hash4(const u8 *p)
{
    u32 v = (u32)p[0] | (u32)p[1] << 8 | (u32)p[2] << 16 | (u32)p[3] << 24;
    return (v * 2654435761u) >> (32 - HASH_BITS);
}

/* The longest match at each position (len 0: none of LZ_MIN_MATCH bytes);
 * of equally long ones the nearest. */
static struct match *find_matches(const u8 *in, size_t n)
{
    struct match *m = calloc(n + 1, sizeof(*m));
    s32 *head = malloc(sizeof(s32) << HASH_BITS), *prev = malloc(sizeof(s32) * (n + 1));

    if (!m || !head || !prev)
        abort();
    memset(head, 0xff, sizeof(s32) << HASH_BITS);
    for (size_t i = 0; i + LZ_MIN_MATCH <= n; i++) {
        u32 h = hash4(in + i);
        int tries = CHAIN_MAX;
        for (s32 c = head[h]; c >= 0 && i - (size_t)c <= LZ_MAX_OFFSET && tries--; c = prev[c]) {
            size_t len = 0, max = n - i;
            while (len < max && in[c + len] == in[i + len])
                len++;
            if (len >= LZ_MIN_MATCH && len > m[i].len) {
                m[i].len = (u32)len;
                m[i].offset = (u32)(i - (size_t)c);
                if (len == max || len >= LONG_ENOUGH)
                    break;
            }
        }
        prev[i] = head[h];
        head[h] = (s32)i;
    }
    free(head);
    free(prev);
    return m;
}

/* Bytes a count of v beyond its 4-bit field's 14 adds. */
static size_t ext_bytes(size_t v)
{
    return v < 15 ? 0 : 1 + (v - 15) / 255;
}

/* Bytes of a match of len: token, offset, extension. The token also
 * carries the literals before it; a literal run's own extension bytes
 * (one per 255 literals) are left out of the weighing. */
static size_t match_cost(size_t len)
{
    return 3 + ext_bytes(len - LZ_MIN_MATCH);
}

static u8 *put_count(u8 *o, size_t v)
{
    if (v < 15)
        return o;
    for (v -= 15; v >= 255; v -= 255)
        *o++ = 255;
    *o++ = (u8)v;
    return o;
}

size_t lz_pack_bound(size_t n)
{
    return n + n / 255 + 16;
}

size_t lz_pack(const u8 *in, size_t n, u8 *out)
{
    struct match *m = find_matches(in, n);
    /* cost[i]: bytes to pack in[i, n); seqs[i]: sequences it takes; take[i]:
     * the match length chosen at i (0: a literal) */
    size_t *cost = malloc(sizeof(size_t) * (n + 1)), *seqs = malloc(sizeof(size_t) * (n + 1));
    u32 *take = malloc(sizeof(u32) * (n + 1));

    if (!cost || !seqs || !take)
        abort();
    cost[n] = 1; /* the last sequence's token */
    seqs[n] = 1;
    for (size_t i = n; i-- > 0;) {
        cost[i] = 1 + cost[i + 1];
        seqs[i] = seqs[i + 1];
        take[i] = 0;
        size_t longest = m[i].len;
        for (size_t len = LZ_MIN_MATCH; len <= longest; len++) {
            if (len > SHORT_LENGTHS && len < longest)
                len = longest;
            size_t c = match_cost(len) + cost[i + len], s = 1 + seqs[i + len];
            if (c < cost[i] || (c == cost[i] && s <= seqs[i])) {
                cost[i] = c;
                seqs[i] = s;
                take[i] = (u32)len;
            }
        }
    }

    u8 *o = out;
    size_t lit_start = 0;
    for (size_t i = 0;;) {
        while (i < n && !take[i])
            i++;
        size_t lit = i - lit_start, len = i < n ? take[i] : 0;
        u8 *token = o++;
        *token = (u8)((lit < 15 ? lit : 15) << 4);
        o = put_count(o, lit);
        memcpy(o, in + lit_start, lit);
        o += lit;
        if (i == n)
            break;
        size_t v = len - LZ_MIN_MATCH;
        *token |= (u8)(v < 15 ? v : 15);
        *o++ = (u8)m[i].offset;
        *o++ = (u8)(m[i].offset >> 8);
        o = put_count(o, v);
        i += len;
        lit_start = i;
    }
    free(m);
    free(cost);
    free(seqs);
    free(take);
    return (size_t)(o - out);
}
