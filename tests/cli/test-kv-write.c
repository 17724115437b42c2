/* test-kv-write.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * cleavectl kv put/rm/fork as a user would run them, and writers killed at
 * every step of a commit: the store then opens at the previous generation
 * or the new one, never anything else, and checks clean.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "cleave-fault.h"

#define RUN(run, stdin_text, ...) \
  cleave_test_run ((run), (stdin_text), cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

static guint64
latest_generation (const char *store)
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonArray *arr;

  RUN (&run, NULL, "kv", "versions", store, "--json");
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, run.out, -1, &error));
  arr = json_node_get_array (json_parser_get_root (parser));
  return json_object_get_int_member (json_array_get_object_element (arr, json_array_get_length (arr) - 1),
                                     "generation");
}

static void
assert_check_clean (const char *store)
{
  g_auto(CleaveTestRun) run = { 0 };

  RUN (&run, NULL, "kv", "check", store);
  if (run.status != 0)
    g_error ("kv check %s: %s", store, run.err);
  g_assert_cmpstr (run.err, ==, "");
}

static void
assert_value (const char *store,
              const char *key,
              const char *expected)
{
  g_auto(CleaveTestRun) run = { 0 };

  RUN (&run, NULL, "kv", "get", store, key);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_cmpstr (run.out, ==, expected);
}

static void
test_put_rm (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *store = g_build_filename (tmp, "new.ocdbt", NULL);
  g_autofree char *file = g_build_filename (tmp, "value.bin", NULL);
  g_autofree char *big = g_strnfill (5000, 'q');
  g_auto(CleaveTestRun) put1 = { 0 };
  g_auto(CleaveTestRun) put2 = { 0 };
  g_auto(CleaveTestRun) rm = { 0 };
  g_auto(CleaveTestRun) rm_again = { 0 };
  g_auto(CleaveTestRun) missing_file = { 0 };
  g_auto(CleaveTestRun) ls = { 0 };

  /* The first put creates the store. */
  RUN (&put1, "from stdin", "kv", "put", store, "a/key");
  g_assert_cmpint (put1.status, ==, 0);
  g_assert_cmpstr (put1.out, ==, "generation 2\n");
  g_assert_true (g_file_set_contents (file, big, -1, NULL));
  RUN (&put2, NULL, "kv", "put", store, "b/big", file);
  g_assert_cmpint (put2.status, ==, 0);
  assert_value (store, "a/key", "from stdin");
  assert_value (store, "b/big", big);

  RUN (&rm, NULL, "kv", "rm", store, "a/key");
  g_assert_cmpint (rm.status, ==, 0);
  g_assert_cmpstr (rm.out, ==, "generation 4\n");
  RUN (&rm_again, NULL, "kv", "rm", store, "a/key");
  g_assert_cmpint (rm_again.status, ==, 1);
  g_assert_nonnull (strstr (rm_again.err, "no key 'a/key' in generation 4"));

  RUN (&missing_file, NULL, "kv", "put", store, "c", "/nonexistent/file");
  g_assert_cmpint (missing_file.status, ==, 1);
  g_assert_nonnull (strstr (missing_file.err, "/nonexistent/file"));
  g_assert_cmpuint (latest_generation (store), ==, 4);

  RUN (&ls, NULL, "kv", "ls", store);
  g_assert_cmpstr (ls.out, ==, "b/big\t5000\n");
  assert_check_clean (store);
  cleave_test_rm_rf (tmp);
}

static void
test_fork (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *base = g_build_filename (tmp, "base", NULL);
  g_autofree char *fork = g_build_filename (tmp, "fork", NULL);
  g_autofree char *spec = g_strconcat (base, "+", fork, NULL);
  g_auto(CleaveTestRun) seed = { 0 };
  g_auto(CleaveTestRun) no_fork = { 0 };
  g_auto(CleaveTestRun) make = { 0 };
  g_auto(CleaveTestRun) again = { 0 };
  g_auto(CleaveTestRun) edit = { 0 };
  g_auto(CleaveTestRun) wipe = { 0 };

  RUN (&seed, "base value", "kv", "put", base, "k");
  g_assert_cmpint (seed.status, ==, 0);

  /* A fork is never made behind the user's back. */
  RUN (&no_fork, "x", "kv", "put", spec, "k");
  g_assert_cmpint (no_fork.status, ==, 1);
  g_assert_nonnull (strstr (no_fork.err, "kv fork"));
  g_assert_true (g_str_has_suffix (no_fork.err, "\n") && strchr (no_fork.err, '\n') == strrchr (no_fork.err, '\n'));

  RUN (&make, NULL, "kv", "fork", base, fork);
  g_assert_cmpint (make.status, ==, 0);
  RUN (&again, NULL, "kv", "fork", base, fork);
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "--wipe"));

  RUN (&edit, "fork value", "kv", "put", spec, "k");
  g_assert_cmpint (edit.status, ==, 0);
  assert_value (spec, "k", "fork value");
  assert_value (base, "k", "base value");
  assert_check_clean (spec);
  assert_check_clean (base);

  RUN (&wipe, NULL, "kv", "fork", base, fork, "--wipe");
  g_assert_cmpint (wipe.status, ==, 0);
  assert_value (spec, "k", "base value");
  cleave_test_rm_rf (tmp);
}

/* Kill a writer at each step of a commit. Before the rename the store
 * reads as before; from the rename on, as after. Either way it checks
 * clean and the next commit works. */
static void
test_crash (gconstpointer data)
{
  const char *point = data;
  gboolean after = strcmp (point, "commit-renamed") == 0;
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *store = g_build_filename (tmp, "store", NULL);
  g_autofree char *file = g_build_filename (tmp, "big", NULL);
  g_autofree char *fault = g_strconcat ("CLEAVE_FAULT=", point, NULL);
  g_autofree char *big = g_strnfill (300000, 'z');
  g_auto(CleaveTestRun) seed = { 0 };
  g_auto(CleaveTestRun) seed2 = { 0 };
  g_auto(CleaveTestRun) killed = { 0 };
  g_auto(CleaveTestRun) next = { 0 };

  RUN (&seed, "one", "kv", "put", store, "k");
  RUN (&seed2, "two", "kv", "put", store, "other");
  g_assert_cmpint (seed2.status, ==, 0);
  g_assert_true (g_file_set_contents (file, big, -1, NULL));

  cleave_test_run (&killed, NULL, "/usr/bin/env", fault, cleave_test_env ("CLEAVECTL"),
                   "kv", "put", store, "k", file, NULL);
  g_assert_cmpint (killed.status, ==, CLEAVE_FAULT_EXIT_STATUS);

  g_assert_cmpuint (latest_generation (store), ==, after ? 4 : 3);
  assert_value (store, "k", after ? big : "one");
  assert_value (store, "other", "two");
  assert_check_clean (store);

  RUN (&next, "three", "kv", "put", store, "k");
  g_assert_cmpint (next.status, ==, 0);
  g_assert_cmpuint (latest_generation (store), ==, after ? 5 : 4);
  assert_value (store, "k", "three");
  assert_check_clean (store);
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  static const char *points[] = {
    "commit-locked", "commit-data-partial", "commit-data-synced",
    "commit-manifest-partial", "commit-manifest-synced", "commit-renamed",
  };

  cleave_test_init (&argc, &argv);
  g_test_add_func ("/kv-write/put-rm", test_put_rm);
  g_test_add_func ("/kv-write/fork", test_fork);
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      g_autofree char *path = g_strconcat ("/kv-write/crash/", points[i], NULL);
      g_test_add_data_func (path, points[i], test_crash);
    }
  return g_test_run ();
}
