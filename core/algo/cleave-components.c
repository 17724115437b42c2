/* cleave-components.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-components"

#include "cleave-components.h"

#include <string.h>

static inline gboolean
is_in (const guint8 *row,
       gsize         x,
       gboolean      any,
       guint8        value)
{
  return any ? row[x] != 0 : row[x] == value;
}

static inline guint32
uf_find (guint32 *parent,
         guint32  a)
{
  while (parent[a] != a)
    {
      parent[a] = parent[parent[a]];
      a = parent[a];
    }
  return a;
}

/* The smaller index wins, so a component's root is its first run. */
static inline void
uf_unite (guint32 *parent,
          guint32  a,
          guint32  b)
{
  a = uf_find (parent, a);
  b = uf_find (parent, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

/* Runs [x0, x1] of two rows 26-touch when their x ranges, each widened
 * by one, overlap. Both lists are sorted and disjoint. */
static void
unite_rows (guint32       *parent,
            const guint32 *x0,
            const guint32 *x1,
            guint32        a,
            guint32        a_end,
            guint32        b,
            guint32        b_end)
{
  while (a < a_end && b < b_end)
    {
      if ((guint64) x1[b] + 1 < x0[a])
        b++;
      else if ((guint64) x1[a] + 1 < x0[b])
        a++;
      else
        {
          uf_unite (parent, a, b);
          if (x1[a] < x1[b])
            a++;
          else
            b++;
        }
    }
}

static guint32
label26 (const guint8 *data,
         const gsize   size[3],
         gboolean      any,
         guint8        value,
         guint32      *labels)
{
  gsize nx = size[0], ny = size[1], nz = size[2];
  gsize n_rows = ny * nz, n_runs = 0;
  g_autofree guint32 *row_start = NULL;
  g_autofree guint32 *x0 = NULL, *x1 = NULL, *parent = NULL, *final = NULL;
  guint32 r, n_comp = 0;

  if (nx == 0 || n_rows == 0)
    return 0;
  memset (labels, 0, nx * n_rows * sizeof (guint32));

  for (gsize row = 0; row < n_rows; row++)
    {
      const guint8 *p = data + row * nx;
      gboolean prev = FALSE;

      for (gsize x = 0; x < nx; x++)
        {
          gboolean in = is_in (p, x, any, value);

          n_runs += in && !prev;
          prev = in;
        }
    }
  if (n_runs == 0)
    return 0;
  g_return_val_if_fail (n_runs < G_MAXUINT32, 0);

  row_start = g_new (guint32, n_rows + 1);
  x0 = g_new (guint32, n_runs);
  x1 = g_new (guint32, n_runs);
  parent = g_new (guint32, n_runs);
  r = 0;
  for (gsize z = 0; z < nz; z++)
    for (gsize y = 0; y < ny; y++)
      {
        gsize row = z * ny + y;
        const guint8 *p = data + row * nx;
        gsize x = 0;

        row_start[row] = r;
        while (x < nx)
          {
            if (!is_in (p, x, any, value))
              {
                x++;
                continue;
              }
            x0[r] = (guint32) x;
            while (x < nx && is_in (p, x, any, value))
              x++;
            x1[r] = (guint32) (x - 1);
            parent[r] = r;
            r++;
          }
        row_start[row + 1] = r;

        /* The rows before this one in scan order that touch it. */
        if (y > 0)
          unite_rows (parent, x0, x1, row_start[row], r, row_start[row - 1], row_start[row]);
        if (z > 0)
          for (gsize yy = y > 0 ? y - 1 : 0; yy <= y + 1 && yy < ny; yy++)
            {
              gsize other = (z - 1) * ny + yy;

              unite_rows (parent, x0, x1, row_start[row], r, row_start[other], row_start[other + 1]);
            }
      }

  final = g_new (guint32, n_runs);
  for (r = 0; r < n_runs; r++)
    {
      guint32 root = uf_find (parent, r);

      final[r] = root == r ? ++n_comp : final[root];
    }

  for (gsize row = 0; row < n_rows; row++)
    for (r = row_start[row]; r < row_start[row + 1]; r++)
      {
        guint32 *out = labels + row * nx;

        for (guint32 x = x0[r]; x <= x1[r]; x++)
          out[x] = final[r];
      }
  return n_comp;
}

guint32
cleave_components_label26 (const guint8 *mask,
                           const gsize   size[3],
                           guint32      *labels)
{
  g_return_val_if_fail (size != NULL, 0);
  g_return_val_if_fail (mask != NULL || size[0] * size[1] * size[2] == 0, 0);

  return label26 (mask, size, TRUE, 0, labels);
}

guint32
cleave_components_label26_value (const guint8 *data,
                                 const gsize   size[3],
                                 guint8        value,
                                 guint32       *labels)
{
  g_return_val_if_fail (size != NULL, 0);
  g_return_val_if_fail (data != NULL || size[0] * size[1] * size[2] == 0, 0);

  return label26 (data, size, FALSE, value, labels);
}
