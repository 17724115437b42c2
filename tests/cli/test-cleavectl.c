/* test-cleavectl.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The command-line conventions every cleavectl command follows.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <string.h>

static const char *
cleavectl (void)
{
  return cleave_test_env ("CLEAVECTL");
}

/* A user error is exactly one "cleavectl: " line on stderr (a usage error
 * may add its usage line), and nothing on stdout. */
static void
assert_one_line_error (const CleaveTestRun *run,
                       int                  status,
                       const char          *needle)
{
  g_assert_cmpint (run->status, ==, status);
  g_assert_cmpstr (run->out, ==, "");
  g_assert_true (g_str_has_prefix (run->err, "cleavectl: "));
  g_assert_nonnull (strstr (run->err, needle));
  if (status == 1)
    g_assert_cmpint (strchr (run->err, '\n') - run->err, ==, strlen (run->err) - 1);
  else
    g_assert_nonnull (strstr (run->err, "\nusage: cleavectl"));
}

static void
test_cli_version (void)
{
  g_auto(CleaveTestRun) run1 = { 0 };
  g_auto(CleaveTestRun) run2 = { 0 };

  cleave_test_run (&run1, NULL, cleavectl (), "--version", NULL);
  g_assert_cmpint (run1.status, ==, 0);
  g_assert_true (g_str_has_prefix (run1.out, "cleavectl "));

  cleave_test_run (&run2, NULL, cleavectl (), "version", NULL);
  g_assert_cmpint (run2.status, ==, 0);
  g_assert_nonnull (strstr (run2.out, "sqlite "));
  g_assert_nonnull (strstr (run2.out, "zstd "));
}

static void
test_cli_version_json (void)
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *obj;

  cleave_test_run (&run, NULL, cleavectl (), "version", "--json", NULL);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, run.out, -1, &error));
  g_assert_no_error (error);
  obj = json_node_get_object (json_parser_get_root (parser));
  g_assert_nonnull (obj);
  g_assert_true (json_object_has_member (obj, "version"));
  g_assert_true (json_object_has_member (obj, "libraries"));
}

static void
test_cli_help (void)
{
  g_auto(CleaveTestRun) list = { 0 };
  g_auto(CleaveTestRun) one = { 0 };
  g_auto(CleaveTestRun) dash = { 0 };
  g_auto(CleaveTestRun) opt = { 0 };

  cleave_test_run (&list, NULL, cleavectl (), "help", NULL);
  g_assert_cmpint (list.status, ==, 0);
  g_assert_nonnull (strstr (list.out, "usage: cleavectl COMMAND"));
  g_assert_nonnull (strstr (list.out, "\n  version "));
  g_assert_nonnull (strstr (list.out, "\n  help "));

  cleave_test_run (&one, NULL, cleavectl (), "help", "version", NULL);
  g_assert_cmpint (one.status, ==, 0);
  g_assert_true (g_str_has_prefix (one.out, "usage: cleavectl version [--json]"));
  g_assert_nonnull (strstr (one.out, "--json"));

  cleave_test_run (&dash, NULL, cleavectl (), "--help", NULL);
  g_assert_cmpint (dash.status, ==, 0);
  g_assert_cmpstr (dash.out, ==, list.out);

  cleave_test_run (&opt, NULL, cleavectl (), "version", "--help", NULL);
  g_assert_cmpint (opt.status, ==, 0);
  g_assert_cmpstr (opt.out, ==, one.out);
}

static void
test_cli_usage_errors (void)
{
  struct {
    const char *args[4];
    const char *needle;
  } cases[] = {
    { { NULL }, "no command given" },
    { { "frobnicate", NULL }, "unknown command 'frobnicate'" },
    { { "--frob", NULL }, "unknown option --frob" },
    { { "version", "--frob", NULL }, "Unknown option --frob" },
    { { "version", "extra", NULL }, "too many arguments" },
    { { "help", "frobnicate", NULL }, "no command 'frobnicate'" },
    { { "version", "-x", NULL }, "Unknown option -x" },
    /* A negative number is an argument, and "--" ends the options. */
    { { "help", "-5,3,2", NULL }, "no command '-5,3,2'" },
    { { "help", "--", "-x" }, "no command '-x'" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_auto(CleaveTestRun) run = { 0 };
      const char **a = cases[i].args;

      cleave_test_run (&run, NULL, cleavectl (), a[0], a[0] ? a[1] : NULL, (a[0] && a[1]) ? a[2] : NULL, NULL);
      g_test_message ("case %u: status %d, stderr: %s", i, run.status, run.err);
      assert_one_line_error (&run, 2, cases[i].needle);
    }
}

static void
test_cli_stdout_failure (void)
{
  g_auto(CleaveTestRun) run = { 0 };

  /* Output that cannot be written is an error, not a silent success. */
  cleave_test_run (&run, NULL, "/bin/sh", "-c", "\"$0\" version --json > /dev/full", cleavectl (), NULL);
  g_assert_cmpint (run.status, ==, 1);
  g_assert_nonnull (strstr (run.err, "cleavectl: cannot write to standard output"));
}

static void
test_cli_harness_unread_stdin (void)
{
  g_autofree char *big = g_strnfill (1 << 20, 'x');

  /* A child that never reads its input must not take the test down. */
  for (guint i = 0; i < 20; i++)
    {
      g_auto(CleaveTestRun) run = { 0 };
      cleave_test_run (&run, big, "/bin/sh", "-c", "exit 0", NULL);
      g_assert_cmpint (run.status, ==, 0);
    }
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/cli/cleavectl/version", test_cli_version);
  g_test_add_func ("/cli/cleavectl/version-json", test_cli_version_json);
  g_test_add_func ("/cli/cleavectl/help", test_cli_help);
  g_test_add_func ("/cli/cleavectl/usage-errors", test_cli_usage_errors);
  g_test_add_func ("/cli/cleavectl/stdout-failure", test_cli_stdout_failure);
  g_test_add_func ("/cli/harness/unread-stdin", test_cli_harness_unread_stdin);

  return g_test_run ();
}
