/* cleave-edit.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-edit"

#include "cleave-edit-private.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "cleave-fault.h"
#include "cleave-graph-private.h"
#include "cleave-hierarchy.h"
#include "cleave-lock.h"
#include "cleave-node-id.h"
#include "cleave-util.h"

G_DEFINE_QUARK (cleave-edit-error-quark, cleave_edit_error)

#define MERGE_AFFINITY 1.0


const char *
cleave_op_status_name (CleaveOpStatus s)
{
  switch (s)
    {
    case CLEAVE_OP_SUCCESS: return "SUCCESS";
    case CLEAVE_OP_CREATED: return "CREATED";
    case CLEAVE_OP_EXCEPTION: return "EXCEPTION";
    case CLEAVE_OP_WRITE_STARTED: return "WRITE_STARTED";
    case CLEAVE_OP_WRITE_FAILED: return "WRITE_FAILED";
    default: return "UNKNOWN";
    }
}

void
cleave_edit_result_clear (CleaveEditResult *r)
{
  g_clear_pointer (&r->new_roots, g_array_unref);
  memset (r, 0, sizeof *r);
}

void
cleave_op_info_clear (CleaveOpInfo *info)
{
  g_free (info->kind);
  g_free (info->user);
  g_free (info->inputs);
  g_free (info->exception);
  g_clear_pointer (&info->new_roots, g_array_unref);
  g_clear_pointer (&info->l2_scope, g_array_unref);
  memset (info, 0, sizeof *info);
}


GBytes *
_cleave_edit_ids_blob (const guint64 *ids,
          guint          n)
{
  guint64 *le = g_new (guint64, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    le[i] = GUINT64_TO_LE (ids[i]);
  return g_bytes_new_take (le, n * 8);
}

GArray *
_cleave_edit_blob_ids (const void *blob,
          int         len)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (int k = 0; blob && k + 8 <= len; k += 8)
    {
      guint64 v;
      memcpy (&v, (const guint8 *) blob + k, 8);
      v = GUINT64_FROM_LE (v);
      g_array_append_val (out, v);
    }
  return out;
}

static char *
changes_json (GArray *changes,
              gboolean active)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_array (b);
  for (guint i = 0; i < changes->len; i++)
    {
      const EdgeChange *c = &g_array_index (changes, EdgeChange, i);

      if (c->active != active)
        continue;
      json_builder_begin_array (b);
      json_builder_add_int_value (b, (gint64) c->a);
      json_builder_add_int_value (b, (gint64) c->b);
      json_builder_add_int_value (b, c->kind);
      json_builder_add_double_value (b, isinf (c->affinity) ? -1 : c->affinity);
      json_builder_add_int_value (b, (gint64) c->area);
      json_builder_end_array (b);
    }
  json_builder_end_array (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  return json_generator_to_data (gen, NULL);
}

static void
parse_changes (const char *json,
               gboolean    active,
               GArray     *out)
{
  g_autoptr(JsonParser) p = json_parser_new ();
  JsonArray *arr;

  if (json == NULL || !json_parser_load_from_data (p, json, -1, NULL) ||
      !JSON_NODE_HOLDS_ARRAY (json_parser_get_root (p)))
    return;
  arr = json_node_get_array (json_parser_get_root (p));
  for (guint i = 0; i < json_array_get_length (arr); i++)
    {
      JsonArray *e = json_array_get_array_element (arr, i);
      EdgeChange c;
      double aff;

      if (e == NULL || json_array_get_length (e) != 5)
        continue;
      c.a = (guint64) json_array_get_int_element (e, 0);
      c.b = (guint64) json_array_get_int_element (e, 1);
      c.kind = (int) json_array_get_int_element (e, 2);
      aff = json_array_get_double_element (e, 3);
      c.affinity = aff < 0 ? INFINITY : aff;
      c.area = (guint64) json_array_get_int_element (e, 4);
      c.active = active;
      g_array_append_val (out, c);
    }
}



gboolean
_cleave_edit_write_edges (CleaveGraph *g,
                    GArray      *changes,
                    gint64       ts,
                    guint64      op,
                    GError     **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "INSERT OR REPLACE INTO edge (l2chunk, a, b, ts, kind, affinity, area, active, op) "
                                              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", error);
  gboolean ok = TRUE;

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < changes->len && ok; i++)
    {
      const EdgeChange *c = &g_array_index (changes, EdgeChange, i);
      guint64 ca = _cleave_graph_chunk_on_layer (g, c->a, 2), cb = _cleave_graph_chunk_on_layer (g, c->b, 2);
      guint64 chunks[2] = { ca, cb };

      for (guint k = 0; k < (ca == cb ? 1u : 2u) && ok; k++)
        {
          sqlite3_reset (stmt);
          sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) chunks[k]);
          sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) c->a);
          sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) c->b);
          sqlite3_bind_int64 (stmt, 4, ts);
          sqlite3_bind_int (stmt, 5, c->kind);
          sqlite3_bind_double (stmt, 6, c->affinity);
          sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) c->area);
          sqlite3_bind_int (stmt, 8, c->active);
          sqlite3_bind_int64 (stmt, 9, (sqlite3_int64) op);
          if (sqlite3_step (stmt) != SQLITE_DONE)
            ok = _cleave_graph_db_error (g->db, g->path, "writing edges", error);
        }
    }
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
next_op_id (CleaveGraph *g,
            guint64     *op,
            GError     **error)
{
  g_autofree char *text = NULL;
  g_autofree char *next = NULL;

  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    return FALSE;
  text = _cleave_graph_meta_get (g->db, "next_op");
  *op = text ? g_ascii_strtoull (text, NULL, 10) : 1;
  next = g_strdup_printf ("%" G_GUINT64_FORMAT, *op + 1);
  if (!_cleave_graph_meta_set (g->db, g->path, "next_op", next, error) ||
      !_cleave_graph_exec (g->db, g->path, "COMMIT", error))
    {
      _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
      return FALSE;
    }
  return TRUE;
}

static gboolean
set_status (CleaveGraph    *g,
            guint64         op,
            CleaveOpStatus  status,
            const char     *exception,
            GError        **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "UPDATE op SET status = ?, exception = COALESCE(?, exception) WHERE id = ?", error);
  gboolean ok;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int (stmt, 1, status);
  sqlite3_bind_text (stmt, 2, exception, -1, SQLITE_STATIC);
  sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) op);
  ok = sqlite3_step (stmt) == SQLITE_DONE || _cleave_graph_db_error (g->db, g->path, "op status", error);
  sqlite3_finalize (stmt);
  return ok;
}

struct _CleaveExec
{
  CleaveGraph *g;
  guint64      op;
  gint64       ts;
  gboolean     privileged;
  char       **keys;
  guint        n_keys;
  gboolean     indefinite;
};

guint64
_cleave_exec_get_op (CleaveExec *x)
{
  return x->op;
}

gint64
_cleave_exec_get_ts (CleaveExec *x)
{
  return x->ts;
}

gboolean
_cleave_exec_is_privileged (CleaveExec *x)
{
  return x->privileged;
}

gboolean
_cleave_exec_go_durable (CleaveExec *x,
                         GError    **error)
{
  if (x->indefinite || x->privileged)
    {
      x->indefinite = TRUE;
      return TRUE;
    }
  if (!cleave_lock_renew (x->g, x->keys, x->n_keys, x->op, error) ||
      !cleave_lock_acquire_indefinite (x->g, "root", x->keys, x->n_keys, x->op, error))
    return FALSE;
  x->indefinite = TRUE;
  return TRUE;
}

/* DIR/errors/OPID.json for a failed op (shared spec/reference-pcg.md §8):
 * best effort, it never hides the error it records. */
