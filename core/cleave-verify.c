/* cleave-verify.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-verify"

#include "cleave-verify.h"

#include <string.h>

#include "cleave-graph-private.h"
#include "cleave-node-id.h"
#include "cleave-parallel.h"
#include "cleave-util.h"

typedef struct
{
  CleaveVerifyProblem  func;
  gpointer             user_data;
  CleaveVerifyStats   *stats;
} Report;

static void
report (Report     *r,
        const char *format,
        ...) G_GNUC_PRINTF (2, 3);

static void
report (Report     *r,
        const char *format,
        ...)
{
  g_autofree char *msg = NULL;
  va_list args;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  r->stats->problems++;
  if (r->func)
    r->func (msg, r->user_data);
}

/* The supervoxels of the graph now: every layer-1 node but those a
 * supervoxel split replaced (they have a new identity). */
static GArray *
graph_supervoxels (CleaveGraph *g,
                   GError     **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT DISTINCT node FROM parent WHERE node >= ?1 AND node < ?2 AND node NOT IN "
                                              "(SELECT node FROM lineage WHERE kind = 2 AND node >= ?1 AND node < ?2) "
                                              "ORDER BY node", error);
  GArray *out;

  if (stmt == NULL)
    return NULL;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) (G_GUINT64_CONSTANT (1) << 56));
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) (G_GUINT64_CONSTANT (2) << 56));
  out = g_array_new (FALSE, FALSE, sizeof (guint64));
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      guint64 sv = (guint64) sqlite3_column_int64 (stmt, 0);
      g_array_append_val (out, sv);
    }
  sqlite3_finalize (stmt);
  return out;
}

/* Whether an L2 node's supervoxels are one connected piece of its chunk. */
static gboolean
check_l2 (CleaveGraph *g,
          guint64      node,
          GArray      *svs,
          Report      *r,
          GError     **error)
{
  g_autoptr(GHashTable) edges = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GHashTable) index = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autofree guint *p = g_new (guint, MAX (svs->len, 1));
  guint64 chunk = _cleave_graph_chunk_on_layer (g, node, 2);
  guint pieces = svs->len;
  GHashTableIter it;
  gpointer k, v;

  for (guint i = 0; i < svs->len; i++)
    {
      guint64 sv = g_array_index (svs, guint64, i);

      p[i] = i;
      g_hash_table_insert (index, &g_array_index (svs, guint64, i), GUINT_TO_POINTER (i + 1));
      if (_cleave_graph_chunk_on_layer (g, sv, 2) != chunk)
        report (r, "layer-2 node %" G_GUINT64_FORMAT " holds supervoxel %" G_GUINT64_FORMAT " of another chunk", node, sv);
    }
  if (!_cleave_graph_chunk_edges (g, chunk, edges, error))
    return FALSE;
  g_hash_table_iter_init (&it, edges);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      const EdgeChange *e = v;
      guint a = GPOINTER_TO_UINT (g_hash_table_lookup (index, &e->a)), b = GPOINTER_TO_UINT (g_hash_table_lookup (index, &e->b));

      if (!e->active || !a || !b)
        continue;
      if (cleave_uf_union (p, a - 1, b - 1))
        pieces--;
    }
  if (pieces != 1)
    report (r, "layer-2 node %" G_GUINT64_FORMAT " is %u disconnected pieces, not one", node, pieces);
  return TRUE;
}

typedef struct
{
  CleaveVolume *seg;
  gint64        grid[3];
  GHashTable  **ids;     /* per chunk: the labels in it */
} Scan;

static gboolean
scan_chunk (gsize     i,
            gpointer  user_data,
            GError  **error)
{
  Scan *s = user_data;
  gint64 g[3] = { i % s->grid[0], i / s->grid[0] % s->grid[1], i / s->grid[0] / s->grid[1] };
  g_autoptr(CleaveCacheEntry) entry = NULL;
  const guint64 *v;
  gsize n;

  s->ids[i] = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  if (!cleave_volume_get_chunk (s->seg, 0, g, &entry, error))
    return FALSE;
  if (entry == NULL)
    return TRUE;
  v = entry->value;
  n = entry->size / 8;
  for (gsize k = 0; k < n; k++)
    if (v[k] != 0 && (k == 0 || v[k] != v[k - 1]) && !g_hash_table_contains (s->ids[i], &v[k]))
      g_hash_table_add (s->ids[i], g_memdup2 (&v[k], 8));
  return TRUE;
}

