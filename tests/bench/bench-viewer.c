/* bench-viewer.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The viewer on the demo dataset, at 1280x800 under Xvfb with software GL
 * (it runs itself under xvfb-run when there is no display):
 *
 *   1. time from the window being shown to its first complete frame, cold
 *      (the dataset's pages dropped from the page cache) and warm, against
 *      the core alone reading the same slab, and against the first frame
 *      of a new window of the same layout whose GL areas only clear (what
 *      GTK takes to show such a window at all); and the first paint alone,
 *      of the window opening the dataset and of a new window with none;
 *   2. frame time while panning over chunks already on the GPU, against a
 *      redraw that changes nothing and against the floor: a window of the
 *      same size and layout whose three GL areas only clear, which is what
 *      GTK and software GL cost a frame before the viewer draws anything;
 *      and the CPU a frame takes in all threads (software GL's too), which
 *      other processes on the machine disturb less than wall time;
 *   3. chunk decode-and-upload throughput (MVx/s) against decoding alone.
 *
 * Ratios against references measured in the same run; nothing is asserted
 * on time.
 */

#include "cleave-test.h"

#include <epoxy/gl.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cleave-config.h"
#include "cleave-dataset.h"
#include "cleave-slice-view-private.h"
#include "cleave-ui.h"

#define WARM_ROUNDS 5
#define PAN_FRAMES 120

static GtkApplication *app;

static double
now_ms (void)
{
  return g_get_monotonic_time () / 1000.0;
}

/* CPU time of this process, every thread. */
static double
cpu_ms (void)
{
  struct rusage r;

  getrusage (RUSAGE_SELF, &r);
  return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e3 + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e3;
}

/* Drops the dataset's files from the page cache (clean pages only; no
 * root needed), for a cold start. */
static void
drop_cache (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir == NULL)
    {
      int fd = open (path, O_RDONLY);

      if (fd >= 0)
        {
          fdatasync (fd);
          posix_fadvise (fd, 0, 0, POSIX_FADV_DONTNEED);
          close (fd);
        }
      return;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      drop_cache (child);
    }
}

typedef struct
{
  double shown;
  double painted;    /* the end of the window's first paint */
  double complete;
} FirstFrame;

static void
painted (GdkFrameClock *clock,
         FirstFrame    *ff)
{
  if (ff->painted == 0)
    ff->painted = now_ms ();
}

static void
mapped (GtkWidget  *window,
        FirstFrame *ff)
{
  ff->shown = now_ms ();
  g_signal_connect_after (gtk_widget_get_frame_clock (window), "after-paint", G_CALLBACK (painted), ff);
}

static void
frame_complete (CleaveWindow *window,
                FirstFrame   *ff)
{
  if (ff->complete == 0)
    ff->complete = now_ms ();
}

static CleaveWindow *
new_window (void)
{
  g_autoptr(GSettings) settings = g_settings_new (CLEAVE_APP_ID);
  CleaveWindow *window;

  g_settings_reset (settings, "positions");
  window = cleave_window_new (app, settings);
  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  return window;
}

static gboolean
first_frame_done (gpointer data)
{
  return ((FirstFrame *) data)->complete != 0;
}

static gboolean
first_paint_done (gpointer data)
{
  return ((FirstFrame *) data)->painted != 0;
}

/* Shows a new window opening @path; ms from shown to first complete frame
 * (and in @paint, to the end of the window's first paint). */
static double
first_frame (const char    *path,
             double        *paint,
             CleaveWindow **keep)
{
  CleaveWindow *window = new_window ();
  FirstFrame ff = { 0 };

  g_signal_connect (window, "map", G_CALLBACK (mapped), &ff);
  g_signal_connect (window, "frame-complete", G_CALLBACK (frame_complete), &ff);
  cleave_window_open (window, path);
  gtk_window_present (GTK_WINDOW (window));
  if (!cleave_test_wait (first_frame_done, &ff, 60))
    g_error ("no complete frame in 60 s");
  g_signal_handlers_disconnect_by_data (gtk_widget_get_frame_clock (GTK_WIDGET (window)), &ff);
  g_signal_handlers_disconnect_by_data (window, &ff);
  if (paint != NULL)
    *paint = ff.painted - ff.shown;
  if (keep != NULL)
    *keep = window;
  else
    gtk_window_destroy (GTK_WINDOW (window));
  return ff.complete - ff.shown;
}