static void
write_error_artifact (CleaveGraph        *g,
                      const CleaveOpSpec *spec,
                      guint64             op,
                      const char         *stage,
                      const GError       *err)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(JsonNode) inputs = NULL;
  g_autofree char *dir = g_build_filename (g->dir, "errors", NULL);
  g_autofree char *name = g_strdup_printf ("%" G_GUINT64_FORMAT ".json", op);
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *text = NULL;

  if (err == NULL)
    return;
  inputs = json_from_string (spec->inputs ? spec->inputs : "{}", NULL);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "op_id");
  json_builder_add_int_value (b, (gint64) op);
  json_builder_set_member_name (b, "op_type");
  json_builder_add_string_value (b, spec->kind);
  json_builder_set_member_name (b, "user");
  json_builder_add_string_value (b, spec->user);
  json_builder_set_member_name (b, "replay");
  json_builder_add_boolean_value (b, spec->replay_op != 0);
  json_builder_set_member_name (b, "inputs");
  json_builder_add_value (b, inputs ? g_steal_pointer (&inputs) : json_node_new (JSON_NODE_NULL));
  json_builder_set_member_name (b, "error_class");
  json_builder_add_string_value (b, g_quark_to_string (err->domain));
  json_builder_set_member_name (b, "error_code");
  json_builder_add_int_value (b, err->code);
  json_builder_set_member_name (b, "error_message");
  json_builder_add_string_value (b, err->message);
  json_builder_set_member_name (b, "failed_in");
  json_builder_add_string_value (b, stage);
  json_builder_set_member_name (b, "time_ns");
  json_builder_add_int_value (b, cleave_now_ns ());
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (g_mkdir_with_parents (dir, 0755) != 0 || !g_file_set_contents (path, text, -1, NULL))
    g_warning ("%s: could not write the error artifact of op %" G_GUINT64_FORMAT, path, op);
}

