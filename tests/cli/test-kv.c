/* test-kv.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl kv on tensorstore-written stores, as a user would run it.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <string.h>

static char *
golden (const char *name)
{
  return cleave_test_shared_path ("testdata", "ocdbt", name, NULL);
}

static void
test_kv_ls (void)
{
  g_autofree char *store = golden ("files_min_arity.ocdbt");
  g_auto(CleaveTestRun) text = { 0 };
  g_auto(CleaveTestRun) json = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *arr;

  cleave_test_run (&text, NULL, cleave_test_env ("CLEAVECTL"), "kv", "ls", store, NULL);
  g_assert_cmpint (text.status, ==, 0);
  g_assert_cmpstr (text.out, ==, "#\t0\na\t3\nb\t3\nbaz/first\t0\nbaz/x\t0\nbaz/z\t0\nc\t3\nempty\t0\n");

  cleave_test_run (&json, NULL, cleave_test_env ("CLEAVECTL"), "kv", "ls", store, "--prefix", "baz/", "--json", NULL);
  g_assert_cmpint (json.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, json.out, -1, &error));
  arr = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (arr), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 0), "key"), ==, "baz/first");
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 2), "key"), ==, "baz/z");
}

static void
test_kv_get (void)
{
  g_autofree char *store = golden ("multi_version_high_arity.ocdbt");
  g_autofree char *zarr = golden ("ome_zarr_simple_0.5.ocdbt");
  g_autofree char *plain = golden ("expected_ome_zarr_simple_0.5/scale0/image/c/0/0");
  g_autofree char *expected = NULL;
  gsize expected_len;
  g_auto(CleaveTestRun) latest = { 0 };
  g_auto(CleaveTestRun) old = { 0 };
  g_auto(CleaveTestRun) absent = { 0 };
  g_auto(CleaveTestRun) indirect = { 0 };

  cleave_test_run (&latest, NULL, cleave_test_env ("CLEAVECTL"), "kv", "get", store, "key150", NULL);
  g_assert_cmpint (latest.status, ==, 0);
  g_assert_cmpstr (latest.out, ==, "version 150");

  /* key150 did not exist yet in generation 100. */
  cleave_test_run (&old, NULL, cleave_test_env ("CLEAVECTL"), "kv", "get", store, "key150", "--version", "100", NULL);
  g_assert_cmpint (old.status, ==, 1);
  g_assert_cmpstr (old.out, ==, "");
  g_assert_nonnull (strstr (old.err, "no key 'key150' in generation 100"));

  cleave_test_run (&absent, NULL, cleave_test_env ("CLEAVECTL"), "kv", "get", store, "key1",
                   "--at", "2020-01-01T00:00:00Z", NULL);
  g_assert_cmpint (absent.status, ==, 1);
  g_assert_nonnull (strstr (absent.err, "no version was committed at or before 2020-01-01T00:00:00"));

  /* An out-of-line value, byte for byte. */
  g_assert_true (g_file_get_contents (plain, &expected, &expected_len, NULL));
  cleave_test_run (&indirect, NULL, cleave_test_env ("CLEAVECTL"), "kv", "get", zarr, "scale0/image/c/0/0", NULL);
  g_assert_cmpint (indirect.status, ==, 0);
  g_assert_cmpmem (indirect.out, indirect.out_len, expected, expected_len);
}

static void
test_kv_versions (void)
{
  g_autofree char *store = golden ("multi_version_high_arity.ocdbt");
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *arr;
  JsonObject *first;

  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "kv", "versions", store, "--json", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, run.out, -1, NULL));
  arr = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (arr), ==, 200);
  first = json_array_get_object_element (arr, 0);
  g_assert_cmpint (json_object_get_int_member (first, "generation"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (first, "commit_time_ns"), ==, G_GINT64_CONSTANT (1738272778378504069));
  g_assert_cmpstr (json_object_get_string_member (first, "commit_time"), ==, "2025-01-30T21:32:58.378504069Z");
}

