/* bench-graph.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph on the default demo dataset: batched root lookups (cold and
 * warm) against a plain in-memory hash lookup of the same answers; merge
 * and multicut split latency (p50, p95) against the floor of any durable
 * edit, one empty write transaction; ingest throughput.
 */

#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-edit.h"
#include "cleave-graph.h"
#include "cleave-ingest.h"
#include "cleave-multicut.h"
#include "cleave-test.h"

#include <malloc.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static int
cmp_double (gconstpointer a,
            gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static double
percentile (GArray *t,
            double  q)
{
  g_array_sort (t, cmp_double);
  return g_array_index (t, double, MIN (t->len - 1, (guint) (q * t->len)));
}

static GArray *
all_svs (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "agglomeration.tsv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *svs = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv;
      if (lines[i][0] != '#' && lines[i][0] && sscanf (lines[i], "%" G_GUINT64_FORMAT, &sv) == 1)
        g_array_append_val (svs, sv);
    }
  return svs;
}

int
main (int    argc,
      char **argv)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) svs = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);
  CleaveDemoParams p;
  double t0, t_ingest;

  mallopt (M_PERTURB, 0);
  cleave_test_init (&argc, &argv);
  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "bench.cleave", NULL);
  cleave_demo_params_init (&p);
  if (!cleave_demo_create (dir, &p, NULL, NULL, &error))
    g_error ("%s", error->message);

  /* Ingest, rebuilt from scratch, and a plain bulk insert of as many rows. */
  t0 = now ();
  if (!cleave_ingest (dir, TRUE, NULL, NULL, &error))
    g_error ("%s", error->message);
  t_ingest = now () - t0;
  svs = all_svs (dir);
  {
    g_autofree char *ref = g_build_filename (tmp, "ref.sqlite", NULL);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    double t_ref;
    guint rows = svs->len * 3;

    sqlite3_open (ref, &db);
    sqlite3_exec (db, "PRAGMA journal_mode=WAL; CREATE TABLE t (a INTEGER, b INTEGER, c INTEGER, PRIMARY KEY (a, b)) WITHOUT ROWID;",
                  NULL, NULL, NULL);
    t0 = now ();
    sqlite3_exec (db, "BEGIN", NULL, NULL, NULL);
    sqlite3_prepare_v2 (db, "INSERT INTO t VALUES (?, ?, ?)", -1, &st, NULL);
    for (guint i = 0; i < rows; i++)
      {
        sqlite3_reset (st);
        sqlite3_bind_int64 (st, 1, i);
        sqlite3_bind_int64 (st, 2, i * 7);
        sqlite3_bind_int64 (st, 3, i);
        sqlite3_step (st);
      }
    sqlite3_finalize (st);
    sqlite3_exec (db, "COMMIT", NULL, NULL, NULL);
    t_ref = now () - t0;
    sqlite3_close (db);
    g_print ("1. ingest of the default demo (512x512x128 = %.1f MVx, %u supervoxels, 5 layers):\n",
             512.0 * 512 * 128 / 1e6, svs->len);
    g_print ("   cleave_ingest:               %8.1f ms   %8.1f MVx/s\n", t_ingest * 1e3,
             512.0 * 512 * 128 / 1e6 / t_ingest);
    g_print ("   bulk insert of %u rows (ref):   %8.1f ms\n", rows, t_ref * 1e3);
    g_print ("   ratio ref / ingest: %.3fx\n", t_ref / t_ingest);
  }

  /* 2. Roots of 100,000 supervoxels in one call (sampled, with repeats:
   * the demo has fewer distinct ones). */
  {
    g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
    g_autofree guint64 *q = g_new (guint64, 100000);
    g_autofree guint64 *roots = g_new (guint64, 100000);
    g_autoptr(GHashTable) map = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
    double cold, warm = G_MAXDOUBLE, ref = G_MAXDOUBLE;
    guint64 sink = 0;

    g_assert_no_error (error);
    for (guint i = 0; i < 100000; i++)
      q[i] = g_array_index (svs, guint64, g_rand_int_range (rand, 0, svs->len));
    t0 = now ();
    if (!cleave_graph_get_roots (g, q, 100000, CLEAVE_GRAPH_LATEST, roots, &error))
      g_error ("%s", error->message);
    cold = now () - t0;
    for (int r = 0; r < 5; r++)
      {
        t0 = now ();
        cleave_graph_get_roots (g, q, 100000, CLEAVE_GRAPH_LATEST, roots, &error);
        warm = MIN (warm, now () - t0);
      }
    for (guint i = 0; i < 100000; i++)
      g_hash_table_insert (map, g_memdup2 (&q[i], 8), g_memdup2 (&roots[i], 8));
    for (int r = 0; r < 5; r++)
      {
        t0 = now ();
        for (guint i = 0; i < 100000; i++)
          sink += *(guint64 *) g_hash_table_lookup (map, &q[i]);
        ref = MIN (ref, now () - t0);
      }
    g_print ("2. roots of 100,000 supervoxels in one call (%u distinct):\n", svs->len);
    g_print ("   cold (fresh handle):   %8.2f ms\n", cold * 1e3);
    g_print ("   warm:                  %8.2f ms   (goal <= 50 ms)\n", warm * 1e3);
    g_print ("   hash lookup of the answers (ref): %6.2f ms;  ratio ref / warm %.3fx  (sink %" G_GUINT64_FORMAT ")\n",
             ref * 1e3, ref / warm, sink);
  }

  /* 3. Edit latency: 100 false merges made and split again, as a
   * proofreader fixes them; reference: an empty write transaction. */
  {
    g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
    g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
    g_autoptr(GArray) t_merge = g_array_new (FALSE, FALSE, sizeof (double));
    g_autoptr(GArray) t_split = g_array_new (FALSE, FALSE, sizeof (double));
    g_autoptr(GArray) t_ref = g_array_new (FALSE, FALSE, sizeof (double));
    CleaveVolume *seg = cleave_dataset_get_seg (ds);
    guint tries = 0, refused = 0;

    g_assert_no_error (error);
    while (t_merge->len < 100 && tries++ < 50000)
      {
        gint64 xyz[6];
        guint64 sv[2], rt[2];
        g_auto(CleaveEditResult) r = { 0 };
        g_auto(CleaveEditResult) s = { 0 };
        g_auto(CleaveMulticutResult) cut = { 0 };
        g_auto(CleaveSplitReport) report = { 0 };
        double t;

        for (guint k = 0; k < 6; k++)
          xyz[k] = g_rand_int_range (rand, 0, k % 3 == 2 ? 128 : 512);
        /* Two objects near each other, as false merges are. */
        xyz[3] = CLAMP (xyz[0] + g_rand_int_range (rand, -40, 40), 0, 511);
        xyz[4] = CLAMP (xyz[1] + g_rand_int_range (rand, -40, 40), 0, 511);
        xyz[5] = CLAMP (xyz[2] + g_rand_int_range (rand, -4, 4), 0, 127);
        if (!cleave_volume_lookup (seg, 0, xyz, 2, sv, &error) || sv[0] == 0 || sv[1] == 0)
          {
            g_clear_error (&error);
            continue;
          }
        if (!cleave_graph_get_roots (g, sv, 2, CLEAVE_GRAPH_LATEST, rt, &error) || rt[0] == rt[1])
          {
            g_clear_error (&error);
            continue;
          }
        t = now ();
        if (!cleave_edit_merge (g, sv[0], sv[1], xyz, xyz + 3, "bench", &r, &error))
          g_error ("merge: %s", error->message);
        g_array_append_val (t_merge, (double) { now () - t });
        t = now ();
        cleave_split_report_clear (&report);
        if (cleave_edit_split (g, seg, xyz, 1, xyz + 3, 1, FALSE, "bench", &cut, &report, &s, &error))
          g_array_append_val (t_split, (double) { now () - t });
        else
          {
            /* A cut that would isolate a point is refused: undo instead. */
            g_clear_error (&error);
            refused++;
            if (!cleave_edit_undo (g, r.op_id, "bench", &s, &error))
              g_error ("undo: %s", error->message);
          }
      }
    {
      g_autofree char *path = g_build_filename (dir, "graph.sqlite", NULL);
      sqlite3 *db = NULL;

      sqlite3_open (path, &db);
      for (guint i = 0; i < 100; i++)
        {
          double t = now ();
          sqlite3_exec (db, "BEGIN IMMEDIATE; UPDATE meta SET value = value WHERE key = 'format'; COMMIT;", NULL, NULL, NULL);
          g_array_append_val (t_ref, (double) { now () - t });
        }
      sqlite3_close (db);
    }
    g_print ("3. edits on the demo: %u merges, %u multicut splits (%u refused as isolating, undone instead):\n",
             t_merge->len, t_split->len, refused);
    g_print ("   merge  p50 %7.2f ms  p95 %7.2f ms\n", percentile (t_merge, 0.5) * 1e3, percentile (t_merge, 0.95) * 1e3);
    if (t_split->len > 0)
      g_print ("   split  p50 %7.2f ms  p95 %7.2f ms\n", percentile (t_split, 0.5) * 1e3, percentile (t_split, 0.95) * 1e3);
    g_print ("   empty write transaction (ref): p50 %6.3f ms;  ratio ref / merge p50 %.3fx\n",
             percentile (t_ref, 0.5) * 1e3, percentile (t_ref, 0.5) / percentile (t_merge, 0.5));
  }
  cleave_test_rm_rf (tmp);
  return 0;
}
