/* cleave-window.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-window"

#include "cleave-config.h"
#include "cleave-window.h"

#include <math.h>
#include <string.h>

#include "cleave-background.h"
#include "cleave-version.h"

/* How many datasets the recent list keeps. */
#define MAX_RECENT 8
#define ZOOM_STEP 1.25
#define PAN_STEP 0.125
#define OPACITY_STEP 0.1

struct _CleaveWindow
{
  GtkApplicationWindow  parent_instance;

  GSettings            *settings;
  CleaveViewport       *viewport;
  CleaveSource         *source;
  CleaveBackground     *background;
  GCancellable         *open_cancellable;
  char                 *path;
  char                 *error;
  char                 *status_text;

  CleaveSliceView      *views[3];
  CleaveSliceView      *active_view;
  gboolean              complete;
  gboolean              fitted;
  gboolean              views_wait;   /* the views get the source once sized */
  GdkFrameClock        *layout_clock;
  gulong                layout_id;

  /* The hover probe: one in flight, the newest position waiting. */
  GCancellable         *probe_cancellable;
  gboolean              probing;
  gboolean              probe_pending;
  gint64                probe_xyz[3];
  gboolean              probe_inside;
  CleaveProbe           hover;
  gboolean              select_on_probe;

  /* Template children. */
  GtkLabel             *mode_label;
  GtkLabel             *title_label;
  GtkLabel             *subtitle_label;
  GtkLabel             *status_label;
  GtkLabel             *dataset_label;
  GtkLabel             *version_label;
  GtkLabel             *loading_label;
  GtkLabel             *error_title;
  GtkLabel             *error_label;
  GtkLabel             *recent_title;
  GtkListBox           *recent_list;
  GtkSpinner           *spinner;
  GtkStack             *stack;
  GtkPaned             *views_paned;
  GtkPaned             *side_paned;
  GtkWidget            *view_controls;
  GtkScale             *opacity_scale;
};

G_DEFINE_FINAL_TYPE (CleaveWindow, cleave_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  FRAME_COMPLETE,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void update_status (CleaveWindow *self);

/* Settings -------------------------------------------------------------- */

static void
save_position (CleaveWindow *self)
{
  g_autoptr(GVariant) old = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key;
  GVariant *value;
  double pos[3];

  if (self->settings == NULL || self->source == NULL)
    return;

  cleave_viewport_get_position (self->viewport, pos);
  old = g_settings_get_value (self->settings, "positions");
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{s(dddd)}"));
  g_variant_builder_add (&builder, "{s(dddd)}", cleave_source_get_path (self->source),
                         pos[0], pos[1], pos[2], cleave_viewport_get_zoom (self->viewport));
  g_variant_iter_init (&iter, old);
  /* Newest first; the oldest fall off after a while. */
  for (guint n = 1; g_variant_iter_next (&iter, "{&s@(dddd)}", &key, &value); g_variant_unref (value))
    if (n < 64 && g_strcmp0 (key, cleave_source_get_path (self->source)) != 0)
      {
        g_variant_builder_add (&builder, "{s@(dddd)}", key, value);
        n++;
      }
  g_settings_set_value (self->settings, "positions", g_variant_builder_end (&builder));
}

static gboolean
restore_position (CleaveWindow *self)
{
  g_autoptr(GVariant) positions = NULL;
  double pos[3], zoom, lo[3], hi[3];

  if (self->settings == NULL)
    return FALSE;
  positions = g_settings_get_value (self->settings, "positions");
  if (!g_variant_lookup (positions, cleave_source_get_path (self->source), "(dddd)", &pos[0], &pos[1], &pos[2], &zoom))
    return FALSE;
  /* A dataset made again may be smaller. */
  cleave_source_get_bounds (self->source, lo, hi);
  for (guint d = 0; d < 3; d++)
    if (pos[d] < lo[d] || pos[d] > hi[d])
      return FALSE;
  cleave_viewport_set_zoom (self->viewport, zoom);
  cleave_viewport_set_position (self->viewport, pos);
  return TRUE;
}

static void
add_recent (CleaveWindow *self,
            const char   *path)
{
  g_auto(GStrv) old = NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) recent = NULL;
  guint n = 1;

  if (self->settings == NULL)
    return;
  old = g_settings_get_strv (self->settings, "recent-datasets");
  g_strv_builder_add (builder, path);
  for (guint i = 0; old[i] != NULL && n < MAX_RECENT; i++)
    if (g_strcmp0 (old[i], path) != 0)
      {
        g_strv_builder_add (builder, old[i]);
        n++;
      }
  recent = g_strv_builder_end (builder);
  g_settings_set_strv (self->settings, "recent-datasets", (const char * const *) recent);
}

