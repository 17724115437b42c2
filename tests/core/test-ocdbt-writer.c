/* test-ocdbt-writer.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The OCDBT writer against an in-memory model: random transactions at every
 * generation, commits on top of tensorstore-written trees, pinned handles,
 * forks, and several writers (threads and processes) on one store.
 */

#include "cleave-ocdbt.h"
#include "cleave-ocdbt-writer.h"
#include "cleave-test.h"

#include <string.h>
#include <sys/stat.h>

#include <gio/gio.h>
#include <glib/gstdio.h>

/* The model: key -> value, both GBytes, in key order. */
static int
cmp_bytes (gconstpointer a,
           gconstpointer b,
           gpointer      user_data)
{
  gsize al, bl;
  const guint8 *ad = g_bytes_get_data ((GBytes *) a, &al);
  const guint8 *bd = g_bytes_get_data ((GBytes *) b, &bl);

  return cleave_ocdbt_key_cmp (ad ? ad : (const guint8 *) "", al, bd ? bd : (const guint8 *) "", bl);
}

static GTree *
model_new (void)
{
  return g_tree_new_full (cmp_bytes, NULL, (GDestroyNotify) g_bytes_unref, (GDestroyNotify) g_bytes_unref);
}

static gboolean
copy_one (gpointer key,
          gpointer value,
          gpointer user_data)
{
  g_tree_insert (user_data, g_bytes_ref (key), g_bytes_ref (value));
  return FALSE;
}

static GTree *
model_copy (GTree *model)
{
  GTree *copy = model_new ();

  g_tree_foreach (model, copy_one, copy);
  return copy;
}

typedef struct
{
  GPtrArray *keys;
  GArray    *sizes;
} Listing;

static gboolean
collect_key (const guint8 *key,
             gsize         key_len,
             guint64       value_len,
             gpointer      user_data)
{
  Listing *l = user_data;

  g_ptr_array_add (l->keys, g_bytes_new (key, key_len));
  g_array_append_val (l->sizes, value_len);
  return TRUE;
}

typedef struct
{
  CleaveOcdbt *store;
  Listing     *listing;
  guint        i;
  const char  *what;
} Compare;

static gboolean
compare_one (gpointer key,
             gpointer value,
             gpointer user_data)
{
  Compare *c = user_data;
  g_autoptr(GBytes) got = NULL;
  g_autoptr(GError) error = NULL;
  gsize kl;
  const guint8 *k = g_bytes_get_data (key, &kl);

  if (c->i >= c->listing->keys->len || !g_bytes_equal (c->listing->keys->pdata[c->i], key))
    g_error ("%s: key %u: listing and model differ", c->what, c->i);
  g_assert_cmpuint (g_array_index (c->listing->sizes, guint64, c->i), ==, g_bytes_get_size (value));
  g_assert_true (cleave_ocdbt_get (c->store, k ? k : (const guint8 *) "", kl, &got, &error));
  g_assert_no_error (error);
  g_assert_nonnull (got);
  g_assert_true (g_bytes_equal (got, value));
  c->i++;
  return FALSE;
}

/* The store's current version holds exactly @model: listing, sizes and
 * every value through get(). */
static void
assert_matches (CleaveOcdbt *store,
                GTree       *model,
                const char  *what)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autoptr(GError) error = NULL;
  Listing l = { keys, sizes };
  Compare c = { store, &l, 0, what };

  g_assert_true (cleave_ocdbt_list (store, NULL, 0, NULL, 0, collect_key, &l, &error));
  g_assert_no_error (error);
  g_tree_foreach (model, compare_one, &c);
  g_assert_cmpuint (c.i, ==, keys->len);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).stats.num_keys, ==, keys->len);
}

static void
fail_on_problem (guint64       generation,
                 const GError *problem,
                 gpointer      user_data)
{
  g_error ("generation %" G_GUINT64_FORMAT ": %s", generation, problem->message);
}

