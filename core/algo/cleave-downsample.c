/* cleave-downsample.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-downsample.h"

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

/* One output row of 2x2x1 from input rows @r0 (y even) and @r1. */
static inline void
row_2x2x1 (const guint64 *r0,
           const guint64 *r1,
           gsize          sx,
           gboolean       sparse,
           guint64       *o)
{
  gsize half = sx / 2;

  if (sparse)
    for (gsize x = 0; x < half; x++)
      o[x] = mode4_sparse (r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]);
  else
    for (gsize x = 0; x < half; x++)
      o[x] = mode4 (r0[2 * x], r0[2 * x + 1], r1[2 * x], r1[2 * x + 1]);
  if (sx & 1)
    o[half] = sparse ? mode4_sparse (r0[sx - 1], r0[sx - 1], r1[sx - 1], r1[sx - 1]) : r0[sx - 1];
}

/* Output planes [oz0, oz1) of a 2x2x1 step over the whole input. */
static void
planes_2x2x1 (const guint64 *in,
              gsize          sx,
              gsize          sy,
              gsize          oz0,
              gsize          oz1,
              gboolean       sparse,
              guint64       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2;

  for (gsize z = oz0; z < oz1; z++)
    for (gsize y = 0; y < oy; y++)
      {
        const guint64 *r0 = in + (z * sy + 2 * y) * sx;
        const guint64 *r1 = in + (z * sy + MIN (2 * y + 1, sy - 1)) * sx;

        row_2x2x1 (r0, r1, sx, sparse, out + (z * oy + y) * ox);
      }
}

void
cleave_downsample_mode_2x2x1 (const guint64 *in,
                              gsize          sx,
                              gsize          sy,
                              gsize          sz,
                              guint64       *out)
{
  planes_2x2x1 (in, sx, sy, 0, sz, FALSE, out);
}

void
cleave_downsample_mode_2x2x1_sparse (const guint64 *in,
                                     gsize          sx,
                                     gsize          sy,
                                     gsize          sz,
                                     guint64       *out)
{
  planes_2x2x1 (in, sx, sy, 0, sz, TRUE, out);
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

static void
step_planes (const guint64 *in,
             const gsize    size[3],
             const guint    factor[3],
             gboolean       sparse,
             gsize          oz0,
             gsize          oz1,
             guint64       *out)
{
  g_assert (cleave_downsample_mode_supported (factor));
  if (factor[2] == 1)
    planes_2x2x1 (in, size[0], size[1], oz0, oz1, sparse, out);
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
  step_planes (in, size, factor, sparse, 0, osize[2], out);
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
          step_planes (src, sizes[m], factor, sparse, oz0, oz1, outs[m]);
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
