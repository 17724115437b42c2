/* cleave-downsample.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-downsample.h"

#if defined(__x86_64__) && defined(__SSE2__)
#include <emmintrin.h>
#define HAVE_SSE2 1
#if defined(__GNUC__) || defined(__clang__)
#define HAVE_SSE41 1
#endif
#endif

void
cleave_downsample_out_size (const gsize size[3],
                            const guint factor[3],
                            gsize       out[3])
{
  for (guint k = 0; k < 3; k++)
    out[k] = (size[k] + factor[k] - 1) / factor[k];
}

gboolean
cleave_downsample_mode_supported (const guint factor[3])
{
  return factor[0] == 2 && factor[1] == 2 && (factor[2] == 1 || factor[2] == 2);
}

/* The 2x2x1 kernels read each input voxel once and do little with it, so
 * they can only be as fast as memory. Three things keep them there: the
 * rows are prefetched well ahead (left alone, the hardware prefetcher keeps
 * too few lines in flight for two interleaved rows); two outputs are made
 * per vector operation, since the scalar form costs about as much time as
 * the memory traffic; and a large output is written with non-temporal
 * stores, which save reading each output line in before overwriting it. */

/* In voxels: 8 KiB ahead of each row, far enough to cover memory latency
 * and near enough to still be in cache when read. Prefetches never fault,
 * so they may run past the end of the input. */
#define PREFETCH_AHEAD 1024

#if defined(__GNUC__) || defined(__clang__)
#define prefetch(p) __builtin_prefetch ((p), 0, 3)
#else
#define prefetch(p) ((void) (p))
#endif

/* Below this many output bytes, non-temporal stores are not used: such an
 * output can still be in cache when the caller (the encoder, or the next
 * mip) reads it, and bypassing the cache would send that read to memory.
 * Past it, the input streaming through (four times as much) evicts the
 * output anyway. */
#define STREAM_MIN_BYTES (4 << 20)

/* The dense 2x2 rule with masks instead of branches: on real data the
 * branches of the plain form are predictable, on labels that change from
 * voxel to voxel they are not, and compilers keep some of them. */
static inline guint64
mode4 (guint64 a,
       guint64 b,
       guint64 c,
       guint64 d)
{
  guint64 r = d ^ ((b ^ d) & -(guint64) (b == c));

  return r ^ ((a ^ r) & -(guint64) ((a == b) | (a == c)));
}

static inline guint64
mode4_sparse (guint64 a,
              guint64 b,
              guint64 c,
              guint64 d)
{
  if (a != 0 && (a == b || a == c))
    return a;
  if (b != 0 && b == c)
    return b;
  if (d != 0)
    return d;
  return c != 0 ? c : b != 0 ? b : a;
}

static inline guint64
mode4_any (guint64  a,
           guint64  b,
           guint64  c,
           guint64  d,
           gboolean sparse)
{
  return sparse ? mode4_sparse (a, b, c, d) : mode4 (a, b, c, d);
}

static inline void
put (guint64  *o,
     guint64   v,
     gboolean  stream)
{
#ifdef HAVE_SSE2
  if (stream)
    {
      _mm_stream_si64 ((long long *) o, (long long) v);
      return;
    }
#endif
  *o = v;
}

#ifdef HAVE_SSE2
/* SSE2 has no 64-bit compare, so there a lane is equal when both its
 * halves are. SSE4.1 has one (pcmpeqq), but its intrinsic may not appear
 * in a function not built for SSE4.1, even on a path never taken there.
 * The generic vector compare may, and becomes pcmpeqq once inlined into a
 * function that is; it is no use for plain SSE2, where GCC makes it
 * scalar code. */
G_ALWAYS_INLINE static inline __m128i
eq64 (__m128i  x,
      __m128i  y,
      gboolean sse41)
{
  __m128i e;

  if (sse41)
    return (__m128i) (x == y);
  e = _mm_cmpeq_epi32 (x, y);
  return _mm_and_si128 (e, _mm_shuffle_epi32 (e, _MM_SHUFFLE (2, 3, 0, 1)));
}

