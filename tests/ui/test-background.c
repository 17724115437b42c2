/* test-background.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The application's downsample worker: with a dataset open, a job queued
 * by an edit shows in the status line, stays queued while the setting
 * keeps the worker off, and is drained by the window's worker thread once
 * it is turned on; the pyramid then equals a fresh recomputation.
 */

#include "cleave-test.h"

#include <json-glib/json-glib.h>
#include <string.h>

#include "cleave-config.h"
#include "cleave-ui.h"

#define WAIT_SECONDS 60

static GtkApplication *app;

typedef struct
{
  CleaveWindow *window;
  const char   *needle;
} StatusWait;

static gboolean
status_has (gpointer data)
{
  StatusWait *w = data;

  return strstr (cleave_window_get_status_text (w->window), w->needle) != NULL;
}

/* Runs the main loop until the status line holds @needle. */
static gboolean
wait_for_status (CleaveWindow *window,
                 const char   *needle)
{
  StatusWait w = { window, needle };

  if (cleave_test_wait (status_has, &w, WAIT_SECONDS))
    return TRUE;
  g_test_message ("status line: %s", cleave_window_get_status_text (window));
  return FALSE;
}

static gint64
queue_member (const char *dir,
              const char *member)
{
  g_auto(CleaveTestRun) info = { 0 };
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonObject *o;

  cleave_test_run (&info, NULL, cleave_test_env ("CLEAVECTL"), "info", dir, "--json", NULL);
  g_assert_cmpint (info.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, info.out, -1, &error));
  o = json_node_get_object (json_parser_get_root (parser));
  return json_object_get_int_member (json_object_get_object_member (o, "downsample_queue"), member);
}

static void
test_ui_background_worker (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;
  g_auto(CleaveTestRun) demo = { 0 };
  g_auto(CleaveTestRun) split = { 0 };
  g_auto(CleaveTestRun) check = { 0 };
  g_autoptr(GSettings) settings = NULL;
  g_autoptr(GError) error = NULL;
  CleaveWindow *window;

  if (g_getenv ("DISPLAY") == NULL)
    {
      g_test_skip ("no X display: the ui suite runs under xvfb-run (make test does that)");
      return;
    }

  tmp = cleave_test_tmpdir ();
  dir = g_build_filename (tmp, "bg.cleave", NULL);
  cleave_test_run (&demo, NULL, cleave_test_env ("CLEAVECTL"), "demo", dir,
                   "--size", "160,128,32", "--chunk", "32,32,16", "--seed", "2", NULL);
  g_assert_cmpint (demo.status, ==, 0);

  settings = g_settings_new (CLEAVE_APP_ID);
  g_settings_set_boolean (settings, "downsample-in-background", FALSE);
  window = cleave_window_new (app, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 900, 600);
  gtk_window_present (GTK_WINDOW (window));
  cleave_window_open (window, dir);
  g_assert_true (wait_for_status (window, "up to date"));

  /* An edit in another process: the demo's first in-supervoxel merge
   * split, which rewrites mip 0 there and queues its boxes. */
  {
    g_autofree char *json_path = g_build_filename (dir, "demo.json", NULL);
    g_autoptr(JsonParser) parser = json_parser_new ();
    JsonObject *error0;
    char source[64], sink[64];

    g_assert_true (json_parser_load_from_file (parser, json_path, &error));
    error0 = json_array_get_object_element (
      json_object_get_array_member (json_node_get_object (json_parser_get_root (parser)), "sv_merge_errors"), 0);
    for (guint k = 0; k < 2; k++)
      {
        JsonArray *p = json_object_get_array_member (error0, k == 0 ? "source" : "sink");

        g_snprintf (k == 0 ? source : sink, 64, "%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                    json_array_get_int_element (p, 0), json_array_get_int_element (p, 1),
                    json_array_get_int_element (p, 2));
      }
    cleave_test_run (&split, NULL, cleave_test_env ("CLEAVECTL"), "split", dir, "--source", source,
                     "--sink", sink, NULL);
    g_assert_cmpint (split.status, ==, 0);
  }
  g_assert_true (wait_for_status (window, "1 job queued, worker off"));
  /* Off means off: nobody takes it. */
  cleave_test_spin (1500);
  g_assert_nonnull (strstr (cleave_window_get_status_text (window), "1 job queued"));
  g_assert_cmpint (queue_member (dir, "pending"), ==, 1);

  /* Turned on, the window's worker drains it. */
  g_settings_set_boolean (settings, "downsample-in-background", TRUE);
  g_assert_true (wait_for_status (window, "up to date"));
  g_assert_cmpint (queue_member (dir, "pending") + queue_member (dir, "claimed") + queue_member (dir, "failed"), ==, 0);

  /* What it wrote is the pyramid a full recomputation gives: a worker
   * over the whole volume finds nothing left to change (mip 0 did change:
   * without the window's worker it would rewrite the split's chunks). */
  cleave_test_run (&check, NULL, cleave_test_env ("CLEAVECTL"), "worker", dir, "--enqueue", "all", "--once",
                   "--json", NULL);
  g_assert_cmpint (check.status, ==, 0);
  g_assert_nonnull (strstr (check.out, "\"chunks_written\" : 0"));

  gtk_window_destroy (GTK_WINDOW (window));
  /* The worker stops off the main thread; let it. */
  cleave_test_spin (500);
  g_settings_reset (settings, "downsample-in-background");
  cleave_test_rm_rf (tmp);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  cleave_test_init (&argc, &argv);
  cleave_ui_init ();
  if (g_getenv ("DISPLAY") != NULL)
    {
      gtk_init ();
      app = gtk_application_new ("org.cleave.CleaveTest", G_APPLICATION_NON_UNIQUE);
      g_application_set_resource_base_path (G_APPLICATION (app), CLEAVE_RESOURCE_PREFIX);
      g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
      cleave_ui_startup (app);
    }
  g_test_add_func ("/ui/background/worker", test_ui_background_worker);
  status = g_test_run ();
  g_clear_object (&app);
  return status;
}
