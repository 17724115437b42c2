/* cleave-downsample.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-downsample.h"

void
cleave_downsample_mode_2x2x1 (const guint64 *in,
                              gsize          sx,
                              gsize          sy,
                              gsize          sz,
                              guint64       *out)
{
  gsize ox = (sx + 1) / 2, oy = (sy + 1) / 2;

  for (gsize z = 0; z < sz; z++)
    for (gsize y = 0; y < oy; y++)
      {
        const guint64 *r0 = in + (z * sy + 2 * y) * sx;
        const guint64 *r1 = in + (z * sy + MIN (2 * y + 1, sy - 1)) * sx;
        guint64 *o = out + (z * oy + y) * ox;

        for (gsize x = 0; x < ox; x++)
          {
            gsize x0 = 2 * x, x1 = MIN (2 * x + 1, sx - 1);
            guint64 a = r0[x0], b = r0[x1], c = r1[x0], d = r1[x1];

            o[x] = a == b || a == c ? a : b == c ? b : d;
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
