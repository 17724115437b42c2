/* cleave-graph.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-graph"

#include "cleave-graph.h"
#include "cleave-graph-private.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "cleave-node-id.h"

G_DEFINE_QUARK (cleave-graph-error-quark, cleave_graph_error)

#define BUSY_TIMEOUT_MS 30000

static const char *schema =
  "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  /* Next segment id per chunk id (layer and coordinates, segment bits 0). */
  "CREATE TABLE IF NOT EXISTS counter (chunk INTEGER PRIMARY KEY, next INTEGER NOT NULL);"
  /* The hierarchy, one cell per write: a read as of T takes the newest
   * cell with ts <= T. */
  "CREATE TABLE IF NOT EXISTS parent (node INTEGER NOT NULL, ts INTEGER NOT NULL, parent INTEGER NOT NULL,"
  "  PRIMARY KEY (node, ts)) WITHOUT ROWID;"
  "CREATE TABLE IF NOT EXISTS child (node INTEGER NOT NULL, ts INTEGER NOT NULL, children BLOB NOT NULL,"
  "  PRIMARY KEY (node, ts)) WITHOUT ROWID;"
  /* Atomic edges (a < b), kept under the L2 chunk of each endpoint so a
   * local subgraph is a range query over the chunks of a box. One row per
   * change: the newest row at or before T says whether the edge joins its
   * supervoxels into one object (active) as of T. */
  "CREATE TABLE IF NOT EXISTS edge (l2chunk INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL,"
  "  ts INTEGER NOT NULL, kind INTEGER NOT NULL, affinity REAL NOT NULL, area INTEGER NOT NULL,"
  "  active INTEGER NOT NULL, op INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (l2chunk, a, b, ts)) WITHOUT ROWID;"
  /* Identity across edits: on a new root, the roots it replaced (former);
   * on an old root, the roots that replaced it (new). */
  "CREATE TABLE IF NOT EXISTS lineage (node INTEGER NOT NULL, kind INTEGER NOT NULL, ts INTEGER NOT NULL,"
  "  ids BLOB NOT NULL, PRIMARY KEY (node, kind, ts)) WITHOUT ROWID;"
  /* The op log (shared spec/reference-pcg.md §4). */
  "CREATE TABLE IF NOT EXISTS op (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, user TEXT NOT NULL,"
  "  status INTEGER NOT NULL, ts INTEGER NOT NULL, inputs TEXT NOT NULL, activated BLOB, deactivated BLOB,"
  "  new_roots BLOB, undo_of INTEGER, redo_of INTEGER, undone_by INTEGER, exception TEXT, l2_scope BLOB);"
  /* Locks: one row per key (root, l2chunk or downsample block), a
   * temporal cell (op and expiry) and an indefinite cell (op, never expires). */
  "CREATE TABLE IF NOT EXISTS lock (key TEXT PRIMARY KEY, kind TEXT NOT NULL, op INTEGER, expires INTEGER,"
  "  indefinite_op INTEGER) WITHOUT ROWID;"
  /* Ingest progress: a chunk of a layer is done when its nodes are written. */
  "CREATE TABLE IF NOT EXISTS ingest_chunk (layer INTEGER NOT NULL, chunk INTEGER NOT NULL,"
  "  PRIMARY KEY (layer, chunk)) WITHOUT ROWID;"
  /* Work for the downsample worker (cleave-queue.h): an op's mip-0 bboxes
   * (6 little-endian int64 each); a claim (a token, and not_before as its
   * expiry) or, after a failure, the time of the next try. */
  "CREATE TABLE IF NOT EXISTS edit_queue (id INTEGER PRIMARY KEY AUTOINCREMENT, op INTEGER NOT NULL,"
  "  downsample INTEGER NOT NULL DEFAULT 1, bboxes BLOB NOT NULL, enqueued INTEGER NOT NULL, claim INTEGER,"
  "  not_before INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0, error TEXT);";


