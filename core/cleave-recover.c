/* cleave-recover.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-recover"

#include "cleave-recover.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "cleave-edit-private.h"
#include "cleave-lock.h"
#include "cleave-multicut.h"
#include "cleave-node-id.h"
#include "cleave-precomputed.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-util.h"

void
cleave_stuck_op_clear (CleaveStuckOp *op)
{
  g_clear_pointer (&op->kind, g_free);
  g_clear_pointer (&op->user, g_free);
  g_clear_pointer (&op->scope, g_array_unref);
}

#define stuck(error, ...) _cleave_edit_fail ((error), CLEAVE_EDIT_ERROR_STUCK, __VA_ARGS__)

/* One op row, as the list and the replay need it. */
static gboolean
read_op (CleaveGraph   *g,
         sqlite3_stmt  *stmt,
         CleaveStuckOp *out,
         char         **inputs)
{
  out->op_id = (guint64) sqlite3_column_int64 (stmt, 0);
  out->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
  out->user = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
  out->status = sqlite3_column_int (stmt, 3);
  out->ts = sqlite3_column_int64 (stmt, 4);
  out->scope = _cleave_edit_blob_ids (sqlite3_column_blob (stmt, 5), sqlite3_column_bytes (stmt, 5));
  out->age_ns = cleave_now_ns () - out->ts;
  if (inputs)
    *inputs = g_strdup ((const char *) sqlite3_column_text (stmt, 6));
  return TRUE;
}

#define OP_COLUMNS "id, kind, user, status, ts, l2_scope, inputs"

GArray *
cleave_recover_list (CleaveGraph *g,
                     gint64       min_age_ns,
                     GError     **error)
{
  /* SUCCESS rows are left out even with a scope: clearing it is the last
   * write of a clean exit and may be what was lost. */
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT " OP_COLUMNS " FROM op WHERE l2_scope IS NOT NULL AND "
                                              "length(l2_scope) > 0 AND status != 0 ORDER BY id", error);
  GArray *out;

  if (stmt == NULL)
    return NULL;
  out = g_array_new (FALSE, TRUE, sizeof (CleaveStuckOp));
  g_array_set_clear_func (out, (GDestroyNotify) cleave_stuck_op_clear);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CleaveStuckOp op = { 0 };

      read_op (g, stmt, &op, NULL);
      if (op.age_ns < min_age_ns || op.scope->len == 0)
        {
          cleave_stuck_op_clear (&op);
          continue;
        }
      g_array_append_val (out, op);
    }
  sqlite3_finalize (stmt);
  return out;
}

/* §5.3: every scoped chunk's indefinite cell must be the op's. */
static gboolean
check_cells (CleaveGraph   *g,
             CleaveStuckOp *op,
             GError       **error)
{
  g_autoptr(GArray) locks = cleave_lock_list (g, error);
  g_autoptr(GString) wrong = g_string_new (NULL);
  guint n_wrong = 0;

  if (locks == NULL)
    return FALSE;
  for (guint i = 0; i < op->scope->len; i++)
    {
      g_autofree char *key = cleave_lock_l2chunk_key (g_array_index (op->scope, guint64, i));
      guint64 holder = 0;

      for (guint k = 0; k < locks->len; k++)
        if (strcmp (g_array_index (locks, CleaveLockInfo, k).key, key) == 0)
          holder = g_array_index (locks, CleaveLockInfo, k).indefinite_op;
      if (holder != op->op_id && n_wrong++ < 3)
        {
          if (holder)
            g_string_append_printf (wrong, "%s%s (held by op %" G_GUINT64_FORMAT ")", n_wrong > 1 ? ", " : "", key, holder);
          else
            g_string_append_printf (wrong, "%s%s (not held)", n_wrong > 1 ? ", " : "", key);
        }
    }
  if (n_wrong)
    return stuck (error, "op %" G_GUINT64_FORMAT ": %u of its %u scoped chunks are not locked by it: %s; "
                  "nothing was changed (was it replayed already, or its locks cleared by hand?)",
                  op->op_id, n_wrong, op->scope->len, wrong->str);
  return TRUE;
}

