/* test-edits.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The demo's errors fixed from cleavectl as a proofreader would: a split
 * undoes each false merge, a merge each false split; the merge inside one
 * supervoxel is refused with what it needs. Undo puts a split back; the op
 * log records it all; two processes editing at once lose nothing.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <sqlite3.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

static const char *const edit_stages[] = { "check", "root lock", "compute", "persist", "finish", NULL };
static const char *const split_stages[] = { "check", "root lock", "multicut", "plan", "chunk lock", "split compute",
                                            "seg write", "graph write", "retry multicut", "commit", NULL };

/* --verbose: one "STAGE  N.N ms" line per stage of the edit on standard
 * error, every stage there, whatever the kind of edit. */
static void
assert_stage_lines (const char        *err,
                    const char *const *stages)
{
  for (guint i = 0; stages[i]; i++)
    {
      g_autofree char *pattern = g_strdup_printf ("^%s +[0-9]+\\.[0-9] ms$", stages[i]);

      if (!g_regex_match_simple (pattern, err, G_REGEX_MULTILINE, 0))
        g_error ("no '%s' timing line in:\n%s", stages[i], err);
    }
}

static void
test_fix_demo_errors (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "fix.cleave", NULL);
  g_autofree char *demo_path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *demo_text = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  JsonObject *d;
  gint64 first_split_op = 0;

  RUN (&make, "demo", dir);
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  d = json_node_get_object (demo);

  /* False merges: one object; a split makes two. */
  for (guint i = 0; i < json_array_get_length (json_object_get_array_member (d, "merge_errors")); i++)
    {
      JsonObject *e = json_array_get_object_element (json_object_get_array_member (d, "merge_errors"), i);
      g_autofree char *src = cleave_test_point (e, "source");
      g_autofree char *snk = cleave_test_point (e, "sink");
      g_auto(CleaveTestRun) preview = { 0 };
      g_auto(CleaveTestRun) split = { 0 };
      g_autoptr(JsonNode) pv = NULL;
      g_autoptr(JsonNode) sp = NULL;
      gint64 r[2];

      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], ==, r[1]);
      RUN (&preview, "split", dir, "--source", src, "--sink", snk, "--preview", "--json");
      g_assert_cmpint (preview.status, ==, 0);
      pv = cleave_test_parse_json (preview.out);
      g_assert_false (json_object_get_boolean_member (json_node_get_object (pv), "illegal"));
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (pv), "source_svs")), >, 0);
      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], ==, r[1]);   /* a preview changes nothing */

      RUN (&split, "split", dir, "--source", src, "--sink", snk, "--json");
      if (split.status != 0)
        g_error ("split failed: %s", split.err);
      sp = cleave_test_parse_json (split.out);
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (sp), "status"), ==, "SUCCESS");
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (json_node_get_object (sp), "new_roots")), ==, 2);
      g_assert_cmpint (json_object_get_int_member (json_node_get_object (sp), "removed_edges"), >, 0);
      if (first_split_op == 0)
        first_split_op = json_object_get_int_member (json_node_get_object (sp), "op_id");
      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], !=, r[1]);
    }

  /* False splits: two objects; a merge makes one. */
  for (guint i = 0; i < json_array_get_length (json_object_get_array_member (d, "split_errors")); i++)
    {
      JsonObject *e = json_array_get_object_element (json_object_get_array_member (d, "split_errors"), i);
      g_autofree char *a = cleave_test_point (e, "a");
      g_autofree char *b = cleave_test_point (e, "b");
      g_auto(CleaveTestRun) merge = { 0 };
      gint64 r[2];

      cleave_test_roots (dir, a, b, r);
      g_assert_cmpint (r[0], !=, r[1]);
      RUN (&merge, "merge", dir, a, b, "--json", "--verbose");
      g_assert_cmpint (merge.status, ==, 0);
      assert_stage_lines (merge.err, edit_stages);
      cleave_test_roots (dir, a, b, r);
      g_assert_cmpint (r[0], ==, r[1]);
    }

  /* Bad requests: a point on background, points in two objects. */
  {
    JsonObject *e0 = json_array_get_object_element (json_object_get_array_member (d, "split_errors"), 0);
    JsonObject *e1 = json_array_get_object_element (json_object_get_array_member (d, "split_errors"), 1);
    g_autofree char *p0 = cleave_test_point (e0, "a");
    g_autofree char *p1 = cleave_test_point (e1, "a");
    g_autofree char *background = NULL;
    g_auto(CleaveTestRun) two = { 0 };
    g_auto(CleaveTestRun) bg = { 0 };

    for (gint64 x = 0; x < 512 && background == NULL; x += 7)
      {
        g_autofree char *xyz = g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",5", x, (x * 3) % 512);
        g_auto(CleaveTestRun) look = { 0 };
        g_autoptr(JsonNode) res = NULL;

        RUN (&look, "seg", "lookup", dir, xyz, "--json");
        res = cleave_test_parse_json (look.out);
        if (json_object_get_int_member (json_array_get_object_element (json_node_get_array (res), 0), "sv") == 0)
          background = g_steal_pointer (&xyz);
      }
    g_assert_nonnull (background);
    RUN (&bg, "split", dir, "--source", background, "--sink", p0);
    g_assert_cmpint (bg.status, ==, 1);
    g_assert_nonnull (strstr (bg.err, "on background"));
    RUN (&two, "split", dir, "--source", p0, "--sink", p1);
    g_assert_cmpint (two.status, ==, 1);
    g_assert_nonnull (strstr (two.err, "different objects"));
  }

  /* Undo the first split: one object again; the log says so. */
  {
    JsonObject *e = json_array_get_object_element (json_object_get_array_member (d, "merge_errors"), 0);
    g_autofree char *src = cleave_test_point (e, "source");
    g_autofree char *snk = cleave_test_point (e, "sink");
    g_autofree char *op = g_strdup_printf ("%" G_GINT64_FORMAT, first_split_op);
    g_auto(CleaveTestRun) undo = { 0 };
    g_auto(CleaveTestRun) ops = { 0 };
    g_auto(CleaveTestRun) same = { 0 };
    g_autoptr(JsonNode) log = NULL;
    JsonArray *arr;
    gint64 r[2];

    RUN (&undo, "undo", dir, op, "--verbose");
    g_assert_cmpint (undo.status, ==, 0);
    assert_stage_lines (undo.err, edit_stages);
    cleave_test_roots (dir, src, snk, r);
    g_assert_cmpint (r[0], ==, r[1]);
    RUN (&ops, "ops", dir, "--json");
    g_assert_cmpint (ops.status, ==, 0);
    log = cleave_test_parse_json (ops.out);
    arr = json_node_get_array (log);
    g_assert_cmpuint (json_array_get_length (arr), ==, 5);
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, 4), "kind"), ==, "undo");
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (arr, 4), "undo_of"), ==, first_split_op);
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (arr, 0), "undone_by"), ==, 5);
    for (guint i = 0; i < json_array_get_length (arr); i++)
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, i), "status"), ==, "SUCCESS");

    /* Splitting an object between points of two objects is refused. */
    RUN (&same, "merge", dir, src, snk);
    g_assert_cmpint (same.status, ==, 1);
    g_assert_nonnull (strstr (same.err, "already"));
  }

  /* A merge inside one supervoxel: the split cuts the supervoxel first,
   * changes the segmentation only inside the box it reports, and leaves no
   * lock or scope behind. */
  for (guint i = 0; i < json_array_get_length (json_object_get_array_member (d, "sv_merge_errors")); i++)
    {
      JsonObject *e = json_array_get_object_element (json_object_get_array_member (d, "sv_merge_errors"), i);
      g_autofree char *src = cleave_test_point (e, "source");
      g_autofree char *snk = cleave_test_point (e, "sink");
      g_auto(CleaveTestRun) split = { 0 };
      g_auto(CleaveTestRun) before = { 0 };
      g_auto(CleaveTestRun) after = { 0 };
      g_auto(CleaveTestRun) locks = { 0 };
      g_autoptr(JsonNode) res = NULL;
      JsonArray *boxes;
      JsonArray *bb;
      gint64 r[2], lo[3], hi[3];

      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], ==, r[1]);
      RUN (&before, "seg", "read", dir, "--box", "0,0,0:512,512,128");
      g_assert_cmpint (before.status, ==, 0);
      RUN (&split, "split", dir, "--source", src, "--sink", snk, "--json", "--verbose");
      if (split.status != 0)
        g_error ("sv split failed: %s", split.err);
      assert_stage_lines (split.err, split_stages);
      res = cleave_test_parse_json (split.out);
      g_assert_true (json_object_get_boolean_member (json_node_get_object (res), "sv_split"));
      g_assert_cmpstr (json_object_get_string_member (json_node_get_object (res), "status"), ==, "SUCCESS");
      boxes = json_object_get_array_member (json_node_get_object (res), "seg_bboxes");
      g_assert_cmpuint (json_array_get_length (boxes), ==, 1);
      bb = json_array_get_array_element (boxes, 0);
      for (guint k = 0; k < 3; k++)
        {
          lo[k] = json_array_get_int_element (bb, k);
          hi[k] = json_array_get_int_element (bb, k + 3);
          g_assert_cmpint (lo[k], <, hi[k]);
        }
      cleave_test_roots (dir, src, snk, r);
      g_assert_cmpint (r[0], !=, r[1]);
      RUN (&after, "seg", "read", dir, "--box", "0,0,0:512,512,128");
      g_assert_cmpint (after.status, ==, 0);
      g_assert_cmpuint (after.out_len, ==, before.out_len);
      {
        gsize changed = 0;

        for (gsize v = 0; v < before.out_len / 8; v++)
          {
            gint64 x = v % 512, y = v / 512 % 512, z = v / 512 / 512;
            gboolean inside = x >= lo[0] && x < hi[0] && y >= lo[1] && y < hi[1] && z >= lo[2] && z < hi[2];

            if (memcmp (before.out + 8 * v, after.out + 8 * v, 8) != 0)
              {
                g_assert_true (inside);
                changed++;
              }
          }
        g_assert_cmpuint (changed, >, 0);
      }
      RUN (&locks, "locks", dir, "--json");
      g_assert_cmpstr (g_strstrip (locks.out), ==, "[]");
    }

  /* After all that the graph still holds together and matches the
   * segmentation; damage one cell and verify says where. */
  {
    g_auto(CleaveTestRun) ok = { 0 };
    g_auto(CleaveTestRun) bad = { 0 };
    g_autofree char *db_path = g_build_filename (dir, "graph.sqlite", NULL);
    g_autoptr(JsonNode) report = NULL;
    sqlite3 *db = NULL;

    RUN (&ok, "verify", dir, "--json");
    g_assert_cmpint (ok.status, ==, 0);
    report = cleave_test_parse_json (ok.out);
    g_assert_true (json_object_get_boolean_member (json_node_get_object (report), "ok"));
    g_assert_cmpint (json_object_get_int_member (json_node_get_object (report), "supervoxels"), >, 1000);

    g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
    g_assert_cmpint (sqlite3_exec (db, "DELETE FROM parent WHERE node = (SELECT MIN(node) FROM parent)", NULL, NULL, NULL),
                     ==, SQLITE_OK);
    sqlite3_close (db);
    RUN (&bad, "verify", dir);
    g_assert_cmpint (bad.status, ==, 1);
    g_assert_nonnull (strstr (bad.err, "problems"));
  }
  cleave_test_rm_rf (tmp);
}

