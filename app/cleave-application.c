/* cleave-application.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-application"

#include "cleave-config.h"
#include "cleave-application.h"

#include "cleave-ui.h"
#include "cleave-version.h"

/* How long --screenshot waits for a first frame before it gives up. */
#define SCREENSHOT_TIMEOUT_SECONDS 30

struct _CleaveApplication
{
  GtkApplication  parent_instance;

  GSettings      *settings;
  char           *screenshot_path;
  guint           screenshot_timeout;
  gboolean        screenshot_armed;
  int             exit_status;
};

G_DEFINE_FINAL_TYPE (CleaveApplication, cleave_application, GTK_TYPE_APPLICATION)

static void
cleave_application_fail (CleaveApplication *self,
                         const char        *message)
{
  g_printerr ("cleave: %s\n", message);
  self->exit_status = 1;
  g_application_quit (G_APPLICATION (self));
}

static gboolean
screenshot_timed_out (gpointer user_data)
{
  CleaveApplication *self = user_data;

  self->screenshot_timeout = 0;
  cleave_application_fail (self, "--screenshot: no frame was drawn in time");
  return G_SOURCE_REMOVE;
}

static gboolean
take_screenshot (gpointer user_data)
{
  g_autoptr(GtkWidget) window = user_data;
  CleaveApplication *self = CLEAVE_APPLICATION (gtk_window_get_application (GTK_WINDOW (window)));
  g_autoptr(GError) error = NULL;

  if (self == NULL)
    return G_SOURCE_REMOVE;

  g_clear_handle_id (&self->screenshot_timeout, g_source_remove);
  if (!cleave_screenshot_save_png (window, self->screenshot_path, &error))
    {
      cleave_application_fail (self, error->message);
      return G_SOURCE_REMOVE;
    }
  g_application_quit (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

/* The window is worth a picture once it shows what it will show: the
 * empty state, an error, or a viewer whose every view drew all it needs. */
static gboolean
window_settled (CleaveWindow *window)
{
  const char *state = cleave_window_get_state (window);

  if (g_strcmp0 (state, "viewer") == 0)
    return cleave_window_is_complete (window);
  return g_strcmp0 (state, "loading") != 0;
}

static void
after_paint (GdkFrameClock *clock,
             GtkWidget     *window)
{
  if (!window_settled (CLEAVE_WINDOW (window)))
    return;
  g_signal_handlers_disconnect_by_func (clock, after_paint, window);
  /* Leave the frame that was just painted complete before rendering again. */
  g_idle_add (take_screenshot, g_object_ref (window));
}

static void
window_mapped (GtkWidget *window,
               gpointer   user_data)
{
  GdkFrameClock *clock = gtk_widget_get_frame_clock (window);

  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint), window);
  gtk_widget_queue_draw (window);
}

static CleaveWindow *
new_window (CleaveApplication *self)
{
  CleaveWindow *window = cleave_window_new (GTK_APPLICATION (self), self->settings);

  /* --screenshot pictures the first window only. */
  if (self->screenshot_path != NULL && self->screenshot_timeout == 0 && !self->screenshot_armed)
    {
      self->screenshot_armed = TRUE;
      g_signal_connect (window, "map", G_CALLBACK (window_mapped), NULL);
      self->screenshot_timeout = g_timeout_add_seconds (SCREENSHOT_TIMEOUT_SECONDS,
                                                        screenshot_timed_out, self);
    }
  return window;
}

static void
cleave_application_activate (GApplication *app)
{
  CleaveApplication *self = CLEAVE_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    window = GTK_WINDOW (new_window (self));

  gtk_window_present (window);
}

/* One window per dataset: the one showing it, else one showing nothing,
 * else a new one. */
static void
cleave_application_open (GApplication  *app,
                         GFile        **files,
                         int            n_files,
                         const char    *hint)
{
  CleaveApplication *self = CLEAVE_APPLICATION (app);

  for (int i = 0; i < n_files; i++)
    {
      g_autofree char *path = g_file_get_path (files[i]);
      CleaveWindow *target = NULL;

      if (path == NULL)
        {
          g_autofree char *uri = g_file_get_uri (files[i]);

          g_printerr ("cleave: %s: only local datasets can be opened\n", uri);
          continue;
        }
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
        {
          g_autofree char *canonical = g_canonicalize_filename (path, NULL);

          if (!CLEAVE_IS_WINDOW (l->data))
            continue;
          if (g_strcmp0 (cleave_window_get_path (l->data), canonical) == 0
              && g_strcmp0 (cleave_window_get_state (l->data), "error") != 0)
            {
              target = l->data;
              break;
            }
        }
      if (target != NULL)
        {
          gtk_window_present (GTK_WINDOW (target));
          continue;
        }
      for (GList *l = gtk_application_get_windows (GTK_APPLICATION (app)); l != NULL; l = l->next)
        if (CLEAVE_IS_WINDOW (l->data) && cleave_window_get_source (l->data) == NULL
            && g_strcmp0 (cleave_window_get_state (l->data), "loading") != 0)
          {
            target = l->data;
            break;
          }
      if (target == NULL)
        target = new_window (self);
      cleave_window_open (target, path);
      gtk_window_present (GTK_WINDOW (target));
    }
}

