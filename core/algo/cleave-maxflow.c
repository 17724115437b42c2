/* cleave-maxflow.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Boykov-Kolmogorov max-flow ("An Experimental Comparison of Min-Cut/Max-
 * Flow Algorithms for Energy Minimization in Vision", PAMI 26(9), 2004):
 * a search tree grows from the source and one from the sink until they
 * touch; the path found is augmented, the nodes cut off from their tree by
 * saturated arcs become orphans, and each orphan is re-attached to its tree
 * or freed. The trees are kept across augmentations, which is what makes
 * BK fast on the short-path, low-diameter graphs of vision and of
 * supervoxel adjacency. Two of the paper's refinements are here too
 * (as in Kolmogorov's maxflow v3 design; this is an independent
 * implementation): an orphan prefers the candidate parent closest to the
 * terminal, with distances cached per node and trusted only when stamped
 * with the current augmentation's time; and growth re-hangs a node under a
 * neighbour when that makes its path to the terminal shorter.
 *
 * Capacities and saturation. Capacities are doubles and an arc counts as
 * saturated when its residual is exactly 0.0; there is no epsilon. The
 * bottleneck of a path is the minimum residual along it, and subtracting
 * it leaves exactly 0.0 on the bottleneck arc (x - x == 0 in IEEE
 * arithmetic) and a positive residual everywhere else (a > b implies
 * a - b > 0 with gradual underflow), so residuals never go negative and
 * every augmentation saturates an arc, as in exact arithmetic. Rounding
 * only shows in the flow value, at the level of an ulp per augmentation,
 * and in residuals of 1e-17 or so that the search may still push through;
 * an epsilon would instead decide, by a threshold of our choosing, which
 * small capacities count, and would make a graph of small capacities (or
 * a scaled one) behave differently from the same graph at another scale.
 * INFINITY works unchanged: inf - d == inf and inf + d == inf, so an
 * infinite arc never saturates; a path of infinite capacity only means an
 * infinite flow, and the search stops there.
 *
 * Layout. Edges are collected as given; solve turns them into arcs grouped
 * by tail (CSR), each with the index of its reverse arc, in one array, so
 * the search allocates nothing but the orphan queue. Per node: the
 * residual terminal capacity (> 0: from the source, < 0: to the sink; a
 * node with both has the common part pushed straight through at the
 * start), the tree it is in, its parent arc, the active-queue link and the
 * time stamp and distance of the heuristics. Nodes and arcs are visited in
 * index order everywhere, so the same input gives the same flow, bit for
 * bit, and the same partition.
 */

#define G_LOG_DOMAIN "cleave-maxflow"

#include "cleave-maxflow.h"

#include <math.h>

/* Node.parent is an arc index (the arc from the node to its parent) or
 * one of these, which no arc index reaches (at most 2^32 - 4 arcs). */
#define PARENT_FREE     G_MAXUINT32         /* in neither tree */
#define PARENT_TERMINAL (G_MAXUINT32 - 1)   /* hangs from the source or sink */
#define PARENT_ORPHAN   (G_MAXUINT32 - 2)   /* lost its parent, not yet re-attached */

#define NO_NODE G_MAXUINT32
#define NO_ARC  G_MAXUINT32
#define INFINITE_DIST G_MAXUINT32

#define MAX_EDGES ((gsize) G_MAXUINT32 / 2 - 2)

typedef struct
{
  double  rcap;     /* residual capacity, tail -> head */
  guint32 head;
  guint32 sister;   /* the arc head -> tail */
} Arc;

typedef struct
{
  double  tr;       /* residual terminal capacity: > 0 source, < 0 sink */
  guint32 first;    /* first arc; the next node's first ends the list */
  guint32 parent;
  guint32 next;     /* active queue: NO_NODE when out, itself when last */
  guint32 ts;       /* time at which dist was last known to be exact */
  guint32 dist;     /* arcs to the terminal, 1 for a terminal's child */
  guint32 is_sink;
} Node;

typedef struct
{
  guint32 a, b;
  double  cap_ab, cap_ba;
} Edge;