static GBytes *
random_value (GRand *rand,
              guint  inline_limit)
{
  /* Lengths cluster around the inline limit, with some empty and some big. */
  static const int deltas[] = { -1, 0, 1 };
  guint r = g_rand_int_range (rand, 0, 10);
  gsize len;
  guint8 *v;

  if (r == 0)
    len = 0;
  else if (r < 6)
    {
      int l = (int) inline_limit + deltas[g_rand_int_range (rand, 0, 3)];
      len = MAX (l, 0);
    }
  else if (r < 9)
    len = g_rand_int_range (rand, 1, 40);
  else
    len = g_rand_int_range (rand, 1000, 5000);
  v = g_malloc (MAX (len, 1));
  for (gsize i = 0; i < len; i++)
    v[i] = g_rand_int (rand);
  return g_bytes_new_take (v, len);
}

static char *
random_key (GRand *rand)
{
  /* Chunk-like keys with long shared prefixes. */
  static const char *scales[] = { "seg/8_8_8", "seg/16_16_16", "img/8_8_8" };
  int x = g_rand_int_range (rand, 0, 40) * 64;

  return g_strdup_printf ("%s/%d-%d_%d-%d_0-64", scales[g_rand_int_range (rand, 0, 3)],
                          x, x + 64, g_rand_int_range (rand, 0, 8) * 64, g_rand_int_range (rand, 0, 8) * 64 + 64);
}

static void
config_for (CleaveOcdbtConfig *config,
            guint              node_bytes,
            guint              inline_bytes,
            guint              arity_log2,
            guint              compression)
{
  cleave_ocdbt_config_init_default (config);
  config->max_decoded_node_bytes = node_bytes;
  config->max_inline_value_bytes = inline_bytes;
  config->version_tree_arity_log2 = arity_log2;
  config->compression = compression;
}

/* Random transactions (puts, overwrites, deletes, range deletes) against
 * the model; every generation is then read back, pinned, and the store
 * checks clean. */
