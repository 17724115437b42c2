/* test-viewer.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The viewer in this process, under Xvfb and software GL: the demo
 * dataset opened in a real window, screenshots of complete frames checked
 * pixel by pixel, navigation driven through the window's actions, the
 * pointer moved over an object by the X server (XWarpPointer) and the
 * status line compared with `cleavectl seg lookup`, a click there by the
 * X server (XTest) selecting that object, and a folder that is
 * not a dataset; and edits by `cleavectl` in another process showing up in
 * the open viewer.
 */

#include "cleave-test.h"

#include <gdk/x11/gdkx.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>

#include "cleave-config.h"
#include "cleave-ui.h"

#define WAIT_SECONDS 60

static char *demo_dir;
static GtkApplication *app;

typedef gboolean (*Condition) (CleaveWindow *window);

typedef struct
{
  CleaveWindow *window;
  Condition     condition;
} Wait;

static gboolean
wait_check (gpointer data)
{
  Wait *w = data;

  return w->condition (w->window);
}

static gboolean
wait_for (CleaveWindow *window,
          Condition     condition)
{
  Wait w = { window, condition };

  return cleave_test_wait (wait_check, &w, WAIT_SECONDS);
}

static gboolean
is_complete (CleaveWindow *window)
{
  return g_strcmp0 (cleave_window_get_state (window), "viewer") == 0 && cleave_window_is_complete (window);
}

static gboolean
is_error (CleaveWindow *window)
{
  return g_strcmp0 (cleave_window_get_state (window), "error") == 0;
}

