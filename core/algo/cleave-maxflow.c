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
 * Layout, chosen for the random accesses of the search. Residuals live in
 * pairs, r[2e] for a -> b and r[2e + 1] for b -> a, in the order edges
 * were added: an arc's reverse is slot ^ 1, on the same cache line, so
 * augmenting touches one line per arc. solve adds a CSR index, each
 * node's (neighbour, slot) entries side by side, for the scans of growth
 * and orphan adoption; it is the only allocation besides the orphan
 * queue. A node holds its parent node next to its parent slot, so walking
 * a path to its terminal reads nodes only. Per node also: the residual
 * terminal capacity (> 0: from the source, < 0: to the sink; a node with
 * both has the common part pushed straight through at the start), its
 * tree, the active-queue link and the time stamp and distance of the
 * heuristics. Nodes and arcs are visited in index order everywhere, so
 * the same input gives the same flow, bit for bit, and the same partition.
 */

#define G_LOG_DOMAIN "cleave-maxflow"

#include "cleave-maxflow-private.h"

#include <math.h>

/* BK's worst case is pseudo-polynomial, and some graphs get close to it:
 * 3D grids with random capacities and seeds on two opposite faces (the
 * flow has to be split over very many long paths, each augmentation
 * saturates one arc and leaves a trail of orphans). BK counts its work
 * (arcs scanned by growth and adoption, steps up the trees, arcs on the
 * augmenting paths). Growing the two trees until they first meet is one
 * sweep of the graph, which every method pays in some form; from there BK
 * may do half the size of the graph more (and never less than
 * WORK_FLOOR, which keeps small graphs with BK), and past that the
 * pseudoflow stage (cleave-maxflow-pf.c) finishes from the flow BK has
 * found so far.
 *
 * Why so little. BK's early progress says nothing about how much is left:
 * on the bench's grids and planes (docs/maxflow.md) the first two sizes
 * of work find flow at the same rate, the orphans, path lengths and
 * growth per path match, and only the total differs (the plane is done
 * at 2.8, the grid would take 320). Bounds on what is left, from the
 * seeds' cut or from the trees' own cut, are tight on the grid and 4 to
 * 16 times too high on the plane, so they cannot tell the two apart
 * either. A grid's BK work costs about a third of pseudoflow's whole run
 * per size of the graph, so waiting for more evidence costs more than
 * handing a plane over too early (pseudoflow there is about 1.6 times
 * BK's time). */
#define WORK_AFTER_MEETING_DIV 2
#define WORK_FLOOR 10000
#define WORK_LIMIT_DEFAULT G_MAXSIZE

CleaveMaxflow *
cleave_maxflow_new (guint n_nodes,
                    gsize n_edges_hint)
{
  CleaveMaxflow *mf;

  g_return_val_if_fail (n_nodes < NO_NODE, NULL);

  mf = g_new0 (CleaveMaxflow, 1);
  mf->n_nodes = n_nodes;
  mf->nodes = g_new0 (Node, MAX (n_nodes, 1));
  mf->edges_alloc = MIN (MAX (n_edges_hint, 16), MAX_EDGES);
  mf->r = g_new (double, 2 * mf->edges_alloc);
  mf->ends = g_new (guint32, 2 * mf->edges_alloc);
  mf->work_limit = WORK_LIMIT_DEFAULT;
  return mf;
}

