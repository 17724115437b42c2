/* cleave-util.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-util.h"

#include <time.h>

gint64
cleave_now_ns (void)
{
  struct timespec t;

  clock_gettime (CLOCK_REALTIME, &t);
  return (gint64) t.tv_sec * 1000000000 + t.tv_nsec;
}

int
cleave_cmp_u64 (gconstpointer a,
                gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;

  return x < y ? -1 : x > y;
}

guint
cleave_uf_find (guint *p,
                guint  x)
{
  while (p[x] != x)
    x = p[x] = p[p[x]];
  return x;
}

gboolean
cleave_uf_union (guint *p,
                 guint  a,
                 guint  b)
{
  a = cleave_uf_find (p, a);
  b = cleave_uf_find (p, b);
  if (a == b)
    return FALSE;
  p[MAX (a, b)] = MIN (a, b);
  return TRUE;
}
