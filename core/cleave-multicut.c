/* cleave-multicut.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-multicut"

#include "cleave-multicut.h"

#include <math.h>
#include <string.h>

#include "algo/cleave-maxflow.h"
#include "cleave-edit-private.h"
#include "cleave-fault.h"
#include "cleave-graph-private.h"
#include "cleave-queue.h"
#include "cleave-sv-split.h"
#include "cleave-node-id.h"
#include "cleave-util.h"

#define PATH_EPS 1e-6

void
cleave_multicut_result_clear (CleaveMulticutResult *r)
{
  g_clear_pointer (&r->removed, g_array_unref);
  g_clear_pointer (&r->source_svs, g_array_unref);
  g_clear_pointer (&r->sink_svs, g_array_unref);
  g_clear_pointer (&r->sv_remap, g_array_unref);
  memset (r, 0, sizeof *r);
}

#define precondition(error, ...) _cleave_edit_fail ((error), CLEAVE_EDIT_ERROR_PRECONDITION, __VA_ARGS__)

static int
cmp_edge (gconstpointer a,
          gconstpointer b)
{
  const EdgeChange *x = a, *y = b;
  return x->a != y->a ? (x->a < y->a ? -1 : 1) : (x->b < y->b ? -1 : x->b > y->b);
}

/* A supervoxel's chunk box, to test it against the local box. */
static gboolean
sv_in_box (CleaveGraph  *g,
           guint64       sv,
           const gint64  lo[3],
           const gint64  hi[3])
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  guint64 c[3];

  cleave_node_id_chunk (sv, cleave_graph_chunk_bits (g, 1), c);
  for (guint k = 0; k < 3; k++)
    {
      gint64 a = m->voxel_offset[k] + (gint64) c[k] * m->chunk[k], b = a + m->chunk[k];
      if (b <= lo[k] || a >= hi[k])
        return FALSE;
    }
  return TRUE;
}

typedef struct
{
  guint   to;
  double  cap;
  gsize   edge;    /* index in the maxflow's edge list */
} Arc;

/* Marks the edges of a cheapest path (1 / affinity) from @from to each
 * other seed of the same team, avoiding @blocked nodes, as uncuttable. */
static void
augment_paths (GArray       **adj,
               guint          n,
               const guint   *seeds,
               guint          n_seeds,
               const gboolean *blocked,
               gboolean      *uncuttable_edge,
               gboolean      *on_path)
{
  g_autofree double *dist = g_new (double, n);
  g_autofree guint *prev = g_new (guint, n);
  g_autofree gsize *prev_edge = g_new (gsize, n);
  g_autofree gboolean *done = g_new0 (gboolean, n);

  if (n_seeds < 2)
    {
      for (guint i = 0; i < n_seeds; i++)
        on_path[seeds[i]] = TRUE;
      return;
    }
  for (guint i = 0; i < n; i++)
    {
      dist[i] = INFINITY;
      prev[i] = G_MAXUINT;
    }
  dist[seeds[0]] = 0;
  /* Dijkstra with a linear scan: local subgraphs are small. */
  for (;;)
    {
      guint u = G_MAXUINT;
      double best = INFINITY;

      for (guint i = 0; i < n; i++)
        if (!done[i] && dist[i] < best)
          {
            best = dist[i];
            u = i;
          }
      if (u == G_MAXUINT)
        break;
      done[u] = TRUE;
      for (guint k = 0; k < adj[u]->len; k++)
        {
          const Arc *a = &g_array_index (adj[u], Arc, k);
          double d = dist[u] + 1.0 / (a->cap + PATH_EPS);

          if (blocked[a->to] || d >= dist[a->to])
            continue;
          dist[a->to] = d;
          prev[a->to] = u;
          prev_edge[a->to] = a->edge;
        }
    }
  on_path[seeds[0]] = TRUE;
  for (guint i = 1; i < n_seeds; i++)
    for (guint v = seeds[i]; v != seeds[0] && prev[v] != G_MAXUINT; v = prev[v])
      {
        on_path[v] = TRUE;
        uncuttable_edge[prev_edge[v]] = TRUE;
      }
}

