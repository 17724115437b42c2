/* cleave-maxflow-pr.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Push-relabel, the first phase only (a maximum preflow), for the graphs
 * on which Boykov-Kolmogorov gets slow (cleave-maxflow.c decides, by the
 * work BK has done). The design is Cherkassky and Goldberg's hi_pr ("On
 * implementing the push-relabel method for the maximum flow problem",
 * Algorithmica 19, 1997): highest label first, buckets of active nodes
 * and doubly linked buckets of inactive ones, the gap heuristic, and a
 * global relabelling (a breadth-first search from the sink) whenever the
 * relabelling work since the last one passes 6n + m.
 *
 * Direction. The first phase ends with a maximum preflow and the minimum
 * cut whose sink side is smallest: the nodes that still reach the sink.
 * Cleave's contract is the smallest source side, so the algorithm runs on
 * the reversed network, from the sink to the source: a push from u to v
 * sends flow along the original arc v -> u, and the labels are distances
 * to the source along reversed residual arcs. When the phase ends, the
 * nodes the source reaches in the residual graph are exactly the nodes
 * that reach the source in the reversed one, the smallest sink side
 * there. Excess left in nodes that cannot reach the source is flow the
 * second phase would send back to the sink; it changes neither the value
 * nor the cut, so the second phase is skipped.
 *
 * Start. The residuals may already hold flow (BK's, when it hands over):
 * any valid flow is a valid start. Every sink link is saturated, which
 * puts its residual into its node as excess. A sink link larger than all
 * the capacity that can leave its node in the reversed network is cut to
 * twice that capacity first: no minimum cut cuts such a link, before or
 * after (moving the node to the other side is strictly cheaper), so
 * neither the value nor the smallest source side changes, and excess
 * stays of the size of the graph's capacities (seeds linked with 1e9 or
 * FLT_MAX would otherwise eat the low bits of every excess they pass
 * through).
 *
 * Infinity. If infinite arcs and links join source and sink the flow is
 * infinite and that is the answer. Otherwise every infinite capacity is
 * replaced by one more than twice the sum of the finite ones, more than
 * any cut of finite capacity, so the same cuts stay minimal.
 */

#define G_LOG_DOMAIN "cleave-maxflow"

#include "cleave-maxflow-private.h"

#include <math.h>

/* Per node, together; the labels, which every arc scan reads for the
 * arc's head, are apart and small. */
typedef struct
{
  double  excess;
  double  tr;       /* residual link to the source (> 0); sink links are gone */
  guint32 cur;      /* current arc */
  guint32 next;     /* bucket list */
  guint32 prev;     /* inactive buckets are doubly linked */
} PNode;

typedef struct
{
  PNode   *p;
  guint32 *label;
  guint32 *active;     /* per label: first active node */
  guint32 *inactive;   /* per label: first inactive node */
  guint32  unreached;  /* label of the nodes that cannot reach the source:
                        * n + 1, as distances go up to n */
  guint32  amax;       /* no active node above */
  guint32  dmax;       /* no node at all above, below unreached */
  gsize    work;       /* relabelling work since the last global relabel */
  gsize    work_limit;
  double   flow;       /* pushed into the source */
} PR;

static inline void
inactive_add (PR      *pr,
              guint32  u)
{
  PNode *p = pr->p;
  guint32 d = pr->label[u], f = pr->inactive[d];

  p[u].next = f;
  p[u].prev = NO_NODE;
  if (f != NO_NODE)
    p[f].prev = u;
  pr->inactive[d] = u;
}

static inline void
inactive_remove (PR      *pr,
                 guint32  u)
{
  PNode *p = pr->p;
  guint32 nx = p[u].next, pv = p[u].prev;

  if (pv != NO_NODE)
    p[pv].next = nx;
  else
    pr->inactive[pr->label[u]] = nx;
  if (nx != NO_NODE)
    p[nx].prev = pv;
}

static inline void
active_add (PR      *pr,
            guint32  u)
{
  guint32 d = pr->label[u];

  pr->p[u].next = pr->active[d];
  pr->active[d] = u;
  if (d > pr->amax)
    pr->amax = d;
}

/* Exact distances to the source along reversed residual arcs, by a
 * breadth-first search from the nodes linked to it; the buckets are
 * rebuilt on the way. @queue holds n nodes. */