static CleaveWindow *
open_window (const char *path)
{
  g_autoptr(GSettings) settings = g_settings_new (CLEAVE_APP_ID);
  CleaveWindow *window;

  /* No position remembered from another test. */
  g_settings_reset (settings, "positions");
  g_settings_reset (settings, "layout");
  window = cleave_window_new (app, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_present (GTK_WINDOW (window));
  if (path != NULL)
    cleave_window_open (window, path);
  return window;
}

/* A screenshot of a complete frame, as pixels (RGBA bytes). */
typedef struct
{
  int     width, height;
  gsize   stride;
  guint8 *pixels;
} Shot;

static void
shot_clear (Shot *shot)
{
  g_clear_pointer (&shot->pixels, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Shot, shot_clear)

static void
screenshot (CleaveWindow *window,
            const char   *name,
            Shot         *shot)
{
  g_autofree char *file = g_strconcat (name, ".png", NULL);
  g_autofree char *png = g_build_filename (cleave_test_env ("CLEAVE_TEST_OUTPUT_DIR"), file, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkTexture) texture = NULL;

  g_assert_true (wait_for (window, is_complete));
  /* The complete frame reaches the window. */
  cleave_test_spin (50);
  g_assert_true (wait_for (window, is_complete));
  g_assert_true (cleave_screenshot_save_png (GTK_WIDGET (window), png, &error));
  g_assert_no_error (error);
  g_test_message ("screenshot: %s", png);

  texture = gdk_texture_new_from_filename (png, &error);
  g_assert_no_error (error);
  shot->width = gdk_texture_get_width (texture);
  shot->height = gdk_texture_get_height (texture);
  shot->stride = (gsize) shot->width * 4;
  shot->pixels = g_malloc (shot->stride * shot->height);
  gdk_texture_download (texture, shot->pixels, shot->stride);
}

/* Pixel statistics inside a widget's rectangle of the window. */
typedef struct
{
  guint grey_levels;     /* distinct grey values (image voxels) */
  guint seg_colours;     /* distinct saturated colours, quantised */
  guint pixels;
} Stats;

static void
shot_stats (const Shot   *shot,
            CleaveWindow *window,
            GtkWidget    *widget,
            Stats        *stats)
{
  graphene_rect_t r;
  g_autoptr(GHashTable) greys = g_hash_table_new (NULL, NULL);
  g_autoptr(GHashTable) colours = g_hash_table_new (NULL, NULL);

  g_assert_true (gtk_widget_compute_bounds (widget, GTK_WIDGET (window), &r));
  memset (stats, 0, sizeof *stats);
  for (int y = (int) r.origin.y; y < (int) (r.origin.y + r.size.height) && y < shot->height; y++)
    for (int x = (int) r.origin.x; x < (int) (r.origin.x + r.size.width) && x < shot->width; x++)
      {
        const guint8 *p = shot->pixels + y * shot->stride + x * 4;
        int mx = MAX (p[0], MAX (p[1], p[2])), mn = MIN (p[0], MIN (p[1], p[2]));

        stats->pixels++;
        if (mx - mn <= 6)
          g_hash_table_add (greys, GUINT_TO_POINTER (p[0]));
        else if (mx - mn >= 40)
          g_hash_table_add (colours, GUINT_TO_POINTER ((p[0] >> 4) << 8 | (p[1] >> 4) << 4 | (p[2] >> 4)));
      }
  stats->grey_levels = g_hash_table_size (greys);
  stats->seg_colours = g_hash_table_size (colours);
}

/* The share of pixels that differ between two shots. */
static double
shot_difference (const Shot *a,
                 const Shot *b)
{
  guint64 differ = 0;

  g_assert_cmpint (a->width, ==, b->width);
  g_assert_cmpint (a->height, ==, b->height);
  for (int y = 0; y < a->height; y++)
    for (int x = 0; x < a->width; x++)
      if (memcmp (a->pixels + y * a->stride + x * 4, b->pixels + y * b->stride + x * 4, 3) != 0)
        differ++;
  return (double) differ / ((double) a->width * a->height);
}

static gboolean
have_display (void)
{
  if (g_getenv ("DISPLAY") == NULL)
    {
      g_test_skip ("no X display: the ui suite runs under xvfb-run (make test does that)");
      return FALSE;
    }
  return TRUE;
}

static void
test_ui_viewer_first_frame (void)
{
  CleaveWindow *window;
  g_auto(Shot) shot = { 0 };
  Stats xy, xz;
  gint64 start;

  if (!have_display ())
    return;

  window = open_window (demo_dir);
  start = g_get_monotonic_time ();
  screenshot (window, "viewer-first-frame", &shot);
  g_test_message ("first complete frame after %.0f ms", (g_get_monotonic_time () - start) / 1000.0);

  g_assert_cmpint (shot.width, >=, 1000);
  g_assert_cmpstr (gtk_window_get_title (GTK_WINDOW (window)), ==, "viewer-demo — Cleave");
  shot_stats (&shot, window, GTK_WIDGET (cleave_window_get_view (window, CLEAVE_PLANE_XY)), &xy);
  shot_stats (&shot, window, GTK_WIDGET (cleave_window_get_view (window, CLEAVE_PLANE_XZ)), &xz);
  g_test_message ("XY: %u grey levels, %u segmentation colours of %u pixels; XZ: %u, %u",
                  xy.grey_levels, xy.seg_colours, xy.pixels, xz.grey_levels, xz.seg_colours);
  /* The EM image is visible: many grey levels. */
  g_assert_cmpuint (xy.grey_levels, >=, 32);
  /* The segmentation is visible: many objects in many colours. */
  g_assert_cmpuint (xy.seg_colours, >=, 40);
  g_assert_cmpuint (xz.seg_colours, >=, 20);
  /* The status line names the dataset's generation. */
  g_assert_nonnull (strstr (cleave_window_get_status_text (window), "generation"));

  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_ui_viewer_navigation (void)
{
  CleaveWindow *window;
  CleaveViewport *viewport;
  g_auto(Shot) before = { 0 };
  g_auto(Shot) zoomed = { 0 };
  g_auto(Shot) sliced = { 0 };
  g_auto(Shot) single = { 0 };
  g_auto(Shot) panned = { 0 };
  double pos[3], pos2[3], zoom;
  CleaveSliceView *xy, *xz;
  graphene_rect_t r1, r2;

  if (!have_display ())
    return;

  window = open_window (demo_dir);
  viewport = cleave_window_get_viewport (window);
  xy = cleave_window_get_view (window, CLEAVE_PLANE_XY);
  xz = cleave_window_get_view (window, CLEAVE_PLANE_XZ);
  screenshot (window, "viewer-nav-0", &before);

  /* Zoom in. */
  zoom = cleave_viewport_get_zoom (viewport);
  g_action_group_activate_action (G_ACTION_GROUP (window), "zoom-in", NULL);
  g_assert_cmpfloat (fabs (cleave_viewport_get_zoom (viewport) / zoom - 1.25), <, 1e-9);
  screenshot (window, "viewer-nav-1-zoom-in", &zoomed);
  g_test_message ("zoom in changed %.1f%% of the pixels", 100 * shot_difference (&before, &zoomed));
  g_assert_cmpfloat (shot_difference (&before, &zoomed), >, 0.10);

  /* Next slice: one voxel (40 nm) along z in the XY view. */
  cleave_viewport_get_position (viewport, pos);
  g_action_group_activate_action (G_ACTION_GROUP (window), "next-slice", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "next-slice", NULL);
  g_action_group_activate_action (G_ACTION_GROUP (window), "next-slice", NULL);
  cleave_viewport_get_position (viewport, pos2);
  g_assert_cmpfloat (fabs (pos2[2] - pos[2] - 3 * 40.0), <, 1e-6);
  g_assert_cmpfloat (pos2[0], ==, pos[0]);
  g_assert_cmpfloat (pos2[1], ==, pos[1]);
  screenshot (window, "viewer-nav-2-next-slice", &sliced);
  g_test_message ("three slices on changed %.1f%% of the pixels", 100 * shot_difference (&zoomed, &sliced));
  g_assert_cmpfloat (shot_difference (&zoomed, &sliced), >, 0.05);

  /* Pan right: the position moves along x. */
  g_action_group_activate_action (G_ACTION_GROUP (window), "pan-right", NULL);
  cleave_viewport_get_position (viewport, pos);
  g_assert_cmpfloat (pos[0], >, pos2[0]);
  g_assert_cmpfloat (pos[1], ==, pos2[1]);
  screenshot (window, "viewer-nav-3-pan", &panned);
  g_assert_cmpfloat (shot_difference (&sliced, &panned), >, 0.05);

  /* Switch to the XZ plane alone. */
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (xy)));
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (xz), GTK_WIDGET (window), &r1));
  g_action_group_change_action_state (G_ACTION_GROUP (window), "layout", g_variant_new_string ("xz"));
  cleave_test_spin (50);
  screenshot (window, "viewer-nav-4-xz", &single);
  g_assert_false (gtk_widget_get_mapped (GTK_WIDGET (xy)));
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (xz)));
  g_assert_true (gtk_widget_compute_bounds (GTK_WIDGET (xz), GTK_WIDGET (window), &r2));
  g_assert_cmpfloat (r2.size.width * r2.size.height, >, 2 * r1.size.width * r1.size.height);
  g_assert_cmpfloat (shot_difference (&panned, &single), >, 0.20);
  /* Next slice now moves along the XZ plane's normal, y. */
  cleave_viewport_get_position (viewport, pos);
  g_action_group_activate_action (G_ACTION_GROUP (window), "next-slice", NULL);
  cleave_viewport_get_position (viewport, pos2);
  g_assert_cmpfloat (fabs (pos2[1] - pos[1] - 8.0), <, 1e-6);

  /* And back to three panes. */
  g_action_group_change_action_state (G_ACTION_GROUP (window), "layout", g_variant_new_string ("three"));
  cleave_test_spin (50);
  g_assert_true (gtk_widget_get_mapped (GTK_WIDGET (xy)));
  g_assert_true (wait_for (window, is_complete));

  gtk_window_destroy (GTK_WINDOW (window));
}

