/* cleave-hierarchy.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The rows an edit writes above the supervoxels (shared spec/reference-pcg.md
 * §1.3, §2.2 step 8): fresh node ids from per-chunk counters, the layers
 * rebuilt over the edited objects (keeping every node whose children stay
 * the same), and the roots' lineage. Inside the caller's transaction.
 */

#pragma once

#include "cleave-graph-private.h"

G_BEGIN_DECLS

/* A fresh id in @chunk (any layer), from its counter; a layer-1 chunk
 * without a counter starts after the largest supervoxel the graph has
 * there. */
gboolean _cleave_hierarchy_allocate_id    (CleaveGraph  *graph,
                                           guint64       chunk,
                                           guint64      *id,
                                           GError      **error);

/* The hierarchy of the supervoxels @leaves joined by the active pairs of
 * @edges (keyed by pair, values EdgeChange), written at @ts; the roots go
 * to @roots_out. Reads see the state before the edit: nothing is written
 * until every layer is planned. */
gboolean _cleave_hierarchy_rebuild        (CleaveGraph  *graph,
                                           GArray       *leaves,
                                           GHashTable   *edges,
                                           gint64        ts,
                                           GArray       *roots_out,
                                           GError      **error);

/* Former roots on each new root, new roots on each former one, at @ts. */
gboolean _cleave_hierarchy_write_lineage  (CleaveGraph  *graph,
                                           GArray       *old_roots,
                                           GArray       *new_roots,
                                           gint64        ts,
                                           GError      **error);

G_END_DECLS
