/* test-worker.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The downsample worker on a demo dataset of odd sizes: random label
 * blocks written to mip 0 and their bboxes enqueued, then a drain. Every
 * mip must equal a full recomputation of the pyramid from mip 0 in every
 * chunk whose footprint meets an edited bbox and be untouched elsewhere;
 * a budget of 1 byte (tile by tile) gives what the in-memory path gives;
 * two workers on one queue lose no job and do none twice; a worker killed
 * at each of its fault points leaves a job that the next worker redoes.
 */

#include "algo/cleave-downsample.h"
#include "cleave-dataset.h"
#include "cleave-demo.h"
#include "cleave-fault.h"
#include "cleave-ingest.h"
#include "cleave-lock.h"
#include "cleave-queue.h"
#include "cleave-test.h"
#include "cleave-worker.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#define N_MIPS 3

static char *
make_dataset (const char *tmp,
              const char *name)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_build_filename (tmp, name, NULL);
  CleaveDemoParams p;

  cleave_demo_params_init (&p);
  /* Odd sizes at mip 1 (99, 67): the edge rules are exercised. */
  p.size[0] = 198, p.size[1] = 134, p.size[2] = 40;
  p.chunk[0] = 32, p.chunk[1] = 32, p.chunk[2] = 16;
  p.n_mips = N_MIPS;
  p.seed = 3;
  g_assert_true (cleave_demo_create (dir, &p, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_ingest (dir, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  return dir;
}

typedef struct
{
  guint64 *mips[N_MIPS];
  gsize    size[N_MIPS][3];
} Pyramid;

static void
pyramid_clear (Pyramid *p)
{
  for (guint m = 0; m < N_MIPS; m++)
    g_clear_pointer (&p->mips[m], g_free);
}

static void
read_pyramid (const char *dir,
              Pyramid    *p)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
  CleaveVolume *seg;

  g_assert_no_error (error);
  seg = cleave_dataset_get_seg (ds);
  for (guint m = 0; m < N_MIPS; m++)
    {
      const CleaveScale *s = &g_array_index (cleave_volume_get_info (seg)->scales, CleaveScale, m);
      gint64 lo[3] = { 0, 0, 0 };

      for (guint k = 0; k < 3; k++)
        p->size[m][k] = s->size[k];
      p->mips[m] = g_new (guint64, p->size[m][0] * p->size[m][1] * p->size[m][2]);
      g_assert_true (cleave_volume_read (seg, m, lo, s->size, p->mips[m], &error));
      g_assert_no_error (error);
    }
}

/* @n random blocks of labels (blocky, with background and a few labels
 * the demo has) written to mip 0; each job has one or two bboxes. */
static void
random_edits (const char *dir,
              GRand      *r,
              guint       n_jobs,
              guint64     first_op,
              GArray     *all_bboxes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = cleave_dataset_open (dir, &error);
  g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
  CleaveVolume *seg;
  const gint64 *size;

  g_assert_no_error (error);
  seg = cleave_dataset_get_seg (ds);
  size = g_array_index (cleave_volume_get_info (seg)->scales, CleaveScale, 0).size;
  for (guint j = 0; j < n_jobs; j++)
    {
      guint n = g_rand_int_range (r, 1, 3);
      gint64 bbs[12];

      for (guint i = 0; i < n; i++)
        {
          gint64 *bb = bbs + 6 * i;
          g_autofree guint64 *labels = NULL;
          guint64 palette[4] = { 0, 1 + g_rand_int_range (r, 0, 1000), 5000 + j, 77 };
          gsize nv;

          for (guint k = 0; k < 3; k++)
            {
              gint64 ext = g_rand_int_range (r, 1, k == 2 ? 10 : 45);

              bb[k] = g_rand_int_range (r, 0, (gint32) (size[k] - 1));
              bb[3 + k] = MIN (bb[k] + ext, size[k]);
            }
          nv = (bb[3] - bb[0]) * (bb[4] - bb[1]) * (bb[5] - bb[2]);
          labels = g_new (guint64, nv);
          for (gsize v = 0; v < nv; v++)
            labels[v] = g_rand_int_range (r, 0, 5) == 0 ? palette[g_rand_int_range (r, 0, 4)]
                                                        : palette[(v / 7) % 4];
          g_assert_true (cleave_volume_write (seg, 0, bb, bb + 3, labels, NULL, NULL, &error));
          g_assert_no_error (error);
          g_array_append_vals (all_bboxes, bb, 6);
        }
      g_assert_true (cleave_queue_enqueue (graph, first_op + j, bbs, n, &error));
      g_assert_no_error (error);
    }
}

static gboolean
footprint_meets (const gint64 *lo0,
                 const gint64 *hi0,
                 GArray       *bboxes)
{
  for (guint i = 0; i < bboxes->len / 6; i++)
    {
      const gint64 *bb = &g_array_index (bboxes, gint64, 6 * i);
      guint k;

      for (k = 0; k < 3; k++)
        if (lo0[k] >= bb[3 + k] || hi0[k] <= bb[k])
          break;
      if (k == 3)
        return TRUE;
    }
  return FALSE;
}

/* Inside chunks that meet a bbox: the full recomputation from mip 0;
 * elsewhere: what was there before. */
static void
check_pyramid (const char *dir,
               Pyramid    *before,
               GArray     *bboxes)
{
  Pyramid now = { 0 };
  guint64 *want[N_MIPS - 1];
  const guint factor[3] = { 2, 2, 1 };
  const guint chunk[3] = { 32, 32, 16 };
  guint n_inside = 0, n_outside = 0;

  read_pyramid (dir, &now);
  for (guint m = 1; m < N_MIPS; m++)
    want[m - 1] = g_new (guint64, now.size[m][0] * now.size[m][1] * now.size[m][2]);
  cleave_downsample_mode_mips (now.mips[0], now.size[0], factor, FALSE, N_MIPS - 1, want);
  for (guint m = 1; m < N_MIPS; m++)
    {
      gsize *s = now.size[m];
      gint64 tiles[3] = { (s[0] + 31) / 32, (s[1] + 31) / 32, (s[2] + 15) / 16 };

      for (gint64 tz = 0; tz < tiles[2]; tz++)
        for (gint64 ty = 0; ty < tiles[1]; ty++)
          for (gint64 tx = 0; tx < tiles[0]; tx++)
            {
              gint64 t[3] = { tx, ty, tz }, lo[3], hi[3], lo0[3], hi0[3];
              gboolean inside;

              for (guint k = 0; k < 3; k++)
                {
                  lo[k] = t[k] * chunk[k];
                  hi[k] = MIN ((t[k] + 1) * chunk[k], (gint64) s[k]);
                  lo0[k] = lo[k] << (k < 2 ? m : 0);
                  hi0[k] = hi[k] << (k < 2 ? m : 0);
                }
              inside = footprint_meets (lo0, hi0, bboxes);
              if (inside)
                n_inside++;
              else
                n_outside++;
              for (gint64 z = lo[2]; z < hi[2]; z++)
                for (gint64 y = lo[1]; y < hi[1]; y++)
                  for (gint64 x = lo[0]; x < hi[0]; x++)
                    {
                      gsize i = (z * s[1] + y) * s[0] + x;
                      guint64 expect = inside ? want[m - 1][i] : before->mips[m][i];

                      if (now.mips[m][i] != expect)
                        g_error ("mip %u voxel %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                                 " (%s an edited chunk): %" G_GUINT64_FORMAT ", expected %" G_GUINT64_FORMAT,
                                 m, x, y, z, inside ? "inside" : "outside", now.mips[m][i], expect);
                    }
            }
    }
  /* The edits must leave both kinds of chunk to look at. */
  g_assert_cmpuint (n_inside, >, 0);
  g_assert_cmpuint (n_outside, >, 0);
  for (guint m = 0; m < N_MIPS - 1; m++)
    g_free (want[m]);
  pyramid_clear (&now);
}

static void
assert_queue_empty (const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
  g_autoptr(GArray) locks = NULL;
  CleaveQueueBacklog q;

  g_assert_no_error (error);
  g_assert_true (cleave_queue_get_backlog (graph, &q, &error));
  g_assert_cmpuint (q.pending + q.claimed + q.failed, ==, 0);
  locks = cleave_lock_list (graph, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < locks->len; i++)
    g_assert_cmpstr (g_array_index (locks, CleaveLockInfo, i).kind, !=, "downsample");
}

static void
drain (const char        *dir,
       gsize              budget,
       CleaveWorkerStats *stats)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveWorker) w = NULL;
  CleaveWorkerOptions o;

  cleave_worker_options_init (&o);
  o.budget = budget;
  w = cleave_worker_new (dir, &o, &error);
  g_assert_no_error (error);
  g_assert_true (cleave_worker_drain (w, NULL, &error));
  g_assert_no_error (error);
  cleave_worker_get_stats (w, stats);
}