static void
test_writer_random (void)
{
  const struct { guint node, inl, arity, zstd, txns; } cases[] = {
    { 1, 16, 1, 0, 30 },
    { 300, 0, 2, 1, 30 },
    { 4096, 100, 4, 1, 40 },
    { 8u << 20, 100, 4, 0, 20 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (100 + c);
      g_autofree char *tmp = cleave_test_tmpdir ();
      g_autofree char *dir = g_build_filename (tmp, "store", NULL);
      g_autoptr(GPtrArray) snapshots = g_ptr_array_new_with_free_func ((GDestroyNotify) g_tree_unref);
      g_autoptr(GTree) model = model_new ();
      g_autoptr(CleaveOcdbt) store = NULL;
      g_autoptr(GError) error = NULL;
      CleaveOcdbtConfig config;
      guint64 n_versions = 0, n_keys = 0;

      config_for (&config, cases[c].node, cases[c].inl, cases[c].arity, cases[c].zstd);
      store = cleave_ocdbt_create (dir, &config, &error);
      g_assert_no_error (error);
      g_ptr_array_add (snapshots, model_copy (model));   /* generation 1: empty */

      for (guint t = 0; t < cases[c].txns; t++)
        {
          g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (store);
          guint n_ops = g_rand_int_range (rand, 1, t < 3 ? 400 : 60);
          guint64 gen = 0;

          for (guint o = 0; o < n_ops; o++)
            {
              guint what = g_rand_int_range (rand, 0, 20);
              g_autofree char *key = random_key (rand);

              if (what < 14)
                {
                  g_autoptr(GBytes) v = random_value (rand, cases[c].inl);

                  cleave_ocdbt_txn_put_bytes (txn, (const guint8 *) key, strlen (key), v);
                  g_tree_replace (model, g_bytes_new (key, strlen (key)), g_bytes_ref (v));
                }
              else if (what < 18)
                {
                  g_autoptr(GBytes) k = g_bytes_new (key, strlen (key));

                  cleave_ocdbt_txn_delete (txn, (const guint8 *) key, strlen (key));
                  g_tree_remove (model, k);
                }
              else
                {
                  /* A range: from this key to a prefix bound, or to the end. */
                  g_autofree char *hi = what == 18 ? random_key (rand) : NULL;
                  g_autoptr(GBytes) lo = g_bytes_new (key, strlen (key));
                  g_autoptr(GBytes) hib = hi ? g_bytes_new (hi, strlen (hi)) : NULL;
                  g_autoptr(GPtrArray) doomed = g_ptr_array_new ();
                  GTreeNode *n;

                  if (t % 7 != 6 && hi == NULL)
                    continue;   /* deleting to the end empties too often */
                  cleave_ocdbt_txn_delete_range (txn, (const guint8 *) key, strlen (key),
                                                 (const guint8 *) hi, hi ? strlen (hi) : 0);
                  for (n = g_tree_lower_bound (model, lo); n; n = g_tree_node_next (n))
                    {
                      if (hib && cmp_bytes (g_tree_node_key (n), hib, NULL) >= 0)
                        break;
                      g_ptr_array_add (doomed, g_tree_node_key (n));
                    }
                  for (guint i = 0; i < doomed->len; i++)
                    g_tree_remove (model, doomed->pdata[i]);
                }
            }
          if (cleave_ocdbt_txn_get_n_ops (txn) == 0)
            {
              cleave_ocdbt_txn_put (txn, (const guint8 *) "last", 4, (const guint8 *) "x", 1);
              g_tree_replace (model, g_bytes_new ("last", 4), g_bytes_new ("x", 1));
            }
          g_assert_true (cleave_ocdbt_txn_commit (txn, &gen, &error));
          g_assert_no_error (error);
          g_assert_cmpuint (gen, ==, snapshots->len + 1);
          assert_matches (store, model, "latest");
          g_ptr_array_add (snapshots, model_copy (model));
        }

      /* Every generation, from a fresh handle. */
      {
        g_autoptr(CleaveOcdbt) fresh = cleave_ocdbt_open (dir, &error);

        g_assert_no_error (error);
        for (guint g = 0; g < snapshots->len; g++)
          {
            g_autoptr(CleaveOcdbt) pin = cleave_ocdbt_pin_generation (fresh, g + 1, &error);
            g_autofree char *what = g_strdup_printf ("case %u generation %u", c, g + 1);

            g_assert_no_error (error);
            assert_matches (pin, snapshots->pdata[g], what);
          }
        g_assert_true (cleave_ocdbt_check (fresh, fail_on_problem, NULL,
                                           &n_versions, &n_keys, &error));
        g_assert_no_error (error);
        g_assert_cmpuint (n_versions, ==, snapshots->len);
      }
      cleave_test_rm_rf (tmp);
    }
}

/* A commit rewrites only the path to what it touches: one key into a deep
 * tree of 4000 keys writes a handful of nodes, not the tree. */
static void
test_writer_copy_on_write (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autofree char *ddir = g_build_filename (dir, "d", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = NULL;
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(CleaveOcdbtTxn) one = NULL;
  g_autoptr(GDir) d = NULL;
  CleaveOcdbtConfig config;
  guint64 total, smallest = G_MAXUINT64;
  const char *name;

  config_for (&config, 512, 100, 4, 0);
  store = cleave_ocdbt_create (dir, &config, &error);
  g_assert_no_error (error);
  txn = cleave_ocdbt_txn_new (store);
  for (guint i = 0; i < 4000; i++)
    {
      g_autofree char *key = g_strdup_printf ("seg/%06u", i * 2);
      cleave_ocdbt_txn_put (txn, (const guint8 *) key, strlen (key), (const guint8 *) "value", 5);
    }
  g_assert_true (cleave_ocdbt_txn_commit (txn, NULL, &error));
  g_assert_no_error (error);
  total = cleave_ocdbt_get_version (store).stats.num_tree_bytes;
  g_assert_cmpuint (cleave_ocdbt_get_version (store).root_height, >=, 2);

  one = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_put (one, (const guint8 *) "seg/001001", 10, (const guint8 *) "new", 3);
  g_assert_true (cleave_ocdbt_txn_commit (one, NULL, &error));
  g_assert_no_error (error);

  d = g_dir_open (ddir, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (ddir, name, NULL);
      struct stat st;

      g_assert_cmpint (stat (path, &st), ==, 0);
      smallest = MIN (smallest, (guint64) st.st_size);
    }
  /* height + 1 nodes of at most ~512 decoded bytes each. */
  g_assert_cmpuint (smallest, <, (cleave_ocdbt_get_version (store).root_height + 1) * 700);
  g_assert_cmpuint (smallest * 20, <, total);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).stats.num_keys, ==, 4001);
  cleave_test_rm_rf (tmp);
}