gboolean
_cleave_edit_fail (GError        **error,
                   CleaveEditError code,
                   const char     *format,
                   ...)
{
  va_list args;
  g_autofree char *msg = NULL;

  va_start (args, format);
  msg = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, CLEAVE_EDIT_ERROR, code, msg);
  return FALSE;
}

gboolean
_cleave_edit_read_begin (CleaveGraph *g,
                         gboolean    *began,
                         GError     **error)
{
  *began = sqlite3_get_autocommit (g->db) != 0;
  if (*began && !_cleave_graph_exec (g->db, g->path, "BEGIN", error))
    {
      *began = FALSE;
      return FALSE;
    }
  return TRUE;
}

void
_cleave_edit_read_end (CleaveGraph *g,
                       gboolean     began)
{
  /* It only read: ending it cannot lose anything. */
  if (began && !_cleave_graph_exec (g->db, g->path, "COMMIT", NULL))
    _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
}

double
_cleave_edit_ms_since (gint64 *clock)
{
  gint64 now = cleave_now_ns ();
  double ms = (now - *clock) / 1e6;

  *clock = now;
  return ms;
}

void
_cleave_exec_end_durable (CleaveExec *x)
{
  if (!x->indefinite || x->privileged)
    return;
  cleave_lock_release (x->g, x->keys, x->n_keys, x->op, TRUE, NULL);
  x->indefinite = FALSE;
}

const char *
cleave_edit_stage_name (CleaveEditStage stage)
{
  static const char *names[] = { "check", "root lock", "compute", "persist", "finish" };

  G_STATIC_ASSERT (G_N_ELEMENTS (names) == CLEAVE_EDIT_N_STAGES);
  return stage < G_N_ELEMENTS (names) ? names[stage] : "?";
}

/* A supervoxel that a supervoxel split replaced keeps its old parent
 * cells, so its root reads as the dead object's root, which no lock of a
 * live object contends with: an edit naming it (a point looked up before
 * another process split there) is refused instead of applied to the past. */
static gboolean
check_not_replaced (CleaveGraph *g,
                    GArray      *svs,
                    guint64      op,
                    GError     **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT 1 FROM lineage WHERE node = ? AND kind = 2 LIMIT 1", error);
  gboolean ok = TRUE;

  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; ok && i < svs->len; i++)
    {
      guint64 sv = g_array_index (svs, guint64, i);

      if (cleave_node_id_layer (sv) != 1)
        continue;
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) sv);
      if (sqlite3_step (stmt) == SQLITE_ROW)
        {
          g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                       "op %" G_GUINT64_FORMAT ": supervoxel %" G_GUINT64_FORMAT " was split by an earlier edit; "
                       "look the point up again", op, sv);
          ok = FALSE;
        }
    }
  sqlite3_finalize (stmt);
  return ok;
}

/* The whole life of one op over a set of edge changes. */
gboolean
_cleave_edit_execute (CleaveGraph        *g,
                      const CleaveOpSpec *spec,
                      GArray             *changes,
                      CleaveEditResult   *result,
                      GError            **error)
{
  g_autoptr(GArray) endpoints = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) old_roots = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GHashTable) edges = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GHashTable) leaf_set = g_hash_table_new (g_int64_hash, g_int64_equal);
  g_autoptr(GHashTable) chunks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autoptr(GArray) chunk_list = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint64 *roots = NULL;
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) new_keys = NULL;
  g_autofree char *activated = NULL;
  g_autofree char *deactivated = NULL;
  g_autoptr(GError) local = NULL;
  sqlite3_stmt *stmt = NULL;
  guint64 op = 0;
  gint64 ts;
  gboolean locked = FALSE, ok = FALSE;
  const char *stage = "root lock";
  CleaveExec x = { g, 0, 0, spec->replay_op != 0 };
  CleaveEditStage at = CLEAVE_EDIT_STAGE_LOCK;
  gint64 clock = cleave_now_ns ();