/* §5.2: each scoped L2 chunk back as it was at the op's time, read from a
 * pinned view and written into the latest fork, in one commit. */
static gboolean
revert_chunks (CleaveGraph   *g,
               CleaveVolume  *seg,
               CleaveStuckOp *op,
               GError       **error)
{
  const CleaveScale *s0 = cleave_volume_info_get_scale (cleave_volume_get_info (seg), 0, error);
  g_autoptr(CleaveVolume) then = NULL;
  g_autoptr(CleaveOcdbtTxn) txn = NULL;

  if (s0 == NULL || (then = cleave_volume_pin_time (seg, (guint64) op->ts, error)) == NULL)
    return FALSE;
  txn = cleave_ocdbt_txn_new (cleave_volume_get_store (seg));
  for (guint i = 0; i < op->scope->len; i++)
    {
      guint64 c[3];
      gint64 g3[3], lo[3], hi[3];
      g_autofree guint64 *voxels = NULL;

      /* L2 chunks are the segmentation's mip-0 chunks. */
      cleave_node_id_chunk (g_array_index (op->scope, guint64, i), cleave_graph_chunk_bits (g, 2), c);
      for (guint d = 0; d < 3; d++)
        g3[d] = (gint64) c[d];
      cleave_scale_chunk_box (s0, g3, lo, hi);
      voxels = g_new (guint64, (gsize) (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
      if (!cleave_volume_read (then, 0, lo, hi, voxels, error) ||
          !cleave_volume_write_txn (seg, txn, 0, lo, hi, voxels, NULL, error))
        return FALSE;
    }
  return cleave_ocdbt_txn_commit (txn, NULL, error);
}

/* Where the stuck op's graph transaction committed, its rows come out:
 * each parent's children cell gets the old supervoxels back (at the cell's
 * own time), and the fragments' parent, lineage and edge rows go, so no
 * reader sees the dead fragments in the hierarchy (invariant 13). */
static gboolean
remove_partial_rows (CleaveGraph   *g,
                     CleaveStuckOp *op,
                     guint         *n_fragments,
                     GError       **error)
{
  sqlite3_stmt *frags = NULL, *get_parent = NULL, *get_child = NULL, *put_child = NULL;
  g_autoptr(GHashTable) former = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) parents = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  gboolean ok = FALSE;
  GHashTableIter it;
  gpointer k, v;

  *n_fragments = 0;
  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  frags = _cleave_graph_prepare (g->db, g->path,
                                 "SELECT node, ids FROM lineage WHERE kind = 1 AND ts = ? AND node >= ? AND node < ?", error);
  get_parent = _cleave_graph_prepare (g->db, g->path,
                                      "SELECT parent FROM parent WHERE node = ? ORDER BY ts DESC LIMIT 1", error);
  get_child = _cleave_graph_prepare (g->db, g->path,
                                     "SELECT ts, children FROM child WHERE node = ? ORDER BY ts DESC LIMIT 1", error);
  put_child = _cleave_graph_prepare (g->db, g->path,
                                     "INSERT OR REPLACE INTO child (node, ts, children) VALUES (?, ?, ?)", error);
  if (!frags || !get_parent || !get_child || !put_child)
    goto out;
  sqlite3_bind_int64 (frags, 1, op->ts);
  sqlite3_bind_int64 (frags, 2, (sqlite3_int64) (G_GUINT64_CONSTANT (1) << 56));
  sqlite3_bind_int64 (frags, 3, (sqlite3_int64) (G_GUINT64_CONSTANT (2) << 56));
  while (sqlite3_step (frags) == SQLITE_ROW)
    {
      guint64 frag = (guint64) sqlite3_column_int64 (frags, 0);
      g_autoptr(GArray) old = _cleave_edit_blob_ids (sqlite3_column_blob (frags, 1), sqlite3_column_bytes (frags, 1));

      if (old->len != 1)
        continue;
      g_hash_table_insert (former, g_memdup2 (&frag, 8), g_memdup2 (&g_array_index (old, guint64, 0), 8));
      sqlite3_reset (get_parent);
      sqlite3_bind_int64 (get_parent, 1, (sqlite3_int64) frag);
      if (sqlite3_step (get_parent) == SQLITE_ROW)
        {
          guint64 p = (guint64) sqlite3_column_int64 (get_parent, 0);
          g_hash_table_add (parents, g_memdup2 (&p, 8));
        }
    }
  *n_fragments = g_hash_table_size (former);

  g_hash_table_iter_init (&it, parents);
  while (g_hash_table_iter_next (&it, &k, NULL))
    {
      g_autoptr(GArray) kids = NULL;
      g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));
      g_autoptr(GBytes) blob = NULL;
      gint64 cts;

      sqlite3_reset (get_child);
      sqlite3_bind_int64 (get_child, 1, (sqlite3_int64) *(guint64 *) k);
      if (sqlite3_step (get_child) != SQLITE_ROW)
        continue;
      cts = sqlite3_column_int64 (get_child, 0);
      kids = _cleave_edit_blob_ids (sqlite3_column_blob (get_child, 1), sqlite3_column_bytes (get_child, 1));
      for (guint c = 0; c < kids->len; c++)
        {
          guint64 *old = g_hash_table_lookup (former, &g_array_index (kids, guint64, c));
          guint64 id = old ? *old : g_array_index (kids, guint64, c);
          gboolean dup = FALSE;

          for (guint j = 0; j < next->len; j++)
            dup |= g_array_index (next, guint64, j) == id;
          if (!dup)
            g_array_append_val (next, id);
        }
      g_array_sort (next, cleave_cmp_u64);
      blob = _cleave_edit_ids_blob ((guint64 *) next->data, next->len);
      sqlite3_reset (put_child);
      sqlite3_bind_int64 (put_child, 1, (sqlite3_int64) *(guint64 *) k);
      sqlite3_bind_int64 (put_child, 2, cts);
      sqlite3_bind_blob (put_child, 3, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
      if (sqlite3_step (put_child) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, "restoring children", error);
          goto out;
        }
    }
  g_hash_table_iter_init (&it, former);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_autofree char *sql = g_strdup_printf ("DELETE FROM parent WHERE node = %" G_GINT64_FORMAT ";"
                                              "DELETE FROM lineage WHERE node = %" G_GINT64_FORMAT " AND ts = %" G_GINT64_FORMAT ";"
                                              "DELETE FROM lineage WHERE node = %" G_GINT64_FORMAT " AND kind = 2 AND ts = %"
                                              G_GINT64_FORMAT ";",
                                              (gint64) *(guint64 *) k, (gint64) *(guint64 *) k, op->ts,
                                              (gint64) *(guint64 *) v, op->ts);

      if (!_cleave_graph_exec (g->db, g->path, sql, error))
        goto out;
    }
  {
    g_autofree char *sql = g_strdup_printf ("DELETE FROM edge WHERE op = %" G_GUINT64_FORMAT " AND ts = %" G_GINT64_FORMAT,
                                            op->op_id, op->ts);

    if (!_cleave_graph_exec (g->db, g->path, sql, error))
      goto out;
  }
  ok = _cleave_graph_exec (g->db, g->path, "COMMIT", error);

