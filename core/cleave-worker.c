/* cleave-worker.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-worker"

#include "cleave-worker.h"

#include <stdlib.h>
#include <string.h>

#include "cleave-dataset.h"
#include "cleave-fault.h"
#include "cleave-lock.h"
#include "cleave-util.h"

G_DEFINE_QUARK (cleave-worker-error-quark, cleave_worker_error)

#define NS_PER_MS G_GINT64_CONSTANT (1000000)
#define RETRY_BASE_NS (100 * NS_PER_MS)
#define RETRY_MAX_NS (10000 * NS_PER_MS)

struct _CleaveWorker
{
  CleaveWorkerOptions  options;
  CleaveDataset       *dataset;
  CleaveGraph         *graph;
  CleavePyramid        pyramid;
  GCancellable        *cancellable;   /* of the running drain, not owned */
  gint                 wake;          /* atomic: end the idle wait now */
  GMutex               lock;          /* guards stats and last_error */
  CleaveWorkerStats    stats;
  char                *last_error;
};

void
cleave_worker_options_init (CleaveWorkerOptions *o)
{
  memset (o, 0, sizeof *o);
  o->budget = CLEAVE_PYRAMID_DEFAULT_BUDGET;
  o->claim_ttl_ns = CLEAVE_WORKER_DEFAULT_CLAIM_TTL_NS;
  o->poll_ns = 1000 * NS_PER_MS;
  o->max_jobs = 16;
  o->lock_tries = 7;
}

CleaveWorker *
cleave_worker_new (const char                *dir,
                   const CleaveWorkerOptions *options,
                   GError                   **error)
{
  g_autoptr(CleaveWorker) w = g_new0 (CleaveWorker, 1);
  CleaveWorkerOptions defaults;
  CleaveVolume *seg;

  g_mutex_init (&w->lock);
  cleave_worker_options_init (&defaults);
  w->options = options ? *options : defaults;
  if (w->options.budget == 0)
    w->options.budget = defaults.budget;
  if (w->options.claim_ttl_ns <= 0)
    w->options.claim_ttl_ns = defaults.claim_ttl_ns;
  if (w->options.poll_ns <= 0)
    w->options.poll_ns = defaults.poll_ns;
  if (w->options.max_jobs == 0)
    w->options.max_jobs = defaults.max_jobs;
  if (w->options.lock_tries == 0)
    w->options.lock_tries = defaults.lock_tries;
  w->dataset = cleave_dataset_open (dir, error);
  if (w->dataset == NULL)
    return NULL;
  w->graph = cleave_graph_open (dir, error);
  if (w->graph == NULL)
    return NULL;
  seg = cleave_dataset_get_seg (w->dataset);
  if (!cleave_pyramid_init (&w->pyramid, cleave_volume_get_info (seg), cleave_volume_get_what (seg), error))
    return NULL;
  return g_steal_pointer (&w);
}

void
cleave_worker_free (CleaveWorker *w)
{
  if (w == NULL)
    return;
  g_clear_pointer (&w->graph, cleave_graph_free);
  g_clear_pointer (&w->dataset, cleave_dataset_free);
  g_free (w->last_error);
  g_mutex_clear (&w->lock);
  g_free (w);
}

CleaveGraph *
cleave_worker_get_graph (CleaveWorker *w)
{
  return w->graph;
}

void
cleave_worker_get_stats (CleaveWorker      *w,
                         CleaveWorkerStats *stats)
{
  g_mutex_lock (&w->lock);
  *stats = w->stats;
  g_mutex_unlock (&w->lock);
}

const char *
cleave_worker_get_last_error (CleaveWorker *w)
{
  return w->last_error;
}

static void
set_last_error (CleaveWorker *w,
                const char   *message)
{
  g_mutex_lock (&w->lock);
  g_free (w->last_error);
  w->last_error = g_strdup (message);
  g_mutex_unlock (&w->lock);
}

static int
cmp_block (gconstpointer a,
           gconstpointer b)
{
  const gint64 *x = a, *y = b;

  for (guint k = 0; k < 3; k++)
    if (x[k] != y[k])
      return x[k] < y[k] ? -1 : 1;
  return 0;
}

typedef struct
{
  gint64  b[3];
  GArray *bboxes;   /* gint64, 6 per bbox */
} BlockWork;

static void
block_work_clear (BlockWork *bw)
{
  g_clear_pointer (&bw->bboxes, g_array_unref);
}

