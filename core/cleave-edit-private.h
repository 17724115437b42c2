/* cleave-edit-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The life of one op (shared spec/reference-pcg.md §2 step 1), for the
 * edits that compute their changes under the op's locks: the multicut
 * split and its supervoxel split, and the replay of a stuck op.
 */

#pragma once

#include "cleave-edit.h"
#include "cleave-graph-private.h"

G_BEGIN_DECLS

#define CLEAVE_EDIT_LOCK_TRIES 7

typedef struct _CleaveExec CleaveExec;

/* Computes the op's edge changes into @changes, under the temporal root
 * lock, after the op row is CREATED. */
typedef gboolean (*CleaveApplyFunc) (CleaveGraph *graph,
                                     CleaveExec  *exec,
                                     gpointer     data,
                                     GArray      *changes,
                                     GError     **error);

typedef struct
{
  const char     *kind;
  const char     *user;
  const char     *inputs;       /* JSON */
  guint64         undo_of;
  guint64         redo_of;
  const guint64  *svs;          /* whose objects are locked; NULL: the changes' endpoints */
  guint           n_svs;
  CleaveApplyFunc apply;
  gpointer        apply_data;
  guint64         replay_op;    /* privileged re-execution of this op, at its own time */
  gint64          started;      /* cleave_now_ns () when the request came: its checks are the first stage */
} CleaveOpSpec;

guint64  _cleave_exec_get_op       (CleaveExec        *exec);
gint64   _cleave_exec_get_ts       (CleaveExec        *exec);
gboolean _cleave_exec_is_privileged (CleaveExec       *exec);
/* Takes the indefinite root lock now, before a write that must not be
 * left half done unseen (skipped in privileged mode: the stuck op's cells
 * are the lock). */
gboolean _cleave_exec_go_durable   (CleaveExec        *exec,
                                    GError           **error);
/* After a write that ended cleanly: the indefinite root cells go again
 * (kept in privileged mode, where the stuck op's cells end with it). */
void     _cleave_exec_end_durable  (CleaveExec        *exec);

gboolean _cleave_edit_execute      (CleaveGraph       *graph,
                                    const CleaveOpSpec *spec,
                                    GArray            *changes,
                                    CleaveEditResult  *result,
                                    GError           **error);

/* The changes that take the joining edges @pairs (n pairs) out, keeping
 * each edge's kind, affinity and area. */
gboolean _cleave_edit_removal_changes (CleaveGraph    *graph,
                                       const guint64  *pairs,
                                       guint           n,
                                       GArray         *changes,
                                       GError        **error);

/* Writes @changes (EdgeChange) at @ts for @op, under each endpoint's L2
 * chunk. Inside the caller's transaction. */
gboolean _cleave_edit_write_edges  (CleaveGraph       *graph,
                                    GArray            *changes,
                                    gint64             ts,
                                    guint64            op,
                                    GError           **error);

GBytes  *_cleave_edit_ids_blob     (const guint64     *ids,
                                    guint              n);
GArray  *_cleave_edit_blob_ids     (const void        *blob,
                                    int                len);

/* A read transaction around a computation's many queries, unless the
 * caller has a transaction open (*@began says which): one snapshot of the
 * graph, and SQLite takes its read lock once rather than per statement. */
gboolean _cleave_edit_read_begin   (CleaveGraph       *graph,
                                    gboolean          *began,
                                    GError           **error);
void     _cleave_edit_read_end     (CleaveGraph       *graph,
                                    gboolean           began);

/* Sets a CLEAVE_EDIT_ERROR of @code with a formatted message; FALSE. */
gboolean _cleave_edit_fail         (GError           **error,
                                    CleaveEditError    code,
                                    const char        *format,
                                    ...) G_GNUC_PRINTF (3, 4);

/* Milliseconds since *@clock (ns), which moves to now: stage timings. */
double   _cleave_edit_ms_since     (gint64            *clock);

G_END_DECLS
