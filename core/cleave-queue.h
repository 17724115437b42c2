/* cleave-queue.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The edit queue (shared DESIGN.md §5): the graph's edit_queue table, where
 * each edit that wrote mip 0 leaves its bboxes for the downsample worker
 * (cleave-worker.h). It stands where the reference's pub/sub stood
 * (spec/reference-pcg.md §7.4): a job is claimed atomically under a random
 * token with an expiry; a worker that dies leaves its claim to expire and
 * the job is claimed again; a job leaves the queue (ack) only after its
 * writes are committed, and only by the claim that holds it.
 */

#pragma once

#include "cleave-graph.h"

G_BEGIN_DECLS

#define CLEAVE_QUEUE_ERROR (cleave_queue_error_quark ())

typedef enum
{
  CLEAVE_QUEUE_ERROR_INVALID,      /* a bbox that ends before it starts */
  CLEAVE_QUEUE_ERROR_LOST_CLAIM,   /* the claim expired and another took the job */
} CleaveQueueError;

GQuark cleave_queue_error_quark (void);

/* After this many claims a job stays in the queue, failed, with its last
 * error, and is no longer handed out. */
#define CLEAVE_QUEUE_MAX_ATTEMPTS 8

typedef struct
{
  gint64   id;
  guint64  op;
  gint64  *bboxes;       /* n_bboxes x 6: x0,y0,z0,x1,y1,z1 mip-0 voxels, half-open */
  guint    n_bboxes;
  guint    attempts;     /* claims so far, this one included */
  guint64  stale_claim;  /* the expired claim this one replaced, or 0 */
} CleaveQueueJob;

void     cleave_queue_job_clear   (CleaveQueueJob *job);

typedef struct
{
  guint64  pending;      /* waiting, or waiting to be retried */
  guint64  claimed;      /* held by a live claim */
  guint64  failed;       /* out of attempts */
  gint64   oldest_ns;    /* enqueue time of the oldest job not failed, 0 if none */
} CleaveQueueBacklog;

/* Leaves @n bboxes (n x 6 gint64: x0,y0,z0,x1,y1,z1 in mip-0 voxels,
 * half-open) of op @op_id for the downsample worker: one job, one INSERT
 * (inside the caller's transaction if one is open). @n == 0 enqueues
 * nothing. */
gboolean cleave_queue_enqueue     (CleaveGraph        *graph,
                                   guint64             op_id,
                                   const gint64       *bboxes,
                                   guint               n,
                                   GError            **error);

/* Claims up to @max_jobs jobs (oldest first) that nobody holds or whose
 * claim expired, in one transaction, under a fresh token valid for @ttl_ns.
 * Returns the jobs (CleaveQueueJob, possibly none) and the token. */
GArray  *cleave_queue_claim       (CleaveGraph        *graph,
                                   guint               max_jobs,
                                   gint64              ttl_ns,
                                   guint64            *token_out,
                                   GError            **error);
/* Extends the claim on @jobs; LOST_CLAIM if @token no longer holds one. */
gboolean cleave_queue_renew       (CleaveGraph        *graph,
                                   GArray             *jobs,
                                   guint64             token,
                                   gint64              ttl_ns,
                                   GError            **error);
/* Done: removes the jobs @token still holds. */
gboolean cleave_queue_ack         (CleaveGraph        *graph,
                                   GArray             *jobs,
                                   guint64             token,
                                   GError            **error);
/* Not done: hands the jobs back, to be claimed again after @delay_ns;
 * @message (may be NULL) is kept as the job's last error. Unless
 * @count_attempt the claim does not count (the blocks were busy). */
gboolean cleave_queue_release     (CleaveGraph        *graph,
                                   GArray             *jobs,
                                   guint64             token,
                                   gint64              delay_ns,
                                   const char         *message,
                                   gboolean            count_attempt,
                                   GError            **error);
gboolean cleave_queue_get_backlog (CleaveGraph        *graph,
                                   CleaveQueueBacklog *backlog,
                                   GError            **error);
/* Gives failed jobs their attempts back; returns how many. */
gboolean cleave_queue_retry_failed (CleaveGraph       *graph,
                                   guint64            *n_out,
                                   GError            **error);

G_END_DECLS