#define NEXT_STAGE(next) G_STMT_START {                               \
    result->stage_ms[at] += _cleave_edit_ms_since (&clock);           \
    at = (next);                                                      \
  } G_STMT_END

  memset (result, 0, sizeof *result);
  result->new_roots = g_array_new (FALSE, FALSE, sizeof (guint64));
  if (spec->started)
    result->stage_ms[CLEAVE_EDIT_STAGE_CHECK] = (clock - spec->started) / 1e6;
  if (spec->svs)
    g_array_append_vals (endpoints, spec->svs, spec->n_svs);
  for (guint i = 0; !spec->svs && i < changes->len; i++)
    {
      const EdgeChange *c = &g_array_index (changes, EdgeChange, i);
      g_array_append_val (endpoints, c->a);
      g_array_append_val (endpoints, c->b);
    }
  roots = g_new (guint64, MAX (endpoints->len, 1));
  if (!cleave_graph_get_roots (g, (guint64 *) endpoints->data, endpoints->len, CLEAVE_GRAPH_LATEST, roots, error))
    return FALSE;
  for (guint i = 0; i < endpoints->len; i++)
    {
      gboolean seen = FALSE;
      for (guint j = 0; j < old_roots->len; j++)
        seen |= g_array_index (old_roots, guint64, j) == roots[i];
      if (!seen)
        g_array_append_val (old_roots, roots[i]);
    }
  g_array_sort (old_roots, cleave_cmp_u64);

  if (x.privileged)
    op = spec->replay_op;
  else if (!next_op_id (g, &op, error))
    return FALSE;
  result->op_id = op;
  keys = g_new0 (char *, old_roots->len + 1);
  for (guint i = 0; i < old_roots->len; i++)
    keys[i] = cleave_lock_root_key (g_array_index (old_roots, guint64, i));
  x.op = op;
  x.keys = keys;
  x.n_keys = old_roots->len;
  /* A replay holds no root lock: the stuck op's indefinite cells are it
   * (shared spec/reference-pcg.md §3.6). */
  if (!x.privileged)
    {
      if (!cleave_lock_acquire (g, "root", keys, old_roots->len, op, CLEAVE_EDIT_LOCK_TRIES, &local))
        {
          g_propagate_prefixed_error (error, g_steal_pointer (&local), "op %" G_GUINT64_FORMAT ": could not acquire the root lock: ", op);
          goto out;
        }
      locked = TRUE;
    }

  /* Under the lock the roots must still be current: another op may have
   * changed the objects between the lookup and the lock. */
  _cleave_graph_forget_cache (g);
  {
    g_autofree guint64 *again = g_new (guint64, MAX (endpoints->len, 1));

    if (!cleave_graph_get_roots (g, (guint64 *) endpoints->data, endpoints->len, CLEAVE_GRAPH_LATEST, again, error))
      goto out;
    if (memcmp (again, roots, 8 * endpoints->len) != 0)
      {
        g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                     "op %" G_GUINT64_FORMAT ": the objects changed while this edit waited for them; try it again", op);
        goto out;
      }
  }
  if (!check_not_replaced (g, endpoints, op, error))
    goto out;

  if (x.privileged)
    {
      /* The replay keeps the op's id and time, so its rows supersede the
       * stuck op's. */
      stmt = _cleave_graph_prepare (g->db, g->path, "SELECT ts FROM op WHERE id = ?", error);
      if (stmt == NULL)
        goto out;
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op);
      if (sqlite3_step (stmt) != SQLITE_ROW)
        {
          g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_NOT_FOUND, "%s: no op %" G_GUINT64_FORMAT, g->dir, op);
          goto out;
        }
      ts = sqlite3_column_int64 (stmt, 0);
      g_clear_pointer (&stmt, sqlite3_finalize);
      stmt = _cleave_graph_prepare (g->db, g->path, "UPDATE op SET status = ?, exception = NULL WHERE id = ?", error);
      if (stmt == NULL)
        goto out;
      sqlite3_bind_int (stmt, 1, CLEAVE_OP_CREATED);
      sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) op);
    }
  else
    {
      ts = cleave_now_ns ();
      stmt = _cleave_graph_prepare (g->db, g->path,
                                    "INSERT INTO op (id, kind, user, status, ts, inputs, undo_of, redo_of) "
                                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", error);
      if (stmt == NULL)
        goto out;
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op);
      sqlite3_bind_text (stmt, 2, spec->kind, -1, SQLITE_STATIC);
      sqlite3_bind_text (stmt, 3, spec->user, -1, SQLITE_STATIC);
      sqlite3_bind_int (stmt, 4, CLEAVE_OP_CREATED);
      sqlite3_bind_int64 (stmt, 5, ts);
      sqlite3_bind_text (stmt, 6, spec->inputs ? spec->inputs : "{}", -1, SQLITE_STATIC);
      if (spec->undo_of)
        sqlite3_bind_int64 (stmt, 7, (sqlite3_int64) spec->undo_of);
      if (spec->redo_of)
        sqlite3_bind_int64 (stmt, 8, (sqlite3_int64) spec->redo_of);
    }
  x.ts = ts;
  if (sqlite3_step (stmt) != SQLITE_DONE)
    {
      _cleave_graph_db_error (g->db, g->path, "writing the op log", error);
      goto out;
    }
  g_clear_pointer (&stmt, sqlite3_finalize);
  result->status = CLEAVE_OP_CREATED;
  cleave_fault_point ("edit-created");
  NEXT_STAGE (CLEAVE_EDIT_STAGE_COMPUTE);

  /* Changes computed under the lock (a multicut, a supervoxel split). */
  stage = "compute";
  if (spec->apply && !spec->apply (g, &x, spec->apply_data, changes, error))
    goto fail;
  for (guint i = 0; i < changes->len; i++)
    {
      if (g_array_index (changes, EdgeChange, i).active)
        result->n_activated++;
      else
        result->n_deactivated++;
    }
  activated = changes_json (changes, TRUE);
  deactivated = changes_json (changes, FALSE);
  NEXT_STAGE (CLEAVE_EDIT_STAGE_PERSIST);

  /* Persist, in one transaction at the op's time, under the indefinite
   * root lock: if the persist does not end cleanly its cells stay, and
   * the objects are refused to other ops until the op is recovered
   * (shared spec/reference-pcg.md §3.2). */
  stage = "persist";
  if (!_cleave_exec_go_durable (&x, error))
    goto fail;
  if (!_cleave_graph_exec (g->db, g->path, "BEGIN IMMEDIATE", error))
    goto fail;
  for (guint i = 0; i < old_roots->len; i++)
    if (!cleave_graph_get_leaves (g, g_array_index (old_roots, guint64, i), CLEAVE_GRAPH_LATEST, leaves, error))
      goto rollback;
  for (guint i = 0; i < leaves->len; i++)
    {
      guint64 c = _cleave_graph_chunk_on_layer (g, g_array_index (leaves, guint64, i), 2);

      g_hash_table_add (leaf_set, &g_array_index (leaves, guint64, i));
      if (g_hash_table_add (chunks, g_memdup2 (&c, 8)))
        g_array_append_val (chunk_list, c);
    }
  if (!_cleave_graph_chunks_edges (g, (guint64 *) chunk_list->data, chunk_list->len, edges, error))
    goto rollback;
  for (guint i = 0; i < changes->len; i++)
    {
      const EdgeChange *c = &g_array_index (changes, EdgeChange, i);
      g_hash_table_replace (edges, g_memdup2 (c, 16), g_memdup2 (c, sizeof *c));
    }
  /* Edges leaving the touched objects play no part. */
  {
    GHashTableIter it;
    gpointer k, v;

    g_hash_table_iter_init (&it, edges);
    while (g_hash_table_iter_next (&it, &k, &v))
      {
        const EdgeChange *e = v;
        if (!g_hash_table_contains (leaf_set, &e->a) || !g_hash_table_contains (leaf_set, &e->b))
          g_hash_table_iter_remove (&it);
      }
  }
  if (!_cleave_edit_write_edges (g, changes, ts, op, error) ||
      !_cleave_hierarchy_rebuild (g, leaves, edges, ts, result->new_roots, error) ||
      !_cleave_hierarchy_write_lineage (g, old_roots, result->new_roots, ts, error))
    goto rollback;
  /* The new roots are born locked: if the op dies before its clean exit,
   * its successors are refused too, not only the roots it started from. */
  {
    g_autoptr(GError) lock_error = NULL;

    stmt = _cleave_graph_prepare (g->db, g->path,
                                  "INSERT INTO lock (key, kind, op, expires, indefinite_op) VALUES (?, 'root', NULL, NULL, ?) "
                                  "ON CONFLICT (key) DO UPDATE SET indefinite_op = excluded.indefinite_op", error);
    if (stmt == NULL)
      goto rollback;
    new_keys = g_new0 (char *, result->new_roots->len + 1);
    for (guint i = 0; i < result->new_roots->len; i++)
      {
        new_keys[i] = cleave_lock_root_key (g_array_index (result->new_roots, guint64, i));
        sqlite3_reset (stmt);
        sqlite3_bind_text (stmt, 1, new_keys[i], -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) op);
        if (sqlite3_step (stmt) != SQLITE_DONE)
          {
            _cleave_graph_db_error (g->db, g->path, "locking the new roots", error);
            goto rollback;
          }
      }
    g_clear_pointer (&stmt, sqlite3_finalize);
  }
  {
    g_autoptr(GBytes) blob = _cleave_edit_ids_blob ((guint64 *) result->new_roots->data, result->new_roots->len);

    stmt = _cleave_graph_prepare (g->db, g->path,
                                  "UPDATE op SET status = ?, new_roots = ?, activated = ?, deactivated = ? WHERE id = ?", error);
    if (stmt == NULL)
      goto rollback;
    sqlite3_bind_int (stmt, 1, CLEAVE_OP_WRITE_STARTED);
    sqlite3_bind_blob (stmt, 2, g_bytes_get_data (blob, NULL), g_bytes_get_size (blob), SQLITE_TRANSIENT);
    sqlite3_bind_text (stmt, 3, activated, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, deactivated, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, (sqlite3_int64) op);
    if (sqlite3_step (stmt) != SQLITE_DONE)
      {
        _cleave_graph_db_error (g->db, g->path, "writing the op log", error);
        goto rollback;
      }
    g_clear_pointer (&stmt, sqlite3_finalize);
  }
  if (spec->undo_of || spec->redo_of)
    {
      /* Conditional, inside the write transaction: two processes undoing
       * one op both passed the check before their root locks, and the
       * second may have locked the first one's new roots. */
      stmt = _cleave_graph_prepare (g->db, g->path,
                                    spec->undo_of
                                      ? "UPDATE op SET undone_by = ?1 WHERE id = ?2 AND COALESCE (undone_by, 0) = 0"
                                      : "UPDATE op SET undone_by = ?1 WHERE id = ?2 AND COALESCE (undone_by, 0) != 0",
                                    error);
      if (stmt == NULL)
        goto rollback;
      if (spec->undo_of)
        sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) op);
      sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) (spec->undo_of ? spec->undo_of : spec->redo_of));
      if (sqlite3_step (stmt) != SQLITE_DONE)
        {
          _cleave_graph_db_error (g->db, g->path, "writing the op log", error);
          goto rollback;
        }
      if (sqlite3_changes (g->db) != 1)
        {
          g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                       spec->undo_of ? "op %" G_GUINT64_FORMAT " was undone meanwhile by another edit"
                                     : "op %" G_GUINT64_FORMAT " was redone meanwhile by another edit",
                       spec->undo_of ? spec->undo_of : spec->redo_of);
          goto rollback;
        }
      g_clear_pointer (&stmt, sqlite3_finalize);
    }
  if (!_cleave_graph_exec (g->db, g->path, "COMMIT", error))
    goto rollback;
  _cleave_graph_forget_cache (g);
  result->status = CLEAVE_OP_WRITE_STARTED;
  NEXT_STAGE (CLEAVE_EDIT_STAGE_FINISH);
  cleave_fault_point ("edit-written");
  if (!set_status (g, op, CLEAVE_OP_SUCCESS, NULL, error))
    goto out;
  result->status = CLEAVE_OP_SUCCESS;
  ok = TRUE;
  cleave_lock_release (g, keys, old_roots->len, op, TRUE, NULL);
  cleave_lock_release (g, new_keys, result->new_roots->len, op, TRUE, NULL);
  goto out;

