/* cleave-sv-split.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-sv-split"

#include "cleave-sv-split-private.h"

#include <string.h>

#include "cleave-fault.h"
#include "cleave-lock.h"
#include "cleave-node-id.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-util.h"

GArray *
_cleave_sv_split_l2_chunks (CleaveGraph  *g,
                            const gint64  lo[3],
                            const gint64  hi[3])
{
  const CleaveGraphMeta *m = cleave_graph_get_meta (g);
  guint bits = cleave_graph_chunk_bits (g, 2);
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint64));
  gint64 c0[3], c1[3];

  for (guint d = 0; d < 3; d++)
    {
      gint64 l = MAX (lo[d], m->voxel_offset[d]), h = MIN (hi[d], m->voxel_offset[d] + m->size[d]);

      c0[d] = (l - m->voxel_offset[d]) / m->chunk[d];
      c1[d] = (h - 1 - m->voxel_offset[d]) / m->chunk[d];
    }
  for (gint64 z = c0[2]; z <= c1[2]; z++)
    for (gint64 y = c0[1]; y <= c1[1]; y++)
      for (gint64 x = c0[0]; x <= c1[0]; x++)
        {
          guint64 id = cleave_node_id_make (2, bits, (guint64) x, (guint64) y, (guint64) z, 0);
          g_array_append_val (out, id);
        }
  g_array_sort (out, cleave_cmp_u64);
  return out;
}

/* §2.2 step 8: lineage at the op's time; each fragment's parent cell a
 * copy of its old supervoxel's, at that cell's time; each parent's
 * children cell rewritten, at its own time, with the fragments in place of
 * the old supervoxel. */