static void
test_random_edits (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, "r.cleave");
  g_autoptr(GRand) r = g_rand_new_with_seed (11);
  g_autoptr(GArray) bboxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  Pyramid before = { 0 };
  CleaveWorkerStats stats;

  read_pyramid (dir, &before);
  random_edits (dir, r, 10, 1000, bboxes);
  drain (dir, 0, &stats);
  g_assert_cmpuint (stats.jobs_done, ==, 10);
  g_assert_cmpuint (stats.pyramid.in_memory, >, 0);
  g_assert_cmpuint (stats.pyramid.per_tile, ==, 0);
  g_assert_cmpuint (stats.pyramid.chunks_written, >, 0);
  check_pyramid (dir, &before, bboxes);
  assert_queue_empty (dir);

  /* A second round on top of the first. */
  random_edits (dir, r, 6, 2000, bboxes);
  drain (dir, 0, &stats);
  check_pyramid (dir, &before, bboxes);
  assert_queue_empty (dir);
  pyramid_clear (&before);
  cleave_test_rm_rf (tmp);
}

static void
test_budget_one_byte (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *a = make_dataset (tmp, "a.cleave");
  g_autofree char *b = g_build_filename (tmp, "b.cleave", NULL);
  g_autoptr(GArray) bboxes_a = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) bboxes_b = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto(CleaveTestRun) cp = { 0 };
  Pyramid before = { 0 }, pa = { 0 }, pb = { 0 };
  CleaveWorkerStats sa, sb;

  cleave_test_run (&cp, NULL, "/bin/cp", "-a", a, b, NULL);
  g_assert_cmpint (cp.status, ==, 0);
  read_pyramid (a, &before);
  {
    g_autoptr(GRand) ra = g_rand_new_with_seed (23);
    g_autoptr(GRand) rb = g_rand_new_with_seed (23);

    random_edits (a, ra, 8, 1, bboxes_a);
    random_edits (b, rb, 8, 1, bboxes_b);
  }
  drain (a, 0, &sa);
  drain (b, 1, &sb);
  g_assert_cmpuint (sa.pyramid.in_memory, ==, sa.pyramid.blocks);
  g_assert_cmpuint (sb.pyramid.per_tile, ==, sb.pyramid.blocks);
  g_assert_cmpuint (sb.pyramid.in_memory, ==, 0);
  g_assert_cmpuint (sa.pyramid.blocks, ==, sb.pyramid.blocks);
  read_pyramid (a, &pa);
  read_pyramid (b, &pb);
  for (guint m = 0; m < N_MIPS; m++)
    g_assert_cmpmem (pa.mips[m], pa.size[m][0] * pa.size[m][1] * pa.size[m][2] * 8,
                     pb.mips[m], pb.size[m][0] * pb.size[m][1] * pb.size[m][2] * 8);
  check_pyramid (b, &before, bboxes_b);
  pyramid_clear (&before);
  pyramid_clear (&pa);
  pyramid_clear (&pb);
  cleave_test_rm_rf (tmp);
}