static void
fill_recent (CleaveWindow *self)
{
  g_auto(GStrv) recent = NULL;
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->recent_list))) != NULL)
    gtk_list_box_remove (self->recent_list, child);
  if (self->settings == NULL)
    return;
  recent = g_settings_get_strv (self->settings, "recent-datasets");
  for (guint i = 0; recent[i] != NULL; i++)
    {
      g_autofree char *name = g_path_get_basename (recent[i]);
      GtkWidget *row = gtk_list_box_row_new ();
      GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
      GtkWidget *label = gtk_label_new (name);
      GtkWidget *where = gtk_label_new (recent[i]);

      gtk_widget_add_css_class (box, "recent-row");
      gtk_label_set_xalign (GTK_LABEL (label), 0);
      gtk_label_set_xalign (GTK_LABEL (where), 0);
      gtk_label_set_ellipsize (GTK_LABEL (where), PANGO_ELLIPSIZE_MIDDLE);
      gtk_widget_add_css_class (where, "dim-label");
      gtk_widget_add_css_class (where, "caption");
      gtk_box_append (GTK_BOX (box), label);
      gtk_box_append (GTK_BOX (box), where);
      gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
      gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.open-recent");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s", recent[i]);
      gtk_list_box_append (self->recent_list, row);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->recent_title), recent[0] != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->recent_list), recent[0] != NULL);
}

static void
settings_changed (GSettings    *settings,
                  const char   *key,
                  CleaveWindow *self)
{
  if (g_str_equal (key, "segmentation-opacity"))
    cleave_viewport_set_opacity (self->viewport, g_settings_get_double (settings, key));
  else if (g_str_equal (key, "color-seed"))
    cleave_viewport_set_color_seed (self->viewport, g_settings_get_uint (settings, key));
  else if (g_str_equal (key, "recent-datasets"))
    fill_recent (self);
  else if (g_str_equal (key, "downsample-in-background") && self->background != NULL)
    cleave_background_set_running (self->background, g_settings_get_boolean (settings, key));
}

/* Views and layout ------------------------------------------------------ */

static gboolean
view_shown (CleaveSliceView *view)
{
  return gtk_widget_get_mapped (GTK_WIDGET (view));
}

/* The zoom (px/nm) at which the dataset fits @view, 24 px around it. */
static double
fit_zoom (CleaveWindow    *self,
          CleaveSliceView *view)
{
  double lo[3], hi[3];
  guint axes[3];
  int width = gtk_widget_get_width (GTK_WIDGET (view));
  int height = gtk_widget_get_height (GTK_WIDGET (view));

  if (width <= 0 || height <= 0)
    return 0.0;
  cleave_source_get_bounds (self->source, lo, hi);
  cleave_slice_view_get_axes (view, axes);
  return MIN ((width - 48.0) / (hi[axes[0]] - lo[axes[0]]), (height - 48.0) / (hi[axes[1]] - lo[axes[1]]));
}

static void
fit (CleaveWindow *self)
{
  double lo[3], hi[3], pos[3], old[3], res[3], zoom = G_MAXDOUBLE;
  guint axes[3];

  if (self->source == NULL)
    return;
  /* The zoom is shared: the active view fits, the others show what is
   * around the same point at the same scale. */
  if (view_shown (self->active_view))
    zoom = fit_zoom (self, self->active_view);
  if (zoom == G_MAXDOUBLE || zoom <= 0)
    return;
  cleave_source_get_bounds (self->source, lo, hi);
  cleave_source_get_resolution (self->source, 0, res);
  cleave_viewport_get_position (self->viewport, old);
  cleave_slice_view_get_axes (self->active_view, axes);
  /* The middle of the data, on a slice's middle so slice indices are exact;
   * refitting keeps the slice the active view is on. */
  for (guint d = 0; d < 3; d++)
    pos[d] = (floor ((lo[d] + hi[d]) / 2 / res[d]) + 0.5) * res[d];
  if (self->fitted)
    pos[axes[2]] = old[axes[2]];
  cleave_viewport_set_zoom (self->viewport, zoom);
  cleave_viewport_set_position (self->viewport, pos);
  self->fitted = TRUE;
}

/* The views get the dataset once they know where to look, so nothing is
 * loaded for a place never shown: in the layout phase of the first frame
 * that sizes them (after GTK's own layout), so the chunks load while that
 * frame paints; a new window's first paint takes 100 ms and more under
 * software GL. */
static void
give_views_source (CleaveWindow *self)
{
  if (!self->views_wait || self->source == NULL
      || gtk_widget_get_width (GTK_WIDGET (self->active_view)) <= 0)
    return;
  self->views_wait = FALSE;
  if (!restore_position (self))
    fit (self);
  else
    self->fitted = TRUE;
  for (guint i = 0; i < 3; i++)
    cleave_slice_view_set_source (self->views[i], self->source);
}

static void
clock_layout (GdkFrameClock *clock,
              CleaveWindow  *self)
{
  give_views_source (self);
}