out:
  if (!ok)
    _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
  sqlite3_finalize (frags);
  sqlite3_finalize (get_parent);
  sqlite3_finalize (get_child);
  sqlite3_finalize (put_child);
  _cleave_graph_forget_cache (g);
  return ok;
}

/* The points of a split op, from its logged inputs. */
static gboolean
parse_points (const char *inputs,
              GArray     *sources,
              GArray     *sinks,
              GError    **error)
{
  g_autoptr(JsonNode) root = json_from_string (inputs, error);
  JsonObject *o;

  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return stuck (error, "the op's inputs are not a JSON object");
  o = json_node_get_object (root);
  for (guint side = 0; side < 2; side++)
    {
      const char *name = side == 0 ? "sources" : "sinks";
      JsonArray *a = json_object_has_member (o, name) ? json_object_get_array_member (o, name) : NULL;

      for (guint i = 0; a && i < json_array_get_length (a); i++)
        {
          JsonArray *xyz = json_object_get_array_member (json_array_get_object_element (a, i), "xyz");

          for (guint d = 0; xyz && d < 3; d++)
            {
              gint64 v = json_array_get_int_element (xyz, d);
              g_array_append_val (side == 0 ? sources : sinks, v);
            }
        }
    }
  if (sources->len == 0 || sinks->len == 0 || sources->len % 3 || sinks->len % 3)
    return stuck (error, "the op's inputs name no source and sink points");
  return TRUE;
}