/* cleave_multicut_compute; with @problem, stops before solving and hands
 * out the max-flow problem instead (cleave_multicut_build_flow_problem). */
static gboolean
multicut_compute (CleaveGraph          *g,
                  const guint64        *sources,
                  const gint64         *source_xyz,
                  guint                 n_src,
                  const guint64        *sinks,
                  const gint64         *sink_xyz,
                  guint                 n_snk,
                  gboolean              preview,
                  CleaveMulticutResult *r,
                  CleaveMaxflow       **problem,
                  GError              **error)
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  g_autoptr(GArray) seeds = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) local = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GHashTable) index = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) chunks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) all_edges = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GArray) chunk_list = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) edges = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  g_autoptr(GPtrArray) adj = NULL;
  gsize n_arcs = 0;
  g_autofree guint64 *roots = NULL;
  g_autofree guint *p = NULL;
  g_autofree guint *rep_index = NULL;
  g_autofree gboolean *in_comp = NULL;
  g_autofree gboolean *blocked = NULL;
  g_autofree gboolean *uncuttable = NULL;
  g_autofree gboolean *on_src_path = NULL;
  g_autofree gboolean *on_snk_path = NULL;
  g_autofree guint *src_seed = NULL;
  g_autofree guint *snk_seed = NULL;
  gint64 lo[3], hi[3];
  guint n, n_reps = 0;
  double finite = 0, big, flow;
  GHashTableIter it;
  gpointer k, v;

  memset (r, 0, sizeof *r);
  if (n_src == 0 || n_snk == 0)
    return precondition (error, "a split needs at least one source and one sink point");
  for (guint i = 0; i < n_src; i++)
    {
      if (sources[i] == 0)
        return precondition (error, "source point %u is on background; click inside the object", i + 1);
      g_array_append_val (seeds, sources[i]);
    }
  for (guint j = 0; j < n_snk; j++)
    {
      if (sinks[j] == 0)
        return precondition (error, "sink point %u is on background; click inside the object", j + 1);
      g_array_append_val (seeds, sinks[j]);
    }
  roots = g_new (guint64, seeds->len);
  if (!cleave_graph_get_roots (g, (guint64 *) seeds->data, seeds->len, CLEAVE_GRAPH_LATEST, roots, error))
    return FALSE;
  for (guint i = 1; i < seeds->len; i++)
    if (roots[i] != roots[0])
      return precondition (error, "the points are in different objects (%" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT
                           "); a split works inside one object", roots[0], roots[i]);

  /* The local box: the points, plus the offset, inside the volume. */
  for (guint d = 0; d < 3; d++)
    {
      gint64 off = d == 2 ? CLEAVE_MULTICUT_BBOX_OFFSET_Z : CLEAVE_MULTICUT_BBOX_OFFSET_XY;

      lo[d] = G_MAXINT64;
      hi[d] = G_MININT64;
      for (guint i = 0; i < n_src; i++)
        {
          lo[d] = MIN (lo[d], source_xyz[3 * i + d]);
          hi[d] = MAX (hi[d], source_xyz[3 * i + d] + 1);
        }
      for (guint j = 0; j < n_snk; j++)
        {
          lo[d] = MIN (lo[d], sink_xyz[3 * j + d]);
          hi[d] = MAX (hi[d], sink_xyz[3 * j + d] + 1);
        }
      lo[d] = MAX (lo[d] - off, m->voxel_offset[d]);
      hi[d] = MIN (hi[d] + off, m->voxel_offset[d] + m->size[d]);
    }

  /* The object's supervoxels in the box, and their joining edges. */
  if (!cleave_graph_get_leaves (g, roots[0], CLEAVE_GRAPH_LATEST, leaves, error))
    return FALSE;
  g_array_sort (leaves, cleave_cmp_u64);
  for (guint i = 0; i < leaves->len; i++)
    {
      guint64 sv = g_array_index (leaves, guint64, i);
      gboolean seed = FALSE;

      for (guint s = 0; s < seeds->len; s++)
        seed |= g_array_index (seeds, guint64, s) == sv;
      if (seed || sv_in_box (g, sv, lo, hi))
        g_array_append_val (local, sv);
    }
  for (guint i = 0; i < local->len; i++)
    {
      guint64 c = _cleave_graph_chunk_on_layer (g, g_array_index (local, guint64, i), 2);

      g_hash_table_insert (index, &g_array_index (local, guint64, i), GUINT_TO_POINTER (i + 1));
      if (g_hash_table_add (chunks, g_memdup2 (&c, 8)))
        g_array_append_val (chunk_list, c);
    }
  if (!_cleave_graph_chunks_edges (g, (guint64 *) chunk_list->data, chunk_list->len, all_edges, error))
    return FALSE;
  g_hash_table_iter_init (&it, all_edges);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EdgeChange *e = v;

      if (e->active && g_hash_table_contains (index, &e->a) && g_hash_table_contains (index, &e->b))
        g_array_append_val (edges, *e);
    }
  if (edges->len == 0)
    return precondition (error, "no local edges found around the points");
  /* Hash order is arbitrary: sort, so the same input gives the same cut. */
  g_array_sort (edges, cmp_edge);

  /* One physical supervoxel across chunk faces is one node. */
  n = local->len;
  p = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    p[i] = i;
  for (guint e = 0; e < edges->len; e++)
    {
      const EdgeChange *ed = &g_array_index (edges, EdgeChange, e);
      if (isinf (ed->affinity))
        cleave_uf_union (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->a)) - 1,
               GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->b)) - 1);
    }
  /* A seed looked up before the root lock may have been replaced since
   * by another op's split of its supervoxel: it is then in no local
   * subgraph of the root. */
  for (guint i = 0; i < n_src + n_snk; i++)
    {
      guint64 sv = i < n_src ? sources[i] : sinks[i - n_src];

      if (g_hash_table_lookup (index, &sv) == NULL)
        return precondition (error, "supervoxel %" G_GUINT64_FORMAT " at a %s point is no longer part of the object "
                             "(another edit changed it meanwhile); try the split again",
                             sv, i < n_src ? "source" : "sink");
    }
  src_seed = g_new (guint, n_src);
  snk_seed = g_new (guint, n_snk);
  for (guint i = 0; i < n_src; i++)
    src_seed[i] = cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &sources[i])) - 1);
  for (guint j = 0; j < n_snk; j++)
    snk_seed[j] = cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &sinks[j])) - 1);
  for (guint i = 0; i < n_src; i++)
    for (guint j = 0; j < n_snk; j++)
      if (src_seed[i] == snk_seed[j])
        {
          /* The cut must go through a supervoxel (the same id on both
           * sides, or one physical supervoxel across chunk faces): say
           * which, with the map from each piece to its representative. */
          r->kind = CLEAVE_MULTICUT_SV_SPLIT_REQUIRED;
          r->sv_remap = g_array_new (FALSE, FALSE, sizeof (guint64));
          /* Every local supervoxel with its representative: each source
           * and sink may share one with the other team. */
          for (guint q = 0; q < n; q++)
              {
                g_array_append_val (r->sv_remap, g_array_index (local, guint64, q));
                g_array_append_val (r->sv_remap, g_array_index (local, guint64, cleave_uf_find (p, q)));
              }
          return TRUE;
        }

  /* Compact representatives; keep the component holding the seeds. */
  rep_index = g_new (guint, n);
  for (guint i = 0; i < n; i++)
    rep_index[i] = G_MAXUINT;
  for (guint i = 0; i < n; i++)
    if (cleave_uf_find (p, i) == i)
      rep_index[i] = n_reps++;
  {
    g_autofree guint *cp = g_new (guint, n_reps);

    for (guint i = 0; i < n_reps; i++)
      cp[i] = i;
    for (guint e = 0; e < edges->len; e++)
      {
        const EdgeChange *ed = &g_array_index (edges, EdgeChange, e);
        guint a = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->a)) - 1)];
        guint b = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->b)) - 1)];
        cleave_uf_union (cp, a, b);
      }
    in_comp = g_new0 (gboolean, n_reps);
    for (guint i = 0; i < n_src; i++)
      for (guint j = 0; j < n_snk; j++)
        if (cleave_uf_find (cp, rep_index[src_seed[i]]) != cleave_uf_find (cp, rep_index[snk_seed[j]]))
          return precondition (error, "source %u and sink %u are not connected inside the box around the points; "
                               "they may be apart already, or joined only far away", i + 1, j + 1);
    for (guint q = 0; q < n_reps; q++)
      in_comp[q] = cleave_uf_find (cp, q) == cleave_uf_find (cp, rep_index[src_seed[0]]);
  }

  /* The flow graph over representatives in the component. */
  adj = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  for (guint q = 0; q < n_reps; q++)
    g_ptr_array_add (adj, g_array_new (FALSE, FALSE, sizeof (Arc)));
  for (guint e = 0; e < edges->len; e++)
    {
      const EdgeChange *ed = &g_array_index (edges, EdgeChange, e);
      guint a = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->a)) - 1)];
      guint b = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->b)) - 1)];
      Arc arc;

      if (a == b || !in_comp[a] || isinf (ed->affinity))
        continue;
      finite += MAX (ed->affinity, 0);
      arc.cap = MAX (ed->affinity, 0);
      arc.edge = n_arcs++;   /* capacities are known once the paths are */
      arc.to = b;
      g_array_append_val (adj->pdata[a], arc);
      arc.to = a;
      g_array_append_val (adj->pdata[b], arc);
    }
  big = finite + 1;

  /* Paths inside each team are not cut (the reference's path
   * augmentation): without them the cheapest cut often just isolates a seed. */
  {
    gsize n_mf_edges = n_arcs;
    g_autofree guint *ss = g_new (guint, n_src);
    g_autofree guint *ks = g_new (guint, n_snk);
    g_autoptr(CleaveMaxflow) flow_graph = cleave_maxflow_new (n_reps, n_mf_edges);

    blocked = g_new0 (gboolean, n_reps);
    uncuttable = g_new0 (gboolean, MAX (n_mf_edges, 1));
    on_src_path = g_new0 (gboolean, n_reps);
    on_snk_path = g_new0 (gboolean, n_reps);
    for (guint i = 0; i < n_src; i++)
      ss[i] = rep_index[src_seed[i]];
    for (guint j = 0; j < n_snk; j++)
      ks[j] = rep_index[snk_seed[j]];
    for (guint j = 0; j < n_snk; j++)
      blocked[ks[j]] = TRUE;
    augment_paths ((GArray **) adj->pdata, n_reps, ss, n_src, blocked, uncuttable, on_src_path);
    memset (blocked, 0, n_reps * sizeof *blocked);
    for (guint i = 0; i < n_reps; i++)
      blocked[i] = on_src_path[i];
    augment_paths ((GArray **) adj->pdata, n_reps, ks, n_snk, blocked, uncuttable, on_snk_path);

    /* The real flow graph, with the capacities now known. */
    for (guint a = 0; a < n_reps; a++)
      for (guint q = 0; q < ((GArray *) adj->pdata[a])->len; q++)
        {
          const Arc *arc = &g_array_index ((GArray *) adj->pdata[a], Arc, q);
          double c = uncuttable[arc->edge] ? big : arc->cap;

          if (a < arc->to || (a == arc->to))
            cleave_maxflow_add_edge (flow_graph, a, arc->to, c, c);
        }
    for (guint i = 0; i < n_src; i++)
      cleave_maxflow_add_terminal (flow_graph, ss[i], big, 0);
    for (guint j = 0; j < n_snk; j++)
      cleave_maxflow_add_terminal (flow_graph, ks[j], 0, big);
    if (problem != NULL)
      {
        *problem = g_steal_pointer (&flow_graph);
        return TRUE;
      }
    flow = cleave_maxflow_solve (flow_graph);
    if (flow >= big)
      return precondition (error, "the sources and the sinks cannot be separated without cutting the paths "
                           "that join each side; place the points further apart");
    r->cut_value = flow;

    /* Sides, and whether the cut merely isolates the points. */
    r->source_svs = g_array_new (FALSE, FALSE, sizeof (guint64));
    r->sink_svs = g_array_new (FALSE, FALSE, sizeof (guint64));
    {
      gboolean src_only_labelled = TRUE, snk_only_labelled = TRUE;

      for (guint q = 0; q < n_reps; q++)
        {
          if (!in_comp[q])
            continue;
          if (cleave_maxflow_is_source_side (flow_graph, q))
            src_only_labelled &= on_src_path[q];
          else
            snk_only_labelled &= on_snk_path[q];
        }
      r->illegal = src_only_labelled || snk_only_labelled;
    }
    for (guint i = 0; i < n; i++)
      {
        guint q = rep_index[cleave_uf_find (p, i)];

        if (!in_comp[q])
          continue;
        g_array_append_val (cleave_maxflow_is_source_side (flow_graph, q) ? r->source_svs : r->sink_svs,
                            g_array_index (local, guint64, i));
      }
    if (preview)
      {
        r->kind = CLEAVE_MULTICUT_PREVIEW;
        return TRUE;
      }
    if (r->illegal)
      {
        cleave_multicut_result_clear (r);
        return precondition (error, "the cheapest cut would only cut off the points themselves; add more source "
                             "and sink points along each part, or place them further from the boundary");
      }
    r->kind = CLEAVE_MULTICUT_CUT;
    r->removed = g_array_new (FALSE, FALSE, sizeof (guint64));
    for (guint e = 0; e < edges->len; e++)
      {
        const EdgeChange *ed = &g_array_index (edges, EdgeChange, e);
        guint a = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->a)) - 1)];
        guint b = rep_index[cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, &ed->b)) - 1)];

        if (a != b && in_comp[a] &&
            cleave_maxflow_is_source_side (flow_graph, a) != cleave_maxflow_is_source_side (flow_graph, b))
          {
            g_array_append_val (r->removed, ed->a);
            g_array_append_val (r->removed, ed->b);
          }
      }
  }
  return TRUE;
}