/* A new window with no dataset: ms from its map to the end of its first
 * paint. Under software GL most of it is the new GL context compiling
 * the shaders GTK's renderer uses for what the window shows. */
static double
empty_first_paint (void)
{
  CleaveWindow *window = new_window ();
  FirstFrame ff = { 0 };

  g_signal_connect (window, "map", G_CALLBACK (mapped), &ff);
  gtk_window_present (GTK_WINDOW (window));
  if (!cleave_test_wait (first_paint_done, &ff, 60))
    g_error ("the window with no dataset never painted");
  g_signal_handlers_disconnect_by_data (gtk_widget_get_frame_clock (GTK_WIDGET (window)), &ff);
  g_signal_handlers_disconnect_by_data (window, &ff);
  gtk_window_destroy (GTK_WINDOW (window));
  return ff.painted - ff.shown;
}

/* The core alone: the XY slab the first frame shows (segmentation and
 * image, mip 0, the chunk row through the middle), read on one thread
 * from a fresh handle. */
static double
core_slab_ms (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveDataset) ds = cleave_dataset_open (path, &error);
  const CleaveScale *s;
  gint64 lo[3], hi[3];
  g_autofree guint64 *seg = NULL;
  g_autofree guint8 *image = NULL;
  double t0;

  g_assert_no_error (error);
  s = &g_array_index (cleave_volume_get_info (cleave_dataset_get_seg (ds))->scales, CleaveScale, 0);
  for (guint d = 0; d < 2; d++)
    {
      lo[d] = s->voxel_offset[d];
      hi[d] = s->voxel_offset[d] + s->size[d];
    }
  lo[2] = s->voxel_offset[2] + (s->size[2] / 2) / s->chunk[2] * s->chunk[2];
  hi[2] = MIN (lo[2] + s->chunk[2], s->voxel_offset[2] + s->size[2]);
  seg = g_new (guint64, (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
  image = g_new (guint8, (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]));
  t0 = now_ms ();
  g_assert_true (cleave_volume_read (cleave_dataset_get_seg (ds), 0, lo, hi, seg, &error));
  g_assert_true (cleave_volume_read (cleave_dataset_get_image (ds), 0, lo, hi, image, &error));
  g_assert_no_error (error);
  return now_ms () - t0;
}

/* Frame times: from the start of the frame clock's cycle to after the paint. */
typedef struct
{
  GArray *times;
  double  start;
} FrameTimes;

static void
on_layout (GdkFrameClock *clock,
           FrameTimes    *ft)
{
  ft->start = now_ms ();
}

static void
on_after_paint (GdkFrameClock *clock,
                FrameTimes    *ft)
{
  double t;

  if (ft->start == 0)
    return;
  t = now_ms () - ft->start;
  g_array_append_val (ft->times, t);
  ft->start = 0;
}

typedef void (*FrameStep) (gpointer data,
                           guint    i);

/* PAN_FRAMES frames of @window, each after @step: the median time (and
 * the 95th percentile), and the CPU time a frame. */
static double
measure_frames (GtkWidget *window,
                FrameStep  step,
                gpointer   data,
                double    *p95,
                double    *cpu)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);
  FrameTimes ft = { g_array_new (FALSE, FALSE, sizeof (double)), 0 };
  double m, cpu0 = cpu_ms ();

  g_signal_connect (clock, "before-paint", G_CALLBACK (on_layout), &ft);
  g_signal_connect (clock, "after-paint", G_CALLBACK (on_after_paint), &ft);
  for (guint i = 0; i < PAN_FRAMES; i++)
    {
      guint before = ft.times->len;

      step (data, i);
      while (ft.times->len == before)
        g_main_context_iteration (NULL, TRUE);
    }
  *cpu = (cpu_ms () - cpu0) / PAN_FRAMES;
  g_signal_handlers_disconnect_by_data (clock, &ft);
  m = cleave_test_median ((double *) (gpointer) ft.times->data, ft.times->len);
  *p95 = g_array_index (ft.times, double, ft.times->len * 95 / 100);
  g_array_unref (ft.times);
  return m;
}

