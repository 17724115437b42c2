/* test-recover.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * A supervoxel split killed at each of its fault points: the op is listed
 * as stuck with its scope, its chunks refuse other splits, a replay brings
 * it to SUCCESS with a consistent graph and segmentation, and a second
 * replay is refused. Killed between the split and the cut, the split
 * stays (durable), nothing is left stuck, and the split made again cuts
 * the object. Either way the segmentation ends as the same objects as
 * the split run with no fault.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

/* The whole demo volume: small enough to compare voxel by voxel. */
#define DEMO_SIZE "256,256,64"
static const gint64 demo_lo[3] = { 0, 0, 0 };
static const gint64 demo_hi[3] = { 256, 256, 64 };
#define DEMO_VOXELS ((gsize) 256 * 256 * 64)

/* Each voxel's supervoxel and object after the demo's first supervoxel
 * merge error is split with no fault on a fresh demo: what every killed
 * and recovered split must end with, up to ids. Made once. */
static guint64 *reference_svs;
static guint64 *reference_objects;

static void
make_reference (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *demo_path = NULL;
  g_autofree char *demo_text = NULL;
  g_autofree char *src = NULL;
  g_autofree char *snk = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  g_auto(CleaveTestRun) split = { 0 };
  JsonObject *e;

  if (reference_objects != NULL)
    return;
  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "reference.cleave", NULL);
  demo_path = g_build_filename (dir, "demo.json", NULL);
  RUN (&make, "demo", dir, "--size", DEMO_SIZE);
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  e = json_array_get_object_element (json_object_get_array_member (json_node_get_object (demo), "sv_merge_errors"), 0);
  src = cleave_test_point (e, "source");
  snk = cleave_test_point (e, "sink");
  RUN (&split, "split", dir, "--source", src, "--sink", snk);
  if (split.status != 0)
    g_error ("the split with no fault: %s", split.err);
  reference_svs = cleave_test_seg_read (dir, demo_lo, demo_hi);
  reference_objects = g_memdup2 (reference_svs, 8 * DEMO_VOXELS);
  cleave_test_to_roots (dir, reference_objects, DEMO_VOXELS);
  cleave_test_rm_rf (tmp);
}

/* @dir's segmentation cut into the same supervoxels and the same objects
 * as the split with no fault, whatever the ids. */
static void
assert_same_as_reference (const char *dir,
                          const char *fault)
{
  g_autofree guint64 *ids = cleave_test_seg_read (dir, demo_lo, demo_hi);
  g_autofree char *what = NULL;

  make_reference ();
  what = g_strdup_printf ("killed at %s, supervoxels", fault);
  cleave_test_assert_same_partition (ids, reference_svs, DEMO_VOXELS, what);
  cleave_test_to_roots (dir, ids, DEMO_VOXELS);
  g_clear_pointer (&what, g_free);
  what = g_strdup_printf ("killed at %s, objects", fault);
  cleave_test_assert_same_partition (ids, reference_objects, DEMO_VOXELS, what);
}

/* As if the temporal lock's 3 minutes had gone by: its cells expire. */
static void
expire_temporal_locks (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "graph.sqlite", NULL);
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  sqlite3_busy_timeout (db, 10000);
  g_assert_cmpint (sqlite3_exec (db, "UPDATE lock SET expires = 1 WHERE op IS NOT NULL", NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static guint
count_locks (const char *dir,
             const char *kind,
             gboolean    indefinite)
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonNode) held = NULL;
  JsonArray *a;
  guint n = 0;

  RUN (&run, "locks", dir, "--json");
  g_assert_cmpint (run.status, ==, 0);
  held = cleave_test_parse_json (run.out);
  a = json_node_get_array (held);
  for (guint i = 0; i < json_array_get_length (a); i++)
    {
      JsonObject *o = json_array_get_object_element (a, i);

      if (strcmp (json_object_get_string_member (o, "kind"), kind) == 0 &&
          json_object_get_boolean_member (o, "indefinite") == indefinite)
        n++;
    }
  return n;
}