static void
global_relabel (CleaveMaxflow *mf,
                PR            *pr,
                guint32       *queue)
{
  PNode *p = pr->p;
  const double *r = mf->r;
  const Adj *adj = mf->adj;
  const guint32 *first = mf->first;
  guint32 n = mf->n_nodes, unreached = pr->unreached, head = 0, tail = 0;

  for (guint32 d = 0; d <= pr->dmax; d++)
    pr->active[d] = pr->inactive[d] = NO_NODE;
  for (guint32 u = 0; u < n; u++)
    {
      pr->label[u] = unreached;
      if (p[u].tr > 0)
        {
          pr->label[u] = 1;
          queue[tail++] = u;
        }
    }
  pr->amax = pr->dmax = 0;

  while (head < tail)
    {
      guint32 u = queue[head++], d = pr->label[u] + 1, end = first[u + 1];

      p[u].cur = first[u];
      if (p[u].excess > 0)
        active_add (pr, u);
      else
        inactive_add (pr, u);
      pr->dmax = pr->label[u];

      if (d >= unreached)
        continue;
      for (guint32 k = first[u]; k < end; k++)
        {
          guint32 w = adj[k].head;

          /* Reversed arc w -> u is the original u -> w. */
          if (r[adj[k].slot] > 0 && pr->label[w] == unreached)
            {
              pr->label[w] = d;
              queue[tail++] = w;
            }
        }
    }
  pr->work = 0;
}

/* Every node above the empty label @d can no longer reach the source. */
static void
gap (PR      *pr,
     guint32  d)
{
  PNode *p = pr->p;

  for (guint32 l = d + 1; l <= pr->dmax; l++)
    {
      for (guint32 u = pr->inactive[l]; u != NO_NODE; u = p[u].next)
        pr->label[u] = pr->unreached;
      pr->inactive[l] = NO_NODE;
    }
  pr->dmax = d - 1;
  pr->amax = MIN (pr->amax, d - 1);
}

/* Pushes @u's excess out along admissible arcs, relabelling as needed,
 * until it has none left or can no longer reach the source. */
static void
discharge (CleaveMaxflow *mf,
           PR            *pr,
           guint32        u)
{
  PNode *p = pr->p;
  PNode *pu = &p[u];
  double *r = mf->r;
  const Adj *adj = mf->adj;
  const guint32 *first = mf->first;
  guint32 unreached = pr->unreached, end = first[u + 1];
  double ex = pu->excess;

  if (pu->tr > 0)
    {
      double delta = MIN (ex, pu->tr);

      pu->tr -= delta;
      ex -= delta;
      pr->flow += delta;
    }

  while (ex > 0)
    {
      guint32 d = pr->label[u], k, best, bestd;

      for (k = pu->cur; k < end; k++)
        {
          guint32 s = adj[k].slot ^ 1, v;
          double rf = r[s];

          if (rf == 0)
            continue;
          v = adj[k].head;
          if (pr->label[v] + 1 == d)
            {
              double delta = MIN (ex, rf);

              if (p[v].excess == 0)
                {
                  inactive_remove (pr, v);
                  active_add (pr, v);
                }
              r[s] = rf - delta;
              r[s ^ 1] += delta;
              p[v].excess += delta;
              ex -= delta;
              if (ex == 0)
                break;
            }
        }

      if (k < end)
        {
          pu->cur = k;
          break;
        }

      /* No admissible arc left: relabel, unless u was the last of its
       * label, in which case it and everything above is cut off. */
      if (pr->active[d] == NO_NODE && pr->inactive[d] == NO_NODE)
        {
          gap (pr, d);
          pr->label[u] = unreached;
          break;
        }

      bestd = unreached;
      best = first[u];
      for (k = first[u]; k < end; k++)
        if (r[adj[k].slot ^ 1] > 0 && pr->label[adj[k].head] + 1 < bestd)
          {
            bestd = pr->label[adj[k].head] + 1;
            best = k;
          }
      pr->work += 12 + end - first[u];
      pr->label[u] = bestd;
      pu->cur = best;
      if (bestd >= unreached)
        break;
      if (bestd > pr->dmax)
        pr->dmax = bestd;
    }

  pu->excess = ex;
  if (ex == 0)
    inactive_add (pr, u);
}

/* Source -> sink through infinite links and arcs only. */
static gboolean
infinite_path (CleaveMaxflow *mf,
               guint32       *queue,
               guint8        *seen)
{
  const double *r = mf->r;
  const Adj *adj = mf->adj;
  const guint32 *first = mf->first;
  guint32 head = 0, tail = 0;

  for (guint32 u = 0; u < mf->n_nodes; u++)
    if (mf->nodes[u].tr == INFINITY)
      {
        seen[u] = 1;
        queue[tail++] = u;
      }
  while (head < tail)
    {
      guint32 u = queue[head++];

      if (mf->nodes[u].tr == -INFINITY)
        return TRUE;
      for (guint32 k = first[u]; k < first[u + 1]; k++)
        if (r[adj[k].slot] == INFINITY && !seen[adj[k].head])
          {
            seen[adj[k].head] = 1;
            queue[tail++] = adj[k].head;
          }
    }
  return FALSE;
}