struct _CleaveMaxflow
{
  guint    n_nodes;
  Node    *nodes;          /* n_nodes + 1: the last one only ends the arcs */

  Edge    *edges;          /* until solve */
  gsize    n_edges;
  gsize    edges_alloc;

  Arc     *arcs;           /* from solve on */

  guint32  queue_first;
  guint32  queue_last;

  guint32 *orphans;        /* FIFO: orphans[orphan_head..n_orphans) */
  gsize    n_orphans;
  gsize    orphan_head;
  gsize    orphans_alloc;

  guint32  time;
  double   flow;
  gboolean solved;
};

CleaveMaxflow *
cleave_maxflow_new (guint n_nodes,
                    gsize n_edges_hint)
{
  CleaveMaxflow *mf;

  g_return_val_if_fail (n_nodes < NO_NODE, NULL);

  mf = g_new0 (CleaveMaxflow, 1);
  mf->n_nodes = n_nodes;
  mf->nodes = g_new0 (Node, (gsize) n_nodes + 1);
  mf->edges_alloc = MIN (MAX (n_edges_hint, 16), MAX_EDGES);
  mf->edges = g_new (Edge, mf->edges_alloc);
  return mf;
}

void
cleave_maxflow_free (CleaveMaxflow *mf)
{
  if (mf == NULL)
    return;
  g_free (mf->nodes);
  g_free (mf->edges);
  g_free (mf->arcs);
  g_free (mf->orphans);
  g_free (mf);
}

guint
cleave_maxflow_get_n_nodes (CleaveMaxflow *mf)
{
  g_return_val_if_fail (mf != NULL, 0);
  return mf->n_nodes;
}

gsize
cleave_maxflow_get_n_edges (CleaveMaxflow *mf)
{
  g_return_val_if_fail (mf != NULL, 0);
  return mf->n_edges;
}

static inline gboolean
valid_cap (double c)
{
  /* Also false for NaN. */
  return c >= 0;
}

gsize
cleave_maxflow_add_edge (CleaveMaxflow *mf,
                         guint          a,
                         guint          b,
                         double         cap_ab,
                         double         cap_ba)
{
  Edge *e;

  g_return_val_if_fail (mf != NULL, 0);
  g_return_val_if_fail (!mf->solved, 0);
  g_return_val_if_fail (a < mf->n_nodes && b < mf->n_nodes, 0);
  g_return_val_if_fail (valid_cap (cap_ab) && valid_cap (cap_ba), 0);
  g_return_val_if_fail (mf->n_edges < MAX_EDGES, 0);

  if (mf->n_edges == mf->edges_alloc)
    {
      mf->edges_alloc = MIN (mf->edges_alloc * 2, MAX_EDGES);
      mf->edges = g_renew (Edge, mf->edges, mf->edges_alloc);
    }
  e = &mf->edges[mf->n_edges];
  e->a = a;
  e->b = b;
  e->cap_ab = cap_ab;
  e->cap_ba = cap_ba;
  return mf->n_edges++;
}

void
cleave_maxflow_add_terminal (CleaveMaxflow *mf,
                             guint          node,
                             double         cap_source,
                             double         cap_sink)
{
  Node *n;
  double src, snk;

  g_return_if_fail (mf != NULL);
  g_return_if_fail (!mf->solved);
  g_return_if_fail (node < mf->n_nodes);
  g_return_if_fail (valid_cap (cap_source) && valid_cap (cap_sink));

  /* Only the difference is kept; what source and sink share flows
   * straight through the node and counts towards the flow now. */
  n = &mf->nodes[node];
  src = cap_source + MAX (n->tr, 0);
  snk = cap_sink + MAX (-n->tr, 0);
  if (isinf (src) && isinf (snk))
    {
      mf->flow = INFINITY;
      n->tr = 0;
      return;
    }
  mf->flow += MIN (src, snk);
  n->tr = src - snk;
}

/* Active queue: FIFO through Node.next. */

