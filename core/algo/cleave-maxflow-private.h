/* cleave-maxflow-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The max-flow graph as Boykov-Kolmogorov (cleave-maxflow.c) and the
 * pseudoflow stage that takes over from it on hard graphs
 * (cleave-maxflow-pf.c) share it. See docs/maxflow.md.
 */

#pragma once

#include "cleave-maxflow.h"

G_BEGIN_DECLS

/* Node.parent is the residual slot of the arc from the node to its parent,
 * or one of these, which no slot reaches (at most 2^32 - 4 slots). */
#define PARENT_FREE     G_MAXUINT32         /* in neither tree */
#define PARENT_TERMINAL (G_MAXUINT32 - 1)   /* hangs from the source or sink */
#define PARENT_ORPHAN   (G_MAXUINT32 - 2)   /* lost its parent, not yet re-attached */

#define NO_NODE G_MAXUINT32
#define NO_SLOT G_MAXUINT32
#define INFINITE_DIST G_MAXUINT32

#define MAX_EDGES ((gsize) G_MAXUINT32 / 2 - 2)

typedef struct
{
  double  tr;       /* residual terminal capacity: > 0 source, < 0 sink */
  guint32 parent;
  guint32 pnode;    /* the parent, when parent is a slot */
  guint32 next;     /* active queue: NO_NODE when out, itself when last */
  guint32 ts;       /* time at which dist was last known to be exact */
  guint32 dist;     /* arcs to the terminal, 1 for a terminal's child */
  guint32 is_sink;
} Node;

/* One arc out of a node: its head and its residual slot. */
typedef struct
{
  guint32 head;
  guint32 slot;
} Adj;

struct _CleaveMaxflow
{
  guint    n_nodes;
  Node    *nodes;

  double  *r;              /* 2 per edge: a -> b, b -> a */
  guint32 *ends;           /* 2 per edge: a, b; until solve */
  gsize    n_edges;
  gsize    edges_alloc;

  guint32 *first;          /* from solve on: node i's arcs are */
  Adj     *adj;            /* adj[first[i]..first[i + 1]) */

  guint32  queue_first;
  guint32  queue_last;

  guint32 *orphans;        /* FIFO: orphans[orphan_head..n_orphans) */
  gsize    n_orphans;
  gsize    orphan_head;
  gsize    orphans_alloc;

  guint32  time;
  double   flow;
  gboolean infinite;       /* some capacity added was INFINITY */
  gboolean solved;

  gsize    work;           /* BK's arc scans and path steps so far */
  gsize    work_limit;     /* past it, pseudoflow finishes the job */
};


/* Finishes the max flow from the valid flow in @mf's residuals (after a
 * BK augmentation, or none) by the pseudoflow algorithm
 * (cleave-maxflow-pf.c), adds its value to mf->flow and leaves the
 * minimal source side as nodes with parent PARENT_TERMINAL and is_sink
 * FALSE, every other node PARENT_FREE. Needs the CSR index. */
void _cleave_maxflow_pseudoflow         (CleaveMaxflow *mf);

/* Tests: how much work BK may do before the pseudoflow stage takes over.
 * 0 runs that stage alone, G_MAXSIZE BK alone; the default is set when
 * BK's trees first meet (cleave-maxflow.c). Call before solve. */
void _cleave_maxflow_set_bk_work_limit  (CleaveMaxflow *mf,
                                         gsize          limit);

G_END_DECLS
