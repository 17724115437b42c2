/* test-ocdbt-btree.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * B+trees built from sorted pairs, written as real stores and read back
 * with the reader: same keys, same bytes, the shape the limits ask for.
 */

#include "cleave-ocdbt.h"
#include "cleave-ocdbt-btree.h"
#include "cleave-test.h"

#include <string.h>

/* One generation holding @pairs; returns the store's directory. */
static char *
write_store (const CleaveOcdbtConfig   *config,
             const CleaveOcdbtKeyValue *pairs,
             gsize                      n,
             CleaveOcdbtVersion        *version)
{
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autofree char *tmp = cleave_test_tmpdir ();
  char *dir = g_build_filename (tmp, "tree.ocdbt", NULL);
  g_autofree char *ddir = g_build_filename (dir, "d", NULL);
  g_autofree char *dfile = g_build_filename (ddir, "0123456789abcdef0123456789abcdef", NULL);
  g_autofree char *mfile = g_build_filename (dir, "manifest.ocdbt", NULL);
  CleaveOcdbtManifest m = { *config, g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion)),
                            g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef)) };
  CleaveTestSink sink = { data, g_intern_static_string ("d/0123456789abcdef0123456789abcdef"), 4 };
  g_autoptr(GBytes) manifest = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_true (cleave_ocdbt_btree_build (config, pairs, n, cleave_test_sink_write, &sink, version, &error));
  g_assert_no_error (error);
  version->generation = 1;
  version->commit_time = G_GUINT64_CONSTANT (1700000000000000000);
  g_array_append_val (m.versions, *version);
  manifest = cleave_ocdbt_manifest_encode (&m);
  g_array_unref (m.versions);
  g_array_unref (m.version_nodes);

  g_assert_cmpint (g_mkdir_with_parents (ddir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (dfile, (const char *) data->data, data->len, NULL));
  g_assert_true (g_file_set_contents (mfile, g_bytes_get_data (manifest, NULL), g_bytes_get_size (manifest), NULL));
  return dir;
}

typedef struct
{
  const CleaveOcdbtKeyValue *pairs;
  gsize                      next;
} Expect;

static gboolean
check_entry (const guint8 *key,
             gsize         key_len,
             guint64       value_len,
             gpointer      user_data)
{
  Expect *x = user_data;
  const CleaveOcdbtKeyValue *p = &x->pairs[x->next++];

  g_assert_cmpmem (key, key_len, p->key, p->key_len);
  g_assert_cmpuint (value_len, ==, p->value_len);
  return TRUE;
}

static void
check_store (const char                *dir,
             const CleaveOcdbtKeyValue *pairs,
             gsize                      n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  Expect x = { pairs, 0 };

  g_assert_no_error (error);
  g_assert_true (cleave_ocdbt_list (store, NULL, 0, NULL, 0, check_entry, &x, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (x.next, ==, n);
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GBytes) value = NULL;

      g_assert_true (cleave_ocdbt_get (store, pairs[i].key, pairs[i].key_len, &value, &error));
      g_assert_no_error (error);
      g_assert_nonnull (value);
      g_assert_cmpmem (g_bytes_get_data (value, NULL), g_bytes_get_size (value), pairs[i].value, pairs[i].value_len);
    }
}

static int
cmp_strv (gconstpointer a,
          gconstpointer b)
{
  return strcmp (*(const char **) a, *(const char **) b);
}

/* Thousands of chunk-like keys, values around the inline limit, small nodes:
 * a deep tree that reads back exactly. */
