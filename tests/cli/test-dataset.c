/* test-dataset.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl demo, info, seg read and seg lookup as a user would run them:
 * the demo is deterministic, its errors are where demo.json says, and bad
 * requests get one clear line.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

static char *
make_demo (const char *tmp,
           const char *name,
           const char *seed)
{
  char *dir = g_build_filename (tmp, name, NULL);
  g_auto(CleaveTestRun) run = { 0 };

  RUN (&run, "demo", dir, "--size", "128,128,32", "--chunk", "32,32,16", "--seed", seed);
  if (run.status != 0)
    g_error ("demo failed: %s", run.err);
  return dir;
}

/* Every key of a store with its value's checksum. */
static char *
store_digest (const char *store)
{
  g_auto(CleaveTestRun) ls = { 0 };
  g_autoptr(GString) out = g_string_new (NULL);
  g_auto(GStrv) lines = NULL;

  RUN (&ls, "kv", "ls", store);
  g_assert_cmpint (ls.status, ==, 0);
  lines = g_strsplit (ls.out, "\n", -1);
  for (guint i = 0; lines[i] && *lines[i]; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i], "\t", 2);
      g_auto(CleaveTestRun) get = { 0 };
      g_autofree char *sum = NULL;

      RUN (&get, "kv", "get", store, f[0]);
      g_assert_cmpint (get.status, ==, 0);
      sum = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guint8 *) get.out, get.out_len);
      g_string_append_printf (out, "%s %s\n", f[0], sum);
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
file_text (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  return text;
}

static guint64
lookup (const char   *dir,
        JsonArray    *point)
{
  g_autofree char *xyz = g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                                          json_array_get_int_element (point, 0), json_array_get_int_element (point, 1),
                                          json_array_get_int_element (point, 2));
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonNode) root = NULL;

  RUN (&run, "seg", "lookup", dir, xyz, "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = cleave_test_parse_json (run.out);
  return (guint64) json_object_get_int_member (json_array_get_object_element (json_node_get_array (root), 0), "sv");
}

static GHashTable *
read_agglomeration (const char *dir)
{
  g_autofree char *text = file_text (dir, "agglomeration.tsv");
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  GHashTable *agg = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  for (guint i = 0; lines[i]; i++)
    {
      guint64 sv, a;

      if (lines[i][0] == '#' || lines[i][0] == '\0')
        continue;
      g_assert_cmpint (sscanf (lines[i], "%" G_GUINT64_FORMAT "\t%" G_GUINT64_FORMAT, &sv, &a), ==, 2);
      g_hash_table_insert (agg, g_memdup2 (&sv, 8), g_memdup2 (&a, 8));
    }
  return agg;
}

static guint64
agglomeration_of (GHashTable *agg,
                  guint64     sv)
{
  guint64 *a = g_hash_table_lookup (agg, &sv);

  g_assert_nonnull (a);
  return *a;
}

static void
test_demo (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *a = make_demo (tmp, "a.cleave", "7");
  g_autofree char *b = make_demo (tmp, "b.cleave", "7");
  g_autofree char *c = make_demo (tmp, "c.cleave", "8");
  g_autoptr(GHashTable) agg = read_agglomeration (a);
  g_autofree char *json = file_text (a, "demo.json");
  g_autoptr(JsonNode) demo = cleave_test_parse_json (json);
  JsonObject *o = json_node_get_object (demo);
  const struct { const char *kind, *first, *second; } kinds[] = {
    { "merge_errors", "source", "sink" }, { "sv_merge_errors", "source", "sink" }, { "split_errors", "a", "b" },
  };

  /* Same seed, same contents (commit times, uuids and file names aside). */
  for (guint s = 0; s < 3; s++)
    {
      const char *store[] = { "seg/base", "seg/base+%s/seg/fork", "image" };
      g_autofree char *fa = g_strdup_printf (store[s], a);
      g_autofree char *fb = g_strdup_printf (store[s], b);
      g_autofree char *sa = g_build_filename (a, fa, NULL);
      g_autofree char *sb = g_build_filename (b, fb, NULL);
      g_autofree char *da = store_digest (sa);
      g_autofree char *db = store_digest (sb);

      g_assert_cmpstr (da, ==, db);
    }
  {
    g_autofree char *ea = file_text (a, "edges.tsv");
    g_autofree char *eb = file_text (b, "edges.tsv");
    g_autofree char *ec = file_text (c, "edges.tsv");
    g_autofree char *jb = file_text (b, "demo.json");

    g_assert_cmpstr (ea, ==, eb);
    g_assert_cmpstr (json, ==, jb);
    g_assert_cmpstr (ea, !=, ec);
  }

  /* The errors are what they say: a merge joins two objects through
   * different supervoxels of one agglomeration; an sv merge puts both
   * points in one supervoxel; a split leaves one object in two. */
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      JsonArray *errors = json_object_get_array_member (o, kinds[k].kind);

      g_assert_cmpuint (json_array_get_length (errors), >=, 2);
      for (guint i = 0; i < json_array_get_length (errors); i++)
        {
          JsonObject *e = json_array_get_object_element (errors, i);
          guint64 s1 = lookup (a, json_object_get_array_member (e, kinds[k].first));
          guint64 s2 = lookup (a, json_object_get_array_member (e, kinds[k].second));

          g_assert_cmpuint (s1, !=, 0);
          g_assert_cmpuint (s2, !=, 0);
          g_assert_cmpuint (s1 >> 56, ==, 1);   /* layer-1 ids */
          if (k == 1)
            g_assert_cmpuint (s1, ==, s2);
          else
            g_assert_cmpuint (s1, !=, s2);
          if (k == 2)
            g_assert_cmpuint (agglomeration_of (agg, s1), !=, agglomeration_of (agg, s2));
          else
            g_assert_cmpuint (agglomeration_of (agg, s1), ==, agglomeration_of (agg, s2));
        }
    }
  cleave_test_rm_rf (tmp);
}

