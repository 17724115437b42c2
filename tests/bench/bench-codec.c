/* bench-codec.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Chunk decoding sits on the path of every slice the viewer draws, so it is
 * measured against the cheapest thing that could produce the same voxels: a
 * memcpy of the decoded bytes. 64x64x64 uint64 chunks in 8x8x8 blocks:
 *
 *  (a) demo-like labels: a coarse 3-D Voronoi diagram of 20 seeds (smooth
 *      regions, a few labels per block at most);
 *  (b) random labels (512 distinct per block: 16-bit indices);
 *
 * each decoded and encoded with compressed_segmentation, plus raw uint8
 * decoding. Throughput is in million voxels per second (MVx/s); ratios are
 * "codec throughput / memcpy throughput". Nothing here asserts on time.
 *
 * Every buffer is 64-byte aligned: glibc's memcpy (rep movsb) slows down
 * tenfold on some CPUs when the destination sits a few bytes past the
 * source modulo 4 KiB, and where malloc places the buffers would otherwise
 * decide the reference.
 */

#define G_LOG_DOMAIN "bench-codec"

#include "cleave-codec.h"

#include <string.h>

#define SIDE        64
#define N_VOXELS    (SIDE * SIDE * SIDE)
#define ROUNDS      7
#define MIN_SECONDS 0.05

static const guint shape[3] = { SIDE, SIDE, SIDE };
static const guint block[3] = { 8, 8, 8 };

typedef void (*BenchFunc) (gpointer data);

static gpointer
aligned (gsize size)
{
  return g_aligned_alloc (size, 1, 64);
}

/* A copy of @bytes in aligned memory. */
static GBytes *
aligned_bytes (GBytes *bytes)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);
  gpointer copy = aligned (MAX (len, 1));

  memcpy (copy, data, len);
  g_bytes_unref (bytes);
  return g_bytes_new_with_free_func (copy, len, g_aligned_free, copy);
}

/* Best over ROUNDS of the mean time of one call, each round running the
 * call often enough to last MIN_SECONDS. */
static double
seconds_per_call (BenchFunc fn,
                  gpointer  data)
{
  double best = G_MAXDOUBLE;
  guint reps = 1;

  for (;;)
    {
      gint64 t0 = g_get_monotonic_time ();
      for (guint i = 0; i < reps; i++)
        fn (data);
      if ((g_get_monotonic_time () - t0) / 1e6 >= MIN_SECONDS)
        break;
      reps *= 2;
    }
  for (int r = 0; r < ROUNDS; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      for (guint i = 0; i < reps; i++)
        fn (data);
      best = MIN (best, (g_get_monotonic_time () - t0) / 1e6 / reps);
    }
  return best;
}

typedef struct
{
  CleaveEncoding  encoding;
  CleaveDataType  type;
  const void     *voxels;
  GBytes         *encoded;
  void           *out;
  gsize           size;      /* decoded bytes */
} Case;

static void
run_decode (gpointer data)
{
  Case *c = data;
  gsize len;
  const guint8 *bytes = g_bytes_get_data (c->encoded, &len);
  g_autoptr(GError) error = NULL;

  if (!cleave_codec_decode (c->encoding, c->type, bytes, len, shape, block, c->out, "bench", &error))
    g_error ("%s", error->message);
}

static void
run_encode (gpointer data)
{
  Case *c = data;

  g_bytes_unref (cleave_codec_encode (c->encoding, c->type, c->voxels, shape, block));
}

static void
run_memcpy (gpointer data)
{
  Case *c = data;

  memcpy (c->out, c->voxels, c->size);
  /* Keep the copy from being optimized away. */
  __asm__ volatile ("" : : "r" (c->out) : "memory");
}