static inline void
set_active (CleaveMaxflow *mf,
            guint32        i)
{
  Node *nodes = mf->nodes;

  if (nodes[i].next != NO_NODE)
    return;
  if (mf->queue_last != NO_NODE)
    nodes[mf->queue_last].next = i;
  else
    mf->queue_first = i;
  mf->queue_last = i;
  nodes[i].next = i;
}

/* Next active node, or NO_NODE. Nodes freed while queued are dropped
 * here rather than unlinked when freed. */
static inline guint32
next_active (CleaveMaxflow *mf)
{
  Node *nodes = mf->nodes;

  while (mf->queue_first != NO_NODE)
    {
      guint32 i = mf->queue_first;

      if (nodes[i].next == i)
        mf->queue_first = mf->queue_last = NO_NODE;
      else
        mf->queue_first = nodes[i].next;
      nodes[i].next = NO_NODE;
      if (nodes[i].parent != PARENT_FREE)
        return i;
    }
  return NO_NODE;
}

static inline void
set_orphan (CleaveMaxflow *mf,
            guint32        i)
{
  mf->nodes[i].parent = PARENT_ORPHAN;
  if (mf->n_orphans == mf->orphans_alloc)
    {
      mf->orphans_alloc = MAX (mf->orphans_alloc * 2, 64);
      mf->orphans = g_renew (guint32, mf->orphans, mf->orphans_alloc);
    }
  mf->orphans[mf->n_orphans++] = i;
}

static void
build_arcs (CleaveMaxflow *mf)
{
  Node *nodes = mf->nodes;
  guint n = mf->n_nodes;
  gsize n_arcs = 0;

  for (gsize e = 0; e < mf->n_edges; e++)
    if (mf->edges[e].a != mf->edges[e].b)
      {
        nodes[mf->edges[e].a].first++;
        nodes[mf->edges[e].b].first++;
        n_arcs += 2;
      }

  /* first := end of each node's arcs; filling backwards then moves it to
   * the start, and keeps each node's arcs in insertion order. */
  {
    guint32 end = 0;

    for (guint i = 0; i < n; i++)
      {
        end += nodes[i].first;
        nodes[i].first = end;
      }
    nodes[n].first = end;
  }

  mf->arcs = g_new (Arc, MAX (n_arcs, 1));
  for (gsize e = mf->n_edges; e-- > 0;)
    {
      const Edge *ed = &mf->edges[e];
      guint32 ia, ib;

      if (ed->a == ed->b)
        continue;
      ia = --nodes[ed->a].first;
      ib = --nodes[ed->b].first;
      mf->arcs[ia] = (Arc) { ed->cap_ab, ed->b, ib };
      mf->arcs[ib] = (Arc) { ed->cap_ba, ed->a, ia };
    }

  g_clear_pointer (&mf->edges, g_free);
  mf->edges_alloc = 0;
}

/* Grows the tree of active node @i into free neighbours. Returns the arc
 * joining the two trees, oriented source tree -> sink tree, or NO_ARC. */
static inline guint32
grow (CleaveMaxflow *mf,
      guint32        i)
{
  Node *nodes = mf->nodes;
  Arc *arcs = mf->arcs;
  Node *ni = &nodes[i];
  guint32 end = nodes[i + 1].first;

  if (!ni->is_sink)
    {
      for (guint32 a = ni->first; a < end; a++)
        {
          guint32 j;
          Node *nj;

          if (arcs[a].rcap == 0)
            continue;
          j = arcs[a].head;
          nj = &nodes[j];
          if (nj->parent == PARENT_FREE)
            {
              nj->is_sink = FALSE;
              nj->parent = arcs[a].sister;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
              set_active (mf, j);
            }
          else if (nj->is_sink)
            return a;
          else if (nj->ts <= ni->ts && nj->dist > ni->dist)
            {
              nj->parent = arcs[a].sister;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
            }
        }
    }
  else
    {
      for (guint32 a = ni->first; a < end; a++)
        {
          guint32 s = arcs[a].sister, j;
          Node *nj;

          if (arcs[s].rcap == 0)
            continue;
          j = arcs[a].head;
          nj = &nodes[j];
          if (nj->parent == PARENT_FREE)
            {
              nj->is_sink = TRUE;
              nj->parent = s;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
              set_active (mf, j);
            }
          else if (!nj->is_sink)
            return s;
          else if (nj->ts <= ni->ts && nj->dist > ni->dist)
            {
              nj->parent = s;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
            }
        }
    }
  return NO_ARC;
}

