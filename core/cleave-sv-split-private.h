/* cleave-sv-split-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The supervoxel split's two halves: its plan and all it computes before
 * a write (cleave-sv-split-plan.c), and the locks and writes that carry
 * it out (cleave-sv-split.c). Not installed.
 */

#pragma once

#include "cleave-sv-split.h"

G_BEGIN_DECLS

/* One supervoxel to split, and the seeds that fall in it. */
typedef struct
{
  guint64  rep;
  GArray  *src;        /* guint, indices into the sources */
  GArray  *snk;        /* guint, indices into the sinks */
  gint64   lo[3], hi[3];   /* the split box: chunk-aligned */
} Task;

/* A piece of the supervoxel in the box: one layer-1 id. */
typedef struct
{
  guint64 sv;
  guint8  labels;        /* bit per splitter label present */
  guint8  uniform;       /* the one label, when only one is present */
  guint64 fresh[4];      /* per label, when split */
} Piece;

/* What one task computes, before anything is written. */
typedef struct
{
  gint64   blo[3], bhi[3];      /* the pieces' voxels' box: all that the split changes */
  gint64   rlo[3], rhi[3];      /* that box plus a one-voxel shell, clipped to the dataset */
  gsize    rsize[3];
  guint64 *block;               /* the new labels over the shelled box */
  GArray  *pieces;              /* Piece */
  GArray  *changes;             /* EdgeChange: the fragments' edges */
  GArray  *fresh;               /* guint64: every fresh id */
  GHashTable *former;           /* fresh id -> its old supervoxel (guint64 *) */
} Outcome;

static inline gsize
_cleave_sv_split_at (const Outcome *o,
                     gint64         x,
                     gint64         y,
                     gint64         z)
{
  return ((gsize) (z - o->rlo[2]) * o->rsize[1] + (gsize) (y - o->rlo[1])) * o->rsize[0] + (gsize) (x - o->rlo[0]);
}

GArray  *_cleave_sv_split_plan          (CleaveGraph   *graph,
                                         GArray        *sv_remap,
                                         const guint64 *sources,
                                         const gint64  *source_xyz,
                                         guint          n_sources,
                                         const guint64 *sinks,
                                         const gint64  *sink_xyz,
                                         guint          n_sinks,
                                         GError       **error);
gboolean _cleave_sv_split_compute_task  (CleaveGraph   *graph,
                                         CleaveVolume  *seg,
                                         Task          *task,
                                         guint64        root,
                                         const guint64 *sources,
                                         const gint64  *source_xyz,
                                         const guint64 *sinks,
                                         const gint64  *sink_xyz,
                                         Outcome       *outcome,
                                         GError       **error);
void     _cleave_sv_split_outcome_clear (Outcome       *outcome);

G_END_DECLS
