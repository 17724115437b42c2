/* cleave-background.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#include "cleave-background.h"

#include <gio/gio.h>

#include "cleave-graph.h"
#include "cleave-worker.h"

#define POLL_SECONDS 1

struct _CleaveBackground
{
  /* Tasks in flight hold references, so a closed background outlives its
   * last poll; everything but @graph is touched on the main thread only. */
  gatomicrefcount         ref_count;
  gboolean                closed;
  char                   *dir;
  CleaveBackgroundNotify  notify;
  gpointer                user_data;

  gboolean                want_running;
  gboolean                starting;
  CleaveWorkerThread     *thread;
  char                   *error;
  char                   *start_error;

  /* The poll's own connection: one poll in flight at a time uses it. */
  CleaveGraph            *graph;
  gboolean                polling;
  guint                   poll_id;
  gboolean                have_backlog;
  CleaveQueueBacklog      backlog;
};

static CleaveBackground *
background_ref (CleaveBackground *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

static void
background_unref (CleaveBackground *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_clear_pointer (&self->graph, cleave_graph_free);
  g_free (self->dir);
  g_free (self->error);
  g_free (self->start_error);
  g_free (self);
}

static void
changed (CleaveBackground *self)
{
  if (!self->closed && self->notify != NULL)
    self->notify (self, self->user_data);
}

/* Stopping ------------------------------------------------------------- */

static gboolean
release_application (gpointer data)
{
  GApplication *app = data;

  g_application_release (app);
  g_object_unref (app);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  CleaveWorkerThread *thread;
  GApplication       *app;
} Stop;

static gpointer
stop_thread (gpointer data)
{
  Stop *stop = data;

  /* Waits for the block in hand: a worker killed mid-block is safe, but
   * one that finishes leaves no claim to expire. */
  cleave_worker_stop (stop->thread);
  if (stop->app != NULL)
    g_idle_add (release_application, stop->app);
  g_free (stop);
  return NULL;
}

static void
stop_worker (CleaveWorkerThread *thread)
{
  Stop *stop = g_new0 (Stop, 1);
  GApplication *app = g_application_get_default ();

  stop->thread = thread;
  if (app != NULL)
    {
      stop->app = g_object_ref (app);
      g_application_hold (app);
    }
  g_thread_unref (g_thread_new ("cleave-worker-stop", stop_thread, stop));
}

/* Starting ------------------------------------------------------------- */

static void
start_in_thread (GTask        *task,
                 gpointer      source,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  CleaveBackground *self = task_data;
  CleaveWorkerOptions options;
  CleaveWorkerThread *thread;
  GError *error = NULL;

  cleave_worker_options_init (&options);
  thread = cleave_worker_start (self->dir, &options, &error);
  if (thread == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, thread, NULL);
}

static void update_running (CleaveBackground *self);

static void
started (GObject      *source,
         GAsyncResult *result,
         gpointer      data)
{
  CleaveBackground *self = data;
  g_autoptr(GError) error = NULL;
  CleaveWorkerThread *thread = g_task_propagate_pointer (G_TASK (result), &error);

  self->starting = FALSE;
  g_clear_pointer (&self->start_error, g_free);
  if (thread == NULL)
    self->start_error = g_strdup (error->message);
  else if (self->closed || !self->want_running)
    stop_worker (thread);
  else
    self->thread = thread;
  if (!self->closed)
    {
      update_running (self);
      changed (self);
    }
  background_unref (self);
}

static void
update_running (CleaveBackground *self)
{
  if (self->starting)
    return;
  if (self->want_running && self->thread == NULL && self->start_error == NULL)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, started, background_ref (self));

      self->starting = TRUE;
      g_task_set_task_data (task, self, NULL);
      g_task_run_in_thread (task, start_in_thread);
    }
  else if (!self->want_running && self->thread != NULL)
    stop_worker (g_steal_pointer (&self->thread));
}

/* Polling -------------------------------------------------------------- */

static void
poll_in_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  CleaveBackground *self = task_data;
  CleaveQueueBacklog *backlog = g_new0 (CleaveQueueBacklog, 1);
  GError *error = NULL;

  if (self->graph == NULL)
    self->graph = cleave_graph_open (self->dir, &error);
  if (self->graph == NULL || !cleave_queue_get_backlog (self->graph, backlog, &error))
    {
      g_free (backlog);
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, backlog, g_free);
}

