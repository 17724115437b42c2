/* cleave-test.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-test"

#include "cleave-test.h"

#include "cleave-graph.h"
#include "cleave-ingest.h"
#include "cleave-ocdbt-format.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static GPtrArray *tmpdirs;

static void
remove_tmpdirs (void)
{
  if (tmpdirs == NULL)
    return;
  if (g_getenv ("CLEAVE_TEST_KEEP") == NULL)
    for (guint i = 0; i < tmpdirs->len; i++)
      cleave_test_rm_rf (tmpdirs->pdata[i]);
  g_clear_pointer (&tmpdirs, g_ptr_array_unref);
}

void
cleave_test_init (int    *argc,
                  char ***argv)
{
  g_test_init (argc, argv, NULL);
  atexit (remove_tmpdirs);
}

/* A fresh directory, removed when the test binary exits (unless
 * CLEAVE_TEST_KEEP is set, to look at what a failing test left). */
char *
cleave_test_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("cleave-test-XXXXXX", &error);

  g_assert_no_error (error);
  if (tmpdirs == NULL)
    tmpdirs = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (tmpdirs, g_strdup (dir));
  return dir;
}

void
cleave_test_rm_rf (const char *path)
{
  GDir *dir;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      const char *name;

      dir = g_dir_open (path, 0, NULL);
      if (dir != NULL)
        {
          while ((name = g_dir_read_name (dir)) != NULL)
            {
              g_autofree char *child = g_build_filename (path, name, NULL);
              cleave_test_rm_rf (child);
            }
          g_dir_close (dir);
        }
      g_rmdir (path);
    }
  else
    {
      g_unlink (path);
    }
}

const char *
cleave_test_env (const char *name)
{
  const char *value = g_getenv (name);

  if (value == NULL || *value == '\0')
    g_error ("%s is not set: run the tests through meson (meson test -C build)", name);
  return value;
}

/* A path under the shared spec/testdata folder. A missing folder fails the
 * test: golden data that silently goes missing would make tests pass that
 * check nothing. */
char *
cleave_test_shared_path (const char *first,
                         ...)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new ();
  const char *part;
  char *path;
  va_list args;

  g_ptr_array_add (parts, (gpointer) cleave_test_env ("CLEAVE_SHARED_DIR"));
  va_start (args, first);
  for (part = first; part != NULL; part = va_arg (args, const char *))
    g_ptr_array_add (parts, (gpointer) part);
  va_end (args);
  g_ptr_array_add (parts, NULL);

  path = g_build_filenamev ((char **) parts->pdata);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: the shared test data must sit beside the checkout (or set -Dshared_dir)", path);
  return path;
}

