/* cleave-verify.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Checking a dataset's graph against itself and against its segmentation:
 * every supervoxel has one root on the top layer; walking down from every
 * root, each child names its parent; each layer-2 node's supervoxels lie in
 * its chunk and are joined by active edges inside it; every label in the
 * segmentation is a supervoxel of the graph, in the chunk its id names, and
 * every supervoxel of the graph is in the segmentation.
 */

#pragma once

#include "cleave-graph.h"
#include "cleave-volume.h"

G_BEGIN_DECLS

typedef void (*CleaveVerifyProblem) (const char *problem,
                                     gpointer    user_data);

typedef struct
{
  guint64 supervoxels;
  guint64 roots;
  guint64 nodes;
  guint64 problems;
} CleaveVerifyStats;

/* FALSE only when the checks could not run; problems go to @problem. */
gboolean cleave_verify (CleaveGraph         *graph,
                        CleaveVolume        *seg,
                        CleaveVerifyProblem  problem,
                        gpointer             user_data,
                        CleaveVerifyStats   *stats,
                        GError             **error);

G_END_DECLS