/* The sorted blocks of @jobs, each with the bboxes that meet it. */
static GArray *
plan_blocks (const CleavePyramid *p,
             GArray              *jobs)
{
  GArray *work = g_array_new (FALSE, TRUE, sizeof (BlockWork));
  g_autoptr(GArray) all = g_array_new (FALSE, FALSE, sizeof (gint64) * 4);
  g_autoptr(GArray) blocks = g_array_new (FALSE, FALSE, sizeof (gint64));

  g_array_set_clear_func (work, (GDestroyNotify) block_work_clear);
  /* (block, bbox index) pairs, sorted by block. */
  for (guint j = 0, bi = 0; j < jobs->len; j++)
    {
      const CleaveQueueJob *job = &g_array_index (jobs, CleaveQueueJob, j);

      for (guint i = 0; i < job->n_bboxes; i++, bi++)
        {
          g_array_set_size (blocks, 0);
          cleave_pyramid_blocks_for_bbox (p, job->bboxes + 6 * i, blocks);
          for (guint k = 0; k < blocks->len; k += 3)
            {
              gint64 e[4] = { g_array_index (blocks, gint64, k), g_array_index (blocks, gint64, k + 1),
                              g_array_index (blocks, gint64, k + 2), ((gint64) j << 32) | i };

              g_array_append_val (all, e);
            }
        }
    }
  g_array_sort (all, cmp_block);
  for (guint i = 0; i < all->len; i++)
    {
      const gint64 *e = &g_array_index (all, gint64, 4 * i);
      const CleaveQueueJob *job = &g_array_index (jobs, CleaveQueueJob, e[3] >> 32);
      BlockWork *bw;

      if (work->len == 0 || cmp_block (g_array_index (work, BlockWork, work->len - 1).b, e) != 0)
        {
          BlockWork fresh = { { e[0], e[1], e[2] }, g_array_new (FALSE, FALSE, sizeof (gint64)) };

          g_array_append_val (work, fresh);
        }
      bw = &g_array_index (work, BlockWork, work->len - 1);
      g_array_append_vals (bw->bboxes, job->bboxes + 6 * (e[3] & 0xffffffff), 6);
    }
  return work;
}

static char **
block_keys (GArray *work)
{
  char **keys = g_new0 (char *, work->len + 1);

  for (guint i = 0; i < work->len; i++)
    keys[i] = cleave_lock_downsample_key (g_array_index (work, BlockWork, i).b);
  return keys;
}

/* A claim that replaced an expired one: the dead worker's block locks
 * carry the old token and would hold for minutes; they are released
 * (value-matched, so only that token's cells go). */
static void
release_stale_locks (CleaveWorker *w,
                     GArray       *jobs)
{
  for (guint j = 0; j < jobs->len; j++)
    {
      CleaveQueueJob *job = &g_array_index (jobs, CleaveQueueJob, j);
      g_autoptr(GArray) one = NULL;
      g_autoptr(GArray) work = NULL;
      g_auto(GStrv) keys = NULL;
      CleaveQueueJob copy;

      if (job->stale_claim == 0)
        continue;
      one = g_array_new (FALSE, FALSE, sizeof (CleaveQueueJob));
      copy = *job;
      g_array_append_val (one, copy);
      work = plan_blocks (&w->pyramid, one);
      keys = block_keys (work);
      cleave_lock_release (w->graph, keys, work->len, job->stale_claim, FALSE, NULL);
      g_mutex_lock (&w->lock);
      w->stats.jobs_taken_over++;
      g_mutex_unlock (&w->lock);
    }
}

static gint64
retry_delay (GArray *jobs)
{
  guint attempts = 1;

  for (guint j = 0; j < jobs->len; j++)
    attempts = MAX (attempts, g_array_index (jobs, CleaveQueueJob, j).attempts);
  return MIN (RETRY_BASE_NS << MIN (attempts - 1, 20), RETRY_MAX_NS);
}

static gboolean
process_blocks (CleaveWorker  *w,
                GArray        *work,
                char         **keys,
                GArray        *jobs,
                guint64        token,
                GError       **error)
{
  CleaveVolume *seg = cleave_dataset_get_seg (w->dataset);
  CleaveOcdbt *store = cleave_volume_get_store (seg);
  gint64 last_renew = cleave_now_ns ();
  gint64 renew_every = MIN (w->options.claim_ttl_ns, CLEAVE_LOCK_EXPIRY_NS) / 4;

  for (guint i = 0; i < work->len; i++)
    {
      BlockWork *bw = &g_array_index (work, BlockWork, i);
      g_autoptr(CleaveOcdbtTxn) txn = NULL;
      CleavePyramidStats ps = { 0 };

      if (w->cancellable && g_cancellable_set_error_if_cancelled (w->cancellable, error))
        return FALSE;
      if (!cleave_ocdbt_refresh (store, error))
        return FALSE;
      txn = cleave_ocdbt_txn_new (store);
      if (!cleave_pyramid_process_block (seg, &w->pyramid, bw->b, (const gint64 *) bw->bboxes->data,
                                         bw->bboxes->len / 6, w->options.budget, txn, &ps, error))
        return FALSE;
      /* Before writing, make sure the claim and the locks are still ours:
       * a worker that stalled past their expiry must not write over the
       * one that took its job. */
      if (cleave_now_ns () - last_renew >= renew_every)
        {
          if (!cleave_queue_renew (w->graph, jobs, token, w->options.claim_ttl_ns, error) ||
              !cleave_lock_renew (w->graph, keys, work->len, token, error))
            return FALSE;
          last_renew = cleave_now_ns ();
        }
      cleave_fault_point ("downsample-before-commit");
      if (!cleave_ocdbt_txn_commit (txn, NULL, error))
        return FALSE;
      cleave_fault_point ("downsample-after-commit");
      g_mutex_lock (&w->lock);
      w->stats.pyramid.blocks += ps.blocks;
      w->stats.pyramid.in_memory += ps.in_memory;
      w->stats.pyramid.per_tile += ps.per_tile;
      w->stats.pyramid.chunks_written += ps.chunks_written;
      w->stats.pyramid.voxels += ps.voxels;
      g_mutex_unlock (&w->lock);
    }
  return TRUE;
}

