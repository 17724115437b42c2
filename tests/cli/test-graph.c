/* test-graph.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The graph built from the demo: roots against an independent union-find
 * over the agglomeration's edges, parents and children agreeing, an ingest
 * killed after its first chunk resuming to exactly the same graph, and the
 * refusals (no graph, unfinished ingest, overwrite without --force).
 */

#include "cleave-fault.h"
#include "cleave-graph.h"
#include "cleave-node-id.h"
#include "cleave-test.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

static char *
make_demo (const char *tmp,
           const char *name)
{
  char *dir = g_build_filename (tmp, name, NULL);
  g_auto(CleaveTestRun) run = { 0 };

  RUN (&run, "demo", dir, "--size", "128,128,32", "--chunk", "32,32,16", "--seed", "4");
  if (run.status != 0)
    g_error ("demo failed: %s", run.err);
  return dir;
}

typedef struct
{
  GArray     *svs;      /* guint64 */
  GHashTable *agg;      /* sv -> agglomeration */
  GArray     *pairs;    /* guint64 a, b of edges inside one agglomeration */
} Inputs;

static void
read_inputs (const char *dir,
             Inputs     *in)
{
  g_autofree char *agg_path = g_build_filename (dir, "agglomeration.tsv", NULL);
  g_autofree char *edge_path = g_build_filename (dir, "edges.tsv", NULL);
  g_autofree char *agg_text = NULL;
  g_autofree char *edge_text = NULL;
  g_auto(GStrv) lines = NULL;

  in->svs = g_array_new (FALSE, FALSE, sizeof (guint64));
  in->agg = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  in->pairs = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_assert_true (g_file_get_contents (agg_path, &agg_text, NULL, NULL));
  g_assert_true (g_file_get_contents (edge_path, &edge_text, NULL, NULL));
  lines = g_strsplit (agg_text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv, a;

      if (lines[i][0] == '#' || !lines[i][0])
        continue;
      g_assert_cmpint (sscanf (lines[i], "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT, &sv, &a), ==, 2);
      g_array_append_val (in->svs, sv);
      g_hash_table_insert (in->agg, g_memdup2 (&sv, 8), g_memdup2 (&a, 8));
    }
  g_strfreev (lines);
  lines = g_strsplit (edge_text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 a, b;

      if (lines[i][0] == '#' || !lines[i][0])
        continue;
      g_assert_cmpint (sscanf (lines[i], "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT, &a, &b), ==, 2);
      if (*(guint64 *) g_hash_table_lookup (in->agg, &a) == *(guint64 *) g_hash_table_lookup (in->agg, &b))
        {
          g_array_append_val (in->pairs, a);
          g_array_append_val (in->pairs, b);
        }
    }
}

static void
inputs_clear (Inputs *in)
{
  g_array_unref (in->svs);
  g_hash_table_unref (in->agg);
  g_array_unref (in->pairs);
}

static guint64
find (GHashTable *p,
      guint64     x)
{
  guint64 *up;

  while ((up = g_hash_table_lookup (p, &x)) != NULL && *up != x)
    x = *up;
  return x;
}

/* Objects are the connected components of the agglomeration's edges. */
static void
test_roots_match_components (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_demo (tmp, "g.cleave");
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) graph = cleave_graph_open (dir, &error);
  g_autoptr(GHashTable) uf = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) root_of_component = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) component_of_root = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autofree guint64 *roots = NULL;
  Inputs in;

  g_assert_no_error (error);
  read_inputs (dir, &in);
  for (guint i = 0; i < in.svs->len; i++)
    g_hash_table_insert (uf, g_memdup2 (&g_array_index (in.svs, guint64, i), 8),
                         g_memdup2 (&g_array_index (in.svs, guint64, i), 8));
  for (guint e = 0; e < in.pairs->len; e += 2)
    {
      guint64 a = find (uf, g_array_index (in.pairs, guint64, e)), b = find (uf, g_array_index (in.pairs, guint64, e + 1));
      if (a != b)
        g_hash_table_insert (uf, g_memdup2 (&a, 8), g_memdup2 (&b, 8));
    }

  roots = g_new (guint64, in.svs->len);
  g_assert_true (cleave_graph_get_roots (graph, (guint64 *) in.svs->data, in.svs->len, CLEAVE_GRAPH_LATEST, roots, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < in.svs->len; i++)
    {
      guint64 c = find (uf, g_array_index (in.svs, guint64, i));
      guint64 *r = g_hash_table_lookup (root_of_component, &c);
      guint64 *back = g_hash_table_lookup (component_of_root, &roots[i]);

      g_assert_cmpuint (cleave_node_id_layer (roots[i]), ==, cleave_graph_get_meta (graph)->n_layers);
      if (r == NULL)
        {
          g_assert_null (back);   /* one root per component */
          g_hash_table_insert (root_of_component, g_memdup2 (&c, 8), g_memdup2 (&roots[i], 8));
          g_hash_table_insert (component_of_root, g_memdup2 (&roots[i], 8), g_memdup2 (&c, 8));
        }
      else
        g_assert_cmpuint (*r, ==, roots[i]);
    }

  /* Children and parents agree: the leaves of each root are exactly the
   * supervoxels whose root it is. */
  {
    GHashTableIter it;
    gpointer k, v;
    guint64 total = 0;

    g_hash_table_iter_init (&it, component_of_root);
    while (g_hash_table_iter_next (&it, &k, &v))
      {
        g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint64));
        g_autofree guint64 *lr = NULL;

        g_assert_true (cleave_graph_get_leaves (graph, *(guint64 *) k, CLEAVE_GRAPH_LATEST, leaves, &error));
        lr = g_new (guint64, MAX (leaves->len, 1));
        g_assert_true (cleave_graph_get_roots (graph, (guint64 *) leaves->data, leaves->len, CLEAVE_GRAPH_LATEST, lr, &error));
        for (guint i = 0; i < leaves->len; i++)
          g_assert_cmpuint (lr[i], ==, *(guint64 *) k);
        total += leaves->len;
      }
    g_assert_cmpuint (total, ==, in.svs->len);
  }

  /* As of before the ingest there is nothing. */
  g_assert_false (cleave_graph_get_roots (graph, (guint64 *) in.svs->data, 1, 1, roots, &error));
  g_assert_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_NOT_FOUND);
  inputs_clear (&in);
  cleave_test_rm_rf (tmp);
}

