/* cleave-window.h
 *
 * Copyright 2026 The Cleave authors
 * SPDX-License-Identifier: GPL-3.0-or-later
 *
 * One window per dataset: the slice views in a three-pane or single-pane
 * layout, the status line, and the navigation actions (win.*).
 */

#pragma once

#include <gtk/gtk.h>

#include "cleave-slice-view.h"
#include "cleave-source.h"
#include "cleave-viewport.h"

G_BEGIN_DECLS

#define CLEAVE_TYPE_WINDOW (cleave_window_get_type ())

G_DECLARE_FINAL_TYPE (CleaveWindow, cleave_window, CLEAVE, WINDOW, GtkApplicationWindow)

CleaveWindow    *cleave_window_new             (GtkApplication *application,
                                                GSettings      *settings);
const char      *cleave_window_get_mode        (CleaveWindow   *self);
/* Opens the dataset at @path in this window, off the main thread; the
 * window shows a spinner, then the views or an error. */
void             cleave_window_open            (CleaveWindow   *self,
                                                const char     *path);
/* The path being opened or shown, or NULL. */
const char      *cleave_window_get_path        (CleaveWindow   *self);
CleaveSource    *cleave_window_get_source      (CleaveWindow   *self);
CleaveViewport  *cleave_window_get_viewport    (CleaveWindow   *self);
CleaveSliceView *cleave_window_get_view        (CleaveWindow   *self,
                                                CleavePlane     plane);
/* "empty", "loading", "error" or "viewer". */
const char      *cleave_window_get_state       (CleaveWindow   *self);
const char      *cleave_window_get_error       (CleaveWindow   *self);
/* The status line as plain text. */
const char      *cleave_window_get_status_text (CleaveWindow   *self);
/* Every shown view drew all it needed in its last frame. */
gboolean         cleave_window_is_complete     (CleaveWindow   *self);

G_END_DECLS
