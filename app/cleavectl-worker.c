/* cleavectl-worker.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl worker: the downsample worker (core/cleave-worker.h).
 */

#define G_LOG_DOMAIN "cleavectl"

#include "cleavectl.h"

#include <stdio.h>
#include <stdlib.h>

#include "cleave-queue.h"
#include "cleave-worker.h"

static gboolean opt_once;
static gint64 opt_budget = -1;
static double opt_claim_ttl = -1;
static char **opt_enqueue;
static gboolean opt_retry_failed;

static GOptionEntry worker_entries[] = {
  { "once", 0, 0, G_OPTION_ARG_NONE, &opt_once, "Drain the queue, then exit (default: keep waiting for work)", NULL },
  { "budget", 0, 0, G_OPTION_ARG_INT64, &opt_budget,
    "Bytes of mip-0 labels a block may hold in memory; above it, tile by tile (default 1 GiB)", "BYTES" },
  { "claim-ttl", 0, 0, G_OPTION_ARG_DOUBLE, &opt_claim_ttl,
    "Seconds a claim lives without renewal before another worker may take the job (default 180)", "SECONDS" },
  { "enqueue", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_enqueue,
    "First enqueue a job for this mip-0 box (half-open), or 'all' for the whole volume; repeatable",
    "X0,Y0,Z0:X1,Y1,Z1" },
  { "retry-failed", 0, 0, G_OPTION_ARG_NONE, &opt_retry_failed,
    "First give the jobs that ran out of attempts their attempts back", NULL },
  { NULL }
};

static gboolean
parse_box (const char *text,
           gint64      box[6],
           GError    **error)
{
  g_auto(GStrv) halves = g_strsplit (text, ":", -1);

  if (g_strv_length (halves) != 2)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--enqueue '%s': expected X0,Y0,Z0:X1,Y1,Z1 or all", text);
      return FALSE;
    }
  return cleavectl_parse_triple (halves[0], "--enqueue", box, error) &&
         cleavectl_parse_triple (halves[1], "--enqueue", box + 3, error);
}

static void
print_stats (const char              *dir,
             const CleaveWorkerStats *s,
             double                   seconds)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  double mvx = s->pyramid.voxels / 1e6;

  if (!cleavectl_json)
    {
      printf ("%s: %" G_GUINT64_FORMAT " job(s) done, %" G_GUINT64_FORMAT " block(s) (%" G_GUINT64_FORMAT
              " in memory, %" G_GUINT64_FORMAT " tile by tile), %" G_GUINT64_FORMAT " chunk(s) written, "
              "%.1f MVx of mip 0 in %.2f s (%.1f MVx/s)\n",
              dir, s->jobs_done, s->pyramid.blocks, s->pyramid.in_memory, s->pyramid.per_tile,
              s->pyramid.chunks_written, mvx, seconds, seconds > 0 ? mvx / seconds : 0);
      if (s->jobs_busy || s->jobs_failed || s->jobs_taken_over)
        printf ("%s: %" G_GUINT64_FORMAT " handed back busy, %" G_GUINT64_FORMAT " failed, %" G_GUINT64_FORMAT
                " taken over from an expired claim\n", dir, s->jobs_busy, s->jobs_failed, s->jobs_taken_over);
      fflush (stdout);
      return;
    }
  json_builder_begin_object (b);
#define INT(name, v) json_builder_set_member_name (b, name); json_builder_add_int_value (b, (gint64) (v));
  INT ("jobs_done", s->jobs_done)
  INT ("jobs_busy", s->jobs_busy)
  INT ("jobs_failed", s->jobs_failed)
  INT ("jobs_taken_over", s->jobs_taken_over)
  INT ("blocks", s->pyramid.blocks)
  INT ("blocks_in_memory", s->pyramid.in_memory)
  INT ("blocks_per_tile", s->pyramid.per_tile)
  INT ("chunks_written", s->pyramid.chunks_written)
  INT ("voxels", s->pyramid.voxels)
#undef INT
  json_builder_set_member_name (b, "seconds");
  json_builder_add_double_value (b, seconds);
  json_builder_end_object (b);
  {
    g_autoptr(JsonNode) root = json_builder_get_root (b);
    cleavectl_print_json (root);
  }
}

