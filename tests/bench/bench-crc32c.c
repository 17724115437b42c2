/* bench-crc32c.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every OCDBT node and manifest is checksummed on read, so CRC-32C must run
 * near memory speed. Reference: a plain scan (64-bit XOR) of the same buffer.
 */

#include "cleave-bytes.h"
#include "cleave-bytes-private.h"

#include <string.h>

#define SIZE (64u << 20)

static double
best_of (int      rounds,
         guint64 (*fn) (const guint8 *, gsize),
         const guint8 *data,
         guint64  *sink)
{
  double best = G_MAXDOUBLE;

  for (int r = 0; r < rounds; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      *sink ^= fn (data, SIZE);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6);
    }
  return best;
}

static guint64
scan (const guint8 *data,
      gsize         len)
{
  guint64 acc = 0;

  for (gsize i = 0; i + 8 <= len; i += 8)
    {
      guint64 v;
      memcpy (&v, data + i, 8);
      acc ^= v;
    }
  return acc;
}

static guint64
crc_dispatched (const guint8 *data,
                gsize         len)
{
  return cleave_crc32c (data, len);
}

static guint64
crc_portable (const guint8 *data,
              gsize         len)
{
  return _cleave_crc32c_portable (data, len);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree guint8 *data = g_malloc (SIZE);
  guint64 sink = 0;
  double t_scan, t_crc, t_table;

  for (gsize i = 0; i < SIZE; i++)
    data[i] = (guint8) (i * 2654435761u >> 13);

  t_scan = best_of (5, scan, data, &sink);
  t_crc = best_of (5, crc_dispatched, data, &sink);
  t_table = best_of (3, crc_portable, data, &sink);

  g_print ("crc32c (dispatched): %.2f GB/s\n", SIZE / t_crc / 1e9);
  g_print ("crc32c (tables):     %.2f GB/s\n", SIZE / t_table / 1e9);
  g_print ("plain memory scan:   %.2f GB/s\n", SIZE / t_scan / 1e9);
  g_print ("ratio crc32c / scan: %.2f (tables: %.2f)\n", t_scan / t_crc, t_scan / t_table);
  g_print ("(sink %" G_GINT64_MODIFIER "x)\n", sink);
  return 0;
}