rollback:
  _cleave_graph_exec (g->db, g->path, "ROLLBACK", NULL);
  _cleave_graph_forget_cache (g);
fail:
  /* Unknown errors are written on the op row; the original error stands. */
  set_status (g, op, CLEAVE_OP_EXCEPTION, error && *error ? (*error)->message : "unknown error", NULL);
  result->status = CLEAVE_OP_EXCEPTION;
  if (x.indefinite && !x.privileged)
    g_prefix_error (error, "op %" G_GUINT64_FORMAT " failed while writing; its objects stay locked until it is recovered: ", op);
out:
  if (stmt)
    sqlite3_finalize (stmt);
  if (!ok && op != 0)
    write_error_artifact (g, spec, op, stage, error ? *error : NULL);
  if (locked)
    cleave_lock_release (g, keys, old_roots->len, op, FALSE, NULL);
  result->stage_ms[at] += _cleave_edit_ms_since (&clock);
  return ok;
#undef NEXT_STAGE
}

static void
check_sv (guint64  sv,
          const char *what,
          GError **error)
{
  if (sv == 0 && error && *error == NULL)
    g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                 "the %s point is on background (no supervoxel there); click inside an object", what);
  else if (sv != 0 && cleave_node_id_layer (sv) != 1 && error && *error == NULL)
    g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                 "%" G_GUINT64_FORMAT " is not a supervoxel id", sv);
}