typedef struct
{
  const char        *dir;
  CleaveWorkerStats  stats;
} Drainer;

static gpointer
drain_thread (gpointer data)
{
  Drainer *d = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveWorker) w = NULL;
  CleaveWorkerOptions o;

  cleave_worker_options_init (&o);
  o.max_jobs = 2;
  w = cleave_worker_new (d->dir, &o, &error);
  g_assert_no_error (error);
  g_assert_true (cleave_worker_drain (w, NULL, &error));
  g_assert_no_error (error);
  cleave_worker_get_stats (w, &d->stats);
  return NULL;
}

static void
test_two_workers (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, "t.cleave");
  g_autoptr(GRand) r = g_rand_new_with_seed (31);
  g_autoptr(GArray) bboxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  Drainer d[2] = { { dir }, { dir } };
  GThread *t[2];
  Pyramid before = { 0 };

  read_pyramid (dir, &before);
  random_edits (dir, r, 30, 1, bboxes);
  for (guint i = 0; i < 2; i++)
    t[i] = g_thread_new ("drain", drain_thread, &d[i]);
  for (guint i = 0; i < 2; i++)
    g_thread_join (t[i]);
  /* A job is acked only by the claim that holds it: each done once. */
  g_assert_cmpuint (d[0].stats.jobs_done + d[1].stats.jobs_done, ==, 30);
  g_assert_cmpuint (d[0].stats.jobs_taken_over + d[1].stats.jobs_taken_over, ==, 0);
  g_test_message ("worker 0: %" G_GUINT64_FORMAT " jobs, %" G_GUINT64_FORMAT " handed back busy; "
                  "worker 1: %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT,
                  d[0].stats.jobs_done, d[0].stats.jobs_busy, d[1].stats.jobs_done, d[1].stats.jobs_busy);
  check_pyramid (dir, &before, bboxes);
  assert_queue_empty (dir);
  pyramid_clear (&before);
  cleave_test_rm_rf (tmp);
}