static void
test_fault (gconstpointer data)
{
  const char *fault = data;
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "stuck.cleave", NULL);
  g_autofree char *demo_path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *env = g_strconcat ("CLEAVE_FAULT=", fault, NULL);
  g_autofree char *demo_text = NULL;
  g_autofree char *src = NULL;
  g_autofree char *snk = NULL;
  g_autofree char *src2 = NULL;
  g_autofree char *snk2 = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  g_auto(CleaveTestRun) killed = { 0 };
  g_auto(CleaveTestRun) list = { 0 };
  g_auto(CleaveTestRun) young = { 0 };
  g_auto(CleaveTestRun) replay = { 0 };
  g_auto(CleaveTestRun) again = { 0 };
  g_auto(CleaveTestRun) verify = { 0 };
  g_auto(CleaveTestRun) ops = { 0 };
  g_autoptr(JsonNode) stuck = NULL;
  g_autoptr(JsonNode) log = NULL;
  JsonArray *errs;
  gint64 r[2];
  gboolean before_retry = strcmp (fault, "svsplit-before-retry") == 0;

  RUN (&make, "demo", dir, "--size", DEMO_SIZE);
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  errs = json_object_get_array_member (json_node_get_object (demo), "sv_merge_errors");
  g_assert_cmpuint (json_array_get_length (errs), >=, 1);
  src = cleave_test_point (json_array_get_object_element (errs, 0), "source");
  snk = cleave_test_point (json_array_get_object_element (errs, 0), "sink");

  cleave_test_run (&killed, NULL, "/usr/bin/env", env, cleave_test_env ("CLEAVECTL"), "split", dir, "--source", src,
                   "--sink", snk, NULL);
  g_assert_cmpint (killed.status, ==, 86);

  RUN (&list, "stuck", "list", dir, "--min-age", "0", "--json");
  g_assert_cmpint (list.status, ==, 0);
  stuck = cleave_test_parse_json (list.out);
  if (before_retry)
    {
      /* The split ended cleanly before the process died: durable, no
       * scope, no indefinite cell; only the dead op's temporal root lock,
       * which expires. */
      g_assert_cmpuint (json_array_get_length (json_node_get_array (stuck)), ==, 0);
      g_assert_cmpuint (count_locks (dir, "l2chunk", TRUE), ==, 0);
      g_assert_cmpuint (count_locks (dir, "root", TRUE), ==, 0);
      RUN (&verify, "verify", dir);
      if (verify.status != 0)
        g_error ("verify: %s%s", verify.out, verify.err);
      RUN (&again, "stuck", "replay", dir, "1");
      g_assert_cmpint (again.status, ==, 1);
      g_assert_nonnull (strstr (again.err, "not a stuck supervoxel split"));

      /* Once the dead op's root lock has expired, the split made again
       * cuts the object through the fragments the first one left. */
      expire_temporal_locks (dir);
      {
        g_auto(CleaveTestRun) redo = { 0 };

        RUN (&redo, "split", dir, "--source", src, "--sink", snk);
        if (redo.status != 0)
          g_error ("the split made again: %s", redo.err);
      }
      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], !=, r[1]);
      assert_same_as_reference (dir, fault);
      cleave_test_rm_rf (tmp);
      return;
    }
  g_assert_cmpuint (json_array_get_length (json_node_get_array (stuck)), ==, 1);
  {
    JsonObject *o = json_array_get_object_element (json_node_get_array (stuck), 0);

    g_assert_cmpint (json_object_get_int_member (o, "op_id"), ==, 1);
    g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "scope")), >=, 8);
    g_assert_cmpuint (count_locks (dir, "l2chunk", TRUE),
                      ==, json_array_get_length (json_object_get_array_member (o, "scope")));
  }
  /* Too young to be called stuck by default: it may still be running. */
  RUN (&young, "stuck", "list", dir, "--json");
  g_assert_cmpstr (g_strstrip (young.out), ==, "[]");

  /* The object (and its chunks) refuse other edits meanwhile. */
  {
    g_auto(CleaveTestRun) blocked = { 0 };

    RUN (&blocked, "split", dir, "--source", src, "--sink", snk);
    g_assert_cmpint (blocked.status, ==, 1);
    /* Locked out, or (once its new ids are in the segmentation) told
     * which op is stuck. */
    if (strstr (blocked.err, "locked") == NULL && strstr (blocked.err, "op 1 is stuck") == NULL)
      g_error ("unexpected refusal: %s", blocked.err);
    /* Refused at the lock, the op left its error artifact. */
    if (strstr (blocked.err, "locked"))
      {
        g_auto(CleaveTestRun) errors = { 0 };

        RUN (&errors, "errors", dir, "2", "--json");
        g_assert_cmpint (errors.status, ==, 0);
        g_assert_nonnull (strstr (errors.out, "\"failed_in\" : \"root lock\""));
        g_assert_nonnull (strstr (errors.out, "locked indefinitely by op 1"));
      }
  }

  RUN (&replay, "stuck", "replay", dir, "1", "--json");
  if (replay.status != 0)
    g_error ("replay failed: %s", replay.err);
  g_assert_nonnull (strstr (replay.out, "SUCCESS"));
  RUN (&again, "stuck", "replay", dir, "1");
  g_assert_cmpint (again.status, ==, 1);
  g_assert_nonnull (strstr (again.err, "not a stuck supervoxel split"));

  cleave_test_roots (dir, src, snk, r);
  g_assert_cmpint (r[0], !=, r[1]);
  g_assert_cmpuint (count_locks (dir, "l2chunk", TRUE) + count_locks (dir, "l2chunk", FALSE) +
                    count_locks (dir, "root", TRUE) + count_locks (dir, "root", FALSE), ==, 0);
  RUN (&verify, "verify", dir);
  if (verify.status != 0)
    g_error ("verify after replay: %s%s", verify.out, verify.err);
  RUN (&ops, "ops", dir, "--json");
  log = cleave_test_parse_json (ops.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (log)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_node_get_array (log), 0), "status"),
                   ==, "SUCCESS");
  assert_same_as_reference (dir, fault);

  /* Editing goes on: the second error splits normally. */
  if (json_array_get_length (errs) > 1)
    {
      g_auto(CleaveTestRun) next = { 0 };

      src2 = cleave_test_point (json_array_get_object_element (errs, 1), "source");
      snk2 = cleave_test_point (json_array_get_object_element (errs, 1), "sink");
      RUN (&next, "split", dir, "--source", src2, "--sink", snk2);
      g_assert_cmpint (next.status, ==, 0);
    }
  cleave_test_rm_rf (tmp);
}

