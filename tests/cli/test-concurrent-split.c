/* test-concurrent-split.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Two processes splitting supervoxels at once, in two different objects
 * whose L2 chunk lock sets overlap (shared spec/reference-pcg.md §9
 * invariant 2): the temporal L2 chunk locks serialize them, the one that
 * meets the other's locks backs off and tries again, and both succeed.
 * Afterwards the dataset verifies, nothing is locked or stuck, and the
 * segmentation is the same objects as the two splits made one after the
 * other.
 *
 * The demo (128x128x32, chunks 32x32x16, seed 1) has two supervoxel merge
 * errors, but their splits rewrite different chunks, so they would not
 * notice locks that keep nobody out. The two splits here rewrite one
 * chunk both: the demo's first supervoxel merge error, whose supervoxel
 * lies in chunk (1, 2, 1), and a split of the largest supervoxel of
 * another object in that chunk, between two far-apart voxels of it
 * (63,95,19 and 32,64,16, opposite corners of the chunk): its supervoxel
 * split rewrites chunks (1, 2, 0) and (1, 2, 1), and the multicut after it
 * finds a legal cut (the supervoxel is a piece of neurite; the cut comes
 * out between the two points). Other supervoxels of that chunk would do
 * as well; the smaller ones near the chunk's faces are refused by the
 * multicut (the cheapest cut would only cut off the points). The test
 * checks each of these facts rather than trust the demo to keep them.
 *
 * The small demo keeps each split's time under its locks short (about
 * 0.1 s; 0.5 s under the sanitizers), well inside the waiter's back-off
 * (1.3 to 2.5 s in all): a split that holds its locks longer than that
 * makes the other fail with a lock error instead of waiting.
 */

#include "cleave-test.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#define RUN(run, ...) cleave_test_run ((run), NULL, cleave_test_env ("CLEAVECTL"), __VA_ARGS__, NULL)

#define DEMO_SIZE "128,128,32"
#define DEMO_CHUNK "32,32,16"
static const gint64 demo_lo[3] = { 0, 0, 0 };
static const gint64 demo_hi[3] = { 128, 128, 32 };
static const gint64 demo_chunk[3] = { 32, 32, 16 };
#define DEMO_VOXELS ((gsize) 128 * 128 * 32)

typedef struct
{
  char *source;
  char *sink;
} Error;

static void
make_demo (const char *dir,
           Error       errs[2])
{
  g_autofree char *demo_path = g_build_filename (dir, "demo.json", NULL);
  g_autofree char *demo_text = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) make = { 0 };
  JsonArray *a;

  RUN (&make, "demo", dir, "--size", DEMO_SIZE, "--chunk", DEMO_CHUNK, "--seed", "1");
  g_assert_cmpint (make.status, ==, 0);
  g_assert_true (g_file_get_contents (demo_path, &demo_text, NULL, NULL));
  demo = cleave_test_parse_json (demo_text);
  a = json_object_get_array_member (json_node_get_object (demo), "sv_merge_errors");
  g_assert_cmpuint (json_array_get_length (a), >=, 1);
  errs[0].source = cleave_test_point (json_array_get_object_element (a, 0), "source");
  errs[0].sink = cleave_test_point (json_array_get_object_element (a, 0), "sink");
  errs[1].source = g_strdup ("63,95,19");
  errs[1].sink = g_strdup ("32,64,16");
}

static void
errors_clear (Error errs[2])
{
  for (guint i = 0; i < 2; i++)
    {
      g_clear_pointer (&errs[i].source, g_free);
      g_clear_pointer (&errs[i].sink, g_free);
    }
}

/* The supervoxel at each of two points. */
static void
svs_at (const char *dir,
        const char *p,
        const char *q,
        gint64      out[2])
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  JsonArray *arr;

  RUN (&run, "seg", "lookup", dir, p, q, "--json");
  g_assert_cmpint (run.status, ==, 0);
  root = cleave_test_parse_json (run.out);
  arr = json_node_get_array (root);
  for (guint i = 0; i < 2; i++)
    out[i] = json_object_get_int_member (json_array_get_object_element (arr, i), "sv");
}

/* The chunks (x, y, z, as one number) a supervoxel split rewriting
 * @bboxes locks: each box grown by the one-voxel shell it reads, clipped
 * to the volume. */
static GHashTable *
lock_chunks (JsonArray *bboxes)
{
  GHashTable *out = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (guint b = 0; b < json_array_get_length (bboxes); b++)
    {
      JsonArray *box = json_array_get_array_element (bboxes, b);
      gint64 c0[3], c1[3];

      for (guint d = 0; d < 3; d++)
        {
          gint64 lo = MAX (json_array_get_int_element (box, d) - 1, demo_lo[d]);
          gint64 hi = MIN (json_array_get_int_element (box, 3 + d) + 1, demo_hi[d]);

          c0[d] = (lo - demo_lo[d]) / demo_chunk[d];
          c1[d] = (hi - 1 - demo_lo[d]) / demo_chunk[d];
        }
      for (gint64 z = c0[2]; z <= c1[2]; z++)
        for (gint64 y = c0[1]; y <= c1[1]; y++)
          for (gint64 x = c0[0]; x <= c1[0]; x++)
            {
              gint64 c = (z << 40) | (y << 20) | x;
              g_hash_table_add (out, g_memdup2 (&c, 8));
            }
    }
  return out;
}