gboolean
cleave_multicut_compute (CleaveGraph          *g,
                         const guint64        *sources,
                         const gint64         *source_xyz,
                         guint                 n_src,
                         const guint64        *sinks,
                         const gint64         *sink_xyz,
                         guint                 n_snk,
                         gboolean              preview,
                         CleaveMulticutResult *r,
                         GError              **error)
{
  gboolean began, ok;

  if (!_cleave_edit_read_begin (g, &began, error))
    return FALSE;
  ok = multicut_compute (g, sources, source_xyz, n_src, sinks, sink_xyz, n_snk, preview, r, NULL, error);
  _cleave_edit_read_end (g, began);
  return ok;
}

/* Whether the object, all of it, still joins a source and a sink once
 * @removed are gone: a cut inside the box can be bridged outside it. */
static gboolean
still_joined (CleaveGraph   *g,
              guint64        root,
              const guint64 *source,
              const guint64 *sink,
              GArray        *removed,
              gboolean      *joined,
              GError       **error)
{
  g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GHashTable) index = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) chunks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) edges = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GArray) chunk_list = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint *p = NULL;
  GHashTableIter it;
  gpointer k, v;

  if (!cleave_graph_get_leaves (g, root, CLEAVE_GRAPH_LATEST, leaves, error))
    return FALSE;
  p = g_new (guint, leaves->len);
  for (guint i = 0; i < leaves->len; i++)
    {
      guint64 c = _cleave_graph_chunk_on_layer (g, g_array_index (leaves, guint64, i), 2);

      p[i] = i;
      g_hash_table_insert (index, &g_array_index (leaves, guint64, i), GUINT_TO_POINTER (i + 1));
      if (g_hash_table_add (chunks, g_memdup2 (&c, 8)))
        g_array_append_val (chunk_list, c);
    }
  if (!_cleave_graph_chunks_edges (g, (guint64 *) chunk_list->data, chunk_list->len, edges, error))
    return FALSE;
  for (guint i = 0; i + 1 < removed->len; i += 2)
    {
      guint64 key[2] = { MIN (g_array_index (removed, guint64, i), g_array_index (removed, guint64, i + 1)),
                         MAX (g_array_index (removed, guint64, i), g_array_index (removed, guint64, i + 1)) };
      g_hash_table_remove (edges, key);
    }
  g_hash_table_iter_init (&it, edges);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EdgeChange *e = v;
      guint a = GPOINTER_TO_UINT (g_hash_table_lookup (index, &e->a)), b = GPOINTER_TO_UINT (g_hash_table_lookup (index, &e->b));

      if (e->active && a && b)
        cleave_uf_union (p, a - 1, b - 1);
    }
  *joined = cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, source)) - 1) ==
            cleave_uf_find (p, GPOINTER_TO_UINT (g_hash_table_lookup (index, sink)) - 1);
  return TRUE;
}

