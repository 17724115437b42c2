/* bench-volume.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Region reads and lookups on the demo dataset. The region read goes
 * through the store (B+tree lookups, value reads, decode, copy); the
 * reference reads the same encoded chunk bytes with pread from already open
 * data files and runs the same codec and copy, on the same threads, with no
 * store: the ratio is what the store costs. Lookups are compared with
 * indexing a dense in-memory array.
 */

#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-parallel.h"
#include "cleave-test.h"

#include <fcntl.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#define ROUNDS 7

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

typedef struct
{
  const CleaveScale *scale;
  gint64             lo[3], hi[3];
  guint64           *out;
  int               *fds;       /* per chunk */
  guint64           *offsets;
  guint64           *lengths;
  gint64            *g;         /* chunk coordinates, 3 per chunk */
} Ref;

static gboolean
ref_one (gsize     i,
         gpointer  user_data,
         GError  **error)
{
  Ref *r = user_data;
  const CleaveScale *s = r->scale;
  gint64 clo[3], chi[3];
  guint shape[3];
  g_autofree guint8 *bytes = g_malloc (MAX (r->lengths[i], 1));
  g_autofree guint64 *chunk = NULL;
  gsize bx = r->hi[0] - r->lo[0], by = r->hi[1] - r->lo[1];

  if (pread (r->fds[i], bytes, r->lengths[i], r->offsets[i]) != (ssize_t) r->lengths[i])
    g_error ("pread failed");
  cleave_scale_chunk_box (s, r->g + 3 * i, clo, chi);
  for (guint d = 0; d < 3; d++)
    shape[d] = (guint) (chi[d] - clo[d]);
  chunk = g_new (guint64, (gsize) shape[0] * shape[1] * shape[2]);
  if (!cleave_codec_decode (s->encoding, CLEAVE_DATA_TYPE_UINT64, bytes, r->lengths[i], shape, s->block, chunk,
                            "ref", error))
    return FALSE;
  /* The same row copy the store does: the overlap of chunk and box. */
  for (gint64 z = MAX (clo[2], r->lo[2]); z < MIN (chi[2], r->hi[2]); z++)
    for (gint64 y = MAX (clo[1], r->lo[1]); y < MIN (chi[1], r->hi[1]); y++)
      {
        gint64 x0 = MAX (clo[0], r->lo[0]), x1 = MIN (chi[0], r->hi[0]);
        memcpy (r->out + ((gsize) (z - r->lo[2]) * by + (gsize) (y - r->lo[1])) * bx + (gsize) (x0 - r->lo[0]),
                chunk + ((gsize) (z - clo[2]) * shape[1] + (gsize) (y - clo[1])) * shape[0] + (gsize) (x0 - clo[0]),
                (gsize) (x1 - x0) * 8);
      }
  return TRUE;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  CleaveDemoParams p;
  const gint64 lo[3] = { 0, 0, 32 }, hi[3] = { 512, 512, 64 };
  gsize n = 512 * 512 * 32;
  g_autofree guint64 *out = g_new (guint64, n);
  g_autofree guint64 *ref_out = g_new (guint64, n);
  double best_store = G_MAXDOUBLE, best_ref = G_MAXDOUBLE, t0;
  guint64 total_encoded = 0;

  /* meson's MALLOC_PERTURB_ fills every allocation twice; measure the
   * code, not the harness. */
  mallopt (M_PERTURB, 0);
  cleave_test_init (&argc, &argv);
  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "demo.cleave", NULL);
  cleave_demo_params_init (&p);
  t0 = now ();
  if (!cleave_demo_create (dir, &p, NULL, NULL, &error))
    g_error ("%s", error->message);
  g_print ("demo dataset 512x512x128, 3 mips, image: created in %.2f s\n", now () - t0);

  /* 1. Region read of 512x512x32 at mip 0, a fresh dataset handle per
   * round (no decoded chunk cached; the page cache warm). */
  for (int r = 0; r < ROUNDS; r++)
    {
      g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);

      g_assert_no_error (error);
      t0 = now ();
      if (!cleave_volume_read (cleave_dataset_get_seg (ds), 0, lo, hi, out, &error))
        g_error ("%s", error->message);
      best_store = MIN (best_store, now () - t0);
    }

  /* The reference: the same chunks' bytes, located once beforehand. */
  {
    g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
    CleaveVolume *seg = cleave_dataset_get_seg (ds);
    CleaveOcdbt *store = cleave_volume_get_store (seg);
    const CleaveScale *s = &g_array_index (cleave_volume_get_info (seg)->scales, CleaveScale, 0);
    g_autoptr(GHashTable) fds = g_hash_table_new (NULL, NULL);
    guint nc = 8 * 8 * 1;
    Ref ref = { s, { 0, 0, 32 }, { 512, 512, 64 }, ref_out, g_new (int, nc), g_new (guint64, nc),
                g_new (guint64, nc), g_new (gint64, 3 * nc) };
    guint i = 0;

    for (gint64 y = 0; y < 8; y++)
      for (gint64 x = 0; x < 8; x++, i++)
        {
          gint64 g[3] = { x, y, 1 };
          g_autofree char *key = cleave_scale_chunk_key (s, "", g);
          g_auto(CleaveOcdbtValueRef) vr = { 0 };
          g_autofree char *path = NULL;
          gpointer fd;

          if (!cleave_ocdbt_get_ref (store, (const guint8 *) key, strlen (key), &vr, &error) || !vr.found || !vr.file)
            g_error ("chunk %s is not out of line", key);
          path = g_build_filename (dir, g_str_has_prefix (vr.file, "fork_d/") ? "seg/fork" : "seg/base", vr.file, NULL);
          if (!g_hash_table_lookup_extended (fds, vr.file, NULL, &fd))
            {
              fd = GINT_TO_POINTER (open (path, O_RDONLY | O_CLOEXEC));
              g_hash_table_insert (fds, (gpointer) vr.file, fd);
            }
          ref.fds[i] = GPOINTER_TO_INT (fd);
          ref.offsets[i] = vr.offset;
          ref.lengths[i] = vr.length;
          memcpy (ref.g + 3 * i, g, sizeof g);
          total_encoded += vr.length;
        }
    for (int r = 0; r < ROUNDS; r++)
      {
        t0 = now ();
        if (!cleave_parallel_for (nc, ref_one, &ref, &error))
          g_error ("%s", error->message);
        best_ref = MIN (best_ref, now () - t0);
      }
    g_assert_cmpmem (out, n * 8, ref_out, n * 8);
    g_free (ref.fds);
    g_free (ref.offsets);
    g_free (ref.lengths);
    g_free (ref.g);
  }
  g_print ("1. region read 512x512x32 at mip 0 (64 chunks, %.1f MB encoded, %.0f MB decoded), best of %d:\n",
           total_encoded / 1e6, n * 8 / 1e6, ROUNDS);
  g_print ("   cleave_volume_read, fresh handle:    %7.2f ms  %7.1f MVx/s\n", best_store * 1e3, n / best_store / 1e6);
  g_print ("   pread + same codec + copy (ref):     %7.2f ms  %7.1f MVx/s\n", best_ref * 1e3, n / best_ref / 1e6);
  g_print ("   ratio ref / store: %.2fx (goal >= 0.70x)\n", best_ref / best_store);

  /* 2. Lookups of 10,000 random coordinates, warm and cold. */
  {
    g_autoptr(GRand) rand = g_rand_new_with_seed (5);
    g_autofree gint64 *xyz = g_new (gint64, 3 * 10000);
    g_autofree guint64 *sv = g_new (guint64, 10000);
    g_autofree guint64 *dense = g_new (guint64, (gsize) 512 * 512 * 128);
    const gint64 all_lo[3] = { 0, 0, 0 }, all_hi[3] = { 512, 512, 128 };
    double best_cold = G_MAXDOUBLE, best_warm = G_MAXDOUBLE, best_dense = G_MAXDOUBLE;
    guint64 sink = 0;

    for (guint i = 0; i < 3 * 10000; i++)
      xyz[i] = g_rand_int_range (rand, 0, i % 3 == 2 ? 128 : 512);
    for (int r = 0; r < ROUNDS; r++)
      {
        g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
        CleaveVolume *seg = cleave_dataset_get_seg (ds);

        t0 = now ();
        if (!cleave_volume_lookup (seg, 0, xyz, 10000, sv, &error))
          g_error ("%s", error->message);
        best_cold = MIN (best_cold, now () - t0);
        t0 = now ();
        if (!cleave_volume_lookup (seg, 0, xyz, 10000, sv, &error))
          g_error ("%s", error->message);
        best_warm = MIN (best_warm, now () - t0);
        if (r == 0 && !cleave_volume_read (seg, 0, all_lo, all_hi, dense, &error))
          g_error ("%s", error->message);
      }
    for (int r = 0; r < ROUNDS; r++)
      {
        t0 = now ();
        for (guint i = 0; i < 10000; i++)
          sink += dense[((gsize) xyz[3 * i + 2] * 512 + (gsize) xyz[3 * i + 1]) * 512 + (gsize) xyz[3 * i]];
        best_dense = MIN (best_dense, now () - t0);
      }
    for (guint i = 0; i < 10000; i++)
      g_assert_cmpuint (sv[i], ==, dense[((gsize) xyz[3 * i + 2] * 512 + (gsize) xyz[3 * i + 1]) * 512 + (gsize) xyz[3 * i]]);
    g_print ("2. lookup of 10,000 random coordinates (all 256 chunks), best of %d:\n", ROUNDS);
    g_print ("   cold (chunks decoded):   %8.2f ms  %6.2f us/lookup\n", best_cold * 1e3, best_cold * 1e6 / 10000);
    g_print ("   warm (chunk cache):      %8.2f ms  %6.2f us/lookup\n", best_warm * 1e3, best_warm * 1e6 / 10000);
    g_print ("   dense array (ref):       %8.3f ms  %6.3f us/lookup\n", best_dense * 1e3, best_dense * 1e6 / 10000);
    g_print ("   ratio ref / warm: %.3fx   (sink %" G_GUINT64_FORMAT ")\n", best_dense / best_warm, sink);
  }
  cleave_test_rm_rf (tmp);
  return 0;
}