/* The time a split spent on its L2 chunk locks, from its --verbose
 * lines: how long it waited for the other. */
static double
lock_ms (const char *err)
{
  const char *line = strstr (err, "\nlock ");

  if (line == NULL && g_str_has_prefix (err, "lock "))
    line = err - 1;
  return line ? g_ascii_strtod (line + strlen ("\nlock "), NULL) : -1;
}

static GSubprocess *
start_split (const char  *dir,
             const Error *e)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error,
                                     cleave_test_env ("CLEAVECTL"), "split", dir, "--source", e->source, "--sink", e->sink,
                                     "--json", "--verbose", NULL);

  g_assert_no_error (error);
  return p;
}

static JsonObject *
finish_split (GSubprocess *p,
              const Error *e,
              JsonNode   **node_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  JsonObject *o;

  g_assert_true (g_subprocess_communicate_utf8 (p, NULL, NULL, &out, &err, &error));
  g_assert_no_error (error);
  if (!g_subprocess_get_if_exited (p) || g_subprocess_get_exit_status (p) != 0)
    g_error ("split %s -> %s, run alongside another, failed: %s", e->source, e->sink, err);
  *node_out = cleave_test_parse_json (out);
  o = json_node_get_object (*node_out);
  g_assert_cmpstr (json_object_get_string_member (o, "status"), ==, "SUCCESS");
  g_assert_true (json_object_get_boolean_member (o, "sv_split"));
  g_test_message ("op %" G_GINT64_FORMAT " (%s -> %s): %.1f ms on the L2 chunk locks",
                  json_object_get_int_member (o, "op_id"), e->source, e->sink, lock_ms (err));
  return o;
}

static void
assert_quiet (const char *dir)
{
  g_auto(CleaveTestRun) verify = { 0 };
  g_auto(CleaveTestRun) locks = { 0 };
  g_auto(CleaveTestRun) stuck = { 0 };
  g_auto(CleaveTestRun) ops = { 0 };
  g_autoptr(JsonNode) held = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) log = NULL;
  JsonArray *arr;

  RUN (&verify, "verify", dir);
  if (verify.status != 0)
    g_error ("verify: %s%s", verify.out, verify.err);
  RUN (&locks, "locks", dir, "--json");
  g_assert_cmpint (locks.status, ==, 0);
  held = cleave_test_parse_json (locks.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (held)), ==, 0);
  RUN (&stuck, "stuck", "list", dir, "--min-age", "0", "--json");
  g_assert_cmpint (stuck.status, ==, 0);
  list = cleave_test_parse_json (stuck.out);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (list)), ==, 0);
  RUN (&ops, "ops", dir, "--json");
  log = cleave_test_parse_json (ops.out);
  arr = json_node_get_array (log);
  g_assert_cmpuint (json_array_get_length (arr), ==, 2);
  for (guint i = 0; i < 2; i++)
    g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (arr, i), "status"), ==, "SUCCESS");
}

/* The chunks (x, y, z, as one number) where @before and @after differ. */
static GHashTable *
changed_chunks (const guint64 *before,
                const guint64 *after)
{
  GHashTable *out = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);

  for (gsize i = 0; i < DEMO_VOXELS; i++)
    if (before[i] != after[i])
      {
        gint64 x = (gint64) (i % 128) / demo_chunk[0], y = (gint64) (i / 128 % 128) / demo_chunk[1];
        gint64 z = (gint64) (i / (128 * 128)) / demo_chunk[2], c = (z << 40) | (y << 20) | x;

        if (!g_hash_table_contains (out, &c))
          g_hash_table_add (out, g_memdup2 (&c, 8));
      }
  return out;
}

/* Each voxel's supervoxel and object after the two splits are made one
 * after the other on a fresh demo. Made once; on the way, the two are
 * checked to rewrite a chunk in common. */
static guint64 *one_by_one_svs;
static guint64 *one_by_one_objects;