static void
copy_tree (const char *from,
           const char *to)
{
  g_autoptr(GDir) d = g_dir_open (from, 0, NULL);
  const char *name;

  g_assert_nonnull (d);
  g_assert_cmpint (g_mkdir_with_parents (to, 0755), ==, 0);
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *src = g_build_filename (from, name, NULL);
      g_autofree char *dst = g_build_filename (to, name, NULL);
      g_autofree char *data = NULL;
      gsize len;

      if (g_file_test (src, G_FILE_TEST_IS_DIR))
        {
          copy_tree (src, dst);
          continue;
        }
      g_assert_true (g_file_get_contents (src, &data, &len, NULL));
      g_assert_true (g_file_set_contents (dst, data, len, NULL));
    }
}

/* Commits on top of trees tensorstore wrote (zstd nodes, a height-3 tree of
 * one entry per node, 200 generations): the old generations read as before,
 * the new one holds the change, untouched nodes are shared. */
static void
test_writer_on_tensorstore_stores (void)
{
  const char *cases[] = { "files_min_arity.ocdbt", "multi_version_high_arity.ocdbt", "ome_zarr_simple_0.5.ocdbt" };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *golden = cleave_test_shared_path ("testdata", "ocdbt", cases[c], NULL);
      g_autofree char *tmp = cleave_test_tmpdir ();
      g_autofree char *dir = g_build_filename (tmp, cases[c], NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(CleaveOcdbt) store = NULL;
      g_autoptr(CleaveOcdbt) before = NULL;
      g_autoptr(CleaveOcdbtTxn) txn = NULL;
      g_autoptr(GTree) model = model_new ();
      g_autoptr(GTree) old_model = NULL;
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
      g_autoptr(GArray) sizes = g_array_new (FALSE, FALSE, sizeof (guint64));
      Listing l = { keys, sizes };
      guint64 old_gen, gen;

      copy_tree (golden, dir);
      store = cleave_ocdbt_open (dir, &error);
      g_assert_no_error (error);
      old_gen = cleave_ocdbt_get_version (store).generation;

      /* The model starts as what the reader sees. */
      g_assert_true (cleave_ocdbt_list (store, NULL, 0, NULL, 0, collect_key, &l, &error));
      for (guint i = 0; i < keys->len; i++)
        {
          g_autoptr(GBytes) v = NULL;
          gsize kl;
          const guint8 *k = g_bytes_get_data (keys->pdata[i], &kl);

          g_assert_true (cleave_ocdbt_get (store, k, kl, &v, &error));
          g_tree_insert (model, g_bytes_ref (keys->pdata[i]), g_steal_pointer (&v));
        }
      old_model = model_copy (model);

      txn = cleave_ocdbt_txn_new (store);
      cleave_ocdbt_txn_put (txn, (const guint8 *) "b", 1, (const guint8 *) "changed by cleave", 17);
      g_tree_replace (model, g_bytes_new ("b", 1), g_bytes_new ("changed by cleave", 17));
      cleave_ocdbt_txn_put (txn, (const guint8 *) "key", 3, (const guint8 *) "", 0);
      g_tree_replace (model, g_bytes_new ("key", 3), g_bytes_new ("", 0));
      if (keys->len > 2)
        {
          gsize kl;
          const guint8 *k = g_bytes_get_data (keys->pdata[1], &kl);

          cleave_ocdbt_txn_delete (txn, k, kl);
          g_tree_remove (model, keys->pdata[1]);
        }
      g_assert_true (cleave_ocdbt_txn_commit (txn, &gen, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (gen, ==, old_gen + 1);
      assert_matches (store, model, cases[c]);

      before = cleave_ocdbt_pin_generation (store, old_gen, &error);
      g_assert_no_error (error);
      assert_matches (before, old_model, cases[c]);
      cleave_test_rm_rf (tmp);
    }
}

static void
test_writer_semantics (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(CleaveOcdbt) again = NULL;
  g_autoptr(CleaveOcdbt) pin = NULL;
  g_autoptr(CleaveOcdbtTxn) a = NULL;
  g_autoptr(CleaveOcdbtTxn) b = NULL;
  g_autoptr(CleaveOcdbtTxn) empty = NULL;
  g_autoptr(CleaveOcdbtTxn) refused = NULL;
  g_autoptr(GTree) model = model_new ();
  guint64 gen = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 1);

  /* Creating over a store is refused and changes nothing. */
  again = cleave_ocdbt_create (dir, NULL, &error);
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS);
  g_assert_null (again);
  g_clear_error (&error);

  /* Within a transaction the last word on a key wins. */
  a = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_put (a, (const guint8 *) "k1", 2, (const guint8 *) "one", 3);
  cleave_ocdbt_txn_put (a, (const guint8 *) "k2", 2, (const guint8 *) "two", 3);
  cleave_ocdbt_txn_delete_range (a, (const guint8 *) "k", 1, (const guint8 *) "l", 1);
  cleave_ocdbt_txn_put (a, (const guint8 *) "k2", 2, (const guint8 *) "again", 5);
  cleave_ocdbt_txn_put (a, (const guint8 *) "", 0, (const guint8 *) "empty key", 9);
  cleave_ocdbt_txn_put (a, (const guint8 *) "z", 1, (const guint8 *) "gone", 4);
  cleave_ocdbt_txn_delete (a, (const guint8 *) "z", 1);
  g_assert_true (cleave_ocdbt_txn_commit (a, &gen, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (gen, ==, 2);
  g_tree_insert (model, g_bytes_new ("k2", 2), g_bytes_new ("again", 5));
  g_tree_insert (model, g_bytes_new ("", 0), g_bytes_new ("empty key", 9));
  assert_matches (store, model, "last word wins");

  /* A range delete reaches keys committed earlier; a reversed range is empty. */
  b = cleave_ocdbt_txn_new (store);
  cleave_ocdbt_txn_delete_range (b, (const guint8 *) "", 0, (const guint8 *) "k", 1);
  cleave_ocdbt_txn_delete_range (b, (const guint8 *) "z", 1, (const guint8 *) "a", 1);
  g_assert_true (cleave_ocdbt_txn_commit (b, &gen, &error));
  g_assert_cmpuint (gen, ==, 3);
  g_tree_remove (model, g_bytes_new_static ("", 0));
  assert_matches (store, model, "range delete");

  /* Nothing to do: no new generation. */
  empty = cleave_ocdbt_txn_new (store);
  g_assert_true (cleave_ocdbt_txn_commit (empty, &gen, &error));
  g_assert_cmpuint (gen, ==, 3);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 3);

  /* A pinned handle reads but never writes. */
  pin = cleave_ocdbt_pin_generation (store, 2, &error);
  g_assert_no_error (error);
  refused = cleave_ocdbt_txn_new (pin);
  cleave_ocdbt_txn_put (refused, (const guint8 *) "x", 1, (const guint8 *) "x", 1);
  g_assert_false (cleave_ocdbt_txn_commit (refused, &gen, &error));
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_READ_ONLY);
  g_assert_nonnull (strstr (error->message, "pinned to generation 2"));
  g_clear_error (&error);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 3);
  cleave_test_rm_rf (tmp);
}

