/* test-ocdbt-vtree.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Builds version trees commit by commit, writes them as real stores, and
 * reads them back: the manifest layout must be tensorstore's (§6.4, with the
 * spec's worked examples) and every generation must be reachable.
 */

#include "cleave-ocdbt.h"
#include "cleave-ocdbt-vtree.h"
#include "cleave-test.h"

#include <string.h>

static CleaveOcdbtVersionNode *
sink_load (const CleaveOcdbtVersionNodeRef *ref,
           gpointer                         user_data,
           GError                         **error)
{
  CleaveTestSink *sink = user_data;
  CleaveOcdbtVersionNode *node;

  g_assert_true (ref->location.file == sink->file);
  node = cleave_ocdbt_version_node_decode (sink->data->data + ref->location.offset, ref->location.length,
                                           &ref->location, sink->arity_log2, error);
  return node;
}

static guint64
commit_time (guint64 gen)
{
  return G_GUINT64_CONSTANT (1700000000000000000) + gen * 1000;
}

/* Writes @generations empty-tree versions and returns the store directory. */
static char *
build_store (guint8                arity_log2,
             guint64               generations,
             CleaveOcdbtManifest **manifest_out)
{
  g_autoptr(CleaveOcdbtManifest) m = g_new0 (CleaveOcdbtManifest, 1);
  g_autoptr(GByteArray) data = g_byte_array_new ();
  g_autofree char *tmp = cleave_test_tmpdir ();
  char *dir = g_build_filename (tmp, "vtree.ocdbt", NULL);
  g_autofree char *ddir = g_build_filename (dir, "d", NULL);
  g_autofree char *dfile = g_build_filename (dir, "d", "00000000000000000000000000000001", NULL);
  g_autofree char *mfile = g_build_filename (dir, "manifest.ocdbt", NULL);
  g_autoptr(GBytes) encoded = NULL;
  CleaveTestSink sink = { data, g_intern_static_string ("d/00000000000000000000000000000001"), arity_log2 };

  m->config = (CleaveOcdbtConfig) {
    .manifest_kind = 0, .max_inline_value_bytes = 100, .max_decoded_node_bytes = 8388608,
    .version_tree_arity_log2 = arity_log2, .compression = 1, .zstd_level = 0,
  };
  m->versions = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersion));
  m->version_nodes = g_array_new (FALSE, TRUE, sizeof (CleaveOcdbtVersionNodeRef));

  for (guint64 gen = 1; gen <= generations; gen++)
    {
      CleaveOcdbtVersion v = {
        .generation = gen, .commit_time = commit_time (gen), .root_height = 0,
        .root = { g_intern_static_string (""), g_intern_static_string (""), CLEAVE_OCDBT_MISSING, CLEAVE_OCDBT_MISSING },
      };
      g_autoptr(GError) error = NULL;

      if (gen == 1)
        g_array_append_val (m->versions, v);
      else
        g_assert_true (cleave_ocdbt_vtree_append (m, &v, sink_load, cleave_test_sink_write, &sink, &error));
      g_assert_no_error (error);
    }

  g_assert_cmpint (g_mkdir_with_parents (ddir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (dfile, (const char *) data->data, data->len, NULL));
  encoded = cleave_ocdbt_manifest_encode (m);
  g_assert_true (g_file_set_contents (mfile, g_bytes_get_data (encoded, NULL), g_bytes_get_size (encoded), NULL));
  *manifest_out = g_steal_pointer (&m);
  return dir;
}