static void
new_window_activated (GSimpleAction *action,
                      GVariant      *param,
                      gpointer       user_data)
{
  gtk_window_present (GTK_WINDOW (new_window (CLEAVE_APPLICATION (user_data))));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *param,
                 gpointer       user_data)
{
  GtkApplication *app = user_data;
  static const char *authors[] = { "The Cleave authors", NULL };
  g_autofree char *deps = cleave_version_dependencies ();
  g_autofree char *comments = g_strdup_printf ("Proofread connectomics segmentations offline.\n\nBuilt on %s.", deps);

  gtk_show_about_dialog (gtk_application_get_active_window (app),
                         "program-name", "Cleave",
                         "logo-icon-name", CLEAVE_APP_ID,
                         "version", cleave_version (),
                         "comments", comments,
                         "authors", authors,
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "copyright", "© 2026 The Cleave authors",
                         NULL);
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *param,
                gpointer       user_data)
{
  GApplication *app = user_data;
  GList *windows = g_list_copy (gtk_application_get_windows (GTK_APPLICATION (app)));

  /* Close the windows first so each saves its state. */
  for (GList *l = windows; l != NULL; l = l->next)
    gtk_window_close (l->data);
  g_list_free (windows);
  g_application_quit (app);
}

static const GActionEntry app_actions[] = {
  { .name = "about", .activate = about_activated },
  { .name = "new-window", .activate = new_window_activated },
  { .name = "quit",  .activate = quit_activated },
};

static void
cleave_application_startup (GApplication *app)
{
  CleaveApplication *self = CLEAVE_APPLICATION (app);

  G_APPLICATION_CLASS (cleave_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), app_actions, G_N_ELEMENTS (app_actions), app);
  /* Accelerators (all in ui/cleave-actions.c), style sheet, dark variant. */
  cleave_ui_startup (GTK_APPLICATION (app));

  self->settings = g_settings_new (CLEAVE_APP_ID);

}

static int
cleave_application_handle_local_options (GApplication *app,
                                         GVariantDict *options)
{
  CleaveApplication *self = CLEAVE_APPLICATION (app);
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("cleave %s\n", cleave_version ());
      return 0;
    }

  g_variant_dict_lookup (options, "screenshot", "^ay", &self->screenshot_path);

  /* Without the schema GSettings aborts; say what is missing instead. */
  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, CLEAVE_APP_ID, TRUE);
  if (schema == NULL)
    {
      g_printerr ("cleave: the GSettings schema %s is not installed; "
                  "install Cleave (meson install) or run it with GSETTINGS_SCHEMA_DIR=BUILDDIR/data\n",
                  CLEAVE_APP_ID);
      return 1;
    }

  return -1;
}

static void
cleave_application_finalize (GObject *object)
{
  CleaveApplication *self = CLEAVE_APPLICATION (object);

  g_clear_handle_id (&self->screenshot_timeout, g_source_remove);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->screenshot_path, g_free);

  G_OBJECT_CLASS (cleave_application_parent_class)->finalize (object);
}

static void
cleave_application_class_init (CleaveApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = cleave_application_finalize;
  app_class->startup = cleave_application_startup;
  app_class->activate = cleave_application_activate;
  app_class->open = cleave_application_open;
  app_class->handle_local_options = cleave_application_handle_local_options;
}

static void
cleave_application_init (CleaveApplication *self)
{
  static const GOptionEntry entries[] = {
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL, "Print the version and exit", NULL },
    { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, NULL,
      "Save a PNG of the window once its first frame is drawn, then quit", "FILE" },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
}

CleaveApplication *
cleave_application_new (void)
{
  cleave_ui_init ();

  return g_object_new (CLEAVE_TYPE_APPLICATION,
                       "application-id", CLEAVE_APP_ID,
                       "resource-base-path", CLEAVE_RESOURCE_PREFIX,
                       "flags", G_APPLICATION_NON_UNIQUE | G_APPLICATION_HANDLES_OPEN,
                       NULL);
}

int
cleave_application_get_exit_status (CleaveApplication *self)
{
  g_return_val_if_fail (CLEAVE_IS_APPLICATION (self), 1);

  return self->exit_status;
}
