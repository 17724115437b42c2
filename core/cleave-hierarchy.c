/* cleave-hierarchy.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-hierarchy"

#include "cleave-hierarchy.h"

#include <string.h>

#include "cleave-edit-private.h"
#include "cleave-node-id.h"
#include "cleave-util.h"

/* A node the rebuild writes: new (children cell and the children's
 * parent cells) or kept. */
typedef struct
{
  guint64  id;
  GArray  *children;   /* guint64, sorted */
  gboolean fresh;
} Built;

static void
built_clear (Built *b)
{
  g_array_unref (b->children);
}

gboolean
_cleave_hierarchy_allocate_id (CleaveGraph *g,
                               guint64      chunk,
                               guint64     *id,
                               GError     **error)
{
  sqlite3_stmt *get = _cleave_graph_prepare (g->db, g->path, "SELECT next FROM counter WHERE chunk = ?", error);
  sqlite3_stmt *put = _cleave_graph_prepare (g->db, g->path,
                                             "INSERT OR REPLACE INTO counter (chunk, next) VALUES (?, ?)", error);
  guint64 next = 1;
  gboolean ok = FALSE;
  guint layer = cleave_node_id_layer (chunk);

  if (get == NULL || put == NULL)
    goto out;
  sqlite3_bind_int64 (get, 1, (sqlite3_int64) chunk);
  if (sqlite3_step (get) == SQLITE_ROW)
    next = (guint64) sqlite3_column_int64 (get, 0);
  else if (layer == 1)
    {
      /* Ingest numbers supervoxels without counters: start after the
       * largest the chunk has (each has a parent cell). */
      sqlite3_stmt *max = _cleave_graph_prepare (g->db, g->path,
                                                 "SELECT MAX(node) FROM parent WHERE node > ? AND node < ?", error);

      if (max == NULL)
        goto out;
      sqlite3_bind_int64 (max, 1, (sqlite3_int64) chunk);
      sqlite3_bind_int64 (max, 2, (sqlite3_int64) (chunk + cleave_node_id_segment_limit (cleave_graph_chunk_bits (g, layer)) + 1));
      if (sqlite3_step (max) == SQLITE_ROW && sqlite3_column_type (max, 0) != SQLITE_NULL)
        next = ((guint64) sqlite3_column_int64 (max, 0) - chunk) + 1;
      sqlite3_finalize (max);
    }
  if (next > cleave_node_id_segment_limit (cleave_graph_chunk_bits (g, layer)))
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                   "%s: chunk %" G_GUINT64_FORMAT " has no ids left", g->path, chunk);
      goto out;
    }
  *id = chunk | next;
  sqlite3_bind_int64 (put, 1, (sqlite3_int64) chunk);
  sqlite3_bind_int64 (put, 2, (sqlite3_int64) (next + 1));
  ok = sqlite3_step (put) == SQLITE_DONE || _cleave_graph_db_error (g->db, g->path, "counter", error);
out:
  sqlite3_finalize (get);
  sqlite3_finalize (put);
  return ok;
}

/* The hierarchy of the supervoxels @leaves joined by @edges (active
 * pairs), layer by layer, keeping every node whose children stay the same.
 * Inside the caller's write transaction; reads see the state before the
 * edit because nothing is written until the end. */