gboolean
cleave_verify (CleaveGraph         *g,
               CleaveVolume        *seg,
               CleaveVerifyProblem  func,
               gpointer             user_data,
               CleaveVerifyStats   *stats,
               GError             **error)
{
  g_autoptr(GArray) svs = NULL;
  g_autoptr(GHashTable) graph_svs = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) seen_roots = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GHashTable) reached = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  const CleaveScale *s0;
  guint n_layers = cleave_graph_get_meta (g)->n_layers;
  Report r = { func, user_data, stats };
  Scan scan = { seg };
  gsize n_chunks;

  memset (stats, 0, sizeof *stats);
  if (!cleave_graph_get_roots (g, NULL, 0, CLEAVE_GRAPH_LATEST, NULL, error))
    return FALSE;
  svs = graph_supervoxels (g, error);
  if (svs == NULL)
    return FALSE;
  stats->supervoxels = svs->len;

  /* 1. Roots. */
  for (guint i = 0; i < svs->len; i++)
    {
      guint64 sv = g_array_index (svs, guint64, i), node = sv, parent;
      guint steps = 0;

      g_hash_table_add (graph_svs, &g_array_index (svs, guint64, i));
      for (;;)
        {
          if (!_cleave_graph_parent_of (g, node, CLEAVE_GRAPH_LATEST, &parent, error))
            return FALSE;
          if (parent == 0 || ++steps > 64)
            break;
          if (cleave_node_id_layer (parent) != cleave_node_id_layer (node) + 1)
            report (&r, "node %" G_GUINT64_FORMAT " (layer %u) has a parent on layer %u", node,
                    cleave_node_id_layer (node), cleave_node_id_layer (parent));
          node = parent;
        }
      if (cleave_node_id_layer (node) != n_layers)
        report (&r, "supervoxel %" G_GUINT64_FORMAT " has no root (its top is %" G_GUINT64_FORMAT " on layer %u)",
                sv, node, cleave_node_id_layer (node));
      else
        g_hash_table_add (seen_roots, g_memdup2 (&node, 8));
    }
  stats->roots = g_hash_table_size (seen_roots);

  /* 2. Down from every root: children name their parent; L2 pieces. */
  {
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init (&it, seen_roots);
    while (g_hash_table_iter_next (&it, &k, NULL))
      {
        g_autoptr(GArray) level = g_array_new (FALSE, FALSE, sizeof (guint64));

        g_array_append_val (level, *(guint64 *) k);
        while (level->len > 0)
          {
            g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));

            for (guint i = 0; i < level->len; i++)
              {
                guint64 n = g_array_index (level, guint64, i);
                g_autoptr(GArray) kids = g_array_new (FALSE, FALSE, sizeof (guint64));

                stats->nodes++;
                if (cleave_node_id_layer (n) == 1)
                  {
                    if (!g_hash_table_add (reached, g_memdup2 (&n, 8)))
                      report (&r, "supervoxel %" G_GUINT64_FORMAT " is under two roots", n);
                    continue;
                  }
                if (!_cleave_graph_children_of (g, n, CLEAVE_GRAPH_LATEST, kids, error))
                  return FALSE;
                if (kids->len == 0)
                  report (&r, "node %" G_GUINT64_FORMAT " has no children", n);
                for (guint c = 0; c < kids->len; c++)
                  {
                    guint64 child = g_array_index (kids, guint64, c), parent;

                    if (!_cleave_graph_parent_of (g, child, CLEAVE_GRAPH_LATEST, &parent, error))
                      return FALSE;
                    if (parent != n)
                      report (&r, "node %" G_GUINT64_FORMAT " lists child %" G_GUINT64_FORMAT
                              ", whose parent is %" G_GUINT64_FORMAT, n, child, parent);
                  }
                if (cleave_node_id_layer (n) == 2 && !check_l2 (g, n, kids, &r, error))
                  return FALSE;
                g_array_append_vals (next, kids->data, kids->len);
              }
            g_array_unref (level);
            level = g_steal_pointer (&next);
          }
      }
    if (g_hash_table_size (reached) != svs->len)
      report (&r, "%u supervoxels are reached from the roots, %u are in the graph",
              g_hash_table_size (reached), svs->len);
  }

  /* 3. The segmentation: every label a supervoxel of the graph in the
   * chunk its id names, and every supervoxel somewhere. */
  s0 = cleave_volume_info_get_scale (cleave_volume_get_info (seg), 0, error);
  if (s0 == NULL)
    return FALSE;
  cleave_scale_grid_size (s0, scan.grid);
  n_chunks = (gsize) (scan.grid[0] * scan.grid[1] * scan.grid[2]);
  scan.ids = g_new0 (GHashTable *, n_chunks);
  {
    g_autoptr(GHashTable) in_seg = g_hash_table_new (g_int64_hash, g_int64_equal);
    gboolean ok = cleave_parallel_for (n_chunks, scan_chunk, &scan, error);

    for (gsize c = 0; ok && c < n_chunks; c++)
      {
        gint64 g3[3] = { c % scan.grid[0], c / scan.grid[0] % scan.grid[1], c / scan.grid[0] / scan.grid[1] };
        GHashTableIter it;
        gpointer k;

        g_hash_table_iter_init (&it, scan.ids[c]);
        while (g_hash_table_iter_next (&it, &k, NULL))
          {
            guint64 id = *(guint64 *) k, xyz[3];

            cleave_node_id_chunk (id, cleave_graph_chunk_bits (g, 1), xyz);
            if (cleave_node_id_layer (id) != 1 || xyz[0] != (guint64) g3[0] || xyz[1] != (guint64) g3[1] ||
                xyz[2] != (guint64) g3[2])
              report (&r, "label %" G_GUINT64_FORMAT " in chunk %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                      " is not a supervoxel id of that chunk", id, g3[0], g3[1], g3[2]);
            else if (!g_hash_table_contains (graph_svs, k))
              report (&r, "label %" G_GUINT64_FORMAT " in the segmentation is not in the graph", id);
            g_hash_table_add (in_seg, k);
          }
      }
    for (guint i = 0; ok && i < svs->len; i++)
      if (!g_hash_table_contains (in_seg, &g_array_index (svs, guint64, i)))
        report (&r, "supervoxel %" G_GUINT64_FORMAT " of the graph is nowhere in the segmentation",
                g_array_index (svs, guint64, i));
    for (gsize c = 0; c < n_chunks; c++)
      if (scan.ids[c])
        g_hash_table_unref (scan.ids[c]);
    g_free (scan.ids);
    if (!ok)
      return FALSE;
  }
  return TRUE;
}