/* Run in a child by g_test_trap_subprocess: a worker armed to die. */
static void
test_crash_child (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveWorker) w = NULL;
  CleaveWorkerOptions o;

  g_autofree char *text = NULL;
  g_auto(GStrv) params = NULL;

  if (!g_test_subprocess ())
    return;
  /* DIR, fault point, budget: written by the parent (setenv there would
   * race its threads; here no thread has started yet). */
  g_assert_true (g_file_get_contents (g_getenv ("CLEAVE_TEST_WORKER_PARAMS"), &text, NULL, NULL));
  params = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (params), ==, 3);
  g_setenv ("CLEAVE_FAULT", params[1], TRUE);
  cleave_worker_options_init (&o);
  o.claim_ttl_ns = 300 * G_GINT64_CONSTANT (1000000);
  o.budget = g_ascii_strtoull (params[2], NULL, 10);
  w = cleave_worker_new (params[0], &o, &error);
  g_assert_no_error (error);
  cleave_worker_drain (w, NULL, &error);
  g_assert_not_reached ();
}

static void
test_crash (void)
{
  static const struct { const char *point; gsize budget; } faults[] = {
    { "downsample-claimed", 0 },
    { "downsample-read", 0 },
    { "downsample-tile", 1 },
    { "downsample-before-commit", 0 },
    { "downsample-after-commit", 0 },
    { "downsample-after-commit", 1 },
  };
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, "c.cleave");
  g_autoptr(GRand) r = g_rand_new_with_seed (41);
  g_autoptr(GArray) bboxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  Pyramid before = { 0 };

  read_pyramid (dir, &before);
  for (guint f = 0; f < G_N_ELEMENTS (faults); f++)
    {
      g_autofree char *params = g_strdup_printf ("%s\n%s\n%" G_GSIZE_FORMAT, dir, faults[f].point, faults[f].budget);
      CleaveWorkerStats stats;

      random_edits (dir, r, 3, 100 * (f + 1), bboxes);
      g_assert_true (g_file_set_contents (g_getenv ("CLEAVE_TEST_WORKER_PARAMS"), params, -1, NULL));
      g_test_trap_subprocess ("/worker/crash/child", 0, G_TEST_SUBPROCESS_DEFAULT);
      g_test_trap_assert_failed ();
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
        CleaveQueueBacklog q;

        g_assert_true (cleave_queue_get_backlog (graph, &q, &error));
        g_assert_cmpuint (q.pending + q.claimed, ==, 3);
      }
      /* The claim expires; the next worker takes the jobs over, frees
       * the dead worker's block locks and redoes the blocks. */
      drain (dir, faults[f].budget, &stats);
      g_assert_cmpuint (stats.jobs_done, ==, 3);
      g_assert_cmpuint (stats.jobs_taken_over, ==, 3);
      check_pyramid (dir, &before, bboxes);
      assert_queue_empty (dir);
    }
  pyramid_clear (&before);
  cleave_test_rm_rf (tmp);
}

