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

#include "algo/cleave-maxflow.h"
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

/* Where a split's time went (--verbose), in the order it happens; the
 * stages add up to the whole call. */
typedef enum
{
  CLEAVE_SPLIT_STAGE_CHECK,         /* the points looked up, the quick multicut before any op */
  CLEAVE_SPLIT_STAGE_ROOT_LOCK,     /* an op id, the root lock, the op row */
  CLEAVE_SPLIT_STAGE_MULTICUT,
  CLEAVE_SPLIT_STAGE_PLAN,          /* supervoxel split: its boxes */
  CLEAVE_SPLIT_STAGE_LOCK,          /* supervoxel split: the temporal L2 chunk lock */
  CLEAVE_SPLIT_STAGE_SV_SPLIT,      /* supervoxel split: pieces, geodesic cut, fresh ids, edges */
  CLEAVE_SPLIT_STAGE_SEG_WRITE,     /* supervoxel split: indefinite cells, scope, one OCDBT commit */
  CLEAVE_SPLIT_STAGE_GRAPH_WRITE,   /* supervoxel split: one SQLite transaction, locks released */
  CLEAVE_SPLIT_STAGE_RETRY,         /* the multicut again, on the fresh ids */
  CLEAVE_SPLIT_STAGE_COMMIT,        /* the rest: the hierarchy written, SUCCESS, downsampling queued */
  CLEAVE_SPLIT_N_STAGES
} CleaveSplitStage;

typedef struct
{
  gboolean sv_split;                          /* a supervoxel was split on the way */
  GArray  *seg_bboxes;                        /* gint64, 6 per split: lo then hi, mip-0 voxels */
  double   stage_ms[CLEAVE_SPLIT_N_STAGES];
} CleaveSplitReport;

void        cleave_split_report_clear (CleaveSplitReport *report);
const char *cleave_split_stage_name   (CleaveSplitStage   stage);

/* Splits the object at the points (the supervoxel ids are read from @seg
 * there): one op, under its root lock, whose multicut cuts edges and, when
 * the cut must pass through a supervoxel, splits that supervoxel first.
 * With @preview nothing is written and @cut says what would be cut (or
 * CLEAVE_MULTICUT_SV_SPLIT_REQUIRED). */
gboolean cleave_edit_split       (CleaveGraph          *graph,
                                  CleaveVolume         *seg,
                                  const gint64         *source_xyz,
                                  guint                 n_sources,
                                  const gint64         *sink_xyz,
                                  guint                 n_sinks,
                                  gboolean              preview,
                                  const char           *user,
                                  CleaveMulticutResult *cut,
                                  CleaveSplitReport    *report,
                                  CleaveEditResult     *result,
                                  GError              **error);

/* The same, re-executing stuck op @replay_op in privileged mode (0: a new op). */
gboolean _cleave_edit_split_run  (CleaveGraph          *graph,
                                  CleaveVolume         *seg,
                                  const gint64         *source_xyz,
                                  guint                 n_sources,
                                  const gint64         *sink_xyz,
                                  guint                 n_sinks,
                                  gboolean              preview,
                                  const char           *user,
                                  guint64               replay_op,
                                  CleaveMulticutResult *cut,
                                  CleaveSplitReport    *report,
                                  CleaveEditResult     *result,
                                  GError              **error);

/* The max-flow problem cleave_multicut_compute solves for these points
 * (local graph, contracted, with the team paths made uncuttable and the
 * seeds' terminal links), unsolved: for benchmarks and tests. NULL with
 * @error where compute fails, and when it would report
 * CLEAVE_MULTICUT_SV_SPLIT_REQUIRED instead. */
CleaveMaxflow *cleave_multicut_build_flow_problem (CleaveGraph   *graph,
                                                   const guint64 *sources,
                                                   const gint64  *source_xyz,
                                                   guint          n_sources,
                                                   const guint64 *sinks,
                                                   const gint64  *sink_xyz,
                                                   guint          n_sinks,
                                                   GError       **error);

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveMulticutResult, cleave_multicut_result_clear)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CleaveSplitReport, cleave_split_report_clear)

G_END_DECLS
