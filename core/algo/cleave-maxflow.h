/* cleave-maxflow.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * s-t max-flow / min-cut by Boykov-Kolmogorov (shared spec/algorithms.md
 * §2), for multicut splits on supervoxel adjacency graphs. Pure: nodes are
 * 0..n-1, edges and terminal capacities go in, the flow value and the
 * partition come out.
 *
 * Usage: new, add_edge / add_terminal any number of times, solve once, then
 * ask is_source_side. The source and the sink are implicit: a node is tied
 * to them by its terminal capacities, so several seeds per side are just
 * several nodes with a terminal capacity.
 *
 * Capacities are doubles >= 0 and may be INFINITY: an infinite edge can
 * never be cut, and an infinite terminal capacity pins a seed to its side.
 * When source and sink are joined by infinite capacities only, solve
 * returns INFINITY (the cut is impossible: the caller has to split a
 * supervoxel first) and the partition is unspecified. Large finite
 * stand-ins for infinity (FLT_MAX and the like) work as long as their sum
 * stays finite, but INFINITY says what is meant.
 */

#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CleaveMaxflow CleaveMaxflow;

/* A graph of @n_nodes nodes, expecting about @n_edges_hint edges (0 when
 * unknown: the edge list grows as needed). */
CleaveMaxflow *cleave_maxflow_new             (guint          n_nodes,
                                               gsize          n_edges_hint);
void           cleave_maxflow_free            (CleaveMaxflow *mf);

guint          cleave_maxflow_get_n_nodes     (CleaveMaxflow *mf);
gsize          cleave_maxflow_get_n_edges     (CleaveMaxflow *mf);

/* An edge between @a and @b with capacity @cap_ab from a to b and @cap_ba
 * from b to a; an undirected edge is add_edge (a, b, c, c). Returns the
 * edge index, in insertion order from 0. Parallel edges add up; a self
 * loop (a == b) is kept in the numbering but carries no flow. At most
 * 2^31 - 2 edges. */
gsize          cleave_maxflow_add_edge        (CleaveMaxflow *mf,
                                               guint          a,
                                               guint          b,
                                               double         cap_ab,
                                               double         cap_ba);

/* Before solve: edge @e's ends and capacities, as added. */
void           cleave_maxflow_get_edge        (CleaveMaxflow *mf,
                                               gsize          e,
                                               guint         *a,
                                               guint         *b,
                                               double        *cap_ab,
                                               double        *cap_ba);

/* Terminal capacities: from the source to @node and from @node to the
 * sink. Repeated calls add up. A node may have both: the smaller part
 * flows straight through it (source -> node -> sink) and only the
 * difference takes part in the search. */
void           cleave_maxflow_add_terminal    (CleaveMaxflow *mf,
                                               guint          node,
                                               double         cap_source,
                                               double         cap_sink);

/* Before solve: @node's terminal capacities, what is left of them once
 * their common part has gone straight through (so at most one of the two
 * is not 0), and that common part summed over all nodes. */
void           cleave_maxflow_get_terminal    (CleaveMaxflow *mf,
                                               guint          node,
                                               double        *cap_source,
                                               double        *cap_sink);
double         cleave_maxflow_get_through_flow (CleaveMaxflow *mf);

/* Computes the maximum flow and returns its value. Later calls return the
 * same value; the graph can no longer be changed. */
double         cleave_maxflow_solve           (CleaveMaxflow *mf);

/* After solve: TRUE when @node is reachable from the source in the
 * residual graph. This is the minimal source side: the intersection of the
 * source sides of all minimum cuts, so a node that could go either way
 * (no terminal link, or a tie between cuts) is on the sink side. */
gboolean       cleave_maxflow_is_source_side  (CleaveMaxflow *mf,
                                               guint          node);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CleaveMaxflow, cleave_maxflow_free)

G_END_DECLS