/* Runs `cleavectl seg lookup --json` at @n points; sv and root per point. */
static void
cleavectl_lookup (const gint64 *xyz,
                  guint         n,
                  guint64      *sv,
                  guint64      *root)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status;
  JsonArray *array;

  g_ptr_array_add (argv, g_strdup (cleave_test_env ("CLEAVECTL")));
  g_ptr_array_add (argv, g_strdup ("seg"));
  g_ptr_array_add (argv, g_strdup ("lookup"));
  g_ptr_array_add (argv, g_strdup (demo_dir));
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (argv, g_strdup_printf ("%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT,
                                            xyz[3 * i], xyz[3 * i + 1], xyz[3 * i + 2]));
  g_ptr_array_add (argv, g_strdup ("--json"));
  g_ptr_array_add (argv, NULL);
  g_assert_true (g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error));
  g_assert_no_error (error);
  g_assert_cmpint (status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, out, -1, &error));
  g_assert_no_error (error);
  array = json_node_get_array (json_parser_get_root (parser));
  g_assert_cmpuint (json_array_get_length (array), ==, n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *o = json_array_get_object_element (array, i);

      sv[i] = (guint64) json_object_get_int_member (o, "sv");
      root[i] = json_object_has_member (o, "root") ? (guint64) json_object_get_int_member (o, "root") : 0;
    }
}