/* Two processes at once: merges of different objects both land; merges
 * of one object never leave it half-done. */
static void
test_two_processes (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "two.cleave", NULL);
  g_autofree char *demo_path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *demo_text = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  g_autoptr(GError) error = NULL;
  JsonArray *splits;
  g_autofree char *a0 = NULL, *b0 = NULL, *a1 = NULL, *b1 = NULL;
  g_autoptr(GSubprocess) p0 = NULL;
  g_autoptr(GSubprocess) p1 = NULL;
  gint64 r[2];

  RUN (&make, "demo", dir, "--size", "256,256,64", "--chunk", "64,64,32");
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  splits = json_object_get_array_member (json_node_get_object (demo), "split_errors");
  a0 = cleave_test_point (json_array_get_object_element (splits, 0), "a");
  b0 = cleave_test_point (json_array_get_object_element (splits, 0), "b");
  a1 = cleave_test_point (json_array_get_object_element (splits, 1), "a");
  b1 = cleave_test_point (json_array_get_object_element (splits, 1), "b");

  p0 = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, cleave_test_env ("CLEAVECTL"), "merge", dir, a0, b0, NULL);
  p1 = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, cleave_test_env ("CLEAVECTL"), "merge", dir, a1, b1, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_wait_check (p0, NULL, &error));
  g_assert_true (g_subprocess_wait_check (p1, NULL, &error));
  g_assert_no_error (error);
  cleave_test_roots (dir, a0, b0, r);
  g_assert_cmpint (r[0], ==, r[1]);
  cleave_test_roots (dir, a1, b1, r);
  g_assert_cmpint (r[0], ==, r[1]);

  /* The same object from two processes: undo its merge twice at once. One
   * succeeds; the other waits for the lock, then finds it undone. */
  {
    g_autoptr(GSubprocess) u0 = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                  &error, cleave_test_env ("CLEAVECTL"), "undo", dir, "1", NULL);
    g_autoptr(GSubprocess) u1 = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                                  &error, cleave_test_env ("CLEAVECTL"), "undo", dir, "1", NULL);
    int ok = 0;

    g_assert_true (g_subprocess_wait (u0, NULL, &error));
    g_assert_true (g_subprocess_wait (u1, NULL, &error));
    ok += g_subprocess_get_exit_status (u0) == 0;
    ok += g_subprocess_get_exit_status (u1) == 0;
    g_assert_cmpint (ok, >=, 1);
  }
  {
    g_auto(CleaveTestRun) ops = { 0 };
    g_autoptr(JsonNode) log = NULL;
    JsonArray *arr;
    guint undos = 0;

    RUN (&ops, "ops", dir, "--json");
    log = cleave_test_parse_json (ops.out);
    arr = json_node_get_array (log);
    for (guint i = 0; i < json_array_get_length (arr); i++)
      {
        JsonObject *o = json_array_get_object_element (arr, i);
        if (g_strcmp0 (json_object_get_string_member (o, "kind"), "undo") == 0 &&
            g_strcmp0 (json_object_get_string_member (o, "status"), "SUCCESS") == 0)
          undos++;
      }
    g_assert_cmpuint (undos, ==, 1);
  }
  cleave_test_rm_rf (tmp);
}

