/* cleave-window.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-window"

#include "cleave-config.h"
#include "cleave-window.h"

#include "cleave-version.h"

struct _CleaveWindow
{
  GtkApplicationWindow  parent_instance;

  GSettings            *settings;

  GtkLabel             *mode_label;
  GtkLabel             *subtitle_label;
  GtkLabel             *status_label;
  GtkLabel             *version_label;
  GtkStack             *stack;
};

G_DEFINE_FINAL_TYPE (CleaveWindow, cleave_window, GTK_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_SETTINGS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

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
  cleave_window_save_geometry (CLEAVE_WINDOW (window));
  return GTK_WINDOW_CLASS (cleave_window_parent_class)->close_request (window);
}

static void
cleave_window_constructed (GObject *object)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  G_OBJECT_CLASS (cleave_window_parent_class)->constructed (object);

  if (self->settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (self->settings, "window-width"),
                                   g_settings_get_int (self->settings, "window-height"));
      if (g_settings_get_boolean (self->settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
    }
}

static void
cleave_window_dispose (GObject *object)
{
  CleaveWindow *self = CLEAVE_WINDOW (object);

  gtk_widget_dispose_template (GTK_WIDGET (self), CLEAVE_TYPE_WINDOW);
  g_clear_object (&self->settings);

  G_OBJECT_CLASS (cleave_window_parent_class)->dispose (object);
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
  object_class->set_property = cleave_window_set_property;
  object_class->get_property = cleave_window_get_property;
  window_class->close_request = cleave_window_close_request;

  properties[PROP_SETTINGS] =
    g_param_spec_object ("settings", NULL, NULL,
                         G_TYPE_SETTINGS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, CLEAVE_RESOURCE_PREFIX "/ui/cleave-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, mode_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, subtitle_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, status_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, version_label);
  gtk_widget_class_bind_template_child (widget_class, CleaveWindow, stack);
}

static void
cleave_window_init (CleaveWindow *self)
{
  g_autofree char *version = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  version = g_strdup_printf ("Cleave %s", cleave_version ());
  gtk_label_set_label (self->version_label, version);
}

CleaveWindow *
cleave_window_new (GtkApplication *application,
                   GSettings      *settings)
{
  g_return_val_if_fail (GTK_IS_APPLICATION (application), NULL);

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
