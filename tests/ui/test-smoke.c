/* test-smoke.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Starts the real cleave binary under Xvfb, lets it save a PNG of its first
 * frame, and checks that the picture shows a window rather than nothing.
 */

#include "cleave-test.h"

#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>

static void
test_ui_smoke_first_frame (void)
{
  g_autofree char *png = g_build_filename (cleave_test_env ("CLEAVE_TEST_OUTPUT_DIR"), "smoke.png", NULL);
  g_autofree char *arg = g_strconcat ("--screenshot=", png, NULL);
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);
  g_autofree guint8 *pixels = NULL;
  int width, height;
  gsize stride;
  guint64 dark = 0;

  if (g_getenv ("DISPLAY") == NULL)
    {
      g_test_skip ("no X display: the ui suite runs under xvfb-run (make test does that)");
      return;
    }

  g_remove (png);
  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVE"), arg, NULL);
  g_test_message ("cleave stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 0);
  /* The application must not warn about itself at run time. */
  g_assert_null (strstr (run.err, "Gtk-WARNING"));
  g_assert_null (strstr (run.err, "CRITICAL"));

  texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  width = gdk_texture_get_width (texture);
  height = gdk_texture_get_height (texture);
  g_test_message ("screenshot %s: %dx%d", png, width, height);
  g_assert_cmpint (width, >=, 640);
  g_assert_cmpint (height, >=, 400);

  stride = (gsize) width * 4;
  pixels = g_malloc (stride * height);
  gdk_texture_download (texture, pixels, stride);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint32 px;
        memcpy (&px, pixels + y * stride + x * 4, 4);
        g_hash_table_add (colours, GUINT_TO_POINTER (px));
        if ((px & 0xff) < 0x40 && ((px >> 8) & 0xff) < 0x40 && ((px >> 16) & 0xff) < 0x40)
          dark++;
      }

  g_test_message ("%u distinct colours, %" G_GUINT64_FORMAT " dark pixels",
                  g_hash_table_size (colours), dark);
  /* A blank or failed frame is one flat colour; text, the header bar and
   * the icon give hundreds. */
  g_assert_cmpuint (g_hash_table_size (colours), >=, 64);
  /* Some text was drawn. */
  g_assert_cmpuint (dark, >=, 100);
}

int
main (int   argc,
      char *argv[])
{
  cleave_test_init (&argc, &argv);

  g_test_add_func ("/ui/smoke/first-frame", test_ui_smoke_first_frame);

  return g_test_run ();
}