/* A merge killed after its data is written and before SUCCESS: the op
 * stays WRITE_STARTED, its indefinite root locks stay, other edits of
 * those objects are refused; the graph itself is whole. */
static void
test_killed_edit (void)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "killed.cleave", NULL);
  g_autofree char *demo_path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *demo_text = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  g_auto(CleaveTestRun) killed = { 0 };
  g_auto(CleaveTestRun) ops = { 0 };
  g_auto(CleaveTestRun) locks = { 0 };
  g_auto(CleaveTestRun) blocked = { 0 };
  g_auto(CleaveTestRun) verify = { 0 };
  g_autoptr(JsonNode) log = NULL;
  g_autoptr(JsonNode) held = NULL;
  g_autofree char *a = NULL, *b = NULL;
  JsonArray *splits;

  RUN (&make, "demo", dir, "--size", "128,128,32", "--chunk", "32,32,16", "--seed", "5");
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  splits = json_object_get_array_member (json_node_get_object (demo), "split_errors");
  a = cleave_test_point (json_array_get_object_element (splits, 0), "a");
  b = cleave_test_point (json_array_get_object_element (splits, 0), "b");

  cleave_test_run (&killed, NULL, "/usr/bin/env", "CLEAVE_FAULT=edit-written", cleave_test_env ("CLEAVECTL"),
                   "merge", dir, a, b, NULL);
  g_assert_cmpint (killed.status, ==, 86);

  RUN (&ops, "ops", dir, "--json");
  log = cleave_test_parse_json (ops.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (log)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (json_node_get_array (log), 0), "status"),
                   ==, "WRITE_STARTED");
  RUN (&locks, "locks", dir, "--json");
  held = cleave_test_parse_json (locks.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (held)), >=, 1);
  {
    gboolean indefinite = FALSE;
    for (guint i = 0; i < json_array_get_length (json_node_get_array (held)); i++)
      indefinite |= json_object_get_boolean_member (json_array_get_object_element (json_node_get_array (held), i), "indefinite");
    g_assert_true (indefinite);
  }
  /* Another object merged into the stuck one: refused at the lock. */
  {
    g_autofree char *other = cleave_test_point (json_array_get_object_element (splits, 1), "a");
    RUN (&blocked, "merge", dir, other, a);
  }
  g_assert_cmpint (blocked.status, ==, 1);
  g_assert_nonnull (strstr (blocked.err, "locked indefinitely by op 1"));
  RUN (&verify, "verify", dir);
  g_assert_cmpint (verify.status, ==, 0);
  cleave_test_rm_rf (tmp);
}

int
main (int    argc,
      char **argv)
{
  cleave_test_init (&argc, &argv);
  g_test_add_func ("/edits/fix-demo-errors", test_fix_demo_errors);
  g_test_add_func ("/edits/two-processes", test_two_processes);
  g_test_add_func ("/edits/killed-edit", test_killed_edit);
  return g_test_run ();
}