static void
watch_layout (CleaveWindow *self)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (GTK_WIDGET (self));

  if (clock == self->layout_clock)
    return;
  if (self->layout_clock != NULL)
    g_clear_signal_handler (&self->layout_id, self->layout_clock);
  g_clear_object (&self->layout_clock);
  if (clock != NULL)
    {
      self->layout_clock = g_object_ref (clock);
      self->layout_id = g_signal_connect_after (clock, "layout", G_CALLBACK (clock_layout), self);
    }
}

static void
cleave_window_realize (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (cleave_window_parent_class)->realize (widget);
  /* Connected after the surface's own layout handler, which sizes the widgets. */
  watch_layout (CLEAVE_WINDOW (widget));
}

static void
cleave_window_unrealize (GtkWidget *widget)
{
  CleaveWindow *self = CLEAVE_WINDOW (widget);

  if (self->layout_clock != NULL)
    g_clear_signal_handler (&self->layout_id, self->layout_clock);
  g_clear_object (&self->layout_clock);
  GTK_WIDGET_CLASS (cleave_window_parent_class)->unrealize (widget);
}

static void
apply_layout (CleaveWindow *self,
              const char   *layout)
{
  gboolean three = g_str_equal (layout, "three");
  gboolean xy = three || g_str_equal (layout, "xy");
  gboolean xz = three || g_str_equal (layout, "xz");
  gboolean yz = three || g_str_equal (layout, "yz");

  gtk_widget_set_visible (GTK_WIDGET (self->views[CLEAVE_PLANE_XY]), xy);
  gtk_widget_set_visible (GTK_WIDGET (self->views[CLEAVE_PLANE_XZ]), xz);
  gtk_widget_set_visible (GTK_WIDGET (self->views[CLEAVE_PLANE_YZ]), yz);
  gtk_widget_set_visible (GTK_WIDGET (self->side_paned), xz || yz);
  if (!three)
    self->active_view = self->views[xy ? CLEAVE_PLANE_XY : xz ? CLEAVE_PLANE_XZ : CLEAVE_PLANE_YZ];
  else
    self->active_view = self->views[CLEAVE_PLANE_XY];
  self->complete = FALSE;
}

static void
view_frame (CleaveSliceView *view,
            gboolean         first_complete,
            CleaveWindow    *self)
{
  gboolean complete = cleave_window_is_complete (self);

  if (complete && !self->complete)
    {
      self->complete = TRUE;
      g_signal_emit (self, signals[FRAME_COMPLETE], 0);
    }
  else if (!complete)
    self->complete = FALSE;
  if (view == self->active_view)
    update_status (self);
}

/* Hover, selection and the status line ---------------------------------- */

static void
update_status (CleaveWindow *self)
{
  GString *s = g_string_new (NULL);
  g_autofree char *plain = NULL;
  guint mip = self->active_view ? cleave_slice_view_get_mip (self->active_view) : 0;

#define CAPTION "<span alpha='60%%'>%s</span> "
  if (self->source == NULL)
    g_string_append (s, self->path ? "" : "No dataset open");
  else
    {
      if (self->probe_inside)
        g_string_append_printf (s, CAPTION "%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT "    ",
                                "voxel", self->hover.xyz[0], self->hover.xyz[1], self->hover.xyz[2]);
      else
        g_string_append_printf (s, CAPTION "—    ", "voxel");
      if (self->probe_inside && self->hover.sv != 0)
        {
          g_string_append_printf (s, CAPTION "%" G_GUINT64_FORMAT "    ", "sv", self->hover.sv);
          if (cleave_source_has_graph (self->source))
            g_string_append_printf (s, CAPTION "%" G_GUINT64_FORMAT "    ", "root", self->hover.root);
          else
            g_string_append_printf (s, CAPTION "—    ", "root");
        }
      else
        g_string_append_printf (s, CAPTION "—    " CAPTION "—    ", "sv", "root");
      g_string_append_printf (s, CAPTION "%u    " CAPTION "%" G_GUINT64_FORMAT, "mip", mip,
                              "generation", cleave_source_get_generation (self->source));
      if (self->background != NULL)
        {
          g_autofree char *mips = cleave_background_describe (self->background);
          g_autofree char *escaped = g_markup_escape_text (mips, -1);

          g_string_append_printf (s, "    " CAPTION "%s", "mips", escaped);
        }
      if (cleave_viewport_get_selected (self->viewport) != 0)
        g_string_append_printf (s, "    " CAPTION "%" G_GUINT64_FORMAT, "selected",
                                cleave_viewport_get_selected (self->viewport));
    }
#undef CAPTION

  gtk_label_set_markup (self->status_label, s->str);
  g_free (self->status_text);
  self->status_text = g_strdup (gtk_label_get_text (self->status_label));
  g_string_free (s, TRUE);
}

static void start_probe (CleaveWindow *self);