/* m ? x : y, lane by lane, for all-ones or all-zeros lanes m. */
G_ALWAYS_INLINE static inline __m128i
pick (__m128i m,
      __m128i x,
      __m128i y)
{
  return _mm_or_si128 (_mm_and_si128 (m, x), _mm_andnot_si128 (m, y));
}

/* mode4 or mode4_sparse for the two blocks starting at r0[0] and r0[2]
 * (and r1[0], r1[2]), condition by condition. */
G_ALWAYS_INLINE static inline __m128i
mode4_x2 (const guint64 *r0,
          const guint64 *r1,
          gboolean       sparse,
          gboolean       sse41)
{
  __m128i p = _mm_loadu_si128 ((const __m128i *) r0);
  __m128i q = _mm_loadu_si128 ((const __m128i *) (r0 + 2));
  __m128i u = _mm_loadu_si128 ((const __m128i *) r1);
  __m128i w = _mm_loadu_si128 ((const __m128i *) (r1 + 2));
  __m128i a = _mm_unpacklo_epi64 (p, q), b = _mm_unpackhi_epi64 (p, q);
  __m128i c = _mm_unpacklo_epi64 (u, w), d = _mm_unpackhi_epi64 (u, w);
  __m128i a_pair = _mm_or_si128 (eq64 (a, b, sse41), eq64 (a, c, sse41));
  __m128i b_pair = eq64 (b, c, sse41);
  __m128i zero = _mm_setzero_si128 (), zb, r;

  if (!sparse)
    return pick (a_pair, a, pick (b_pair, b, d));
  /* d, else the last non-zero of c, b, a: "x ? x : r" is x | (r & [x == 0]). */
  zb = eq64 (b, zero, sse41);
  r = _mm_or_si128 (b, _mm_and_si128 (a, zb));
  r = _mm_or_si128 (c, _mm_and_si128 (r, eq64 (c, zero, sse41)));
  r = _mm_or_si128 (d, _mm_and_si128 (r, eq64 (d, zero, sse41)));
  r = pick (_mm_andnot_si128 (zb, b_pair), b, r);
  return pick (_mm_andnot_si128 (eq64 (a, zero, sse41), a_pair), a, r);
}
#endif

/* One output row of 2x2x1 from input rows @r0 (y even) and @r1. */
G_ALWAYS_INLINE static inline void
row_2x2x1 (const guint64 *r0,
           const guint64 *r1,
           gsize          sx,
           gboolean       sparse,
           gboolean       stream,
           gboolean       sse41,
           guint64       *o)
{
  gsize half = sx / 2, x = 0;

#ifdef HAVE_SSE2
  /* Whole 16-byte stores need o + x aligned: with an odd output width,
   * every other row starts half-way. */
  if (half > 0 && ((guintptr) o & 15) != 0)
    {
      put (o, mode4_any (r0[0], r0[1], r1[0], r1[1], sparse), stream);
      x = 1;
    }
  /* Four outputs read one 64-byte line of each row: one prefetch each. */
  for (; x + 4 <= half; x += 4)
    {
      __m128i v0, v1;

      prefetch (r0 + 2 * x + PREFETCH_AHEAD);
      prefetch (r1 + 2 * x + PREFETCH_AHEAD);
      v0 = mode4_x2 (r0 + 2 * x, r1 + 2 * x, sparse, sse41);
      v1 = mode4_x2 (r0 + 2 * x + 4, r1 + 2 * x + 4, sparse, sse41);
      if (stream)
        {
          _mm_stream_si128 ((__m128i *) (o + x), v0);
          _mm_stream_si128 ((__m128i *) (o + x + 2), v1);
        }
      else
        {
          _mm_store_si128 ((__m128i *) (o + x), v0);
          _mm_store_si128 ((__m128i *) (o + x + 2), v1);
        }
    }
#else
  for (; x + 4 <= half; x += 4)
    {
      prefetch (r0 + 2 * x + PREFETCH_AHEAD);
      prefetch (r1 + 2 * x + PREFETCH_AHEAD);
      for (gsize i = x; i < x + 4; i++)
        o[i] = mode4_any (r0[2 * i], r0[2 * i + 1], r1[2 * i], r1[2 * i + 1], sparse);
    }
#endif
  for (; x < half; x++)
    put (o + x, mode4_any (r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1], sparse), stream);
  if (sx & 1)
    put (o + half, mode4_any (r0[sx - 1], r0[sx - 1], r1[sx - 1], r1[sx - 1], sparse), stream);
}