static void
make_one_by_one (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_autofree guint64 *before = NULL;
  g_autofree guint64 *between = NULL;
  g_autoptr(GHashTable) c0 = NULL;
  g_autoptr(GHashTable) c1 = NULL;
  Error errs[2] = { { 0 } };
  GHashTableIter it;
  gpointer k;
  guint shared = 0;

  if (one_by_one_objects != NULL)
    return;
  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "one-by-one.cleave", NULL);
  make_demo (dir, errs);
  before = cleave_test_seg_read (dir, demo_lo, demo_hi);
  for (guint i = 0; i < 2; i++)
    {
      g_auto(CleaveTestRun) split = { 0 };

      RUN (&split, "split", dir, "--source", errs[i].source, "--sink", errs[i].sink);
      if (split.status != 0)
        g_error ("split %s -> %s alone: %s", errs[i].source, errs[i].sink, split.err);
      if (i == 0)
        between = cleave_test_seg_read (dir, demo_lo, demo_hi);
    }
  one_by_one_svs = cleave_test_seg_read (dir, demo_lo, demo_hi);
  c0 = changed_chunks (before, between);
  c1 = changed_chunks (between, one_by_one_svs);
  g_hash_table_iter_init (&it, c0);
  while (g_hash_table_iter_next (&it, &k, NULL))
    shared += g_hash_table_contains (c1, k);
  g_test_message ("the splits rewrite %u and %u chunks, %u of them both", g_hash_table_size (c0),
                  g_hash_table_size (c1), shared);
  g_assert_cmpuint (shared, >, 0);
  one_by_one_objects = g_memdup2 (one_by_one_svs, 8 * DEMO_VOXELS);
  cleave_test_to_roots (dir, one_by_one_objects, DEMO_VOXELS);
  errors_clear (errs);
  cleave_test_rm_rf (tmp);
}

/* @first is started first, by a hair: both orders are tried. */
static void
run_pair (guint first)
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *dir = g_build_filename (tmp, "both.cleave", NULL);
  Error errs[2] = { { 0 } };
  g_autoptr(GSubprocess) p0 = NULL;
  g_autoptr(GSubprocess) p1 = NULL;
  g_autoptr(JsonNode) r0 = NULL;
  g_autoptr(JsonNode) r1 = NULL;
  g_autoptr(GHashTable) c0 = NULL;
  g_autoptr(GHashTable) c1 = NULL;
  g_autofree guint64 *both = NULL;
  JsonObject *o0, *o1;
  guint shared = 0;
  gint64 sv[2], root[2], r[2];
  GHashTableIter it;
  gpointer k;

  make_one_by_one ();
  make_demo (dir, errs);
  /* Each a split inside one supervoxel; in two objects. */
  for (guint i = 0; i < 2; i++)
    {
      svs_at (dir, errs[i].source, errs[i].sink, sv);
      g_assert_cmpint (sv[0], ==, sv[1]);
      cleave_test_roots (dir, errs[i].source, errs[i].sink, r);
      g_assert_cmpint (r[0], ==, r[1]);
      root[i] = r[0];
    }
  g_assert_cmpint (root[0], !=, root[1]);

  /* At once. */
  if (first == 0)
    {
      p0 = start_split (dir, &errs[0]);
      p1 = start_split (dir, &errs[1]);
    }
  else
    {
      p1 = start_split (dir, &errs[1]);
      p0 = start_split (dir, &errs[0]);
    }
  o0 = finish_split (p0, &errs[0], &r0);
  o1 = finish_split (p1, &errs[1], &r1);
  g_assert_cmpint (json_object_get_int_member (o0, "op_id"), !=, json_object_get_int_member (o1, "op_id"));

  /* Their lock sets did overlap. */
  c0 = lock_chunks (json_object_get_array_member (o0, "seg_bboxes"));
  c1 = lock_chunks (json_object_get_array_member (o1, "seg_bboxes"));
  g_hash_table_iter_init (&it, c0);
  while (g_hash_table_iter_next (&it, &k, NULL))
    shared += g_hash_table_contains (c1, k);
  g_test_message ("lock sets: %u and %u chunks, %u shared", g_hash_table_size (c0), g_hash_table_size (c1), shared);
  g_assert_cmpuint (shared, >, 0);

  assert_quiet (dir);
  for (guint i = 0; i < 2; i++)
    {
      cleave_test_roots (dir, errs[i].source, errs[i].sink, r);
      g_assert_cmpint (r[0], !=, r[1]);
    }

  /* The same supervoxels and objects as the splits one by one: neither
   * lost a write to the other. */
  both = cleave_test_seg_read (dir, demo_lo, demo_hi);
  cleave_test_assert_same_partition (both, one_by_one_svs, DEMO_VOXELS, "supervoxels, at once and one by one");
  cleave_test_to_roots (dir, both, DEMO_VOXELS);
  cleave_test_assert_same_partition (both, one_by_one_objects, DEMO_VOXELS, "objects, at once and one by one");

  errors_clear (errs);
  cleave_test_rm_rf (tmp);
}

static void
test_overlapping_chunks (void)
{
  run_pair (0);
  run_pair (1);
}

int
main (int    argc,
      char **argv)
{
  int status;

  cleave_test_init (&argc, &argv);
  g_test_add_func ("/concurrent-split/overlapping-chunks", test_overlapping_chunks);
  status = g_test_run ();
  g_free (one_by_one_svs);
  g_free (one_by_one_objects);
  return status;
}