static void
probe_done (GObject      *object,
            GAsyncResult *result,
            gpointer      user_data)
{
  CleaveWindow *self = user_data;
  g_autoptr(GError) error = NULL;
  CleaveProbe probe;

  if (!cleave_source_probe_finish (CLEAVE_SOURCE (object), result, &probe, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("%s", error->message);
      g_object_unref (self);
      return;
    }
  self->probing = FALSE;
  if (CLEAVE_SOURCE (object) == self->source)
    {
      self->hover = probe;
      cleave_viewport_set_hovered (self->viewport, probe.inside ? probe.root : 0);
      if (self->select_on_probe && !self->probe_pending)
        {
          self->select_on_probe = FALSE;
          cleave_viewport_set_selected (self->viewport, probe.inside ? probe.root : 0);
        }
      update_status (self);
      if (self->probe_pending)
        start_probe (self);
    }
  g_object_unref (self);
}

static void
start_probe (CleaveWindow *self)
{
  self->probe_pending = FALSE;
  self->probing = TRUE;
  cleave_source_probe_async (self->source, self->probe_xyz, self->probe_cancellable, probe_done, g_object_ref (self));
}

static void
world_to_voxel (CleaveWindow *self,
                double        x,
                double        y,
                double        z,
                gint64        xyz[3])
{
  double res[3], world[3] = { x, y, z };

  cleave_source_get_resolution (self->source, 0, res);
  for (guint d = 0; d < 3; d++)
    xyz[d] = (gint64) floor (world[d] / res[d]);
}

static void
probe_at (CleaveWindow *self,
          const gint64  xyz[3])
{
  if (self->probing && memcmp (xyz, self->probe_xyz, sizeof self->probe_xyz) == 0)
    return;
  memcpy (self->probe_xyz, xyz, sizeof self->probe_xyz);
  self->probe_inside = TRUE;
  if (self->probing)
    self->probe_pending = TRUE;
  else
    start_probe (self);
}

static void
view_hover (CleaveSliceView *view,
            gboolean         inside,
            double           x,
            double           y,
            double           z,
            CleaveWindow    *self)
{
  gint64 xyz[3];

  if (self->source == NULL)
    return;
  if (!inside)
    {
      self->probe_inside = FALSE;
      cleave_viewport_set_hovered (self->viewport, 0);
      update_status (self);
      return;
    }
  self->active_view = view;
  world_to_voxel (self, x, y, z, xyz);
  if (!self->probing && self->probe_inside && memcmp (xyz, self->hover.xyz, sizeof xyz) == 0)
    return;
  probe_at (self, xyz);
}

static void
view_clicked (CleaveSliceView *view,
              guint            button,
              double           x,
              double           y,
              double           z,
              CleaveWindow    *self)
{
  gint64 xyz[3];

  if (self->source == NULL || button != GDK_BUTTON_PRIMARY)
    return;
  self->active_view = view;
  world_to_voxel (self, x, y, z, xyz);
  if (!self->probing && self->probe_inside && memcmp (xyz, self->hover.xyz, sizeof xyz) == 0)
    {
      cleave_viewport_set_selected (self->viewport, self->hover.inside ? self->hover.root : 0);
      update_status (self);
      return;
    }
  self->select_on_probe = TRUE;
  probe_at (self, xyz);
}

static void
viewport_changed (CleaveViewport *viewport,
                  CleaveWindow   *self)
{
  update_status (self);
}

/* Opening --------------------------------------------------------------- */

/* Another process changed the dataset: what lies under the pointer may
 * have changed with it. */
static void
source_data_changed (CleaveSource *source,
                     CleaveWindow *self)
{
  if (self->probe_inside)
    {
      gint64 xyz[3];

      memcpy (xyz, self->probe_xyz, sizeof xyz);
      probe_at (self, xyz);
    }
  update_status (self);
}

static void
source_generation_changed (CleaveSource *source,
                           GParamSpec   *pspec,
                           CleaveWindow *self)
{
  update_status (self);
}

static void
background_changed (CleaveBackground *background,
                    gpointer          user_data)
{
  update_status (user_data);
}

static void
set_source (CleaveWindow *self,
            CleaveSource *source)
{
  if (self->source != NULL)
    save_position (self);
  g_cancellable_cancel (self->probe_cancellable);
  g_clear_object (&self->probe_cancellable);
  self->probe_cancellable = g_cancellable_new ();
  self->probing = self->probe_pending = self->probe_inside = self->select_on_probe = FALSE;
  memset (&self->hover, 0, sizeof self->hover);
  cleave_viewport_set_hovered (self->viewport, 0);
  cleave_viewport_set_selected (self->viewport, 0);

  if (self->source != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->source, source_data_changed, self);
      g_signal_handlers_disconnect_by_func (self->source, source_generation_changed, self);
    }
  g_set_object (&self->source, source);
  if (source != NULL)
    {
      g_signal_connect (source, "data-changed", G_CALLBACK (source_data_changed), self);
      g_signal_connect (source, "notify::generation", G_CALLBACK (source_generation_changed), self);
    }
  g_clear_pointer (&self->background, cleave_background_free);
  /* Coarser mips catch up with edits (from any process) while the dataset
   * is open; without a graph there is no queue to drain. */
  if (source != NULL && cleave_source_has_graph (source))
    {
      self->background = cleave_background_new (cleave_source_get_path (source), background_changed, self);
      cleave_background_set_running (self->background,
                                     self->settings == NULL ||
                                     g_settings_get_boolean (self->settings, "downsample-in-background"));
    }
  self->complete = FALSE;
  self->fitted = FALSE;
  for (guint i = 0; i < 3; i++)
    cleave_slice_view_set_source (self->views[i], NULL);
  self->views_wait = source != NULL;
  if (source != NULL)
    {
      /* Sized already (a dataset opened in a shown window): now. */
      give_views_source (self);
      gtk_widget_queue_allocate (GTK_WIDGET (self));
    }
}

