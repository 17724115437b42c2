/* cleave-contacts.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-contacts.h"

#include <stdlib.h>

typedef struct
{
  guint64 a, b;
  guint64 area, intensity;
} Face;

static int
cmp_face (const void *pa,
          const void *pb)
{
  const Face *x = pa, *y = pb;

  if (x->a != y->a)
    return x->a < y->a ? -1 : 1;
  return x->b < y->b ? -1 : x->b > y->b;
}

void
cleave_contacts_find (const guint64 *labels,
                      const guint8  *image,
                      const gsize    size[3],
                      const gsize    own[3],
                      GArray        *out)
{
  gsize stride[3] = { 1, size[0], size[0] * size[1] };
  g_autoptr(GArray) faces = g_array_new (FALSE, FALSE, sizeof (Face));
  Face run = { 0 };

  g_return_if_fail (own[0] <= size[0] && own[1] <= size[1] && own[2] <= size[2]);

  /* Faces come in long runs of the same pair along a boundary; folding
   * each run into one row keeps the array (and the sort) small. */
  for (gsize z = 0; z < own[2]; z++)
    for (gsize y = 0; y < own[1]; y++)
      {
        gsize row = z * stride[2] + y * stride[1];
        gboolean up[3] = { TRUE, y + 1 < size[1], z + 1 < size[2] };

        for (gsize x = 0; x < own[0]; x++)
          {
            gsize i = row + x;
            guint64 u = labels[i];

            if (u == 0)
              continue;
            up[0] = x + 1 < size[0];
            for (guint k = 0; k < 3; k++)
              {
                guint64 v, a, b;

                if (!up[k])
                  continue;
                v = labels[i + stride[k]];
                if (v == u || v == 0)
                  continue;
                a = MIN (u, v);
                b = MAX (u, v);
                if (a != run.a || b != run.b)
                  {
                    if (run.area)
                      g_array_append_val (faces, run);
                    run = (Face) { a, b, 0, 0 };
                  }
                run.area++;
                if (image)
                  run.intensity += (guint64) image[i] + image[i + stride[k]];
              }
          }
      }
  if (run.area)
    g_array_append_val (faces, run);

  if (faces->len > 1)
    qsort (faces->data, faces->len, sizeof (Face), cmp_face);
  for (guint i = 0; i < faces->len;)
    {
      const Face *f = &g_array_index (faces, Face, i);
      CleaveContact c = { f->a, f->b, 0, 0 };

      for (; i < faces->len && g_array_index (faces, Face, i).a == c.a && g_array_index (faces, Face, i).b == c.b; i++)
        {
          c.area += g_array_index (faces, Face, i).area;
          c.intensity += g_array_index (faces, Face, i).intensity;
        }
      g_array_append_val (out, c);
    }
}
