/* cleave-multicut.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The multicut split (shared spec/reference-pcg.md §2, spec/algorithms.md
 * §2): the local subgraph of one object inside a box around the source and
 * sink points, cross-chunk infinite edges contracted (one physical
 * supervoxel stays whole), paths between the seeds of each team made
 * uncuttable, Boykov–Kolmogorov max-flow, and cuts that merely isolate the
 * seeds refused. The answer is tagged, never an exception for control flow.
 */

#pragma once

#include "cleave-edit.h"
#include "cleave-graph.h"
#include "cleave-volume.h"

G_BEGIN_DECLS

/* mip 0 voxels added around the points (the reference's pcgv3 default). */
#define CLEAVE_MULTICUT_BBOX_OFFSET_XY 240
#define CLEAVE_MULTICUT_BBOX_OFFSET_Z  24

typedef enum
{
  CLEAVE_MULTICUT_CUT,               /* @removed: the edges to take out */
  CLEAVE_MULTICUT_PREVIEW,           /* @source_svs / @sink_svs, and @illegal */
  CLEAVE_MULTICUT_SV_SPLIT_REQUIRED, /* a source and a sink are one physical supervoxel: @sv_remap */
} CleaveMulticutKind;

typedef struct
{
  CleaveMulticutKind kind;
  GArray  *removed;      /* guint64 pairs */
  GArray  *source_svs;   /* guint64 */
  GArray  *sink_svs;     /* guint64 */
  gboolean illegal;
  GArray  *sv_remap;     /* guint64 pairs: supervoxel, its representative */
  double   cut_value;
} CleaveMulticutResult;

void     cleave_multicut_result_clear (CleaveMulticutResult *result);

/* @sources and @sinks: supervoxel ids; @source_xyz, @sink_xyz: their
 * points (x, y, z triples, mip 0). Precondition errors say what to do. */
gboolean cleave_multicut_compute (CleaveGraph          *graph,
                                  const guint64        *sources,
                                  const gint64         *source_xyz,
                                  guint                 n_sources,
                                  const guint64        *sinks,
                                  const gint64         *sink_xyz,
                                  guint                 n_sinks,
                                  gboolean              preview,
                                  CleaveMulticutResult *result,
                                  GError              **error);

/* Looks the points up in @seg, computes the cut and, unless @preview,
 * executes it as a "split" op. A cut through a supervoxel is a
 * precondition error until supervoxel splits exist. */
gboolean cleave_edit_split       (CleaveGraph          *graph,
                                  CleaveVolume         *seg,
                                  const gint64         *source_xyz,
                                  guint                 n_sources,
                                  const gint64         *sink_xyz,
                                  guint                 n_sinks,
                                  gboolean              preview,
                                  const char           *user,
                                  CleaveMulticutResult *cut,
                                  CleaveEditResult     *result,
                                  GError              **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveMulticutResult, cleave_multicut_result_clear)

G_END_DECLS