/* Specialized by constant propagation: every call passes literal @sparse,
 * @stream and @sse41, so the per-voxel loop has no branch on them. */
G_ALWAYS_INLINE static inline void
planes_2x2x1_with (const guint64 *in,
                   gsize          sx,
                   gsize          sy,
                   gsize          oz0,
                   gsize          oz1,
                   gboolean       sparse,
                   gboolean       stream,
                   gboolean       sse41,
                   guint64       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2;

  for (gsize z = oz0; z < oz1; z++)
    for (gsize y = 0; y < oy; y++)
      {
        const guint64 *r0 = in + (z * sy + 2 * y) * sx;
        const guint64 *r1 = in + (z * sy + MIN (2 * y + 1, sy - 1)) * sx;

        row_2x2x1 (r0, r1, sx, sparse, stream, sse41, out + (z * oy + y) * ox);
      }
}

G_ALWAYS_INLINE static inline void
planes_2x2x1_for (const guint64 *in,
                  gsize          sx,
                  gsize          sy,
                  gsize          oz0,
                  gsize          oz1,
                  gboolean       sparse,
                  gboolean       stream,
                  gboolean       sse41,
                  guint64       *out)
{
  if (sparse && stream)
    planes_2x2x1_with (in, sx, sy, oz0, oz1, TRUE, TRUE, sse41, out);
  else if (sparse)
    planes_2x2x1_with (in, sx, sy, oz0, oz1, TRUE, FALSE, sse41, out);
  else if (stream)
    planes_2x2x1_with (in, sx, sy, oz0, oz1, FALSE, TRUE, sse41, out);
  else
    planes_2x2x1_with (in, sx, sy, oz0, oz1, FALSE, FALSE, sse41, out);
}

#ifdef HAVE_SSE41
/* The same code built for SSE4.1, for its 64-bit compare. Measured on the
 * demo segmentation (AMD EPYC): sparse, with seven compares per lane, 1.4x
 * as fast in cache and some 10% out of cache; dense 1.2x in cache and
 * within the noise out of it. */
__attribute__ ((target ("sse4.1")))
static void
planes_2x2x1_sse41 (const guint64 *in,
                    gsize          sx,
                    gsize          sy,
                    gsize          oz0,
                    gsize          oz1,
                    gboolean       sparse,
                    gboolean       stream,
                    guint64       *out)
{
  planes_2x2x1_for (in, sx, sy, oz0, oz1, sparse, stream, TRUE, out);
}
#endif

/* Output planes [oz0, oz1) of a 2x2x1 step over the whole input; @stream
 * for an output nothing reads soon (see STREAM_MIN_BYTES). */
static void
planes_2x2x1 (const guint64 *in,
              gsize          sx,
              gsize          sy,
              gsize          oz0,
              gsize          oz1,
              gboolean       sparse,
              gboolean       stream,
              guint64       *out)
{
#ifdef HAVE_SSE41
  if (__builtin_cpu_supports ("sse4.1"))
    planes_2x2x1_sse41 (in, sx, sy, oz0, oz1, sparse, stream, out);
  else
#endif
    planes_2x2x1_for (in, sx, sy, oz0, oz1, sparse, stream, FALSE, out);
#ifdef HAVE_SSE2
  /* Non-temporal stores are weakly ordered: make them visible before
   * anything the caller does next (such as handing @out to a thread). */
  if (stream)
    _mm_sfence ();
#endif
}

