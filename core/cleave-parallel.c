/* cleave-parallel.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-parallel.h"

/* Shared by the caller and the helpers it queued. A helper that starts
 * after the caller has finished the loop leaves at once: the caller waits
 * only for helpers already working, so loops started from pool threads
 * cannot deadlock waiting for queued helpers that no free thread can run. */
typedef struct
{
  gatomicrefcount     ref_count;
  gsize               n;
  CleaveParallelFunc  func;
  gpointer            user_data;
  gsize               next;       /* atomically claimed */
  gint                failed;
  GError             *error;      /* the first failure */
  GMutex              lock;
  GCond               done;
  guint               active;     /* helpers working now */
  gboolean            closed;     /* the caller is done; late helpers leave */
} Loop;

static void
loop_unref (Loop *loop)
{
  if (!g_atomic_ref_count_dec (&loop->ref_count))
    return;
  g_mutex_clear (&loop->lock);
  g_cond_clear (&loop->done);
  if (loop->error)
    g_error_free (loop->error);
  g_free (loop);
}

static void
work (Loop *loop)
{
  for (;;)
    {
      gsize i = (gsize) g_atomic_pointer_add (&loop->next, 1);
      GError *error = NULL;

      if (i >= loop->n || g_atomic_int_get (&loop->failed))
        return;
      if (!loop->func (i, loop->user_data, &error))
        {
          g_mutex_lock (&loop->lock);
          if (loop->error == NULL)
            loop->error = error;
          else
            g_error_free (error);
          g_atomic_int_set (&loop->failed, 1);
          g_mutex_unlock (&loop->lock);
        }
    }
}

static void
helper (gpointer data,
        gpointer pool_data)
{
  Loop *loop = data;

  g_mutex_lock (&loop->lock);
  if (loop->closed)
    {
      g_mutex_unlock (&loop->lock);
      loop_unref (loop);
      return;
    }
  loop->active++;
  g_mutex_unlock (&loop->lock);

  work (loop);

  g_mutex_lock (&loop->lock);
  loop->active--;
  g_cond_signal (&loop->done);
  g_mutex_unlock (&loop->lock);
  loop_unref (loop);
}

static GThreadPool *
shared_pool (void)
{
  static gsize once;
  static GThreadPool *pool;

  if (g_once_init_enter (&once))
    {
      pool = g_thread_pool_new (helper, NULL, (int) MAX (1, g_get_num_processors ()), FALSE, NULL);
      g_once_init_leave (&once, 1);
    }
  return pool;
}

gboolean
cleave_parallel_for (gsize               n,
                     CleaveParallelFunc  func,
                     gpointer            user_data,
                     GError            **error)
{
  Loop *loop;
  guint helpers = MIN (n > 0 ? n - 1 : 0, g_get_num_processors () - 1);
  gboolean ok;

  if (n == 0)
    return TRUE;
  loop = g_new0 (Loop, 1);
  g_atomic_ref_count_init (&loop->ref_count);
  loop->n = n;
  loop->func = func;
  loop->user_data = user_data;
  g_mutex_init (&loop->lock);
  g_cond_init (&loop->done);
  for (guint i = 0; i < helpers; i++)
    {
      g_atomic_ref_count_inc (&loop->ref_count);
      g_thread_pool_push (shared_pool (), loop, NULL);
    }
  work (loop);

  g_mutex_lock (&loop->lock);
  loop->closed = TRUE;
  while (loop->active > 0)
    g_cond_wait (&loop->done, &loop->lock);
  ok = loop->error == NULL;
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&loop->error));
  g_mutex_unlock (&loop->lock);
  loop_unref (loop);
  return ok;
}