static void
polled (GObject      *source,
        GAsyncResult *result,
        gpointer      data)
{
  CleaveBackground *self = data;
  g_autoptr(GError) error = NULL;
  g_autofree CleaveQueueBacklog *backlog = g_task_propagate_pointer (G_TASK (result), &error);
  g_autofree char *thread_error = NULL;
  gboolean differs;

  self->polling = FALSE;
  if (self->closed)
    {
      background_unref (self);
      return;
    }
  if (backlog != NULL)
    {
      differs = !self->have_backlog || backlog->pending != self->backlog.pending ||
                backlog->claimed != self->backlog.claimed || backlog->failed != self->backlog.failed;
      self->backlog = *backlog;
      self->have_backlog = TRUE;
      thread_error = self->thread != NULL ? cleave_worker_thread_dup_error (self->thread) : NULL;
    }
  else
    {
      /* The queue itself cannot be read: say so where the backlog goes. */
      differs = TRUE;
      thread_error = g_strdup (error->message);
    }
  if (g_strcmp0 (thread_error, self->error) != 0)
    {
      g_free (self->error);
      self->error = g_steal_pointer (&thread_error);
      differs = TRUE;
    }
  /* A worker that stopped on its own stays stopped; the error says why. */
  if (self->thread != NULL && !cleave_worker_thread_is_running (self->thread))
    differs = TRUE;
  if (differs)
    changed (self);
  background_unref (self);
}

static gboolean
poll_tick (gpointer data)
{
  CleaveBackground *self = data;

  if (!self->polling)
    {
      g_autoptr(GTask) task = g_task_new (NULL, NULL, polled, background_ref (self));

      self->polling = TRUE;
      g_task_set_task_data (task, self, NULL);
      g_task_run_in_thread (task, poll_in_thread);
    }
  return G_SOURCE_CONTINUE;
}

/* Public --------------------------------------------------------------- */

CleaveBackground *
cleave_background_new (const char             *dir,
                       CleaveBackgroundNotify  notify,
                       gpointer                user_data)
{
  CleaveBackground *self = g_new0 (CleaveBackground, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->dir = g_strdup (dir);
  self->notify = notify;
  self->user_data = user_data;
  poll_tick (self);
  self->poll_id = g_timeout_add_seconds (POLL_SECONDS, poll_tick, self);
  return self;
}

void
cleave_background_free (CleaveBackground *self)
{
  if (self == NULL)
    return;
  self->closed = TRUE;
  self->notify = NULL;
  g_clear_handle_id (&self->poll_id, g_source_remove);
  if (self->thread != NULL)
    stop_worker (g_steal_pointer (&self->thread));
  background_unref (self);
}

void
cleave_background_set_running (CleaveBackground *self,
                               gboolean          running)
{
  if (self->want_running == running)
    return;
  self->want_running = running;
  /* Asking again is how a user retries a worker that could not start. */
  if (running)
    g_clear_pointer (&self->start_error, g_free);
  update_running (self);
  changed (self);
}

CleaveBackgroundState
cleave_background_get_state (CleaveBackground *self)
{
  if (self->start_error != NULL)
    return CLEAVE_BACKGROUND_STOPPED;
  if (self->thread != NULL)
    return cleave_worker_thread_is_running (self->thread) ? CLEAVE_BACKGROUND_RUNNING : CLEAVE_BACKGROUND_STOPPED;
  if (self->starting && self->want_running)
    return CLEAVE_BACKGROUND_STARTING;
  return CLEAVE_BACKGROUND_OFF;
}

gboolean
cleave_background_get_backlog (CleaveBackground   *self,
                               CleaveQueueBacklog *backlog)
{
  if (!self->have_backlog)
    return FALSE;
  *backlog = self->backlog;
  return TRUE;
}

const char *
cleave_background_get_error (CleaveBackground *self)
{
  return self->start_error != NULL ? self->start_error : self->error;
}

void
cleave_background_poke (CleaveBackground *self)
{
  if (self->thread != NULL)
    cleave_worker_thread_wake (self->thread);
  poll_tick (self);
}

char *
cleave_background_describe (CleaveBackground *self)
{
  CleaveBackgroundState state = cleave_background_get_state (self);
  GString *s = g_string_new (NULL);
  guint64 waiting = self->backlog.pending + self->backlog.claimed;

  if (!self->have_backlog)
    g_string_append (s, "…");
  else if (waiting == 0)
    g_string_append (s, "up to date");
  else
    g_string_append_printf (s, "%" G_GUINT64_FORMAT " job%s queued", waiting, waiting == 1 ? "" : "s");
  if (self->have_backlog && self->backlog.failed > 0)
    g_string_append_printf (s, ", %" G_GUINT64_FORMAT " failed (cleavectl worker DIR --retry-failed)",
                            self->backlog.failed);
  switch (state)
    {
    case CLEAVE_BACKGROUND_OFF:
      /* Someone else (cleavectl worker) may be draining it. */
      if (self->have_backlog && waiting > 0)
        g_string_append (s, ", worker off");
      break;
    case CLEAVE_BACKGROUND_STARTING:
    case CLEAVE_BACKGROUND_RUNNING:
      break;
    case CLEAVE_BACKGROUND_STOPPED:
      g_string_append_printf (s, ", worker stopped: %s", cleave_background_get_error (self));
      break;
    }
  return g_string_free (s, FALSE);
}