static GHashTable *
hash_files (const char *dir)
{
  g_autoptr(GPtrArray) todo = g_ptr_array_new_with_free_func (g_free);
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  g_ptr_array_add (todo, g_strdup (dir));
  while (todo->len > 0)
    {
      g_autofree char *d = g_ptr_array_steal_index (todo, todo->len - 1);
      g_autoptr(GDir) gd = g_dir_open (d, 0, NULL);
      const char *name;

      while (gd && (name = g_dir_read_name (gd)) != NULL)
        {
          char *path = g_build_filename (d, name, NULL);
          g_autofree char *data = NULL;
          gsize len;

          if (g_file_test (path, G_FILE_TEST_IS_DIR))
            {
              g_ptr_array_add (todo, path);
              continue;
            }
          g_assert_true (g_file_get_contents (path, &data, &len, NULL));
          g_hash_table_insert (out, path, g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) data, len));
        }
    }
  return out;
}

static void
assert_same_files (GHashTable *a,
                   GHashTable *b)
{
  GHashTableIter it;
  gpointer k, v;

  g_assert_cmpuint (g_hash_table_size (a), ==, g_hash_table_size (b));
  g_hash_table_iter_init (&it, a);
  while (g_hash_table_iter_next (&it, &k, &v))
    g_assert_cmpstr (v, ==, g_hash_table_lookup (b, k));
}

/* A fork reads the base, writes only under its own prefix, and never
 * changes a byte of the base; forks are made on purpose only. */
