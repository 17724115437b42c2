/* cleave-actions.c
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#define G_LOG_DOMAIN "cleave-actions"

#include "cleave-actions.h"

static const CleaveAccel accels[] = {
  /* Application and window */
  { "app.quit",                 { "<Control>q", NULL } },
  { "window.close",             { "<Control>w", NULL } },
  { "win.show-help-overlay",    { "<Control>question", "<Control>slash", NULL } },
  { "win.open",                 { "<Control>o", NULL } },
  /* Navigation */
  { "win.zoom-in",              { "plus", "equal", "KP_Add", NULL } },
  { "win.zoom-out",             { "minus", "KP_Subtract", NULL } },
  { "win.zoom-fit",             { "<Control>0", "Home", NULL } },
  { "win.pan-left",             { "Left", NULL } },
  { "win.pan-right",            { "Right", NULL } },
  { "win.pan-up",               { "Up", NULL } },
  { "win.pan-down",             { "Down", NULL } },
  { "win.next-slice",           { "Page_Down", "period", NULL } },
  { "win.previous-slice",       { "Page_Up", "comma", NULL } },
  /* Layout */
  { "win.layout::three",        { "<Control>1", NULL } },
  { "win.layout::xy",           { "<Control>2", NULL } },
  { "win.layout::xz",           { "<Control>3", NULL } },
  { "win.layout::yz",           { "<Control>4", NULL } },
  /* Segmentation */
  { "win.show-segmentation",    { "a", NULL } },
  { "win.opacity-up",           { "bracketright", NULL } },
  { "win.opacity-down",         { "bracketleft", NULL } },
  { "win.shuffle-colors",       { "l", NULL } },
  { "win.dim-others",           { "d", NULL } },
  { "win.clear-selection",      { "Escape", NULL } },
};

const CleaveAccel *
cleave_accels_get (guint *n_accels)
{
  *n_accels = G_N_ELEMENTS (accels);
  return accels;
}

void
cleave_accels_install (GtkApplication *app)
{
  for (guint i = 0; i < G_N_ELEMENTS (accels); i++)
    gtk_application_set_accels_for_action (app, accels[i].action, accels[i].accels);
}