char *
cleave_test_make_demo (const char             *dir,
                       const char             *name,
                       const CleaveDemoParams *params)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);

  g_assert_true (cleave_demo_create (path, params, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (cleave_ingest (path, FALSE, NULL, NULL, &error));
  g_assert_no_error (error);
  return path;
}

void
cleave_test_run (CleaveTestRun *run,
                 const char    *stdin_text,
                 const char    *program,
                 ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autofree char *stdin_path = NULL;
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  g_autoptr(GError) error = NULL;
  const char *arg;
  va_list args;

  memset (run, 0, sizeof *run);
  g_ptr_array_add (argv, (gpointer) program);
  va_start (args, program);
  for (arg = va_arg (args, const char *); arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  /* Input goes through a file: a child that exits without reading a pipe
   * would kill this process with SIGPIPE. No input: /dev/null. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  if (stdin_text != NULL)
    {
      g_autofree char *tmp = cleave_test_tmpdir ();

      stdin_path = g_build_filename (tmp, "stdin", NULL);
      g_assert_true (g_file_set_contents (stdin_path, stdin_text, -1, NULL));
      g_subprocess_launcher_set_stdin_file_path (launcher, stdin_path);
    }
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);

  g_subprocess_communicate (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);

  if (g_subprocess_get_if_exited (proc))
    run->status = g_subprocess_get_exit_status (proc);
  else
    run->status = 128 + g_subprocess_get_term_sig (proc);

  /* stdout may be binary (kv get): keep every byte, NUL-terminated. */
  run->out_len = g_bytes_get_size (out);
  run->out = g_malloc (run->out_len + 1);
  if (run->out_len > 0)
    memcpy (run->out, g_bytes_get_data (out, NULL), run->out_len);
  run->out[run->out_len] = '\0';
  /* Never NULL, even when the child printed nothing. */
  run->err = g_strndup (g_bytes_get_size (err) ? g_bytes_get_data (err, NULL) : "", g_bytes_get_size (err));
}

gboolean
cleave_test_sink_write (GBytes              *bytes,
                        CleaveOcdbtLocation *location,
                        gpointer             user_data,
                        GError             **error)
{
  CleaveTestSink *sink = user_data;

  *location = (CleaveOcdbtLocation) { sink->file, g_intern_static_string (""), sink->data->len,
                                      g_bytes_get_size (bytes) };
  g_byte_array_append (sink->data, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  return TRUE;
}

void
cleave_test_run_clear (CleaveTestRun *run)
{
  g_clear_pointer (&run->out, g_free);
  g_clear_pointer (&run->err, g_free);
}

JsonNode *
cleave_test_parse_json (const char *text)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  if (!json_parser_load_from_data (parser, text, -1, &error))
    g_error ("not JSON (%s): %s", error->message, text);
  return json_node_copy (json_parser_get_root (parser));
}

char *
cleave_test_point (JsonObject *e,
                   const char *name)
{
  JsonArray *a = json_object_get_array_member (e, name);

  return g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                          json_array_get_int_element (a, 0), json_array_get_int_element (a, 1),
                          json_array_get_int_element (a, 2));
}

void
cleave_test_roots (const char *dir,
                   const char *p,
                   const char *q,
                   gint64      out[2])
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonNode) root = NULL;
  JsonArray *arr;

  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "seg", "lookup", dir, p, q, "--json", NULL);
  g_assert_cmpint (run.status, ==, 0);
  root = cleave_test_parse_json (run.out);
  arr = json_node_get_array (root);
  out[0] = json_object_get_int_member (json_array_get_object_element (arr, 0), "root");
  out[1] = json_object_get_int_member (json_array_get_object_element (arr, 1), "root");
}

guint64 *
cleave_test_seg_read (const char   *dir,
                      const gint64  lo[3],
                      const gint64  hi[3])
{
  g_autofree char *tmp = cleave_test_tmpdir ();
  g_autofree char *path = g_build_filename (tmp, "seg.u64", NULL);
  g_autofree char *box = g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT
                                          ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                                          lo[0], lo[1], lo[2], hi[0], hi[1], hi[2]);
  g_auto(CleaveTestRun) run = { 0 };
  g_autofree char *bytes = NULL;
  gsize n = (gsize) ((hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2])), len = 0;
  guint64 *ids;

  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "seg", "read", dir, "--box", box, "--out", path, NULL);
  if (run.status != 0)
    g_error ("seg read %s %s: %s", dir, box, run.err);
  g_assert_true (g_file_get_contents (path, &bytes, &len, NULL));
  g_assert_cmpuint (len, ==, 8 * n);
  ids = g_new (guint64, n);
  memcpy (ids, bytes, len);
  for (gsize i = 0; i < n; i++)
    ids[i] = GUINT64_FROM_LE (ids[i]);
  cleave_test_rm_rf (tmp);
  return ids;
}