/* Replay of an op that is not stuck, or not there. */
static void
test_refusals (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "r.cleave", NULL);
  g_auto(CleaveTestRun) make = { 0 };
  g_auto(CleaveTestRun) none = { 0 };
  g_auto(CleaveTestRun) bad = { 0 };
  g_auto(CleaveTestRun) list = { 0 };

  RUN (&make, "demo", dir, "--size", "128,128,32");
  g_assert_cmpint (make.status, ==, 0);
  RUN (&none, "stuck", "replay", dir, "7");
  g_assert_cmpint (none.status, ==, 1);
  g_assert_nonnull (strstr (none.err, "no op 7"));
  RUN (&bad, "stuck", "replay", dir, "x");
  g_assert_cmpint (bad.status, ==, 2);
  RUN (&list, "stuck", "list", dir);
  g_assert_cmpint (list.status, ==, 0);
  g_assert_nonnull (strstr (list.out, "no stuck ops"));
  cleave_test_rm_rf (tmp);
}

/* `cleavectl faults` names every fault point the code has. */
static void
test_fault_names (void)
{
  g_autofree char *core = g_build_filename (cleave_test_env ("CLEAVE_SOURCE_DIR"), "core", NULL);
  g_autoptr(GDir) d = g_dir_open (core, 0, NULL);
  g_auto(CleaveTestRun) run = { 0 };
  const char *name;
  guint found = 0;

  g_assert_nonnull (d);
  RUN (&run, "faults", "--json");
  g_assert_cmpint (run.status, ==, 0);
  while ((name = g_dir_read_name (d)))
    {
      g_autofree char *path = g_build_filename (core, name, NULL);
      g_autofree char *text = NULL;
      const char *p;

      if (!g_str_has_suffix (name, ".c") || !g_file_get_contents (path, &text, NULL, NULL))
        continue;
      for (p = text; (p = strstr (p, "cleave_fault_")); p++)
        {
          const char *q = strstr (p, "(\""), *end;
          g_autofree char *quoted = NULL;

          if ((strncmp (p, "cleave_fault_point (\"", 20) != 0 && strncmp (p, "cleave_fault_armed (\"", 20) != 0) || !q)
            continue;
          end = strchr (q + 2, '"');
          quoted = g_strdup_printf ("\"%.*s\"", (int) (end - q - 2), q + 2);
          if (strstr (run.out, quoted) == NULL)
            g_error ("%s: fault point %s is not in `cleavectl faults`", name, quoted);
          found++;
        }
    }
  g_assert_cmpuint (found, >=, 15);
}

int
main (int    argc,
      char **argv)
{
  static const char *faults[] = { "svsplit-scope-written", "svsplit-seg-committed", "svsplit-graph-txn",
                                  "svsplit-graph-committed", "svsplit-before-release", "svsplit-before-retry" };

  cleave_test_init (&argc, &argv);
  for (guint i = 0; i < G_N_ELEMENTS (faults); i++)
    {
      g_autofree char *path = g_strdup_printf ("/recover/killed/%s", faults[i]);
      g_test_add_data_func (path, faults[i], test_fault);
    }
  g_test_add_func ("/recover/refusals", test_refusals);
  g_test_add_func ("/recover/fault-names", test_fault_names);
  {
    int status = g_test_run ();

    g_free (reference_svs);
    g_free (reference_objects);
    return status;
  }
}