typedef struct
{
  CleaveVolume         *seg;
  guint64              *sources;
  const gint64         *source_xyz;
  guint                 n_src;
  guint64              *sinks;
  const gint64         *sink_xyz;
  guint                 n_snk;
  CleaveMulticutResult *cut;
  CleaveSplitReport    *report;
} SplitApply;

/* The multicut, under the op's root lock (shared spec/reference-pcg.md §2
 * step 2): a cut goes straight to its edges; a cut that must pass through
 * a supervoxel splits it first (durably), then cuts again on the fresh ids. */
static gboolean
split_apply (CleaveGraph *g,
             CleaveExec  *x,
             gpointer     data,
             GArray      *changes,
             GError     **error)
{
  SplitApply *a = data;
  CleaveSplitReport *rep = a->report;
  gint64 clock = cleave_now_ns ();
  gboolean joined = FALSE, began, read_ok;
  guint64 root;

  cleave_multicut_result_clear (a->cut);
  if (!cleave_multicut_compute (g, a->sources, a->source_xyz, a->n_src, a->sinks, a->sink_xyz, a->n_snk, FALSE,
                                a->cut, error))
    return FALSE;
  rep->stage_ms[CLEAVE_SPLIT_STAGE_MULTICUT] += _cleave_edit_ms_since (&clock);
  if (a->cut->kind == CLEAVE_MULTICUT_SV_SPLIT_REQUIRED)
    {
      CleaveSvSplitTimings t = { 0 };
      g_autoptr(GArray) remap = g_steal_pointer (&a->cut->sv_remap);
      gboolean ok = _cleave_sv_split_run (g, x, a->seg, remap, a->sources, a->source_xyz, a->n_src, a->sinks,
                                          a->sink_xyz, a->n_snk, rep->seg_bboxes, &t, error);

      rep->stage_ms[CLEAVE_SPLIT_STAGE_PLAN] += t.plan_ms;
      rep->stage_ms[CLEAVE_SPLIT_STAGE_LOCK] += t.lock_ms;
      rep->stage_ms[CLEAVE_SPLIT_STAGE_SV_SPLIT] += t.compute_ms;
      rep->stage_ms[CLEAVE_SPLIT_STAGE_SEG_WRITE] += t.seg_write_ms;
      rep->stage_ms[CLEAVE_SPLIT_STAGE_GRAPH_WRITE] += t.graph_write_ms;
      if (!ok)
        return FALSE;
      rep->sv_split = TRUE;
      clock = cleave_now_ns ();
      cleave_fault_point ("svsplit-before-retry");
      /* The split is durable whatever the retry says (invariant 14). */
      cleave_multicut_result_clear (a->cut);
      if (!cleave_multicut_compute (g, a->sources, a->source_xyz, a->n_src, a->sinks, a->sink_xyz, a->n_snk, FALSE,
                                    a->cut, error))
        return FALSE;
      rep->stage_ms[CLEAVE_SPLIT_STAGE_RETRY] += _cleave_edit_ms_since (&clock);
      if (a->cut->kind == CLEAVE_MULTICUT_SV_SPLIT_REQUIRED)
        return precondition (error, "the supervoxel split succeeded but source and sink remain connected; "
                             "place source and sink farther apart");
    }
  if (a->cut->removed == NULL || a->cut->removed->len == 0)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_POSTCONDITION,
                   "the multicut could not find any edges to remove");
      return FALSE;
    }
  if (!_cleave_edit_read_begin (g, &began, error))
    return FALSE;
  read_ok = cleave_graph_get_roots (g, a->sources, 1, CLEAVE_GRAPH_LATEST, &root, error) &&
            still_joined (g, root, &a->sources[0], &a->sinks[0], a->cut->removed, &joined, error);
  _cleave_edit_read_end (g, began);
  if (!read_ok)
    return FALSE;
  if (joined)
    return precondition (error, "the object stays joined around the box the cut was made in; place points "
                         "closer to where it should come apart");
  return _cleave_edit_removal_changes (g, (guint64 *) a->cut->removed->data, a->cut->removed->len / 2, changes, error);
}