static gboolean
stream_output (const gsize size[3],
               const guint factor[3])
{
  gsize osize[3];

  cleave_downsample_out_size (size, factor, osize);
  return osize[0] * osize[1] * osize[2] * sizeof (guint64) >= STREAM_MIN_BYTES;
}

void
cleave_downsample_mode_2x2x1 (const guint64 *in,
                              gsize          sx,
                              gsize          sy,
                              gsize          sz,
                              guint64       *out)
{
  const gsize size[3] = { sx, sy, sz };
  const guint factor[3] = { 2, 2, 1 };

  planes_2x2x1 (in, sx, sy, 0, sz, FALSE, stream_output (size, factor), out);
}

void
cleave_downsample_mode_2x2x1_sparse (const guint64 *in,
                                     gsize          sx,
                                     gsize          sy,
                                     gsize          sz,
                                     guint64       *out)
{
  const gsize size[3] = { sx, sy, sz };
  const guint factor[3] = { 2, 2, 1 };

  planes_2x2x1 (in, sx, sy, 0, sz, TRUE, stream_output (size, factor), out);
}

/* The 2x2x2 rule over v[0..7] in scan order (x, then y, then z). */
static inline guint64
mode8 (const guint64 v[8],
       gboolean      sparse)
{
  guint64 best = 0;
  guint best_ct = 0;

  if (v[0] == v[1] && v[0] == v[2] && v[0] == v[3] && (!sparse || v[0] != 0))
    return v[0];
  if (v[4] == v[5] && v[4] == v[6] && v[4] == v[7] && (!sparse || v[4] != 0))
    return v[4];
  for (guint t = 0; t < 8; t++)
    {
      guint ct = 0;

      if (sparse && v[t] == 0)
        continue;
      for (guint p = 0; p < 8; p++)
        ct += v[p] == v[t];
      if (ct >= 4)
        return v[t];
      if (ct > best_ct)
        {
          best_ct = ct;
          best = v[t];
        }
    }
  return best;
}

static void
planes_2x2x2 (const guint64 *in,
              gsize          sx,
              gsize          sy,
              gsize          sz,
              gsize          oz0,
              gsize          oz1,
              gboolean       sparse,
              guint64       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2;

  for (gsize z = oz0; z < oz1; z++)
    {
      gsize z0 = 2 * z, z1 = MIN (2 * z + 1, sz - 1);

      for (gsize y = 0; y < oy; y++)
        {
          gsize y0 = 2 * y, y1 = MIN (2 * y + 1, sy - 1);
          const guint64 *p00 = in + (z0 * sy + y0) * sx, *p01 = in + (z0 * sy + y1) * sx;
          const guint64 *p10 = in + (z1 * sy + y0) * sx, *p11 = in + (z1 * sy + y1) * sx;
          guint64 *o = out + (z * oy + y) * ox;

          for (gsize x = 0; x < ox; x++)
            {
              gsize x0 = 2 * x, x1 = MIN (2 * x + 1, sx - 1);
              guint64 v[8] = { p00[x0], p00[x1], p01[x0], p01[x1], p10[x0], p10[x1], p11[x0], p11[x1] };

              o[x] = mode8 (v, sparse);
            }
        }
    }
}

void
cleave_downsample_mode_2x2x2 (const guint64 *in,
                              gsize          sx,
                              gsize          sy,
                              gsize          sz,
                              gboolean       sparse,
                              guint64       *out)
{
  planes_2x2x2 (in, sx, sy, sz, 0, (sz + 1) / 2, sparse, out);
}

/* @stream only matters to 2x2x1: 2x2x2 writes an eighth of what it reads,
 * so reading its output lines in first costs little. */
static void
step_planes (const guint64 *in,
             const gsize    size[3],
             const guint    factor[3],
             gboolean       sparse,
             gboolean       stream,
             gsize          oz0,
             gsize          oz1,
             guint64       *out)
{
  g_assert (cleave_downsample_mode_supported (factor));
  if (factor[2] == 1)
    planes_2x2x1 (in, size[0], size[1], oz0, oz1, sparse, stream, out);
  else
    planes_2x2x2 (in, size[0], size[1], size[2], oz0, oz1, sparse, out);
}