gboolean
cleave_worker_step (CleaveWorker  *w,
                    gboolean      *worked_out,
                    GError       **error)
{
  g_autoptr(GArray) jobs = NULL;
  g_autoptr(GArray) work = NULL;
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) keys = NULL;
  guint64 token;
  gint64 t0 = cleave_now_ns ();
  gboolean ok;

  *worked_out = FALSE;
  jobs = cleave_queue_claim (w->graph, w->options.max_jobs, w->options.claim_ttl_ns, &token, error);
  if (jobs == NULL)
    return FALSE;
  if (jobs->len == 0)
    return TRUE;
  *worked_out = TRUE;
  release_stale_locks (w, jobs);
  work = plan_blocks (&w->pyramid, jobs);
  keys = block_keys (work);
  cleave_fault_point ("downsample-claimed");

  if (work->len > 0 &&
      !cleave_lock_acquire (w->graph, "downsample", keys, work->len, token, w->options.lock_tries, &local))
    {
      gboolean busy = g_error_matches (local, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);

      g_debug ("jobs handed back: %s", local->message);
      g_mutex_lock (&w->lock);
      if (busy)
        w->stats.jobs_busy += jobs->len;
      else
        w->stats.jobs_failed += jobs->len;
      g_mutex_unlock (&w->lock);
      if (!busy)
        set_last_error (w, local->message);
      /* Busy blocks: another worker is on them; try again soon without
       * using an attempt, with jitter so two workers do not meet again. */
      return cleave_queue_release (w->graph, jobs, token,
                                   busy ? g_random_int_range (20, 200) * NS_PER_MS : retry_delay (jobs),
                                   local->message, !busy, error);
    }

  ok = process_blocks (w, work, keys, jobs, token, &local);
  if (ok)
    ok = cleave_queue_ack (w->graph, jobs, token, &local);
  cleave_lock_release (w->graph, keys, work->len, token, FALSE, NULL);
  g_mutex_lock (&w->lock);
  w->stats.busy_ns += cleave_now_ns () - t0;
  if (ok)
    w->stats.jobs_done += jobs->len;
  else if (!g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    w->stats.jobs_failed += jobs->len;
  g_mutex_unlock (&w->lock);
  if (ok)
    return TRUE;
  if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return cleave_queue_release (w->graph, jobs, token, 0, NULL, FALSE, error);
  {
    g_autofree char *message = NULL;
    guint64 ops[4] = { 0 };
    guint n_ops = MIN (jobs->len, G_N_ELEMENTS (ops));

    for (guint j = 0; j < n_ops; j++)
      ops[j] = g_array_index (jobs, CleaveQueueJob, j).op;
    message = g_strdup_printf ("downsample after op %" G_GUINT64_FORMAT "%s: %s", ops[0],
                               jobs->len > 1 ? " and others" : "", local->message);
    g_message ("%s", message);
    set_last_error (w, message);
    /* The claim may be gone (LOST_CLAIM): then releasing changes nothing
     * and the job is the new claimant's. */
    return cleave_queue_release (w->graph, jobs, token, retry_delay (jobs), message, TRUE, error);
  }
}

/* FALSE when cancelled. Sleeps in short slices so that a cancel or a
 * wake is seen within 20 ms. */
static gboolean
wait_or_cancel (CleaveWorker *w,
                GCancellable *cancellable,
                gint64        ns)
{
  gint64 end = g_get_monotonic_time () + ns / 1000;

  while (g_get_monotonic_time () < end)
    {
      if (cancellable && g_cancellable_is_cancelled (cancellable))
        return FALSE;
      if (g_atomic_int_compare_and_exchange (&w->wake, 1, 0))
        break;
      g_usleep (MIN (20000, MAX (end - g_get_monotonic_time (), 0)));
    }
  return !(cancellable && g_cancellable_is_cancelled (cancellable));
}

