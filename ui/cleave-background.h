/* cleave-background.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The application's background work for one open dataset: a downsample
 * worker thread (cleave-worker.h) that brings the coarser mips up to date
 * after edits, from this process or any other, and the queue's backlog,
 * read every second on a worker thread for the status line. The main
 * thread never waits on SQLite or on the worker: starting, stopping and
 * polling all happen off it, and results come back on the main context.
 */

#pragma once

#include <glib.h>

#include "cleave-queue.h"

G_BEGIN_DECLS

typedef struct _CleaveBackground CleaveBackground;

typedef enum
{
  CLEAVE_BACKGROUND_OFF,       /* not asked to run */
  CLEAVE_BACKGROUND_STARTING,
  CLEAVE_BACKGROUND_RUNNING,
  CLEAVE_BACKGROUND_STOPPED,   /* it could not start, or stopped on an error */
} CleaveBackgroundState;

/* Called on the main context whenever the state, the backlog or the error
 * changes. */
typedef void (*CleaveBackgroundNotify) (CleaveBackground *background,
                                        gpointer          user_data);

/* Polls the backlog of the dataset at @dir (which must have a graph); the
 * worker runs once set_running says so. */
CleaveBackground     *cleave_background_new         (const char              *dir,
                                                     CleaveBackgroundNotify   notify,
                                                     gpointer                 user_data);
/* Stops the worker at its next block boundary, off the main thread; the
 * default GApplication, if any, is held until it has stopped. */
void                  cleave_background_free        (CleaveBackground        *background);
void                  cleave_background_set_running (CleaveBackground        *background,
                                                     gboolean                 running);
CleaveBackgroundState cleave_background_get_state   (CleaveBackground        *background);
/* FALSE until the first poll has come back. */
gboolean              cleave_background_get_backlog (CleaveBackground        *background,
                                                     CleaveQueueBacklog      *backlog);
/* Why it stopped, or the last job's error while running; NULL if none. */
const char           *cleave_background_get_error   (CleaveBackground        *background);
/* Looks at the queue now (and wakes the worker) instead of within a second. */
void                  cleave_background_poke        (CleaveBackground        *background);
/* One short line for the status bar: "up to date", "3 boxes queued", ... */
char                 *cleave_background_describe    (CleaveBackground        *background);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveBackground, cleave_background_free)

G_END_DECLS