static gboolean status_has_target (CleaveWindow *window);
static char *want_voxel, *want_sv, *want_root;

static gboolean
status_has_target (CleaveWindow *window)
{
  const char *status = cleave_window_get_status_text (window);

  return strstr (status, want_voxel) != NULL && strstr (status, want_sv) != NULL
         && strstr (status, want_root) != NULL;
}

static guint64 want_selected;

static gboolean
object_selected (CleaveWindow *window)
{
  return cleave_viewport_get_selected (cleave_window_get_viewport (window)) == want_selected;
}

static void
test_ui_viewer_hover (void)
{
  CleaveWindow *window;
  CleaveSliceView *xy;
  GtkNative *native;
  Display *xdisplay;
  Window xwindow;
  graphene_point_t p;
  double nx, ny, res[3] = { 8, 8, 40 };
  int width, height;
  enum { N = 25 };
  gint64 xyz[3 * N * 5];
  double points[2 * N];
  guint64 sv[N * 5], root[N * 5];
  int found = -1;

  if (!have_display ())
    return;

  window = open_window (demo_dir);
  g_assert_true (wait_for (window, is_complete));
  xy = cleave_window_get_view (window, CLEAVE_PLANE_XY);
  width = gtk_widget_get_width (GTK_WIDGET (xy));
  height = gtk_widget_get_height (GTK_WIDGET (xy));

  /* Candidate points on a grid over the XY view; an object is one whose
   * voxel and its four neighbours hold one supervoxel, so a pixel of
   * rounding cannot land elsewhere. */
  for (int i = 0; i < N; i++)
    {
      double world[3];

      points[2 * i] = floor (width * (0.2 + 0.6 * (i % 5) / 4.0));
      points[2 * i + 1] = floor (height * (0.2 + 0.6 * (i / 5) / 4.0));
      cleave_slice_view_point_to_world (xy, points[2 * i], points[2 * i + 1], world);
      for (int k = 0; k < 5; k++)
        {
          static const int dx[5] = { 0, 2, -2, 0, 0 }, dy[5] = { 0, 0, 0, 2, -2 };
          gint64 *v = xyz + 3 * (i * 5 + k);

          v[0] = (gint64) floor (world[0] / res[0]) + dx[k];
          v[1] = (gint64) floor (world[1] / res[1]) + dy[k];
          v[2] = (gint64) floor (world[2] / res[2]);
        }
    }
  cleavectl_lookup (xyz, N * 5, sv, root);
  for (int i = 0; i < N && found < 0; i++)
    if (sv[i * 5] != 0 && sv[i * 5 + 1] == sv[i * 5] && sv[i * 5 + 2] == sv[i * 5]
        && sv[i * 5 + 3] == sv[i * 5] && sv[i * 5 + 4] == sv[i * 5])
      found = i;
  g_assert_cmpint (found, >=, 0);
  g_test_message ("object at %" G_GINT64_FORMAT ",%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
                  ": sv %" G_GUINT64_FORMAT ", root %" G_GUINT64_FORMAT,
                  xyz[found * 15], xyz[found * 15 + 1], xyz[found * 15 + 2], sv[found * 5], root[found * 5]);
  g_assert_cmpuint (root[found * 5], !=, 0);

  /* The X server moves the pointer there: real motion events follow. */
  native = gtk_widget_get_native (GTK_WIDGET (xy));
  g_assert_true (gtk_widget_compute_point (GTK_WIDGET (xy), GTK_WIDGET (native),
                                           &GRAPHENE_POINT_INIT ((float) points[2 * found], (float) points[2 * found + 1]), &p));
  gtk_native_get_surface_transform (native, &nx, &ny);
  xdisplay = gdk_x11_display_get_xdisplay (gtk_widget_get_display (GTK_WIDGET (window)));
  xwindow = gdk_x11_surface_get_xid (gtk_native_get_surface (native));
  XWarpPointer (xdisplay, None, xwindow, 0, 0, 0, 0, (int) (p.x + nx) - 3, (int) (p.y + ny) - 3);
  XFlush (xdisplay);
  cleave_test_spin (30);
  XWarpPointer (xdisplay, None, xwindow, 0, 0, 0, 0, (int) (p.x + nx), (int) (p.y + ny));
  XFlush (xdisplay);

  want_voxel = g_strdup_printf ("voxel %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " ",
                                xyz[found * 15], xyz[found * 15 + 1], xyz[found * 15 + 2]);
  want_sv = g_strdup_printf ("sv %" G_GUINT64_FORMAT " ", sv[found * 5]);
  want_root = g_strdup_printf ("root %" G_GUINT64_FORMAT " ", root[found * 5]);
  g_assert_true (wait_for (window, status_has_target));
  g_test_message ("status: %s", cleave_window_get_status_text (window));
  g_assert_cmpuint (cleave_viewport_get_hovered (cleave_window_get_viewport (window)), ==, root[found * 5]);

  /* The X server clicks there (XTest, as a mouse would): the view's
   * gesture selects the object; Escape's action clears it. */
  {
    int event_base, error_base, major, minor;

    g_assert_true (XTestQueryExtension (xdisplay, &event_base, &error_base, &major, &minor));
    want_selected = root[found * 5];
    XTestFakeButtonEvent (xdisplay, 1, True, CurrentTime);
    XFlush (xdisplay);
    cleave_test_spin (30);
    XTestFakeButtonEvent (xdisplay, 1, False, CurrentTime);
    XFlush (xdisplay);
    g_assert_true (wait_for (window, object_selected));
    g_assert_cmpuint (cleave_viewport_get_selected (cleave_window_get_viewport (window)), ==, root[found * 5]);
    g_assert_nonnull (strstr (cleave_window_get_status_text (window), "selected"));
    {
      g_auto(Shot) selected = { 0 };
      g_auto(Shot) dimmed = { 0 };

      screenshot (window, "viewer-selected", &selected);
      g_action_group_change_action_state (G_ACTION_GROUP (window), "dim-others", g_variant_new_boolean (TRUE));
      screenshot (window, "viewer-dimmed", &dimmed);
      g_test_message ("dimming the others changed %.1f%% of the pixels", 100 * shot_difference (&selected, &dimmed));
      g_assert_cmpfloat (shot_difference (&selected, &dimmed), >, 0.05);
    }
    g_action_group_activate_action (G_ACTION_GROUP (window), "clear-selection", NULL);
    g_assert_cmpuint (cleave_viewport_get_selected (cleave_window_get_viewport (window)), ==, 0);
  }
  g_clear_pointer (&want_voxel, g_free);
  g_clear_pointer (&want_sv, g_free);
  g_clear_pointer (&want_root, g_free);
  gtk_window_destroy (GTK_WINDOW (window));
}