static void
show_error (CleaveWindow *self,
            const char   *path,
            const char   *message)
{
  g_autofree char *name = g_path_get_basename (path);
  g_autofree char *title = g_strdup_printf ("Cannot Open “%s”", name);

  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_label (self->error_title, title);
  gtk_label_set_label (self->error_label, message);
  gtk_label_set_label (self->title_label, "Cleave");
  gtk_label_set_label (self->subtitle_label, "No dataset");
  gtk_window_set_title (GTK_WINDOW (self), "Cleave");
  gtk_stack_set_visible_child_name (self->stack, "error");
  update_status (self);
}

static void
open_done (GObject      *object,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CleaveWindow) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(CleaveSource) source = cleave_source_open_finish (result, &error);
  g_autofree char *title = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *dataset = NULL;
  const CleaveScale *s;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  gtk_spinner_stop (self->spinner);
  g_clear_object (&self->open_cancellable);
  if (source == NULL)
    {
      g_debug ("%s", error->message);
      show_error (self, self->path, error->message);
      return;
    }

  add_recent (self, cleave_source_get_path (source));
  g_free (self->path);
  self->path = g_strdup (cleave_source_get_path (source));
  set_source (self, source);

  s = &g_array_index (cleave_source_get_info (source, CLEAVE_LAYER_SEGMENTATION)->scales, CleaveScale, 0);
  title = g_strdup_printf ("%s — Cleave", cleave_source_get_name (source));
  gtk_window_set_title (GTK_WINDOW (self), title);
  gtk_label_set_label (self->title_label, cleave_source_get_name (source));
  subtitle = g_strdup_printf ("%" G_GINT64_FORMAT " × %" G_GINT64_FORMAT " × %" G_GINT64_FORMAT " voxels at %g × %g × %g nm%s",
                              s->size[0], s->size[1], s->size[2],
                              s->resolution[0], s->resolution[1], s->resolution[2],
                              cleave_source_has_graph (source) ? "" : " · no graph: coloured by supervoxel");
  gtk_label_set_label (self->subtitle_label, subtitle);
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->subtitle_label), cleave_source_get_path (source));
  dataset = g_markup_printf_escaped ("%s", cleave_source_get_path (source));
  gtk_label_set_markup (self->dataset_label, dataset);
  gtk_stack_set_visible_child_name (self->stack, "viewer");
  update_status (self);
}

void
cleave_window_open (CleaveWindow *self,
                    const char   *path)
{
  g_autofree char *label = NULL;
  g_autofree char *name = NULL;

  g_return_if_fail (CLEAVE_IS_WINDOW (self));
  g_return_if_fail (path != NULL);

  if (self->open_cancellable)
    g_cancellable_cancel (self->open_cancellable);
  g_clear_object (&self->open_cancellable);
  set_source (self, NULL);
  g_clear_pointer (&self->error, g_free);
  g_free (self->path);
  self->path = g_canonicalize_filename (path, NULL);

  name = g_path_get_basename (self->path);
  label = g_strdup_printf ("Opening %s…", name);
  gtk_label_set_label (self->loading_label, label);
  gtk_spinner_start (self->spinner);
  gtk_stack_set_visible_child_name (self->stack, "loading");
  update_status (self);

  self->open_cancellable = g_cancellable_new ();
  cleave_source_open_async (self->path, self->open_cancellable, open_done, g_object_ref (self));
}

/* Actions --------------------------------------------------------------- */

static void
open_response (GtkNativeDialog *dialog,
               int              response,
               CleaveWindow    *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

      if (file != NULL && app != NULL)
        g_application_open (app, &file, 1, "");
      else if (file != NULL)
        {
          g_autofree char *path = g_file_get_path (file);

          cleave_window_open (self, path);
        }
    }
  gtk_native_dialog_destroy (dialog);
  g_object_unref (dialog);
}