/* Replaces infinite capacities by a finite stand-in (see the top), or
 * returns FALSE when the flow is infinite. */
static gboolean
remove_infinities (CleaveMaxflow *mf,
                   guint32       *queue)
{
  gsize n_slots = 2 * mf->n_edges;
  double *r = mf->r;
  double sum = 0, big;
  gboolean any = FALSE;

  for (gsize s = 0; s < n_slots; s++)
    {
      if (isinf (r[s]))
        any = TRUE;
      else
        sum += r[s];
    }
  for (guint32 u = 0; u < mf->n_nodes; u++)
    {
      if (isinf (mf->nodes[u].tr))
        any = TRUE;
      else
        sum += fabs (mf->nodes[u].tr);
    }
  if (!any)
    return TRUE;

  {
    g_autofree guint8 *seen = g_new0 (guint8, MAX (mf->n_nodes, 1));

    if (infinite_path (mf, queue, seen))
      return FALSE;
  }

  /* Sums near DBL_MAX would not leave room; such graphs are beyond any
   * use of this stage, and saturate to a stand-in that still works for
   * the cuts that matter only approximately. */
  big = 2 * sum + 1;
  if (isinf (big))
    big = G_MAXDOUBLE;
  for (gsize s = 0; s < n_slots; s++)
    if (isinf (r[s]))
      r[s] = big;
  for (guint32 u = 0; u < mf->n_nodes; u++)
    if (isinf (mf->nodes[u].tr))
      mf->nodes[u].tr = copysign (big, mf->nodes[u].tr);
  return TRUE;
}

void
_cleave_maxflow_push_relabel (CleaveMaxflow *mf)
{
  guint32 n = mf->n_nodes;
  const double *r;
  const Adj *adj = mf->adj;
  const guint32 *first = mf->first;
  g_autofree guint32 *queue = g_new (guint32, MAX (n, 1));
  PR pr = { 0 };

  if (!remove_infinities (mf, queue))
    {
      mf->flow = INFINITY;
      return;
    }
  r = mf->r;

  pr.unreached = n + 1;
  pr.p = g_new (PNode, MAX (n, 1));
  pr.label = g_new (guint32, MAX (n, 1));
  pr.active = g_new (guint32, (gsize) n + 2);
  pr.inactive = g_new (guint32, (gsize) n + 2);
  pr.dmax = n + 1;
  pr.work_limit = 2 * (6 * (gsize) n + first[n]);

  for (guint32 u = 0; u < n; u++)
    {
      PNode *pu = &pr.p[u];
      double tr = mf->nodes[u].tr;

      pu->excess = 0;
      pu->tr = MAX (tr, 0);
      if (tr < 0)
        {
          double out = 0;

          for (guint32 k = first[u]; k < first[u + 1]; k++)
            out += r[adj[k].slot ^ 1];
          /* Twice: an exact bound would tie the cut through the
           * link with the one around the node, and rounding would
           * pick either. */
          pu->excess = MIN (-tr, 2 * out);
        }
    }

  global_relabel (mf, &pr, queue);
  for (;;)
    {
      guint32 u;

      while (pr.amax > 0 && pr.active[pr.amax] == NO_NODE)
        pr.amax--;
      if (pr.amax == 0)
        break;
      u = pr.active[pr.amax];
      pr.active[pr.amax] = pr.p[u].next;
      discharge (mf, &pr, u);
      if (pr.work > pr.work_limit)
        global_relabel (mf, &pr, queue);
    }

  /* The source side: what the source reaches, i.e. labelled after one
   * more search. */
  global_relabel (mf, &pr, queue);
  for (guint32 u = 0; u < n; u++)
    {
      Node *nu = &mf->nodes[u];

      nu->is_sink = FALSE;
      nu->parent = pr.label[u] < pr.unreached ? PARENT_TERMINAL : PARENT_FREE;
      nu->tr = pr.p[u].tr;
    }
  mf->flow += pr.flow;

  g_free (pr.p);
  g_free (pr.label);
  g_free (pr.active);
  g_free (pr.inactive);
}
