/* bench-downsample.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The mode kernels, in MVx/s of input, on demo segmentation and on random
 * labels, each beside a plain scan (a sum) of the same buffer measured in
 * the same run: the goals are 2x2x1 >= 0.8x and 2x2x2 >= 0.5x the scan on
 * segmentation (spec/algorithms.md §1; tinybrain publishes about 1.9 GVx/s
 * for 2x2x2 on connectomics, Apple M1). Then the worker on a job covering
 * the whole volume, in MVx/s of mip 0, beside reading the same mip 0 region
 * through the volume (the decode every block must pay anyway).
 */

#include "algo/cleave-downsample.h"
#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-ingest.h"
#include "cleave-queue.h"
#include "cleave-test.h"
#include "cleave-worker.h"

#include <stdio.h>

#define ROUNDS 5

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static volatile guint64 sink;

static double
time_scan (const guint64 *v,
           gsize          n)
{
  double best = G_MAXDOUBLE;

  for (guint r = 0; r < ROUNDS; r++)
    {
      double t = now ();
      guint64 s = 0;

      for (gsize i = 0; i < n; i++)
        s += v[i];
      sink += s;
      best = MIN (best, now () - t);
    }
  return best;
}

static double
time_kernel (const guint64 *v,
             const gsize    size[3],
             const guint    f[3],
             gboolean       sparse,
             guint          n_mips,
             guint64      **outs)
{
  double best = G_MAXDOUBLE;

  for (guint r = 0; r < ROUNDS; r++)
    {
      double t = now ();

      cleave_downsample_mode_mips (v, size, f, sparse, n_mips, outs);
      best = MIN (best, now () - t);
    }
  return best;
}

static void
bench_kernels (const char    *what,
               const guint64 *v,
               const gsize    size[3])
{
  gsize n = size[0] * size[1] * size[2];
  double scan = time_scan (v, n);
  guint64 *outs[2] = { g_new (guint64, n / 4 + size[2] * (size[0] + size[1] + 1)),
                       g_new (guint64, n / 16 + size[2] * (size[0] + size[1] + 1)) };
  static const struct { guint f[3]; gboolean sparse; guint mips; const char *name; } cases[] = {
    { { 2, 2, 1 }, FALSE, 1, "2x2x1" },
    { { 2, 2, 1 }, TRUE, 1, "2x2x1 sparse" },
    { { 2, 2, 1 }, FALSE, 2, "2x2x1 2 mips" },
    { { 2, 2, 2 }, FALSE, 1, "2x2x2" },
    { { 2, 2, 2 }, TRUE, 1, "2x2x2 sparse" },
    { { 2, 2, 2 }, FALSE, 2, "2x2x2 2 mips" },
  };

  printf ("%s: %zux%zux%zu uint64, scan %.0f MVx/s (%.1f GB/s)\n", what, size[0], size[1], size[2],
          n / scan / 1e6, n * 8 / scan / 1e9);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      double t = time_kernel (v, size, cases[i].f, cases[i].sparse, cases[i].mips, outs);

      printf ("  %-14s %6.0f MVx/s  %.2fx the scan  (tinybrain 2x2x2 on connectomics, M1: 1967 MVx/s = %.2fx this)\n",
              cases[i].name, n / t / 1e6, scan / t, 1967.0 / (n / t / 1e6));
    }
  g_free (outs[0]);
  g_free (outs[1]);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = NULL;
  g_autofree guint64 *seg = NULL;
  g_autofree guint64 *rnd = NULL;
  CleaveDemoParams p;
  CleaveVolume *vol;
  gint64 lo[3] = { 0, 0, 0 };
  gsize size[3], n;

  cleave_test_init (&argc, &argv);
  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "bench.cleave", NULL);
  cleave_demo_params_init (&p);
  p.size[0] = 512, p.size[1] = 512, p.size[2] = 128;
  g_assert_true (cleave_demo_create (dir, &p, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_ingest (dir, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  ds = cleave_dataset_open (dir, &error);
  g_assert_no_error (error);
  vol = cleave_dataset_get_seg (ds);
  for (guint k = 0; k < 3; k++)
    size[k] = p.size[k];
  n = size[0] * size[1] * size[2];
  seg = g_new (guint64, n);
  {
    gint64 hi[3] = { p.size[0], p.size[1], p.size[2] };
    g_assert_true (cleave_volume_read (vol, 0, lo, hi, seg, &error));
    g_assert_no_error (error);
  }
  rnd = g_new (guint64, n);
  {
    g_autoptr(GRand) r = g_rand_new_with_seed (1);

    for (gsize i = 0; i < n; i++)
      rnd[i] = ((guint64) g_rand_int (r) << 32) | g_rand_int (r);
  }
  bench_kernels ("demo segmentation", seg, size);
  bench_kernels ("random labels", rnd, size);
  for (gsize i = 0; i < n; i++)
    rnd[i] &= 3;
  bench_kernels ("random labels 0..3", rnd, size);

  /* The worker on one job over the whole volume: every block read,
   * downsampled and (where changed) re-encoded; against one region read
   * of the same mip 0 through the volume (decode and copy). */
  {
    g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
    g_autoptr(CleaveWorker) w = NULL;
    gint64 all[6] = { 0, 0, 0, p.size[0], p.size[1], p.size[2] };
    CleaveWorkerStats stats;
    double t, t_read = G_MAXDOUBLE;

    g_assert_no_error (error);
    for (guint r = 0; r < 3; r++)
      {
        g_autoptr(CleaveDataset) fresh = cleave_dataset_open (dir, &error);

        t = now ();
        g_assert_true (cleave_volume_read (cleave_dataset_get_seg (fresh), 0, lo, all + 3, seg, &error));
        t_read = MIN (t_read, now () - t);
      }
    w = cleave_worker_new (dir, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (cleave_queue_enqueue (graph, 1, all, 1, &error));
    t = now ();
    g_assert_true (cleave_worker_drain (w, NULL, &error));
    g_assert_no_error (error);
    t = now () - t;
    cleave_worker_get_stats (w, &stats);
    printf ("worker, one job over the whole volume (%u mips, pyramid already right): %" G_GUINT64_FORMAT
            " blocks, %.0f MVx/s of mip 0; reading mip 0 alone %.0f MVx/s: %.2fx the read\n",
            p.n_mips, stats.pyramid.blocks, stats.pyramid.voxels / t / 1e6, n / t_read / 1e6, t_read / t);
  }
  cleave_test_rm_rf (tmp);
  return 0;
}