static void
test_writer_fork (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *base = g_build_filename (tmp, "base", NULL);
  g_autofree char *fork = g_build_filename (tmp, "fork", NULL);
  g_autofree char *fork_data = g_build_filename (fork, "fork_d", NULL);
  g_autofree char *stray = g_build_filename (fork, "notes.txt", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (base, NULL, &error);
  g_autoptr(CleaveOcdbt) forked = NULL;
  g_autoptr(CleaveOcdbt) missing = NULL;
  g_autoptr(CleaveOcdbtTxn) txn = NULL;
  g_autoptr(GHashTable) before = NULL;
  g_autoptr(GHashTable) after = NULL;
  g_autoptr(GTree) base_model = model_new ();
  g_autoptr(GTree) fork_model = NULL;
  guint8 big[500];

  g_assert_no_error (error);
  memset (big, 7, sizeof big);
  txn = cleave_ocdbt_txn_new (store);
  for (guint i = 0; i < 50; i++)
    {
      g_autofree char *key = g_strdup_printf ("chunk/%02u", i);
      cleave_ocdbt_txn_put (txn, (const guint8 *) key, strlen (key), big, sizeof big);
      g_tree_insert (base_model, g_bytes_new (key, strlen (key)), g_bytes_new (big, sizeof big));
    }
  g_assert_true (cleave_ocdbt_txn_commit (txn, NULL, &error));
  g_clear_pointer (&txn, cleave_ocdbt_txn_free);

  missing = cleave_ocdbt_open_fork (base, fork, &error);
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "cleavectl kv fork"));
  g_clear_error (&error);

  before = hash_files (base);
  g_assert_true (cleave_ocdbt_fork (base, fork, FALSE, &error));
  g_assert_no_error (error);
  forked = cleave_ocdbt_open_fork (base, fork, &error);
  g_assert_no_error (error);
  assert_matches (forked, base_model, "fresh fork");

  fork_model = model_copy (base_model);
  txn = cleave_ocdbt_txn_new (forked);
  cleave_ocdbt_txn_put (txn, (const guint8 *) "chunk/07", 8, (const guint8 *) "edited", 6);
  g_tree_replace (fork_model, g_bytes_new ("chunk/07", 8), g_bytes_new ("edited", 6));
  cleave_ocdbt_txn_delete (txn, (const guint8 *) "chunk/08", 8);
  g_tree_remove (fork_model, g_bytes_new_static ("chunk/08", 8));
  g_assert_true (cleave_ocdbt_txn_commit (txn, NULL, &error));
  g_assert_no_error (error);
  assert_matches (forked, fork_model, "fork after a commit");
  g_assert_true (g_file_test (fork_data, G_FILE_TEST_IS_DIR));

  /* The base: same bytes, same contents. */
  after = hash_files (base);
  assert_same_files (before, after);
  g_clear_pointer (&store, cleave_ocdbt_unref);
  store = cleave_ocdbt_open (base, &error);
  assert_matches (store, base_model, "base after fork commits");

  /* Again without --wipe: refused, the fork keeps its commit. */
  g_assert_false (cleave_ocdbt_fork (base, fork, FALSE, &error));
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS);
  g_clear_error (&error);
  g_clear_pointer (&forked, cleave_ocdbt_unref);
  {
    g_autofree char *spec = g_strconcat (base, "+", fork, NULL);
    forked = cleave_ocdbt_open_spec (spec, &error);
  }
  g_assert_no_error (error);
  assert_matches (forked, fork_model, "fork after a refused re-fork");

  /* --wipe never deletes what is not the fork's. */
  g_assert_true (g_file_set_contents (stray, "mine", -1, NULL));
  g_assert_false (cleave_ocdbt_fork (base, fork, TRUE, &error));
  g_assert_error (error, CLEAVE_OCDBT_ERROR, CLEAVE_OCDBT_ERROR_EXISTS);
  g_clear_error (&error);
  g_assert_true (g_file_test (stray, G_FILE_TEST_EXISTS));
  g_assert_cmpint (g_unlink (stray), ==, 0);

  g_assert_true (cleave_ocdbt_fork (base, fork, TRUE, &error));
  g_assert_no_error (error);
  g_assert_false (g_file_test (fork_data, G_FILE_TEST_EXISTS));
  g_clear_pointer (&forked, cleave_ocdbt_unref);
  forked = cleave_ocdbt_open_fork (base, fork, &error);
  assert_matches (forked, base_model, "wiped fork");
  cleave_test_rm_rf (tmp);
}