static char *
point_json (const char   *name_a,
            const gint64 *a,
            const char   *name_b,
            const gint64 *b,
            guint64       sv_a,
            guint64       sv_b)
{
  return g_strdup_printf ("{\"svs\": [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT "], \"%s\": %s%" G_GINT64_FORMAT
                          ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "%s, \"%s\": %s%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                          ", %" G_GINT64_FORMAT "%s}",
                          sv_a, sv_b, name_a, a ? "[" : "null", a ? a[0] : 0, a ? a[1] : 0, a ? a[2] : 0, a ? "]" : "",
                          name_b, b ? "[" : "null", b ? b[0] : 0, b ? b[1] : 0, b ? b[2] : 0, b ? "]" : "");
}

gboolean
cleave_edit_merge (CleaveGraph      *g,
                   guint64           sv_a,
                   guint64           sv_b,
                   const gint64     *xyz_a,
                   const gint64     *xyz_b,
                   const char       *user,
                   CleaveEditResult *result,
                   GError          **error)
{
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  g_autofree char *inputs = NULL;
  guint64 svs[2] = { sv_a, sv_b }, roots[2];
  EdgeChange c = { MIN (sv_a, sv_b), MAX (sv_a, sv_b), CLEAVE_EDGE_MERGE, MERGE_AFFINITY, 0, TRUE };
  CleaveOpSpec spec = { "merge", user, NULL, 0, 0, .started = cleave_now_ns () };
  GError *pre = NULL;

  memset (result, 0, sizeof *result);
  check_sv (sv_a, "first", &pre);
  check_sv (sv_b, "second", &pre);
  if (pre)
    {
      g_propagate_error (error, pre);
      return FALSE;
    }
  if (!cleave_graph_get_roots (g, svs, 2, CLEAVE_GRAPH_LATEST, roots, error))
    return FALSE;
  if (roots[0] == roots[1])
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                   "both points are in object %" G_GUINT64_FORMAT " already; nothing to merge", roots[0]);
      return FALSE;
    }
  inputs = point_json ("a", xyz_a, "b", xyz_b, sv_a, sv_b);
  spec.inputs = inputs;
  g_array_append_val (changes, c);
  return _cleave_edit_execute (g, &spec, changes, result, error);
}