/* Edits by another process: the open viewer picks up the new roots and
 * the new generation, and draws them. */
static char *fresh_dir;
static double fresh_world[2][3];
static gint64 fresh_roots[2];
static char *fresh_generation;

static gboolean
fresh_drawn (CleaveWindow *window)
{
  CleaveSliceView *xy = cleave_window_get_view (window, CLEAVE_PLANE_XY);

  for (guint i = 0; i < 2; i++)
    {
      guint64 root;

      if (!cleave_slice_view_get_drawn_root (xy, fresh_world[i], &root) || root != (guint64) fresh_roots[i])
        return FALSE;
    }
  return is_complete (window)
         && (fresh_generation == NULL || strstr (cleave_window_get_status_text (window), fresh_generation) != NULL);
}

static guint64
fresh_seg_generation (void)
{
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(JsonNode) info = NULL;

  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "info", fresh_dir, "--json", NULL);
  g_assert_cmpint (run.status, ==, 0);
  info = cleave_test_parse_json (run.out);
  return (guint64) json_object_get_int_member (json_object_get_object_member (json_node_get_object (info), "segmentation"),
                                               "generation");
}

static void
subprocess_done (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_wait_check_finish (G_SUBPROCESS (object), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

/* Runs cleavectl with @argv while the viewer keeps running. */
static void
fresh_cleavectl (const char * const *argv)
{
  g_autoptr(GPtrArray) args = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  gboolean done = FALSE;

  g_ptr_array_add (args, (gpointer) cleave_test_env ("CLEAVECTL"));
  for (guint i = 0; argv[i] != NULL; i++)
    g_ptr_array_add (args, (gpointer) argv[i]);
  g_ptr_array_add (args, NULL);
  process = g_subprocess_newv ((const char * const *) args->pdata, G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error);
  g_assert_no_error (error);
  g_subprocess_wait_check_async (process, NULL, subprocess_done, &done);
  while (!done)
    g_main_context_iteration (NULL, TRUE);
}

static void
test_ui_viewer_freshness (void)
{
  g_autofree char *tmp = NULL;
  g_autofree char *demo_json = NULL;
  g_autofree char *text = NULL;
  g_autofree char *p = NULL;
  g_autofree char *q = NULL;
  g_autoptr(JsonNode) demo = NULL;
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(GSettings) settings = g_settings_new (CLEAVE_APP_ID);
  g_auto(Shot) before = { 0 };
  g_auto(Shot) split = { 0 };
  g_auto(Shot) merged = { 0 };
  JsonObject *error_pair;
  CleaveWindow *window;
  double pos[3], res[3] = { 8, 8, 40 };
  gint64 xyz[2][3];
  guint64 generation, old_generation;
  gint64 old_roots[2];

  if (!have_display ())
    return;

  /* A dataset of its own: the edits stay out of the other tests. */
  tmp = cleave_test_tmpdir ();
  fresh_dir = g_build_filename (tmp, "fresh.cleave", NULL);
  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "demo", fresh_dir, NULL);
  g_assert_cmpint (run.status, ==, 0);
  demo_json = g_build_filename (fresh_dir, "demo.json", NULL);
  g_assert_true (g_file_get_contents (demo_json, &text, NULL, NULL));
  demo = cleave_test_parse_json (text);
  /* Two objects in one supervoxel: splitting them splits the supervoxel,
   * a new generation of the segmentation and new roots. */
  error_pair = json_array_get_object_element (json_object_get_array_member (json_node_get_object (demo), "sv_merge_errors"), 0);
  p = cleave_test_point (error_pair, "source");
  q = cleave_test_point (error_pair, "sink");
  for (guint i = 0; i < 2; i++)
    {
      JsonArray *a = json_object_get_array_member (error_pair, i == 0 ? "source" : "sink");

      for (guint d = 0; d < 3; d++)
        {
          xyz[i][d] = json_array_get_int_element (a, d);
          fresh_world[i][d] = (xyz[i][d] + 0.5) * res[d];
        }
    }
  g_assert_cmpint (xyz[0][2], ==, xyz[1][2]);

  /* The window's own downsample worker would commit generations of its
   * own after the split (tests/ui/test-background.c covers it). */
  g_settings_set_boolean (settings, "downsample-in-background", FALSE);
  window = open_window (fresh_dir);
  g_assert_true (wait_for (window, is_complete));
  /* The XY plane through both points. */
  cleave_viewport_get_position (cleave_window_get_viewport (window), pos);
  pos[2] = fresh_world[0][2];
  cleave_viewport_set_position (cleave_window_get_viewport (window), pos);
  cleave_test_roots (fresh_dir, p, q, fresh_roots);
  g_assert_cmpint (fresh_roots[0], ==, fresh_roots[1]);
  g_assert_true (wait_for (window, fresh_drawn));
  old_generation = cleave_source_get_generation (cleave_window_get_source (window));
  g_assert_cmpuint (old_generation, ==, fresh_seg_generation ());
  screenshot (window, "viewer-fresh-0", &before);

  /* The split, by another process. */
  fresh_cleavectl ((const char *[]) { "split", fresh_dir, "--source", p, "--sink", q, NULL });
  memcpy (old_roots, fresh_roots, sizeof old_roots);
  cleave_test_roots (fresh_dir, p, q, fresh_roots);
  g_assert_cmpint (fresh_roots[0], !=, fresh_roots[1]);
  g_assert_cmpint (fresh_roots[0], !=, old_roots[0]);
  generation = fresh_seg_generation ();
  g_assert_cmpuint (generation, >, old_generation);
  fresh_generation = g_strdup_printf ("generation %" G_GUINT64_FORMAT, generation);
  g_assert_true (wait_for (window, fresh_drawn));
  g_test_message ("after the split: roots %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "; status: %s",
                  fresh_roots[0], fresh_roots[1], cleave_window_get_status_text (window));
  g_assert_cmpuint (cleave_source_get_generation (cleave_window_get_source (window)), ==, generation);
  screenshot (window, "viewer-fresh-1-split", &split);
  g_test_message ("the split changed %.2f%% of the pixels", 100 * shot_difference (&before, &split));
  g_assert_cmpfloat (shot_difference (&before, &split), >, 0.0);

  /* And merged again: new roots in the graph only, the same generation. */
  fresh_cleavectl ((const char *[]) { "merge", fresh_dir, p, q, NULL });
  memcpy (old_roots, fresh_roots, sizeof old_roots);
  cleave_test_roots (fresh_dir, p, q, fresh_roots);
  g_assert_cmpint (fresh_roots[0], ==, fresh_roots[1]);
  g_assert_cmpint (fresh_roots[0], !=, old_roots[0]);
  g_assert_true (wait_for (window, fresh_drawn));
  g_assert_cmpuint (fresh_seg_generation (), ==, generation);
  screenshot (window, "viewer-fresh-2-merge", &merged);
  g_test_message ("the merge changed %.2f%% of the pixels", 100 * shot_difference (&split, &merged));
  g_assert_cmpfloat (shot_difference (&split, &merged), >, 0.0);

  gtk_window_destroy (GTK_WINDOW (window));
  g_settings_reset (settings, "downsample-in-background");
  g_clear_pointer (&fresh_generation, g_free);
  g_clear_pointer (&fresh_dir, g_free);
  cleave_test_rm_rf (tmp);
}

static void
test_ui_viewer_not_a_dataset (void)
{
  g_autofree char *dir = cleave_test_tmpdir ();
  g_autofree char *bogus = g_build_filename (dir, "not-a-dataset", NULL);
  g_autofree char *file = g_build_filename (bogus, "notes.txt", NULL);
  CleaveWindow *window;
  g_auto(Shot) shot = { 0 };

  if (!have_display ())
    return;

  g_assert_cmpint (g_mkdir_with_parents (bogus, 0755), ==, 0);
  g_assert_true (g_file_set_contents (file, "hello\n", -1, NULL));

  window = open_window (bogus);
  g_assert_true (wait_for (window, is_error));
  g_test_message ("error: %s", cleave_window_get_error (window));
  g_assert_nonnull (cleave_window_get_error (window));
  g_assert_nonnull (strstr (cleave_window_get_error (window), "not-a-dataset"));
  g_assert_null (cleave_window_get_source (window));
  cleave_test_spin (100);
  {
    g_autofree char *png = g_build_filename (cleave_test_env ("CLEAVE_TEST_OUTPUT_DIR"), "viewer-error.png", NULL);
    g_autoptr(GError) error = NULL;

    g_assert_true (cleave_screenshot_save_png (GTK_WIDGET (window), png, &error));
    g_assert_no_error (error);
  }

  /* The window still works: the demo opens in it. */
  cleave_window_open (window, demo_dir);
  screenshot (window, "viewer-after-error", &shot);
  g_assert_nonnull (cleave_window_get_source (window));
  gtk_window_destroy (GTK_WINDOW (window));

  cleave_test_rm_rf (dir);
}

/* The binary itself: a non-dataset on the command line gives an error
 * page, not a crash; the demo gives a complete frame. */
static void
test_ui_viewer_command_line (void)
{
  g_autofree char *dir = cleave_test_tmpdir ();
  g_autofree char *png = g_build_filename (cleave_test_env ("CLEAVE_TEST_OUTPUT_DIR"), "viewer-cli.png", NULL);
  g_autofree char *arg = g_strconcat ("--screenshot=", png, NULL);
  g_auto(CleaveTestRun) run = { 0 };
  g_auto(CleaveTestRun) run2 = { 0 };

  if (!have_display ())
    return;

  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVE"), arg, dir, NULL);
  g_test_message ("cleave stderr: %s", run.err);
  g_assert_cmpint (run.status, ==, 0);
  g_assert_null (strstr (run.err, "WARNING"));
  g_assert_null (strstr (run.err, "CRITICAL"));
  g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));

  g_remove (png);
  cleave_test_run (&run2, NULL, cleave_test_env ("CLEAVE"), arg, demo_dir, NULL);
  g_test_message ("cleave stderr: %s", run2.err);
  g_assert_cmpint (run2.status, ==, 0);
  g_assert_null (strstr (run2.err, "WARNING"));
  g_assert_true (g_file_test (png, G_FILE_TEST_EXISTS));
  cleave_test_rm_rf (dir);
}

