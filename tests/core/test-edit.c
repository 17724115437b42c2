/* test-edit.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Edits on the demo's graph: long random sequences of merges, edge
 * removals, undos and redos from several seeds, with the invariants checked
 * after every op (every supervoxel one root; leaves and roots agree; every
 * layer-2 node inside one chunk) and, at the end, every past op time read
 * back exactly as it was. Plus the refusals and the lock.
 */

#include "cleave-demo.h"
#include "cleave-edit.h"
#include "cleave-graph.h"
#include "cleave-ingest.h"
#include "cleave-lock.h"
#include "cleave-node-id.h"
#include "cleave-test.h"

#include <stdio.h>
#include <string.h>

static char *
make_dataset (const char *tmp,
              guint64     seed)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_build_filename (tmp, "e.cleave", NULL);
  CleaveDemoParams p;

  cleave_demo_params_init (&p);
  p.size[0] = 128, p.size[1] = 128, p.size[2] = 32;
  p.chunk[0] = 32, p.chunk[1] = 32, p.chunk[2] = 16;
  p.seed = seed;
  g_assert_true (cleave_demo_create (dir, &p, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_ingest (dir, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  return dir;
}

static GArray *
all_svs (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "agglomeration.tsv", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *svs = g_array_new (FALSE, FALSE, sizeof (guint64));

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv;
      if (lines[i][0] != '#' && lines[i][0] && sscanf (lines[i], "%" G_GUINT64_FORMAT, &sv) == 1)
        g_array_append_val (svs, sv);
    }
  return svs;
}

/* Every supervoxel has one root on the top layer; the leaves of each root
 * are exactly the supervoxels that name it; layer-2 nodes sit in their
 * supervoxels' chunk. */
static void
check_invariants (CleaveGraph *g,
                  GArray      *svs,
                  guint64     *roots)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) count = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  guint n_layers = cleave_graph_get_meta (g)->n_layers;
  GHashTableIter it;
  gpointer k, v;

  g_assert_true (cleave_graph_get_roots (g, (guint64 *) svs->data, svs->len, CLEAVE_GRAPH_LATEST, roots, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < svs->len; i++)
    {
      guint *c = g_hash_table_lookup (count, &roots[i]);

      g_assert_cmpuint (cleave_node_id_layer (roots[i]), ==, n_layers);
      if (c == NULL)
        g_hash_table_insert (count, g_memdup2 (&roots[i], 8), g_new0 (guint, 1));
      c = g_hash_table_lookup (count, &roots[i]);
      (*c)++;
    }
  g_hash_table_iter_init (&it, count);
  while (g_hash_table_iter_next (&it, &k, &v))
    {
      g_autoptr(GArray) leaves = g_array_new (FALSE, FALSE, sizeof (guint64));

      g_assert_true (cleave_graph_get_leaves (g, *(guint64 *) k, CLEAVE_GRAPH_LATEST, leaves, &error));
      g_assert_cmpuint (leaves->len, ==, *(guint *) v);
    }
}