gboolean
_cleave_hierarchy_rebuild (CleaveGraph *g,
                           GArray      *leaves,
                           GHashTable  *edges,
                           gint64       ts,
                           GArray      *roots_out,
                           GError     **error)
{
  g_autoptr(GHashTable) node_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GArray) level = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) built = g_array_new (FALSE, FALSE, sizeof (Built));
  sqlite3_stmt *parent = NULL, *child = NULL;
  gboolean ok = FALSE;

  g_array_set_clear_func (built, (GDestroyNotify) built_clear);
  for (guint i = 0; i < leaves->len; i++)
    {
      guint64 sv = g_array_index (leaves, guint64, i);
      g_hash_table_insert (node_of, g_memdup2 (&sv, 8), g_memdup2 (&sv, 8));
      g_array_append_val (level, sv);
    }

  for (guint layer = 2; layer <= g->meta.n_layers; layer++)
    {
      /* Union-find over the level's positions; the level is sorted, so
       * each set's root is its smallest node id. */
      g_autoptr(GHashTable) index_of = g_hash_table_new (g_int64_hash, g_int64_equal);
      g_autofree guint *uf = NULL;
      g_autoptr(GHashTable) groups = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free,
                                                            (GDestroyNotify) g_array_unref);
      g_autoptr(GArray) reps = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GHashTable) renamed = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
      GHashTableIter it;
      gpointer k, v;

      g_array_sort (level, cleave_cmp_u64);
      uf = g_new (guint, MAX (level->len, 1));
      for (guint i = 0; i < level->len; i++)
        {
          uf[i] = i;
          /* Keys point into the level, which stays put for this layer. */
          g_hash_table_insert (index_of, &g_array_index (level, guint64, i), GUINT_TO_POINTER (i + 1));
        }
      g_hash_table_iter_init (&it, edges);
      while (g_hash_table_iter_next (&it, &k, &v))
        {
          const EdgeChange *e = v;
          guint64 *na = g_hash_table_lookup (node_of, &e->a), *nb = g_hash_table_lookup (node_of, &e->b);

          if (!e->active || na == NULL || nb == NULL || *na == *nb)
            continue;
          if (_cleave_graph_chunk_on_layer (g, *na, layer) == _cleave_graph_chunk_on_layer (g, *nb, layer))
            {
              guint ia = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, na));
              guint ib = GPOINTER_TO_UINT (g_hash_table_lookup (index_of, nb));

              g_assert (ia != 0 && ib != 0);
              cleave_uf_union (uf, ia - 1, ib - 1);
            }
        }
      for (guint i = 0; i < level->len; i++)
        {
          guint64 n = g_array_index (level, guint64, i);
          guint64 r = g_array_index (level, guint64, cleave_uf_find (uf, i));
          GArray *grp = g_hash_table_lookup (groups, &r);

          if (grp == NULL)
            {
              grp = g_array_new (FALSE, FALSE, sizeof (guint64));
              g_hash_table_insert (groups, g_memdup2 (&r, 8), grp);
              g_array_append_val (reps, r);
            }
          g_array_append_val (grp, n);
        }
      /* Deterministic order: by each group's smallest member. */
      g_array_sort (reps, cleave_cmp_u64);
      for (guint i = 0; i < reps->len; i++)
        {
          GArray *grp = g_hash_table_lookup (groups, &g_array_index (reps, guint64, i));
          guint64 first, old = 0, id = 0;
          Built b = { 0 };

          g_array_sort (grp, cleave_cmp_u64);
          first = g_array_index (grp, guint64, 0);
          /* Kept if the first child's current parent has exactly these children. */
          if (!_cleave_graph_parent_of (g, first, CLEAVE_GRAPH_LATEST, &old, error))
            goto out;
          if (old != 0 && cleave_node_id_layer (old) == layer)
            {
              g_autoptr(GArray) kids = g_array_new (FALSE, FALSE, sizeof (guint64));

              if (!_cleave_graph_children_of (g, old, CLEAVE_GRAPH_LATEST, kids, error))
                goto out;
              g_array_sort (kids, cleave_cmp_u64);
              if (kids->len == grp->len && memcmp (kids->data, grp->data, 8 * grp->len) == 0)
                id = old;
            }
          b.fresh = id == 0;
          if (b.fresh && !_cleave_hierarchy_allocate_id (g, _cleave_graph_chunk_on_layer (g, first, layer), &id, error))
            goto out;
          b.id = id;
          b.children = g_array_ref (grp);
          g_array_append_val (built, b);
          g_array_append_val (next, id);
          for (guint c = 0; c < grp->len; c++)
            g_hash_table_insert (renamed, g_memdup2 (&g_array_index (grp, guint64, c), 8), g_memdup2 (&id, 8));
        }
      /* Every supervoxel now maps to its node on this layer. */
      g_hash_table_iter_init (&it, node_of);
      while (g_hash_table_iter_next (&it, &k, &v))
        *(guint64 *) v = *(guint64 *) g_hash_table_lookup (renamed, v);
      g_array_unref (level);
      level = g_steal_pointer (&next);
    }
  g_array_append_vals (roots_out, level->data, level->len);

  /* Now write: children cells of new nodes, parent cells of their children. */
  parent = _cleave_graph_prepare (g->db, g->path, "INSERT OR REPLACE INTO parent (node, ts, parent) VALUES (?, ?, ?)", error);
  child = _cleave_graph_prepare (g->db, g->path, "INSERT OR REPLACE INTO child (node, ts, children) VALUES (?, ?, ?)", error);
  if (parent == NULL || child == NULL)
    goto out;
  for (guint i = 0; i < built->len; i++)
    {
      Built *b = &g_array_index (built, Built, i);
      g_autoptr(GBytes) blob = NULL;

      if (!b->fresh)
        continue;
      blob = _cleave_edit_ids_blob ((guint64 *) b->children->data, b->children->len);
      sqlite3_reset (child);
      sqlite3_bind_int64 (child, 1, (sqlite3_int64) b->id);
      sqlite3_bind_int64 (child, 2, ts);
      sqlite3_bind_blob (child, 3, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
      if (sqlite3_step (child) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, "writing children", error);
          goto out;
        }
      for (guint c = 0; c < b->children->len; c++)
        {
          sqlite3_reset (parent);
          sqlite3_bind_int64 (parent, 1, (sqlite3_int64) g_array_index (b->children, guint64, c));
          sqlite3_bind_int64 (parent, 2, ts);
          sqlite3_bind_int64 (parent, 3, (sqlite3_int64) b->id);
          if (sqlite3_step (parent) != SQLITE_DONE)
            {
              _cleave_graph_db_error (g->db, g->path, "writing parents", error);
              goto out;
            }
        }
    }
  ok = TRUE;