gboolean
_cleave_edit_removal_changes (CleaveGraph   *g,
                              const guint64 *pairs,
                              guint          n,
                              GArray        *changes,
                              GError       **error)
{
  g_autoptr(GHashTable) found = g_hash_table_new_full (_cleave_graph_pair_hash, _cleave_graph_pair_equal, g_free, g_free);
  g_autoptr(GHashTable) chunks = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint i = 0; i < n; i++)
    {
      EdgeChange c = { MIN (pairs[2 * i], pairs[2 * i + 1]), MAX (pairs[2 * i], pairs[2 * i + 1]),
                       CLEAVE_EDGE_IN_CHUNK, 0, 0, FALSE };
      guint64 chunk = _cleave_graph_chunk_on_layer (g, c.a, 2);
      EdgeChange *cur;

      /* Keep the edge's kind, affinity and area: only its state changes.
       * Each chunk's edges are read once, however many cut edges it holds. */
      if (g_hash_table_add (chunks, g_memdup2 (&chunk, 8)) && !_cleave_graph_chunk_edges (g, chunk, found, error))
        return FALSE;
      cur = g_hash_table_lookup (found, &c);
      if (cur == NULL || !cur->active)
        {
          g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                       "no joining edge between %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT, c.a, c.b);
          return FALSE;
        }
      c.kind = cur->kind;
      c.affinity = cur->affinity;
      c.area = cur->area;
      g_array_append_val (changes, c);
    }
  return TRUE;
}

gboolean
cleave_edit_remove_edges (CleaveGraph      *g,
                          const char       *kind,
                          const guint64    *pairs,
                          guint             n,
                          const char       *inputs,
                          const char       *user,
                          CleaveEditResult *result,
                          GError          **error)
{
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  CleaveOpSpec spec = { kind, user, inputs, 0, 0, .started = cleave_now_ns () };

  memset (result, 0, sizeof *result);
  if (n == 0)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION, "no edges to remove");
      return FALSE;
    }
  if (!_cleave_edit_removal_changes (g, pairs, n, changes, error))
    return FALSE;
  return _cleave_edit_execute (g, &spec, changes, result, error);
}

static gboolean
load_op (CleaveGraph  *g,
         guint64       id,
         CleaveOpInfo *info,
         char        **activated,
         char        **deactivated,
         GError      **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT kind, status, activated, deactivated, undone_by FROM op WHERE id = ?", error);
  gboolean ok = FALSE;

  if (stmt == NULL)
    return FALSE;
  sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) id);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    {
      info->id = id;
      info->kind = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
      info->status = sqlite3_column_int (stmt, 1);
      *activated = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      *deactivated = g_strdup ((const char *) sqlite3_column_text (stmt, 3));
      info->undone_by = (guint64) sqlite3_column_int64 (stmt, 4);
      ok = TRUE;
    }
  else
    g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_NOT_FOUND, "%s: no op %" G_GUINT64_FORMAT, g->dir, id);
  sqlite3_finalize (stmt);
  return ok;
}