static int
run_worker (const CleavectlCommand *command,
            char                  **args,
            guint                   n_args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveWorker) worker = NULL;
  g_autoptr(GArray) boxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  CleaveWorkerOptions options;
  CleaveWorkerStats stats;
  gint64 t0;

  cleave_worker_options_init (&options);
  if (opt_budget == 0 || opt_budget < -1)
    return cleavectl_usage_error (command, "--budget must be at least 1 byte");
  if (opt_budget > 0)
    options.budget = (gsize) opt_budget;
  if (opt_claim_ttl != -1)
    {
      if (!(opt_claim_ttl > 0 && opt_claim_ttl < 1e6))
        return cleavectl_usage_error (command, "--claim-ttl must be a positive number of seconds");
      options.claim_ttl_ns = (gint64) (opt_claim_ttl * 1e9);
    }
  for (guint i = 0; opt_enqueue && opt_enqueue[i]; i++)
    {
      gint64 box[6] = { G_MININT64 / 4, G_MININT64 / 4, G_MININT64 / 4,
                        G_MAXINT64 / 4, G_MAXINT64 / 4, G_MAXINT64 / 4 };

      if (g_strcmp0 (opt_enqueue[i], "all") != 0 && !parse_box (opt_enqueue[i], box, &error))
        return cleavectl_usage_error (command, "%s", error->message);
      for (guint k = 0; k < 3; k++)
        if (box[3 + k] < box[k])
          return cleavectl_usage_error (command, "--enqueue '%s': the box ends before it starts", opt_enqueue[i]);
      g_array_append_vals (boxes, box, 6);
    }

  worker = cleave_worker_new (args[0], &options, &error);
  if (worker == NULL)
    return cleavectl_fail (command, error);
  if (boxes->len > 0 &&
      !cleave_queue_enqueue (cleave_worker_get_graph (worker), 0, (const gint64 *) boxes->data, boxes->len / 6, &error))
    return cleavectl_fail (command, error);
  if (opt_retry_failed)
    {
      guint64 n;

      if (!cleave_queue_retry_failed (cleave_worker_get_graph (worker), &n, &error))
        return cleavectl_fail (command, error);
      g_printerr ("%s: %" G_GUINT64_FORMAT " failed job(s) queued again\n", args[0], n);
    }

  t0 = g_get_monotonic_time ();
  if (opt_once)
    {
      gboolean ok = cleave_worker_drain (worker, NULL, &error);

      cleave_worker_get_stats (worker, &stats);
      print_stats (args[0], &stats, (g_get_monotonic_time () - t0) / 1e6);
      if (!ok)
        return cleavectl_fail (command, error);
      /* Jobs that failed before this run leave mips behind mip 0 just the
       * same: --once promised a drained queue. */
      {
        CleaveQueueBacklog backlog;

        if (!cleave_queue_get_backlog (cleave_worker_get_graph (worker), &backlog, &error))
          return cleavectl_fail (command, error);
        if (backlog.failed > 0)
          {
            g_set_error (&error, CLEAVE_WORKER_ERROR, CLEAVE_WORKER_ERROR_FAILED_JOBS,
                         "%s: %" G_GUINT64_FORMAT " job(s) ran out of attempts earlier and were not done "
                         "(`cleavectl worker %s --retry-failed --once` tries them again)",
                         args[0], backlog.failed, args[0]);
            return cleavectl_fail (command, error);
          }
      }
      return CLEAVECTL_EXIT_OK;
    }
  /* Until killed: a worker killed anywhere leaves a claim that expires
   * and the job is done again, so there is nothing to clean up. */
  g_printerr ("%s: downsample worker waiting for work (Ctrl+C stops it)\n", args[0]);
  for (guint64 done = 0;;)
    {
      if (!cleave_worker_drain (worker, NULL, &error))
        {
          if (!g_error_matches (error, CLEAVE_WORKER_ERROR, CLEAVE_WORKER_ERROR_FAILED_JOBS))
            return cleavectl_fail (command, error);
          g_printerr ("cleavectl worker: %s\n", error->message);
          g_clear_error (&error);
        }
      cleave_worker_get_stats (worker, &stats);
      if (stats.jobs_done != done)
        {
          done = stats.jobs_done;
          print_stats (args[0], &stats, (g_get_monotonic_time () - t0) / 1e6);
        }
      g_usleep (options.poll_ns / 1000);
    }
}

const CleavectlCommand cleavectl_cmd_worker = {
  .name = "worker",
  .synopsis = "DIR [--once] [--budget BYTES] [--claim-ttl SECONDS] [--enqueue BOX|all]... [--retry-failed] [--json]",
  .summary = "Bring the segmentation's coarser mips up to date with the edits queued in the graph",
  .description = "Claims jobs from the graph's edit queue, groups their boxes by pyramid block (the coarsest\n"
                 "chunk times the factor to the number of mips), takes each block's downsample lock, and\n"
                 "rewrites the block's coarser mips (mode of 2x2x1 or 2x2x2, dense unless the info says\n"
                 "\"downsampling\": \"mode_sparse\") in one commit, writing only chunks that meet a box.\n"
                 "Several workers may run at once. A worker killed anywhere is safe: its claims expire\n"
                 "(--claim-ttl) and the jobs are done again. `cleavectl info DIR` shows the backlog.",
  .entries = worker_entries,
  .json = TRUE,
  .min_args = 1,
  .max_args = 1,
  .run = run_worker,
};
