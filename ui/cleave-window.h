/* cleave-window.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 */

#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define CLEAVE_TYPE_WINDOW (cleave_window_get_type ())

G_DECLARE_FINAL_TYPE (CleaveWindow, cleave_window, CLEAVE, WINDOW, GtkApplicationWindow)

CleaveWindow *cleave_window_new      (GtkApplication *application,
                                      GSettings      *settings);
const char   *cleave_window_get_mode (CleaveWindow   *self);

G_END_DECLS