void
cleave_test_to_roots (const char *dir,
                      guint64    *ids,
                      gsize       n)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveGraph) g = cleave_graph_open (dir, &error);
  g_autoptr(GHashTable) root_of = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GArray) svs = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_autofree guint64 *roots = NULL;
  guint64 last = 0;

  g_assert_no_error (error);
  /* Ids repeat in long runs: one graph lookup per distinct supervoxel. */
  for (gsize i = 0; i < n; i++)
    {
      if (ids[i] != 0 && ids[i] != last && !g_hash_table_contains (root_of, &ids[i]))
        {
          g_hash_table_insert (root_of, g_memdup2 (&ids[i], 8), NULL);
          g_array_append_val (svs, ids[i]);
        }
      last = ids[i];
    }
  roots = g_new0 (guint64, MAX (svs->len, 1));
  g_assert_true (cleave_graph_get_roots (g, (guint64 *) svs->data, svs->len, CLEAVE_GRAPH_LATEST, roots, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < svs->len; i++)
    {
      /* A supervoxel in the segmentation that the graph does not know
       * (a dead fragment) belongs to no object. */
      if (roots[i] == 0)
        g_error ("%s: supervoxel %" G_GUINT64_FORMAT " has no root", dir, g_array_index (svs, guint64, i));
      g_hash_table_insert (root_of, g_memdup2 (&g_array_index (svs, guint64, i), 8), g_memdup2 (&roots[i], 8));
    }
  for (gsize i = 0; i < n; i++)
    if (ids[i] != 0)
      ids[i] = *(guint64 *) g_hash_table_lookup (root_of, &ids[i]);
}

/* Pairs label @from with @to in @map; FALSE if it is paired with another. */
static gboolean
pair_with (GHashTable *map,
           guint64     from,
           guint64     to)
{
  guint64 *seen = g_hash_table_lookup (map, &from);

  if (seen == NULL)
    {
      g_hash_table_insert (map, g_memdup2 (&from, 8), g_memdup2 (&to, 8));
      return TRUE;
    }
  return *seen == to;
}

void
cleave_test_assert_same_partition (const guint64 *a,
                                   const guint64 *b,
                                   gsize          n,
                                   const char    *what)
{
  g_autoptr(GHashTable) ab = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);
  g_autoptr(GHashTable) ba = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, g_free);

  for (gsize i = 0; i < n; i++)
    {
      if (i > 0 && a[i] == a[i - 1] && b[i] == b[i - 1])
        continue;
      if ((a[i] == 0) != (b[i] == 0) || !pair_with (ab, a[i], b[i]) || !pair_with (ba, b[i], a[i]))
        {
          guint64 *a_to = g_hash_table_lookup (ab, &a[i]), *b_to = g_hash_table_lookup (ba, &b[i]);

          g_error ("%s: not the same partition at voxel %" G_GSIZE_FORMAT ": %" G_GUINT64_FORMAT " there (elsewhere with %"
                   G_GUINT64_FORMAT ") against %" G_GUINT64_FORMAT " (elsewhere with %" G_GUINT64_FORMAT ")",
                   what, i, a[i], a_to ? *a_to : 0, b[i], b_to ? *b_to : 0);
        }
    }
}

static gboolean
timed_out (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

void
cleave_test_spin (guint ms)
{
  gboolean out = FALSE;

  g_timeout_add (ms, timed_out, &out);
  while (!out)
    g_main_context_iteration (NULL, TRUE);
}

gboolean
cleave_test_wait (gboolean (*condition) (gpointer data),
                  gpointer   data,
                  guint      seconds)
{
  gboolean out = FALSE;
  guint id = g_timeout_add_seconds (seconds, timed_out, &out);

  while (!condition (data) && !out)
    g_main_context_iteration (NULL, TRUE);
  if (!out)
    g_source_remove (id);
  return !out;
}

static int
cmp_double (const void *a,
            const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

double
cleave_test_median (double *v,
                    guint   n)
{
  g_return_val_if_fail (n > 0, NAN);

  qsort (v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double
cleave_test_percentile (double *v,
                        guint   n,
                        double  q)
{
  guint k = (guint) ceil (q * n);

  if (n == 0)
    return NAN;
  qsort (v, n, sizeof *v, cmp_double);
  return v[CLAMP (k, 1, n) - 1];
}