gboolean
cleave_recover_replay (CleaveGraph      *g,
                       CleaveDataset    *ds,
                       guint64           op_id,
                       guint            *n_reverted_out,
                       CleaveEditResult *result,
                       GError          **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path, "SELECT " OP_COLUMNS " FROM op WHERE id = ?", error);
  g_auto(CleaveStuckOp) op = { 0 };
  g_autofree char *inputs = NULL;
  g_autoptr(GArray) sources = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_autoptr(GArray) sinks = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto(CleaveMulticutResult) cut = { 0 };
  g_auto(CleaveSplitReport) report = { 0 };
  CleaveVolume *seg = cleave_dataset_get_seg (ds);
  guint n_fragments;
  gboolean found;

  memset (result, 0, sizeof *result);
  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op_id);
  found = sqlite3_step (stmt) == SQLITE_ROW;
  if (found)
    read_op (g, stmt, &op, &inputs);
  sqlite3_finalize (stmt);
  if (!found)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_NOT_FOUND, "%s: no op %" G_GUINT64_FORMAT, g->dir, op_id);
      return FALSE;
    }
  if (op.scope->len == 0 || op.status == CLEAVE_OP_SUCCESS)
    return stuck (error, "op %" G_GUINT64_FORMAT " is not a stuck supervoxel split (%s, no lock scope); "
                  "make the edit again as a new op", op_id, cleave_op_status_name (op.status));
  if (g_strcmp0 (op.kind, "split") != 0)
    return stuck (error, "op %" G_GUINT64_FORMAT " is a %s, which cannot be replayed", op_id, op.kind);
  if (!parse_points (inputs, sources, sinks, error) || !check_cells (g, &op, error))
    return FALSE;

  /* Pre-op on the op's own chunks, latest everywhere else (§5.4). */
  if (n_reverted_out)
    *n_reverted_out = op.scope->len;
  if (!revert_chunks (g, seg, &op, error))
    {
      g_prefix_error (error, "op %" G_GUINT64_FORMAT ": putting its chunks back: ", op_id);
      return FALSE;
    }
  if (!remove_partial_rows (g, &op, &n_fragments, error))
    {
      g_prefix_error (error, "op %" G_GUINT64_FORMAT ": taking out its partial rows: ", op_id);
      return FALSE;
    }
  if (!_cleave_edit_split_run (g, seg, (gint64 *) sources->data, sources->len / 3, (gint64 *) sinks->data,
                               sinks->len / 3, FALSE, op.user, op_id, &cut, &report, result, error))
    {
      g_prefix_error (error, "replaying op %" G_GUINT64_FORMAT " (its cells stay held): ", op_id);
      return FALSE;
    }
  /* Whatever path the replay took, nothing of the op stays locked or
   * scoped. */
  {
    /* Only where the replay's own clean exit has not cleared it: the
     * scope is cleared once, as the reference's. */
    g_autofree char *sql = g_strdup_printf ("UPDATE op SET l2_scope = x'' WHERE id = %" G_GUINT64_FORMAT
                                            " AND l2_scope IS NOT NULL AND length (l2_scope) > 0", op_id);

    if (!cleave_lock_release_op (g, op_id, error) || !_cleave_graph_exec (g->db, g->path, sql, error))
      return FALSE;
  }
  return TRUE;
}