void
cleave_split_report_clear (CleaveSplitReport *report)
{
  g_clear_pointer (&report->seg_bboxes, g_array_unref);
  memset (report, 0, sizeof *report);
}

const char *
cleave_split_stage_name (CleaveSplitStage stage)
{
  static const char *names[] = { "check", "root lock", "multicut", "plan", "chunk lock", "split compute",
                                 "seg write", "graph write", "retry multicut", "commit" };

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == CLEAVE_SPLIT_N_STAGES);
  return stage < G_N_ELEMENTS (names) ? names[stage] : "?";
}

static char *
split_inputs (const guint64 *sources,
              const gint64  *source_xyz,
              guint          n_src,
              const guint64 *sinks,
              const gint64  *sink_xyz,
              guint          n_snk)
{
  GString *inputs = g_string_new ("{\"sources\": [");

  for (guint i = 0; i < n_src; i++)
    g_string_append_printf (inputs, "%s{\"sv\": %" G_GUINT64_FORMAT ", \"xyz\": [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                            ", %" G_GINT64_FORMAT "]}", i ? ", " : "", sources[i], source_xyz[3 * i],
                            source_xyz[3 * i + 1], source_xyz[3 * i + 2]);
  g_string_append (inputs, "], \"sinks\": [");
  for (guint j = 0; j < n_snk; j++)
    g_string_append_printf (inputs, "%s{\"sv\": %" G_GUINT64_FORMAT ", \"xyz\": [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                            ", %" G_GINT64_FORMAT "]}", j ? ", " : "", sinks[j], sink_xyz[3 * j],
                            sink_xyz[3 * j + 1], sink_xyz[3 * j + 2]);
  g_string_append_printf (inputs, "], \"bbox_offset\": [%d, %d, %d]}", CLEAVE_MULTICUT_BBOX_OFFSET_XY,
                          CLEAVE_MULTICUT_BBOX_OFFSET_XY, CLEAVE_MULTICUT_BBOX_OFFSET_Z);
  return g_string_free (inputs, FALSE);
}

