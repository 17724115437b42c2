/* cleave-test.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-test"

#include "cleave-test.h"

#include "cleave-ocdbt-format.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdarg.h>
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