gboolean
_cleave_graph_db_error (sqlite3     *db,
          const char  *path,
          const char  *doing,
          GError     **error)
{
  g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_DATABASE, "%s: %s: %s",
               path, doing, db ? sqlite3_errmsg (db) : "out of memory");
  return FALSE;
}

gboolean
_cleave_graph_exec (sqlite3     *db,
      const char  *path,
      const char  *sql,
      GError     **error)
{
  if (sqlite3_exec (db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return _cleave_graph_db_error (db, path, sql, error);
  return TRUE;
}

sqlite3_stmt *
_cleave_graph_prepare (sqlite3     *db,
         const char  *path,
         const char  *sql,
         GError     **error)
{
  sqlite3_stmt *stmt = NULL;

  if (sqlite3_prepare_v3 (db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK)
    {
      _cleave_graph_db_error (db, path, sql, error);
      return NULL;
    }
  return stmt;
}

sqlite3 *
_cleave_graph_open_db (const char *path,
         gboolean    create,
         GError    **error)
{
  sqlite3 *db = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);

  if (sqlite3_open_v2 (path, &db, flags, NULL) != SQLITE_OK)
    {
      _cleave_graph_db_error (db, path, "cannot open", error);
      sqlite3_close (db);
      return NULL;
    }
  sqlite3_busy_timeout (db, BUSY_TIMEOUT_MS);
  if (!_cleave_graph_exec (db, path, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", error) ||
      !_cleave_graph_exec (db, path, schema, error))
    {
      sqlite3_close (db);
      return NULL;
    }
  return db;
}

char *
_cleave_graph_meta_get (sqlite3    *db,
          const char *key)
{
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT value FROM meta WHERE key = ?", -1, &stmt, NULL) != SQLITE_OK)
    return NULL;
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  return value;
}

gboolean
_cleave_graph_meta_set (sqlite3     *db,
          const char  *path,
          const char  *key,
          const char  *value,
          GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc;

  if (sqlite3_prepare_v2 (db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", -1, &stmt, NULL) != SQLITE_OK)
    return _cleave_graph_db_error (db, path, "meta", error);
  sqlite3_bind_text (stmt, 1, key, -1, SQLITE_STATIC);
  sqlite3_bind_text (stmt, 2, value, -1, SQLITE_STATIC);
  rc = sqlite3_step (stmt);
  sqlite3_finalize (stmt);
  return rc == SQLITE_DONE || _cleave_graph_db_error (db, path, "meta", error);
}

static gboolean
parse_triple (const char *text,
              double      out[3])
{
  char *end;

  if (text == NULL)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    {
      out[i] = g_ascii_strtod (text, &end);
      if (end == text || (i < 2 && *end != ','))
        return FALSE;
      text = end + 1;
    }
  return TRUE;
}

static gboolean
read_meta (sqlite3         *db,
           const char      *path,
           CleaveGraphMeta *m,
           GError         **error)
{
  g_autofree char *size = _cleave_graph_meta_get (db, "size");
  g_autofree char *offset = _cleave_graph_meta_get (db, "voxel_offset");
  g_autofree char *chunk = _cleave_graph_meta_get (db, "chunk_size");
  g_autofree char *res = _cleave_graph_meta_get (db, "resolution");
  g_autofree char *fanout = _cleave_graph_meta_get (db, "fanout");
  g_autofree char *layers = _cleave_graph_meta_get (db, "n_layers");
  g_autofree char *bits = _cleave_graph_meta_get (db, "spatial_bits");
  double v[3];

  if (!parse_triple (size, v))
    goto bad;
  for (guint i = 0; i < 3; i++)
    m->size[i] = (gint64) v[i];
  if (!parse_triple (offset, v))
    goto bad;
  for (guint i = 0; i < 3; i++)
    m->voxel_offset[i] = (gint64) v[i];
  if (!parse_triple (chunk, v))
    goto bad;
  for (guint i = 0; i < 3; i++)
    m->chunk[i] = (guint) v[i];
  if (!parse_triple (res, m->resolution) || fanout == NULL || layers == NULL || bits == NULL)
    goto bad;
  m->fanout = atoi (fanout);
  m->n_layers = atoi (layers);
  m->spatial_bits = atoi (bits);
  if (m->fanout != 2 || m->n_layers < 3 || m->n_layers > 20 || m->spatial_bits < 1 || m->spatial_bits > 16)
    goto bad;
  return TRUE;

bad:
  g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT, "%s: the graph's metadata is damaged", path);
  return FALSE;
}

guint
cleave_graph_chunk_bits (CleaveGraph *graph,
                         guint        layer)
{
  return cleave_node_bits_per_axis (layer, graph->meta.n_layers, graph->meta.spatial_bits);
}

char *
_cleave_graph_path (const char *dataset_dir)
{
  return g_build_filename (dataset_dir, "graph.sqlite", NULL);
}

CleaveGraph *
cleave_graph_open (const char *dataset_dir,
                   GError    **error)
{
  g_autoptr(CleaveGraph) graph = g_new0 (CleaveGraph, 1);
  g_autofree char *state = NULL;

  graph->path = _cleave_graph_path (dataset_dir);
  graph->dir = g_strdup (dataset_dir);
  graph->parents = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  graph->roots = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  graph->cached_version = -1;
  if (!g_file_test (graph->path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND,
                   "%s: no graph yet; build it with `cleavectl ingest %s`", dataset_dir, dataset_dir);
      return NULL;
    }
  graph->db = _cleave_graph_open_db (graph->path, FALSE, error);
  if (graph->db == NULL)
    return NULL;
  state = _cleave_graph_meta_get (graph->db, "ingest");
  if (g_strcmp0 (state, "done") != 0)
    {
      g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_INCOMPLETE,
                   "%s: the graph's ingest did not finish; run `cleavectl ingest %s` to complete it",
                   dataset_dir, dataset_dir);
      return NULL;
    }
  if (!read_meta (graph->db, graph->path, &graph->meta, error))
    return NULL;
  graph->parent_at = _cleave_graph_prepare (graph->db, graph->path,
                              "SELECT parent FROM parent WHERE node = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT 1", error);
  graph->children_at = _cleave_graph_prepare (graph->db, graph->path,
                                "SELECT children FROM child WHERE node = ?1 AND ts <= ?2 ORDER BY ts DESC LIMIT 1", error);
  graph->data_version = _cleave_graph_prepare (graph->db, graph->path, "PRAGMA data_version", error);
  if (graph->parent_at == NULL || graph->children_at == NULL || graph->data_version == NULL)
    return NULL;
  return g_steal_pointer (&graph);
}

void
cleave_graph_free (CleaveGraph *graph)
{
  if (graph == NULL)
    return;
  sqlite3_finalize (graph->parent_at);
  sqlite3_finalize (graph->children_at);
  sqlite3_finalize (graph->data_version);
  sqlite3_close (graph->db);
  g_hash_table_unref (graph->parents);
  g_hash_table_unref (graph->roots);
  g_free (graph->path);
  g_free (graph->dir);
  g_free (graph);
}

const CleaveGraphMeta *
cleave_graph_get_meta (CleaveGraph *graph)
{
  return &graph->meta;
}

/* The parent of @node as of @ts, 0 when it has none (a root). */
gboolean
_cleave_graph_parent_of (CleaveGraph *graph,
           guint64      node,
           gint64       ts,
           guint64     *parent,
           GError     **error)
{
  int rc;

  if (ts == CLEAVE_GRAPH_LATEST)
    {
      gpointer cached;

      if (g_hash_table_lookup_extended (graph->parents, &node, NULL, &cached))
        {
          *parent = *(guint64 *) cached;
          return TRUE;
        }
    }
  sqlite3_reset (graph->parent_at);
  sqlite3_bind_int64 (graph->parent_at, 1, (sqlite3_int64) node);
  sqlite3_bind_int64 (graph->parent_at, 2, ts);
  rc = sqlite3_step (graph->parent_at);
  if (rc == SQLITE_ROW)
    *parent = (guint64) sqlite3_column_int64 (graph->parent_at, 0);
  else if (rc == SQLITE_DONE)
    *parent = 0;
  else
    return _cleave_graph_db_error (graph->db, graph->path, "reading a parent", error);
  sqlite3_reset (graph->parent_at);
  if (ts == CLEAVE_GRAPH_LATEST)
    {
      /* Key and value in one allocation: the table frees the key. */
      guint64 *kv = g_new (guint64, 2);

      kv[0] = node;
      kv[1] = *parent;
      g_hash_table_insert (graph->parents, kv, kv + 1);
    }
  return TRUE;
}

void
_cleave_graph_forget_cache (CleaveGraph *graph)
{
  g_hash_table_remove_all (graph->parents);
  g_hash_table_remove_all (graph->roots);
}

/* Drops the cache when another connection (or this one) changed the
 * graph since it was filled. */
static gboolean
check_cache (CleaveGraph *graph,
             GError     **error)
{
  gint64 version;

  sqlite3_reset (graph->data_version);
  if (sqlite3_step (graph->data_version) != SQLITE_ROW)
    return _cleave_graph_db_error (graph->db, graph->path, "data_version", error);
  version = sqlite3_column_int64 (graph->data_version, 0);
  sqlite3_reset (graph->data_version);
  if (version != graph->cached_version)
    {
      _cleave_graph_forget_cache (graph);
      graph->cached_version = version;
    }
  return TRUE;
}

gboolean
cleave_graph_get_roots (CleaveGraph   *graph,
                        const guint64 *svs,
                        gsize          n,
                        gint64         ts,
                        guint64       *roots,
                        GError       **error)
{
  if (ts == CLEAVE_GRAPH_LATEST && !check_cache (graph, error))
    return FALSE;
  for (gsize i = 0; i < n; i++)
    {
      guint64 node = svs[i], parent;
      guint steps = 0;

      roots[i] = 0;
      if (node == 0)
        continue;
      /* Latest reads: one lookup for a supervoxel seen before. */
      if (ts == CLEAVE_GRAPH_LATEST)
        {
          guint64 *known = g_hash_table_lookup (graph->roots, &node);

          if (known != NULL)
            {
              roots[i] = *known;
              continue;
            }
        }
      for (;;)
        {
          if (!_cleave_graph_parent_of (graph, node, ts, &parent, error))
            return FALSE;
          if (parent == 0)
            break;
          node = parent;
          if (++steps > 64)
            {
              g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_CORRUPT,
                           "%s: the parents of %" G_GUINT64_FORMAT " form a cycle", graph->path, svs[i]);
              return FALSE;
            }
        }
      if (node == svs[i] || cleave_node_id_layer (node) != graph->meta.n_layers)
        {
          g_set_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND,
                       "%s: supervoxel %" G_GUINT64_FORMAT " has no root%s", graph->path, svs[i],
                       ts == CLEAVE_GRAPH_LATEST ? "" : " at that time");
          return FALSE;
        }
      roots[i] = node;
      if (ts == CLEAVE_GRAPH_LATEST)
        {
          guint64 *kv = g_new (guint64, 2);

          kv[0] = svs[i];
          kv[1] = node;
          g_hash_table_insert (graph->roots, kv, kv + 1);
        }
    }
  return TRUE;
}

gboolean
_cleave_graph_children_of (CleaveGraph *graph,
             guint64      node,
             gint64       ts,
             GArray      *out,
             GError     **error)
{
  int rc;

  sqlite3_reset (graph->children_at);
  sqlite3_bind_int64 (graph->children_at, 1, (sqlite3_int64) node);
  sqlite3_bind_int64 (graph->children_at, 2, ts);
  rc = sqlite3_step (graph->children_at);
  if (rc == SQLITE_ROW)
    {
      const guint8 *blob = sqlite3_column_blob (graph->children_at, 0);
      int len = sqlite3_column_bytes (graph->children_at, 0);

      for (int k = 0; k + 8 <= len; k += 8)
        {
          guint64 c;
          memcpy (&c, blob + k, 8);
          c = GUINT64_FROM_LE (c);
          g_array_append_val (out, c);
        }
    }
  else if (rc != SQLITE_DONE)
    return _cleave_graph_db_error (graph->db, graph->path, "reading children", error);
  sqlite3_reset (graph->children_at);
  return TRUE;
}

gboolean
cleave_graph_get_leaves (CleaveGraph *graph,
                         guint64      node,
                         gint64       ts,
                         GArray      *out,
                         GError     **error)
{
  g_autoptr(GArray) level = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_array_append_val (level, node);
  while (level->len > 0)
    {
      g_autoptr(GArray) next = g_array_new (FALSE, FALSE, sizeof (guint64));

      for (guint i = 0; i < level->len; i++)
        {
          guint64 n = g_array_index (level, guint64, i);

          if (cleave_node_id_layer (n) <= 1)
            g_array_append_val (out, n);
          else if (!_cleave_graph_children_of (graph, n, ts, next, error))
            return FALSE;
        }
      g_array_unref (level);
      level = g_steal_pointer (&next);
    }
  return TRUE;
}

guint64
_cleave_graph_chunk_on_layer (CleaveGraph *g,
                              guint64      node,
                              guint        layer)
{
  return cleave_node_chunk_on_layer (node, layer, g->meta.n_layers, g->meta.spatial_bits);
}

/* One prepared statement for all the chunks: a multicut, or the persist of
 * a large object, reads dozens of chunks, and preparing the query anew
 * for each cost as much as reading its rows. */
gboolean
_cleave_graph_chunks_edges (CleaveGraph   *g,
                            const guint64 *chunks,
                            guint          n,
                            GHashTable    *edges,
                            GError       **error)
{
  sqlite3_stmt *stmt = NULL;
  gboolean ok = TRUE;
  int rc;

  if (n == 0)
    return TRUE;
  stmt = _cleave_graph_prepare (g->db, g->path,
                                "SELECT a, b, kind, affinity, area, active FROM edge WHERE l2chunk = ? ORDER BY a, b, ts",
                                error);
  if (stmt == NULL)
    return FALSE;
  for (guint i = 0; i < n && ok; i++)
    {
      sqlite3_reset (stmt);
      sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) chunks[i]);
      while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        {
          EdgeChange e = {
            (guint64) sqlite3_column_int64 (stmt, 0), (guint64) sqlite3_column_int64 (stmt, 1),
            sqlite3_column_int (stmt, 2), sqlite3_column_double (stmt, 3),
            (guint64) sqlite3_column_int64 (stmt, 4), sqlite3_column_int (stmt, 5),
          };

          /* Rows come oldest first per pair: the last one wins. */
          g_hash_table_replace (edges, g_memdup2 (&e, 16), g_memdup2 (&e, sizeof e));
        }
      if (rc != SQLITE_DONE)
        ok = _cleave_graph_db_error (g->db, g->path, "reading edges", error);
    }
  sqlite3_finalize (stmt);
  return ok;
}

gboolean
_cleave_graph_chunk_edges (CleaveGraph *g,
                           guint64      chunk,
                           GHashTable  *edges,
                           GError     **error)
{
  return _cleave_graph_chunks_edges (g, &chunk, 1, edges, error);
}

guint
_cleave_graph_pair_hash (gconstpointer p)
{
  const guint64 *k = p;
  return g_int64_hash (&k[0]) * 31 + g_int64_hash (&k[1]);
}

gboolean
_cleave_graph_pair_equal (gconstpointer a,
                          gconstpointer b)
{
  return memcmp (a, b, 16) == 0;
}