/* Pushes the bottleneck along source -> ... -> tail(mid) -> head(mid) ->
 * ... -> sink, and makes orphans of the nodes below saturated arcs.
 * Returns the amount pushed. */
static double
augment (CleaveMaxflow *mf,
         guint32        mid)
{
  Node *nodes = mf->nodes;
  Arc *arcs = mf->arcs;
  guint32 s_start = arcs[arcs[mid].sister].head;
  guint32 t_start = arcs[mid].head;
  double d = arcs[mid].rcap;
  guint32 k, pa;

  for (k = s_start; (pa = nodes[k].parent) != PARENT_TERMINAL; k = arcs[pa].head)
    d = MIN (d, arcs[arcs[pa].sister].rcap);
  d = MIN (d, nodes[k].tr);
  for (k = t_start; (pa = nodes[k].parent) != PARENT_TERMINAL; k = arcs[pa].head)
    d = MIN (d, arcs[pa].rcap);
  d = MIN (d, -nodes[k].tr);

  if (isinf (d))
    return d;

  arcs[arcs[mid].sister].rcap += d;
  arcs[mid].rcap -= d;

  for (k = s_start; (pa = nodes[k].parent) != PARENT_TERMINAL; k = arcs[pa].head)
    {
      Arc *down = &arcs[arcs[pa].sister];

      arcs[pa].rcap += d;
      down->rcap -= d;
      if (down->rcap == 0)
        set_orphan (mf, k);
    }
  nodes[k].tr -= d;
  if (nodes[k].tr == 0)
    set_orphan (mf, k);

  for (k = t_start; (pa = nodes[k].parent) != PARENT_TERMINAL; k = arcs[pa].head)
    {
      arcs[arcs[pa].sister].rcap += d;
      arcs[pa].rcap -= d;
      if (arcs[pa].rcap == 0)
        set_orphan (mf, k);
    }
  nodes[k].tr += d;
  if (nodes[k].tr == 0)
    set_orphan (mf, k);

  return d;
}

/* Distance from @j to its tree's terminal following parents, or
 * INFINITE_DIST when the path meets an orphan. Stamps the nodes on a
 * path that reaches the terminal, so later walks stop early. */
static inline guint32
origin_dist (CleaveMaxflow *mf,
             guint32        j)
{
  Node *nodes = mf->nodes;
  Arc *arcs = mf->arcs;
  guint32 time = mf->time;
  guint32 d = 0, k = j;

  for (;;)
    {
      Node *nk = &nodes[k];
      guint32 pa;

      if (nk->ts == time)
        {
          d += nk->dist;
          break;
        }
      pa = nk->parent;
      d++;
      if (pa == PARENT_TERMINAL)
        {
          nk->ts = time;
          nk->dist = 1;
          break;
        }
      if (pa == PARENT_ORPHAN)
        return INFINITE_DIST;
      k = arcs[pa].head;
    }

  for (guint32 dd = d, m = j; nodes[m].ts != time; m = arcs[nodes[m].parent].head)
    {
      nodes[m].ts = time;
      nodes[m].dist = dd--;
    }
  return d;
}

/* Re-attaches orphan @i to its tree through a residual arc from a tree
 * node whose path reaches the terminal, preferring the shortest; failing
 * that frees it and makes orphans of its children. */