void
cleave_downsample_mode (const guint64 *in,
                        const gsize    size[3],
                        const guint    factor[3],
                        gboolean       sparse,
                        guint64       *out)
{
  gsize osize[3];

  cleave_downsample_out_size (size, factor, osize);
  step_planes (in, size, factor, sparse, stream_output (size, factor), 0, osize[2], out);
}

void
cleave_downsample_mode_mips (const guint64 *in,
                             const gsize    size[3],
                             const guint    factor[3],
                             gboolean       sparse,
                             guint          n_mips,
                             guint64      **outs)
{
  gsize sizes[33][3];
  gsize slab = 1, n_slabs;
  gboolean stream;

  g_assert (n_mips <= 32);
  if (n_mips == 0)
    return;
  for (guint k = 0; k < 3; k++)
    sizes[0][k] = size[k];
  for (guint m = 0; m < n_mips; m++)
    {
      cleave_downsample_out_size (sizes[m], factor, sizes[m + 1]);
      slab *= factor[2];
    }
  /* Each mip but the last is read again at once, by the next. */
  stream = stream_output (sizes[n_mips - 1], factor);
  /* A slab of the last mip is one plane; it covers slab / factor^(m+1)
   * planes of mip m + 1 and depends on nothing outside them. */
  n_slabs = sizes[n_mips][2];
  for (gsize s = 0; s < n_slabs; s++)
    {
      const guint64 *src = in;
      gsize planes = slab;

      for (guint m = 0; m < n_mips; m++)
        {
          gsize oz0, oz1;

          planes /= factor[2];
          oz0 = s * planes;
          oz1 = MIN (oz0 + planes, sizes[m + 1][2]);
          step_planes (src, sizes[m], factor, sparse, stream && m == n_mips - 1, oz0, oz1, outs[m]);
          src = outs[m];
        }
    }
}

void
cleave_downsample_mean_2x2x1 (const guint8 *in,
                              gsize         sx,
                              gsize         sy,
                              gsize         sz,
                              guint8       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2;

  for (gsize z = 0; z < sz; z++)
    for (gsize y = 0; y < oy; y++)
      {
        const guint8 *r0 = in + (z * sy + 2 * y) * sx;
        const guint8 *r1 = in + (z * sy + MIN (2 * y + 1, sy - 1)) * sx;
        guint8 *o = out + (z * oy + y) * ox;

        for (gsize x = 0; x < ox; x++)
          {
            gsize x0 = 2 * x, x1 = MIN (2 * x + 1, sx - 1);

            o[x] = (guint8) ((r0[x0] + r0[x1] + r1[x0] + r1[x1] + 2) / 4);
          }
      }
}

void
cleave_downsample_mean_2x2x2 (const guint8 *in,
                              gsize         sx,
                              gsize         sy,
                              gsize         sz,
                              guint8       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2, oz = (sz + 1) / 2;

  for (gsize z = 0; z < oz; z++)
    for (gsize y = 0; y < oy; y++)
      {
        gsize z0 = 2 * z, z1 = MIN (2 * z + 1, sz - 1), y0 = 2 * y, y1 = MIN (2 * y + 1, sy - 1);
        const guint8 *p00 = in + (z0 * sy + y0) * sx, *p01 = in + (z0 * sy + y1) * sx;
        const guint8 *p10 = in + (z1 * sy + y0) * sx, *p11 = in + (z1 * sy + y1) * sx;
        guint8 *o = out + (z * oy + y) * ox;

        for (gsize x = 0; x < ox; x++)
          {
            gsize x0 = 2 * x, x1 = MIN (2 * x + 1, sx - 1);
            guint sum = p00[x0] + p00[x1] + p01[x0] + p01[x1] + p10[x0] + p10[x1] + p11[x0] + p11[x1];

            o[x] = (guint8) ((sum + 4) / 8);
          }
      }
}