static void
open_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  CleaveWindow *self = user_data;
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new ("Open Dataset", GTK_WINDOW (self), GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                        "_Open", "_Cancel");
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (open_response), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
open_recent_activated (GSimpleAction *action,
                       GVariant      *param,
                       gpointer       user_data)
{
  CleaveWindow *self = user_data;
  g_autoptr(GFile) file = g_file_new_for_path (g_variant_get_string (param, NULL));
  GApplication *app = G_APPLICATION (gtk_window_get_application (GTK_WINDOW (self)));

  if (app != NULL)
    g_application_open (app, &file, 1, "");
  else
    cleave_window_open (self, g_variant_get_string (param, NULL));
}

static void
zoom_by (CleaveWindow *self,
         double        factor)
{
  if (self->source != NULL)
    cleave_viewport_set_zoom (self->viewport, cleave_viewport_get_zoom (self->viewport) * factor);
}

static void
zoom_in_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  zoom_by (user_data, ZOOM_STEP);
}

static void
zoom_out_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  zoom_by (user_data, 1 / ZOOM_STEP);
}

static void
zoom_fit_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  fit (user_data);
}

static void
pan (CleaveWindow *self,
     double        fx,
     double        fy)
{
  if (self->source != NULL)
    cleave_slice_view_pan (self->active_view, fx, fy);
}

static void
pan_left_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  pan (user_data, -PAN_STEP, 0);
}

static void
pan_right_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  pan (user_data, PAN_STEP, 0);
}

static void
pan_up_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  pan (user_data, 0, -PAN_STEP);
}

static void
pan_down_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  pan (user_data, 0, PAN_STEP);
}

static void
next_slice_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  CleaveWindow *self = user_data;

  cleave_slice_view_step_slice (self->active_view, 1);
}

static void
previous_slice_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  CleaveWindow *self = user_data;

  cleave_slice_view_step_slice (self->active_view, -1);
}

static void
layout_changed (GSimpleAction *action,
                GVariant      *value,
                gpointer       user_data)
{
  CleaveWindow *self = user_data;
  const char *layout = g_variant_get_string (value, NULL);

  if (!g_str_equal (layout, "three") && !g_str_equal (layout, "xy")
      && !g_str_equal (layout, "xz") && !g_str_equal (layout, "yz"))
    return;
  g_simple_action_set_state (action, value);
  apply_layout (self, layout);
  if (self->settings != NULL)
    g_settings_set_string (self->settings, "layout", layout);
}

static void
show_segmentation_changed (GSimpleAction *action,
                           GVariant      *value,
                           gpointer       user_data)
{
  CleaveWindow *self = user_data;

  g_simple_action_set_state (action, value);
  cleave_viewport_set_show_segmentation (self->viewport, g_variant_get_boolean (value));
}

static void
dim_others_changed (GSimpleAction *action,
                    GVariant      *value,
                    gpointer       user_data)
{
  CleaveWindow *self = user_data;

  g_simple_action_set_state (action, value);
  cleave_viewport_set_dim_others (self->viewport, g_variant_get_boolean (value));
}

static void
change_opacity (CleaveWindow *self,
                double        delta)
{
  double opacity = CLAMP (cleave_viewport_get_opacity (self->viewport) + delta, 0.0, 1.0);

  /* Through the settings, so the scale and every window follow. */
  if (self->settings != NULL)
    g_settings_set_double (self->settings, "segmentation-opacity", opacity);
  else
    cleave_viewport_set_opacity (self->viewport, opacity);
}

static void
opacity_up_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  change_opacity (user_data, OPACITY_STEP);
}

static void
opacity_down_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  change_opacity (user_data, -OPACITY_STEP);
}

static void
shuffle_colors_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  CleaveWindow *self = user_data;
  guint seed = cleave_viewport_get_color_seed (self->viewport) + 1;

  if (self->settings != NULL)
    g_settings_set_uint (self->settings, "color-seed", seed);
  else
    cleave_viewport_set_color_seed (self->viewport, seed);
}

static void
clear_selection_activated (GSimpleAction *action, GVariant *param, gpointer user_data)
{
  CleaveWindow *self = user_data;

  cleave_viewport_set_selected (self->viewport, 0);
}

static const GActionEntry win_actions[] = {
  { .name = "open", .activate = open_activated },
  { .name = "open-recent", .activate = open_recent_activated, .parameter_type = "s" },
  { .name = "zoom-in", .activate = zoom_in_activated },
  { .name = "zoom-out", .activate = zoom_out_activated },
  { .name = "zoom-fit", .activate = zoom_fit_activated },
  { .name = "pan-left", .activate = pan_left_activated },
  { .name = "pan-right", .activate = pan_right_activated },
  { .name = "pan-up", .activate = pan_up_activated },
  { .name = "pan-down", .activate = pan_down_activated },
  { .name = "next-slice", .activate = next_slice_activated },
  { .name = "previous-slice", .activate = previous_slice_activated },
  { .name = "layout", .parameter_type = "s", .state = "'three'", .change_state = layout_changed },
  { .name = "show-segmentation", .state = "true", .change_state = show_segmentation_changed },
  { .name = "dim-others", .state = "false", .change_state = dim_others_changed },
  { .name = "opacity-up", .activate = opacity_up_activated },
  { .name = "opacity-down", .activate = opacity_down_activated },
  { .name = "shuffle-colors", .activate = shuffle_colors_activated },
  { .name = "clear-selection", .activate = clear_selection_activated },
};