void
cleave_maxflow_free (CleaveMaxflow *mf)
{
  if (mf == NULL)
    return;
  g_free (mf->nodes);
  g_free (mf->r);
  g_free (mf->ends);
  g_free (mf->first);
  g_free (mf->adj);
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
  gsize e;

  g_return_val_if_fail (mf != NULL, 0);
  g_return_val_if_fail (!mf->solved, 0);
  g_return_val_if_fail (a < mf->n_nodes && b < mf->n_nodes, 0);
  g_return_val_if_fail (valid_cap (cap_ab) && valid_cap (cap_ba), 0);
  g_return_val_if_fail (mf->n_edges < MAX_EDGES, 0);

  if (mf->n_edges == mf->edges_alloc)
    {
      mf->edges_alloc = MIN (mf->edges_alloc * 2, MAX_EDGES);
      mf->r = g_renew (double, mf->r, 2 * mf->edges_alloc);
      mf->ends = g_renew (guint32, mf->ends, 2 * mf->edges_alloc);
    }
  e = mf->n_edges++;
  mf->infinite |= isinf (cap_ab) || isinf (cap_ba);
  mf->r[2 * e] = cap_ab;
  mf->r[2 * e + 1] = cap_ba;
  mf->ends[2 * e] = a;
  mf->ends[2 * e + 1] = b;
  return e;
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
  mf->infinite |= isinf (cap_source) || isinf (cap_sink);
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

void
cleave_maxflow_get_edge (CleaveMaxflow *mf,
                         gsize          e,
                         guint         *a,
                         guint         *b,
                         double        *cap_ab,
                         double        *cap_ba)
{
  g_return_if_fail (mf != NULL);
  g_return_if_fail (!mf->solved);
  g_return_if_fail (e < mf->n_edges);

  *a = mf->ends[2 * e];
  *b = mf->ends[2 * e + 1];
  *cap_ab = mf->r[2 * e];
  *cap_ba = mf->r[2 * e + 1];
}

void
cleave_maxflow_get_terminal (CleaveMaxflow *mf,
                             guint          node,
                             double        *cap_source,
                             double        *cap_sink)
{
  g_return_if_fail (mf != NULL);
  g_return_if_fail (!mf->solved);
  g_return_if_fail (node < mf->n_nodes);

  *cap_source = MAX (mf->nodes[node].tr, 0);
  *cap_sink = MAX (-mf->nodes[node].tr, 0);
}

double
cleave_maxflow_get_through_flow (CleaveMaxflow *mf)
{
  g_return_val_if_fail (mf != NULL, 0);
  g_return_val_if_fail (!mf->solved, 0);

  return mf->flow;
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
build_adjacency (CleaveMaxflow *mf)
{
  guint n = mf->n_nodes;
  const guint32 *ends = mf->ends;
  guint32 *first = g_new0 (guint32, (gsize) n + 1);
  gsize n_arcs = 0;

  for (gsize e = 0; e < mf->n_edges; e++)
    if (ends[2 * e] != ends[2 * e + 1])
      {
        first[ends[2 * e]]++;
        first[ends[2 * e + 1]]++;
        n_arcs += 2;
      }

  /* first := end of each node's arcs; filling backwards then moves it to
   * the start, and keeps each node's arcs in insertion order. */
  for (guint i = 0, end = 0; i <= n; i++)
    {
      end += first[i];
      first[i] = end;
    }

  mf->adj = g_new (Adj, MAX (n_arcs, 1));
  for (gsize e = mf->n_edges; e-- > 0;)
    {
      guint32 a = ends[2 * e], b = ends[2 * e + 1];

      if (a == b)
        continue;
      mf->adj[--first[a]] = (Adj) { b, (guint32) (2 * e) };
      mf->adj[--first[b]] = (Adj) { a, (guint32) (2 * e + 1) };
    }

  mf->first = first;
  g_clear_pointer (&mf->ends, g_free);
}

/* Grows the tree of active node @i into free neighbours. When it meets
 * the other tree, returns the slot of the arc joining them, oriented
 * source tree -> sink tree, and its ends; otherwise NO_SLOT. */
static inline guint32
grow (CleaveMaxflow *mf,
      guint32        i,
      guint32       *s_end,
      guint32       *t_end)
{
  Node *nodes = mf->nodes;
  const double *r = mf->r;
  Node *ni = &nodes[i];
  const Adj *adj = mf->adj;
  guint32 end = mf->first[i + 1];

  if (!ni->is_sink)
    {
      for (guint32 k = mf->first[i]; k < end; k++)
        {
          guint32 j = adj[k].head, s = adj[k].slot;
          Node *nj;

          if (r[s] == 0)
            continue;
          nj = &nodes[j];
          if (nj->parent == PARENT_FREE)
            {
              nj->is_sink = FALSE;
              nj->parent = s ^ 1;
              nj->pnode = i;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
              set_active (mf, j);
            }
          else if (nj->is_sink)
            {
              *s_end = i;
              *t_end = j;
              return s;
            }
          else if (nj->ts <= ni->ts && nj->dist > ni->dist)
            {
              nj->parent = s ^ 1;
              nj->pnode = i;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
            }
        }
    }
  else
    {
      for (guint32 k = mf->first[i]; k < end; k++)
        {
          guint32 j = adj[k].head, s = adj[k].slot;
          Node *nj;

          if (r[s ^ 1] == 0)
            continue;
          nj = &nodes[j];
          if (nj->parent == PARENT_FREE)
            {
              nj->is_sink = TRUE;
              nj->parent = s ^ 1;
              nj->pnode = i;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
              set_active (mf, j);
            }
          else if (!nj->is_sink)
            {
              *s_end = j;
              *t_end = i;
              return s ^ 1;
            }
          else if (nj->ts <= ni->ts && nj->dist > ni->dist)
            {
              nj->parent = s ^ 1;
              nj->pnode = i;
              nj->ts = ni->ts;
              nj->dist = ni->dist + 1;
            }
        }
    }
  return NO_SLOT;
}

/* Pushes the bottleneck along source -> ... -> @s_end -> @t_end -> ... ->
 * sink (@mid is the slot of s_end -> t_end), and makes orphans of the
 * nodes below saturated arcs. Returns the amount pushed. In the source
 * tree flow runs parent -> node (slot parent ^ 1), in the sink tree node
 * -> parent (slot parent). */
static double
augment (CleaveMaxflow *mf,
         guint32        mid,
         guint32        s_end,
         guint32        t_end)
{
  Node *nodes = mf->nodes;
  double *r = mf->r;
  double d = r[mid];
  guint32 k, pa;

  for (k = s_end; (pa = nodes[k].parent) != PARENT_TERMINAL; k = nodes[k].pnode)
    {
      d = MIN (d, r[pa ^ 1]);
      mf->work++;
    }
  d = MIN (d, nodes[k].tr);
  for (k = t_end; (pa = nodes[k].parent) != PARENT_TERMINAL; k = nodes[k].pnode)
    {
      d = MIN (d, r[pa]);
      mf->work++;
    }
  d = MIN (d, -nodes[k].tr);

  if (isinf (d))
    return d;

  r[mid] -= d;
  r[mid ^ 1] += d;

  for (k = s_end; (pa = nodes[k].parent) != PARENT_TERMINAL; k = nodes[k].pnode)
    {
      r[pa] += d;
      r[pa ^ 1] -= d;
      if (r[pa ^ 1] == 0)
        set_orphan (mf, k);
    }
  nodes[k].tr -= d;
  if (nodes[k].tr == 0)
    set_orphan (mf, k);

  for (k = t_end; (pa = nodes[k].parent) != PARENT_TERMINAL; k = nodes[k].pnode)
    {
      r[pa ^ 1] += d;
      r[pa] -= d;
      if (r[pa] == 0)
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
  guint32 time = mf->time;
  guint32 d = 0, k = j;

  for (;;)
    {
      Node *nk = &nodes[k];

      mf->work++;

      if (nk->ts == time)
        {
          d += nk->dist;
          break;
        }
      d++;
      if (nk->parent == PARENT_TERMINAL)
        {
          nk->ts = time;
          nk->dist = 1;
          break;
        }
      if (nk->parent == PARENT_ORPHAN)
        return INFINITE_DIST;
      k = nk->pnode;
    }

  for (guint32 dd = d, m = j; nodes[m].ts != time; m = nodes[m].pnode)
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
  const double *r = mf->r;
  const Adj *adj = mf->adj;
  Node *ni = &nodes[i];
  guint32 end = mf->first[i + 1];
  /* Flow must be able to reach i from the source tree (slot ^ 1), or to
   * leave i for the sink tree (slot). */
  guint32 flip = ni->is_sink ? 0 : 1;
  guint32 is_sink = ni->is_sink;
  guint32 best = NO_SLOT, best_node = NO_NODE, best_d = INFINITE_DIST;

  mf->work += end - mf->first[i];
  for (guint32 k = mf->first[i]; k < end; k++)
    {
      guint32 j = adj[k].head, d;

      if (r[adj[k].slot ^ flip] == 0 || nodes[j].is_sink != is_sink ||
          nodes[j].parent == PARENT_FREE)
        continue;
      d = origin_dist (mf, j);
      if (d < best_d)
        {
          best = adj[k].slot;
          best_node = j;
          best_d = d;
        }
    }

  if (best != NO_SLOT)
    {
      ni->parent = best;
      ni->pnode = best_node;
      ni->ts = mf->time;
      ni->dist = best_d + 1;
      return;
    }

  ni->parent = PARENT_FREE;
  ni->ts = 0;
  mf->work += end - mf->first[i];
  for (guint32 k = mf->first[i]; k < end; k++)
    {
      guint32 j = adj[k].head;
      Node *nj = &nodes[j];

      if (nj->is_sink != is_sink || nj->parent == PARENT_FREE)
        continue;
      /* A neighbour that could grow into i must look again. */
      if (r[adj[k].slot ^ flip] != 0)
        set_active (mf, j);
      if (nj->parent < PARENT_ORPHAN && nj->pnode == i)
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

/* Time stamps are 32 bits; after 2^32 - 1 augmentations they start over.
 * What keeps the trees free of cycles is that going up a tree, stamps
 * never decrease, and between equal stamps distances never increase (the
 * growth heuristic re-hangs a node only under a neighbour with a stamp as
 * new and a distance strictly smaller, which therefore cannot be below
 * it). Zeroing every stamp and distance keeps that true; the distances
 * are only hints and refill as the search goes on. */
static void
restamp (CleaveMaxflow *mf)
{
  for (guint i = 0; i < mf->n_nodes; i++)
    {
      mf->nodes[i].ts = 0;
      mf->nodes[i].dist = 0;
    }
  mf->time = 1;
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

  build_adjacency (mf);
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

  if (mf->work_limit == 0)
    {
      _cleave_maxflow_pseudoflow (mf);
      return mf->flow;
    }

  for (;;)
    {
      guint32 i, mid, s_end, t_end;
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

      mf->work += mf->first[i + 1] - mf->first[i];
      mid = grow (mf, i, &s_end, &t_end);
      if (mid == NO_SLOT)
        continue;

      /* Marked as queued so that orphan processing leaves it alone. */
      nodes[i].next = i;
      current = i;

      /* The trees have met: BK's budget starts (see the top). */
      if (mf->work_limit == WORK_LIMIT_DEFAULT)
        mf->work_limit = mf->work + WORK_FLOOR +
                         ((gsize) mf->n_nodes + mf->first[mf->n_nodes]) / WORK_AFTER_MEETING_DIV;

      if (++mf->time == G_MAXUINT32)
        restamp (mf);
      d = augment (mf, mid, s_end, t_end);
      if (isinf (d))
        {
          mf->flow = INFINITY;
          break;
        }
      mf->flow += d;
      adopt_orphans (mf);

      /* The residuals hold a valid flow here (the trees are no part of
       * it), which the pseudoflow stage can start from. */
      if (mf->work > mf->work_limit)
        {
          _cleave_maxflow_pseudoflow (mf);
          break;
        }
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

void
_cleave_maxflow_set_bk_work_limit (CleaveMaxflow *mf,
                                   gsize          limit)
{
  g_return_if_fail (mf != NULL);
  g_return_if_fail (!mf->solved);

  /* The default's sentinel stands for "as large as it gets" here. */
  mf->work_limit = MIN (limit, WORK_LIMIT_DEFAULT - 1);
}