static void
check_layout (guint8         arity_log2,
              guint64        generations,
              const guint64 *inline_gens,
              guint          n_inline,
              const guint8  *heights,
              const guint64 *node_gens,
              guint          n_nodes)
{
  g_autoptr(CleaveOcdbtManifest) built = NULL;
  g_autofree char *dir = build_store (arity_log2, generations, &built);
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
  g_autoptr(GArray) versions = NULL;
  const CleaveOcdbtManifest *m;

  g_assert_no_error (error);
  m = cleave_ocdbt_get_manifest (store);
  g_assert_cmpuint (m->versions->len, ==, n_inline);
  for (guint i = 0; i < n_inline; i++)
    g_assert_cmpuint (g_array_index (m->versions, CleaveOcdbtVersion, i).generation, ==, inline_gens[i]);
  g_assert_cmpuint (m->version_nodes->len, ==, n_nodes);
  for (guint i = 0; i < n_nodes; i++)
    {
      const CleaveOcdbtVersionNodeRef *r = &g_array_index (m->version_nodes, CleaveOcdbtVersionNodeRef, i);
      g_assert_cmpuint (r->height, ==, heights[i]);
      g_assert_cmpuint (r->generation, ==, node_gens[i]);
      /* Each node covers everything after the previous one. */
      g_assert_cmpuint (r->num_generations, ==, node_gens[i] - (i ? node_gens[i - 1] : 0));
      g_assert_cmpuint (r->commit_time, ==, commit_time ((i ? node_gens[i - 1] : 0) + 1));
    }

  /* Every generation is there, in order, by generation and by time. */
  versions = cleave_ocdbt_list_versions (store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (versions->len, ==, generations);
  for (guint64 gen = 1; gen <= generations; gen++)
    {
      const CleaveOcdbtVersion *v = &g_array_index (versions, CleaveOcdbtVersion, gen - 1);
      g_autoptr(CleaveOcdbt) by_gen = cleave_ocdbt_pin_generation (store, gen, &error);
      g_autoptr(CleaveOcdbt) by_time = NULL;

      g_assert_no_error (error);
      g_assert_cmpuint (v->generation, ==, gen);
      g_assert_cmpuint (v->commit_time, ==, commit_time (gen));
      g_assert_cmpuint (v->root.offset, ==, CLEAVE_OCDBT_MISSING);
      g_assert_cmpuint (cleave_ocdbt_get_version (by_gen).generation, ==, gen);
      by_time = cleave_ocdbt_pin_time (store, commit_time (gen) + 999, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (cleave_ocdbt_get_version (by_time).generation, ==, gen);
    }
}

/* The spec's worked example: arity_log2 1, 200 generations. */
static void
test_vtree_arity1_worked_example (void)
{
  const guint64 inl[] = { 199, 200 };
  const guint8 heights[] = { 6, 5, 4, 3, 2, 1 };
  const guint64 gens[] = { 128, 160, 176, 192, 196, 198 };

  check_layout (1, 200, inl, G_N_ELEMENTS (inl), heights, gens, G_N_ELEMENTS (gens));
}

/* The golden multi_version_high_arity layout: inline 193..200, one h1 node. */
static void
test_vtree_arity4_golden_layout (void)
{
  guint64 inl[8];
  const guint8 heights[] = { 1 };
  const guint64 gens[] = { 192 };

  for (guint i = 0; i < 8; i++)
    inl[i] = 193 + i;
  check_layout (4, 200, inl, 8, heights, gens, 1);
}

/* Every count up to 70 at arity_log2 2: reachable after each. */
static void
test_vtree_every_count (void)
{
  for (guint64 n = 1; n <= 70; n++)
    {
      g_autoptr(CleaveOcdbtManifest) built = NULL;
      g_autofree char *dir = build_store (2, n, &built);
      g_autoptr(GError) error = NULL;
      g_autoptr(CleaveOcdbt) store = cleave_ocdbt_open (dir, &error);
      g_autoptr(GArray) versions = NULL;

      g_assert_no_error (error);
      versions = cleave_ocdbt_list_versions (store, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (versions->len, ==, n);
      for (guint64 g = 1; g <= n; g++)
        g_assert_cmpuint (g_array_index (versions, CleaveOcdbtVersion, g - 1).generation, ==, g);
    }
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/ocdbt-vtree/arity1-worked-example", test_vtree_arity1_worked_example);
  g_test_add_func ("/ocdbt-vtree/arity4-golden-layout", test_vtree_arity4_golden_layout);
  g_test_add_func ("/ocdbt-vtree/every-count", test_vtree_every_count);

  return g_test_run ();
}