gboolean
cleave_worker_drain (CleaveWorker  *w,
                     GCancellable  *cancellable,
                     GError       **error)
{
  CleaveQueueBacklog before, after;

  if (!cleave_queue_get_backlog (w->graph, &before, error))
    return FALSE;
  w->cancellable = cancellable;
  for (;;)
    {
      gboolean worked;

      if (cancellable && g_cancellable_set_error_if_cancelled (cancellable, error))
        break;
      if (!cleave_worker_step (w, &worked, error))
        break;
      if (worked)
        continue;
      if (!cleave_queue_get_backlog (w->graph, &after, error))
        break;
      if (after.pending + after.claimed == 0)
        {
          w->cancellable = NULL;
          if (after.failed > before.failed)
            {
              g_set_error (error, CLEAVE_WORKER_ERROR, CLEAVE_WORKER_ERROR_FAILED_JOBS,
                           "%" G_GUINT64_FORMAT " downsample job(s) failed after %d attempts; last error: %s",
                           after.failed - before.failed, CLEAVE_QUEUE_MAX_ATTEMPTS,
                           w->last_error ? w->last_error : "(in another worker)");
              return FALSE;
            }
          return TRUE;
        }
      /* Jobs waiting for a retry, or held by another worker: look again
       * shortly (a dead worker's claim expires and comes back pending). */
      if (!wait_or_cancel (w, cancellable, 50 * NS_PER_MS))
        continue;
    }
  w->cancellable = NULL;
  return FALSE;
}

gboolean
cleave_worker_run (CleaveWorker  *w,
                   GCancellable  *cancellable,
                   GError       **error)
{
  for (;;)
    {
      g_autoptr(GError) local = NULL;

      if (!cleave_worker_drain (w, cancellable, &local))
        {
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return TRUE;
          if (!g_error_matches (local, CLEAVE_WORKER_ERROR, CLEAVE_WORKER_ERROR_FAILED_JOBS))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          /* Failed jobs stay in the queue for someone to look at; the
           * worker carries on with the rest. */
          set_last_error (w, local->message);
        }
      if (!wait_or_cancel (w, cancellable, w->options.poll_ns))
        return TRUE;
    }
}

struct _CleaveWorkerThread
{
  CleaveWorker *worker;
  GCancellable *cancellable;
  GThread      *thread;
  GMutex        lock;
  char         *error;
  gint          running;
};

static gpointer
thread_main (gpointer data)
{
  CleaveWorkerThread *t = data;
  g_autoptr(GError) error = NULL;

  if (!cleave_worker_run (t->worker, t->cancellable, &error))
    {
      g_mutex_lock (&t->lock);
      g_free (t->error);
      t->error = g_strdup (error->message);
      g_mutex_unlock (&t->lock);
    }
  g_atomic_int_set (&t->running, FALSE);
  return NULL;
}

CleaveWorkerThread *
cleave_worker_start (const char                *dir,
                     const CleaveWorkerOptions *options,
                     GError                   **error)
{
  CleaveWorker *worker = cleave_worker_new (dir, options, error);
  CleaveWorkerThread *t;

  if (worker == NULL)
    return NULL;
  t = g_new0 (CleaveWorkerThread, 1);
  t->worker = worker;
  t->cancellable = g_cancellable_new ();
  g_mutex_init (&t->lock);
  t->running = TRUE;
  /* The graph's connection moves to the thread and stays there. */
  t->thread = g_thread_new ("cleave-worker", thread_main, t);
  return t;
}

void
cleave_worker_thread_wake (CleaveWorkerThread *t)
{
  g_atomic_int_set (&t->worker->wake, 1);
}

void
cleave_worker_thread_get_stats (CleaveWorkerThread *t,
                                CleaveWorkerStats  *stats)
{
  cleave_worker_get_stats (t->worker, stats);
}

char *
cleave_worker_thread_dup_error (CleaveWorkerThread *t)
{
  char *s;

  g_mutex_lock (&t->lock);
  s = g_strdup (t->error);
  g_mutex_unlock (&t->lock);
  if (s == NULL)
    {
      g_mutex_lock (&t->worker->lock);
      s = g_strdup (t->worker->last_error);
      g_mutex_unlock (&t->worker->lock);
    }
  return s;
}

gboolean
cleave_worker_thread_is_running (CleaveWorkerThread *t)
{
  return g_atomic_int_get (&t->running);
}

void
cleave_worker_stop (CleaveWorkerThread *t)
{
  if (t == NULL)
    return;
  g_cancellable_cancel (t->cancellable);
  g_thread_join (t->thread);
  cleave_worker_free (t->worker);
  g_object_unref (t->cancellable);
  g_free (t->error);
  g_mutex_clear (&t->lock);
  g_free (t);
}