/* Back and forth by 2% of the view: every chunk stays on screen. */
static void
pan_step (gpointer data,
          guint    i)
{
  cleave_slice_view_pan (cleave_window_get_view (data, CLEAVE_PLANE_XY), (i / 4) % 2 ? 0.02 : -0.02, 0.0);
}

static void
redraw_step (gpointer data,
             guint    i)
{
  for (guint p = 0; p < 3; p++)
    {
      CleaveSliceView *view = cleave_window_get_view (data, (CleavePlane) p);
      GtkWidget *area = gtk_widget_get_first_child (gtk_widget_get_first_child (GTK_WIDGET (view)));

      gtk_gl_area_queue_render (GTK_GL_AREA (area));
    }
}

static gboolean
floor_render (GtkGLArea    *area,
              GdkGLContext *context,
              gpointer      data)
{
  glClearColor (0.118f, 0.118f, 0.118f, 1.0f);
  glClear (GL_COLOR_BUFFER_BIT);
  return TRUE;
}

static void
floor_step (gpointer data,
            guint    i)
{
  GtkWidget **areas = data;

  for (guint p = 0; p < 3; p++)
    gtk_gl_area_queue_render (GTK_GL_AREA (areas[p]));
}

/* The viewer's window without the viewer: its size, a header bar, the
 * three panes as GL areas that only clear, a status line. */
static GtkWidget *
floor_window (GtkWidget  *areas[3],
              FirstFrame *ff)
{
  GtkWidget *window = gtk_window_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *paned = gtk_paned_new (GTK_ORIENTATION_HORIZONTAL);
  GtkWidget *side = gtk_paned_new (GTK_ORIENTATION_VERTICAL);

  gtk_window_set_default_size (GTK_WINDOW (window), 1280, 800);
  gtk_window_set_titlebar (GTK_WINDOW (window), gtk_header_bar_new ());
  for (guint p = 0; p < 3; p++)
    {
      areas[p] = gtk_gl_area_new ();
      gtk_gl_area_set_auto_render (GTK_GL_AREA (areas[p]), FALSE);
      gtk_widget_set_hexpand (areas[p], TRUE);
      gtk_widget_set_vexpand (areas[p], TRUE);
      g_signal_connect (areas[p], "render", G_CALLBACK (floor_render), NULL);
    }
  gtk_paned_set_start_child (GTK_PANED (paned), areas[0]);
  gtk_paned_set_end_child (GTK_PANED (paned), side);
  gtk_paned_set_start_child (GTK_PANED (side), areas[1]);
  gtk_paned_set_end_child (GTK_PANED (side), areas[2]);
  gtk_paned_set_position (GTK_PANED (paned), 740);
  gtk_paned_set_position (GTK_PANED (side), 330);
  gtk_box_append (GTK_BOX (box), paned);
  gtk_box_append (GTK_BOX (box), gtk_label_new ("status"));
  gtk_window_set_child (GTK_WINDOW (window), box);
  if (ff != NULL)
    g_signal_connect (window, "map", G_CALLBACK (mapped), ff);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* What GTK alone takes to show a new window like the viewer's: ms from
 * its map to the end of its first paint, GL areas that only clear. With
 * software GL most of it is GTK's renderer starting in a new context. */
static double
floor_first_frame (void)
{
  GtkWidget *areas[3];
  GtkWidget *window;
  FirstFrame ff = { 0 };

  window = floor_window (areas, &ff);
  if (!cleave_test_wait (first_paint_done, &ff, 60))
    g_error ("the floor window never painted");
  g_signal_handlers_disconnect_by_data (gtk_widget_get_frame_clock (window), &ff);
  g_signal_handlers_disconnect_by_data (window, &ff);
  gtk_window_destroy (GTK_WINDOW (window));
  return ff.painted - ff.shown;
}

/* Every chunk of mip 0, both layers: decoded (fresh source) or decoded
 * and uploaded (another fresh source). MVx/s. */
static double
throughput (const char   *path,
            GdkGLContext *context,
            gboolean      upload)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveSource) source = cleave_source_open (path, &error);
  guint64 voxels = 0;
  double t0, t;
  g_autoptr(GArray) textures = g_array_new (FALSE, FALSE, sizeof (GLuint));

  g_assert_no_error (error);
  if (context != NULL)
    gdk_gl_context_make_current (context);
  t0 = now_ms ();
  for (int layer = 0; layer < 2; layer++)
    {
      const CleaveScale *s = &g_array_index (cleave_source_get_info (source, layer)->scales, CleaveScale, 0);
      gint64 grid[3], g[3];

      cleave_scale_grid_size (s, grid);
      for (g[2] = 0; g[2] < grid[2]; g[2]++)
        for (g[1] = 0; g[1] < grid[1]; g[1]++)
          for (g[0] = 0; g[0] < grid[0]; g[0]++)
            {
              g_autoptr(CleaveSliceChunk) chunk = cleave_source_load_chunk (source, layer, 0, g, &error);
              GLuint tex[2];

              g_assert_no_error (error);
              voxels += (guint64) chunk->size[0] * chunk->size[1] * chunk->size[2];
              if (upload)
                {
                  _cleave_slice_chunk_upload (chunk, 0, &tex[0], &tex[1]);
                  g_array_append_vals (textures, tex, 2);
                }
            }
    }
  if (upload)
    glFinish ();
  t = now_ms () - t0;
  if (upload)
    glDeleteTextures ((GLsizei) textures->len, (GLuint *) (gpointer) textures->data);
  return voxels / 1e6 / (t / 1000.0);
}

