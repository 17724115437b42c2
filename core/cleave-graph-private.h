/* cleave-graph-private.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph handle's insides, shared by the graph (cleave-graph.c), its
 * edits (cleave-edit.c) and locks (cleave-lock.c). Not installed.
 */

#pragma once

#include <sqlite3.h>

#include "cleave-graph.h"

G_BEGIN_DECLS

/* The layout version written into a graph's meta. */
#define CLEAVE_GRAPH_FORMAT_VERSION "1"

struct _CleaveGraph
{
  char            *path;
  char            *dir;            /* the dataset */
  sqlite3         *db;
  sqlite3_stmt    *parent_at;
  sqlite3_stmt    *children_at;
  sqlite3_stmt    *data_version;
  CleaveGraphMeta  meta;
  GHashTable      *parents;        /* latest parent of a node, cached */
  GHashTable      *roots;          /* latest root of a supervoxel, cached */
  gint64           cached_version;
};

char         *_cleave_graph_path        (const char   *dataset_dir);
sqlite3      *_cleave_graph_open_db     (const char   *path,
                                         gboolean      create,
                                         GError      **error);
gboolean      _cleave_graph_db_error    (sqlite3      *db,
                                         const char   *path,
                                         const char   *doing,
                                         GError      **error);
gboolean      _cleave_graph_exec        (sqlite3      *db,
                                         const char   *path,
                                         const char   *sql,
                                         GError      **error);
sqlite3_stmt *_cleave_graph_prepare     (sqlite3      *db,
                                         const char   *path,
                                         const char   *sql,
                                         GError      **error);
char         *_cleave_graph_meta_get    (sqlite3      *db,
                                         const char   *key);
gboolean      _cleave_graph_meta_set    (sqlite3      *db,
                                         const char   *path,
                                         const char   *key,
                                         const char   *value,
                                         GError      **error);
gboolean      _cleave_graph_parent_of   (CleaveGraph  *graph,
                                         guint64       node,
                                         gint64        ts,
                                         guint64      *parent,
                                         GError      **error);
gboolean      _cleave_graph_children_of (CleaveGraph  *graph,
                                         guint64       node,
                                         gint64        ts,
                                         GArray       *out,
                                         GError      **error);
/* An atomic edge's state (a < b): as stored, or as an edit makes it. The
 * first 16 bytes (a, b) are the key in edge tables. */
typedef struct
{
  guint64  a, b;
  int      kind;
  double   affinity;
  guint64  area;
  gboolean active;
} EdgeChange;

/* The chunk id on @layer (fanout 2) of a node of a lower layer. */
guint64       _cleave_graph_chunk_on_layer (CleaveGraph *graph,
                                            guint64      node,
                                            guint        layer);
/* The newest state of every edge stored under L2 @chunk, into @edges
 * (keyed by the (a, b) pair; values EdgeChange). */
gboolean      _cleave_graph_chunk_edges  (CleaveGraph  *graph,
                                          guint64       chunk,
                                          GHashTable   *edges,
                                          GError      **error);
/* The same for each of the @n chunks @chunks, in that order, through one
 * prepared statement. */
gboolean      _cleave_graph_chunks_edges (CleaveGraph   *graph,
                                          const guint64 *chunks,
                                          guint          n,
                                          GHashTable    *edges,
                                          GError       **error);
guint         _cleave_graph_pair_hash    (gconstpointer pair);
gboolean      _cleave_graph_pair_equal   (gconstpointer a,
                                          gconstpointer b);

/* After this connection wrote: its own writes do not move data_version. */
void          _cleave_graph_forget_cache (CleaveGraph *graph);

G_END_DECLS