typedef struct
{
  const char *dir;
  guint       id;
  guint       n;
} Writer;

static gpointer
writer_thread (gpointer data)
{
  Writer *w = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (w->dir, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < w->n; i++)
    {
      g_autoptr(CleaveOcdbtTxn) txn = cleave_ocdbt_txn_new (store);
      g_autofree char *key = g_strdup_printf ("w%u/%04u", w->id, i);

      cleave_ocdbt_txn_put (txn, (const guint8 *) key, strlen (key), (const guint8 *) key, strlen (key));
      g_assert_true (cleave_ocdbt_txn_commit (txn, NULL, &error));
      g_assert_no_error (error);
    }
  return NULL;
}

static void
assert_all_writes (const char *dir,
                   guint       writers,
                   guint       n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  guint64 versions = 0, keys = 0;

  g_assert_no_error (error);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 1 + writers * n);
  g_assert_cmpuint (cleave_ocdbt_get_version (store).stats.num_keys, ==, writers * n);
  for (guint w = 0; w < writers; w++)
    for (guint i = 0; i < n; i++)
      {
        g_autofree char *key = g_strdup_printf ("w%u/%04u", w, i);
        g_autoptr(GBytes) v = NULL;

        g_assert_true (cleave_ocdbt_get (store, (const guint8 *) key, strlen (key), &v, &error));
        g_assert_nonnull (v);
      }
  g_assert_true (cleave_ocdbt_check (store, fail_on_problem, NULL,
                                     &versions, &keys, &error));
  g_assert_cmpuint (versions, ==, 1 + writers * n);
}

/* Threads with their own handles: every commit lands. */
static void
test_writer_threads (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  Writer w[4];
  GThread *threads[4];

  g_assert_no_error (error);
  cleave_ocdbt_set_sync (store, FALSE);
  for (guint i = 0; i < 4; i++)
    {
      w[i] = (Writer) { dir, i, 30 };
      threads[i] = g_thread_new ("writer", writer_thread, &w[i]);
    }
  for (guint i = 0; i < 4; i++)
    g_thread_join (threads[i]);
  assert_all_writes (dir, 4, 30);

  /* The first handle sees the others' commits once it looks again. */
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 1);
  g_assert_true (cleave_ocdbt_refresh (store, &error));
  g_assert_cmpuint (cleave_ocdbt_get_version (store).generation, ==, 121);
  cleave_test_rm_rf (tmp);
}

static char *self_path;

/* Two processes, 200 transactions each, one store: all 400 are there. */
static void
test_writer_processes (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "store", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_create (dir, NULL, &error);
  g_autoptr(GSubprocess) p0 = NULL;
  g_autoptr(GSubprocess) p1 = NULL;

  g_assert_no_error (error);
  p0 = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_path, "--writer", dir, "0", "200", NULL);
  g_assert_no_error (error);
  p1 = g_subprocess_new (G_SUBPROCESS_FLAGS_NONE, &error, self_path, "--writer", dir, "1", "200", NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p0, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p1, NULL, &error));
  g_assert_no_error (error);
  assert_all_writes (dir, 2, 200);
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  /* A child writer for the multi-process test. */
  if (argc == 5 && strcmp (argv[1], "--writer") == 0)
    {
      Writer w = { argv[2], atoi (argv[3]), atoi (argv[4]) };
      writer_thread (&w);
      return 0;
    }
  self_path = g_canonicalize_filename (argv[0], NULL);

  cleave_test_init (&argc, &argv);
  g_test_add_func ("/ocdbt-writer/random", test_writer_random);
  g_test_add_func ("/ocdbt-writer/copy-on-write", test_writer_copy_on_write);
  g_test_add_func ("/ocdbt-writer/tensorstore-stores", test_writer_on_tensorstore_stores);
  g_test_add_func ("/ocdbt-writer/semantics", test_writer_semantics);
  g_test_add_func ("/ocdbt-writer/fork", test_writer_fork);
  g_test_add_func ("/ocdbt-writer/threads", test_writer_threads);
  g_test_add_func ("/ocdbt-writer/processes", test_writer_processes);
  return g_test_run ();
}