static void
test_btree_random_deep (void)
{
  const gsize budgets[] = { 1, 512, 4096, 8388608 };

  for (guint b = 0; b < G_N_ELEMENTS (budgets); b++)
    {
      g_autoptr(GRand) rand = g_rand_new_with_seed (11 + b);
      CleaveOcdbtConfig config = { .max_inline_value_bytes = 100, .max_decoded_node_bytes = budgets[b],
                                   .version_tree_arity_log2 = 4, .compression = b % 2 };
      g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
      g_autofree CleaveOcdbtKeyValue *pairs = NULL;
      g_autofree guint8 *values = g_malloc (400);
      g_autofree char *dir = NULL;
      CleaveOcdbtVersion version;
      guint64 indirect = 0;
      gsize n = b == 0 ? 300 : 3000;

      for (guint i = 0; i < 400; i++)
        values[i] = g_rand_int (rand);
      for (gsize i = 0; i < n; i++)
        g_ptr_array_add (keys, g_strdup_printf ("seg/%zu/%zu-%zu_%zu-%zu", i % 3, i * 64, i * 64 + 64, i % 7 * 32, i % 7 * 32 + 32));
      g_ptr_array_sort (keys, cmp_strv);
      pairs = g_new0 (CleaveOcdbtKeyValue, n);
      for (gsize i = 0; i < n; i++)
        {
          pairs[i] = (CleaveOcdbtKeyValue) { keys->pdata[i], strlen (keys->pdata[i]), values + (i % 50),
                                             g_rand_int_range (rand, 0, 5) == 0 ? 0 : g_rand_int_range (rand, 90, 111) };
          if (pairs[i].value_len > 100)
            indirect += pairs[i].value_len;
        }

      dir = write_store (&config, pairs, n, &version);
      g_test_message ("budget %zu: height %u, %" G_GUINT64_FORMAT " tree bytes", budgets[b], version.root_height,
                      version.stats.num_tree_bytes);
      g_assert_cmpuint (version.stats.num_keys, ==, n);
      g_assert_cmpuint (version.stats.num_indirect_value_bytes, ==, indirect);
      if (budgets[b] <= 4096)
        g_assert_cmpuint (version.root_height, >=, 2);
      else
        g_assert_cmpuint (version.root_height, ==, 0);
      check_store (dir, pairs, n);
    }
}

/* The golden files_min_arity case rebuilt with its limits (inline 2, node 1
 * byte): tensorstore's shape, height 3, and its indirect byte count. */
static void
test_btree_golden_shape (void)
{
  static const char *keys[] = { "#", "a", "b", "baz/first", "baz/x", "baz/z", "c", "empty" };
  static const char *vals[] = { "", "abc", "abc", "", "", "", "bar", "" };
  CleaveOcdbtConfig config = { .max_inline_value_bytes = 2, .max_decoded_node_bytes = 1,
                               .version_tree_arity_log2 = 4, .compression = 1 };
  CleaveOcdbtKeyValue pairs[8];
  g_autofree char *dir = NULL;
  CleaveOcdbtVersion version;

  for (guint i = 0; i < 8; i++)
    pairs[i] = (CleaveOcdbtKeyValue) { (const guint8 *) keys[i], strlen (keys[i]), (const guint8 *) vals[i], strlen (vals[i]) };
  dir = write_store (&config, pairs, 8, &version);
  g_assert_cmpuint (version.root_height, ==, 3);
  g_assert_cmpuint (version.stats.num_keys, ==, 8);
  g_assert_cmpuint (version.stats.num_indirect_value_bytes, ==, 9);
  check_store (dir, pairs, 8);
}

static void
test_btree_empty (void)
{
  CleaveOcdbtConfig config = { .max_inline_value_bytes = 100, .max_decoded_node_bytes = 8388608,
                               .version_tree_arity_log2 = 4 };
  g_autofree char *dir = NULL;
  CleaveOcdbtVersion version;

  dir = write_store (&config, NULL, 0, &version);
  g_assert_cmpuint (version.root.offset, ==, CLEAVE_OCDBT_MISSING);
  check_store (dir, NULL, 0);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/ocdbt-btree/random-deep", test_btree_random_deep);
  g_test_add_func ("/ocdbt-btree/golden-shape", test_btree_golden_shape);
  g_test_add_func ("/ocdbt-btree/empty", test_btree_empty);

  return g_test_run ();
}