/* (node, parent) of every parent cell, sorted, without times. */
static char *
hierarchy_dump (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "graph.sqlite", NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;

  g_assert_cmpint (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT node, parent FROM parent ORDER BY node", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "%lld %lld\n", sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1));
  sqlite3_finalize (stmt);
  g_assert_cmpint (sqlite3_prepare_v2 (db, "SELECT chunk, next FROM counter ORDER BY chunk", -1, &stmt, NULL), ==, SQLITE_OK);
  while (sqlite3_step (stmt) == SQLITE_ROW)
    g_string_append_printf (out, "counter %lld %lld\n", sqlite3_column_int64 (stmt, 0), sqlite3_column_int64 (stmt, 1));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
test_resume_and_refusals (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_demo (tmp, "r.cleave");
  g_autofree char *graph_file = g_build_filename (dir, "graph.sqlite", NULL);
  g_autofree char *whole = hierarchy_dump (dir);
  g_autofree char *resumed = NULL;
  g_auto(CleaveTestRun) again = { 0 };
  g_auto(CleaveTestRun) killed = { 0 };
  g_auto(CleaveTestRun) lookup = { 0 };
  g_auto(CleaveTestRun) finish = { 0 };
  g_auto(CleaveTestRun) forced = { 0 };
  g_auto(CleaveTestRun) no_graph = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) partial = NULL;
  static const char *suffix[] = { "", "-wal", "-shm" };

  RUN (&again, "ingest", dir);
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "--force"));

  /* No graph: lookups still answer, without roots; opening says what to do. */
  for (guint i = 0; i < G_N_ELEMENTS (suffix); i++)
    {
      g_autofree char *p = g_strconcat (graph_file, suffix[i], NULL);
      g_unlink (p);
    }
  RUN (&no_graph, "seg", "lookup", dir, "1,1,1", "--json");
  g_assert_cmpint (no_graph.status, ==, 0);
  g_assert_null (strstr (no_graph.out, "root"));

  /* Killed after its first chunk: the graph is unfinished and says so. */
  cleave_test_run (&killed, NULL, "/usr/bin/env", "CLEAVE_FAULT=ingest-chunk-written", cleave_test_env ("CLEAVECTL"),
                   "ingest", dir, NULL);
  g_assert_cmpint (killed.status, ==, CLEAVE_FAULT_EXIT_STATUS);
  partial = cleave_graph_open (dir, &error);
  g_assert_null (partial);
  g_assert_error (error, CLEAVE_GRAPH_ERROR, CLEAVE_GRAPH_ERROR_INCOMPLETE);
  g_assert_nonnull (strstr (error->message, "cleavectl ingest"));
  RUN (&lookup, "seg", "lookup", dir, "1,1,1");
  g_assert_cmpint (lookup.status, ==, 1);
  g_assert_nonnull (strstr (lookup.err, "did not finish"));

  /* Run again: it continues, and the graph is the one a single run makes. */
  RUN (&finish, "ingest", dir);
  g_assert_cmpint (finish.status, ==, 0);
  resumed = hierarchy_dump (dir);
  g_assert_cmpstr (resumed, ==, whole);

  RUN (&forced, "ingest", dir, "--force");
  g_assert_cmpint (forced.status, ==, 0);
  {
    g_autofree char *rebuilt = hierarchy_dump (dir);
    g_assert_cmpstr (rebuilt, ==, whole);
  }
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/graph/roots-match-components", test_roots_match_components);
  g_test_add_func ("/graph/resume-and-refusals", test_resume_and_refusals);
  return g_test_run ();
}
