/* cleave-actions.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * Every accelerator of the application, in one table: the application
 * sets them from it, and the tests check that the shortcuts window lists
 * each one.
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct
{
  const char *action;     /* detailed action name: "win.layout::xy" */
  const char *accels[4];
} CleaveAccel;

const CleaveAccel *cleave_accels_get (guint          *n_accels);
void               cleave_accels_install (GtkApplication *app);

G_END_DECLS