out:
  sqlite3_finalize (parent);
  sqlite3_finalize (child);
  return ok;
}

gboolean
_cleave_hierarchy_write_lineage (CleaveGraph *g,
                                 GArray      *old_roots,
                                 GArray      *new_roots,
                                 gint64       ts,
                                 GError     **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "INSERT OR REPLACE INTO lineage (node, kind, ts, ids) VALUES (?, ?, ?, ?)", error);
  g_autoptr(GBytes) olds = _cleave_edit_ids_blob ((guint64 *) old_roots->data, old_roots->len);
  g_autoptr(GBytes) news = _cleave_edit_ids_blob ((guint64 *) new_roots->data, new_roots->len);
  gboolean ok = TRUE;

  if (stmt == NULL)
    return FALSE;
  /* kind 1: former roots (on a new root); kind 2: new roots (on an old one). */
  for (guint pass = 0; pass < 2 && ok; pass++)
    {
      GArray *nodes = pass == 0 ? new_roots : old_roots, *other = pass == 0 ? old_roots : new_roots;
      GBytes *blob = pass == 0 ? olds : news;

      for (guint i = 0; i < nodes->len && ok; i++)
        {
          guint64 n = g_array_index (nodes, guint64, i);
          gboolean same = FALSE;

          for (guint j = 0; j < other->len; j++)
            same |= g_array_index (other, guint64, j) == n;
          if (same)
            continue;
          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) n);
          sqlite3_bind_int (stmt, 2, pass + 1);
          sqlite3_bind_int64 (stmt, 3, ts);
          sqlite3_bind_blob (stmt, 4, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_STATIC);
          if (sqlite3_step (stmt) != SQLITE_DONE)
            ok = _cleave_graph_db_error (g->db, g->path, "writing lineage", error);
        }
    }
  sqlite3_finalize (stmt);
  return ok;
}