static void
process_orphan (CleaveMaxflow *mf,
                guint32        i)
{
  Node *nodes = mf->nodes;
  Arc *arcs = mf->arcs;
  Node *ni = &nodes[i];
  guint32 end = nodes[i + 1].first;
  guint32 is_sink = ni->is_sink;
  guint32 best = NO_ARC, best_d = INFINITE_DIST;

  for (guint32 a = ni->first; a < end; a++)
    {
      /* Flow must be able to reach i from the source tree, or leave i
       * for the sink tree. */
      double r = is_sink ? arcs[a].rcap : arcs[arcs[a].sister].rcap;
      guint32 j = arcs[a].head, d;

      if (r == 0 || nodes[j].is_sink != is_sink || nodes[j].parent == PARENT_FREE)
        continue;
      d = origin_dist (mf, j);
      if (d < best_d)
        {
          best = a;
          best_d = d;
        }
    }

  if (best != NO_ARC)
    {
      ni->parent = best;
      ni->ts = mf->time;
      ni->dist = best_d + 1;
      return;
    }

  ni->parent = PARENT_FREE;
  ni->ts = 0;
  for (guint32 a = ni->first; a < end; a++)
    {
      guint32 j = arcs[a].head, pa;
      double r;

      if (nodes[j].is_sink != is_sink || nodes[j].parent == PARENT_FREE)
        continue;
      /* A neighbour that could grow into i must look again. */
      r = is_sink ? arcs[a].rcap : arcs[arcs[a].sister].rcap;
      if (r != 0)
        set_active (mf, j);
      pa = nodes[j].parent;
      if (pa != PARENT_TERMINAL && pa != PARENT_ORPHAN && arcs[pa].head == i)
        set_orphan (mf, j);
    }
}

static void
adopt_orphans (CleaveMaxflow *mf)
{
  while (mf->orphan_head < mf->n_orphans)
    process_orphan (mf, mf->orphans[mf->orphan_head++]);
  mf->orphan_head = mf->n_orphans = 0;
}

double
cleave_maxflow_solve (CleaveMaxflow *mf)
{
  Node *nodes;
  guint32 current = NO_NODE;

  g_return_val_if_fail (mf != NULL, 0);

  if (mf->solved)
    return mf->flow;
  mf->solved = TRUE;

  build_arcs (mf);
  nodes = mf->nodes;

  mf->queue_first = mf->queue_last = NO_NODE;
  mf->time = 0;
  for (guint i = 0; i < mf->n_nodes; i++)
    {
      Node *ni = &nodes[i];

      ni->next = NO_NODE;
      ni->ts = 0;
      ni->dist = 1;
      if (ni->tr != 0)
        {
          ni->is_sink = ni->tr < 0;
          ni->parent = PARENT_TERMINAL;
          set_active (mf, i);
        }
      else
        ni->parent = PARENT_FREE;
    }

  if (isinf (mf->flow))
    return mf->flow;

  for (;;)
    {
      guint32 i, mid;
      double d;

      /* A node that just found a path is grown again before the queue
       * moves on: it may touch the other tree more than once. */
      if (current != NO_NODE)
        {
          i = current;
          current = NO_NODE;
          nodes[i].next = NO_NODE;
          if (nodes[i].parent == PARENT_FREE)
            continue;
        }
      else if ((i = next_active (mf)) == NO_NODE)
        break;

      mid = grow (mf, i);
      if (mid == NO_ARC)
        continue;

      /* Marked as queued so that orphan processing leaves it alone. */
      nodes[i].next = i;
      current = i;

      mf->time++;
      d = augment (mf, mid);
      if (isinf (d))
        {
          mf->flow = INFINITY;
          break;
        }
      mf->flow += d;
      adopt_orphans (mf);
    }

  return mf->flow;
}

gboolean
cleave_maxflow_is_source_side (CleaveMaxflow *mf,
                               guint          node)
{
  const Node *n;

  g_return_val_if_fail (mf != NULL, FALSE);
  g_return_val_if_fail (mf->solved, FALSE);
  g_return_val_if_fail (node < mf->n_nodes, FALSE);

  /* At the end the source tree is closed under residual arcs and every
   * node in it is reached through one: it is the residual reachable set. */
  n = &mf->nodes[node];
  return n->parent != PARENT_FREE && !n->is_sink;
}