static gboolean
write_rows (CleaveGraph *g,
            Outcome     *o,
            gint64       ts,
            guint64      op,
            GError     **error)
{
  sqlite3_stmt *get_parent = _cleave_graph_prepare (g->db, g->path,
                                                    "SELECT ts, parent FROM parent WHERE node = ? ORDER BY ts DESC LIMIT 1", error);
  sqlite3_stmt *put_parent = _cleave_graph_prepare (g->db, g->path,
                                                    "INSERT OR REPLACE INTO parent (node, ts, parent) VALUES (?, ?, ?)", error);
  sqlite3_stmt *get_child = _cleave_graph_prepare (g->db, g->path,
                                                   "SELECT ts, children FROM child WHERE node = ? ORDER BY ts DESC LIMIT 1", error);
  sqlite3_stmt *put_child = _cleave_graph_prepare (g->db, g->path,
                                                   "INSERT OR REPLACE INTO child (node, ts, children) VALUES (?, ?, ?)", error);
  sqlite3_stmt *lineage = _cleave_graph_prepare (g->db, g->path,
                                                 "INSERT OR REPLACE INTO lineage (node, kind, ts, ids) VALUES (?, ?, ?, ?)", error);
  g_autoptr(GHashTable) parents = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  gboolean ok = FALSE;

  if (!get_parent || !put_parent || !get_child || !put_child || !lineage)
    goto out;
  for (guint i = 0; i < o->pieces->len; i++)
    {
      Piece *p = &g_array_index (o->pieces, Piece, i);
      guint64 news[3];
      guint n_news = 0;
      gint64 pts;
      guint64 parent;
      g_autoptr(GBytes) blob = NULL;

      for (guint l = 1; l < 4; l++)
        if (p->fresh[l])
          news[n_news++] = p->fresh[l];
      if (n_news == 0)
        continue;
      sqlite3_reset (get_parent);
      sqlite3_bind_int64 (get_parent, 1, (sqlite3_int64) p->sv);
      if (sqlite3_step (get_parent) != SQLITE_ROW)
        {
          g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                       "%s: supervoxel %" G_GUINT64_FORMAT " has no parent", g->path, p->sv);
          goto out;
        }
      pts = sqlite3_column_int64 (get_parent, 0);
      parent = (guint64) sqlite3_column_int64 (get_parent, 1);
      g_hash_table_add (parents, g_memdup2 (&parent, 8));
      blob = _cleave_edit_ids_blob (news, n_news);
      sqlite3_reset (lineage);
      sqlite3_bind_int64 (lineage, 1, (sqlite3_int64) p->sv);
      sqlite3_bind_int (lineage, 2, 2);
      sqlite3_bind_int64 (lineage, 3, ts);
      sqlite3_bind_blob (lineage, 4, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
      if (sqlite3_step (lineage) != SQLITE_DONE)
        goto db_error;
      for (guint f = 0; f < n_news; f++)
        {
          g_autoptr(GBytes) old = _cleave_edit_ids_blob (&p->sv, 1);

          sqlite3_reset (lineage);
          sqlite3_bind_int64 (lineage, 1, (sqlite3_int64) news[f]);
          sqlite3_bind_int (lineage, 2, 1);
          sqlite3_bind_int64 (lineage, 3, ts);
          sqlite3_bind_blob (lineage, 4, g_bytes_get_data (old, NULL), g_bytes_get_size (old), SQLITE_TRANSIENT);
          if (sqlite3_step (lineage) != SQLITE_DONE)
            goto db_error;
          sqlite3_reset (put_parent);
          sqlite3_bind_int64 (put_parent, 1, (sqlite3_int64) news[f]);
          sqlite3_bind_int64 (put_parent, 2, pts);
          sqlite3_bind_int64 (put_parent, 3, (sqlite3_int64) parent);
          if (sqlite3_step (put_parent) != SQLITE_DONE)
            goto db_error;
        }
    }
  {
    GHashTableIter it;
    gpointer k;

    g_hash_table_iter_init (&it, parents);
    while (g_hash_table_iter_next (&it, &k, NULL))
      {
        guint64 parent = *(guint64 *) k;
        g_autoptr(GArray) kids = NULL;
        g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));
        g_autoptr(GBytes) blob = NULL;
        gint64 cts;

        sqlite3_reset (get_child);
        sqlite3_bind_int64 (get_child, 1, (sqlite3_int64) parent);
        if (sqlite3_step (get_child) != SQLITE_ROW)
          {
            g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                         "%s: node %" G_GUINT64_FORMAT " has no children", g->path, parent);
            goto out;
          }
        cts = sqlite3_column_int64 (get_child, 0);
        kids = _cleave_edit_blob_ids (sqlite3_column_blob (get_child, 1), sqlite3_column_bytes (get_child, 1));
        for (guint c = 0; c < kids->len; c++)
          {
            guint64 kid = g_array_index (kids, guint64, c);
            gboolean replaced = FALSE;

            for (guint i = 0; i < o->pieces->len; i++)
              {
                Piece *p = &g_array_index (o->pieces, Piece, i);

                if (p->sv != kid || !(p->fresh[1] | p->fresh[2] | p->fresh[3]))
                  continue;
                for (guint l = 1; l < 4; l++)
                  if (p->fresh[l])
                    g_array_append_val (next, p->fresh[l]);
                replaced = TRUE;
              }
            if (!replaced)
              g_array_append_val (next, kid);
          }
        g_array_sort (next, cleave_cmp_u64);
        blob = _cleave_edit_ids_blob ((guint64 *) next->data, next->len);
        sqlite3_reset (put_child);
        sqlite3_bind_int64 (put_child, 1, (sqlite3_int64) parent);
        sqlite3_bind_int64 (put_child, 2, cts);
        sqlite3_bind_blob (put_child, 3, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
        if (sqlite3_step (put_child) != SQLITE_DONE)
          goto db_error;
      }
  }
  ok = _cleave_edit_write_edges (g, o->changes, ts, op, error);
  goto out;

db_error:
  _cleave_graph_db_error (g->db, g->path, "writing the split's rows", error);
out:
  sqlite3_finalize (get_parent);
  sqlite3_finalize (put_parent);
  sqlite3_finalize (get_child);
  sqlite3_finalize (put_child);
  sqlite3_finalize (lineage);
  return ok;
}

static gboolean
set_scope (CleaveGraph   *g,
           guint64        op,
           GArray        *chunks,
           GError       **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path, "UPDATE op SET l2_scope = ? WHERE id = ?", error);
  g_autoptr(GBytes) blob = _cleave_edit_ids_blob ((guint64 *) chunks->data, chunks->len);
  gboolean ok;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_blob (stmt, 1, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
  sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) op);
  ok = sqlite3_step (stmt) == SQLITE_DONE || _cleave_graph_db_error (g->db, g->path, "writing the lock scope", error);
  sqlite3_finalize (stmt);
  return ok;
}