static guint64 *
voronoi (guint n_seeds,
         guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  guint64 *voxels = aligned (N_VOXELS * 8);
  double sx[64], sy[64], sz[64];
  guint64 label[64];

  g_assert (n_seeds <= 64);
  for (guint s = 0; s < n_seeds; s++)
    {
      sx[s] = g_rand_double_range (rand, 0, SIDE);
      sy[s] = g_rand_double_range (rand, 0, SIDE);
      sz[s] = g_rand_double_range (rand, 0, SIDE);
      label[s] = (guint64) g_rand_int (rand) << 24 | g_rand_int (rand);
    }
  for (guint z = 0; z < SIDE; z++)
    for (guint y = 0; y < SIDE; y++)
      for (guint x = 0; x < SIDE; x++)
        {
          double best = G_MAXDOUBLE;
          guint64 v = 0;

          for (guint s = 0; s < n_seeds; s++)
            {
              double d = (x - sx[s]) * (x - sx[s]) + (y - sy[s]) * (y - sy[s]) + (z - sz[s]) * (z - sz[s]);
              if (d < best)
                {
                  best = d;
                  v = label[s];
                }
            }
          voxels[x + SIDE * (y + SIDE * z)] = v;
        }
  return voxels;
}

static void
bench_labels (const char    *name,
              const guint64 *voxels)
{
  guint64 *out = aligned (N_VOXELS * 8);
  Case c = {
    CLEAVE_ENCODING_COMPRESSED_SEGMENTATION, CLEAVE_DATA_TYPE_UINT64, voxels, NULL, out, N_VOXELS * 8,
  };
  double t_dec, t_enc, t_copy;

  c.encoded = aligned_bytes (cleave_codec_encode (c.encoding, c.type, voxels, shape, block));
  run_decode (&c);
  g_assert (memcmp (out, voxels, c.size) == 0);

  t_copy = seconds_per_call (run_memcpy, &c);
  t_dec = seconds_per_call (run_decode, &c);
  t_enc = seconds_per_call (run_encode, &c);

  g_print ("%s: 64^3 uint64, 8^3 blocks, %" G_GSIZE_FORMAT " bytes encoded (%.1f%% of raw)\n",
           name, g_bytes_get_size (c.encoded), 100.0 * g_bytes_get_size (c.encoded) / c.size);
  g_print ("  decode  %8.0f MVx/s   %.3f x memcpy\n", N_VOXELS / t_dec / 1e6, t_copy / t_dec);
  g_print ("  encode  %8.0f MVx/s   %.3f x memcpy\n", N_VOXELS / t_enc / 1e6, t_copy / t_enc);
  g_print ("  memcpy  %8.0f MVx/s   (%.2f GB/s)\n", N_VOXELS / t_copy / 1e6, c.size / t_copy / 1e9);
  g_bytes_unref (c.encoded);
  g_aligned_free (out);
}

static void
bench_raw_uint8 (void)
{
  guint8 *voxels = aligned (N_VOXELS);
  guint8 *out = aligned (N_VOXELS);
  Case c = { CLEAVE_ENCODING_RAW, CLEAVE_DATA_TYPE_UINT8, voxels, NULL, out, N_VOXELS };
  double t_dec, t_copy;

  for (gsize i = 0; i < N_VOXELS; i++)
    voxels[i] = (guint8) (i * 2654435761u >> 13);
  c.encoded = aligned_bytes (cleave_codec_encode (c.encoding, c.type, voxels, shape, NULL));
  t_copy = seconds_per_call (run_memcpy, &c);
  t_dec = seconds_per_call (run_decode, &c);
  g_print ("raw uint8 64^3:\n");
  g_print ("  decode  %8.0f MVx/s   %.3f x memcpy\n", N_VOXELS / t_dec / 1e6, t_copy / t_dec);
  g_print ("  memcpy  %8.0f MVx/s\n", N_VOXELS / t_copy / 1e6);
  g_bytes_unref (c.encoded);
  g_aligned_free (voxels);
  g_aligned_free (out);
}

int
main (int   argc,
      char *argv[])
{
  guint64 *demo = voronoi (20, 1);
  guint64 *random = aligned (N_VOXELS * 8);
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);

  for (gsize i = 0; i < N_VOXELS; i++)
    random[i] = (guint64) g_rand_int (rand) << 32 | g_rand_int (rand);

  bench_labels ("(a) demo-like (Voronoi, 20 seeds)", demo);
  bench_labels ("(b) random labels", random);
  bench_raw_uint8 ();
  g_aligned_free (demo);
  g_aligned_free (random);
  return 0;
}