static void
run_sequence (guint64 seed)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, seed);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_autoptr(GArray) svs = all_svs (dir);
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autoptr(GArray) ops = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GPtrArray) moments = g_ptr_array_new_with_free_func (g_free);
  g_autofree guint64 *roots = g_new (guint64, svs->len);
  guint done = 0;

  g_assert_no_error (error);
  check_invariants (g, svs, roots);
  g_ptr_array_add (moments, g_memdup2 (roots, 8 * svs->len));
  {
    g_autoptr(GArray) log = cleave_edit_list_ops (g, &error);
    g_assert_cmpuint (log->len, ==, 0);
  }

  for (guint step = 0; step < 40; step++)
    {
      g_auto(CleaveEditResult) r = { 0 };
      guint what = g_rand_int_range (rand, 0, 10);
      gboolean ok = FALSE;

      if (what < 5)
        {
          guint64 a = g_array_index (svs, guint64, g_rand_int_range (rand, 0, svs->len));
          guint64 b = g_array_index (svs, guint64, g_rand_int_range (rand, 0, svs->len));
          guint64 ab[2] = { a, b }, rr[2];

          g_assert_true (cleave_graph_get_roots (g, ab, 2, CLEAVE_GRAPH_LATEST, rr, &error));
          ok = cleave_edit_merge (g, a, b, NULL, NULL, "test", &r, &error);
          if (rr[0] == rr[1])
            {
              g_assert_false (ok);
              g_assert_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION);
              g_clear_error (&error);
              continue;
            }
          g_assert_no_error (error);
          g_assert_true (cleave_graph_get_roots (g, ab, 2, CLEAVE_GRAPH_LATEST, rr, &error));
          g_assert_cmpuint (rr[0], ==, rr[1]);
          g_assert_cmpuint (r.new_roots->len, ==, 1);
          g_assert_cmpuint (g_array_index (r.new_roots, guint64, 0), ==, rr[0]);
        }
      else if (what < 8 && ops->len > 0)
        {
          guint64 target = g_array_index (ops, guint64, g_rand_int_range (rand, 0, ops->len));

          ok = g_rand_boolean (rand) ? cleave_edit_undo (g, target, "test", &r, &error)
                                     : cleave_edit_redo (g, target, "test", &r, &error);
          if (!ok)
            {
              /* Undo of an undone op, redo of one in effect: refused. */
              g_assert_error (error, CLEAVE_EDIT_ERROR, CLEAVE_EDIT_ERROR_PRECONDITION);
              g_clear_error (&error);
              continue;
            }
        }
      else
        continue;
      g_assert_no_error (error);
      g_assert_true (ok);
      g_assert_cmpint (r.status, ==, CLEAVE_OP_SUCCESS);
      g_array_append_val (ops, r.op_id);
      check_invariants (g, svs, roots);
      g_ptr_array_add (moments, g_memdup2 (roots, 8 * svs->len));
      done++;
    }
  g_assert_cmpuint (done, >=, 10);

  /* Reading as of each op's time gives that moment back exactly; as of
   * just before the first op, the ingest. */
  {
    g_autoptr(GArray) log = cleave_edit_list_ops (g, &error);
    g_autofree guint64 *past = g_new (guint64, svs->len);

    g_assert_cmpuint (log->len, ==, done);
    for (guint i = 0; i <= log->len; i++)
      {
        gint64 t = i == 0 ? g_array_index (log, CleaveOpInfo, 0).ts - 1 : g_array_index (log, CleaveOpInfo, i - 1).ts;

        g_assert_true (cleave_graph_get_roots (g, (guint64 *) svs->data, svs->len, t, past, &error));
        g_assert_no_error (error);
        g_assert_cmpmem (past, 8 * svs->len, moments->pdata[i], 8 * svs->len);
      }
  }
  cleave_test_rm_rf (tmp);
}

static void
test_random_sequences (void)
{
  for (guint64 seed = 1; seed <= 3; seed++)
    run_sequence (seed);
}

/* Row keys round-trip, are distinct per chunk or block, and their hash
 * prefix scatters neighbours (the reference's test_hash_prefix_scatters). */