static void
test_read_info_errors (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *ds = make_demo (tmp, "d.cleave", "3");
  g_autofree char *out = g_build_filename (tmp, "box.bin", NULL);
  g_auto(CleaveTestRun) info = { 0 };
  g_auto(CleaveTestRun) read = { 0 };
  g_auto(CleaveTestRun) read_old = { 0 };
  g_auto(CleaveTestRun) outside = { 0 };
  g_auto(CleaveTestRun) empty = { 0 };
  g_auto(CleaveTestRun) no_mip = { 0 };
  g_auto(CleaveTestRun) not_ds = { 0 };
  g_auto(CleaveTestRun) again = { 0 };
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *bytes = NULL;
  gsize len;

  RUN (&info, "info", ds, "--json");
  g_assert_cmpint (info.status, ==, 0);
  root = cleave_test_parse_json (info.out);
  {
    JsonObject *seg = json_object_get_object_member (json_node_get_object (root), "segmentation");
    JsonArray *scales = json_object_get_array_member (seg, "scales");
    JsonObject *mip1 = json_array_get_object_element (scales, 1);

    g_assert_cmpuint (json_array_get_length (scales), ==, 3);
    g_assert_cmpint (json_array_get_int_element (json_object_get_array_member (mip1, "size"), 0), ==, 64);
    g_assert_cmpstr (json_object_get_string_member (mip1, "encoding"), ==, "compressed_segmentation");
  }

  /* A box at mip 1, to a file: 8 bytes a voxel, the ids of the lookups. */
  RUN (&read, "seg", "read", ds, "--box", "0,0,0:64,64,4", "--mip", "1", "--out", out);
  g_assert_cmpint (read.status, ==, 0);
  g_assert_true (g_file_get_contents (out, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, 64 * 64 * 4 * 8);
  RUN (&read_old, "seg", "read", ds, "--box", "0,0,0:8,8,1", "--version", "1");
  g_assert_cmpint (read_old.status, ==, 1);   /* generation 1 has no volume yet */
  g_assert_nonnull (strstr (read_old.err, "no volume here"));

  RUN (&outside, "seg", "read", ds, "--box", "0,0,0:129,1,1");
  g_assert_cmpint (outside.status, ==, 1);
  g_assert_nonnull (strstr (outside.err, "outside the volume (0,0,0:128,128,32)"));
  RUN (&empty, "seg", "read", ds, "--box", "5,0,0:5,1,1");
  g_assert_cmpint (empty.status, ==, 1);
  g_assert_nonnull (strstr (empty.err, "empty box"));
  RUN (&no_mip, "seg", "lookup", ds, "1,1,1", "--mip", "9");
  g_assert_cmpint (no_mip.status, ==, 1);
  g_assert_nonnull (strstr (no_mip.err, "no mip 9"));
  RUN (&not_ds, "info", tmp);
  g_assert_cmpint (not_ds.status, ==, 1);
  g_assert_nonnull (strstr (not_ds.err, "not a Cleave dataset"));
  RUN (&again, "demo", ds);
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "already exists"));
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/dataset/demo", test_demo);
  g_test_add_func ("/dataset/read-info-errors", test_read_info_errors);
  return g_test_run ();
}