static void
test_kv_errors (void)
{
  g_autofree char *store = golden ("files_high_arity.ocdbt");
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *missing = g_build_filename (tmp, "none", NULL);
  g_auto(CleaveTestRun) both = { 0 };
  g_auto(CleaveTestRun) nostore = { 0 };
  g_auto(CleaveTestRun) badtime = { 0 };

  cleave_test_run (&both, NULL, cleave_test_env ("CLEAVECTL"), "kv", "ls", store, "--version", "1", "--at",
                   "2025-01-01T00:00:00Z", NULL);
  g_assert_cmpint (both.status, ==, 1);
  g_assert_nonnull (strstr (both.err, "not both"));

  cleave_test_run (&nostore, NULL, cleave_test_env ("CLEAVECTL"), "kv", "ls", missing, NULL);
  g_assert_cmpint (nostore.status, ==, 1);
  g_assert_true (g_str_has_prefix (nostore.err, "cleavectl: kv ls: "));
  g_assert_nonnull (strstr (nostore.err, "no such directory"));

  cleave_test_run (&badtime, NULL, cleave_test_env ("CLEAVECTL"), "kv", "ls", store, "--at", "tuesday", NULL);
  g_assert_cmpint (badtime.status, ==, 1);
  g_assert_nonnull (strstr (badtime.err, "not an ISO 8601 time"));
}

static void
test_kv_check (void)
{
  g_autofree char *golden_store = golden ("multi_version_high_arity.ocdbt");
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *copy = g_build_filename (tmp, "damaged.ocdbt", NULL);
  g_autofree char *cmd = g_strdup_printf ("cp -r '%s' '%s' && chmod -R u+w '%s'", golden_store, copy, copy);
  g_autofree char *victim = NULL;
  g_autofree char *data = NULL;
  g_auto(CleaveTestRun) clean = { 0 };
  g_auto(CleaveTestRun) damaged = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *report;
  JsonArray *problems;
  gsize len;

  cleave_test_run (&clean, NULL, cleave_test_env ("CLEAVECTL"), "kv", "check", golden_store, NULL);
  g_assert_cmpint (clean.status, ==, 0);
  g_assert_cmpstr (clean.out, ==, "ok: 200 generations, 20100 values read\n");

  /* One flipped byte in the data file that holds generation 65's root. */
  g_assert_cmpint (system (cmd), ==, 0);
  victim = g_build_filename (copy, "d", "04d5d7f8d3c3085814456a5f0f0af3f5", NULL);
  g_assert_true (g_file_get_contents (victim, &data, &len, NULL));
  data[20] ^= 0x40;
  g_assert_true (g_file_set_contents (victim, data, len, NULL));

  cleave_test_run (&damaged, NULL, cleave_test_env ("CLEAVECTL"), "kv", "check", copy, "--json", NULL);
  g_assert_cmpint (damaged.status, ==, 1);
  g_assert_true (json_parser_load_from_data (parser, damaged.out, -1, NULL));
  report = json_node_get_object (json_parser_get_root (parser));
  g_assert_false (json_object_get_boolean_member (report, "ok"));
  g_assert_cmpint (json_object_get_int_member (report, "generations"), ==, 200);
  problems = json_object_get_array_member (report, "problems");
  g_assert_cmpuint (json_array_get_length (problems), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (problems, 0), "generation"), ==, 65);
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (problems, 0), "message"),
                            "04d5d7f8d3c3085814456a5f0f0af3f5: offset"));
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/cli/kv/ls", test_kv_ls);
  g_test_add_func ("/cli/kv/get", test_kv_get);
  g_test_add_func ("/cli/kv/versions", test_kv_versions);
  g_test_add_func ("/cli/kv/errors", test_kv_errors);
  g_test_add_func ("/cli/kv/check", test_kv_check);

  return g_test_run ();
}