static void
test_lock_keys (void)
{
  g_autoptr(GHashTable) firsts = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autoptr(GHashTable) keys = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint64 c = 0; c < 256; c++)
    {
      char *key = cleave_lock_l2chunk_key (c);
      guint64 back = G_MAXUINT64;
      gint64 block[3] = { (gint64) c % 7, (gint64) c / 7, 0 }, bback[3];
      char *bkey = cleave_lock_downsample_key (block);
      unsigned h;

      g_assert_true (cleave_lock_key_l2chunk (key, &back));
      g_assert_cmpuint (back, ==, c);
      g_assert_false (cleave_lock_key_downsample (key, bback));
      g_assert_true (cleave_lock_key_downsample (bkey, bback));
      g_assert_cmpint (bback[0], ==, block[0]);
      g_assert_cmpint (bback[1], ==, block[1]);
      g_assert_false (cleave_lock_key_l2chunk (bkey, &back));
      g_assert_cmpint (sscanf (key + strlen ("l2chunk:"), "%2x", &h), ==, 1);
      g_hash_table_add (firsts, GUINT_TO_POINTER (h));
      g_assert_true (g_hash_table_add (keys, key));
      g_assert_true (g_hash_table_add (keys, bkey));
    }
  g_assert_cmpuint (g_hash_table_size (firsts), >, 128);
  /* A key with a wrong hash is not taken for a chunk key. */
  g_assert_false (cleave_lock_key_l2chunk ("l2chunk:00000000000000000001", &(guint64) { 0 }));
  g_assert_false (cleave_lock_key_l2chunk ("root:5", &(guint64) { 0 }));
}

/* A held root lock stops another op on that object with a clear error;
 * the edit is not half-done. */
static void
test_locked_root (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = make_dataset (tmp, 9);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_autoptr(CleaveGraph) other = cleave_graph_open (dir, &error);
  g_autoptr(GArray) svs = all_svs (dir);
  g_auto(CleaveEditResult) r = { 0 };
  g_autoptr(GArray) locks = NULL;
  guint64 a = g_array_index (svs, guint64, 0), b = 0, ab[2], rr[2];
  g_autofree char *key = NULL;
  char *keys[1];

  /* Two supervoxels of different objects. */
  for (guint i = 1; i < svs->len && b == 0; i++)
    {
      ab[0] = a;
      ab[1] = g_array_index (svs, guint64, i);
      g_assert_true (cleave_graph_get_roots (g, ab, 2, CLEAVE_GRAPH_LATEST, rr, &error));
      if (rr[0] != rr[1])
        b = ab[1];
    }
  g_assert_cmpuint (b, !=, 0);
  key = cleave_lock_root_key (rr[0]);
  keys[0] = key;
  g_assert_true (cleave_lock_acquire (other, "root", keys, 1, 999999, 1, &error));
  locks = cleave_lock_list (g, &error);
  g_assert_cmpuint (locks->len, ==, 1);
  g_assert_cmpuint (g_array_index (locks, CleaveLockInfo, 0).op, ==, 999999);

  g_assert_false (cleave_edit_merge (g, a, b, NULL, NULL, "test", &r, &error));
  g_assert_error (error, CLEAVE_LOCK_ERROR, CLEAVE_LOCK_ERROR_LOCKED);
  g_assert_nonnull (strstr (error->message, "locked by op 999999"));
  g_clear_error (&error);
  g_assert_true (cleave_graph_get_roots (g, ab, 2, CLEAVE_GRAPH_LATEST, rr, &error));
  g_assert_cmpuint (rr[0], !=, rr[1]);

  /* Released (only by its holder), the merge goes through. */
  g_assert_true (cleave_lock_release (g, keys, 1, 12345, FALSE, &error));
  g_clear_pointer (&locks, g_array_unref);
  locks = cleave_lock_list (g, &error);
  g_assert_cmpuint (locks->len, ==, 1);
  g_assert_true (cleave_lock_release (other, keys, 1, 999999, FALSE, &error));
  g_assert_true (cleave_edit_merge (g, a, b, NULL, NULL, "test", &r, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_graph_get_roots (g, ab, 2, CLEAVE_GRAPH_LATEST, rr, &error));
  g_assert_cmpuint (rr[0], ==, rr[1]);
  g_clear_pointer (&locks, g_array_unref);
  locks = cleave_lock_list (g, &error);
  g_assert_cmpuint (locks->len, ==, 0);
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/edit/random-sequences", test_random_sequences);
  g_test_add_func ("/edit/locked-root", test_locked_root);
  g_test_add_func ("/lock/keys", test_lock_keys);
  return g_test_run ();
}