static void
test_background_thread (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, "g.cleave");
  g_autoptr(GRand) r = g_rand_new_with_seed (53);
  g_autoptr(GArray) bboxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
  CleaveWorkerOptions o;
  CleaveWorkerThread *t;
  CleaveWorkerStats stats = { 0 };
  CleaveQueueBacklog q = { 1 };
  Pyramid before = { 0 };
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;

  read_pyramid (dir, &before);
  cleave_worker_options_init (&o);
  o.poll_ns = 50 * G_GINT64_CONSTANT (1000000);
  t = cleave_worker_start (dir, &o, &error);
  g_assert_no_error (error);
  random_edits (dir, r, 5, 1, bboxes);
  cleave_worker_thread_wake (t);
  /* The worker counts a batch just after its ack commits: the queue can
   * be empty a moment before the count is up. */
  while (g_get_monotonic_time () < deadline)
    {
      g_assert_true (cleave_queue_get_backlog (graph, &q, &error));
      cleave_worker_thread_get_stats (t, &stats);
      if (q.pending + q.claimed == 0 && stats.jobs_done >= 5)
        break;
      g_usleep (20000);
    }
  g_assert_cmpuint (q.pending + q.claimed, ==, 0);
  g_assert_cmpuint (stats.jobs_done, ==, 5);
  g_assert_null (cleave_worker_thread_dup_error (t));
  cleave_worker_stop (t);
  check_pyramid (dir, &before, bboxes);
  pyramid_clear (&before);
  cleave_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *params = g_strdup_printf ("%s/cleave-test-worker-%d.params", g_get_tmp_dir (), (int) getpid ());

  /* Before any thread: the crash test's children find their orders here. */
  if (g_getenv ("CLEAVE_TEST_WORKER_PARAMS") == NULL)
    g_setenv ("CLEAVE_TEST_WORKER_PARAMS", params, TRUE);
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/worker/random-edits", test_random_edits);
  g_test_add_func ("/worker/budget-one-byte", test_budget_one_byte);
  g_test_add_func ("/worker/two-workers", test_two_workers);
  g_test_add_func ("/worker/crash", test_crash);
  g_test_add_func ("/worker/crash/child", test_crash_child);
  g_test_add_func ("/worker/background-thread", test_background_thread);
  {
    int status = g_test_run ();

    if (!g_test_subprocess ())
      g_unlink (g_getenv ("CLEAVE_TEST_WORKER_PARAMS"));
    return status;
  }
}