static int
reexec_under_xvfb (int    argc,
                   char **argv)
{
  g_autofree char *xvfb = g_find_program_in_path ("xvfb-run");
  g_autoptr(GPtrArray) args = g_ptr_array_new ();

  if (xvfb == NULL)
    {
      g_print ("bench-viewer: skipped: no display and no xvfb-run\n");
      return 0;
    }
  g_setenv ("GDK_BACKEND", "x11", TRUE);
  g_setenv ("LIBGL_ALWAYS_SOFTWARE", "1", TRUE);
  g_setenv ("GTK_A11Y", "none", TRUE);
  g_setenv ("NO_AT_BRIDGE", "1", TRUE);
  g_ptr_array_add (args, xvfb);
  g_ptr_array_add (args, "-a");
  g_ptr_array_add (args, "-s");
  g_ptr_array_add (args, "-screen 0 1280x1024x24 +iglx -noreset");
  for (int i = 0; i < argc; i++)
    g_ptr_array_add (args, argv[i]);
  g_ptr_array_add (args, NULL);
  execv (xvfb, (char **) args->pdata);
  g_printerr ("bench-viewer: cannot run xvfb-run: %s\n", g_strerror (errno));
  return 1;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *tmp = NULL;
  g_autofree char *demo = NULL;
  g_auto(CleaveTestRun) run = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkGLContext) context = NULL;
  CleaveWindow *window = NULL;
  double cold, warm[WARM_ROUNDS], blank[WARM_ROUNDS], warm_ms, blank_ms, core_cold, core_warm;
  double paint[WARM_ROUNDS], empty[WARM_ROUNDS], paint_ms, empty_ms;
  double pan_ms, pan_p95, pan_cpu, still_ms, still_p95, still_cpu, floor_ms, floor_p95, floor_cpu;
  double decode, decode_upload;

  if (g_getenv ("DISPLAY") == NULL)
    return reexec_under_xvfb (argc, argv);

  cleave_ui_init ();
  gtk_init ();
  tmp = cleave_test_tmpdir ();
  demo = g_build_filename (tmp, "bench.cleave", NULL);
  cleave_test_run (&run, NULL, cleave_test_env ("CLEAVECTL"), "demo", demo, NULL);
  if (run.status != 0)
    g_error ("cleavectl demo: %s", run.err);

  app = gtk_application_new ("org.cleave.CleaveBench", G_APPLICATION_NON_UNIQUE);
      /* As the application's: the shortcuts window comes from there. */
      g_application_set_resource_base_path (G_APPLICATION (app), CLEAVE_RESOURCE_PREFIX);
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  cleave_ui_startup (app);
  g_print ("bench-viewer: demo dataset, window 1280x800, %u threads, software GL\n", g_get_num_processors ());

  /* 1. First complete frame. */
  drop_cache (demo);
  core_cold = core_slab_ms (demo);
  drop_cache (demo);
  cold = first_frame (demo, NULL, NULL);
  /* Turn about, so both see the same load on a shared machine. */
  for (guint i = 0; i < WARM_ROUNDS; i++)
    {
      warm[i] = first_frame (demo, &paint[i], NULL);
      blank[i] = floor_first_frame ();
      empty[i] = empty_first_paint ();
    }
  warm_ms = cleave_test_median (warm, WARM_ROUNDS);
  blank_ms = cleave_test_median (blank, WARM_ROUNDS);
  paint_ms = cleave_test_median (paint, WARM_ROUNDS);
  empty_ms = cleave_test_median (empty, WARM_ROUNDS);
  core_warm = core_slab_ms (demo);
  g_print ("first complete frame, cold:   %7.1f ms   (core reading the XY slab alone, cold: %.1f ms; ratio %.2f)\n",
           cold, core_cold, cold / core_cold);
  g_print ("first complete frame, warm:   %7.1f ms   median of %d (core slab, warm: %.1f ms; ratio %.2f; goal <= 150 ms)\n",
           warm_ms, WARM_ROUNDS, core_warm, warm_ms / core_warm);
  g_print ("floor, a new window's first frame, GL areas that clear: %.1f ms cleave_test_median (first complete frame / floor %.2f)\n",
           blank_ms, warm_ms / blank_ms);
  g_print ("first paint, warm:            %7.1f ms   median, the window opening the dataset (then: its chunks load and a frame draws them)\n",
           paint_ms);
  g_print ("first paint, no dataset:      %7.1f ms   median, a new window showing its empty state (/ floor %.2f)\n",
           empty_ms, empty_ms / blank_ms);

  /* 2. Frame time while panning over cached chunks, against the floor. */
  {
    GtkWidget *areas[3];
    GtkWidget *floor = floor_window (areas, NULL);

    cleave_test_spin (300);
    floor_ms = measure_frames (floor, floor_step, areas, &floor_p95, &floor_cpu);
    gtk_window_destroy (GTK_WINDOW (floor));
  }
  first_frame (demo, NULL, &window);
  cleave_test_spin (100);
  still_ms = measure_frames (GTK_WIDGET (window), redraw_step, window, &still_p95, &still_cpu);
  pan_ms = measure_frames (GTK_WIDGET (window), pan_step, window, &pan_p95, &pan_cpu);
  g_print ("frame while panning:          %7.2f ms   median, p95 %.2f ms (redraw without change: %.2f ms, p95 %.2f; ratio %.2f; goal <= 16 ms)\n",
           pan_ms, pan_p95, still_ms, still_p95, pan_ms / still_ms);
  g_print ("floor, GL areas that clear:   %7.2f ms   median, p95 %.2f ms (panning / floor %.2f)\n",
           floor_ms, floor_p95, pan_ms / floor_ms);
  g_print ("CPU a frame, every thread:    %7.2f ms   panning (redraw without change: %.2f ms; floor: %.2f ms)\n",
           pan_cpu, still_cpu, floor_cpu);

  /* 3. Decode and upload vs decode. */
  context = gdk_surface_create_gl_context (gtk_native_get_surface (GTK_NATIVE (window)), &error);
  g_assert_no_error (error);
  g_assert_true (gdk_gl_context_realize (context, &error));
  g_assert_no_error (error);
  throughput (demo, NULL, FALSE);      /* page cache warm */
  decode = throughput (demo, NULL, FALSE);
  decode_upload = throughput (demo, context, TRUE);
  gdk_gl_context_clear_current ();
  g_print ("decode and upload:            %7.1f MVx/s   (decode alone: %.1f MVx/s; ratio %.2f), one thread, all mip-0 chunks\n",
           decode_upload, decode, decode_upload / decode);

  gtk_window_destroy (GTK_WINDOW (window));
  g_clear_object (&context);
  g_clear_object (&app);
  cleave_test_rm_rf (tmp);
  return 0;
}