/* Actions that mean nothing without a dataset. */
static const char *dataset_actions[] = {
  "zoom-in", "zoom-out", "zoom-fit", "pan-left", "pan-right", "pan-up", "pan-down",
  "next-slice", "previous-slice",
};

static void
update_action_state (CleaveWindow *self)
{
  for (guint i = 0; i < G_N_ELEMENTS (dataset_actions); i++)
    {
      GAction *action = g_action_map_lookup_action (G_ACTION_MAP (self), dataset_actions[i]);

      g_simple_action_set_enabled (G_SIMPLE_ACTION (action), self->source != NULL);
    }
}

static void
stack_changed (GtkStack     *stack,
               GParamSpec   *pspec,
               CleaveWindow *self)
{
  const char *page = gtk_stack_get_visible_child_name (stack);

  /* Sensitive from when a dataset starts opening rather than once it is
   * open: a window is shown while it opens one, and made sensitive after
   * that the controls fade in over its first frames (the slider's
   * background cross-fades, 200 ms), which tells the user nothing but costs
   * the new window's GL context 5 more shaders to compile under software
   * GL, in the frame that draws the first chunks. */
  gtk_widget_set_sensitive (self->view_controls,
                            g_strcmp0 (page, "loading") == 0 || g_strcmp0 (page, "viewer") == 0);
  update_action_state (self);
}

/* GObject --------------------------------------------------------------- */

static void
cleave_window_save_geometry (CleaveWindow *self)
{
  int width, height;

  if (self->settings == NULL)
    return;

  gtk_window_get_default_size (GTK_WINDOW (self), &width, &height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (GTK_WINDOW (self)));
  if (!gtk_window_is_maximized (GTK_WINDOW (self)) && width > 0 && height > 0)
    {
      /* The schema's range (360..16384) is what a restored window needs;
       * GTK lets a window shrink below it. */
      g_settings_set_int (self->settings, "window-width", CLAMP (width, 360, 16384));
      g_settings_set_int (self->settings, "window-height", CLAMP (height, 360, 16384));
    }
}

static gboolean
cleave_window_close_request (GtkWindow *window)
{
  CleaveWindow *self = CLEAVE_WINDOW (window);

  cleave_window_save_geometry (self);
  save_position (self);
  return GTK_WINDOW_CLASS (cleave_window_parent_class)->close_request (window);
}

static void
cleave_window_constructed (GObject *object)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  G_OBJECT_CLASS (cleave_window_parent_class)->constructed (object);

  if (self->settings != NULL)
    {
      g_autofree char *layout = g_settings_get_string (self->settings, "layout");

      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      cleave_viewport_set_opacity (self->viewport, g_settings_get_double (self->settings, "segmentation-opacity"));
      cleave_viewport_set_color_seed (self->viewport, g_settings_get_uint (self->settings, "color-seed"));
      g_settings_bind (self->settings, "segmentation-opacity",
                       gtk_range_get_adjustment (GTK_RANGE (self->opacity_scale)), "value", G_SETTINGS_BIND_DEFAULT);
      g_signal_connect_object (self->settings, "changed", G_CALLBACK (settings_changed), self, 0);
      g_action_group_change_action_state (G_ACTION_GROUP (self), "layout", g_variant_new_string (layout));
      fill_recent (self);
    }
  else
    fill_recent (self);
}

static void
cleave_window_dispose (GObject *object)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  if (self->open_cancellable)
    g_cancellable_cancel (self->open_cancellable);
  if (self->probe_cancellable)
    g_cancellable_cancel (self->probe_cancellable);
  g_clear_object (&self->open_cancellable);
  g_clear_object (&self->probe_cancellable);
  if (self->viewport != NULL)
    g_signal_handlers_disconnect_by_func (self->viewport, viewport_changed, self);
  g_clear_pointer (&self->background, cleave_background_free);
  if (self->source != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->source, source_data_changed, self);
      g_signal_handlers_disconnect_by_func (self->source, source_generation_changed, self);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), CLEAVE_TYPE_WINDOW);
  g_clear_object (&self->source);
  g_clear_object (&self->settings);
  g_clear_object (&self->viewport);

  G_OBJECT_CLASS (cleave_window_parent_class)->dispose (object);
}