static gboolean
revert (CleaveGraph      *g,
        guint64           target,
        gboolean          undo,
        const char       *user,
        CleaveEditResult *result,
        GError          **error)
{
  g_auto(CleaveOpInfo) info = { 0 };
  g_autofree char *activated = NULL;
  g_autofree char *deactivated = NULL;
  g_autofree char *inputs = g_strdup_printf ("{\"%s\": %" G_GUINT64_FORMAT "}", undo ? "undo_of" : "redo_of", target);
  g_autoptr(GArray) changes = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
  CleaveOpSpec spec = { undo ? "undo" : "redo", user, inputs, undo ? target : 0, undo ? 0 : target,
                        .started = cleave_now_ns () };

  memset (result, 0, sizeof *result);
  if (!load_op (g, target, &info, &activated, &deactivated, error))
    return FALSE;
  if (info.status != CLEAVE_OP_SUCCESS)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                   "op %" G_GUINT64_FORMAT " did not succeed (%s); there is nothing to %s",
                   target, cleave_op_status_name (info.status), undo ? "undo" : "redo");
      return FALSE;
    }
  if (undo && info.undone_by != 0)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                   "op %" G_GUINT64_FORMAT " was undone already (by op %" G_GUINT64_FORMAT ")", target, info.undone_by);
      return FALSE;
    }
  if (!undo && info.undone_by == 0)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                   "op %" G_GUINT64_FORMAT " is in effect; only an undone op can be redone", target);
      return FALSE;
    }
  /* Undo flips every change; redo makes them again. */
  parse_changes (activated, !undo, changes);
  parse_changes (deactivated, undo, changes);
  if (changes->len == 0)
    {
      g_set_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION,
                   "op %" G_GUINT64_FORMAT " changed no edges", target);
      return FALSE;
    }
  return _cleave_edit_execute (g, &spec, changes, result, error);
}

gboolean
cleave_edit_undo (CleaveGraph      *g,
                  guint64           op,
                  const char       *user,
                  CleaveEditResult *result,
                  GError          **error)
{
  return revert (g, op, TRUE, user, result, error);
}

gboolean
cleave_edit_redo (CleaveGraph      *g,
                  guint64           op,
                  const char       *user,
                  CleaveEditResult *result,
                  GError          **error)
{
  return revert (g, op, FALSE, user, result, error);
}

GArray *
cleave_edit_list_ops (CleaveGraph *g,
                      GError     **error)
{
  sqlite3_stmt *stmt = _cleave_graph_prepare (g->db, g->path,
                                              "SELECT id, kind, user, status, ts, inputs, new_roots, undo_of, redo_of, "
                                              "undone_by, exception, l2_scope, activated, deactivated FROM op ORDER BY id", error);
  GArray *out;

  if (stmt == NULL)
    return NULL;
  out = g_array_new (FALSE, TRUE, sizeof (CleaveOpInfo));
  g_array_set_clear_func (out, (GDestroyNotify) cleave_op_info_clear);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    {
      CleaveOpInfo i = { 0 };
      g_autoptr(GArray) on = g_array_new (FALSE, FALSE, sizeof (EdgeChange));
      g_autoptr(GArray) off = g_array_new (FALSE, FALSE, sizeof (EdgeChange));

      i.id = (guint64) sqlite3_column_int64 (stmt, 0);
      i.kind = g_strdup ((const char *) sqlite3_column_text (stmt, 1));
      i.user = g_strdup ((const char *) sqlite3_column_text (stmt, 2));
      i.status = sqlite3_column_int (stmt, 3);
      i.ts = sqlite3_column_int64 (stmt, 4);
      i.inputs = g_strdup ((const char *) sqlite3_column_text (stmt, 5));
      i.new_roots = _cleave_edit_blob_ids (sqlite3_column_blob (stmt, 6), sqlite3_column_bytes (stmt, 6));
      i.undo_of = (guint64) sqlite3_column_int64 (stmt, 7);
      i.redo_of = (guint64) sqlite3_column_int64 (stmt, 8);
      i.undone_by = (guint64) sqlite3_column_int64 (stmt, 9);
      i.exception = g_strdup ((const char *) sqlite3_column_text (stmt, 10));
      i.l2_scope = _cleave_edit_blob_ids (sqlite3_column_blob (stmt, 11), sqlite3_column_bytes (stmt, 11));
      parse_changes ((const char *) sqlite3_column_text (stmt, 12), TRUE, on);
      parse_changes ((const char *) sqlite3_column_text (stmt, 13), FALSE, off);
      i.n_activated = on->len;
      i.n_deactivated = off->len;
      g_array_append_val (out, i);
    }
  sqlite3_finalize (stmt);
  return out;
}