gboolean
_cleave_sv_split_run (CleaveGraph          *g,
                      CleaveExec           *x,
                      CleaveVolume         *seg,
                      GArray               *sv_remap,
                      guint64              *sources,
                      const gint64         *sxyz,
                      guint                 n_src,
                      guint64              *sinks,
                      const gint64         *kxyz,
                      guint                 n_snk,
                      GArray               *seg_bboxes,
                      CleaveSvSplitTimings *tm,
                      GError              **error)
{
  guint64 op = _cleave_exec_get_op (x);
  gint64 ts = _cleave_exec_get_ts (x), clock = cleave_now_ns ();
  gboolean privileged = _cleave_exec_is_privileged (x);
  g_autoptr(GArray) tasks = NULL;
  g_autoptr(GArray) outcomes = g_array_new (FALSE, TRUE, sizeof (Outcome));
  g_autoptr(GArray) chunks = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_auto(GStrv) keys = NULL;
  guint64 root;
  gboolean temporal = FALSE, durable = FALSE, ok = FALSE;

  g_array_set_clear_func (outcomes, (GDestroyNotify) _cleave_sv_split_outcome_clear);
  tasks = _cleave_sv_split_plan (g, sv_remap, sources, sxyz, n_src, sinks, kxyz, n_snk, error);
  if (tasks == NULL)
    return FALSE;
  if (!cleave_graph_get_roots (g, sources, 1, CLEAVE_GRAPH_LATEST, &root, error))
    return FALSE;
  /* The lock set covers the one-voxel shell each split reads. */
  for (guint i = 0; i < tasks->len; i++)
    {
      Task *t = &g_array_index (tasks, Task, i);
      gint64 lo[3], hi[3];
      g_autoptr(GArray) c = NULL;

      for (guint d = 0; d < 3; d++)
        lo[d] = t->lo[d] - 1, hi[d] = t->hi[d] + 1;
      c = _cleave_sv_split_l2_chunks (g, lo, hi);
      g_array_append_vals (chunks, c->data, c->len);
    }
  g_array_sort (chunks, cleave_cmp_u64);
  for (guint i = 1; i < chunks->len;)
    if (g_array_index (chunks, guint64, i) == g_array_index (chunks, guint64, i - 1))
      g_array_remove_index (chunks, i);
    else
      i++;
  keys = g_new0 (char *, chunks->len + 1);
  for (guint i = 0; i < chunks->len; i++)
    keys[i] = cleave_lock_l2chunk_key (g_array_index (chunks, guint64, i));
  tm->plan_ms += _cleave_edit_ms_since (&clock);

  /* Temporal L2 chunk lock: refused where either cell is held. A replay
   * skips it: the stuck op's indefinite cells are the lock. */
  if (!privileged)
    {
      if (!cleave_lock_acquire (g, "l2chunk", keys, chunks->len, op, CLEAVE_EDIT_LOCK_TRIES, error))
        {
          g_prefix_error (error, "op %" G_GUINT64_FORMAT ": could not acquire the L2 chunk locks: ", op);
          return FALSE;
        }
      temporal = TRUE;
    }
  /* Under the lock, read what the last holder of these chunks wrote: this
   * process may have read the manifest before another op committed to
   * them, and rewriting a chunk from that older version would undo the
   * other op's split there. */
  if (!cleave_ocdbt_refresh (cleave_volume_get_store (seg), error))
    goto out;
  tm->lock_ms += _cleave_edit_ms_since (&clock);

  for (guint i = 0; i < tasks->len; i++)
    {
      Outcome o = { 0 };

      g_array_append_val (outcomes, o);
      if (!_cleave_sv_split_compute_task (g, seg, &g_array_index (tasks, Task, i), root, sources, sxyz, sinks, kxyz,
                         &g_array_index (outcomes, Outcome, i), error))
        goto out;
    }
  tm->compute_ms += _cleave_edit_ms_since (&clock);

  /* Durable from here: the indefinite cells, then the scope on the op
   * row, before any segmentation or graph write (invariant 9). */
  if (!_cleave_exec_go_durable (x, error))
    goto out;
  if (!privileged)
    {
      if (!cleave_lock_acquire_indefinite (g, "l2chunk", keys, chunks->len, op, error))
        goto out;
      durable = TRUE;
      if (!set_scope (g, op, chunks, error))
        goto out;
    }
  durable = TRUE;
  cleave_fault_point ("svsplit-scope-written");

  {
    g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (cleave_volume_get_store (seg));

    for (guint i = 0; i < tasks->len; i++)
      {
        Outcome *o = &g_array_index (outcomes, Outcome, i);
        gsize sx = (gsize) (o->bhi[0] - o->blo[0]), sy = (gsize) (o->bhi[1] - o->blo[1]), sz = (gsize) (o->bhi[2] - o->blo[2]);
        g_autofree guint64 *box = g_new (guint64, sx * sy * sz);

        /* Only the pieces' box can change; the write puts only the chunks
         * whose voxels did. */
        for (gsize z = 0; z < sz; z++)
          for (gsize y = 0; y < sy; y++)
            memcpy (box + (z * sy + y) * sx,
                    o->block + _cleave_sv_split_at (o, o->blo[0], o->blo[1] + (gint64) y, o->blo[2] + (gint64) z),
                    sx * 8);
        if (!cleave_volume_write_txn (seg, txn, 0, o->blo, o->bhi, box, NULL, error))
          goto out;
      }
    if (!cleave_ocdbt_txn_commit (txn, NULL, error))
      goto out;
  }
  tm->seg_write_ms += _cleave_edit_ms_since (&clock);
  cleave_fault_point ("svsplit-seg-committed");

  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    goto out;
  for (guint i = 0; i < outcomes->len; i++)
    if (!write_rows (g, &g_array_index (outcomes, Outcome, i), ts, op, error))
      {
        _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
        goto out;
      }
  cleave_fault_point ("svsplit-graph-txn");
  if (!_cleave_graph_exec (g->db, g->path, "COMMIT", error))
    {
      _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
      goto out;
    }
  _cleave_graph_forget_cache (g);
  tm->graph_write_ms += _cleave_edit_ms_since (&clock);
  cleave_fault_point ("svsplit-graph-committed");

  /* The fresh ids at the points: the retry multicut runs on them. */
  for (guint i = 0; i < tasks->len; i++)
    {
      Task *t = &g_array_index (tasks, Task, i);
      Outcome *o = &g_array_index (outcomes, Outcome, i);
      gint64 bbox[6] = { t->lo[0], t->lo[1], t->lo[2], t->hi[0], t->hi[1], t->hi[2] };

      for (guint a = 0; a < t->src->len; a++)
        {
          const gint64 *p = sxyz + 3 * g_array_index (t->src, guint, a);
          sources[g_array_index (t->src, guint, a)] = o->block[_cleave_sv_split_at (o, p[0], p[1], p[2])];
        }
      for (guint a = 0; a < t->snk->len; a++)
        {
          const gint64 *p = kxyz + 3 * g_array_index (t->snk, guint, a);
          sinks[g_array_index (t->snk, guint, a)] = o->block[_cleave_sv_split_at (o, p[0], p[1], p[2])];
        }
      g_array_append_vals (seg_bboxes, bbox, 6);
    }
  cleave_fault_point ("svsplit-before-release");

  /* Clean exit: the cells released and the scope cleared (one empty
   * write), with the temporal cells, in one transaction. A death cannot
   * then leave a scope whose cells are partly gone, which replay would
   * refuse; and the box's dozens of cells share one commit. */
  {
    g_autoptr(GArray) none = g_array_new (FALSE, FALSE, sizeof (guint64));

    if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
      goto out;
    if (!cleave_lock_release (g, keys, chunks->len, op, TRUE, error) || !set_scope (g, op, none, error) ||
        (temporal && !cleave_lock_release (g, keys, chunks->len, op, FALSE, error)) ||
        !_cleave_graph_exec (g->db, g->path, "COMMIT", error))
      {
        _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
        goto out;
      }
    temporal = FALSE;
  }
  /* The split is whole: a death before the cut leaves it durable, the
   * object consistent and free once the temporal lock expires. */
  _cleave_exec_end_durable (x);
  tm->graph_write_ms += _cleave_edit_ms_since (&clock);
  ok = TRUE;

out:
  if (!ok && durable)
    g_prefix_error (error, "op %" G_GUINT64_FORMAT " stopped during a supervoxel split; its chunks stay locked "
                    "until `cleavectl stuck replay %" G_GUINT64_FORMAT "`: ", op, op);
  if (temporal)
    {
      /* One commit for all the cells, as above; without the transaction
       * if it cannot be had, so they go all the same. */
      gboolean txn = _cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", NULL);

      cleave_lock_release (g, keys, chunks->len, op, FALSE, NULL);
      if (txn && !_cleave_graph_exec (g->db, g->path, "COMMIT", NULL))
        {
          _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
          cleave_lock_release (g, keys, chunks->len, op, FALSE, NULL);
        }
    }
  return ok;
}
