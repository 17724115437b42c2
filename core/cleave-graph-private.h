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
  gint64           cached_version;
};

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
/* After this connection wrote: its own writes do not move data_version. */
void          _cleave_graph_forget_cache (CleaveGraph *graph);

G_END_DECLS