/* Every accelerator is listed in the shortcuts window, and names an
 * action that exists. */
static void
test_ui_viewer_shortcuts (void)
{
  g_autoptr(GBytes) ui = g_resources_lookup_data (CLEAVE_RESOURCE_PREFIX "/gtk/help-overlay.ui", 0, NULL);
  const char *xml;
  const CleaveAccel *accels;
  guint n;
  CleaveWindow *window;

  g_assert_nonnull (ui);
  xml = g_bytes_get_data (ui, NULL);
  accels = cleave_accels_get (&n);
  if (!have_display ())
    return;
  window = open_window (NULL);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *needle = g_strdup_printf ("\"action-name\">%s<", accels[i].action);
      g_autofree char *name = NULL;
      g_autoptr(GVariant) target = NULL;

      g_test_message ("%s", accels[i].action);
      g_assert_nonnull (strstr (xml, needle));
      g_assert_true (g_action_parse_detailed_name (accels[i].action, &name, &target, NULL));
      if (g_str_has_prefix (name, "win."))
        g_assert_true (g_action_group_has_action (G_ACTION_GROUP (window), name + 4));
      else if (g_str_has_prefix (name, "app."))
        g_assert_true (g_str_equal (name, "app.quit"));
    }
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_auto(CleaveTestRun) run = { 0 };
  int status;

  cleave_test_init (&argc, &argv);
  cleave_ui_init ();

  if (g_getenv ("DISPLAY") != NULL)
    {
      gtk_init ();
      tmp = cleave_test_tmpdir ();
      demo_dir = g_build_filename (tmp, "viewer-demo.cleave", NULL);
      cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "demo", demo_dir, NULL);
      if (run.status != 0)
        g_error ("cleavectl demo: %s", run.err);

      app = gtk_application_new ("org.cleave.CleaveTest", G_APPLICATION_NON_UNIQUE);
      /* As the application's: the shortcuts window comes from there. */
      g_application_set_resource_base_path (G_APPLICATION (app), CLEAVE_RESOURCE_PREFIX);
      g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
      cleave_ui_startup (app);
    }

  g_test_add_func ("/ui/viewer/first-frame", test_ui_viewer_first_frame);
  g_test_add_func ("/ui/viewer/navigation", test_ui_viewer_navigation);
  g_test_add_func ("/ui/viewer/hover", test_ui_viewer_hover);
  g_test_add_func ("/ui/viewer/freshness", test_ui_viewer_freshness);
  g_test_add_func ("/ui/viewer/not-a-dataset", test_ui_viewer_not_a_dataset);
  g_test_add_func ("/ui/viewer/command-line", test_ui_viewer_command_line);
  g_test_add_func ("/ui/viewer/shortcuts", test_ui_viewer_shortcuts);

  status = g_test_run ();
  g_clear_object (&app);
  if (tmp != NULL)
    cleave_test_rm_rf (tmp);
  g_free (demo_dir);
  return status;
}
