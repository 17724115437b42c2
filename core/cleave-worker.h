/* cleave-worker.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The downsample worker (shared DESIGN.md §5, spec/reference-pcg.md §7.4):
 * claims jobs from the edit queue (cleave-queue.h), groups their bboxes by
 * pyramid block (cleave-pyramid.h), takes the blocks' downsample locks
 * (sorted, all or nothing, with back-off, under the claim's token), and
 * rewrites each block's coarser mips in one OCDBT commit, renewing claim
 * and locks on long runs; then acks the jobs and releases the locks. A job
 * whose blocks are busy goes back to the queue without using an attempt; a
 * job that fails goes back with its error and is tried again later. A
 * worker that dies mid-block leaves a claim that expires and locks that the
 * next claim of the job releases: the job is redone from mip 0.
 *
 * Runs as `cleavectl worker` or as a thread in the application
 * (cleave_worker_start). Each worker opens its own dataset and graph.
 */

#pragma once

#include <gio/gio.h>

#include "cleave-pyramid.h"
#include "cleave-queue.h"

G_BEGIN_DECLS

#define CLEAVE_WORKER_ERROR (cleave_worker_error_quark ())

typedef enum
{
  CLEAVE_WORKER_ERROR_FAILED_JOBS,   /* a drain ended with jobs that failed */
} CleaveWorkerError;

GQuark cleave_worker_error_quark (void);

#define CLEAVE_WORKER_DEFAULT_CLAIM_TTL_NS (G_GINT64_CONSTANT (180) * 1000000000)

typedef struct
{
  gsize    budget;        /* bytes of mip-0 labels per block in memory; 0: 1 GiB */
  gint64   claim_ttl_ns;  /* how long a claim lives unrenewed; 0: 3 minutes */
  gint64   poll_ns;       /* how often an idle worker looks; 0: 1 s */
  guint    max_jobs;      /* jobs claimed (and their blocks merged) at once; 0: 16 */
  guint    lock_tries;    /* attempts at the block locks; 0: 7, as the reference */
} CleaveWorkerOptions;

void     cleave_worker_options_init (CleaveWorkerOptions *options);

typedef struct
{
  guint64            jobs_done;
  guint64            jobs_failed;      /* handed back after an error */
  guint64            jobs_busy;        /* handed back: blocks locked by another */
  guint64            jobs_taken_over;  /* claimed after another claim expired */
  gint64             busy_ns;          /* time spent on claimed jobs */
  CleavePyramidStats pyramid;
} CleaveWorkerStats;

typedef struct _CleaveWorker CleaveWorker;

CleaveWorker *cleave_worker_new    (const char                *dataset_dir,
                                    const CleaveWorkerOptions *options,
                                    GError                   **error);
void          cleave_worker_free   (CleaveWorker              *worker);
/* Claims one batch of jobs and does it. *worked_out says whether there
 * was any. A job that fails is handed back and counted in the stats (its
 * error kept, see get_last_error); FALSE only when the queue cannot be
 * read or written. */
gboolean      cleave_worker_step   (CleaveWorker              *worker,
                                    gboolean                  *worked_out,
                                    GError                   **error);
/* Steps until the queue holds no job that is pending or claimed (waiting
 * for other workers' claims to finish or expire). FAILED_JOBS when jobs
 * ran out of attempts meanwhile. */
gboolean      cleave_worker_drain  (CleaveWorker              *worker,
                                    GCancellable              *cancellable,
                                    GError                   **error);
/* Drains, then waits for more, until cancelled. */
gboolean      cleave_worker_run    (CleaveWorker              *worker,
                                    GCancellable              *cancellable,
                                    GError                   **error);
void          cleave_worker_get_stats (CleaveWorker           *worker,
                                    CleaveWorkerStats         *stats);
/* The last job error, or NULL. */
const char   *cleave_worker_get_last_error (CleaveWorker      *worker);
CleaveGraph  *cleave_worker_get_graph (CleaveWorker           *worker);

/* A worker in a thread of its own, running until stopped. */
typedef struct _CleaveWorkerThread CleaveWorkerThread;

CleaveWorkerThread *cleave_worker_start (const char                *dataset_dir,
                                         const CleaveWorkerOptions *options,
                                         GError                   **error);
/* Looks for work now instead of at the next poll. */
void          cleave_worker_thread_wake      (CleaveWorkerThread *thread);
void          cleave_worker_thread_get_stats (CleaveWorkerThread *thread,
                                              CleaveWorkerStats  *stats);
/* The last job error or the error that stopped the thread; free it. */
char         *cleave_worker_thread_dup_error (CleaveWorkerThread *thread);
/* FALSE once the thread has stopped on its own (the queue could not be
 * read or written; dup_error says why). */
gboolean      cleave_worker_thread_is_running (CleaveWorkerThread *thread);
/* Stops at the next block boundary and joins; NULL is ignored. */
void          cleave_worker_stop             (CleaveWorkerThread *thread);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveWorker, cleave_worker_free)

G_END_DECLS
