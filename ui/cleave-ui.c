/* cleave-ui.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-ui"

#include "cleave-ui.h"
#include "cleave-resources.h"

#include "cleave-config.h"

/* The resources are registered by hand: a static library's constructor
 * would be dropped by the linker when nothing references it. */
void
cleave_ui_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      cleave_register_resource ();
      g_type_ensure (CLEAVE_TYPE_WINDOW);
      g_once_init_leave (&initialized, 1);
    }
}

/* What every process showing Cleave windows sets up once it has a
 * display: the accelerators, the style sheet, the dark variant. */
void
cleave_ui_startup (GtkApplication *app)
{
  g_autoptr(GtkCssProvider) css = gtk_css_provider_new ();

  cleave_accels_install (app);

  /* GTK 4.8 does not load the application's style.css by itself. */
  gtk_css_provider_load_from_resource (css, CLEAVE_RESOURCE_PREFIX "/style.css");
  gtk_style_context_add_provider_for_display (gdk_display_get_default (), GTK_STYLE_PROVIDER (css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);

  /* Images read best on dark surroundings, as in other image tools. */
  g_object_set (gtk_settings_get_default (), "gtk-application-prefer-dark-theme", TRUE, NULL);
}