gboolean
cleave_edit_split (CleaveGraph          *g,
                   CleaveVolume         *seg,
                   const gint64         *source_xyz,
                   guint                 n_src,
                   const gint64         *sink_xyz,
                   guint                 n_snk,
                   gboolean              preview,
                   const char           *user,
                   CleaveMulticutResult *cut,
                   CleaveSplitReport    *report,
                   CleaveEditResult     *result,
                   GError              **error)
{
  return _cleave_edit_split_run (g, seg, source_xyz, n_src, sink_xyz, n_snk, preview, user, 0, cut, report, result,
                                 error);
}

gboolean
_cleave_edit_split_run (CleaveGraph          *g,
                        CleaveVolume         *seg,
                        const gint64         *source_xyz,
                        guint                 n_src,
                        const gint64         *sink_xyz,
                        guint                 n_snk,
                        gboolean              preview,
                        const char           *user,
                        guint64               replay_op,
                        CleaveMulticutResult *cut,
                        CleaveSplitReport    *report,
                        CleaveEditResult     *result,
                        GError              **error)
{
  g_autofree guint64 *sources = g_new (guint64, MAX (n_src, 1));
  g_autofree guint64 *sinks = g_new (guint64, MAX (n_snk, 1));
  g_autofree guint64 *svs = g_new (guint64, n_src + n_snk + 1);
  g_autofree char *inputs = NULL;
  SplitApply apply = { seg, sources, source_xyz, n_src, sinks, sink_xyz, n_snk, cut, report };
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  CleaveOpSpec spec = { "split", user, NULL, 0, 0 };
  gint64 clock = cleave_now_ns ();
  gboolean ok;

  memset (result, 0, sizeof *result);
  memset (report, 0, sizeof *report);
  report->seg_bboxes = g_array_new (FALSE, FALSE, sizeof (gint64));
  /* The ids come from the segmentation at the points, now: a stale id
   * from an earlier look cannot mislead the split. */
  if (!cleave_volume_lookup (seg, 0, source_xyz, n_src, sources, error) ||
      !cleave_volume_lookup (seg, 0, sink_xyz, n_snk, sinks, error))
    return FALSE;
  if (preview)
    {
      /* Nothing is written; a cut through a supervoxel comes back as
       * CLEAVE_MULTICUT_SV_SPLIT_REQUIRED for the caller to show. */
      return cleave_multicut_compute (g, sources, source_xyz, n_src, sinks, sink_xyz, n_snk, TRUE, cut, error);
    }
  /* A quick check before any op is made, so a plain mistake (points in
   * two objects, on background) is refused without an op row. */
  if (!cleave_multicut_compute (g, sources, source_xyz, n_src, sinks, sink_xyz, n_snk, TRUE, cut, error))
    return FALSE;
  cleave_multicut_result_clear (cut);

  memcpy (svs, sources, n_src * 8);
  memcpy (svs + n_src, sinks, n_snk * 8);
  inputs = split_inputs (sources, source_xyz, n_src, sinks, sink_xyz, n_snk);
  spec.inputs = inputs;
  spec.svs = svs;
  spec.n_svs = n_src + n_snk;
  spec.apply = split_apply;
  spec.apply_data = &apply;
  spec.replay_op = replay_op;
  spec.started = clock;
  ok = _cleave_edit_execute (g, &spec, changes, result, error);
  report->stage_ms[CLEAVE_SPLIT_STAGE_CHECK] = result->stage_ms[CLEAVE_EDIT_STAGE_CHECK];
  report->stage_ms[CLEAVE_SPLIT_STAGE_ROOT_LOCK] = result->stage_ms[CLEAVE_EDIT_STAGE_LOCK];
  /* A supervoxel split is durable even when the cut after it failed
   * (invariant 14): its boxes go to the downsample worker either way. */
  if (report->seg_bboxes->len > 0)
    {
      g_autoptr(GError) queue_error = NULL;

      if (!cleave_queue_enqueue (g, result->op_id, (gint64 *) report->seg_bboxes->data, report->seg_bboxes->len / 6,
                                 &queue_error))
        g_warning ("op %" G_GUINT64_FORMAT ": the coarser mips were not queued for downsampling: %s",
                   result->op_id, queue_error->message);
    }
  /* What the call spent beyond the stages above: execute's persist and
   * finish, and the downsampling queue. */
  {
    double total = _cleave_edit_ms_since (&clock), staged = 0;

    for (guint s = 0; s < CLEAVE_SPLIT_STAGE_COMMIT; s++)
      staged += report->stage_ms[s];
    report->stage_ms[CLEAVE_SPLIT_STAGE_COMMIT] = MAX (0, total - staged);
  }
  return ok;
}

CleaveMaxflow *
cleave_multicut_build_flow_problem (CleaveGraph   *g,
                                    const guint64 *sources,
                                    const gint64  *source_xyz,
                                    guint          n_src,
                                    const guint64 *sinks,
                                    const gint64  *sink_xyz,
                                    guint          n_snk,
                                    GError       **error)
{
  g_auto(CleaveMulticutResult) r = { 0 };
  CleaveMaxflow *problem = NULL;
  gboolean began, ok;

  if (!_cleave_edit_read_begin (g, &began, error))
    return NULL;
  ok = multicut_compute (g, sources, source_xyz, n_src, sinks, sink_xyz, n_snk, TRUE, &r, &problem, error);
  _cleave_edit_read_end (g, began);
  if (!ok)
    return NULL;
  if (problem == NULL)
    precondition (error, "a source and a sink are in one physical supervoxel: there is no flow problem to build");
  return problem;
}
