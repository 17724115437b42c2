/* cleave-sv-split.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The supervoxel split inside a multicut (shared spec/reference-pcg.md
 * §2 steps 4–6, §2.1, §2.2): when a source and a sink are one physical
 * supervoxel, cut it in two along its thinnest section, give the pieces
 * fresh ids in their chunks, route its edges onto them, and write the
 * segmentation and the graph under L2 chunk locks whose scope is on the
 * op log before anything is written.
 */

#pragma once

#include "cleave-edit-private.h"
#include "cleave-volume.h"

G_BEGIN_DECLS

/* Cuttable edges between the pieces of one split supervoxel. */
#define CLEAVE_SV_SPLIT_BRIDGE_AFFINITY 0.001

typedef struct
{
  double plan_ms;
  double lock_ms;
  double compute_ms;
  double seg_write_ms;
  double graph_write_ms;
} CleaveSvSplitTimings;

/* Splits every supervoxel that @sv_remap (guint64 pairs: supervoxel, its
 * representative across chunk faces) shows holding both a source and a
 * sink. On success the sources and sinks are replaced by the fresh ids at
 * their points and @seg_bboxes (gint64, 6 per split: lo then hi, mip-0
 * voxels) says what changed. Runs inside @exec's op; a failure after the
 * scope is written leaves the scope and the indefinite cells for recovery. */
gboolean _cleave_sv_split_run (CleaveGraph          *graph,
                               CleaveExec           *exec,
                               CleaveVolume         *seg,
                               GArray               *sv_remap,
                               guint64              *sources,
                               const gint64         *source_xyz,
                               guint                 n_sources,
                               guint64              *sinks,
                               const gint64         *sink_xyz,
                               guint                 n_sinks,
                               GArray               *seg_bboxes,
                               CleaveSvSplitTimings *timings,
                               GError              **error);

/* The L2 chunk ids (sorted) of the voxel box [lo, hi), clipped to the
 * dataset. */
GArray  *_cleave_sv_split_l2_chunks (CleaveGraph   *graph,
                                     const gint64   lo[3],
                                     const gint64   hi[3]);

G_END_DECLS
