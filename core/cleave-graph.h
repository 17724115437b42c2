/* cleave-graph.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The chunked supervoxel graph in SQLite (DATASET/graph.sqlite), after
 * PyChunkedGraph (shared spec/reference-pcg.md §1): node ids in its bit
 * layout, a time-stamped hierarchy (every parent and children cell carries
 * the logical time it was written at, so any read can be made "as of T"),
 * atomic edges with affinity and contact area stored per L2 chunk, per-chunk
 * id counters. WAL, a busy timeout: several processes may open one graph.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CLEAVE_GRAPH_ERROR (cleave_graph_error_quark ())

typedef enum
{
  CLEAVE_GRAPH_ERROR_NOT_FOUND,   /* no graph, no such node */
  CLEAVE_GRAPH_ERROR_EXISTS,      /* a graph is there already */
  CLEAVE_GRAPH_ERROR_CORRUPT,     /* the graph contradicts itself */
  CLEAVE_GRAPH_ERROR_DATABASE,    /* SQLite failed */
  CLEAVE_GRAPH_ERROR_INCOMPLETE,  /* an ingest that has not finished */
} CleaveGraphError;

GQuark cleave_graph_error_quark (void);

/* Reads at the latest time. */
#define CLEAVE_GRAPH_LATEST G_MAXINT64

typedef enum
{
  CLEAVE_EDGE_IN_CHUNK = 1,
  CLEAVE_EDGE_CROSS_CHUNK = 2,   /* endpoints in different chunks; infinite: one physical sv */
  CLEAVE_EDGE_MERGE = 3,
  CLEAVE_EDGE_SPLIT = 4,
} CleaveEdgeKind;

typedef struct _CleaveGraph CleaveGraph;

typedef struct
{
  gint64  size[3];           /* mip 0 voxels */
  gint64  voxel_offset[3];
  guint   chunk[3];
  double  resolution[3];
  guint   fanout;
  guint   n_layers;
  guint   spatial_bits;
} CleaveGraphMeta;

/* Opens DATASET/graph.sqlite; a dataset without one, or with an ingest
 * that did not finish, is an error saying to run `cleavectl ingest`. */
CleaveGraph  *cleave_graph_open        (const char       *dataset_dir,
                                        GError          **error);
void          cleave_graph_free        (CleaveGraph      *graph);
const CleaveGraphMeta *cleave_graph_get_meta (CleaveGraph *graph);
/* The layer-2 (and layer-1) bits per chunk axis. */
guint         cleave_graph_chunk_bits  (CleaveGraph      *graph,
                                        guint             layer);

/* The root of each supervoxel as of @ts (CLEAVE_GRAPH_LATEST: now); 0 for
 * 0. Latest reads are cached in memory until the graph changes. */
gboolean      cleave_graph_get_roots   (CleaveGraph      *graph,
                                        const guint64    *svs,
                                        gsize             n,
                                        gint64            ts,
                                        guint64          *roots_out,
                                        GError          **error);
/* The supervoxels under @node as of @ts, appended to @out (guint64). */
gboolean      cleave_graph_get_leaves  (CleaveGraph      *graph,
                                        guint64           node,
                                        gint64            ts,
                                        GArray           *out,
                                        GError          **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveGraph, cleave_graph_free)

G_END_DECLS