static void
cleave_window_finalize (GObject *object)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  g_free (self->path);
  g_free (self->error);
  g_free (self->status_text);

  G_OBJECT_CLASS (cleave_window_parent_class)->finalize (object);
}

static void
cleave_window_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      self->settings = g_value_dup_object (value);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cleave_window_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  switch (prop_id)
    {
    case PROP_SETTINGS:
      g_value_set_object (value, self->settings);
      break;

    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cleave_window_class_init (CleaveWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->constructed = cleave_window_constructed;
  object_class->dispose = cleave_window_dispose;
  object_class->finalize = cleave_window_finalize;
  object_class->set_property = cleave_window_set_property;
  object_class->get_property = cleave_window_get_property;
  widget_class->realize = cleave_window_realize;
  widget_class->unrealize = cleave_window_unrealize;
  window_class->close_request = cleave_window_close_request;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /* After a frame in which every shown view drew all it needed, when the
   * one before did not. */
  signals[FRAME_COMPLETE] = g_signal_new ("frame-complete", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                          0, NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, CLEAVE_RESOURCE_PREFIX "/ui/cleave-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, mode_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, title_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, dataset_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, version_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, loading_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, error_title);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, error_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, recent_title);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, recent_list);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, spinner);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, views_paned);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, side_paned);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, view_controls);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, opacity_scale);
}

static void
cleave_window_init (CleaveWindow *self)
{
  g_autofree char *version = NULL;

  self->viewport = cleave_viewport_new ();

  gtk_widget_init_template (GTK_WIDGET (self));

  version = g_strdup_printf ("Cleave %s", cleave_version ());
  gtk_label_set_label (self->version_label, version);

  for (guint i = 0; i < 3; i++)
    {
      self->views[i] = CLEAVE_SLICE_VIEW (cleave_slice_view_new ((CleavePlane) i, self->viewport));
      g_signal_connect (self->views[i], "hover", G_CALLBACK (view_hover), self);
      g_signal_connect (self->views[i], "clicked", G_CALLBACK (view_clicked), self);
      g_signal_connect (self->views[i], "frame", G_CALLBACK (view_frame), self);
    }
  gtk_widget_set_size_request (GTK_WIDGET (self->views[CLEAVE_PLANE_XY]), 320, 240);
  gtk_widget_set_size_request (GTK_WIDGET (self->views[CLEAVE_PLANE_XZ]), 200, 120);
  gtk_widget_set_size_request (GTK_WIDGET (self->views[CLEAVE_PLANE_YZ]), 200, 120);
  gtk_paned_set_start_child (self->views_paned, GTK_WIDGET (self->views[CLEAVE_PLANE_XY]));
  gtk_paned_set_start_child (self->side_paned, GTK_WIDGET (self->views[CLEAVE_PLANE_XZ]));
  gtk_paned_set_end_child (self->side_paned, GTK_WIDGET (self->views[CLEAVE_PLANE_YZ]));
  /* The XY plane is where most work happens: it gets about 60%. */
  gtk_paned_set_position (self->views_paned, 740);
  gtk_paned_set_position (self->side_paned, 330);
  self->active_view = self->views[CLEAVE_PLANE_XY];

  g_action_map_add_action_entries (G_ACTION_MAP (self), win_actions, G_N_ELEMENTS (win_actions), self);
  g_signal_connect (self->stack, "notify::visible-child-name", G_CALLBACK (stack_changed), self);
  g_signal_connect (self->viewport, "changed", G_CALLBACK (viewport_changed), self);
  update_action_state (self);
}

CleaveWindow *
cleave_window_new (GtkApplication *application,
                   GSettings      *settings)
{
  g_return_val_if_fail (application == NULL || GTK_IS_APPLICATION (application), NULL);

  return g_object_new (CLEAVE_TYPE_WINDOW,
                       "application", application,
                       "settings", settings,
                       NULL);
}

const char *
cleave_window_get_mode (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return gtk_label_get_label (self->mode_label);
}

const char *
cleave_window_get_path (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->path;
}

CleaveSource *
cleave_window_get_source (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->source;
}

CleaveViewport *
cleave_window_get_viewport (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->viewport;
}

CleaveSliceView *
cleave_window_get_view (CleaveWindow *self,
                        CleavePlane   plane)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->views[plane];
}

const char *
cleave_window_get_state (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

const char *
cleave_window_get_error (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->error;
}

const char *
cleave_window_get_status_text (CleaveWindow *self)
{
  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), NULL);

  return self->status_text ? self->status_text : gtk_label_get_text (self->status_label);
}

gboolean
cleave_window_is_complete (CleaveWindow *self)
{
  gboolean any = FALSE;

  g_return_val_if_fail (CLEAVE_IS_WINDOW (self), FALSE);

  if (self->source == NULL || !self->fitted)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    if (view_shown (self->views[i]))
      {
        if (!cleave_slice_view_is_complete (self->views[i]))
          return FALSE;
        any = TRUE;
      }
  return any;
}
