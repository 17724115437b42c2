/* cleave-ingest.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Building a dataset's supervoxel graph (DATASET/graph.sqlite): layer-2
 * nodes as the connected pieces of each object in each chunk, then each
 * layer above over 2x2x2 chunks of the one below, up to the roots.
 */

#pragma once

#include "cleave-graph.h"

G_BEGIN_DECLS

/* Ingest: progress is a phase and a fraction. */
typedef void (*CleaveIngestProgress) (const char *phase,
                                      double      fraction,
                                      gpointer    user_data);

/* Builds DATASET/graph.sqlite from the dataset's supervoxels, edges and
 * initial agglomeration (the demo's files). Works chunk by chunk, each in
 * its own transaction marked done, so an ingest that was killed resumes
 * where it stopped and never duplicates. A finished graph is not replaced
 * unless @force. Ends with a check that every supervoxel has a root. */
gboolean      cleave_ingest            (const char           *dataset_dir,
                                        gboolean              force,
                                        CleaveIngestProgress  progress,
                                        gpointer              user_data,
                                        GError              **error);

G_END_DECLS
